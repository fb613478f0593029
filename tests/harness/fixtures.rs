//! The fixed world every check runs in: keys from fixed seeds, one configuration, one instant.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use s3_gatekeeper::grant::{Claims, PublicKey, SigningKey, Verifier, format_time};
use s3_gatekeeper::{Config, Gatekeeper};

/// The instant every check runs at (2026-05-28T20:26:40Z).
pub const NOW: i64 = 1_780_000_000;

/// The audience grants must name.
pub const AUDIENCE: &str = "fuzz-gatekeeper";

/// The key root configured, so listings and signed URLs have one to strip and add.
pub const KEY_ROOT: &str = "t7/";

/// Keys under this prefix need two signatures to be deleted.
pub const QUORUM_PREFIX: &str = "finance/";

pub fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW.unsigned_abs())
}

/// The vendor's application key.
pub fn vendor_key() -> SigningKey {
    SigningKey::from_seed([7; 32]).unwrap()
}

/// A second trusted key, such as a customer approver's.
pub fn approver_key() -> SigningKey {
    SigningKey::from_seed([8; 32]).unwrap()
}

/// A key nobody trusts.
pub fn stranger_key() -> SigningKey {
    SigningKey::from_seed([11; 32]).unwrap()
}

/// The gatekeeper's own key, which signs the audit seals.
pub fn seal_key() -> SigningKey {
    SigningKey::from_seed([9; 32]).unwrap()
}

/// The public half of [`seal_key`], built once: the seal checks run it on every input.
pub fn seal_public() -> &'static PublicKey {
    static PUBLIC: OnceLock<PublicKey> = OnceLock::new();
    PUBLIC.get_or_init(|| seal_key().public_key().clone())
}

/// Valid settings for every setting the gatekeeper reads, as the Worker's environment gives them.
pub fn base_settings() -> Vec<(&'static str, String)> {
    let keys = format!(
        r#"[{{"public":"{}"}},{{"public":"{}","id":"{}","operations":["get","head","put","delete","list"]}}]"#,
        vendor_key().public_key(),
        approver_key().public_key(),
        approver_key().id(),
    );
    vec![
        ("GATEKEEPER_ID", AUDIENCE.to_owned()),
        ("S3_REGION", "us-east-1".to_owned()),
        ("S3_ENDPOINT", "http://127.0.0.1:9001".to_owned()),
        ("S3_BUCKET", "examplebucket".to_owned()),
        ("S3_ADDRESSING", "path".to_owned()),
        ("S3_KEY_ROOT", KEY_ROOT.to_owned()),
        ("AWS_ACCESS_KEY_ID", "AKIDFUZZ".to_owned()),
        (
            "AWS_SECRET_ACCESS_KEY",
            "fuzz-secret-access-key-0123456789".to_owned(),
        ),
        ("VENDOR_KEYS", keys),
        ("GRANT_MAX_LIFETIME_SECONDS", "900".to_owned()),
        ("GRANT_CLOCK_SKEW_SECONDS", "60".to_owned()),
        ("S3_SSE", "AES256".to_owned()),
        ("MAX_UPLOAD_BYTES", "1048576".to_owned()),
        ("UPSTREAM_TIMEOUT_SECONDS", "30".to_owned()),
        ("DELETE_ENABLED", "true".to_owned()),
        (
            "MULTISIG",
            format!(
                r#"[{{"operations":["delete"],"prefix":"{QUORUM_PREFIX}","signatures":2,"keys":["{}","{}"]}}]"#,
                vendor_key().id(),
                approver_key().id(),
            ),
        ),
        (
            "ACL",
            r#"{"ip":{"deny":["192.0.2.0/24"]},"country":{"allow":["NL","US"],"unknown":"allow"}}"#
                .to_owned(),
        ),
        ("ALLOWED_ORIGINS", "https://app.example.com".to_owned()),
        // Links on, so that grants in the URL are read and decided too.
        ("GRANT_IN_QUERY", "on".to_owned()),
        ("AUDIT_SEAL_KEY", seal_key().to_paserk()),
        ("AUDIT_SEAL_GRACE_SECONDS", "900".to_owned()),
        ("AUDIT_RETENTION_DAYS", "180".to_owned()),
    ]
}

/// The configuration the base settings make.
pub fn config() -> Config {
    let settings = base_settings();
    Config::from_settings(|name| {
        settings
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
    })
    .unwrap()
}

/// The gatekeeper of [`config`], built once.
pub fn gatekeeper() -> &'static Gatekeeper {
    static GATEKEEPER: OnceLock<Gatekeeper> = OnceLock::new();
    GATEKEEPER.get_or_init(|| Gatekeeper::new(config()))
}

/// The grant verifier of [`config`], built once.
pub fn verifier() -> &'static Verifier {
    static VERIFIER: OnceLock<Verifier> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        let config = config();
        Verifier::new(config.id, config.keys, config.policy, config.quorums)
    })
}

/// Claims for `op` on `key` (or, for `list`, the prefix `key`), valid for five minutes from
/// [`NOW`], with a `jti`.
pub fn claims(op: &str, key: &str) -> Claims {
    let list = op == "list";
    Claims {
        aud: AUDIENCE.into(),
        iat: format_time(NOW - 10),
        exp: format_time(NOW + 300).unwrap(),
        sub: "user-1".into(),
        jti: Some(format!("jti-{op}-{key}")),
        op: op.into(),
        key: (!list).then(|| key.to_owned()),
        prefix: list.then(|| key.to_owned()),
        ..Claims::default()
    }
}

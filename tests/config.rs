//! Every configuration mistake is reported with the exact setting, and entry, at fault.

// In tests a panic is the failure report, so unwrapping is the clearest way to fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use s3_gatekeeper::Config;

/// The valid value of setting `name`, or `None` for a setting left unset.
fn load_value(name: &str) -> Option<String> {
    let keys = format!(r#"[{{"public":"{}"}}]"#, support::vendor_key().public_key());
    let value = match name {
        "GATEKEEPER_ID" => "acme",
        "S3_REGION" => "eu-west-1",
        "S3_BUCKET" => "acme-reports",
        "AWS_ACCESS_KEY_ID" => "AKID",
        "AWS_SECRET_ACCESS_KEY" => "secret",
        "VENDOR_KEYS" => return Some(keys),
        "AUDIT_SEAL_KEY" => return Some(support::seal_key().to_paserk()),
        _ => return None,
    };
    Some(value.to_owned())
}

/// Valid settings, with `name` replaced by `value` (or removed, for `None`).
fn load(name: &str, value: Option<&str>) -> Result<Config, s3_gatekeeper::config::ConfigError> {
    Config::from_settings(|setting| {
        if setting == name {
            return value.map(str::to_owned);
        }
        load_value(setting)
    })
}

#[test]
fn valid_settings_load() {
    let config = load("unused", None).unwrap();
    assert_eq!(config.bucket.as_str(), "acme-reports");
    assert_eq!(config.policy.max_lifetime, 900);
    assert_eq!(config.seal_key.id(), support::seal_key().id());
    assert_eq!(config.seal_policy.grace_seconds, 900);
    assert_eq!(config.seal_policy.retention_days, 180);
}

/// Setting, value (`None`: unset), and how the error must begin.
const MISTAKES: &[(&str, Option<&str>, &str)] = &[
    ("GATEKEEPER_ID", None, "GATEKEEPER_ID: required but not set"),
    (
        "GATEKEEPER_ID",
        Some("has space"),
        "GATEKEEPER_ID: contains characters",
    ),
    ("S3_REGION", None, "S3_REGION: required but not set"),
    ("S3_REGION", Some("EU West"), "S3_REGION: not an AWS region"),
    ("S3_BUCKET", Some("  "), "S3_BUCKET: required but not set"),
    (
        "S3_BUCKET",
        Some("ab"),
        "S3_BUCKET: not a valid S3 bucket name",
    ),
    (
        "S3_ENDPOINT",
        Some("s3.amazonaws.com"),
        "S3_ENDPOINT: not an absolute URL",
    ),
    (
        "S3_ENDPOINT",
        Some("ftp://s3.example"),
        "S3_ENDPOINT: the scheme must be https",
    ),
    (
        "S3_ENDPOINT",
        Some("https://s3.example/bucket"),
        "S3_ENDPOINT: the URL must have no path",
    ),
    (
        "S3_ADDRESSING",
        Some("vhost"),
        "S3_ADDRESSING: must be one of: virtual, path",
    ),
    (
        "AWS_ACCESS_KEY_ID",
        None,
        "AWS_ACCESS_KEY_ID: required but not set",
    ),
    (
        "AWS_SECRET_ACCESS_KEY",
        Some(""),
        "AWS_SECRET_ACCESS_KEY: required but not set",
    ),
    ("VENDOR_KEYS", None, "VENDOR_KEYS: required but not set"),
    (
        "VENDOR_KEYS",
        Some("[]"),
        "VENDOR_KEYS: required but not set",
    ),
    ("VENDOR_KEYS", Some("{"), "VENDOR_KEYS: not valid JSON"),
    (
        "VENDOR_KEYS",
        Some(r#"[{"public":"k4.public.AAAA"}]"#),
        "VENDOR_KEYS: [0].public: not a PASERK k4.public key",
    ),
    (
        "GRANT_MAX_LIFETIME_SECONDS",
        Some("0"),
        "GRANT_MAX_LIFETIME_SECONDS: must be a whole number from 1 to 86400",
    ),
    (
        "GRANT_CLOCK_SKEW_SECONDS",
        Some("ten"),
        "GRANT_CLOCK_SKEW_SECONDS: must be a whole number from 0 to 600",
    ),
    (
        "AUDIT_SEAL_KEY",
        None,
        "AUDIT_SEAL_KEY: required but not set",
    ),
    (
        "AUDIT_SEAL_KEY",
        Some("k4.public.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        "AUDIT_SEAL_KEY: not a PASERK k4.secret key",
    ),
    (
        "AUDIT_SEAL_GRACE_SECONDS",
        Some("-1"),
        "AUDIT_SEAL_GRACE_SECONDS: must be a whole number from 0 to 86400",
    ),
    (
        "AUDIT_RETENTION_DAYS",
        Some("0"),
        "AUDIT_RETENTION_DAYS: must be a whole number from 1 to 36500",
    ),
    (
        "ACL",
        Some(r#"{"ip":{"allow":["10.0.0.0/8","10.0.0.1/8"]}}"#),
        "ACL: ip.allow[1]: host bits are set",
    ),
    (
        "ACL",
        Some(r#"{"ip":{"deny":["not-an-ip"]}}"#),
        "ACL: ip.deny[0]: not CIDR notation",
    ),
    (
        "ACL",
        Some(r#"{"country":{"allow":["US","usa"]}}"#),
        "ACL: country.allow[1]: not an ISO 3166-1 alpha-2 code",
    ),
    (
        "ACL",
        Some(r#"{"country":{"tor":"maybe"}}"#),
        "ACL: country.tor: must be one of: allow, deny",
    ),
    (
        "ACL",
        Some(r#"{"ip":{"allow_exempt":["upload"]}}"#),
        "ACL: ip.allow_exempt[0]: not one of get, head, put, list, delete",
    ),
    (
        "ACL",
        Some(r#"{"ips":{}}"#),
        "ACL: not valid JSON of the documented shape: unknown field `ips`",
    ),
    (
        "ALLOWED_ORIGINS",
        Some(r#"["https://app.example.com/"]"#),
        "ALLOWED_ORIGINS: [0]: not an origin",
    ),
    (
        "ALLOWED_ORIGINS",
        Some("https://a.example, app.example"),
        "ALLOWED_ORIGINS: [1]: not an origin",
    ),
    (
        "S3_SSE",
        Some("aes256"),
        "S3_SSE: must be one of: AES256, aws:kms, bucket-default",
    ),
    (
        "S3_SSE_KMS_KEY_ID",
        Some("arn:key"),
        "S3_SSE_KMS_KEY_ID: only allowed with S3_SSE = aws:kms",
    ),
    (
        "DELETE_ENABLED",
        Some("yes"),
        "DELETE_ENABLED: must be one of: true, false",
    ),
    (
        "MAX_UPLOAD_BYTES",
        Some("5368709121"),
        "MAX_UPLOAD_BYTES: must be a whole number from 1 to 5368709120",
    ),
    (
        "MULTISIG",
        Some(r#"[{"operations":["get"],"signatures":2}]"#),
        "MULTISIG: [0].keys: required but not set",
    ),
    (
        "MULTISIG",
        Some(r#"[{"operations":["get"],"signatures":1,"keys":[]}]"#),
        "MULTISIG: [0].keys: required but not set",
    ),
    (
        "S3_KEY_ROOT",
        Some("tenant-7"),
        "S3_KEY_ROOT: must end with /",
    ),
    (
        "ACL",
        Some(r#"{"country":{"allow":["US","XX"]}}"#),
        "ACL: country.allow[1]: not a country; use country.unknown",
    ),
    (
        "ACL",
        Some(r#"{"country":{"deny":["T1"]}}"#),
        "ACL: country.deny[0]: not a country; use country.tor",
    ),
    (
        "MULTISIG",
        Some(r#"[{"operations":["get"],"signatures":1,"keys":["k4.pid.x"]}]"#),
        "MULTISIG: [0].keys[0]: not the k4.pid of a key",
    ),
    (
        "MULTISIG",
        Some(r#"[{"operations":["copy"],"signatures":1}]"#),
        "MULTISIG: [0].operations[0]: not one of",
    ),
];

#[test]
fn each_mistake_names_its_setting() {
    for (name, value, want) in MISTAKES {
        let err = load(name, *value).expect_err(name);
        assert_eq!(err.setting(), *name);
        let shown = err.to_string();
        assert!(
            shown.starts_with(want),
            "{name}={value:?}: got {shown:?}, want {want:?}…"
        );
    }
}

#[test]
fn errors_never_print_secret_values() {
    let err = load("AWS_ACCESS_KEY_ID", None).unwrap_err();
    assert!(!err.to_string().contains("secret"));
    let err = load(
        "VENDOR_KEYS",
        Some(r#"[{"public":"k4.public.SECRET-LOOKING"}]"#),
    )
    .unwrap_err();
    assert!(!err.to_string().contains("SECRET-LOOKING"));
    let mut broken = support::seal_key().to_paserk();
    broken.push('A');
    let err = load("AUDIT_SEAL_KEY", Some(&broken)).unwrap_err();
    assert!(!err.to_string().contains(&broken["k4.secret.".len()..]));
}

#[test]
fn sealing_settings_are_read() {
    let config = support::config(&[
        ("AUDIT_SEAL_GRACE_SECONDS", "0"),
        ("AUDIT_RETENTION_DAYS", "30"),
    ]);
    assert_eq!(config.seal_policy.grace_seconds, 0);
    assert_eq!(config.seal_policy.retention_days, 30);
}

/// A `MULTISIG` rule names the keys that count, each once, and cannot need more signatures than
/// it names: without `keys`, two keys of one signer (the old and new during a rotation) would
/// meet a two-signature rule.
#[test]
fn multisig_rules_name_their_keys() {
    let vendor = support::vendor_key();
    let approver = s3_gatekeeper::grant::SigningKey::from_seed([2; 32]).unwrap();
    let keys = format!(
        r#"[{{"public":"{}"}},{{"public":"{}"}}]"#,
        vendor.public_key(),
        approver.public_key()
    );
    let (v, a) = (vendor.id(), approver.id());
    let cases = [
        (
            format!(r#"[{{"operations":["get"],"signatures":2,"keys":["{v}"]}}]"#),
            Err("MULTISIG: [0].signatures: must be a whole number from 1 to 1".to_owned()),
        ),
        (
            format!(r#"[{{"operations":["get"],"signatures":2,"keys":["{v}","{v}"]}}]"#),
            Err("MULTISIG: [0].keys[1]: listed more than once".to_owned()),
        ),
        (
            format!(r#"[{{"operations":[],"signatures":1,"keys":["{v}"]}}]"#),
            Err("MULTISIG: [0].operations: required but not set".to_owned()),
        ),
        (
            format!(
                r#"[{{"operations":["get"],"signatures":2,"keys":["{v}","{a}"],"same_sub":1}}]"#
            ),
            Err("MULTISIG: not valid JSON".to_owned()),
        ),
        (
            format!(
                r#"[{{"operations":["get"],"signatures":2,"keys":["{v}","{a}"],"same_sub":true}}]"#
            ),
            Ok(()),
        ),
    ];
    for (rule, want) in cases {
        let got = Config::from_settings(|name| match name {
            "VENDOR_KEYS" => Some(keys.clone()),
            "MULTISIG" => Some(rule.clone()),
            _ => load_value(name),
        })
        .map(drop)
        .map_err(|e| e.to_string());
        match (&got, &want) {
            (Err(got), Err(want)) => assert!(got.starts_with(want.as_str()), "{rule}: {got}"),
            _ => assert_eq!(got, want, "{rule}"),
        }
    }
}

#[test]
fn a_key_root_is_a_folder() {
    let config = load("S3_KEY_ROOT", Some("tenant-7/")).unwrap();
    assert_eq!(config.key_root, "tenant-7/");
    let gatekeeper = s3_gatekeeper::Gatekeeper::new(config);
    assert_eq!(gatekeeper.key_root(), "tenant-7/");
}

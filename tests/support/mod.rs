//! Shared fixtures for the integration tests: a configured gatekeeper and a vendor key.

// Each test crate uses a different part of the fixtures.
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use s3_gatekeeper::config::ConfigError;
use s3_gatekeeper::grant::{Claims, SigningKey, format_time};
use s3_gatekeeper::{Config, Gatekeeper};

/// A vendor key from a fixed seed, so failures are reproducible.
pub fn vendor_key() -> SigningKey {
    SigningKey::from_seed([7; 32]).unwrap()
}

/// The gatekeeper's own key, which signs the audit seals; also from a fixed seed.
pub fn seal_key() -> SigningKey {
    SigningKey::from_seed([9; 32]).unwrap()
}

pub fn at(unix: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(u64::try_from(unix).unwrap())
}

/// Settings for a gatekeeper that trusts `vendor_key()`, overridden by `extra`.
pub fn config(extra: &[(&str, &str)]) -> Config {
    try_config(extra).unwrap()
}

/// [`config`], or the error the settings make.
pub fn try_config(extra: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let key = vendor_key();
    let keys = format!(r#"[{{"public":"{}"}}]"#, key.public_key());
    let seal_key = seal_key().to_paserk();
    let base = [
        ("GATEKEEPER_ID", "test-gatekeeper"),
        ("S3_REGION", "us-east-1"),
        ("S3_BUCKET", "examplebucket"),
        ("AWS_ACCESS_KEY_ID", "AKID"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
    ];
    Config::from_settings(|name| {
        extra
            .iter()
            .chain(base.iter())
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
            .or_else(|| (name == "VENDOR_KEYS").then(|| keys.clone()))
            .or_else(|| (name == "AUDIT_SEAL_KEY").then(|| seal_key.clone()))
    })
}

pub fn gatekeeper(extra: &[(&str, &str)]) -> Gatekeeper {
    Gatekeeper::new(config(extra))
}

/// Claims for `op` on `key`, issued at `now`, living `ttl` seconds.
pub fn claims(op: &str, key: &str, now: i64, ttl: i64) -> Claims {
    Claims {
        aud: "test-gatekeeper".into(),
        iat: format_time(now),
        exp: format_time(now + ttl).unwrap(),
        sub: "user-1".into(),
        op: op.into(),
        key: Some(key.into()),
        ..Claims::default()
    }
}

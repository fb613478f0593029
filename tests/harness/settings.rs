//! Settings as the Worker's environment hands them over: any value for any setting.
//!
//! The text form: one `NAME=value` line per setting to change from the valid base settings
//! ([`fixtures::base_settings`]); a bare `NAME` line unsets it. Values are read as UTF-8, with
//! invalid bytes replaced, as the Worker's strings are.

use s3_gatekeeper::grant::MAX_GRANTS;
use s3_gatekeeper::upload::S3_MAX_PUT_BYTES;
use s3_gatekeeper::{Config, Gatekeeper};

use super::fixtures;

/// Settings whose values are secrets.
const SECRETS: [&str; 3] = [
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AUDIT_SEAL_KEY",
];

/// Every setting the gatekeeper reads, the base ones and `AWS_SESSION_TOKEN` and
/// `S3_SSE_KMS_KEY_ID`, which the base leaves unset.
pub fn names() -> Vec<&'static str> {
    let mut names: Vec<&str> = fixtures::base_settings().iter().map(|(n, _)| *n).collect();
    names.extend(["AWS_SESSION_TOKEN", "S3_SSE_KMS_KEY_ID"]);
    names
}

/// The settings `text` describes.
pub fn parse(text: &[u8]) -> Vec<(String, String)> {
    let mut settings: Vec<(String, String)> = fixtures::base_settings()
        .into_iter()
        .map(|(n, v)| (n.to_owned(), v))
        .collect();
    for line in text.split(|&b| b == b'\n') {
        let line = String::from_utf8_lossy(line);
        let (name, value) = match line.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (&*line, None),
        };
        settings.retain(|(n, _)| n != name);
        if let Some(value) = value {
            settings.push((name.to_owned(), value.to_owned()));
        }
    }
    settings
}

fn load(settings: &[(String, String)]) -> Result<Config, s3_gatekeeper::config::ConfigError> {
    Config::from_settings(|name| {
        settings
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    })
}

/// Loads the settings `text` describes. Properties: no panic; an error names a setting the
/// gatekeeper reads, and its message carries nothing of the secrets (it is the same whatever the
/// secrets are); a configuration that loads stays within every documented bound and makes a
/// gatekeeper.
pub fn check(text: &[u8]) {
    let settings = parse(text);
    match load(&settings) {
        Err(e) => {
            assert!(names().contains(&e.setting()), "{}", e.setting());
            let shown = e.to_string();
            if !SECRETS.contains(&e.setting()) {
                // Other secrets, set to fixed values: the error must not change.
                let mut replaced = settings.clone();
                for (name, value) in &mut replaced {
                    if SECRETS.contains(&name.as_str()) && !value.trim().is_empty() {
                        *value = match name.as_str() {
                            "AUDIT_SEAL_KEY" => fixtures::seal_key().to_paserk(),
                            _ => "replaced-secret".to_owned(),
                        };
                    }
                }
                let again = load(&replaced).map(|_| ()).map_err(|e| e.to_string());
                assert_eq!(again, Err(shown), "the message depends on a secret");
            }
        }
        Ok(config) => {
            assert!((1..=86_400).contains(&config.policy.max_lifetime));
            assert!(config.policy.clock_skew <= 600);
            assert!((1..=S3_MAX_PUT_BYTES).contains(&config.max_upload_bytes));
            assert!((1..=300).contains(&config.upstream_timeout));
            assert!(!config.keys.is_empty());
            assert!(config.key_root.len() <= 512);
            assert!((1..=36_500).contains(&config.seal_policy.retention_days));
            for quorum in &config.quorums {
                assert!((1..=MAX_GRANTS).contains(&quorum.signatures));
            }
            assert!(config.id.len() <= 128 && config.id.bytes().all(|b| b.is_ascii_graphic()));
            let _ = Gatekeeper::new(config);
        }
    }
}

//! A configuration error names the setting at fault, and never shows a secret: not the value of
//! a secret setting, and not a secret pasted by mistake into a setting that is not secret.

// In tests a panic is the failure report, so unwrapping is the clearest way to fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use s3_gatekeeper::Config;

/// The error for valid settings with `name` set to `value`.
fn error(name: &str, value: &str) -> String {
    let keys = format!(r#"[{{"public":"{}"}}]"#, support::vendor_key().public_key());
    let seal_key = support::seal_key().to_paserk();
    let valid = [
        ("GATEKEEPER_ID", "acme"),
        ("S3_REGION", "eu-west-1"),
        ("S3_BUCKET", "acme-reports"),
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        (
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        ),
        ("VENDOR_KEYS", keys.as_str()),
        ("AUDIT_SEAL_KEY", seal_key.as_str()),
    ];
    let err = Config::from_settings(|setting| {
        if setting == name {
            return Some(value.to_owned());
        }
        valid
            .iter()
            .find(|(k, _)| *k == setting)
            .map(|(_, v)| (*v).to_owned())
    })
    .unwrap_err();
    assert_eq!(err.setting(), name, "{err}");
    err.to_string()
}

/// A secret key that is not the seal key: what an operator might paste in the wrong place.
fn some_secret() -> String {
    s3_gatekeeper::grant::SigningKey::from_seed([3; 32])
        .unwrap()
        .to_paserk()
}

#[test]
fn a_wrong_seal_key_is_named_not_shown() {
    let secret = some_secret();
    // A secret key with one character changed, and one cut short.
    let typo = secret.replacen("k4.secret.", "k4.secret.X", 1);
    let short = &secret[..secret.len() - 4];
    for value in [
        typo.as_str(),
        short,
        "k4.local.c2VjcmV0LXNlYWwta2V5LXRoYXQtbXVzdC1ub3QtbGVhaw",
    ] {
        let line = error("AUDIT_SEAL_KEY", value);
        assert!(line.starts_with("AUDIT_SEAL_KEY: "), "{line}");
        let payload = value.rsplit('.').next().unwrap();
        assert!(!line.contains(payload), "the value leaked: {line}");
    }
}

#[test]
fn a_secret_pasted_into_a_json_setting_is_not_shown() {
    let secret = some_secret();
    let payload = secret.strip_prefix("k4.secret.").unwrap();
    // The secret key instead of the public one, in every shape a JSON setting can take it.
    for value in [
        format!(r#"["{secret}"]"#),
        format!(r#""{secret}""#),
        format!(r#"[{{"public":"k4.public.x","{secret}":1}}]"#),
        format!(r#"[{{"public":{{"key":"{secret}"}}}}]"#),
        format!(r#"[{{"public":"{secret}"}}]"#),
        // A value that reads like the end of serde's own message.
        format!(r#"["x, expected {secret}"]"#),
        format!(r#"["x, expected {secret} at line 1 column 2"]"#),
    ] {
        let line = error("VENDOR_KEYS", &value);
        assert!(line.starts_with("VENDOR_KEYS: "), "{line}");
        assert!(!line.contains(payload), "the secret leaked: {line}");
    }
    for (setting, value) in [
        ("ACL", format!(r#"{{"ip":{{"allow":"{secret}"}}}}"#)),
        ("MULTISIG", format!(r#"["{secret}"]"#)),
    ] {
        let line = error(setting, &value);
        assert!(!line.contains(payload), "the secret leaked: {line}");
    }
}

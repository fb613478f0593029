//! Every invalid setting, found by the Worker's own `Config::from_settings`.
//!
//! `from_settings` stops at the first setting at fault, as the Worker should. To name every
//! problem, each setting is also checked on its own: its value (with those it depends on) among
//! values known to be valid, so whatever fails is that setting's fault.

use std::cell::RefCell;

use s3_gatekeeper::Config;
use s3_gatekeeper::grant::SigningKey;

use super::Finding;
use super::wrangler::Vars;

/// A secret the Worker reads (`wrangler secret put`), never a `[vars]` entry.
pub(crate) struct Secret {
    pub(crate) name: &'static str,
    pub(crate) required: bool,
    pub(crate) purpose: &'static str,
}

pub(crate) const SECRETS: [Secret; 6] = [
    Secret {
        name: "AWS_ACCESS_KEY_ID",
        required: true,
        purpose: "the S3 access key",
    },
    Secret {
        name: "AWS_SECRET_ACCESS_KEY",
        required: true,
        purpose: "its secret",
    },
    Secret {
        name: "AWS_SESSION_TOKEN",
        required: false,
        purpose: "only for temporary credentials",
    },
    Secret {
        name: "AUDIT_SEAL_KEY",
        required: true,
        purpose: "a k4.secret key from `gatekeeper keygen`",
    },
    Secret {
        name: "AUDIT_ARCHIVE_ACCESS_KEY_ID",
        required: false,
        purpose: "the audit archive's own access key; without it, the S3 access key",
    },
    Secret {
        name: "AUDIT_ARCHIVE_SECRET_ACCESS_KEY",
        required: false,
        purpose: "its secret",
    },
];

/// Settings the Worker reads outside `Config` (the audit trace switch, read by the adapter).
const ADAPTER_SETTINGS: [&str; 1] = ["AUDIT_TRACE"];

/// Settings that are only valid together; each is checked with the others of its group.
const GROUPS: [&[&str]; 5] = [
    // The default endpoint is made from the region.
    &["S3_REGION", "S3_ENDPOINT"],
    // MULTISIG names keys of VENDOR_KEYS.
    &["VENDOR_KEYS", "MULTISIG"],
    &["S3_SSE", "S3_SSE_KMS_KEY_ID"],
    // An archive in the gatekeeper's own bucket must lie outside the keys grants can name; its
    // own credentials come as a pair.
    &[
        "AUDIT_ARCHIVE_BUCKET",
        "AUDIT_ARCHIVE_PREFIX",
        "AUDIT_ARCHIVE_ACCESS_KEY_ID",
        "AUDIT_ARCHIVE_SECRET_ACCESS_KEY",
        "S3_BUCKET",
        "S3_KEY_ROOT",
    ],
    // A link's lifetime is bounded by the grants' own.
    &[
        "GRANT_IN_QUERY",
        "GRANT_IN_QUERY_MAX_LIFETIME_SECONDS",
        "GRANT_MAX_LIFETIME_SECONDS",
    ],
];

pub(crate) struct Outcome {
    pub(crate) errors: Vec<Finding>,
    pub(crate) warnings: Vec<Finding>,
}

pub(crate) fn check(vars: &Vars) -> Outcome {
    let valid = valid_settings();
    let known = read_by_config(&valid);
    // Secrets that were not supplied are set at deploy time: a valid stand-in lets the rest be
    // checked. A supplied secret is checked like any setting.
    let actual = |name: &str| {
        vars.get(name).map(str::to_owned).or_else(|| {
            SECRETS
                .iter()
                .any(|s| s.name == name)
                .then(|| stand_in(&valid, name))
                .flatten()
        })
    };
    let mut errors: Vec<Finding> = Vec::new();
    let mut report = |e: s3_gatekeeper::config::ConfigError| {
        let finding = Finding::new(e.setting(), problem(&e));
        if !errors.contains(&finding) {
            errors.push(finding);
        }
    };
    if let Err(first) = Config::from_settings(actual) {
        report(first);
        for group in groups(&known) {
            let mixed = |name: &str| {
                if group.contains(&name) {
                    actual(name)
                } else {
                    stand_in(&valid, name)
                }
            };
            if let Err(e) = Config::from_settings(mixed) {
                report(e);
            }
        }
    }
    for secret in &SECRETS {
        if vars.in_file(secret.name) {
            errors.push(Finding::new(
                secret.name,
                format!(
                    "a secret in [vars] is stored in plain text in wrangler.toml and shown in the dashboard; remove it and use `wrangler secret put {}`",
                    secret.name
                ),
            ));
        }
    }
    let warnings = vars
        .names()
        .iter()
        .filter(|name| {
            !known.contains(name)
                && !ADAPTER_SETTINGS.contains(&name.as_str())
                && !SECRETS.iter().any(|s| s.name == name.as_str())
        })
        .map(|name| {
            Finding::new(
                name.as_str(),
                "not a setting the gatekeeper reads (misspelt?); it has no effect",
            )
        })
        .collect();
    Outcome { errors, warnings }
}

/// The message of a configuration error, without the setting's name (the finding names it).
fn problem(e: &s3_gatekeeper::config::ConfigError) -> String {
    match e.entry() {
        Some(entry) => format!("{entry}: {}", e.problem()),
        None => e.problem().to_string(),
    }
}

/// A complete, valid configuration. The keys are fixed stand-ins, used only to be validated.
fn valid_settings() -> Vec<(&'static str, String)> {
    let key = |byte| SigningKey::from_seed([byte; 32]).ok();
    let vendor = key(1).map(|k| serde_json::json!([{ "public": k.public_key().to_string() }]));
    let seal = key(2).map(|k| k.to_paserk());
    vec![
        ("GATEKEEPER_ID", "config-check".to_owned()),
        ("S3_REGION", "us-east-1".to_owned()),
        ("S3_BUCKET", "config-check".to_owned()),
        (
            "VENDOR_KEYS",
            vendor.map(|v| v.to_string()).unwrap_or_default(),
        ),
        ("AWS_ACCESS_KEY_ID", "AKIACONFIGCHECK".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "config-check".to_owned()),
        ("AUDIT_SEAL_KEY", seal.unwrap_or_default()),
        // On, so that every archive setting is read (and known); a stand-in is used only for
        // settings outside the group being checked, and the archive's group is checked with the
        // configuration's own values.
        ("AUDIT_ARCHIVE_BUCKET", "config-check-audit".to_owned()),
    ]
}

fn stand_in(valid: &[(&'static str, String)], name: &str) -> Option<String> {
    valid
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.clone())
}

/// The names `Config::from_settings` asks for, in its order: every setting it reads, since it
/// reads them all when they are valid.
fn read_by_config(valid: &[(&'static str, String)]) -> Vec<String> {
    let names = RefCell::new(Vec::new());
    let read = Config::from_settings(|name| {
        names.borrow_mut().push(name.to_owned());
        stand_in(valid, name)
    });
    debug_assert!(read.is_ok(), "the stand-in settings are valid");
    let mut unique: Vec<String> = Vec::new();
    for name in names.into_inner() {
        if !unique.contains(&name) {
            unique.push(name);
        }
    }
    unique
}

/// The settings to check one at a time, with those they depend on.
fn groups(known: &[String]) -> Vec<Vec<&str>> {
    let mut groups: Vec<Vec<&str>> = GROUPS.iter().map(|g| g.to_vec()).collect();
    for name in known {
        if !groups.iter().any(|g| g.contains(&name.as_str())) {
            groups.push(vec![name.as_str()]);
        }
    }
    groups
}

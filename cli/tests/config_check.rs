//! `gatekeeper config check`, case by case: a wrangler.toml, the flags, and what must be said.

// In tests a panic is the failure report, so unwrapping is the clearest way to fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;

/// A valid vendor public key, made once per test run.
fn vendor_key(dir: &std::path::Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_gatekeeper"))
        .args(["keygen", "--json", "--out"])
        .arg(dir.join("vendor.key"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let entry: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    entry["public"].as_str().unwrap().to_owned()
}

struct Case {
    name: &'static str,
    /// wrangler.toml; `PUBLIC` stands for a valid vendor public key.
    toml: &'static str,
    args: &'static [&'static str],
    /// The exit status.
    status: i32,
    /// Lines (or parts of lines) the output must contain.
    says: &'static [&'static str],
    /// Text the output must not contain.
    never: &'static [&'static str],
}

const VALID: &str = r#"
[vars]
GATEKEEPER_ID = "acme-prod"
S3_REGION = "eu-west-1"
S3_BUCKET = "acme-reports"
VENDOR_KEYS = '[{"public": "PUBLIC"}]'
"#;

const CASES: &[Case] = &[
    Case {
        name: "a valid configuration passes, with the secrets listed by name",
        toml: VALID,
        args: &[],
        status: 0,
        says: &[
            "0 error(s), 0 warning(s)",
            "secret: AWS_ACCESS_KEY_ID (required",
            "secret: AWS_SECRET_ACCESS_KEY (required",
            "secret: AUDIT_SEAL_KEY (required",
            "secret: AWS_SESSION_TOKEN (optional",
            "wrangler secret put AUDIT_SEAL_KEY\n",
        ],
        never: &["warning:"],
    },
    Case {
        name: "every invalid setting is named, not only the first",
        toml: r#"
[vars]
GATEKEEPER_ID = "acme prod"
S3_REGION = "eu-west-1"
S3_BUCKET = "Acme_Reports"
VENDOR_KEYS = '[{"public": "PUBLIC"}]'
ALLOWED_ORIGINS = ["https://app.vendor.example", "null"]
MULTISIG = '[{"operations": ["put"], "signatures": 1, "keys": ["k4.pid.unknown"]}]'
[vars.ACL]
ip = { allow = ["10.0.0.0/8", "10.0.0.1/8"] }
country = { allow = ["US", "XX"] }
"#,
        args: &[],
        status: 1,
        says: &[
            "error: GATEKEEPER_ID: contains characters",
            "error: S3_BUCKET: not a valid S3 bucket name",
            "error: ALLOWED_ORIGINS: [1]: not an origin",
            "error: MULTISIG: [0].keys[0]: not the k4.pid of a key in VENDOR_KEYS",
            "error: ACL: ip.allow[1]: host bits are set",
            "5 error(s)",
        ],
        never: &[],
    },
    Case {
        name: "a wildcard origin is refused",
        toml: r#"
[vars]
GATEKEEPER_ID = "acme-prod"
S3_REGION = "eu-west-1"
S3_BUCKET = "acme-reports"
VENDOR_KEYS = '[{"public": "PUBLIC"}]'
ALLOWED_ORIGINS = "https://*.vendor.example"
"#,
        args: &[],
        status: 1,
        says: &["error: ALLOWED_ORIGINS: [0]: not an origin"],
        never: &[],
    },
    Case {
        name: "an environment does not inherit the top-level vars",
        toml: r#"
[vars]
GATEKEEPER_ID = "acme-prod"
S3_REGION = "eu-west-1"
S3_BUCKET = "acme-reports"
VENDOR_KEYS = '[{"public": "PUBLIC"}]'
[env.staging.vars]
GATEKEEPER_ID = "acme-staging"
"#,
        args: &["--env", "staging"],
        status: 1,
        says: &[
            "[env.staging.vars]",
            "error: S3_REGION: required but not set",
            "error: S3_BUCKET: required but not set",
            "error: VENDOR_KEYS: required but not set",
            "wrangler secret put AUDIT_SEAL_KEY --env staging",
        ],
        never: &["GATEKEEPER_ID:"],
    },
    Case {
        name: "an environment that does not exist is an error",
        toml: VALID,
        args: &["--env", "production"],
        status: 1,
        says: &[],
        never: &[],
    },
    Case {
        name: "a secret written in [vars] is an error that never shows its value",
        toml: r#"
[vars]
GATEKEEPER_ID = "acme-prod"
S3_REGION = "eu-west-1"
S3_BUCKET = "acme-reports"
VENDOR_KEYS = '[{"public": "PUBLIC"}]'
AWS_SECRET_ACCESS_KEY = "wJalrXUtnFEMIK7MDENGbPxRfiCYzEXAMPLEKEY"
"#,
        args: &[],
        status: 1,
        says: &["error: AWS_SECRET_ACCESS_KEY: a secret in [vars]"],
        never: &["wJalrXUtnFEMIK7MDENGbPxRfiCYzEXAMPLEKEY"],
    },
    Case {
        name: "a secret supplied with --var is validated, and never shown",
        toml: VALID,
        args: &["--var", "AUDIT_SEAL_KEY:k4.public.not-a-secret-xyzzy"],
        status: 1,
        says: &[
            "error: AUDIT_SEAL_KEY:",
            "secret: AUDIT_SEAL_KEY (supplied with --var",
        ],
        never: &["xyzzy"],
    },
    Case {
        name: "a number in [vars] is not read by the Worker, so it is an error",
        toml: r#"
[vars]
GATEKEEPER_ID = "acme-prod"
S3_REGION = "eu-west-1"
S3_BUCKET = "acme-reports"
VENDOR_KEYS = '[{"public": "PUBLIC"}]'
MAX_UPLOAD_BYTES = 1048576
DELETE_ENABLED = true
"#,
        args: &[],
        status: 1,
        says: &[
            "error: MAX_UPLOAD_BYTES: a TOML integer is not read by the Worker",
            "error: DELETE_ENABLED: a TOML boolean is not read by the Worker",
        ],
        never: &[],
    },
    Case {
        name: "a value replaced at deploy time can be supplied with --var",
        toml: r#"
[vars]
GATEKEEPER_ID = "acme-prod"
S3_REGION = "eu-west-1"
S3_BUCKET = "acme-reports"
VENDOR_KEYS = "[]"
"#,
        args: &["--var", r#"VENDOR_KEYS:[{"public": "PUBLIC"}]"#],
        status: 0,
        says: &["0 error(s)"],
        never: &[],
    },
    Case {
        name: "risky choices are warnings, which pass",
        toml: r#"
[vars]
GATEKEEPER_ID = "acme-prod"
S3_REGION = "eu-west-1"
S3_BUCKET = "acme-reports"
S3_ENDPOINT = "http://s3.internal.example"
VENDOR_KEYS = '[{"public": "PUBLIC"}]'
DELETE_ENABLED = "true"
GRANT_MAX_LIFETIME_SECONDS = "86400"
ALLOWED_ORIGINS = "https://app.vendor.example, http://app.vendor.example"
S3_BUKET = "typo"
[vars.ACL]
ip = { allow = ["0.0.0.0/0", "::/0"] }
country = { allow = [], unknown = "allow", tor = "allow" }
"#,
        args: &[],
        status: 0,
        says: &[
            "warning: DELETE_ENABLED: deletes are enabled",
            "warning: ACL: ip.allow admits every address and country.allow is empty",
            "warning: ACL: country.unknown: allow",
            "warning: ACL: country.tor: allow",
            "warning: ALLOWED_ORIGINS: [1]: a plain http origin",
            "warning: S3_ENDPOINT: plain http",
            "warning: GRANT_MAX_LIFETIME_SECONDS:",
            "warning: S3_BUKET: not a setting the gatekeeper reads",
            "0 error(s), 8 warning(s)",
        ],
        never: &["error:"],
    },
    Case {
        name: "with --strict a warning fails",
        toml: r#"
[vars]
GATEKEEPER_ID = "acme-prod"
S3_REGION = "eu-west-1"
S3_BUCKET = "acme-reports"
VENDOR_KEYS = '[{"public": "PUBLIC"}]'
DELETE_ENABLED = "true"
"#,
        args: &["--strict"],
        status: 1,
        says: &["0 error(s), 1 warning(s)"],
        never: &[],
    },
    Case {
        name: "an IPv6-only open allow list with no country is still flagged",
        toml: r#"
[vars]
GATEKEEPER_ID = "acme-prod"
S3_REGION = "eu-west-1"
S3_BUCKET = "acme-reports"
VENDOR_KEYS = '[{"public": "PUBLIC"}]'
ACL = '{"ip": {"allow": ["::/0"]}, "country": {"allow": []}}'
"#,
        args: &[],
        status: 0,
        says: &["no caller at all gets through"],
        never: &[],
    },
    Case {
        name: "a narrow allow list with an empty country list is not the open combination",
        toml: r#"
[vars]
GATEKEEPER_ID = "acme-prod"
S3_REGION = "eu-west-1"
S3_BUCKET = "acme-reports"
VENDOR_KEYS = '[{"public": "PUBLIC"}]'
ACL = '{"ip": {"allow": ["192.0.2.0/24"]}, "country": {"allow": []}}'
"#,
        args: &[],
        status: 0,
        says: &["0 error(s), 0 warning(s)"],
        never: &[],
    },
    Case {
        name: "an archive's settings are known, and its own credentials are secrets",
        toml: r#"
[vars]
GATEKEEPER_ID = "acme-prod"
S3_REGION = "eu-west-1"
S3_BUCKET = "acme-reports"
S3_KEY_ROOT = "reports/"
VENDOR_KEYS = '[{"public": "PUBLIC"}]'
AUDIT_ARCHIVE_BUCKET = "acme-audit"
AUDIT_ARCHIVE_PREFIX = "gatekeeper/"
AUDIT_HOT_DAYS = "30"
AUDIT_SIZE_BUDGET_MB = "8000"
"#,
        args: &[],
        status: 0,
        says: &[
            "0 error(s), 0 warning(s)",
            "secret: AUDIT_ARCHIVE_ACCESS_KEY_ID (optional",
            "secret: AUDIT_ARCHIVE_SECRET_ACCESS_KEY (optional",
        ],
        never: &["warning:"],
    },
    Case {
        name: "an archive that grants could reach is named by its prefix",
        toml: r#"
[vars]
GATEKEEPER_ID = "acme-prod"
S3_REGION = "eu-west-1"
S3_BUCKET = "acme-reports"
S3_KEY_ROOT = "reports/"
VENDOR_KEYS = '[{"public": "PUBLIC"}]'
AUDIT_ARCHIVE_BUCKET = "acme-reports"
AUDIT_ARCHIVE_PREFIX = "reports/audit/"
"#,
        args: &[],
        status: 1,
        says: &["error: AUDIT_ARCHIVE_PREFIX:"],
        never: &[],
    },
];

#[test]
fn config_check_cases() {
    let dir: PathBuf =
        std::env::temp_dir().join(format!("gatekeeper-config-check-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let public = vendor_key(&dir);
    let mut failures = Vec::new();
    for (i, case) in CASES.iter().enumerate() {
        let file = dir.join(format!("wrangler-{i}.toml"));
        std::fs::write(&file, case.toml.replace("PUBLIC", &public)).unwrap();
        let args: Vec<String> = case
            .args
            .iter()
            .map(|a| a.replace("PUBLIC", &public))
            .collect();
        let out = Command::new(env!("CARGO_BIN_EXE_gatekeeper"))
            .args(["config", "check", "--config"])
            .arg(&file)
            .args(&args)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if out.status.code() != Some(case.status) {
            failures.push(format!(
                "{}: status {:?}, want {}\n{text}",
                case.name,
                out.status.code(),
                case.status
            ));
        }
        for want in case.says {
            if !text.contains(want) {
                failures.push(format!("{}: missing {want:?}\n{text}", case.name));
            }
        }
        for unwanted in case.never {
            if text.contains(unwanted) {
                failures.push(format!("{}: must not say {unwanted:?}\n{text}", case.name));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n---\n"));
}

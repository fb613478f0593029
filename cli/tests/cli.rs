//! The `gatekeeper` binary, run as a user would: keygen, grant, inspect, audit verify.

// In tests a panic is the failure report, so unwrapping is the clearest way to fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn gatekeeper(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gatekeeper"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// A fresh folder for one test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gatekeeper-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn keygen(dir: &Path) -> (PathBuf, serde_json::Value) {
    let key = dir.join("vendor.key");
    let out = gatekeeper(&["keygen", "--out", key.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{out:?}");
    (key, serde_json::from_str(&stdout(&out)).unwrap())
}

#[test]
fn keygen_writes_a_private_key_file_and_never_overwrites_it() {
    let dir = scratch("keygen");
    let (key, entry) = keygen(&dir);
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(
        std::fs::read_to_string(&key)
            .unwrap()
            .starts_with("k4.secret.")
    );
    assert!(entry["public"].as_str().unwrap().starts_with("k4.public."));
    assert!(entry["id"].as_str().unwrap().starts_with("k4.pid."));

    let again = gatekeeper(&["keygen", "--out", key.to_str().unwrap()]);
    assert!(!again.status.success(), "an existing key is never replaced");
}

#[test]
fn a_minted_grant_inspects_as_valid_and_a_wrong_audience_is_explained() {
    let dir = scratch("inspect");
    let (key, entry) = keygen(&dir);
    let keys = format!("[{entry}]");
    // A grant from `key` for user u-1 at gatekeeper "acme" on "a b.csv", with `extra` flags.
    let grant = |extra: &[&str]| {
        let base = [
            "grant",
            "--key",
            key.to_str().unwrap(),
            "--aud",
            "acme",
            "--object",
            "a b.csv",
            "--sub",
            "u-1",
        ];
        gatekeeper(&[&base[..], extra].concat())
    };
    let minted = grant(&["--op", "put", "--max-size", "10"]);
    assert!(minted.status.success(), "{minted:?}");
    let token = stdout(&minted).trim().to_owned();

    let ok = gatekeeper(&["inspect", &token, "--aud", "acme", "--keys", &keys]);
    assert!(ok.status.success(), "{ok:?}");
    let text = stdout(&ok);
    assert!(text.contains("verdict: valid"), "{text}");
    assert!(
        text.contains(r#""jti":"#),
        "writes get a generated jti: {text}"
    );
    assert!(text.contains(r#""max_size":10"#), "{text}");

    let wrong = gatekeeper(&["inspect", &token, "--aud", "other", "--keys", &keys]);
    assert!(!wrong.status.success());
    assert!(
        stdout(&wrong).contains("refused, grant_wrong_audience"),
        "{}",
        stdout(&wrong)
    );
    assert!(
        stdout(&wrong).contains("signed:  genuine, by k4.pid.")
            && stdout(&wrong).contains("for u-1"),
        "a refused but genuine grant still names its signer and user: {}",
        stdout(&wrong)
    );

    let curl = grant(&["--op", "get", "--curl", "https://gk.example/"]);
    let line = stdout(&curl);
    assert!(
        line.starts_with("curl -fsS -H 'Authorization: Bearer v4.public."),
        "{line}"
    );
    assert!(
        line.trim_end()
            .ends_with("'https://gk.example/objects/a%20b.csv'"),
        "{line}"
    );
}

/// An export of a sealed audit log, as `wrangler d1 execute --json` prints it, and the seal key's
/// public half.
fn sealed_export() -> (serde_json::Value, String) {
    use s3_gatekeeper::grant::SigningKey;
    use s3_gatekeeper::seal::{Evidence, Policy, Row, Seal, Sealer};

    let key = SigningKey::from_seed([5; 32]).unwrap();
    let public = key.public_key().to_string();
    let rows: Vec<Row> = (1..=3)
        .map(|id| {
            serde_json::from_value(serde_json::json!({
                "id": id, "time_ms": 1_780_000_000_000_i64 + id, "request_id": format!("ray-{id}"),
                "operation": "get", "bucket": "acme-reports", "decision": "allowed", "status": 200,
                "jti": null,
            }))
            .unwrap()
        })
        .collect();
    // A run half an hour later, past the default grace period of 15 minutes.
    let claim = Seal {
        seq: 1,
        scheduled_ms: 1_780_001_800_000,
        cutoff_ms: 1_780_000_900_000,
        first_id: 1,
        last_id: 3,
        purged_through: 0,
        proof: None,
    };
    let sealer = Sealer::new(key, Policy::default());
    let evidence = Evidence {
        purgeable_through: 0,
        log_end: 3,
        now_ms: claim.scheduled_ms,
    };
    let mut sealing = sealer.begin(claim, None, evidence).unwrap();
    sealing.add(&rows).unwrap();
    let (seal, _) = sealing.finish().unwrap();
    let export = serde_json::json!([
        {"results": rows, "success": true},
        {"results": [seal.to_row()], "success": true},
    ]);
    (export, public)
}

#[test]
fn audit_verify_passes_an_intact_export_and_names_a_changed_row() {
    let dir = scratch("audit");
    let (mut export, public) = sealed_export();
    let file = dir.join("audit.json");
    std::fs::write(&file, export.to_string()).unwrap();
    let out = gatekeeper(&["audit", "verify", "--key", &public, file.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    assert!(stdout(&out).starts_with("intact: every sealed row matches its seal\n"));
    assert!(stdout(&out).contains("seals: 1; rows: 3 verified"));

    // The key may come from a file, as keygen's public half was saved.
    let key_file = dir.join("seal.pub");
    std::fs::write(&key_file, format!("{public}\n")).unwrap();
    let out = gatekeeper(&[
        "audit",
        "verify",
        "--key",
        key_file.to_str().unwrap(),
        file.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{out:?}");

    export[0]["results"][1]["decision"] = "grant_missing".into();
    std::fs::write(&file, export.to_string()).unwrap();
    let out = gatekeeper(&["audit", "verify", "--key", &public, file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).starts_with("TAMPERED: row 2 was changed after seal 1 sealed it\n"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn audit_verify_checks_purges_against_a_retention_period() {
    let dir = scratch("audit-retention");
    let (mut export, public) = sealed_export();
    // A claim written into the table directly: ten minutes after the seal, it would let retention
    // purge every row sealed so far.
    let mut forged = export[1]["results"][0].clone();
    for column in [
        "row_count",
        "prev",
        "head",
        "manifest_digest",
        "key_id",
        "signature",
        "hash",
        "manifest",
    ] {
        forged[column] = serde_json::Value::Null;
    }
    forged["id"] = 2.into();
    forged["scheduled_ms"] = 1_780_002_400_000_i64.into();
    forged["cutoff_ms"] = 1_780_001_500_000_i64.into();
    forged["first_id"] = 4.into();
    forged["last_id"] = 3.into();
    forged["purged_through"] = 3.into();
    export[1]["results"].as_array_mut().unwrap().push(forged);
    let file = dir.join("audit.json");
    std::fs::write(&file, export.to_string()).unwrap();
    let path = file.to_str().unwrap();

    let out = gatekeeper(&["audit", "verify", "--key", &public, path]);
    assert!(out.status.success(), "{out:?}");
    let out = gatekeeper(&[
        "audit",
        "verify",
        "--key",
        &public,
        "--retention-days",
        "180",
        path,
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        stdout(&out).starts_with(
            "TAMPERED: seal 2: its purged_through 3 lets retention purge rows younger than 180 days (only rows up to id 0 were that old)\n"
        ),
        "{}",
        stdout(&out)
    );
    let out = gatekeeper(&[
        "audit",
        "verify",
        "--key",
        &public,
        "--retention-days",
        "0",
        path,
    ]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a retention period of no days is refused"
    );
}

#[test]
fn audit_verify_refuses_what_it_cannot_check() {
    let dir = scratch("audit-refuse");
    let (export, public) = sealed_export();
    let log_only = dir.join("log.json");
    std::fs::write(&log_only, serde_json::json!([export[0]]).to_string()).unwrap();
    let out = gatekeeper(&[
        "audit",
        "verify",
        "--key",
        &public,
        log_only.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("hold no seals"));

    let error = dir.join("error.json");
    std::fs::write(
        &error,
        r#"{"error": {"text": "no such table: audit_seals"}}"#,
    )
    .unwrap();
    let out = gatekeeper(&["audit", "verify", "--key", &public, error.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("not the JSON that `wrangler d1 execute --json` prints")
    );

    // Another gatekeeper's key vouches for nothing here.
    let all = dir.join("all.json");
    std::fs::write(&all, export.to_string()).unwrap();
    let other = s3_gatekeeper::grant::SigningKey::from_seed([6; 32]).unwrap();
    let out = gatekeeper(&[
        "audit",
        "verify",
        "--key",
        &other.public_key().to_string(),
        all.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).starts_with("TAMPERED: seal 1: it is signed by k4.pid."));
}

#[test]
fn a_grant_inspected_as_a_link_gets_the_links_shorter_lifetime() {
    let dir = scratch("inspect-link");
    let (key, entry) = keygen(&dir);
    let keys = format!("[{entry}]");
    let mint = |ttl: &str| {
        let minted = gatekeeper(&[
            "grant",
            "--key",
            key.to_str().unwrap(),
            "--aud",
            "acme",
            "--op",
            "get",
            "--object",
            "q3.csv",
            "--sub",
            "u-1",
            "--ttl",
            ttl,
        ]);
        assert!(minted.status.success(), "{minted:?}");
        stdout(&minted).trim().to_owned()
    };
    let inspect = |token: &str, extra: &[&str]| {
        let base = ["inspect", token, "--aud", "acme", "--keys", &keys];
        gatekeeper(&[&base[..], extra].concat())
    };
    // Ten minutes: fine in a header, too long for a link (5 minutes by default).
    let long = mint("600");
    assert!(inspect(&long, &[]).status.success());
    let as_link = inspect(&long, &["--link"]);
    assert!(!as_link.status.success());
    assert!(
        stdout(&as_link).contains("refused, grant_lifetime_too_long"),
        "{}",
        stdout(&as_link)
    );
    // Two minutes: a link.
    let short = mint("120");
    let ok = inspect(&short, &["--link"]);
    assert!(ok.status.success(), "{}", stdout(&ok));
}

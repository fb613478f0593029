//! The `gatekeeper` binary, run as a user would: keygen, grant, inspect.

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
    let minted = gatekeeper(&[
        "grant",
        "--key",
        key.to_str().unwrap(),
        "--aud",
        "acme",
        "--op",
        "put",
        "--object",
        "a b.csv",
        "--sub",
        "u-1",
        "--max-size",
        "10",
    ]);
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

    let curl = gatekeeper(&[
        "grant",
        "--key",
        key.to_str().unwrap(),
        "--aud",
        "acme",
        "--op",
        "get",
        "--object",
        "a b.csv",
        "--sub",
        "u-1",
        "--curl",
        "https://gk.example/",
    ]);
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

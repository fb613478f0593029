//! Project Wycheproof's Ed25519 verification vectors (tests/vectors/README.md), against
//! ed25519-compact, the Ed25519 implementation that verifies every grant.

// In tests a panic is the failure report, so unwrapping is the clearest way to fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ed25519_compact::{PublicKey, Signature};
use serde_json::Value;

#[test]
fn every_wycheproof_case() {
    let path = format!(
        "{}/tests/vectors/wycheproof/ed25519_test.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let file: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut run = 0;
    for group in file["testGroups"].as_array().unwrap() {
        let pk = hex::decode(group["publicKey"]["pk"].as_str().unwrap()).unwrap();
        for t in group["tests"].as_array().unwrap() {
            let id = &t["tcId"];
            let msg = hex::decode(t["msg"].as_str().unwrap()).unwrap();
            let sig = hex::decode(t["sig"].as_str().unwrap()).unwrap();
            let accepted = PublicKey::from_slice(&pk).is_ok_and(|pk| {
                Signature::from_slice(&sig).is_ok_and(|sig| pk.verify(&msg, &sig).is_ok())
            });
            let expected = match t["result"].as_str().unwrap() {
                "valid" => true,
                "invalid" => false,
                other => panic!("case {id}: unexpected result {other}"),
            };
            assert_eq!(accepted, expected, "case {id}: {}", t["comment"]);
            run += 1;
        }
    }
    assert_eq!(
        run,
        file["numberOfTests"].as_u64().unwrap(),
        "every case ran"
    );
}

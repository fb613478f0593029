//! What one request costs the policy core, natively: `cargo bench --bench decision`.
//!
//! - `grant/verify`: parse and verify one vendor grant (Ed25519) and check its claims;
//! - `decide/get`: the whole decision for a GET, ACL to signed S3 request (grant + SigV4);
//! - `decide/acl_denied`: a caller the ACL refuses, which must cost almost nothing.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)] // a benchmark binary, not an API

use std::hint::black_box;
use std::time::{Duration, UNIX_EPOCH};

use criterion::{Criterion, criterion_group, criterion_main};
use s3_gatekeeper::acl::Caller;
use s3_gatekeeper::grant::{Claims, SigningKey, format_time};
use s3_gatekeeper::{Config, Gatekeeper};

const NOW: i64 = 1_800_000_000;

fn setup() -> (Gatekeeper, String) {
    let key = SigningKey::from_seed([7; 32]).unwrap();
    let keys = format!(r#"[{{"public":"{}"}}]"#, key.public_key());
    let seal_key = SigningKey::from_seed([9; 32]).unwrap().to_paserk();
    let acl = r#"{"ip":{"allow":["0.0.0.0/0","::/0"],"deny":["192.0.2.0/24","2001:db8::/32"]}}"#;
    let config = Config::from_settings(|name| {
        let value = match name {
            "GATEKEEPER_ID" => "bench",
            "S3_REGION" => "eu-west-1",
            "S3_BUCKET" => "acme-reports",
            "AWS_ACCESS_KEY_ID" => "AKIAIOSFODNN7EXAMPLE",
            "AWS_SECRET_ACCESS_KEY" => "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "VENDOR_KEYS" => &keys,
            "AUDIT_SEAL_KEY" => &seal_key,
            "ACL" => acl,
            _ => return None,
        };
        Some(value.to_owned())
    })
    .unwrap();
    let claims = Claims {
        aud: "bench".into(),
        iat: format_time(NOW),
        exp: format_time(NOW + 300).unwrap(),
        sub: "user-42".into(),
        op: "get".into(),
        key: Some("reports/2026/q3-summary.csv".into()),
        ..Claims::default()
    };
    (Gatekeeper::new(config), key.mint(&claims).unwrap())
}

fn benches(c: &mut Criterion) {
    let (gatekeeper, token) = setup();
    let now = UNIX_EPOCH + Duration::from_secs(NOW.unsigned_abs());
    let request = http::Request::get("/objects/reports/2026/q3-summary.csv")
        .header("authorization", format!("Bearer {token}"))
        .body(())
        .unwrap();
    let allowed = Caller {
        ip: Some("198.51.100.7".parse().unwrap()),
        country: Some("US".parse().unwrap()),
    };
    let denied = Caller {
        ip: Some("192.0.2.7".parse().unwrap()),
        country: Some("US".parse().unwrap()),
    };
    assert!(gatekeeper.decide(&request, &allowed, now).outcome.is_ok());

    let key = SigningKey::from_seed([7; 32]).unwrap();
    let verifier = s3_gatekeeper::grant::Verifier::new(
        "bench".into(),
        s3_gatekeeper::grant::KeyRing::new(vec![s3_gatekeeper::grant::TrustedKey::new(
            key.public_key().clone(),
        )]),
        s3_gatekeeper::grant::Policy::default(),
        Vec::new(),
    );
    c.bench_function("grant/verify", |b| {
        b.iter(|| verifier.verify(black_box(&token), now).unwrap());
    });
    c.bench_function("decide/get", |b| {
        b.iter(|| gatekeeper.decide(black_box(&request), &allowed, now));
    });
    c.bench_function("decide/acl_denied", |b| {
        b.iter(|| gatekeeper.decide(black_box(&request), &denied, now));
    });
}

criterion_group!(decision, benches);
criterion_main!(decision);

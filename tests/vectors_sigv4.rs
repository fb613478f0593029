//! The gatekeeper's SigV4 signatures against published AWS examples (tests/vectors/README.md).

// In tests a panic is the failure report, so unwrapping is the clearest way to fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use s3_gatekeeper::acl::Caller;
use s3_gatekeeper::grant::SigningKey;
use serde_json::Value;

fn vector(name: &str) -> Value {
    let path = format!("{}/tests/vectors/sigv4/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn get_object_matches_the_aws_example() {
    let v = vector("s3-get-object.json");
    let s = |field: &str| v[field].as_str().unwrap();
    let gatekeeper = support::gatekeeper(&[
        ("S3_ENDPOINT", s("endpoint")),
        ("S3_REGION", s("region")),
        ("S3_BUCKET", s("bucket")),
        ("AWS_ACCESS_KEY_ID", s("access_key_id")),
        ("AWS_SECRET_ACCESS_KEY", s("secret_access_key")),
    ]);
    let now = 1_369_353_600; // 2013-05-24T00:00:00Z, the example's signing time
    let key: SigningKey = support::vendor_key();
    let token = key
        .mint(&support::claims("get", s("key"), now - 10, 300))
        .unwrap();

    let mut request = http::Request::get(format!("/objects/{}", s("key")))
        .header("authorization", format!("Bearer {token}"));
    for (name, value) in v["headers"].as_object().unwrap() {
        request = request.header(name, value.as_str().unwrap());
    }
    let caller = Caller {
        ip: Some("192.0.2.1".parse().unwrap()),
        country: Some("US".parse().unwrap()),
    };
    let decision = gatekeeper.decide(&request.body(()).unwrap(), &caller, support::at(now));
    let signed = decision.outcome.unwrap();

    let expected = &v["expected"];
    assert_eq!(signed.uri().to_string(), expected["url"].as_str().unwrap());
    for header in ["x-amz-content-sha256", "x-amz-date", "authorization"] {
        assert_eq!(
            signed.headers()[header],
            expected[header].as_str().unwrap(),
            "{header}"
        );
    }
}

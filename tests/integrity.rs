//! Upload integrity: a digest the caller sends reaches S3 signed, so S3 stores exactly those
//! bytes or nothing; and a grant's `sha256` claim binds a put grant to one content, so a stolen
//! grant cannot store other bytes.

// In tests a panic is the failure report, so unwrapping is the clearest way to fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use s3_gatekeeper::acl::Caller;
use s3_gatekeeper::grant::token::seal;

const NOW: i64 = 1_800_000_000;
/// SHA-256 of `abc`, hex and base64.
const ABC_SHA256_HEX: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
const ABC_SHA256_B64: &str = "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=";
/// SHA-256 of `abd`, base64.
const ABD_SHA256_B64: &str = "pN7BpdTyN4Iq6FwgmL0iyYvP1DHTLY5jiSatakBQU/0=";
/// MD5 of `abc`, base64.
const ABC_MD5_B64: &str = "kAFQmDzST7DWlj99KOF/cg==";

/// A put grant for `uploads/a.csv` with `extra` claims (raw JSON, as a vendor's server could
/// write them), and the request the gatekeeper would send S3 for a 3-byte upload with `headers`.
fn put(
    extra: &serde_json::Value,
    headers: &[(&str, &str)],
) -> Result<http::Request<()>, (u16, &'static str)> {
    let claims = support::claims("put", "uploads/a.csv", NOW, 60);
    let mut json = serde_json::to_value(&claims).unwrap();
    json["jti"] = "j-1".into();
    for (name, value) in extra.as_object().unwrap() {
        json[name] = value.clone();
    }
    let key = support::vendor_key();
    let footer = serde_json::json!({ "kid": key.id() }).to_string();
    let token = seal(&key, json.to_string().as_bytes(), footer.as_bytes(), b"").unwrap();
    let mut request = http::Request::put("/objects/uploads/a.csv")
        .header("authorization", format!("Bearer {token}"))
        .header("content-length", "3");
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    support::gatekeeper(&[])
        .decide(&request.body(()).unwrap(), &caller(), support::at(NOW))
        .outcome
        .map_err(|e| (e.status().as_u16(), e.code()))
}

/// A caller in the US the ACL lets through.
fn caller() -> Caller {
    Caller {
        ip: Some("198.51.100.7".parse().unwrap()),
        country: Some("US".parse().unwrap()),
    }
}

/// The refusal, if the upload was refused.
fn refusal(outcome: Result<http::Request<()>, (u16, &'static str)>) -> Option<(u16, &'static str)> {
    outcome.err()
}

fn signed_headers(sent: &http::Request<()>) -> String {
    let auth = sent.headers()["authorization"].to_str().unwrap();
    auth.split("SignedHeaders=")
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .to_owned()
}

#[test]
fn a_callers_content_md5_reaches_s3_signed() {
    let sent = put(&serde_json::json!({}), &[("content-md5", ABC_MD5_B64)]).unwrap();
    assert_eq!(sent.headers()["content-md5"], ABC_MD5_B64);
    assert!(
        signed_headers(&sent).split(';').any(|h| h == "content-md5"),
        "{}",
        signed_headers(&sent)
    );
}

#[test]
fn a_callers_checksum_sha256_reaches_s3_signed() {
    let sent = put(
        &serde_json::json!({}),
        &[("x-amz-checksum-sha256", ABC_SHA256_B64)],
    )
    .unwrap();
    assert_eq!(sent.headers()["x-amz-checksum-sha256"], ABC_SHA256_B64);
    assert!(
        signed_headers(&sent)
            .split(';')
            .any(|h| h == "x-amz-checksum-sha256")
    );
}

#[test]
fn malformed_digests_are_refused_before_s3() {
    for (name, value) in [
        ("content-md5", "not-base64!"),
        ("content-md5", ABC_SHA256_B64),
        ("content-md5", ""),
        ("x-amz-checksum-sha256", ABC_MD5_B64),
        (
            "x-amz-checksum-sha256",
            "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0",
        ),
        (
            "x-amz-checksum-sha256",
            "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0=",
        ),
    ] {
        assert_eq!(
            refusal(put(&serde_json::json!({}), &[(name, value)])),
            Some((400, "bad_digest")),
            "{name}: {value:?}"
        );
    }
}

#[test]
fn a_sha256_grant_sends_its_checksum_to_s3_signed() {
    let sent = put(&serde_json::json!({ "sha256": ABC_SHA256_HEX }), &[]).unwrap();
    assert_eq!(sent.headers()["x-amz-checksum-sha256"], ABC_SHA256_B64);
    assert!(
        signed_headers(&sent)
            .split(';')
            .any(|h| h == "x-amz-checksum-sha256")
    );
    // The caller may send the same checksum, and a Content-MD5 besides.
    let same = put(
        &serde_json::json!({ "sha256": ABC_SHA256_HEX }),
        &[
            ("x-amz-checksum-sha256", ABC_SHA256_B64),
            ("content-md5", ABC_MD5_B64),
        ],
    )
    .unwrap();
    assert_eq!(same.headers()["x-amz-checksum-sha256"], ABC_SHA256_B64);
    assert_eq!(same.headers()["content-md5"], ABC_MD5_B64);
}

#[test]
fn a_sha256_grant_refuses_a_callers_different_checksum() {
    assert_eq!(
        refusal(put(
            &serde_json::json!({ "sha256": ABC_SHA256_HEX }),
            &[("x-amz-checksum-sha256", ABD_SHA256_B64)],
        )),
        Some((400, "digest_mismatch"))
    );
}

#[test]
fn a_sha256_claim_on_a_grant_that_is_not_a_put_is_malformed() {
    let mut claims = support::claims("get", "uploads/a.csv", NOW, 60);
    claims.sha256 = Some(ABC_SHA256_HEX.into());
    let token = support::vendor_key().mint(&claims).unwrap();
    let request = http::Request::get("/objects/uploads/a.csv")
        .header("authorization", format!("Bearer {token}"))
        .body(())
        .unwrap();
    let outcome = support::gatekeeper(&[])
        .decide(&request, &caller(), support::at(NOW))
        .outcome;
    assert_eq!(outcome.err().map(|e| e.code()), Some("grant_malformed"));
}

#[test]
fn a_malformed_sha256_claim_makes_the_grant_malformed() {
    for bad in [
        serde_json::json!(ABC_SHA256_B64),
        serde_json::json!(&ABC_SHA256_HEX[..62]),
        serde_json::json!(ABC_SHA256_HEX.to_uppercase()),
        serde_json::json!(""),
        serde_json::json!(42),
    ] {
        assert_eq!(
            refusal(put(&serde_json::json!({ "sha256": bad }), &[])),
            Some((401, "grant_malformed")),
            "{bad}"
        );
    }
}

#[test]
fn s3_refusing_a_body_that_does_not_match_is_digest_mismatch() {
    use s3_gatekeeper::s3::UpstreamError;
    for code in ["BadDigest", "InvalidDigest", "XAmzContentChecksumMismatch"] {
        let error = s3_gatekeeper::Error::from(UpstreamError::from_reply(
            http::StatusCode::BAD_REQUEST,
            Some(code),
        ));
        assert_eq!(
            (error.status().as_u16(), error.code()),
            (400, "digest_mismatch")
        );
    }
}

/// An upload in parts cannot be bound to one whole-object SHA-256 (S3 checks each part's own
/// checksum, and a SHA-256 of the whole object only as a checksum of checksums), so a grant that
/// asks for both would promise a binding nothing enforces: it is malformed, for a single `PUT`
/// and for the creation of an upload in parts alike.
#[test]
fn a_sha256_claim_with_multipart_makes_the_grant_malformed() {
    let both = serde_json::json!({ "sha256": ABC_SHA256_HEX, "multipart": true, "max_size": 1024 });
    assert_eq!(refusal(put(&both, &[])), Some((401, "grant_malformed")));

    let mut claims = support::claims("put", "uploads/a.csv", NOW, 60);
    claims.jti = Some("j-2".into());
    claims.sha256 = Some(ABC_SHA256_HEX.into());
    claims.multipart = Some(true);
    claims.max_size = Some(1024);
    let token = support::vendor_key().mint(&claims).unwrap();
    let create = http::Request::post("/objects/uploads/a.csv?uploads")
        .header("authorization", format!("Bearer {token}"))
        .body(())
        .unwrap();
    let outcome = support::gatekeeper(&[])
        .decide(&create, &caller(), support::at(NOW))
        .outcome;
    assert_eq!(outcome.err().map(|e| e.code()), Some("grant_malformed"));
}

//! Uploads through the public API: what is signed and sent to S3, and what is refused first.

// In tests a panic is the failure report, so unwrapping is the clearest way to fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use s3_gatekeeper::acl::Caller;
use s3_gatekeeper::grant::Claims;

const NOW: i64 = 1_800_000_000;

/// Settings, the grant's `max_size` and `content_type`, the request's headers, and the refusal.
type Case = (
    &'static [(&'static str, &'static str)],
    Option<u64>,
    Option<&'static str>,
    &'static [(&'static str, &'static str)],
    (u16, &'static str),
);

fn put(
    settings: &[(&str, &str)],
    edit: impl FnOnce(&mut Claims),
    headers: &[(&str, &str)],
) -> Result<http::Request<()>, (u16, &'static str)> {
    let mut claims = support::claims("put", "uploads/a.csv", NOW, 60);
    claims.jti = Some("j-1".into());
    edit(&mut claims);
    let token = support::vendor_key().mint(&claims).unwrap();
    let mut request = http::Request::put("/objects/uploads/a.csv")
        .header("authorization", format!("Bearer {token}"));
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let caller = Caller {
        ip: Some("198.51.100.7".parse().unwrap()),
        country: Some("US".parse().unwrap()),
    };
    let decision =
        support::gatekeeper(settings).decide(&request.body(()).unwrap(), &caller, support::at(NOW));
    decision
        .outcome
        .map_err(|e| (e.status().as_u16(), e.code()))
}

#[test]
fn the_gatekeeper_sets_length_and_encryption_and_signs_an_unsigned_payload() {
    let sent = put(
        &[],
        |_| {},
        &[
            ("content-length", "3"),
            ("x-amz-server-side-encryption", "none"),
        ],
    )
    .unwrap();
    assert_eq!(sent.method(), http::Method::PUT);
    assert_eq!(sent.headers()["content-length"], "3");
    assert_eq!(
        sent.headers()["x-amz-server-side-encryption"],
        "AES256",
        "the caller cannot choose"
    );
    assert_eq!(sent.headers()["x-amz-content-sha256"], "UNSIGNED-PAYLOAD");
    let signed = sent.headers()["authorization"].to_str().unwrap();
    assert!(
        signed.contains(
            "content-length;host;x-amz-content-sha256;x-amz-date;x-amz-server-side-encryption"
        ),
        "{signed}"
    );

    let kms = put(
        &[
            ("S3_SSE", "aws:kms"),
            (
                "S3_SSE_KMS_KEY_ID",
                "arn:aws:kms:us-east-1:111122223333:key/k",
            ),
        ],
        |_| {},
        &[("content-length", "3")],
    )
    .unwrap();
    assert_eq!(kms.headers()["x-amz-server-side-encryption"], "aws:kms");
    assert_eq!(
        kms.headers()["x-amz-server-side-encryption-aws-kms-key-id"],
        "arn:aws:kms:us-east-1:111122223333:key/k"
    );

    let bucket_default = put(
        &[("S3_SSE", "bucket-default")],
        |_| {},
        &[("content-length", "3")],
    )
    .unwrap();
    assert!(
        bucket_default
            .headers()
            .get("x-amz-server-side-encryption")
            .is_none()
    );
}

#[test]
fn bounds_are_checked_before_signing() {
    let cases: Vec<Case> = vec![
        (&[], None, None, &[], (411, "length_required")),
        (
            &[],
            None,
            None,
            &[("content-length", "-1")],
            (400, "bad_content_length"),
        ),
        (
            &[],
            None,
            None,
            &[("content-length", "1e3")],
            (400, "bad_content_length"),
        ),
        (
            &[],
            Some(10),
            None,
            &[("content-length", "11")],
            (413, "too_large"),
        ),
        (
            &[("MAX_UPLOAD_BYTES", "100")],
            None,
            None,
            &[("content-length", "101")],
            (413, "too_large"),
        ),
        (
            &[],
            None,
            None,
            &[("content-length", "5368709121")],
            (413, "too_large"),
        ),
        (
            &[],
            None,
            Some("text/csv"),
            &[("content-length", "1")],
            (415, "content_type_mismatch"),
        ),
        (
            &[],
            None,
            Some("text/csv"),
            &[
                ("content-length", "1"),
                ("content-type", "text/csv; charset=utf-8"),
            ],
            (415, "content_type_mismatch"),
        ),
    ];
    for (settings, max_size, content_type, headers, want) in cases {
        let got = put(
            settings,
            |c| {
                c.max_size = max_size;
                c.content_type = content_type.map(str::to_owned);
            },
            headers,
        );
        assert_eq!(
            got.map(|_| ()),
            Err(want),
            "{settings:?} {max_size:?} {content_type:?} {headers:?}"
        );
    }
    let typed = put(
        &[],
        |c| c.content_type = Some("text/csv".into()),
        &[("content-length", "1"), ("content-type", "text/csv")],
    );
    assert_eq!(typed.unwrap().headers()["content-type"], "text/csv");
}

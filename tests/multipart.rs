//! Uploads in parts through the public API: what each call signs for S3, and what is refused
//! before anything is signed. Whether an upload id is bound to the grant, and whether a part fits
//! the upload's limit, is decided in D1 (tests/e2e/multipart.test.mjs).

// In tests a panic is the failure report, so unwrapping is the clearest way to fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use s3_gatekeeper::acl::Caller;
use s3_gatekeeper::grant::Claims;
use s3_gatekeeper::multipart::{Completion, Step, UploadId};

const NOW: i64 = 1_800_000_000;
const KEY: &str = "uploads/big.bin";
const MIB: u64 = 1024 * 1024;

/// Headers, or settings: (name, value) pairs.
type Pairs = &'static [(&'static str, &'static str)];
/// A call (method, query, headers) and the S3 request it signs (method, query, headers sent).
type Signed = (
    &'static str,
    &'static str,
    Pairs,
    &'static str,
    &'static str,
    Pairs,
);
/// Settings, method, query, the edit of the grant, headers, and the refusal.
type Refused = (
    Pairs,
    &'static str,
    &'static str,
    fn(&mut Claims),
    Pairs,
    (u16, &'static str),
);

/// Asks the gatekeeper for `method` on `/objects/uploads/big.bin?{query}` with one grant made by
/// `edit` from a multipart `put` grant (`max_size` 300 MiB).
fn call(
    settings: &[(&str, &str)],
    method: &str,
    query: &str,
    edit: impl FnOnce(&mut Claims),
    headers: &[(&str, &str)],
) -> Result<s3_gatekeeper::Decision, (u16, &'static str)> {
    let mut claims = support::claims("put", KEY, NOW, 60);
    claims.jti = Some("j-1".into());
    claims.max_size = Some(300 * MIB);
    claims.multipart = Some(true);
    edit(&mut claims);
    let token = support::vendor_key().mint(&claims).unwrap();
    let mut request = http::Request::builder()
        .method(method)
        .uri(format!("/objects/{KEY}?{query}"))
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
    match &decision.outcome {
        Ok(_) => Ok(decision),
        Err(e) => Err((e.status().as_u16(), e.code())),
    }
}

fn sent(decision: &s3_gatekeeper::Decision) -> &http::Request<()> {
    decision.outcome.as_ref().unwrap()
}

#[test]
fn each_call_signs_its_s3_request() {
    // (method, query, headers, S3 method, S3 query, S3 headers that must be sent)
    let cases: &[Signed] = &[
        (
            "POST",
            "uploads",
            &[("content-type", "application/octet-stream")],
            "POST",
            "uploads=",
            &[
                ("x-amz-server-side-encryption", "AES256"),
                ("content-type", "application/octet-stream"),
            ],
        ),
        (
            "PUT",
            "uploadId=abc.-_~%2B%2F%3D&partNumber=7",
            &[("content-length", "5242880")],
            "PUT",
            "partNumber=7&uploadId=abc.-_~%2B%2F%3D",
            &[
                ("content-length", "5242880"),
                ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
            ],
        ),
        (
            "POST",
            "uploadId=abc",
            &[],
            "POST",
            "uploadId=abc",
            &[("x-amz-content-sha256", "UNSIGNED-PAYLOAD")],
        ),
        ("DELETE", "uploadId=abc", &[], "DELETE", "uploadId=abc", &[]),
        ("GET", "uploadId=abc", &[], "GET", "uploadId=abc", &[]),
    ];
    for (method, query, headers, s3_method, s3_query, s3_headers) in cases {
        let decision = call(&[], method, query, |_| {}, headers).unwrap();
        let request = sent(&decision);
        assert_eq!(request.method().as_str(), *s3_method, "{method} {query}");
        assert_eq!(request.uri().path(), "/uploads/big.bin", "{method} {query}");
        assert_eq!(request.uri().query(), Some(*s3_query), "{method} {query}");
        for (name, value) in *s3_headers {
            assert_eq!(request.headers()[*name], *value, "{method} {query} {name}");
        }
        assert!(request.headers().contains_key("authorization"));
        let plan = decision.multipart.as_ref().unwrap();
        assert_eq!(plan.binding.jti, "j-1");
        assert_eq!(plan.binding.object_key, KEY);
        assert_eq!(plan.binding.max_bytes, 300 * MIB);
        assert_eq!(plan.part_max_bytes, 90 * MIB);
        // The grant is accepted through the last millisecond of `exp` plus the skew (60 s).
        assert_eq!(plan.binding.expires_ms, (NOW + 60 + 60 + 1) * 1000 - 1);
        assert_eq!(
            decision.intent.as_ref().unwrap().operation,
            s3_gatekeeper::Operation::Put
        );
    }
}

#[test]
fn a_part_carries_its_length_into_the_audit_record() {
    let decision = call(
        &[],
        "PUT",
        "uploadId=u&partNumber=1",
        |_| {},
        &[("content-length", "9")],
    )
    .unwrap();
    assert_eq!(decision.upload.as_ref().unwrap().length, 9);
}

/// Every refusal the request alone shows, before anything is signed.
#[test]
#[allow(clippy::too_many_lines)]
fn refusals_before_anything_is_signed() {
    let keep: fn(&mut Claims) = |_| {};
    let cases: &[Refused] = &[
        // A put grant without `multipart: true` allows no call of an upload in parts.
        (
            &[],
            "POST",
            "uploads",
            |c| c.multipart = None,
            &[],
            (403, "multipart_not_allowed"),
        ),
        (
            &[],
            "POST",
            "uploads",
            |c| c.multipart = Some(false),
            &[],
            (403, "multipart_not_allowed"),
        ),
        (
            &[],
            "PUT",
            "uploadId=u&partNumber=1",
            |c| c.multipart = None,
            &[("content-length", "1")],
            (403, "multipart_not_allowed"),
        ),
        (
            &[],
            "POST",
            "uploadId=u",
            |c| c.multipart = None,
            &[],
            (403, "multipart_not_allowed"),
        ),
        (
            &[],
            "DELETE",
            "uploadId=u",
            |c| c.multipart = None,
            &[],
            (403, "multipart_not_allowed"),
        ),
        (
            &[],
            "GET",
            "uploadId=u",
            |c| c.multipart = None,
            &[],
            (403, "multipart_not_allowed"),
        ),
        // `multipart` needs `max_size`, and is for put alone.
        (
            &[],
            "POST",
            "uploads",
            |c| c.max_size = None,
            &[],
            (401, "grant_malformed"),
        ),
        // A grant for another key, or another operation, allows nothing.
        (
            &[],
            "POST",
            "uploads",
            |c| c.key = Some("uploads/other.bin".into()),
            &[],
            (403, "grant_scope_mismatch"),
        ),
        (
            &[],
            "GET",
            "uploadId=u",
            |c| {
                c.op = "get".into();
                c.max_size = None;
                c.multipart = None;
            },
            &[],
            (403, "grant_scope_mismatch"),
        ),
        // A part needs a length, no larger than the part size or the upload's limit.
        (
            &[],
            "PUT",
            "uploadId=u&partNumber=1",
            keep,
            &[],
            (411, "length_required"),
        ),
        (
            &[],
            "PUT",
            "uploadId=u&partNumber=1",
            keep,
            &[("content-length", "94371841")],
            (413, "multipart_part_too_large"),
        ),
        (
            &[("MULTIPART_PART_MAX_MB", "5")],
            "PUT",
            "uploadId=u&partNumber=1",
            keep,
            &[("content-length", "5242881")],
            (413, "multipart_part_too_large"),
        ),
        (
            &[],
            "PUT",
            "uploadId=u&partNumber=1",
            |c| c.max_size = Some(10),
            &[("content-length", "11")],
            (413, "multipart_too_large"),
        ),
        (
            &[("MAX_UPLOAD_BYTES", "10")],
            "PUT",
            "uploadId=u&partNumber=1",
            keep,
            &[("content-length", "11")],
            (413, "multipart_too_large"),
        ),
        // The creation's Content-Type must be the grant's.
        (
            &[],
            "POST",
            "uploads",
            |c| c.content_type = Some("text/csv".into()),
            &[("content-type", "text/html")],
            (415, "content_type_mismatch"),
        ),
        // Queries that are no multipart call.
        (
            &[],
            "POST",
            "uploads=x",
            keep,
            &[],
            (400, "multipart_bad_query"),
        ),
        (
            &[],
            "PUT",
            "uploads",
            keep,
            &[],
            (400, "multipart_bad_query"),
        ),
        (
            &[],
            "PUT",
            "uploadId=u",
            keep,
            &[("content-length", "1")],
            (400, "multipart_bad_query"),
        ),
        (
            &[],
            "PUT",
            "uploadId=u&partNumber=0",
            keep,
            &[("content-length", "1")],
            (400, "multipart_bad_query"),
        ),
        (
            &[],
            "PUT",
            "uploadId=u&partNumber=10001",
            keep,
            &[("content-length", "1")],
            (400, "multipart_bad_query"),
        ),
        (
            &[],
            "PUT",
            "uploadId=u&partNumber=01",
            keep,
            &[("content-length", "1")],
            (400, "multipart_bad_query"),
        ),
        (
            &[],
            "PUT",
            "uploadId=u&partNumber=1&partNumber=2",
            keep,
            &[("content-length", "1")],
            (400, "multipart_bad_query"),
        ),
        (
            &[],
            "PUT",
            "uploadId=a%20b&partNumber=1",
            keep,
            &[("content-length", "1")],
            (400, "multipart_bad_query"),
        ),
        (
            &[],
            "PUT",
            "uploadId=&partNumber=1",
            keep,
            &[("content-length", "1")],
            (400, "multipart_bad_query"),
        ),
        (
            &[],
            "GET",
            "uploadId=u&uploads",
            keep,
            &[],
            (400, "multipart_bad_query"),
        ),
        (
            &[],
            "GET",
            "uploadId=u&x=1",
            keep,
            &[],
            (400, "multipart_bad_query"),
        ),
        (
            &[],
            "HEAD",
            "uploadId=u",
            keep,
            &[],
            (400, "multipart_bad_query"),
        ),
        (
            &[],
            "DELETE",
            "uploadId=u&partNumber=1",
            keep,
            &[],
            (400, "multipart_bad_query"),
        ),
    ];
    // Every case is run and every mismatch reported together.
    let wrong: Vec<String> = cases
        .iter()
        .filter_map(|(settings, method, query, edit, headers, want)| {
            let got = call(settings, method, query, edit, headers).map(|_| ());
            (got != Err(*want)).then(|| {
                format!("{method} ?{query} {settings:?} {headers:?}: {got:?}, not {want:?}")
            })
        })
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn a_plain_post_is_still_no_route_of_the_api() {
    let got = call(&[], "POST", "", |_| {}, &[]).map(|_| ());
    assert_eq!(got, Err((405, "method_not_allowed")));
}

#[test]
fn steps_are_read_from_method_and_query() {
    let id = UploadId::parse("u").unwrap();
    let get = http::Method::GET;
    assert_eq!(Step::from_query(&get, None), Ok(None));
    assert_eq!(Step::from_query(&get, Some("x=1")), Ok(None));
    assert_eq!(
        Step::from_query(&get, Some("uploadId=u")),
        Ok(Some(Step::ListParts { upload: id.clone() }))
    );
    assert_eq!(
        Step::from_query(&http::Method::PUT, Some("partNumber=10000&uploadId=u")),
        Ok(Some(Step::Part {
            upload: id,
            number: 10_000
        }))
    );
    assert!(UploadId::parse(&"a".repeat(1025)).is_none());
}

#[test]
fn a_completion_is_checked_and_written_as_s3_xml() {
    let ok =
        Completion::from_json(br#"{"parts":[{"part":1,"etag":"\"a<&\""},{"part":3,"etag":"b"}]}"#)
            .unwrap();
    assert_eq!(ok.numbers(), vec![1, 3]);
    assert_eq!(
        ok.to_xml(),
        r#"<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><PartNumber>1</PartNumber><ETag>&quot;a&lt;&amp;&quot;</ETag></Part><Part><PartNumber>3</PartNumber><ETag>b</ETag></Part></CompleteMultipartUpload>"#
    );
    let bad: &[&[u8]] = &[
        b"",
        b"[]",
        br#"{"parts":[]}"#,
        br#"{"parts":[{"part":2,"etag":"a"},{"part":1,"etag":"b"}]}"#,
        br#"{"parts":[{"part":1,"etag":"a"},{"part":1,"etag":"b"}]}"#,
        br#"{"parts":[{"part":0,"etag":"a"}]}"#,
        br#"{"parts":[{"part":10001,"etag":"a"}]}"#,
        br#"{"parts":[{"part":1,"etag":""}]}"#,
        br#"{"parts":[{"part":1,"etag":"a b"}]}"#,
        br#"{"parts":[{"part":1,"etag":"a","size":1}]}"#,
        br#"{"parts":[{"part":1,"etag":"a"}],"key":"x"}"#,
    ];
    for body in bad {
        assert_eq!(
            Completion::from_json(body)
                .map(|_| ())
                .map_err(s3_gatekeeper::multipart::MultipartError::code),
            Err("multipart_bad_completion"),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
    let huge = format!(
        r#"{{"parts":[{{"part":1,"etag":"{}"}}]}}"#,
        "a".repeat(1024 * 1024)
    );
    assert_eq!(
        Completion::from_json(huge.as_bytes())
            .map(|_| ())
            .map_err(s3_gatekeeper::multipart::MultipartError::code),
        Err("multipart_completion_too_large")
    );
}

/// With several signatures, every grant must allow parts; the upload is bound to the first grant
/// in the audit log's order, with the smallest `max_size` and the earliest expiry.
#[test]
fn with_several_signatures_every_grant_allows_parts_and_the_tightest_bounds_apply() {
    use s3_gatekeeper::grant::SigningKey;
    let vendor = support::vendor_key();
    let approver = SigningKey::from_seed([8; 32]).unwrap();
    let keys = format!(
        r#"[{{"public":"{}"}},{{"public":"{}"}}]"#,
        vendor.public_key(),
        approver.public_key()
    );
    let rule = format!(
        r#"[{{"operations":["put"],"prefix":"uploads/","signatures":2,"keys":["{}","{}"]}}]"#,
        approver.id(),
        vendor.id()
    );
    let settings = [("VENDOR_KEYS", keys.as_str()), ("MULTISIG", rule.as_str())];
    let gatekeeper = support::gatekeeper(&settings);
    let mint = |key: &SigningKey, jti: &str, ttl: i64, max_size: u64, multipart: bool| {
        let mut claims = support::claims("put", KEY, NOW, ttl);
        claims.jti = Some(jti.into());
        claims.max_size = Some(max_size);
        claims.multipart = multipart.then_some(true);
        key.mint(&claims).unwrap()
    };
    let decide = |tokens: &[String]| {
        let request = http::Request::post(format!("/objects/{KEY}?uploads"))
            .header("authorization", format!("Bearer {}", tokens.join(",")))
            .body(())
            .unwrap();
        let caller = Caller {
            ip: Some("198.51.100.7".parse().unwrap()),
            country: Some("US".parse().unwrap()),
        };
        gatekeeper.decide(&request, &caller, support::at(NOW))
    };
    let both = decide(&[
        mint(&vendor, "v-1", 300, 300 * MIB, true),
        mint(&approver, "a-1", 120, 200 * MIB, true),
    ]);
    let binding = both.multipart.expect("allowed").binding;
    assert_eq!(
        binding.key_id,
        approver.id(),
        "the rule's first key is named first"
    );
    assert_eq!(binding.jti, "a-1");
    assert_eq!(binding.max_bytes, 200 * MIB);
    assert_eq!(binding.expires_ms, (NOW + 120 + 60 + 1) * 1000 - 1);
    let one_without = decide(&[
        mint(&vendor, "v-2", 300, 300 * MIB, true),
        mint(&approver, "a-2", 120, 200 * MIB, false),
    ]);
    assert_eq!(
        one_without.outcome.map(|_| ()).map_err(|e| e.code()),
        Err("multipart_not_allowed")
    );
    assert!(one_without.multipart.is_none());
}

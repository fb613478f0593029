//! Query parameters S3 would honour on an object (`versionId`, `response-*`) are refused, not
//! silently dropped: the gatekeeper serves the current version with its stored headers, and a
//! caller asking for something else must not believe it got it.

// In tests a panic is the failure report, so unwrapping is the clearest way to fail.
#![allow(clippy::unwrap_used)]

mod support;

use s3_gatekeeper::acl::Caller;

const NOW: i64 = 1_800_000_000;

fn get(query: &str) -> Result<http::Request<()>, (u16, &'static str)> {
    let claims = support::claims("get", "reports/q3.csv", NOW, 60);
    let token = support::vendor_key().mint(&claims).unwrap();
    let request = http::Request::get(format!("/objects/reports/q3.csv{query}"))
        .header("authorization", format!("Bearer {token}"))
        .body(())
        .unwrap();
    let caller = Caller {
        ip: Some("198.51.100.7".parse().unwrap()),
        country: Some("US".parse().unwrap()),
    };
    support::gatekeeper(&[])
        .decide(&request, &caller, support::at(NOW))
        .outcome
        .map_err(|e| (e.status().as_u16(), e.code()))
}

#[test]
fn version_and_response_overrides_are_refused() {
    for query in [
        "?versionId=3HL4kqtJlcpXroDTDmJ",
        "?versionid=x",
        "?response-content-disposition=attachment%3B%20filename%3Dx.html",
        "?response-content-type=text/html",
        "?Response-Cache-Control=no-cache",
        "?x=1&versionId=2",
    ] {
        assert_eq!(
            get(query).err(),
            Some((400, "unsupported_parameter")),
            "{query}"
        );
    }
}

#[test]
fn other_query_strings_are_not_passed_to_s3() {
    for query in ["", "?", "?cache-buster=17", "?version=2"] {
        let sent = get(query).unwrap();
        assert_eq!(sent.uri().query(), None, "{query}");
        assert!(sent.uri().path().ends_with("/reports/q3.csv"), "{query}");
    }
}

//! The `filename` claim: which names a grant may carry, and the `Content-Disposition` each one
//! becomes (RFC 6266, with RFC 8187's `filename*` and a plain ASCII fallback). Table-driven, with
//! hostile names.

// In tests a panic is the failure report, so unwrapping is the clearest way to fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use s3_gatekeeper::acl::Caller;
use s3_gatekeeper::disposition::{self, Filename};
use s3_gatekeeper::grant::Claims;

const NOW: i64 = 1_800_000_000;

#[test]
fn names_become_an_attachment_with_a_utf8_name_and_an_ascii_fallback() {
    let cases = [
        (
            "q3.csv",
            r#"attachment; filename="q3.csv"; filename*=UTF-8''q3.csv"#,
        ),
        (
            "Q3 report (final).csv",
            r#"attachment; filename="Q3 report (final).csv"; filename*=UTF-8''Q3%20report%20%28final%29.csv"#,
        ),
        (
            "résumé.pdf",
            r#"attachment; filename="r_sum_.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf"#,
        ),
        (
            "報告.pdf",
            r#"attachment; filename="__.pdf"; filename*=UTF-8''%E5%A0%B1%E5%91%8A.pdf"#,
        ),
        // A quote would end the quoted fallback early; in the UTF-8 form it is encoded.
        (
            r#"say "hi".txt"#,
            r#"attachment; filename="say _hi_.txt"; filename*=UTF-8''say%20%22hi%22.txt"#,
        ),
        // `;` and `,` would start a new parameter or header value outside quotes.
        (
            "a;b,c=d.txt",
            r#"attachment; filename="a;b,c=d.txt"; filename*=UTF-8''a%3Bb%2Cc%3Dd.txt"#,
        ),
        // Some browsers percent-decode the plain `filename`: `%` stays out of it.
        (
            "100%25.txt",
            r#"attachment; filename="100_25.txt"; filename*=UTF-8''100%2525.txt"#,
        ),
        // A header injection attempt without control characters is just a name.
        (
            "x\"; filename=evil.exe",
            r#"attachment; filename="x_; filename=evil.exe"; filename*=UTF-8''x%22%3B%20filename%3Devil.exe"#,
        ),
        (
            "emoji 😀.png",
            r#"attachment; filename="emoji _.png"; filename*=UTF-8''emoji%20%F0%9F%98%80.png"#,
        ),
        (
            "a'b`c|d~e^f!g#h$i&j+k.txt",
            r#"attachment; filename="a'b`c|d~e^f!g#h$i&j+k.txt"; filename*=UTF-8''a%27b`c|d~e^f!g#h$i&j+k.txt"#,
        ),
        ("...", r#"attachment; filename="..."; filename*=UTF-8''..."#),
    ];
    for (name, want) in cases {
        let filename: Filename = name.parse().unwrap_or_else(|e| panic!("{name:?}: {e}"));
        assert_eq!(filename.as_str(), name);
        let header = filename.content_disposition();
        assert_eq!(header.to_str().unwrap(), want, "{name:?}");
    }
}

#[test]
fn hostile_names_are_refused() {
    let long = "a".repeat(256);
    let cases: Vec<(&str, String)> = vec![
        ("empty", String::new()),
        ("a path", "reports/q3.csv".into()),
        ("an absolute path", "/etc/passwd".into()),
        ("a Windows path", r"..\..\boot.ini".into()),
        ("a backslash", r"a\b.txt".into()),
        ("dot", ".".into()),
        ("dot dot", "..".into()),
        (
            "a newline (header splitting)",
            "a\r\nSet-Cookie: x=1".into(),
        ),
        ("a line feed", "a\nb".into()),
        ("a tab", "a\tb".into()),
        ("NUL", "a\0.txt".into()),
        ("DEL", "a\u{7f}.txt".into()),
        ("a C1 control", "a\u{85}.txt".into()),
        ("right-to-left override", "invoice\u{202e}fdp.exe".into()),
        ("left-to-right isolate", "a\u{2066}b".into()),
        ("right-to-left mark", "a\u{200f}.txt".into()),
        ("zero-width space", "a\u{200b}.txt".into()),
        ("byte order mark", "\u{feff}a.txt".into()),
        ("line separator", "a\u{2028}b".into()),
        ("too long", long),
    ];
    for (why, name) in cases {
        assert!(name.parse::<Filename>().is_err(), "{why}: {name:?}");
    }
    // 255 bytes is the most, counted in UTF-8.
    assert!("a".repeat(255).parse::<Filename>().is_ok());
    assert!("é".repeat(128).parse::<Filename>().is_err());
}

fn mint(op: &str, edit: impl FnOnce(&mut Claims)) -> String {
    let mut claims = support::claims(op, "reports/q3.csv", NOW - 5, 120);
    edit(&mut claims);
    support::vendor_key().mint(&claims).unwrap()
}

fn decide(
    gatekeeper: &s3_gatekeeper::Gatekeeper,
    method: &str,
    path: &str,
    token: &str,
) -> s3_gatekeeper::Decision {
    let request = http::Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-length", "1")
        .body(())
        .unwrap();
    let caller = Caller {
        ip: Some("198.51.100.7".parse().unwrap()),
        country: Some("US".parse().unwrap()),
    };
    gatekeeper.decide(&request, &caller, support::at(NOW))
}

#[test]
fn the_claim_is_for_reads_and_a_bad_one_refuses_the_grant() {
    let gatekeeper = support::gatekeeper(&[("DELETE_ENABLED", "true")]);
    let path = "/objects/reports/q3.csv";
    let named = |name: &str| {
        let name = name.to_owned();
        move |c: &mut Claims| c.filename = Some(name)
    };
    // A get or head grant with a good name: allowed, and the reply is an attachment.
    for (method, op) in [("GET", "get"), ("HEAD", "head")] {
        let decision = decide(&gatekeeper, method, path, &mint(op, named("Q3 résumé.csv")));
        assert!(decision.outcome.is_ok(), "{op}");
        let header = disposition::header(&decision.grants).unwrap();
        assert_eq!(
            header.to_str().unwrap(),
            r#"attachment; filename="Q3 r_sum_.csv"; filename*=UTF-8''Q3%20r%C3%A9sum%C3%A9.csv"#
        );
    }
    // Without the claim, no header of the gatekeeper's own.
    let plain = decide(&gatekeeper, "GET", path, &mint("get", |_| {}));
    assert!(plain.outcome.is_ok());
    assert_eq!(disposition::header(&plain.grants), None);
    // A hostile name makes the grant malformed: it is refused, not served under another name.
    for bad in ["a/b", "a\r\nb", "x\u{202e}gpj.exe", "", ".."] {
        let decision = decide(&gatekeeper, "GET", path, &mint("get", named(bad)));
        let err = decision.outcome.unwrap_err();
        assert_eq!(
            (err.status().as_u16(), err.code()),
            (401, "grant_malformed"),
            "{bad:?}"
        );
    }
    // The claim means nothing to a write or a listing, so there it is a mistake.
    for (method, op) in [("PUT", "put"), ("DELETE", "delete")] {
        let token = mint(op, |c| {
            c.jti = Some(format!("{op}-1"));
            c.filename = Some("q3.csv".into());
        });
        let err = decide(&gatekeeper, method, path, &token)
            .outcome
            .unwrap_err();
        assert_eq!(err.code(), "grant_malformed", "{op}");
    }
}

//! Every grant refusal, table-driven through the public API (`Gatekeeper::decide`), and the
//! byte-for-byte key rule over a corpus of awkward keys.

// In tests a panic is the failure report, so unwrapping is the clearest way to fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use s3_gatekeeper::acl::Caller;
use s3_gatekeeper::grant::{Claims, SigningKey, format_time, token};
use s3_gatekeeper::s3::encode_path;
use s3_gatekeeper::{Decision, Gatekeeper};

const NOW: i64 = 1_800_000_000;

fn caller() -> Caller {
    Caller {
        ip: Some("198.51.100.7".parse().unwrap()),
        country: Some("US".parse().unwrap()),
    }
}

fn decide(gatekeeper: &Gatekeeper, method: &str, path: &str, tokens: &[String]) -> Decision {
    let mut request = http::Request::builder().method(method).uri(path);
    if !tokens.is_empty() {
        request = request.header("authorization", format!("Bearer {}", tokens.join(", ")));
    }
    gatekeeper.decide(&request.body(()).unwrap(), &caller(), support::at(NOW))
}

fn code(decision: &Decision) -> Result<(), (u16, &'static str)> {
    match &decision.outcome {
        Ok(_) => Ok(()),
        Err(e) => Err((e.status().as_u16(), e.code())),
    }
}

fn claims(edit: impl FnOnce(&mut Claims)) -> Claims {
    let mut c = support::claims("get", "reports/q3.csv", NOW - 5, 300);
    edit(&mut c);
    c
}

fn mint(c: &Claims) -> String {
    support::vendor_key().mint(c).unwrap()
}

// One row per refusal: the table is long because the list of codes is, and reads best whole.
#[allow(clippy::too_many_lines)]
#[test]
fn each_refusal_has_its_code() {
    let other_key = SigningKey::from_seed([9; 32]).unwrap();
    let good = mint(&claims(|_| {}));
    let mut tampered = good.clone().into_bytes();
    tampered[30] = if tampered[30] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let footer = r#"{"kid":"k4.pid.nope"}"#;
    let unknown_kid = token::seal(
        &support::vendor_key(),
        br#"{"x":1}"#,
        footer.as_bytes(),
        b"",
    )
    .unwrap();
    let time = |t| format_time(t).unwrap();

    let cases: Vec<(&str, Vec<String>, u16, &str)> = vec![
        ("no grant", vec![], 401, "grant_missing"),
        ("five grants", vec![good.clone(); 5], 401, "grant_too_many"),
        (
            "too long",
            vec![format!("v4.public.{}", "A".repeat(5000))],
            401,
            "grant_too_long",
        ),
        (
            "wrong version",
            vec![good.replacen("v4.", "v3.", 1)],
            401,
            "grant_malformed",
        ),
        (
            "wrong purpose",
            vec![good.replacen(".public.", ".local.", 1)],
            401,
            "grant_malformed",
        ),
        (
            "extra segment",
            vec![format!("{good}.e30")],
            401,
            "grant_malformed",
        ),
        (
            "bad base64",
            vec![good.replacen('A', "*", 1)],
            401,
            "grant_malformed",
        ),
        (
            "no footer",
            vec![good.rsplit_once('.').unwrap().0.to_owned()],
            401,
            "grant_malformed",
        ),
        ("unknown key", vec![unknown_kid], 401, "grant_unknown_key"),
        (
            "another vendor's key",
            vec![other_key.mint(&claims(|_| {})).unwrap()],
            401,
            "grant_unknown_key",
        ),
        (
            "one byte changed",
            vec![tampered],
            401,
            "grant_bad_signature",
        ),
        (
            "claims not JSON of the shape",
            vec![mint(&claims(|c| c.op = "copy".into()))],
            401,
            "grant_malformed",
        ),
        (
            "another audience",
            vec![mint(&claims(|c| c.aud = "other".into()))],
            401,
            "grant_wrong_audience",
        ),
        (
            "expired",
            vec![mint(&claims(|c| c.exp = time(NOW - 61)))],
            401,
            "grant_expired",
        ),
        (
            "expired within skew",
            vec![mint(&claims(|c| c.exp = time(NOW - 59)))],
            0,
            "",
        ),
        (
            "not before",
            vec![mint(&claims(|c| c.nbf = Some(time(NOW + 61))))],
            401,
            "grant_not_yet_valid",
        ),
        (
            "issued in the future",
            vec![mint(&claims(|c| c.iat = Some(time(NOW + 120))))],
            401,
            "grant_not_yet_valid",
        ),
        (
            "lives too long",
            vec![mint(&claims(|c| c.exp = time(NOW + 901)))],
            401,
            "grant_lifetime_too_long",
        ),
        (
            "bad time",
            vec![mint(&claims(|c| c.exp = "tomorrow".into()))],
            401,
            "grant_malformed",
        ),
        (
            "another key",
            vec![mint(&claims(|c| c.key = Some("reports/q4.csv".into())))],
            403,
            "grant_scope_mismatch",
        ),
        (
            "another operation",
            vec![mint(&claims(|c| c.op = "head".into()))],
            403,
            "grant_scope_mismatch",
        ),
        (
            "bound to another network",
            vec![mint(&claims(|c| c.ip = Some("203.0.113.0/24".into())))],
            403,
            "grant_ip_mismatch",
        ),
        (
            "bound to this network",
            vec![mint(&claims(|c| c.ip = Some("198.51.100.0/24".into())))],
            0,
            "",
        ),
        (
            "same key twice",
            vec![good.clone(), good.clone()],
            403,
            "signatures_duplicate",
        ),
        ("good", vec![good], 0, ""),
    ];
    let gatekeeper = support::gatekeeper(&[]);
    for (name, tokens, status, code_want) in cases {
        let decision = decide(&gatekeeper, "GET", "/objects/reports/q3.csv", &tokens);
        let want = if status == 0 {
            Ok(())
        } else {
            Err((status, code_want))
        };
        assert_eq!(code(&decision), want, "{name}");
    }
}

#[test]
fn writes_need_a_jti() {
    let gatekeeper = support::gatekeeper(&[]);
    let put = mint(&support::claims("put", "reports/q3.csv", NOW, 60));
    let decision = decide(&gatekeeper, "PUT", "/objects/reports/q3.csv", &[put]);
    assert_eq!(code(&decision), Err((401, "grant_jti_required")));
}

#[test]
fn keys_are_limited_by_time_and_operation() {
    let key = support::vendor_key();
    let keys = |extra: &str| format!(r#"[{{"public":"{}",{extra}}}]"#, key.public_key());
    let token = vec![mint(&claims(|_| {}))];
    let cases = [
        (
            keys(r#""not_after":"2026-01-01T00:00:00Z""#),
            Err((401, "grant_key_expired")),
        ),
        (
            keys(r#""not_before":"2030-01-01T00:00:00Z""#),
            Err((401, "grant_key_expired")),
        ),
        (
            keys(r#""operations":["put"]"#),
            Err((403, "grant_key_not_trusted")),
        ),
        (
            keys(r#""operations":["get"],"not_before":"2026-01-01T00:00:00Z""#),
            Ok(()),
        ),
    ];
    for (vendor_keys, want) in cases {
        let gatekeeper = support::gatekeeper(&[("VENDOR_KEYS", &vendor_keys)]);
        assert_eq!(
            code(&decide(
                &gatekeeper,
                "GET",
                "/objects/reports/q3.csv",
                &token
            )),
            want,
            "{vendor_keys}"
        );
    }
}

#[test]
fn quorum_needs_distinct_trusted_keys() {
    let vendor = support::vendor_key();
    let approver = SigningKey::from_seed([2; 32]).unwrap();
    let stranger = SigningKey::from_seed([3; 32]).unwrap();
    let keys = format!(
        r#"[{{"public":"{}"}},{{"public":"{}"}},{{"public":"{}"}}]"#,
        vendor.public_key(),
        approver.public_key(),
        stranger.public_key()
    );
    let rule = format!(
        r#"[{{"operations":["get"],"prefix":"finance/","signatures":2,"keys":["{}","{}"]}}]"#,
        vendor.id(),
        approver.id()
    );
    let gatekeeper = support::gatekeeper(&[("VENDOR_KEYS", &keys), ("MULTISIG", &rule)]);
    let c = support::claims("get", "finance/ledger.csv", NOW, 60);
    let path = "/objects/finance/ledger.csv";
    let by = |k: &SigningKey| k.mint(&c).unwrap();

    assert_eq!(
        code(&decide(&gatekeeper, "GET", path, &[by(&vendor)])),
        Err((403, "signatures_insufficient"))
    );
    assert_eq!(
        code(&decide(
            &gatekeeper,
            "GET",
            path,
            &[by(&vendor), by(&stranger)]
        )),
        Err((403, "signatures_insufficient")),
        "a trusted key outside the quorum does not count"
    );
    let both = decide(&gatekeeper, "GET", path, &[by(&vendor), by(&approver)]);
    assert_eq!(code(&both), Ok(()));
    assert_eq!(both.grants.len(), 2);
    let outside = support::claims("get", "reports/q3.csv", NOW, 60);
    let one = vendor.mint(&outside).unwrap();
    assert_eq!(
        code(&decide(
            &gatekeeper,
            "GET",
            "/objects/reports/q3.csv",
            &[one]
        )),
        Ok(()),
        "outside the prefix"
    );
    let mismatched = approver
        .mint(&support::claims("get", "finance/other.csv", NOW, 60))
        .unwrap();
    assert_eq!(
        code(&decide(
            &gatekeeper,
            "GET",
            path,
            &[by(&vendor), mismatched]
        )),
        Err((403, "grant_scope_mismatch")),
        "every grant must name the same operation and key"
    );
}

/// Keys that URL handling, Unicode or S3 tooling commonly rewrite. For each, a grant for the key
/// and the key's canonical URL must be allowed and sign exactly that key; and every other way of
/// writing it in a URL that decodes to different bytes must be refused.
#[test]
fn awkward_keys_are_compared_byte_for_byte() {
    let corpus = [
        "a/.../b.csv",
        "a/.b/..c",
        "a//b.csv",
        "a/b/",
        "a%2Fb.csv",
        "a+b c.csv",
        "caf\u{e9}.csv",
        "cafe\u{301}.csv",
        "\u{ff21}.csv",
        "...",
        "~user/$file;1,x=y&z.csv",
        "quote'\"<>.csv",
    ];
    let gatekeeper = support::gatekeeper(&[]);
    for key in corpus {
        let token = mint(&support::claims("get", key, NOW, 60));
        let mut path = String::from("/objects/");
        encode_path(key, &mut path);
        let decision = decide(&gatekeeper, "GET", &path, std::slice::from_ref(&token));
        let signed = decision.outcome.unwrap_or_else(|e| panic!("{key:?}: {e}"));
        let mut want = String::from("/");
        encode_path(key, &mut want);
        assert_eq!(
            signed.uri().path(),
            want,
            "{key:?}: signed exactly as named"
        );

        for other in [
            key.replace('/', "%2F"),
            key.replace("%2F", "/"),
            key.nfc_swap(),
            format!("{key}/"),
        ] {
            if other == key {
                continue;
            }
            let mut path = String::from("/objects/");
            encode_path(&other, &mut path);
            let decision = decide(&gatekeeper, "GET", &path, std::slice::from_ref(&token));
            assert_eq!(
                code(&decision),
                Err((403, "grant_scope_mismatch")),
                "{key:?} as {other:?}"
            );
        }
    }
}

trait NfcSwap {
    fn nfc_swap(&self) -> String;
}

impl NfcSwap for str {
    /// The other Unicode normalisation form of `é`, the one letter the corpus uses for it.
    fn nfc_swap(&self) -> String {
        if self.contains('\u{e9}') {
            self.replace('\u{e9}', "e\u{301}")
        } else {
            self.replace("e\u{301}", "\u{e9}")
        }
    }
}

/// Keys with `.` or `..` segments cannot travel in a URL (every parser resolves them, encoded or
/// not), so they are refused clearly, in the URL and in grants, instead of failing at S3.
#[test]
fn dot_segments_are_refused() {
    let gatekeeper = support::gatekeeper(&[]);
    for key in ["a/../b.csv", "a/./b.csv", "..", "a/.."] {
        let token = mint(&support::claims("get", key, NOW, 60));
        let decision = decide(
            &gatekeeper,
            "GET",
            "/objects/a%2F..%2Fb.csv",
            std::slice::from_ref(&token),
        );
        assert_eq!(code(&decision), Err((400, "bad_key")), "{key:?} in the URL");
        let decision = decide(&gatekeeper, "GET", "/objects/a/b.csv", &[token]);
        assert_eq!(
            code(&decision),
            Err((401, "grant_malformed")),
            "{key:?} in the grant"
        );
    }
}

//! Every grant refusal, table-driven through the public API (`Gatekeeper::decide`), and the
//! byte-for-byte key rule over a corpus of awkward keys.

// In tests a panic is the failure report, so unwrapping is the clearest way to fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use s3_gatekeeper::acl::Caller;
use s3_gatekeeper::audit::{AuditRecord, INSERT_SQL, SqlValue};
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
    // The footer must be exactly `{"kid": …}`: a field the gatekeeper does not read (PASERK's
    // `wpk`, say) would be signed but ignored, which docs/grants.md rules out.
    let vendor = support::vendor_key();
    let extra_footer = format!(r#"{{"kid":"{}","wpk":"k4.local-wrap.x"}}"#, vendor.id());
    let with_extra_footer = token::seal(
        &vendor,
        serde_json::to_string(&claims(|_| {})).unwrap().as_bytes(),
        extra_footer.as_bytes(),
        b"",
    )
    .unwrap();
    let time = |t| format_time(t).unwrap();

    let cases: Vec<(&str, Vec<String>, u16, &str)> = vec![
        ("no grant", vec![], 401, "grant_missing"),
        (
            "a footer with a field besides kid",
            vec![with_extra_footer],
            401,
            "grant_malformed",
        ),
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

fn decide_as(
    gatekeeper: &Gatekeeper,
    caller: &Caller,
    request: http::request::Builder,
) -> Decision {
    gatekeeper.decide(&request.body(()).unwrap(), caller, support::at(NOW))
}

fn list_claims(prefix: &str) -> Claims {
    let mut c = support::claims("list", "", NOW, 60);
    c.key = None;
    c.prefix = Some(prefix.into());
    c
}

fn list_path(prefix: &str) -> String {
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("prefix", prefix)
        .finish();
    format!("/objects?{query}")
}

/// A vendor key, an approver key and a third trusted key, with `rules` as `MULTISIG`.
fn multisig(rules: &str) -> (Gatekeeper, [SigningKey; 3]) {
    let signers = [
        support::vendor_key(),
        SigningKey::from_seed([2; 32]).unwrap(),
        SigningKey::from_seed([3; 32]).unwrap(),
    ];
    let keys = format!(
        r#"[{{"public":"{}"}},{{"public":"{}"}},{{"public":"{}"}}]"#,
        signers[0].public_key(),
        signers[1].public_key(),
        signers[2].public_key()
    );
    let rules = rules
        .replace("VENDOR", signers[0].id())
        .replace("APPROVER", signers[1].id())
        .replace("THIRD", signers[2].id());
    let gatekeeper = support::gatekeeper(&[("VENDOR_KEYS", &keys), ("MULTISIG", &rules)]);
    (gatekeeper, signers)
}

/// A listing returns every key that starts with its prefix, so a rule on `finance/` must cover
/// any listing whose prefix overlaps it: `""`, `f` and `finance` all return `finance/…` keys.
#[test]
fn a_list_rule_covers_every_listing_that_can_return_its_keys() {
    let (gatekeeper, [vendor, approver, _]) = multisig(
        r#"[{"operations":["list"],"prefix":"finance/","signatures":2,"keys":["VENDOR","APPROVER"]}]"#,
    );
    let cases = [
        ("", Err((403, "signatures_insufficient"))),
        ("f", Err((403, "signatures_insufficient"))),
        ("finance", Err((403, "signatures_insufficient"))),
        ("finance/", Err((403, "signatures_insufficient"))),
        ("finance/2026/", Err((403, "signatures_insufficient"))),
        ("fo", Ok(())),
        ("financial", Ok(())),
        ("reports/", Ok(())),
    ];
    for (prefix, want) in cases {
        let token = vendor.mint(&list_claims(prefix)).unwrap();
        let decision = decide(
            &gatekeeper,
            "GET",
            &list_path(prefix),
            std::slice::from_ref(&token),
        );
        assert_eq!(code(&decision), want, "one signature listing {prefix:?}");
        let second = approver.mint(&list_claims(prefix)).unwrap();
        let decision = decide(&gatekeeper, "GET", &list_path(prefix), &[token, second]);
        assert_eq!(code(&decision), Ok(()), "two signatures listing {prefix:?}");
    }
}

/// A grant whose signature verified is kept in the decision, and its signer and user go to the
/// audit row, even when the request is then refused; a grant whose signature did not verify
/// names no one.
// One row per refusal: the table reads best whole.
#[allow(clippy::too_many_lines)]
#[test]
fn refused_but_genuine_grants_are_recorded_as_their_signers() {
    let (gatekeeper, [vendor, _, _]) = multisig(
        r#"[{"operations":["get"],"prefix":"finance/","signatures":2,"keys":["VENDOR","APPROVER"]}]"#,
    );
    let time = |t| format_time(t).unwrap();
    let good = claims(|c| c.jti = Some("j-1".into()));
    let by_vendor = |edit: &dyn Fn(&mut Claims)| {
        let mut c = good.clone();
        edit(&mut c);
        vendor.mint(&c).unwrap()
    };
    let mut tampered = by_vendor(&|_| {}).into_bytes();
    tampered[30] = if tampered[30] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let stranger = SigningKey::from_seed([9; 32]).unwrap();
    let finance = |k: &SigningKey| {
        let mut c = support::claims("get", "finance/ledger.csv", NOW, 60);
        c.jti = Some("j-1".into());
        k.mint(&c).unwrap()
    };
    let path = "/objects/reports/q3.csv";
    let cases: Vec<(&str, &str, Vec<String>, &str, bool)> = vec![
        (
            "ip mismatch",
            path,
            vec![by_vendor(&|c| c.ip = Some("203.0.113.0/24".into()))],
            "grant_ip_mismatch",
            true,
        ),
        (
            "scope mismatch",
            "/objects/reports/q4.csv",
            vec![by_vendor(&|_| {})],
            "grant_scope_mismatch",
            true,
        ),
        (
            "expired",
            path,
            vec![by_vendor(&|c| c.exp = time(NOW - 61))],
            "grant_expired",
            true,
        ),
        (
            "wrong audience",
            path,
            vec![by_vendor(&|c| c.aud = "other".into())],
            "grant_wrong_audience",
            true,
        ),
        (
            "not yet valid",
            path,
            vec![by_vendor(&|c| c.nbf = Some(time(NOW + 120)))],
            "grant_not_yet_valid",
            true,
        ),
        (
            "signatures insufficient",
            "/objects/finance/ledger.csv",
            vec![finance(&vendor)],
            "signatures_insufficient",
            true,
        ),
        (
            "a genuine grant beside a forged one",
            path,
            vec![tampered.clone(), by_vendor(&|_| {})],
            "grant_bad_signature",
            true,
        ),
        ("forged", path, vec![tampered], "grant_bad_signature", false),
        (
            "unknown key",
            path,
            vec![stranger.mint(&good).unwrap()],
            "grant_unknown_key",
            false,
        ),
        (
            "too many to look at",
            path,
            vec![by_vendor(&|_| {}); 5],
            "grant_too_many",
            false,
        ),
    ];
    for (name, path, tokens, want, genuine) in cases {
        let decision = decide(&gatekeeper, "GET", path, &tokens);
        assert_eq!(code(&decision).unwrap_err().1, want, "{name}");
        assert_eq!(!decision.grants.is_empty(), genuine, "{name}: grants kept");
        let mut record = AuditRecord::default();
        record.describe(decision.intent.as_ref(), &decision.grants);
        if genuine {
            assert_eq!(record.key_id.as_deref(), Some(vendor.id()), "{name}");
            assert_eq!(record.sub.as_deref(), Some("user-1"), "{name}");
            assert_eq!(record.jti.as_deref(), Some("j-1"), "{name}");
        } else {
            assert_eq!(
                (record.key_id, record.sub, record.jti),
                (None, None, None),
                "{name}"
            );
        }
    }
}

/// A refusal whose grant is genuine escapes the audit log's flood bound only while that grant
/// could still be accepted: someone who kept an expired grant, or holds one minted with a
/// lifetime the gatekeeper never accepts, must not gain a way to write rows without limit.
#[test]
fn only_grants_that_could_still_be_accepted_vouch_for_a_refusal() {
    let (gatekeeper, [vendor, _, _]) = multisig("[]");
    let time = |t| format_time(t).unwrap();
    let by_vendor = |edit: &dyn Fn(&mut Claims)| {
        let mut c = claims(|c| c.jti = Some("j-1".into()));
        edit(&mut c);
        vendor.mint(&c).unwrap()
    };
    let path = "/objects/reports/q3.csv";
    let cases: Vec<(&str, &str, String, bool)> = vec![
        ("allowed", path, by_vendor(&|_| {}), true),
        (
            "scope mismatch",
            "/objects/reports/q4.csv",
            by_vendor(&|_| {}),
            true,
        ),
        (
            "ip mismatch",
            path,
            by_vendor(&|c| c.ip = Some("203.0.113.0/24".into())),
            true,
        ),
        (
            "not yet valid",
            path,
            by_vendor(&|c| c.nbf = Some(time(NOW + 120))),
            true,
        ),
        (
            "expired",
            path,
            by_vendor(&|c| c.exp = time(NOW - 61)),
            false,
        ),
        (
            "lifetime beyond any the gatekeeper accepts",
            path,
            by_vendor(&|c| {
                c.iat = None;
                c.exp = time(NOW + 86_400 * 365);
            }),
            false,
        ),
    ];
    for (name, path, token, current) in cases {
        let decision = decide(&gatekeeper, "GET", path, &[token]);
        assert!(!decision.grants.is_empty(), "{name}: the grant is genuine");
        assert_eq!(decision.current_signature, current, "{name}");
    }
}

/// The value the audit INSERT binds to `column`.
fn column(record: &AuditRecord, column: &str) -> SqlValue {
    let names = INSERT_SQL
        .split_once('(')
        .and_then(|(_, rest)| rest.split_once(')'))
        .unwrap()
        .0;
    let at = names
        .split(", ")
        .position(|name| name == column)
        .unwrap_or_else(|| panic!("the audit log has no column {column}"));
    record.params().swap_remove(at)
}

/// Who is recorded for a multi-signature request does not depend on the order the caller put
/// the grants in: the first signer is the first of the rule's `keys`, and every signer's key,
/// user and grant id are recorded, in that order.
#[test]
fn signers_are_recorded_in_the_rules_order_whatever_the_callers() {
    let (gatekeeper, [vendor, approver, third]) = multisig(
        r#"[{"operations":["get"],"prefix":"finance/","signatures":2,"keys":["APPROVER","VENDOR"]}]"#,
    );
    let grant = |k: &SigningKey, sub: &str| {
        let mut c = support::claims("get", "finance/ledger.csv", NOW, 60);
        c.sub = sub.into();
        c.jti = Some(format!("{sub}-jti"));
        k.mint(&c).unwrap()
    };
    let (v, a, t) = (
        grant(&vendor, "alice"),
        grant(&approver, "bob"),
        grant(&third, "carol"),
    );
    let want = serde_json::json!([
        {"key_id": approver.id(), "sub": "bob", "jti": "bob-jti"},
        {"key_id": vendor.id(), "sub": "alice", "jti": "alice-jti"},
        {"key_id": third.id(), "sub": "carol", "jti": "carol-jti"},
    ]);
    for order in [
        [v.clone(), a.clone(), t.clone()],
        [t.clone(), v.clone(), a.clone()],
        [a.clone(), t.clone(), v.clone()],
    ] {
        let decision = decide(&gatekeeper, "GET", "/objects/finance/ledger.csv", &order);
        assert_eq!(code(&decision), Ok(()));
        let mut record = AuditRecord::default();
        record.describe(decision.intent.as_ref(), &decision.grants);
        assert_eq!(record.key_id.as_deref(), Some(approver.id()));
        assert_eq!(record.sub.as_deref(), Some("bob"));
        assert_eq!(record.jti.as_deref(), Some("bob-jti"));
        let SqlValue::Text(signers) = column(&record, "signers") else {
            panic!("signers is text");
        };
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&signers).unwrap(),
            want
        );
    }
}

/// A request that one grant alone vouched for stores `signers` as `ONE_SIGNER`: the row's own
/// `key_id`, `sub` and `jti` are that grant, and `audit_readable` gives the array back.
#[test]
fn one_signer_is_not_repeated_in_signers() {
    let (gatekeeper, [vendor, _, _]) = multisig("[]");
    let mut c = support::claims("get", "reports/q3.csv", NOW, 60);
    c.jti = Some("j-1".into());
    let decision = decide(
        &gatekeeper,
        "GET",
        "/objects/reports/q3.csv",
        &[vendor.mint(&c).unwrap()],
    );
    assert_eq!(code(&decision), Ok(()));
    let mut record = AuditRecord::default();
    record.describe(decision.intent.as_ref(), &decision.grants);
    assert_eq!(record.key_id.as_deref(), Some(vendor.id()));
    assert_eq!(record.sub.as_deref(), Some("user-1"));
    assert_eq!(record.jti.as_deref(), Some("j-1"));
    assert_eq!(
        column(&record, "signers"),
        SqlValue::Text(s3_gatekeeper::audit::ONE_SIGNER.into())
    );
    // No grant, no signer.
    let mut none = AuditRecord::default();
    none.describe(decision.intent.as_ref(), &[]);
    assert_eq!(column(&none, "signers"), SqlValue::Null);
}

/// `same_sub` makes a rule require every grant to name the same user.
#[test]
fn a_rule_can_require_one_user_across_its_grants() {
    let rule = |same: &str| {
        format!(
            r#"[{{"operations":["get"],"prefix":"finance/","signatures":2,"keys":["VENDOR","APPROVER"]{same}}}]"#
        )
    };
    let grant = |k: &SigningKey, key: &str, sub: &str| {
        let mut c = support::claims("get", key, NOW, 60);
        c.sub = sub.into();
        k.mint(&c).unwrap()
    };
    let cases = [
        (
            rule(r#","same_sub":true"#),
            "alice",
            "bob",
            Err((403, "signatures_sub_mismatch")),
        ),
        (rule(r#","same_sub":true"#), "alice", "alice", Ok(())),
        (rule(r#","same_sub":false"#), "alice", "bob", Ok(())),
        (rule(""), "alice", "bob", Ok(())),
    ];
    for (rules, first, second, want) in cases {
        let (gatekeeper, [vendor, approver, _]) = multisig(&rules);
        let key = "finance/ledger.csv";
        let tokens = [grant(&vendor, key, first), grant(&approver, key, second)];
        let decision = decide(&gatekeeper, "GET", "/objects/finance/ledger.csv", &tokens);
        assert_eq!(code(&decision), want, "{rules} {first} {second}");
        let outside = [
            grant(&vendor, "reports/q3.csv", first),
            grant(&approver, "reports/q3.csv", second),
        ];
        let decision = decide(&gatekeeper, "GET", "/objects/reports/q3.csv", &outside);
        assert_eq!(code(&decision), Ok(()), "outside the rule: {rules}");
    }
}

/// A claim-shape case: name, claims, method, path, and the outcome wanted.
type ClaimCase<'a> = (
    &'a str,
    Claims,
    &'a str,
    &'a str,
    Result<(), (u16, &'a str)>,
);

/// Every claim the documentation calls required must be non-empty; a listing's `prefix` may be
/// empty, for the whole bucket.
#[test]
fn required_claims_may_not_be_empty() {
    let gatekeeper = support::gatekeeper(&[]);
    let path = "/objects/reports/q3.csv";
    let cases: Vec<ClaimCase> = vec![
        (
            "empty sub",
            claims(|c| c.sub = String::new()),
            "GET",
            path,
            Err((401, "grant_malformed")),
        ),
        (
            "empty aud",
            claims(|c| c.aud = String::new()),
            "GET",
            path,
            Err((401, "grant_malformed")),
        ),
        (
            "empty op",
            claims(|c| c.op = String::new()),
            "GET",
            path,
            Err((401, "grant_malformed")),
        ),
        (
            "empty exp",
            claims(|c| c.exp = String::new()),
            "GET",
            path,
            Err((401, "grant_malformed")),
        ),
        (
            "empty key",
            claims(|c| c.key = Some(String::new())),
            "GET",
            path,
            Err((401, "grant_malformed")),
        ),
        (
            "empty jti on a read",
            claims(|c| c.jti = Some(String::new())),
            "GET",
            path,
            Err((401, "grant_malformed")),
        ),
        (
            "empty jti on a write",
            {
                let mut c = support::claims("put", "reports/q3.csv", NOW, 60);
                c.jti = Some(String::new());
                c
            },
            "PUT",
            path,
            Err((401, "grant_jti_required")),
        ),
        (
            "empty content_type",
            {
                let mut c = support::claims("put", "reports/q3.csv", NOW, 60);
                c.jti = Some("j".into());
                c.content_type = Some(String::new());
                c
            },
            "PUT",
            path,
            Err((401, "grant_malformed")),
        ),
        (
            "empty prefix: the whole bucket",
            list_claims(""),
            "GET",
            "/objects?prefix=",
            Ok(()),
        ),
        ("well formed", claims(|_| {}), "GET", path, Ok(())),
    ];
    for (name, c, method, path, want) in cases {
        let request = http::Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {}", mint(&c)))
            .header("content-length", "1");
        assert_eq!(
            code(&decide_as(&gatekeeper, &caller(), request)),
            want,
            "{name}"
        );
    }
}

/// The grant's `ip` and the ACL see an IPv4 caller the same way, whether it arrives as IPv4 or
/// as IPv4-mapped IPv6, and a block written either way means the same addresses.
#[test]
fn ipv4_mapped_callers_meet_the_grants_ipv4_block() {
    let gatekeeper = support::gatekeeper(&[]);
    let cases = [
        ("198.51.100.0/24", "::ffff:198.51.100.7", Ok(())),
        ("198.51.100.0/24", "198.51.100.7", Ok(())),
        ("::ffff:198.51.100.0/120", "198.51.100.7", Ok(())),
        ("::ffff:198.51.100.0/120", "::ffff:198.51.100.7", Ok(())),
        (
            "203.0.113.0/24",
            "::ffff:198.51.100.7",
            Err((403, "grant_ip_mismatch")),
        ),
        (
            "::ffff:203.0.113.0/120",
            "198.51.100.7",
            Err((403, "grant_ip_mismatch")),
        ),
    ];
    for (block, ip, want) in cases {
        let token = mint(&claims(|c| c.ip = Some(block.into())));
        let who = Caller {
            ip: Some(ip.parse().unwrap()),
            country: Some("US".parse().unwrap()),
        };
        let request = http::Request::get("/objects/reports/q3.csv")
            .header("authorization", format!("Bearer {token}"));
        assert_eq!(
            code(&decide_as(&gatekeeper, &who, request)),
            want,
            "{block} from {ip}"
        );
    }
}

/// The `Authorization` scheme name is case-insensitive (RFC 7235), and any other scheme carries
/// no grant.
#[test]
fn the_bearer_scheme_is_case_insensitive() {
    let gatekeeper = support::gatekeeper(&[]);
    let token = mint(&claims(|_| {}));
    let cases = [
        (format!("Bearer {token}"), Ok(())),
        (format!("bearer {token}"), Ok(())),
        (format!("BEARER {token}"), Ok(())),
        (format!("bEaReR   {token}"), Ok(())),
        (format!("Basic {token}"), Err((401, "grant_missing"))),
        (format!("Bearer{token}"), Err((401, "grant_missing"))),
        (format!("Bearers {token}"), Err((401, "grant_missing"))),
    ];
    for (header, want) in cases {
        let request =
            http::Request::get("/objects/reports/q3.csv").header("authorization", &header);
        assert_eq!(
            code(&decide_as(&gatekeeper, &caller(), request)),
            want,
            "{}",
            &header[..header.len().min(12)]
        );
    }
}

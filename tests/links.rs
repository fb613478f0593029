//! Grants in the URL (`/objects/{key}?grant=…`): off unless the customer switches them on, only
//! for reads, never together with a header grant, with their own shorter lifetime, and never
//! passed on to S3. Table-driven through the public API (`Config`, `Gatekeeper::decide`).

// In tests a panic is the failure report, so unwrapping is the clearest way to fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use s3_gatekeeper::acl::Caller;
use s3_gatekeeper::grant::Claims;
use s3_gatekeeper::{Config, Decision, Gatekeeper};

const NOW: i64 = 1_800_000_000;
const KEY: &str = "reports/q3.csv";
const ON: [(&str, &str); 1] = [("GRANT_IN_QUERY", "on")];

fn caller() -> Caller {
    Caller {
        ip: Some("198.51.100.7".parse().unwrap()),
        country: Some("US".parse().unwrap()),
    }
}

fn mint(op: &str, key: &str, edit: impl FnOnce(&mut Claims)) -> String {
    let mut claims = support::claims(op, key, NOW - 5, 120);
    edit(&mut claims);
    support::vendor_key().mint(&claims).unwrap()
}

/// A request with `header` grants in `Authorization` (if any) to `path`.
fn decide(gatekeeper: &Gatekeeper, method: &str, path: &str, header: Option<&str>) -> Decision {
    let mut request = http::Request::builder().method(method).uri(path);
    if let Some(token) = header {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    if method == "PUT" {
        request = request.header("content-length", "3");
    }
    gatekeeper.decide(&request.body(()).unwrap(), &caller(), support::at(NOW))
}

/// A decision's outcome as its status and code.
type Outcome = Result<(), (u16, &'static str)>;

fn outcome(decision: &Decision) -> Outcome {
    match &decision.outcome {
        Ok(_) => Ok(()),
        Err(e) => Err((e.status().as_u16(), e.code())),
    }
}

fn link(key: &str, token: &str) -> String {
    format!("/objects/{key}?grant={token}")
}

#[test]
fn grants_in_the_url_are_refused_unless_switched_on() {
    let get = mint("get", KEY, |_| {});
    let head = mint("head", KEY, |_| {});
    for (name, settings) in [("unset", vec![]), ("off", vec![("GRANT_IN_QUERY", "off")])] {
        let gatekeeper = support::gatekeeper(&settings);
        let twice = format!("/objects/{KEY}?grant={get}&grant={get}");
        let empty = format!("/objects/{KEY}?grant=");
        for (method, path, header) in [
            ("GET", link(KEY, &get), None),
            ("HEAD", link(KEY, &head), None),
            ("GET", twice, None),
            ("GET", empty.clone(), None),
            ("GET", empty, Some(get.as_str())),
            ("GET", link(KEY, &get), Some(get.as_str())),
        ] {
            let decision = decide(&gatekeeper, method, &path, header);
            assert_eq!(
                outcome(&decision),
                Err((403, "grant_in_url_disabled")),
                "{name}: {method} {path}"
            );
            assert!(decision.grants.is_empty(), "{name}: no grant is opened");
        }
        // The header still works.
        let header = decide(&gatekeeper, "GET", &format!("/objects/{KEY}"), Some(&get));
        assert_eq!(outcome(&header), Ok(()), "{name}");
    }
}

#[test]
fn a_grant_in_the_url_is_for_reads_only_and_never_with_a_header_grant() {
    let gatekeeper = support::gatekeeper(&[("GRANT_IN_QUERY", "on"), ("DELETE_ENABLED", "true")]);
    let get = mint("get", KEY, |_| {});
    let head = mint("head", KEY, |_| {});
    let put = mint("put", "up/x", |c| c.jti = Some("j1".into()));
    let delete = mint("delete", "up/x", |c| c.jti = Some("j2".into()));
    let list = mint("list", "", |c| {
        c.key = None;
        c.prefix = Some("reports/".into());
    });
    let cases: Vec<(&str, &str, String, Option<&str>, Outcome)> = vec![
        ("get", "GET", link(KEY, &get), None, Ok(())),
        ("head", "HEAD", link(KEY, &head), None, Ok(())),
        (
            "another parameter before it",
            "GET",
            format!("/objects/{KEY}?x=1&grant={get}"),
            None,
            Ok(()),
        ),
        (
            "put",
            "PUT",
            link("up/x", &put),
            None,
            Err((400, "grant_in_url_not_allowed")),
        ),
        (
            "delete",
            "DELETE",
            link("up/x", &delete),
            None,
            Err((400, "grant_in_url_not_allowed")),
        ),
        (
            "list",
            "GET",
            format!("/objects?prefix=reports/&grant={list}"),
            None,
            Err((400, "grant_in_url_not_allowed")),
        ),
        (
            "header and URL, the same grant",
            "GET",
            link(KEY, &get),
            Some(&get),
            Err((400, "grant_ambiguous")),
        ),
        (
            "header and an empty URL grant",
            "GET",
            format!("/objects/{KEY}?grant="),
            Some(&get),
            Err((400, "grant_ambiguous")),
        ),
        (
            "two grant parameters",
            "GET",
            format!("/objects/{KEY}?grant={get}&grant={get}"),
            None,
            Err((400, "grant_ambiguous")),
        ),
        (
            "an empty grant parameter",
            "GET",
            format!("/objects/{KEY}?grant="),
            None,
            Err((401, "grant_missing")),
        ),
        (
            "a grant for another key",
            "GET",
            link("reports/q4.csv", &get),
            None,
            Err((403, "grant_scope_mismatch")),
        ),
        (
            "a head grant used to get",
            "GET",
            link(KEY, &head),
            None,
            Err((403, "grant_scope_mismatch")),
        ),
    ];
    for (name, method, path, header, want) in cases {
        let decision = decide(&gatekeeper, method, &path, header);
        assert_eq!(outcome(&decision), want, "{name}");
    }
}

#[test]
fn a_grant_in_the_url_has_its_own_shorter_lifetime() {
    let default = support::gatekeeper(&ON);
    let one_minute = support::gatekeeper(&[
        ("GRANT_IN_QUERY", "on"),
        ("GRANT_IN_QUERY_MAX_LIFETIME_SECONDS", "60"),
    ]);
    let lived = |iat: Option<i64>, exp: i64| {
        mint("get", KEY, |c| {
            c.iat = iat.map(|t| s3_gatekeeper::grant::format_time(t).unwrap());
            c.exp = s3_gatekeeper::grant::format_time(exp).unwrap();
        })
    };
    let too_long = Err((401, "grant_lifetime_too_long"));
    let cases: Vec<(&str, &Gatekeeper, String, Outcome)> = vec![
        (
            "5 minutes exactly",
            &default,
            lived(Some(NOW - 10), NOW + 290),
            Ok(()),
        ),
        (
            "a second over 5 minutes",
            &default,
            lived(Some(NOW - 10), NOW + 291),
            too_long,
        ),
        (
            "15 minutes, fine in a header",
            &default,
            lived(Some(NOW), NOW + 900),
            too_long,
        ),
        ("no iat: from now", &default, lived(None, NOW + 300), Ok(())),
        (
            "no iat: a second over",
            &default,
            lived(None, NOW + 301),
            too_long,
        ),
        (
            "60 s configured",
            &one_minute,
            lived(Some(NOW), NOW + 60),
            Ok(()),
        ),
        (
            "61 s configured",
            &one_minute,
            lived(Some(NOW), NOW + 61),
            too_long,
        ),
        (
            "expired",
            &default,
            lived(Some(NOW - 400), NOW - 200),
            Err((401, "grant_expired")),
        ),
    ];
    for (name, gatekeeper, token, want) in cases {
        let decision = decide(gatekeeper, "GET", &link(KEY, &token), None);
        assert_eq!(outcome(&decision), want, "{name}");
    }
    // The same 15-minute grant in the header is accepted: the shorter limit is the URL's only.
    let long = lived(Some(NOW), NOW + 900);
    let header = decide(&default, "GET", &format!("/objects/{KEY}"), Some(&long));
    assert_eq!(outcome(&header), Ok(()));
}

#[test]
fn the_grant_never_reaches_s3_nor_an_error() {
    let gatekeeper = support::gatekeeper(&ON);
    let token = mint("get", KEY, |_| {});
    let decision = decide(&gatekeeper, "GET", &link(KEY, &token), None);
    let signed = decision.outcome.as_ref().unwrap();
    assert_eq!(signed.uri().query(), None, "the query is not passed on");
    assert!(!signed.uri().to_string().contains(&token));
    for (name, value) in signed.headers() {
        let value = value.to_str().unwrap();
        assert!(!value.contains(&token), "{name}");
        assert!(!value.contains("grant"), "{name}: {value}");
    }
    // No refusal echoes the token it refused.
    let expired = mint("get", KEY, |c| {
        c.iat = s3_gatekeeper::grant::format_time(NOW - 400);
        c.exp = s3_gatekeeper::grant::format_time(NOW - 200).unwrap();
    });
    let refusals = [
        decide(&support::gatekeeper(&[]), "GET", &link(KEY, &token), None),
        decide(&gatekeeper, "GET", &link(KEY, &token), Some(&token)),
        decide(&gatekeeper, "GET", &link(KEY, &expired), None),
        decide(&gatekeeper, "GET", &link(KEY, &format!("{token}x")), None),
    ];
    // The signed payload of each token (its third segment), as any part of it would show.
    let payloads: Vec<&str> = [&token, &expired]
        .iter()
        .map(|t| &t.split('.').nth(2).unwrap()[..16])
        .collect();
    for decision in refusals {
        let err = decision.outcome.unwrap_err();
        for shown in [err.to_json(), err.to_string()] {
            assert!(payloads.iter().all(|p| !shown.contains(p)), "{shown}");
        }
    }
}

#[test]
fn the_settings_are_checked_and_errors_name_them() {
    let settings = |extra: &[(&'static str, &'static str)]| {
        let extra = extra.to_vec();
        Config::from_settings(move |name| {
            extra
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
                .or_else(|| fixed(name))
        })
    };
    for (extra, setting) in [
        (vec![("GRANT_IN_QUERY", "yes")], "GRANT_IN_QUERY"),
        (vec![("GRANT_IN_QUERY", "true")], "GRANT_IN_QUERY"),
        (
            vec![
                ("GRANT_IN_QUERY", "on"),
                ("GRANT_IN_QUERY_MAX_LIFETIME_SECONDS", "0"),
            ],
            "GRANT_IN_QUERY_MAX_LIFETIME_SECONDS",
        ),
        (
            vec![
                ("GRANT_IN_QUERY", "on"),
                ("GRANT_IN_QUERY_MAX_LIFETIME_SECONDS", "5m"),
            ],
            "GRANT_IN_QUERY_MAX_LIFETIME_SECONDS",
        ),
        (
            // Longer than a grant in a header may live.
            vec![
                ("GRANT_IN_QUERY", "on"),
                ("GRANT_IN_QUERY_MAX_LIFETIME_SECONDS", "901"),
            ],
            "GRANT_IN_QUERY_MAX_LIFETIME_SECONDS",
        ),
        (
            // A lifetime for links while links are off is a mistake, not a no-op.
            vec![("GRANT_IN_QUERY_MAX_LIFETIME_SECONDS", "60")],
            "GRANT_IN_QUERY_MAX_LIFETIME_SECONDS",
        ),
    ] {
        let err = settings(&extra).unwrap_err();
        assert_eq!(err.setting(), setting, "{extra:?}: {err}");
        assert!(err.to_string().starts_with(setting), "{err}");
    }
    assert!(settings(&[("GRANT_IN_QUERY", "on")]).is_ok());
    assert!(settings(&[("GRANT_IN_QUERY", "off")]).is_ok());
    // A lower header lifetime lowers the default for links with it.
    let short = support::gatekeeper(&[
        ("GRANT_IN_QUERY", "on"),
        ("GRANT_MAX_LIFETIME_SECONDS", "60"),
    ]);
    let token = mint("get", KEY, |c| {
        c.iat = s3_gatekeeper::grant::format_time(NOW);
        c.exp = s3_gatekeeper::grant::format_time(NOW + 61).unwrap();
    });
    let decision = decide(&short, "GET", &link(KEY, &token), None);
    assert_eq!(outcome(&decision), Err((401, "grant_lifetime_too_long")));
}

/// The settings of `support::config`, for building a configuration that may fail.
fn fixed(name: &str) -> Option<String> {
    match name {
        "GATEKEEPER_ID" => Some("test-gatekeeper".into()),
        "S3_REGION" => Some("us-east-1".into()),
        "S3_BUCKET" => Some("examplebucket".into()),
        "AWS_ACCESS_KEY_ID" => Some("AKID".into()),
        "AWS_SECRET_ACCESS_KEY" => Some("secret".into()),
        "VENDOR_KEYS" => Some(format!(
            r#"[{{"public":"{}"}}]"#,
            support::vendor_key().public_key()
        )),
        "AUDIT_SEAL_KEY" => Some(support::seal_key().to_paserk()),
        _ => None,
    }
}

#[test]
fn the_audit_row_says_the_grant_came_in_the_url_and_never_holds_it() {
    use s3_gatekeeper::audit::{AuditRecord, INSERT_SQL, SqlValue};
    use s3_gatekeeper::seal::Row;

    let on = support::gatekeeper(&ON);
    let off = support::gatekeeper(&[]);
    let token = mint("get", KEY, |_| {});
    let path = format!("/objects/{KEY}");
    let cases = [
        ("a link", &on, link(KEY, &token), None, true),
        ("a link, refused: off", &off, link(KEY, &token), None, true),
        (
            "a link, refused: both",
            &on,
            link(KEY, &token),
            Some(&*token),
            true,
        ),
        (
            "a link to a listing",
            &on,
            format!("/objects?prefix=&grant={token}"),
            None,
            true,
        ),
        ("the header", &on, path.clone(), Some(&*token), false),
        ("no grant", &on, path.clone(), None, false),
        (
            "another parameter",
            &on,
            format!("{path}?token={token}"),
            None,
            false,
        ),
    ];
    let column = INSERT_SQL
        .split(['(', ')'])
        .nth(1)
        .unwrap()
        .split(", ")
        .position(|c| c == "grant_in_url")
        .unwrap();
    for (name, gatekeeper, path, header, in_url) in cases {
        let decision = decide(gatekeeper, "GET", &path, header);
        assert_eq!(decision.grant_in_url, in_url, "{name}");
        let mut record = AuditRecord {
            grant_in_url: decision.grant_in_url,
            ..AuditRecord::default()
        };
        record.describe(decision.intent.as_ref(), &decision.grants);
        let params = record.params();
        let want = if in_url {
            SqlValue::Integer(1)
        } else {
            SqlValue::Null
        };
        assert_eq!(params[column], want, "{name}");
        // No column holds any part of the token.
        let payload = &token.split('.').nth(2).unwrap()[..16];
        for param in params {
            if let SqlValue::Text(text) = param {
                assert!(!text.contains(payload), "{name}: {text}");
            }
        }
    }
    // The seal hashes the mark with the row; a row without it (NULL, as in every row written
    // before the column existed) keeps the digest it had.
    let row = |grant_in_url: Option<i64>| {
        let mut row: Row = [("id", 7_i64), ("time_ms", 1)].into_iter().collect();
        if let Some(v) = grant_in_url {
            row.set("grant_in_url", v);
        }
        row
    };
    let mut null = row(None);
    null.set("grant_in_url", s3_gatekeeper::seal::Value::Null);
    assert_eq!(null.digest(), row(None).digest());
    assert_ne!(row(Some(1)).digest(), row(None).digest());
}

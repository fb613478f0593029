//! The ACL, table-driven through its public API.

// In tests a panic is the failure report, so unwrapping is the clearest way to fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use s3_gatekeeper::Operation;
use s3_gatekeeper::acl::{AclDenial, Caller};

mod support;

fn caller(ip: Option<&str>, country: Option<&str>) -> Caller {
    Caller {
        ip: ip.map(|s| s.parse().unwrap()),
        country: country.map(|s| s.parse().unwrap()),
    }
}

#[test]
fn default_acl_allows_the_seven_countries_only() {
    let acl = support::config(&[]).acl;
    for country in ["US", "CA", "GB", "AU", "NZ", "IE", "NL"] {
        assert_eq!(
            acl.check(&caller(Some("192.0.2.1"), Some(country)), None),
            Ok(()),
            "{country}"
        );
    }
    let cases = [
        (Some("192.0.2.1"), Some("FR"), AclDenial::CountryNotAllowed),
        (Some("192.0.2.1"), Some("T1"), AclDenial::Tor),
        (Some("192.0.2.1"), None, AclDenial::CountryUnknown),
        (None, Some("US"), AclDenial::IpUnknown),
    ];
    for (ip, country, want) in cases {
        assert_eq!(
            acl.check(&caller(ip, country), None),
            Err(want),
            "{ip:?} {country:?}"
        );
    }
}

#[test]
fn networks_deny_wins_and_ipv6_works() {
    let acl_json = r#"{
        "ip": {"allow": ["198.51.100.0/24", "2001:db8::/32"], "deny": ["198.51.100.128/25", "2001:db8:bad::/48"]},
        "country": {"allow": ["GB"], "deny": ["GB"], "unknown": "allow", "tor": "allow"}
    }"#;
    let acl = support::config(&[("ACL", acl_json)]).acl;
    let cases: &[(&str, Option<&str>, Result<(), AclDenial>)] = &[
        ("198.51.100.7", None, Ok(())),
        ("198.51.100.200", None, Err(AclDenial::IpDenied)),
        ("203.0.113.1", None, Err(AclDenial::IpNotAllowed)),
        ("::ffff:198.51.100.7", None, Ok(())),
        ("::ffff:198.51.100.200", None, Err(AclDenial::IpDenied)),
        ("2001:db8:1::1", None, Ok(())),
        ("2001:db8:bad::1", None, Err(AclDenial::IpDenied)),
        ("2001:db9::1", None, Err(AclDenial::IpNotAllowed)),
        ("198.51.100.7", Some("GB"), Err(AclDenial::CountryDenied)),
        ("198.51.100.7", Some("T1"), Ok(())),
    ];
    for (ip, country, want) in cases {
        assert_eq!(
            acl.check(&caller(Some(ip), *country), None),
            *want,
            "{ip} {country:?}"
        );
    }
}

#[test]
fn a_denied_caller_gets_no_signed_request() {
    let gatekeeper = support::gatekeeper(&[("ACL", r#"{"ip": {"deny": ["192.0.2.0/24"]}}"#)]);
    let request = http::Request::get("/objects/a").body(()).unwrap();
    let decision = gatekeeper.decide(
        &request,
        &caller(Some("192.0.2.9"), Some("US")),
        support::at(1_800_000_000),
    );
    let err = decision.outcome.unwrap_err();
    assert_eq!((err.status().as_u16(), err.code()), (403, "ip_denied"));
    assert!(
        decision.intent.is_none(),
        "the ACL runs before the request is even read"
    );
}

#[test]
fn uploads_can_be_exempt_from_the_allow_list_but_never_the_deny_list() {
    let acl_json = r#"{"ip": {"allow": ["198.51.100.0/24"], "deny": ["203.0.113.0/24"], "allow_exempt": ["put"]}}"#;
    let acl = support::config(&[("ACL", acl_json)]).acl;
    let elsewhere = caller(Some("192.0.2.1"), Some("US"));
    let denied = caller(Some("203.0.113.1"), Some("US"));
    assert_eq!(acl.check(&elsewhere, Some(Operation::Put)), Ok(()));
    assert_eq!(
        acl.check(&elsewhere, Some(Operation::Get)),
        Err(AclDenial::IpNotAllowed)
    );
    assert_eq!(
        acl.check(&denied, Some(Operation::Put)),
        Err(AclDenial::IpDenied)
    );
    let default = support::config(&[]).acl;
    let strict = support::config(&[("ACL", r#"{"ip": {"allow": ["198.51.100.0/24"]}}"#)]).acl;
    assert_eq!(
        strict.check(&elsewhere, Some(Operation::Put)),
        Err(AclDenial::IpNotAllowed),
        "off by default"
    );
    assert_eq!(default.check(&elsewhere, Some(Operation::Put)), Ok(()));
}

/// Cloudflare reports `XX` for a caller it cannot place; that is an unknown country, decided by
/// `country.unknown`, exactly like a missing one.
#[test]
fn xx_is_an_unknown_country() {
    let allow = support::config(&[("ACL", r#"{"country": {"unknown": "allow"}}"#)]).acl;
    let deny = support::config(&[]).acl;
    let cases = [
        ("unknown allowed", &allow, Some("XX"), Ok(())),
        ("unknown allowed", &allow, None, Ok(())),
        (
            "unknown denied",
            &deny,
            Some("XX"),
            Err(AclDenial::CountryUnknown),
        ),
        (
            "unknown denied",
            &deny,
            None,
            Err(AclDenial::CountryUnknown),
        ),
        (
            "unknown denied",
            &deny,
            Some("FR"),
            Err(AclDenial::CountryNotAllowed),
        ),
    ];
    for (name, acl, country, want) in cases {
        assert_eq!(
            acl.check(&caller(Some("192.0.2.1"), country), None),
            want,
            "{name}: {country:?}"
        );
    }
}

/// A block written as IPv4-mapped IPv6 means the IPv4 addresses it maps, as callers arriving
/// that way are checked as IPv4.
#[test]
fn ipv4_mapped_blocks_mean_their_ipv4_addresses() {
    let acl_json = r#"{"ip": {"allow": ["::ffff:198.51.100.0/120"], "deny": ["::ffff:198.51.100.128/121"]}, "country": {"unknown": "allow"}}"#;
    let acl = support::config(&[("ACL", acl_json)]).acl;
    let cases = [
        ("198.51.100.7", Ok(())),
        ("::ffff:198.51.100.7", Ok(())),
        ("198.51.100.200", Err(AclDenial::IpDenied)),
        ("::ffff:198.51.100.200", Err(AclDenial::IpDenied)),
        ("203.0.113.1", Err(AclDenial::IpNotAllowed)),
    ];
    for (ip, want) in cases {
        assert_eq!(acl.check(&caller(Some(ip), None), None), want, "{ip}");
    }
}

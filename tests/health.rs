//! `GET /health`: the verdicts, what the answer may say, and the settings behind them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use http::{Method, StatusCode};
use s3_gatekeeper::budget::SizeBudget;
use s3_gatekeeper::health::{
    ARCHIVE_LATE_AFTER_MS, Archiving, CRON_PERIOD_MS, Health, Inputs, Limits, SEAL_LATE_AFTER_MS,
    SealCheck, SizeCheck, is_probe,
};

const NOW: i64 = 1_800_000_000_000;
const BUDGET_MB: u32 = 8_000;
const BUDGET: u64 = 8_000_000_000;

fn limits(archiving: bool) -> Limits {
    Limits {
        budget: SizeBudget::from_mb(BUDGET_MB),
        archiving,
    }
}

/// Inputs of a healthy gatekeeper: sealed and archived a minute ago, far under budget.
fn healthy() -> Inputs {
    Inputs {
        now_ms: NOW,
        sealed_ms: Some(NOW - 60_000),
        archived_ms: Some(NOW - 60_000),
        size_bytes: Some(1_000_000),
    }
}

#[test]
fn a_healthy_gatekeeper_answers_ok_and_nothing_else() {
    for archiving in [false, true] {
        let health = limits(archiving).judge(&healthy());
        assert!(health.is_ok());
        assert_eq!(health.status(), StatusCode::OK);
        assert_eq!(health.body(), r#"{"status":"ok"}"#);
    }
}

#[test]
fn thresholds_come_from_the_cron_period() {
    assert_eq!(CRON_PERIOD_MS, 600_000);
    // Two periods and a five-minute margin: one missed run is tolerated, two are not.
    assert_eq!(SEAL_LATE_AFTER_MS, 25 * 60_000);
    assert_eq!(ARCHIVE_LATE_AFTER_MS, 35 * 60_000);
}

#[test]
fn a_seal_older_than_the_threshold_is_late() {
    let at_limit = Inputs {
        sealed_ms: Some(NOW - SEAL_LATE_AFTER_MS),
        ..healthy()
    };
    assert_eq!(limits(false).judge(&at_limit).seal, SealCheck::Ok);
    let late = Inputs {
        sealed_ms: Some(NOW - SEAL_LATE_AFTER_MS - 1),
        ..healthy()
    };
    let health = limits(false).judge(&late);
    assert_eq!(health.seal, SealCheck::Late);
    assert_eq!(health.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        health.body(),
        r#"{"status":"degraded","checks":{"seal":"late","size":"ok"}}"#
    );
}

#[test]
fn no_seal_at_all_is_late() {
    let never = Inputs {
        sealed_ms: None,
        ..healthy()
    };
    assert_eq!(limits(false).judge(&never).seal, SealCheck::Late);
}

#[test]
fn a_time_ahead_of_the_clock_counts_as_recent() {
    let ahead = Inputs {
        sealed_ms: Some(NOW + 3_600_000),
        archived_ms: Some(NOW + 3_600_000),
        ..healthy()
    };
    assert!(limits(true).judge(&ahead).is_ok());
}

#[test]
fn archiving_is_checked_only_when_it_is_on() {
    let never_archived = Inputs {
        archived_ms: None,
        ..healthy()
    };
    let off = limits(false).judge(&never_archived);
    assert_eq!(off.archive, Archiving::Off);
    assert!(off.is_ok());

    let on = limits(true).judge(&never_archived);
    assert_eq!(on.archive, Archiving::Late);
    assert_eq!(
        on.body(),
        r#"{"status":"degraded","checks":{"seal":"ok","archive":"late","size":"ok"}}"#
    );

    let at_limit = Inputs {
        archived_ms: Some(NOW - ARCHIVE_LATE_AFTER_MS),
        ..healthy()
    };
    assert_eq!(limits(true).judge(&at_limit).archive, Archiving::Ok);
    let late = Inputs {
        archived_ms: Some(NOW - ARCHIVE_LATE_AFTER_MS - 1),
        ..healthy()
    };
    assert_eq!(limits(true).judge(&late).archive, Archiving::Late);
}

#[test]
fn the_budget_is_reached_at_its_size_and_an_unknown_size_is_not_ok() {
    let under = Inputs {
        size_bytes: Some(BUDGET - 1),
        ..healthy()
    };
    assert_eq!(limits(false).judge(&under).size, SizeCheck::Ok);
    let at = Inputs {
        size_bytes: Some(BUDGET),
        ..healthy()
    };
    let health = limits(false).judge(&at);
    assert_eq!(health.size, SizeCheck::OverBudget);
    assert_eq!(
        health.body(),
        r#"{"status":"degraded","checks":{"seal":"ok","size":"over_budget"}}"#
    );
    let unknown = Inputs {
        size_bytes: None,
        ..healthy()
    };
    let health = limits(false).judge(&unknown);
    assert_eq!(health.size, SizeCheck::Unknown);
    assert!(!health.is_ok());
}

/// Every answer the endpoint can give, for every combination of verdicts: none holds a digit
/// (no time, count or size), and each is one of the documented words.
#[test]
fn no_answer_reveals_a_number() {
    for seal in [SealCheck::Ok, SealCheck::Late] {
        for archive in [Archiving::Off, Archiving::Ok, Archiving::Late] {
            for size in [SizeCheck::Ok, SizeCheck::OverBudget, SizeCheck::Unknown] {
                let health = Health {
                    seal,
                    archive,
                    size,
                };
                let body = health.body();
                assert!(!body.chars().any(|c| c.is_ascii_digit()), "{body}");
                let json: serde_json::Value = serde_json::from_str(&body).unwrap();
                let status = json["status"].as_str().unwrap();
                assert_eq!(status == "ok", health.is_ok());
                for (_, verdict) in json["checks"].as_object().into_iter().flatten() {
                    assert!(
                        ["ok", "late", "over_budget", "unknown"]
                            .contains(&verdict.as_str().unwrap()),
                        "{body}"
                    );
                }
            }
        }
    }
    assert!(
        !s3_gatekeeper::health::UNAVAILABLE_BODY
            .chars()
            .any(|c| c.is_ascii_digit())
    );
}

#[test]
fn only_get_and_head_of_the_exact_path_are_probes() {
    assert!(is_probe(&Method::GET, "/health"));
    assert!(is_probe(&Method::HEAD, "/health"));
    assert!(!is_probe(&Method::PUT, "/health"));
    assert!(!is_probe(&Method::POST, "/health"));
    assert!(!is_probe(&Method::GET, "/health/"));
    assert!(!is_probe(&Method::GET, "/objects/health"));
    assert!(!is_probe(&Method::GET, "/HEALTH"));
}

#[test]
fn the_budget_and_archiving_settings_are_read() {
    let default = support::try_config(&[]).unwrap();
    assert_eq!(default.health.budget.bytes(), 8_000_000_000);
    assert!(!default.health.archiving);

    let set = support::try_config(&[
        ("AUDIT_SIZE_BUDGET_MB", "450"),
        ("AUDIT_ARCHIVE_BUCKET", "acme-audit-archive"),
    ])
    .unwrap();
    assert_eq!(set.health.budget.bytes(), 450_000_000);
    assert!(set.health.archiving);

    for bad in ["10001", "-1", "8 GB", "1.5"] {
        let err = support::try_config(&[("AUDIT_SIZE_BUDGET_MB", bad)]).unwrap_err();
        assert_eq!(err.setting(), "AUDIT_SIZE_BUDGET_MB", "{bad}");
        assert!(
            err.to_string().starts_with("AUDIT_SIZE_BUDGET_MB: "),
            "{err}"
        );
    }
}

/// The ACL decides who may probe, as it decides for every request: a caller it refuses is not
/// admitted, and the usual path (which records the refusal) refuses it with the same code.
#[test]
fn the_acl_decides_who_may_probe() {
    let gatekeeper = support::gatekeeper(&[(
        "ACL",
        r#"{"ip": {"allow": ["192.0.2.0/24"]}, "country": {"unknown": "allow"}}"#,
    )]);
    let caller = |ip: &str| s3_gatekeeper::acl::Caller {
        ip: Some(ip.parse().unwrap()),
        country: None,
    };
    assert!(gatekeeper.admits(&caller("192.0.2.5")));
    assert!(!gatekeeper.admits(&caller("198.51.100.7")));
    let probe = http::Request::get("/health").body(()).unwrap();
    let refused = gatekeeper.decide(&probe, &caller("198.51.100.7"), support::at(NOW / 1000));
    assert_eq!(refused.outcome.unwrap_err().code(), "ip_not_allowed");
}

//! Single use of write grants: a spent id stays in `spent_grants` for as long as its grant could
//! still be accepted, to the millisecond, whatever the clock-skew allowance.

// In tests a panic is the failure report, so unwrapping is the clearest way to fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, UNIX_EPOCH};

use s3_gatekeeper::acl::Caller;
use s3_gatekeeper::audit::{SqlValue, Statement};
use s3_gatekeeper::{Decision, Gatekeeper, replay};

/// The grant's `exp`, in Unix seconds.
const EXP: i64 = 1_800_000_300;

fn put_at(gatekeeper: &Gatekeeper, token: &str, at_ms: i64) -> Decision {
    let request = http::Request::put("/objects/up/x.bin")
        .header("authorization", format!("Bearer {token}"))
        .header("content-length", "1")
        .body(())
        .unwrap();
    let caller = Caller {
        ip: Some("198.51.100.7".parse().unwrap()),
        country: Some("US".parse().unwrap()),
    };
    let at = UNIX_EPOCH + Duration::from_millis(u64::try_from(at_ms).unwrap());
    gatekeeper.decide(&request, &caller, at)
}

/// The table `spent_grants` as D1 holds it: (`key_id`, `jti`, `expires_ms`). It runs the statements
/// `replay` writes with SQL's meaning; one it does not recognise fails the test rather than
/// being guessed at.
#[derive(Default)]
struct SpentGrants(Vec<(String, String, i64)>);

impl SpentGrants {
    /// What the trigger `audit_log_spends_write_grants` does when a write's row is inserted.
    fn spend(&mut self, spent: &[replay::Spent]) {
        assert!(!spent.is_empty(), "a write grant spends its id");
        for s in spent {
            assert!(
                !self.0.iter().any(|r| r.0 == s.key_id && r.1 == s.jti),
                "the primary key refuses a second spend"
            );
            self.0
                .push((s.key_id.clone(), s.jti.clone(), s.keep_until_ms));
        }
    }

    fn run(&mut self, statement: &Statement) {
        let int = |v: &SqlValue| match v {
            SqlValue::Integer(n) => *n,
            other => panic!("not an integer: {other:?}"),
        };
        let sql = statement.sql.as_str();
        let now = int(&statement.params[0]);
        match sql {
            "DELETE FROM spent_grants WHERE expires_ms < ?1" => self.0.retain(|r| r.2 >= now),
            "DELETE FROM spent_grants WHERE expires_ms <= ?1" => self.0.retain(|r| r.2 > now),
            other => panic!("a statement this model does not know: {other}"),
        }
    }
}

/// Every millisecond around the end of a write grant's life: while the grant still verifies at
/// `t`, the purge that runs first at `t` (as the Worker runs it, with the request's arrival
/// time) must not have deleted its spent id, or the grant could be spent again.
#[test]
fn a_spent_id_outlives_the_last_millisecond_its_grant_verifies() {
    for skew in [0_i64, 7, 60] {
        let gatekeeper = support::gatekeeper(&[("GRANT_CLOCK_SKEW_SECONDS", &skew.to_string())]);
        let mut claims = support::claims("put", "up/x.bin", EXP - 300, 300);
        claims.jti = Some("j-1".into());
        let token = support::vendor_key().mint(&claims).unwrap();

        let mut table = SpentGrants::default();
        let first = put_at(&gatekeeper, &token, (EXP - 100) * 1000);
        assert!(
            first.outcome.is_ok(),
            "skew {skew}: the first use is allowed"
        );
        table.spend(&replay::spend(&first.grants, gatekeeper.clock_skew()));

        let last_second_ms = (EXP + skew) * 1000;
        let (mut verified, mut refused) = (0, 0);
        for t in last_second_ms - 2..=last_second_ms + 1000 + 2 {
            table.run(&replay::purge(t));
            if put_at(&gatekeeper, &token, t).outcome.is_ok() {
                verified += 1;
                assert_eq!(
                    table.0.len(),
                    1,
                    "skew {skew}: at {t} ms the grant still verifies but its spent id was purged"
                );
            } else {
                refused += 1;
            }
        }
        assert_eq!(
            (verified, refused),
            (1002, 3),
            "skew {skew}: the grant verifies through the last millisecond of exp + skew"
        );
    }
}

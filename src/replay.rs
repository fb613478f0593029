//! Single use of write grants: each `jti` of a put or delete is spent in D1 before the write.
//!
//! The table `spent_grants` has a primary key on (key id, jti), so a second use of the same
//! grant fails the insert, atomically, in whichever Worker isolate sees it second. Entries are
//! deleted a while after their grant can no longer be used (its expiry plus the clock-skew
//! allowance, to the end of that second, plus [`KEEP_MARGIN_MS`]).

use crate::audit::{SqlValue, Statement};
use crate::grant::Grant;

/// How long a spent id is kept after the last millisecond its grant can be accepted. Each
/// request purges with the clock of the machine it runs on, and those clocks may differ a
/// little: one running ahead must not purge an id that one running behind would still accept.
pub const KEEP_MARGIN_MS: i64 = 60_000;

/// One grant id a write spends: kept in `spent_grants` until `keep_until_ms`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Spent {
    /// The PASERK id of the key that signed the grant.
    pub key_id: String,
    /// The grant's `jti`.
    pub jti: String,
    /// [`KEEP_MARGIN_MS`] after the last millisecond the grant could still be accepted.
    pub keep_until_ms: i64,
}

/// The ids every write grant of an allowed request spends (a refused one spends nothing).
///
/// They are written with the write's pending audit row, in its `spent` column, and the trigger
/// `audit_log_spends_write_grants` (migration 0012) inserts them into `spent_grants` in the same
/// statement: a second use of an id fails that table's primary key, which fails the row's insert
/// with it, so a write's record and its spend are one statement and one transaction.
pub fn spend(grants: &[Grant], clock_skew: u32) -> Vec<Spent> {
    grants
        .iter()
        .filter(|g| g.operation.is_write())
        .filter_map(|grant| {
            // Grants are checked to the whole second: one is accepted while the second of
            // `now` is at most `exp + skew`, so through the last millisecond of that second.
            let keep_until_ms = grant
                .expires
                .saturating_add(i64::from(clock_skew))
                .saturating_add(1)
                .saturating_mul(1000)
                .saturating_sub(1)
                .saturating_add(KEEP_MARGIN_MS);
            Some(Spent {
                key_id: grant.key_id.clone(),
                jti: grant.jti.clone()?,
                keep_until_ms,
            })
        })
        .collect()
}

/// The `spent` column of a write's row: the ids as a JSON array, or `None` when there are none.
pub fn spent_column(spent: &[Spent]) -> Option<String> {
    if spent.is_empty() {
        return None;
    }
    serde_json::to_string(spent).ok()
}

/// Deletes spent ids whose keeping time has passed at `now_ms`: their grants can no longer be
/// used, by any clock within [`KEEP_MARGIN_MS`] of this one.
pub fn purge(now_ms: i64) -> Statement {
    Statement {
        sql: "DELETE FROM spent_grants WHERE expires_ms < ?1".to_owned(),
        params: vec![SqlValue::Integer(now_ms)],
    }
}

/// Whether a D1 error message reports that a grant id was already spent.
pub fn is_replay(error: &str) -> bool {
    error.contains("UNIQUE constraint failed") && error.contains("spent_grants")
}

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

/// The insert that spends every write grant's `jti`, or `None` when there is nothing to spend.
/// `grants` are those of an allowed request (a refused one spends nothing).
/// Each row keeps, for [`purge`], when it may go: [`KEEP_MARGIN_MS`] after the last millisecond
/// its grant could still be accepted.
pub fn spend(grants: &[Grant], clock_skew: u32) -> Option<Statement> {
    let spent: Vec<&Grant> = grants
        .iter()
        .filter(|g| g.operation.is_write() && g.jti.is_some())
        .collect();
    if spent.is_empty() {
        return None;
    }
    let rows: Vec<String> = (0..spent.len())
        .map(|i| format!("(?{}, ?{}, ?{})", 3 * i + 1, 3 * i + 2, 3 * i + 3))
        .collect();
    let sql = format!(
        "INSERT INTO spent_grants (key_id, jti, expires_ms) VALUES {}",
        rows.join(", ")
    );
    let params = spent
        .iter()
        .flat_map(|grant| {
            // Grants are checked to the whole second: one is accepted while the second of
            // `now` is at most `exp + skew`, so through the last millisecond of that second.
            let keep_until_ms = grant
                .expires
                .saturating_add(i64::from(clock_skew))
                .saturating_add(1)
                .saturating_mul(1000)
                .saturating_sub(1)
                .saturating_add(KEEP_MARGIN_MS);
            [
                SqlValue::Text(grant.key_id.clone()),
                SqlValue::Text(grant.jti.clone().unwrap_or_default()),
                SqlValue::Integer(keep_until_ms),
            ]
        })
        .collect();
    Some(Statement { sql, params })
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

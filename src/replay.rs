//! Single use of write grants: each `jti` of a put or delete is spent in D1 before the write.
//!
//! The table `spent_grants` has a primary key on (key id, jti), so a second use of the same
//! grant fails the insert, atomically, in whichever Worker isolate sees it second. Entries are
//! deleted once their grant can no longer be used (its expiry plus the clock-skew allowance).

use crate::audit::{SqlValue, Statement};
use crate::grant::Grant;

/// The insert that spends every write grant's `jti`, or `None` when there is nothing to spend.
/// Each row keeps the last moment its grant could still be accepted, for [`purge`].
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
            let usable_until_ms = grant
                .expires
                .saturating_add(i64::from(clock_skew))
                .saturating_mul(1000);
            [
                SqlValue::Text(grant.key_id.clone()),
                SqlValue::Text(grant.jti.clone().unwrap_or_default()),
                SqlValue::Integer(usable_until_ms),
            ]
        })
        .collect();
    Some(Statement { sql, params })
}

/// Deletes spent ids whose grants can no longer be used at `now_ms`.
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

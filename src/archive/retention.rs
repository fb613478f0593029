//! Retention while archiving is on, and the size budget.
//!
//! Rows leave D1 only once their seal is archived: written, read back and its SHA-256 checked,
//! then recorded in `audit_archives`. A step deletes the oldest rows up to the lower of the
//! latest seal's `purged_through` (the hot period, `AUDIT_HOT_DAYS`) and the last archived row.
//! When D1 is over `AUDIT_SIZE_BUDGET_MB`, a step deletes the oldest *archived* rows instead,
//! however young: a row that is not archived is never deleted to save space.

use crate::archive::{ARCHIVED_THROUGH, Archive};
use crate::audit::{SqlValue, Statement};
use crate::budget::SizeBudget;
use crate::replay;
use crate::seal::{MAX_ROWS_PER_PURGE, Seal};

/// What the cron does about D1's size and the archive.
#[derive(Clone, Debug)]
pub struct Storage {
    /// Where sealed periods are archived; `None` when `AUDIT_ARCHIVE_BUCKET` is unset.
    pub archive: Option<Archive>,
    /// `AUDIT_SIZE_BUDGET_MB`.
    pub budget: SizeBudget,
}

impl Storage {
    /// Storage with `archive` and a budget of `budget_mb` megabytes (10^6 bytes).
    pub fn new(archive: Option<Archive>, budget_mb: u32) -> Self {
        Self {
            archive,
            budget: SizeBudget::from_mb(budget_mb),
        }
    }

    /// Whether a database of `size_bytes` is over the budget: at or over it, as `GET /health`
    /// counts it.
    pub fn over_budget(&self, size_bytes: u64) -> bool {
        self.budget.reached_by(size_bytes)
    }
}

/// One retention step while archiving is on, after `latest` (the latest finished seal), at
/// `now_ms`; `over_budget` when D1 was last seen over its size budget. The first statement
/// deletes rows (its changes are the rows deleted); the next ones empty the manifests of purged
/// seals and delete expired spent grant ids, as [`crate::seal::Sealer::retention`] does.
pub fn step(latest: Option<&Seal>, now_ms: i64, over_budget: bool) -> Vec<Statement> {
    let through = latest.map_or(0, |seal| seal.purged_through);
    let bound = if over_budget {
        ARCHIVED_THROUGH.to_owned()
    } else {
        format!("MIN(?2, {ARCHIVED_THROUGH})")
    };
    let mut statements = vec![Statement {
        sql: format!(
            "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE id <= {bound} ORDER BY id LIMIT ?1)"
        ),
        params: if over_budget {
            vec![SqlValue::Integer(MAX_ROWS_PER_PURGE)]
        } else {
            vec![
                SqlValue::Integer(MAX_ROWS_PER_PURGE),
                SqlValue::Integer(through),
            ]
        },
    }];
    if through > 0 {
        // As without an archive: a manifest goes once retention has reached all its rows. A seal
        // whose rows the size budget deleted early keeps its manifest in D1 (and in the archive).
        statements.push(crate::seal::empty_manifests(through));
    }
    statements.push(replay::purge(now_ms));
    statements
}

/// What the cron logs at every run: the ids `audit_log` holds (rows are deleted oldest first, so
/// the span is the row count), and the last archived row. D1 gives the database's size in the
/// statement's result (`meta.size_after`); `PRAGMA page_count` is not allowed in D1.
pub fn storage() -> Statement {
    Statement {
        sql: format!(
            "SELECT COALESCE(MAX(id) - MIN(id) + 1, 0) AS rows, COALESCE(MIN(id), 0) AS first_id, \
             COALESCE(MAX(id), 0) AS last_id, {ARCHIVED_THROUGH} AS archived_through FROM audit_log"
        ),
        params: Vec::new(),
    }
}

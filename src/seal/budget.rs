//! How much one cron run seals and purges: as many seals and retention batches as fit within the
//! Worker's limits, so that sealing keeps up with any request rate and a backlog (after the cron
//! was stopped, say) is caught up over a few runs rather than at one seal a run.
//!
//! Each seal stays within the bounds of a single seal ([`MAX_ROWS_PER_SEAL`]); a run makes one
//! after another, each following on from the last, and stops before the limits with a margin. The
//! next run carries on where it stopped: nothing is lost by stopping early, since a claim left
//! half-made is finished first by the next run. The adapter counts what it spends and asks
//! [`Run`] before each step; the time is passed in.

use crate::seal::sealer::PAGE;
use crate::seal::{MAX_ROWS_PER_PURGE, MAX_ROWS_PER_SEAL};

/// What one cron run may spend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// D1 calls (each query or batch is one). D1 allows 1000 per Worker invocation on the
    /// Workers Paid plan (50 on Free); each counts as a subrequest.
    pub queries: u32,
    /// `audit_log` rows read to seal them. Bounds the run's D1 reads and its hashing.
    pub rows: i64,
    /// Wall-clock milliseconds since the run began after which no further seal or purge is begun.
    /// The CPU time of a run is at most its wall-clock time, and a Worker's CPU-time limit is 30 s
    /// by default (Workers Paid), so this bounds the CPU time too; the wall-clock time of a cron
    /// run is not limited.
    pub millis: i64,
}

impl Budget {
    /// The budget of a cron run on the Workers Paid plan, with defaults: half of D1's queries per
    /// invocation, and two thirds of the default CPU time. The margin covers what is not counted
    /// ahead (the writes of retention, a slow query) and what is not ours to count (the platform's
    /// own accounting).
    pub const CRON: Self = Self {
        queries: 500,
        rows: 1_000_000,
        millis: 20_000,
    };
}

/// D1 calls to make and store one seal of at most [`MAX_ROWS_PER_SEAL`] rows: the claim; the
/// latest seal, the one before it and the evidence; one per page of rows; storing the seal.
pub const QUERIES_PER_SEAL: u32 = 5 + pages(MAX_ROWS_PER_SEAL);

/// D1 calls of one retention step: the latest finished seal and one batch.
pub const QUERIES_PER_PURGE: u32 = 2;

/// Subrequests (D1 calls and S3 requests) to archive one seal of at most [`MAX_ROWS_PER_SEAL`]
/// rows: the seal; one per page of rows; writing and reading back its two objects; recording it.
pub const QUERIES_PER_ARCHIVE: u32 = 2 + pages(MAX_ROWS_PER_SEAL) + 4;

const fn pages(rows: i64) -> u32 {
    // Both are small positive constants; the quotient fits.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let pages = ((rows + PAGE - 1) / PAGE) as u32;
    pages
}

/// What a cron run scheduled at one time has spent, and what it may do next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Run {
    budget: Budget,
    scheduled_ms: i64,
    started_ms: i64,
    queries: u32,
    rows: i64,
    seals: u32,
    purges: u32,
    /// The longest a seal (or a retention step) of this run took: what the next is expected to
    /// take at most.
    longest_seal_ms: i64,
    longest_purge_ms: i64,
    /// Sealing reached the cutoff, or could not go on: no further seal this run.
    sealing_done: bool,
    /// Whether sealed periods are archived: each seal then also costs its archiving.
    archiving: bool,
    archives: u32,
    longest_archive_ms: i64,
    /// Nothing is left to archive, or archiving failed: no further archive this run.
    archiving_done: bool,
}

impl Run {
    /// A run scheduled at `scheduled_ms`, begun at `started_ms` (the clock), spending at most
    /// `budget`.
    pub fn new(budget: Budget, scheduled_ms: i64, started_ms: i64) -> Self {
        Self {
            budget,
            scheduled_ms,
            started_ms,
            queries: 0,
            rows: 0,
            seals: 0,
            purges: 0,
            longest_seal_ms: 0,
            longest_purge_ms: 0,
            sealing_done: false,
            archiving: false,
            archives: 0,
            longest_archive_ms: 0,
            archiving_done: false,
        }
    }

    /// The same run, archiving each seal too: a seal is made only if its archiving fits as well,
    /// so that archiving keeps up with sealing.
    #[must_use]
    pub fn archiving(mut self) -> Self {
        self.archiving = true;
        self
    }

    /// Counts one D1 call that returned `rows` rows of `audit_log` (0 for other tables).
    pub fn count(&mut self, rows: usize) {
        self.queries = self.queries.saturating_add(1);
        self.rows = self
            .rows
            .saturating_add(i64::try_from(rows).unwrap_or(i64::MAX));
    }

    /// D1 calls made so far.
    pub fn queries(&self) -> u32 {
        self.queries
    }

    /// `audit_log` rows read so far.
    pub fn rows(&self) -> i64 {
        self.rows
    }

    /// Seals this run claimed.
    pub fn seals(&self) -> u32 {
        self.seals
    }

    /// The scheduled time of this run's next seal, or `None` if it should make no more.
    ///
    /// The first seal of a run is always made, as a run that seals once would: it is what an
    /// unfinished claim and a quiet log need, and it is within the limits by itself. A further
    /// seal is made only while the last one was full (there may be more rows before the cutoff),
    /// and only if a whole seal, and one retention step after it, still fit the budget.
    ///
    /// The seals of a run are scheduled at the run's time, then one millisecond later each: every
    /// seal must be scheduled after the one before it (`migrations/0007_audit_seal_claims.sql`),
    /// which also makes a run delivered twice seal once (its first claim finds a seal at its time).
    /// None may be scheduled after the clock (`now_ms`), which the cron checks before it signs, so
    /// a run scheduled ahead of the clock makes one seal. Each seal's cutoff is its own scheduled
    /// time less the grace period, so a later seal of a run covers only rows at least that old.
    pub fn next_seal(&self, now_ms: i64) -> Option<i64> {
        if self.seals == 0 {
            return Some(self.scheduled_ms);
        }
        if self.sealing_done {
            return None;
        }
        let scheduled_ms = self.scheduled_ms.saturating_add(i64::from(self.seals));
        let (queries, rows, millis) = if self.archiving {
            (
                QUERIES_PER_SEAL + QUERIES_PER_ARCHIVE,
                2 * MAX_ROWS_PER_SEAL,
                self.longest_seal_ms + self.longest_archive_ms,
            )
        } else {
            (QUERIES_PER_SEAL, MAX_ROWS_PER_SEAL, self.longest_seal_ms)
        };
        let fits = self.queries.saturating_add(queries + QUERIES_PER_PURGE) <= self.budget.queries
            && self.rows.saturating_add(rows) <= self.budget.rows
            && self.elapsed(now_ms).saturating_add(millis) <= self.budget.millis;
        (fits && scheduled_ms <= now_ms).then_some(scheduled_ms)
    }

    /// Records the outcome of the seal begun at `began_ms`: whether the claim was inserted, and
    /// how many ids the seal finished after it covers. A seal covering fewer ids than a seal may
    /// stopped at its cutoff (or the end of the log), so sealing is done for this run; so is it
    /// if nothing was claimed (the run was delivered twice, the grace period was raised, or
    /// another claim is unfinished).
    pub fn sealed(&mut self, began_ms: i64, claimed: bool, ids: i64, now_ms: i64) {
        self.seals = self.seals.saturating_add(1);
        self.longest_seal_ms = self.longest_seal_ms.max(now_ms.saturating_sub(began_ms));
        if !claimed || ids < MAX_ROWS_PER_SEAL {
            self.sealing_done = true;
        }
    }

    /// Whether to run another retention step. The first is always run, as a run that seals once
    /// would; a further one only while the last deleted as many rows as a step may (more may be
    /// due) and another still fits the budget.
    /// `last_deleted` is how many rows the last step of this run deleted (`None` before the
    /// first).
    pub fn next_purge(&self, last_deleted: Option<i64>, now_ms: i64) -> bool {
        match last_deleted {
            None => true,
            Some(deleted) => {
                deleted >= MAX_ROWS_PER_PURGE
                    && self.queries.saturating_add(QUERIES_PER_PURGE) <= self.budget.queries
                    && self.elapsed(now_ms).saturating_add(self.longest_purge_ms)
                        <= self.budget.millis
            }
        }
    }

    /// Whether to archive another seal. The first of a run is always tried (it is what keeps a
    /// quiet log archived); a further one only while the last archived a seal (more may be
    /// waiting) and another, and a retention step after it, still fits the budget.
    pub fn next_archive(&self, now_ms: i64) -> bool {
        if !self.archiving || self.archiving_done {
            return false;
        }
        self.archives == 0
            || (self
                .queries
                .saturating_add(QUERIES_PER_ARCHIVE + QUERIES_PER_PURGE)
                <= self.budget.queries
                && self.rows.saturating_add(MAX_ROWS_PER_SEAL) <= self.budget.rows
                && self.elapsed(now_ms).saturating_add(self.longest_archive_ms)
                    <= self.budget.millis)
    }

    /// Records an archiving step begun at `began_ms`: whether it archived a seal (`false` when
    /// none was waiting, or it failed, which ends archiving for this run).
    pub fn archived(&mut self, began_ms: i64, archived: bool, now_ms: i64) {
        self.archives = self.archives.saturating_add(1);
        self.longest_archive_ms = self.longest_archive_ms.max(now_ms.saturating_sub(began_ms));
        if !archived {
            self.archiving_done = true;
        }
    }

    /// Seals this run archived or tried to.
    pub fn archives(&self) -> u32 {
        self.archives
    }

    /// Records a retention step begun at `began_ms`.
    pub fn purged(&mut self, began_ms: i64, now_ms: i64) {
        self.purges = self.purges.saturating_add(1);
        self.longest_purge_ms = self.longest_purge_ms.max(now_ms.saturating_sub(began_ms));
    }

    fn elapsed(&self, now_ms: i64) -> i64 {
        now_ms.saturating_sub(self.started_ms).max(0)
    }
}

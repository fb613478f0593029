//! What a cron run checks before it signs a claim: that every value in it is one the run can
//! recompute from the retention policy, the previous seal, and the log.

use std::fmt;

use crate::seal::{MAX_ROWS_PER_SEAL, MalformedSeal, Policy, Row, Seal};

/// What the database holds around a claim, read by the cron run that is about to finish it (the
/// statement is [`crate::seal::Sealer::evidence`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Evidence {
    /// The last row id of the newest finished seal, before the claim, whose `cutoff_ms` is at
    /// least the retention period before the claim's `scheduled_ms` (0 if none): what retention
    /// may reach by the claim's time.
    pub purgeable_through: i64,
    /// The highest id in `audit_log` (0 if it is empty).
    pub log_end: i64,
    /// The latest time a claim may be scheduled at: the current run's scheduled time or the
    /// clock, whichever is later.
    pub now_ms: i64,
}

impl Evidence {
    /// Reads the row [`crate::seal::Sealer::evidence`] selects; `now_ms` as in [`Evidence::now_ms`].
    pub fn from_row(row: &Row, now_ms: i64) -> Result<Self, MalformedSeal> {
        let integer = |column| {
            row.get(column)
                .as_integer()
                .ok_or(MalformedSeal::new(column))
        };
        Ok(Self {
            purgeable_through: integer("purgeable_through")?,
            log_end: integer("log_end")?,
            now_ms,
        })
    }
}

/// Why a cron run will not sign a claim: a value in it is not what the run recomputes. Such a
/// claim was written into the database directly, or (rarely) made by a run with another grace
/// period or retention that stopped before signing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Its rows do not start right after the previous seal's, or end before them.
    Range {
        first_id: i64,
        last_id: i64,
        previous_last_id: i64,
    },
    /// Not scheduled after the previous seal.
    ScheduledBefore { scheduled_ms: i64, previous: i64 },
    /// Scheduled after the current run and the clock.
    ScheduledLater { scheduled_ms: i64, now_ms: i64 },
    /// Not the scheduled time less the grace period.
    Cutoff { cutoff_ms: i64, expected: i64 },
    /// Before the previous seal's cutoff: retention would count that seal's rows as older than
    /// they are.
    CutoffBack { cutoff_ms: i64, previous: i64 },
    /// More rows than one seal may hold.
    TooManyRows { last_id: i64 },
    /// Ids that no row has yet.
    PastLogEnd { last_id: i64, log_end: i64 },
    /// Not what the retention period and the previous seals allow.
    Purge { purged_through: i64, expected: i64 },
    /// A row in the range arrived after the cutoff.
    RowAfterCutoff { id: i64 },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Range {
                first_id,
                last_id,
                previous_last_id,
            } => write!(
                f,
                "its rows {first_id} to {last_id} do not follow on from the previous seal's last row, {previous_last_id}"
            ),
            Self::ScheduledBefore {
                scheduled_ms,
                previous,
            } => write!(
                f,
                "its scheduled_ms is {scheduled_ms}, not after the previous seal's ({previous})"
            ),
            Self::ScheduledLater {
                scheduled_ms,
                now_ms,
            } => write!(
                f,
                "its scheduled_ms is {scheduled_ms}, after this run's time ({now_ms})"
            ),
            Self::Cutoff {
                cutoff_ms,
                expected,
            } => write!(
                f,
                "its cutoff_ms is {cutoff_ms}, but its scheduled_ms less the grace period gives {expected}"
            ),
            Self::CutoffBack {
                cutoff_ms,
                previous,
            } => write!(
                f,
                "its cutoff_ms is {cutoff_ms}, before the previous seal's ({previous})"
            ),
            Self::TooManyRows { last_id } => write!(
                f,
                "its last_id is {last_id}: more rows than one seal holds ({MAX_ROWS_PER_SEAL})"
            ),
            Self::PastLogEnd { last_id, log_end } => write!(
                f,
                "its last_id is {last_id}, past the last row of the log ({log_end})"
            ),
            Self::Purge {
                purged_through,
                expected,
            } => write!(
                f,
                "its purged_through is {purged_through}, but the retention period and the previous seals allow {expected}"
            ),
            Self::RowAfterCutoff { id } => {
                write!(f, "audit_log row {id} arrived after its cutoff_ms")
            }
        }
    }
}

/// Checks `claim`, which follows the finished seal `previous` (`None` for the first seal), against
/// what a run under `policy` recomputes from `evidence`. The rows themselves are checked as they
/// are read ([`arrived_by`]).
///
/// - `first_id` must be one past the previous seal's `last_id`, and `last_id` not below it.
/// - `scheduled_ms` must be after the previous seal's and not after `evidence.now_ms`. A claim
///   left by an earlier run that stopped is scheduled in the past; it is recomputed from its own
///   time.
/// - `cutoff_ms` must be `scheduled_ms` less the grace period, and not before the previous
///   seal's (retention takes a seal's cutoff as the age of all rows up to its `last_id`).
/// - `last_id` may not pass the last row of the log, nor cover more than [`MAX_ROWS_PER_SEAL`]
///   rows. Where a claim ends short of the cutoff cannot be checked: a row that arrived before
///   the cutoff may be written after the claim. A short claim harms nothing; the next seal
///   covers the rest.
/// - `purged_through` must be exactly the larger of the previous seal's and
///   `evidence.purgeable_through`, but not past the previous seal's `last_id`.
pub(crate) fn check(
    claim: &Seal,
    previous: Option<&Seal>,
    evidence: &Evidence,
    policy: Policy,
) -> Result<(), Refusal> {
    let (prev_last, prev_purged) = previous.map_or((0, 0), |s| (s.last_id, s.purged_through));
    if claim.first_id != prev_last + 1 || claim.last_id < prev_last {
        return Err(Refusal::Range {
            first_id: claim.first_id,
            last_id: claim.last_id,
            previous_last_id: prev_last,
        });
    }
    if let Some(previous) = previous
        && claim.scheduled_ms <= previous.scheduled_ms
    {
        return Err(Refusal::ScheduledBefore {
            scheduled_ms: claim.scheduled_ms,
            previous: previous.scheduled_ms,
        });
    }
    if claim.scheduled_ms > evidence.now_ms {
        return Err(Refusal::ScheduledLater {
            scheduled_ms: claim.scheduled_ms,
            now_ms: evidence.now_ms,
        });
    }
    let expected = policy.cutoff(claim.scheduled_ms);
    if claim.cutoff_ms != expected {
        return Err(Refusal::Cutoff {
            cutoff_ms: claim.cutoff_ms,
            expected,
        });
    }
    if let Some(previous) = previous
        && claim.cutoff_ms < previous.cutoff_ms
    {
        return Err(Refusal::CutoffBack {
            cutoff_ms: claim.cutoff_ms,
            previous: previous.cutoff_ms,
        });
    }
    if claim.last_id.saturating_sub(prev_last) > MAX_ROWS_PER_SEAL {
        return Err(Refusal::TooManyRows {
            last_id: claim.last_id,
        });
    }
    if claim.last_id > prev_last && claim.last_id > evidence.log_end {
        return Err(Refusal::PastLogEnd {
            last_id: claim.last_id,
            log_end: evidence.log_end,
        });
    }
    let expected = prev_purged.max(evidence.purgeable_through).min(prev_last);
    if claim.purged_through != expected {
        return Err(Refusal::Purge {
            purged_through: claim.purged_through,
            expected,
        });
    }
    Ok(())
}

/// Checks that `row`, read from a claimed range, arrived by the claim's `cutoff_ms`. Every row of
/// an honest claim did: it stops before the first row that arrived later, and the database
/// refuses to change a claimed row.
pub(crate) fn arrived_by(row: &Row, id: i64, cutoff_ms: i64) -> Result<(), Refusal> {
    match row.get(TIME_MS).as_integer() {
        Some(time_ms) if time_ms <= cutoff_ms => Ok(()),
        _ => Err(Refusal::RowAfterCutoff { id }),
    }
}

const TIME_MS: &str = "time_ms";

//! `GET /health`: whether the audit log is being sealed, archived and kept under its size budget,
//! for an uptime monitor.
//!
//! The answer is three verdicts and nothing else: no time, count or size leaves the gatekeeper,
//! so the endpoint tells a caller only what an outage would tell it anyway. The adapter reads the
//! inputs (one D1 statement) and the clock; this decides. docs/api.md and docs/audit.md
//! ("Health") describe the answer and the thresholds.
//!
//! ```
//! use s3_gatekeeper::health::{Archiving, Inputs, Limits, SealCheck, SizeCheck};
//!
//! let limits = Limits { budget: Default::default(), archiving: false };
//! let now_ms = 1_800_000_000_000;
//! let inputs = Inputs { now_ms, sealed_ms: Some(now_ms - 60_000), archived_ms: None, size_bytes: Some(1 << 20) };
//! let health = limits.judge(&inputs);
//! assert_eq!(health.seal, SealCheck::Ok);
//! assert_eq!(health.size, SizeCheck::Ok);
//! assert_eq!(health.archive, Archiving::Off);
//! assert_eq!(health.status(), http::StatusCode::OK);
//! assert_eq!(health.body(), r#"{"status":"ok"}"#);
//! ```

use http::{Method, StatusCode};

use crate::budget::SizeBudget;

/// The path a monitor asks.
pub const PATH: &str = "/health";

/// How often the cron runs (wrangler.toml: `*/10 * * * *`), in milliseconds.
pub const CRON_PERIOD_MS: i64 = 10 * 60 * 1000;

/// How late a run may be (Cloudflare starts a cron within about a minute of its time, and a run
/// takes up to about 20 seconds: docs/audit.md, "How sealing keeps up"), with room to spare.
pub const RUN_MARGIN_MS: i64 = 5 * 60 * 1000;

/// The newest finished seal must have been scheduled at most this long ago: two cron periods and
/// the margin (25 minutes). One run that fails or is skipped is not reported; a second is.
pub const SEAL_LATE_AFTER_MS: i64 = 2 * CRON_PERIOD_MS + RUN_MARGIN_MS;

/// The newest archived object must have been written at most this long ago: archiving follows
/// sealing in the cron, so one period more than a seal may take (35 minutes).
pub const ARCHIVE_LATE_AFTER_MS: i64 = SEAL_LATE_AFTER_MS + CRON_PERIOD_MS;

/// How long an isolate reuses an answer, so that a flood of probes costs D1 at most one read per
/// isolate in this time.
pub const CACHE_MS: i64 = 15_000;

/// The settings the verdicts depend on; by default, those of a gatekeeper without settings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    /// `AUDIT_SIZE_BUDGET_MB`.
    pub budget: SizeBudget,
    /// Whether `AUDIT_ARCHIVE_BUCKET` is set, so the cron archives sealed periods.
    pub archiving: bool,
}

/// What the adapter read, and when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Inputs {
    /// The clock, in ms since the Unix epoch.
    pub now_ms: i64,
    /// `scheduled_ms` of the newest finished seal; `None` when there is none yet.
    pub sealed_ms: Option<i64>,
    /// `MAX(archived_ms)` of `audit_archives` (read only when archiving is on); `None` when no
    /// object was archived yet.
    pub archived_ms: Option<i64>,
    /// The database's size in bytes, as D1 reports it with a statement's result; `None` if D1
    /// did not say.
    pub size_bytes: Option<u64>,
}

/// Whether sealing keeps up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SealCheck {
    /// A seal was finished within [`SEAL_LATE_AFTER_MS`].
    Ok,
    /// No seal was finished within [`SEAL_LATE_AFTER_MS`], or none ever was.
    Late,
}

/// Whether archiving keeps up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Archiving {
    /// Archiving is not configured; nothing is checked.
    Off,
    /// An object was archived within [`ARCHIVE_LATE_AFTER_MS`].
    Ok,
    /// No object was archived within [`ARCHIVE_LATE_AFTER_MS`], or none ever was.
    Late,
}

/// Whether the audit database is under its budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SizeCheck {
    /// Under `AUDIT_SIZE_BUDGET_MB`.
    Ok,
    /// At or over `AUDIT_SIZE_BUDGET_MB`.
    OverBudget,
    /// D1 did not report the size: not known to be under budget.
    Unknown,
}

/// The verdicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Health {
    /// Sealing.
    pub seal: SealCheck,
    /// Archiving.
    pub archive: Archiving,
    /// The database's size.
    pub size: SizeCheck,
}

impl Limits {
    /// The verdicts for `inputs`. A time in the future (a clock step) counts as recent: the
    /// check is about work that stopped, which a time ahead of the clock does not show.
    pub fn judge(&self, inputs: &Inputs) -> Health {
        let recent = |at: Option<i64>, late_after: i64| {
            at.is_some_and(|at| inputs.now_ms.saturating_sub(at) <= late_after)
        };
        let seal = if recent(inputs.sealed_ms, SEAL_LATE_AFTER_MS) {
            SealCheck::Ok
        } else {
            SealCheck::Late
        };
        let archive = match (
            self.archiving,
            recent(inputs.archived_ms, ARCHIVE_LATE_AFTER_MS),
        ) {
            (false, _) => Archiving::Off,
            (true, true) => Archiving::Ok,
            (true, false) => Archiving::Late,
        };
        let size = match inputs.size_bytes {
            None => SizeCheck::Unknown,
            Some(size) if self.budget.reached_by(size) => SizeCheck::OverBudget,
            Some(_) => SizeCheck::Ok,
        };
        Health {
            seal,
            archive,
            size,
        }
    }
}

impl Health {
    /// Whether every check passed.
    pub fn is_ok(&self) -> bool {
        self.seal == SealCheck::Ok && self.archive != Archiving::Late && self.size == SizeCheck::Ok
    }

    /// `200` when every check passed, `503` otherwise (what uptime monitors alert on).
    pub fn status(&self) -> StatusCode {
        if self.is_ok() {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        }
    }

    /// The JSON answer: `{"status":"ok"}`, or `{"status":"degraded","checks":{…}}` naming each
    /// check's verdict (`archive` only when archiving is on). No number, time or size.
    pub fn body(&self) -> String {
        if self.is_ok() {
            return r#"{"status":"ok"}"#.to_owned();
        }
        // Every value is one of the fixed words below, so the JSON is written as it is, in the
        // documented order.
        let seal = match self.seal {
            SealCheck::Ok => "ok",
            SealCheck::Late => "late",
        };
        let archive = match self.archive {
            Archiving::Off => "",
            Archiving::Ok => r#","archive":"ok""#,
            Archiving::Late => r#","archive":"late""#,
        };
        let size = match self.size {
            SizeCheck::Ok => "ok",
            SizeCheck::OverBudget => "over_budget",
            SizeCheck::Unknown => "unknown",
        };
        format!(r#"{{"status":"degraded","checks":{{"seal":"{seal}"{archive},"size":"{size}"}}}}"#)
    }
}

/// The answer when the audit database could not be read: the gatekeeper would refuse every
/// request with `audit_unavailable` as well.
pub const UNAVAILABLE_BODY: &str = r#"{"status":"unavailable"}"#;

/// Whether a request is a health probe: `GET` or `HEAD` of exactly [`PATH`] (any query is
/// ignored). Every other request to the path goes the usual way, and is refused.
pub fn is_probe(method: &Method, path: &str) -> bool {
    (method == Method::GET || method == Method::HEAD) && path == PATH
}

/// The statement that reads every input but the clock, in one round trip: the newest finished
/// seal's scheduled time, and, with archiving on, the newest archive's time. The size comes
/// with its result (D1's `meta.size_after`). Both subqueries read one row each: the seals from
/// the newest down to the first signed one, `MAX` from the table's end.
pub fn inputs_sql(archiving: bool) -> &'static str {
    if archiving {
        "SELECT (SELECT scheduled_ms FROM audit_seals WHERE signature IS NOT NULL ORDER BY id DESC LIMIT 1) AS sealed_ms, \
         (SELECT MAX(archived_ms) FROM audit_archives) AS archived_ms"
    } else {
        "SELECT (SELECT scheduled_ms FROM audit_seals WHERE signature IS NOT NULL ORDER BY id DESC LIMIT 1) AS sealed_ms, \
         NULL AS archived_ms"
    }
}

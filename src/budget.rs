//! `AUDIT_SIZE_BUDGET_MB`: the size the audit database should stay under.
//!
//! One definition serves both the cron, which deletes archived rows while the database is at or
//! over its budget, and `GET /health`, which answers `over_budget` from the same moment: a
//! monitor never sees a size that the cron treats otherwise.
//!
//! ```
//! use s3_gatekeeper::budget::SizeBudget;
//!
//! let budget = SizeBudget::from_mb(400);
//! assert_eq!(budget.bytes(), 400_000_000);
//! assert!(!budget.reached_by(399_999_999));
//! assert!(budget.reached_by(400_000_000));
//! assert_eq!(SizeBudget::default(), SizeBudget::from_mb(SizeBudget::DEFAULT_MB));
//! ```

/// A size budget, in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SizeBudget {
    bytes: u64,
}

impl SizeBudget {
    /// The budget when `AUDIT_SIZE_BUDGET_MB` is unset: 80% of the 10 GB a D1 database holds on
    /// Workers Paid, which leaves room for the indexes and one cron run's growth.
    pub const DEFAULT_MB: u32 = 8_000;

    /// Bytes in one megabyte of `AUDIT_SIZE_BUDGET_MB`: D1 states its limits in decimal units.
    pub const MB: u64 = 1_000_000;

    /// A budget of `mb` megabytes.
    #[must_use]
    pub fn from_mb(mb: u32) -> Self {
        Self {
            bytes: u64::from(mb) * Self::MB,
        }
    }

    /// The budget in bytes.
    #[must_use]
    pub fn bytes(self) -> u64 {
        self.bytes
    }

    /// Whether a database of `size_bytes` has reached the budget: it is at or over it.
    #[must_use]
    pub fn reached_by(self, size_bytes: u64) -> bool {
        size_bytes >= self.bytes
    }
}

impl Default for SizeBudget {
    fn default() -> Self {
        Self::from_mb(Self::DEFAULT_MB)
    }
}

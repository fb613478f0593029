//! A bound on how much a flood of refused requests can write to the audit log.
//!
//! Every allowed request is recorded, always. Refused requests are recorded one row each until a
//! caller passes [`PER_CALLER`] refusals in a minute, or the isolate passes [`PER_ISOLATE`] in a
//! minute; past that, they are counted instead, and the count is written to `denied_overflow`
//! when it reaches 1, 2, 4, 8, … — so a flood of `n` refusals costs at most about `log2(n)`
//! writes per caller and minute, and the recorded count is never less than half the true one.
//! Counts are kept per Worker isolate, so with several isolates each writes its own lower bound
//! (the table keeps the largest).

use std::collections::HashMap;
use std::net::IpAddr;

use crate::audit::{SqlValue, Statement};

/// Refusals per caller IP and minute that are recorded one row each.
pub const PER_CALLER: u32 = 30;
/// Refusals per isolate and minute that are recorded one row each, whatever the callers.
pub const PER_ISOLATE: u32 = 600;

const MINUTE_MS: i64 = 60_000;

/// What to do with one refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// Write its row as usual.
    Record,
    /// Only count it; nothing to write now.
    Count,
    /// Only count it, and write the overflow count with this statement.
    Summarise(Statement),
}

/// Refusal counts for the current minute.
#[derive(Debug, Default)]
pub struct DenialBudget {
    minute: i64,
    per_caller: HashMap<Option<IpAddr>, u32>,
    total: u32,
}

impl DenialBudget {
    /// Decides what to do with a refusal from `ip` at `now_ms`.
    pub fn admit(&mut self, ip: Option<IpAddr>, now_ms: i64) -> Admission {
        let minute = now_ms.div_euclid(MINUTE_MS) * MINUTE_MS;
        if minute != self.minute {
            // A new minute starts every count afresh, which also bounds the map's size.
            self.minute = minute;
            self.per_caller.clear();
            self.total = 0;
        }
        self.total = self.total.saturating_add(1);
        let count = self.per_caller.entry(ip).or_default();
        *count = count.saturating_add(1);
        let (count, total) = (*count, self.total);
        if count <= PER_CALLER && total <= PER_ISOLATE {
            return Admission::Record;
        }
        // Past the isolate's budget, callers are not told apart: `*` stands for all of them.
        let (caller, overflow) = if total > PER_ISOLATE {
            ("*".to_owned(), total - PER_ISOLATE)
        } else {
            (
                ip.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string()),
                count - PER_CALLER,
            )
        };
        if overflow.is_power_of_two() {
            Admission::Summarise(summary(minute, caller, overflow))
        } else {
            Admission::Count
        }
    }
}

fn summary(minute_ms: i64, caller: String, count: u32) -> Statement {
    Statement {
        sql: "INSERT INTO denied_overflow (minute_ms, ip, count) VALUES (?1, ?2, ?3) \
              ON CONFLICT (minute_ms, ip) DO UPDATE SET count = max(count, excluded.count)"
            .to_owned(),
        params: vec![
            SqlValue::Integer(minute_ms),
            SqlValue::Text(caller),
            SqlValue::Integer(count.into()),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        s.parse().ok()
    }

    #[test]
    fn a_flood_from_one_caller_costs_logarithmically_many_writes() {
        let mut budget = DenialBudget::default();
        let mut rows = 0;
        let mut summaries = Vec::new();
        for i in 0..10_000 {
            match budget.admit(ip("203.0.113.9"), 1_800_000_000_000 + i) {
                Admission::Record => rows += 1,
                Admission::Count => {}
                Admission::Summarise(s) => {
                    summaries.push((s.params[1].clone(), s.params[2].clone()));
                }
            }
        }
        assert_eq!(rows, PER_CALLER);
        // The caller's own overflow (1, 2, … 512 before the isolate budget runs out), then the
        // isolate-wide one (1, 2, … 8192).
        assert_eq!(summaries.len(), 10 + 14);
        let star = SqlValue::Text("*".into());
        assert_eq!(summaries.last(), Some(&(star, SqlValue::Integer(8192))));
    }

    #[test]
    fn callers_have_their_own_budget_and_minutes_reset_it() {
        let mut budget = DenialBudget::default();
        let t = 1_800_000_000_000;
        for _ in 0..PER_CALLER {
            assert_eq!(budget.admit(ip("203.0.113.9"), t), Admission::Record);
        }
        assert!(matches!(
            budget.admit(ip("203.0.113.9"), t),
            Admission::Summarise(_)
        ));
        assert_eq!(budget.admit(ip("198.51.100.1"), t), Admission::Record);
        assert_eq!(
            budget.admit(ip("203.0.113.9"), t + MINUTE_MS),
            Admission::Record
        );
    }

    #[test]
    fn many_callers_share_the_isolate_budget() {
        let mut budget = DenialBudget::default();
        let t = 1_800_000_000_000;
        let recorded = (0..2_000u16)
            .filter(|i| {
                let [high, low] = i.to_be_bytes();
                let caller = IpAddr::from([10, 0, high, low]);
                budget.admit(Some(caller), t) == Admission::Record
            })
            .count();
        assert_eq!(recorded, PER_ISOLATE as usize);
    }
}

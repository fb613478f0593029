//! A bound on how much a flood of refused requests can write to the audit log.
//!
//! Every allowed request is recorded, always. So is every refusal that carries a grant whose
//! Ed25519 signature verified and that could still be accepted (see
//! [`crate::Decision::current_signature`]), and every refusal that came after S3 was asked: such
//! a request is the vendor's (or a stolen or replayed grant of the vendor's), and its key, user
//! and grant id are what an investigation needs. An attacker cannot make those go unrecorded by
//! first sending cheap refusals, and cannot send them in bulk without holding a current grant.
//!
//! The other refusals (no grant, a forged or malformed one, an expired one, a refused network)
//! are recorded one row each until a caller passes [`PER_CALLER`] in a minute, or the isolate
//! passes [`PER_ISOLATE`] in a minute; past that, they are counted instead, and the count is
//! written to `denied_overflow` when it reaches 1, 2, 4, 8, … — so a flood of `n` refusals costs
//! at most about `log2(n)` writes per caller and minute, and the recorded count is never less
//! than half the true one. Counts are kept per Worker isolate, so with several isolates each writes its own
//! lower bound (the table keeps the largest).
//!
//! A caller is an IPv4 address, or an IPv6 /64: one subscriber usually holds a whole /64 and can
//! pick a new address in it for every request.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use ipnet::Ipv6Net;

use crate::audit::{SqlValue, Statement};

/// Refusals per caller and minute that are recorded one row each.
pub const PER_CALLER: u32 = 30;
/// Refusals per isolate and minute that are recorded one row each, whatever the callers.
pub const PER_ISOLATE: u32 = 600;

const MINUTE_MS: i64 = 60_000;

/// What the audit log knows of a refusal when it decides whether to bound it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Refusal {
    /// The caller's IP, if the edge gave one.
    pub ip: Option<IpAddr>,
    /// At least one grant's signature verified and that grant could still be accepted, whatever
    /// was refused after that.
    pub signed: bool,
    /// The request was sent to S3 (and failed there, or after).
    pub reached_s3: bool,
}

impl Refusal {
    /// Whether the flood bound applies: only to refusals that carry no valid signature and never
    /// reached S3. The others are always recorded in full.
    pub fn is_bounded(&self) -> bool {
        !self.signed && !self.reached_s3
    }
}

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

/// Who a per-caller count belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Source {
    Unknown,
    V4(Ipv4Addr),
    /// The /64 network of an IPv6 caller.
    V6(Ipv6Net),
}

impl Source {
    fn of(ip: Option<IpAddr>) -> Self {
        // An IPv4 caller written as an IPv4-mapped IPv6 address is the same caller.
        match ip.map(|ip| ip.to_canonical()) {
            None => Self::Unknown,
            Some(IpAddr::V4(v4)) => Self::V4(v4),
            Some(IpAddr::V6(v6)) => {
                // 64 is a valid IPv6 prefix length, so `new` cannot fail.
                Self::V6(Ipv6Net::new(v6, 64).map_or_else(|_| Ipv6Net::from(v6), |n| n.trunc()))
            }
        }
    }
}

/// As written to `denied_overflow.ip`: `203.0.113.9`, `2001:db8:1:2::/64`, or `unknown`.
impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unknown => f.write_str("unknown"),
            Self::V4(ip) => ip.fmt(f),
            Self::V6(net) => net.fmt(f),
        }
    }
}

/// Refusal counts for the current minute.
#[derive(Debug, Default)]
pub struct DenialBudget {
    minute: i64,
    per_caller: HashMap<Source, u32>,
    total: u32,
}

impl DenialBudget {
    /// Decides what to do with `refusal`, decided at `now_ms`.
    pub fn admit(&mut self, refusal: &Refusal, now_ms: i64) -> Admission {
        if !refusal.is_bounded() {
            // Not counted either: a signed refusal must not use up the budget of unsigned ones
            // for everyone else.
            return Admission::Record;
        }
        let minute = now_ms.div_euclid(MINUTE_MS) * MINUTE_MS;
        if minute != self.minute {
            // A new minute starts every count afresh, which also bounds the map's size.
            self.minute = minute;
            self.per_caller.clear();
            self.total = 0;
        }
        self.total = self.total.saturating_add(1);
        let source = Source::of(refusal.ip);
        let count = self.per_caller.entry(source).or_default();
        *count = count.saturating_add(1);
        let (count, total) = (*count, self.total);
        if count <= PER_CALLER && total <= PER_ISOLATE {
            return Admission::Record;
        }
        // Past the isolate's budget, callers are not told apart: `*` stands for all of them.
        let (caller, overflow) = if total > PER_ISOLATE {
            ("*".to_owned(), total - PER_ISOLATE)
        } else {
            (source.to_string(), count - PER_CALLER)
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

    const T: i64 = 1_800_000_000_000;

    /// An unsigned refusal from `ip`.
    fn from(ip: &str) -> Refusal {
        Refusal {
            ip: ip.parse().ok(),
            ..Refusal::default()
        }
    }

    #[test]
    fn a_flood_from_one_caller_costs_logarithmically_many_writes() {
        let mut budget = DenialBudget::default();
        let mut rows = 0;
        let mut summaries = Vec::new();
        for i in 0..10_000 {
            match budget.admit(&from("203.0.113.9"), T + i) {
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
        for _ in 0..PER_CALLER {
            assert_eq!(budget.admit(&from("203.0.113.9"), T), Admission::Record);
        }
        assert!(matches!(
            budget.admit(&from("203.0.113.9"), T),
            Admission::Summarise(_)
        ));
        assert_eq!(budget.admit(&from("198.51.100.1"), T), Admission::Record);
        assert_eq!(
            budget.admit(&from("203.0.113.9"), T + MINUTE_MS),
            Admission::Record
        );
    }

    #[test]
    fn many_callers_share_the_isolate_budget() {
        let mut budget = DenialBudget::default();
        let recorded = (0..2_000u16)
            .filter(|i| {
                let [high, low] = i.to_be_bytes();
                let caller = Refusal {
                    ip: Some(IpAddr::from([10, 0, high, low])),
                    ..Refusal::default()
                };
                budget.admit(&caller, T) == Admission::Record
            })
            .count();
        assert_eq!(recorded, PER_ISOLATE as usize);
    }

    #[test]
    fn signed_refusals_and_refusals_after_s3_are_always_recorded() {
        let mut budget = DenialBudget::default();
        // A caller spends its budget, and the isolate's, on cheap refusals…
        for i in 0..=PER_ISOLATE {
            budget.admit(&from("203.0.113.9"), T + i64::from(i));
        }
        assert_ne!(budget.admit(&from("203.0.113.9"), T), Admission::Record);
        // …then tries a stolen grant (wrong scope, wrong IP, replayed, too few signers), or one
        // that S3 answered with an error: every attempt is a full row.
        let signed = Refusal {
            signed: true,
            ..from("203.0.113.9")
        };
        let reached_s3 = Refusal {
            reached_s3: true,
            ..from("203.0.113.9")
        };
        for _ in 0..1_000 {
            assert_eq!(budget.admit(&signed, T), Admission::Record);
            assert_eq!(budget.admit(&reached_s3, T), Admission::Record);
        }
        assert!(!signed.is_bounded() && !reached_s3.is_bounded());
        assert!(from("203.0.113.9").is_bounded());
    }

    #[test]
    fn an_ipv6_caller_is_counted_by_its_64() {
        let mut budget = DenialBudget::default();
        let mut rows = 0;
        let mut callers = Vec::new();
        // A new address of one /64 for every request is still one caller.
        for i in 0..40u32 {
            let ip = format!("2001:db8:1:2:{:x}::{:x}", i % 7, i + 1);
            match budget.admit(&from(&ip), T) {
                Admission::Record => rows += 1,
                Admission::Summarise(s) => callers.push(s.params[1].clone()),
                Admission::Count => {}
            }
        }
        assert_eq!(rows, PER_CALLER);
        assert_eq!(
            callers.first(),
            Some(&SqlValue::Text("2001:db8:1:2::/64".into()))
        );
        // Another /64 is another caller.
        assert_eq!(budget.admit(&from("2001:db8:1:3::1"), T), Admission::Record);
        // An IPv4 caller written as an IPv4-mapped IPv6 address is that IPv4 caller.
        for _ in 0..PER_CALLER {
            budget.admit(&from("198.51.100.1"), T);
        }
        let Admission::Summarise(s) = budget.admit(&from("::ffff:198.51.100.1"), T) else {
            panic!("the mapped address shares the IPv4 caller's budget")
        };
        assert_eq!(s.params[1], SqlValue::Text("198.51.100.1".into()));
    }
}

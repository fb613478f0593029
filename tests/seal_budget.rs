//! How far one cron run seals and purges (`s3_gatekeeper::seal::Run`): several seals while the
//! backlog lasts, each scheduled after the last, and never past its budget of D1 calls, rows read
//! and time.

#![allow(clippy::unwrap_used)]

use s3_gatekeeper::seal::{
    Budget, MAX_ROWS_PER_PURGE, MAX_ROWS_PER_SEAL, QUERIES_PER_PURGE, QUERIES_PER_SEAL, Run,
};

const T: i64 = 1_780_000_000_000;
const FULL: i64 = MAX_ROWS_PER_SEAL;

/// Spends what one seal of `ids` ids costs, as the adapter counts it.
fn seal(run: &mut Run, claimed: bool, ids: i64, began: i64, now: i64) {
    let pages = usize::try_from((ids + 999) / 1000).unwrap();
    for _ in 0..5 {
        run.count(0);
    }
    let mut left = usize::try_from(ids).unwrap();
    for _ in 0..pages {
        let page = left.min(1000);
        run.count(page);
        left -= page;
    }
    run.sealed(began, claimed, ids, now);
}

#[test]
fn the_first_seal_is_always_made_at_the_runs_time() {
    // Even with nothing to spend: a run that seals once must still seal once.
    let none = Budget {
        queries: 0,
        rows: 0,
        millis: 0,
    };
    let run = Run::new(none, T, T + 5);
    assert_eq!(run.next_seal(T + 5), Some(T));
    // Scheduled ahead of the clock too (a test, or a clock behind): one seal, as before.
    assert_eq!(
        Run::new(Budget::CRON, T, T - 60_000).next_seal(T - 60_000),
        Some(T)
    );
}

#[test]
fn a_backlog_is_sealed_in_several_seals_each_a_millisecond_after_the_last() {
    let mut run = Run::new(Budget::CRON, T, T + 10);
    let mut times = Vec::new();
    let mut now = T + 10;
    while let Some(at) = run.next_seal(now) {
        times.push(at);
        seal(&mut run, true, FULL, now, now + 500);
        now += 500;
    }
    assert!(times.len() > 1, "{times:?}");
    assert_eq!(
        times,
        (0..).map(|k| T + k).take(times.len()).collect::<Vec<_>>()
    );
    // Stopped by the budget, with room for retention.
    assert!(run.queries() + QUERIES_PER_PURGE <= Budget::CRON.queries);
    assert!(run.rows() <= Budget::CRON.rows);
    assert_eq!(u32::try_from(times.len()).unwrap(), run.seals());
}

#[test]
fn the_query_budget_stops_a_run_before_d1s_limit() {
    // Rows and time without limit: the D1 calls decide.
    let budget = Budget {
        queries: 3 * QUERIES_PER_SEAL + QUERIES_PER_PURGE,
        rows: i64::MAX,
        millis: i64::MAX,
    };
    let mut run = Run::new(budget, T, T);
    let mut seals = 0;
    while run.next_seal(T + 1000).is_some() {
        seal(&mut run, true, FULL, T, T);
        seals += 1;
        assert!(seals < 100, "never stops");
    }
    assert_eq!(seals, 3);
    assert!(run.queries() + QUERIES_PER_PURGE <= budget.queries);
    // One call fewer and the third seal no longer fits.
    let mut run = Run::new(
        Budget {
            queries: budget.queries - 1,
            ..budget
        },
        T,
        T,
    );
    let mut seals = 0;
    while run.next_seal(T + 1000).is_some() {
        seal(&mut run, true, FULL, T, T);
        seals += 1;
    }
    assert_eq!(seals, 2);
}

#[test]
fn the_row_budget_bounds_the_rows_read() {
    let budget = Budget {
        queries: u32::MAX,
        rows: 2 * FULL + FULL / 2,
        millis: i64::MAX,
    };
    let mut run = Run::new(budget, T, T);
    while run.next_seal(T + 1000).is_some() {
        seal(&mut run, true, FULL, T, T);
    }
    assert_eq!(run.seals(), 2);
    assert_eq!(run.rows(), 2 * FULL);
}

#[test]
fn the_time_budget_stops_before_a_seal_as_long_as_the_longest_would_pass_it() {
    let budget = Budget {
        queries: u32::MAX,
        rows: i64::MAX,
        millis: 10_000,
    };
    let mut run = Run::new(budget, T, T);
    // Seals of 3 s each: after three (9 s), a fourth would end past 10 s.
    let mut now = T;
    while let Some(_at) = run.next_seal(now) {
        seal(&mut run, true, FULL, now, now + 3000);
        now += 3000;
    }
    assert_eq!(run.seals(), 3);
    // A slow first seal (the leftover of a stopped run, say) leaves no time for a second.
    let mut run = Run::new(budget, T, T);
    assert!(run.next_seal(T).is_some());
    seal(&mut run, true, FULL, T, T + 6000);
    assert_eq!(run.next_seal(T + 6000), None);
}

#[test]
fn sealing_stops_at_the_cutoff_or_when_nothing_was_claimed() {
    // A seal that covers fewer ids than it could stopped at its cutoff: nothing more is due.
    let mut run = Run::new(Budget::CRON, T, T);
    seal(&mut run, true, FULL, T, T + 10);
    assert_eq!(run.next_seal(T + 10), Some(T + 1));
    seal(&mut run, true, FULL - 1, T + 10, T + 20);
    assert_eq!(run.next_seal(T + 20), None);
    // A run delivered twice: its first claim inserts nothing, and it stops.
    let mut run = Run::new(Budget::CRON, T, T);
    seal(&mut run, false, 0, T, T);
    assert_eq!(run.next_seal(T + 10), None);
    // Nor does a full seal finished in its stead (another run's claim) make it go on.
    let mut run = Run::new(Budget::CRON, T, T);
    seal(&mut run, false, FULL, T, T);
    assert_eq!(run.next_seal(T + 10), None);
}

#[test]
fn no_seal_is_scheduled_after_the_clock() {
    // The cron refuses to sign a claim scheduled after both the run and the clock: a run ahead
    // of the clock stops after its first seal, and a later seal waits for the clock.
    let mut run = Run::new(Budget::CRON, T, T);
    seal(&mut run, true, FULL, T, T);
    assert_eq!(run.next_seal(T), None);
    assert_eq!(run.next_seal(T + 1), Some(T + 1));
}

#[test]
fn retention_repeats_while_full_batches_are_deleted_and_the_budget_allows() {
    let budget = Budget {
        queries: 4 * QUERIES_PER_PURGE,
        rows: i64::MAX,
        millis: 10_000,
    };
    let mut run = Run::new(budget, T, T);
    assert!(run.next_purge(None, T));
    let mut steps = 0;
    let mut deleted = None;
    while run.next_purge(deleted, T) {
        run.count(0);
        run.count(0);
        run.purged(T, T);
        deleted = Some(MAX_ROWS_PER_PURGE);
        steps += 1;
        assert!(steps < 100, "never stops");
    }
    assert_eq!(steps, 4);
    // A batch short of the most a step deletes: nothing more is due.
    let run = Run::new(Budget::CRON, T, T);
    assert!(!run.next_purge(Some(MAX_ROWS_PER_PURGE - 1), T));
    // Nor past the time: a step of 4 s after 7 s would end past 10 s.
    let mut run = Run::new(budget, T, T);
    run.purged(T + 3000, T + 7000);
    assert!(!run.next_purge(Some(MAX_ROWS_PER_PURGE), T + 7000));
    // Even with nothing left to spend, the first step runs, as a run that seals once would.
    let none = Budget {
        queries: 0,
        rows: 0,
        millis: 0,
    };
    assert!(Run::new(none, T, T).next_purge(None, T));
}

#[test]
fn the_cost_of_a_seal_is_counted_as_the_adapter_makes_it() {
    // The claim, the latest seal, the one before, the evidence, the pages, storing it.
    assert_eq!(QUERIES_PER_SEAL, 5 + 50);
    assert_eq!(QUERIES_PER_PURGE, 2);
    // The cron's budget stays within D1's 1000 queries per invocation (Workers Paid) with half
    // to spare, and allows several seals.
    let cron = Budget::CRON;
    assert!(cron.queries <= 500);
    assert!(cron.queries >= 4 * QUERIES_PER_SEAL + QUERIES_PER_PURGE);
    assert!(
        cron.millis <= 20_000,
        "well inside the default 30 s of CPU time"
    );
}

//! The cron trigger: finishes any seal left half-made, claims and finishes this run's seals, one
//! after another while its budget allows, then applies retention. The statements, every check
//! and how far a run goes come from the core (`crate::seal`); this only runs them against D1.

use std::fmt;

use worker::{D1Database, Date, Env};

use super::audit::{BINDING, prepare};
use crate::audit::Statement;
use crate::seal::{Budget, Evidence, MalformedSeal, Row, Run, Seal, SealError, Sealer};

/// Why a cron run stopped. The next run picks up where it stopped: a claimed seal is finished
/// first, and retention only ever deletes what a finished seal allows.
pub(super) enum RunError {
    Database(worker::Error),
    Seal(SealError),
}

impl From<worker::Error> for RunError {
    fn from(e: worker::Error) -> Self {
        Self::Database(e)
    }
}

impl From<SealError> for RunError {
    fn from(e: SealError) -> Self {
        Self::Seal(e)
    }
}

impl From<MalformedSeal> for RunError {
    fn from(e: MalformedSeal) -> Self {
        Self::Seal(e.into())
    }
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Database(e) => write!(f, "D1: {e}"),
            // Loud, for the operator: a claim like that is a sign of someone writing to D1.
            Self::Seal(e) if e.is_refused_claim() => write!(
                f,
                "{e}. No run of this gatekeeper with these settings claims that: it was written into audit_seals directly. Sealing stops until it is removed (docs/audit.md, \"A claim the cron refuses\")"
            ),
            Self::Seal(e) => e.fmt(f),
        }
    }
}

/// One cron run, scheduled at `scheduled_ms`; `now_ms` is the clock, for expired grant ids.
///
/// It makes as many seals, one after another, and then as many retention steps as the core's
/// [`Run`] allows within [`Budget::CRON`], so that sealing keeps up with any request rate and a
/// backlog is caught up over a few runs; the next run carries on where this one stopped.
pub(super) async fn run(
    env: &Env,
    sealer: &Sealer,
    scheduled_ms: i64,
    now_ms: i64,
) -> Result<(), RunError> {
    let db = env.d1(BINDING)?;
    let mut run = Run::new(Budget::CRON, scheduled_ms, now_ms);
    // A run that stopped half-way left a claim; it must be finished before the next is made.
    finish_pending(&db, sealer, &mut run, scheduled_ms.max(clock())).await?;
    while let Some(seal_ms) = run.next_seal(clock()) {
        let began = clock();
        let claimed = prepare(&db, sealer.claim(seal_ms))?.run().await?;
        run.count(0);
        let claimed = claimed.meta()?.and_then(|m| m.changes) == Some(1);
        // No honest claim is scheduled after both this run and the clock.
        let latest_ms = scheduled_ms.max(clock());
        // Finishes this claim, or the one that kept it from being made (another run's, which
        // this run may finish as well: both write the same seal).
        let ids = finish_pending(&db, sealer, &mut run, latest_ms).await?;
        run.sealed(began, claimed, ids.unwrap_or(0), clock());
    }

    let mut deleted = None;
    while run.next_purge(deleted, clock()) {
        let began = clock();
        let latest = seal(&db, &mut run, Sealer::latest_finished()).await?;
        let statements = Sealer::retention(latest.as_ref(), now_ms)
            .into_iter()
            .map(|s| prepare(&db, s))
            .collect::<worker::Result<Vec<_>>>()?;
        // One transaction: rows and the manifests that list them go together.
        let results = db.batch(statements).await?;
        run.count(0);
        // The first statement deletes rows when there are any to delete; otherwise nothing was.
        let removed = match (latest.as_ref(), results.first()) {
            (Some(seal), Some(result)) if seal.purged_through > 0 => result
                .meta()?
                .and_then(|m| m.changes)
                .and_then(|n| i64::try_from(n).ok())
                .unwrap_or(0),
            _ => 0,
        };
        deleted = Some(removed);
        run.purged(began, clock());
    }
    Ok(())
}

/// The clock, in ms since the Unix epoch. In a Worker it moves on only across I/O, which is what
/// a run's budget needs: every step is a D1 call.
fn clock() -> i64 {
    i64::try_from(Date::now().as_millis()).unwrap_or(i64::MAX)
}

/// Finishes the latest seal if it is only claimed: checks that it is what this gatekeeper would
/// have claimed, reads its rows (frozen since the claim), signs, stores. Returns how many ids
/// the seal it finished covers (`None` if none was unfinished).
async fn finish_pending(
    db: &D1Database,
    sealer: &Sealer,
    run: &mut Run,
    latest_ms: i64,
) -> Result<Option<i64>, RunError> {
    let Some(claim) = seal(db, run, Sealer::latest()).await? else {
        return Ok(None);
    };
    if claim.proof.is_some() {
        return Ok(None);
    }
    let previous = seal(db, run, Sealer::before(claim.seq)).await?;
    let rows: Vec<Row> = prepare(db, sealer.evidence(&claim))?
        .all()
        .await?
        .results()?;
    run.count(0);
    let evidence = rows
        .first()
        .ok_or(MalformedSeal::new("purgeable_through"))
        .and_then(|row| Evidence::from_row(row, latest_ms))?;
    let mut sealing = sealer.begin(claim, previous.as_ref(), evidence)?;
    while let Some(page) = sealing.next_page() {
        let rows: Vec<Row> = prepare(db, page)?.all().await?.results()?;
        run.count(rows.len());
        sealing.add(&rows)?;
    }
    let (seal, statement) = sealing.finish()?;
    let stored = prepare(db, statement)?.run().await?;
    run.count(0);
    let ids = seal.last_id - seal.first_id + 1;
    // Two runs may finish the same claim; both write the same seal, and the one that stored it
    // logs it. The log line is a copy of the seal's hash outside the database.
    if stored.meta()?.and_then(|m| m.changes) == Some(1)
        && let Some(proof) = &seal.proof
    {
        worker::console_log!(
            "audit sealed: seal {} covers rows {} to {} ({} rows), purged through {}, hash {}",
            seal.seq,
            seal.first_id,
            seal.last_id,
            proof.row_count,
            seal.purged_through,
            proof.hash
        );
    }
    Ok(Some(ids))
}

/// The one seal `statement` selects, if any.
async fn seal(
    db: &D1Database,
    run: &mut Run,
    statement: Statement,
) -> Result<Option<Seal>, RunError> {
    let rows: Vec<Row> = prepare(db, statement)?.all().await?.results()?;
    run.count(0);
    Ok(rows.first().map(Seal::from_row).transpose()?)
}

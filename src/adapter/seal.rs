//! The cron trigger: finishes any seal left half-made, claims and finishes this run's seal, then
//! applies retention. The statements and every check come from the core (`crate::seal`); this
//! only runs them against D1.

use std::fmt;

use worker::{D1Database, Env};

use super::audit::{BINDING, prepare};
use crate::audit::Statement;
use crate::seal::{Evidence, MalformedSeal, Row, Seal, SealError, Sealer};

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
pub(super) async fn run(
    env: &Env,
    sealer: &Sealer,
    scheduled_ms: i64,
    now_ms: i64,
) -> Result<(), RunError> {
    let db = env.d1(BINDING)?;
    // No honest claim is scheduled after both this run and the clock.
    let latest_ms = scheduled_ms.max(now_ms);
    // A run that stopped half-way left a claim; it must be finished before the next is made.
    finish_pending(&db, sealer, latest_ms).await?;
    prepare(&db, sealer.claim(scheduled_ms))?.run().await?;
    finish_pending(&db, sealer, latest_ms).await?;

    let latest = seal(&db, Sealer::latest_finished()).await?;
    let statements = Sealer::retention(latest.as_ref(), now_ms)
        .into_iter()
        .map(|s| prepare(&db, s))
        .collect::<worker::Result<Vec<_>>>()?;
    // One transaction: rows and the manifests that list them go together.
    db.batch(statements).await?;
    Ok(())
}

/// Finishes the latest seal if it is only claimed: checks that it is what this gatekeeper would
/// have claimed, reads its rows (frozen since the claim), signs, stores.
async fn finish_pending(db: &D1Database, sealer: &Sealer, latest_ms: i64) -> Result<(), RunError> {
    let Some(claim) = seal(db, Sealer::latest()).await? else {
        return Ok(());
    };
    if claim.proof.is_some() {
        return Ok(());
    }
    let previous = seal(db, Sealer::before(claim.seq)).await?;
    let rows: Vec<Row> = prepare(db, sealer.evidence(&claim))?
        .all()
        .await?
        .results()?;
    let evidence = rows
        .first()
        .ok_or(MalformedSeal::new("purgeable_through"))
        .and_then(|row| Evidence::from_row(row, latest_ms))?;
    let mut sealing = sealer.begin(claim, previous.as_ref(), evidence)?;
    while let Some(page) = sealing.next_page() {
        let rows: Vec<Row> = prepare(db, page)?.all().await?.results()?;
        sealing.add(&rows)?;
    }
    let (seal, statement) = sealing.finish()?;
    let stored = prepare(db, statement)?.run().await?;
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
    Ok(())
}

/// The one seal `statement` selects, if any.
async fn seal(db: &D1Database, statement: Statement) -> Result<Option<Seal>, RunError> {
    let rows: Vec<Row> = prepare(db, statement)?.all().await?.results()?;
    Ok(rows.first().map(Seal::from_row).transpose()?)
}

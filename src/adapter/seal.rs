//! The cron trigger: finishes any seal left half-made, claims and finishes this run's seals, one
//! after another while its budget allows, archiving each to S3 when archiving is on, then logs
//! D1's size and applies retention. The statements, every check and how far a run goes come from
//! the core (`crate::seal`, `crate::archive`); this only runs them against D1 and S3.

use std::fmt;
use std::time::{Duration, UNIX_EPOCH};

use worker::{D1Database, Env};

use super::audit::{BINDING, prepare};
use super::convert;
use crate::archive::{Archive, ArchiveError, Archiving, Storage, retention};
use crate::audit::Statement;
use crate::seal::{Budget, Evidence, MalformedSeal, Row, Run, Seal, SealError, Sealer};

/// How long to wait for S3's reply headers when archiving.
const S3_TIMEOUT: Duration = Duration::from_secs(30);

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
    storage: &Storage,
    scheduled_ms: i64,
    now_ms: i64,
) -> Result<(), RunError> {
    let db = env.d1(BINDING)?;
    let mut run = Run::new(Budget::CRON, scheduled_ms, now_ms);
    if storage.archive.is_some() {
        run = run.archiving();
    }
    let mut archiving = ArchiveState::Off;
    // A failure to seal (a full D1 refuses the claim first) must not keep the archive backlog
    // and retention from freeing space: they run all the same, and the failure is reported
    // after. Both only ever touch what earlier, finished seals allow.
    let sealing = seal_all(&db, sealer, storage, &mut run, &mut archiving, scheduled_ms).await;
    // Except a claim no run of these settings makes: someone wrote to audit_seals, and nothing
    // is deleted on the word of that table until an operator has looked.
    if let Err(RunError::Seal(e)) = &sealing
        && e.is_refused_claim()
    {
        return sealing;
    }
    // Then a backlog (after S3 was unreachable, or when archiving was turned on).
    if let Some(archive) = &storage.archive {
        while run.next_archive(clock()) {
            archive_next(&db, archive, &mut run, &mut archiving).await;
        }
    }
    let retained = retain(&db, storage, &mut run, &archiving, now_ms).await;
    sealing.and(retained)
}

/// Finishes a claim left half-made, then claims and finishes this run's seals while the budget
/// allows, archiving each as it is made.
async fn seal_all(
    db: &D1Database,
    sealer: &Sealer,
    storage: &Storage,
    run: &mut Run,
    archiving: &mut ArchiveState,
    scheduled_ms: i64,
) -> Result<(), RunError> {
    // A run that stopped half-way left a claim; it must be finished before the next is made.
    finish_pending(db, sealer, run, scheduled_ms.max(clock())).await?;
    while let Some(seal_ms) = run.next_seal(clock()) {
        let began = clock();
        let claimed = prepare(db, sealer.claim(seal_ms))?.run().await?;
        run.count(0);
        let claimed = claimed.meta()?.and_then(|m| m.changes) == Some(1);
        // No honest claim is scheduled after both this run and the clock.
        let latest_ms = scheduled_ms.max(clock());
        // Finishes this claim, or the one that kept it from being made (another run's, which
        // this run may finish as well: both write the same seal).
        let ids = finish_pending(db, sealer, run, latest_ms).await?;
        run.sealed(began, claimed, ids.unwrap_or(0), clock());
        // Each seal is archived as it is made, oldest waiting first, so archiving keeps up.
        if let Some(archive) = &storage.archive {
            archive_next(db, archive, run, archiving).await;
        }
    }
    Ok(())
}

/// Logs D1's size, then deletes what retention and the size budget allow, step by step while
/// the budget allows.
async fn retain(
    db: &D1Database,
    storage: &Storage,
    run: &mut Run,
    archiving: &ArchiveState,
    now_ms: i64,
) -> Result<(), RunError> {
    let size = log_storage(db, storage, run, archiving).await?;
    let mut over_budget = size.is_some_and(|bytes| storage.over_budget(bytes));
    let mut deleted = None;
    while run.next_purge(deleted, clock()) {
        let began = clock();
        let latest = seal(db, run, Sealer::latest_finished()).await?;
        let statements = if storage.archive.is_some() {
            retention::step(latest.as_ref(), now_ms, over_budget)
        } else {
            Sealer::retention(latest.as_ref(), now_ms)
        };
        let deleting = storage.archive.is_some() || latest.is_some_and(|s| s.purged_through > 0);
        let statements = statements
            .into_iter()
            .map(|s| prepare(db, s))
            .collect::<worker::Result<Vec<_>>>()?;
        // One transaction: rows and the manifests that list them go together.
        let results = db.batch(statements).await?;
        run.count(0);
        // The first statement deletes rows when there are any to delete; otherwise nothing was.
        let meta = match results.first() {
            Some(result) if deleting => result.meta()?,
            _ => None,
        };
        let removed = meta
            .as_ref()
            .and_then(|m| m.changes)
            .and_then(|n| i64::try_from(n).ok())
            .unwrap_or(0);
        let size = meta.and_then(|m| m.size_after).map(|n| n as u64);
        if removed > 0 {
            worker::console_log!(
                "audit retention: deleted {removed} rows{}, D1 now {} bytes",
                if over_budget {
                    " (over the size budget)"
                } else {
                    ""
                },
                size.map_or_else(|| "?".to_owned(), |n| n.to_string())
            );
        }
        if let Some(bytes) = size {
            over_budget = storage.over_budget(bytes);
        }
        deleted = Some(removed);
        run.purged(began, clock());
    }
    Ok(())
}

/// How archiving went in this run, for the log line.
enum ArchiveState {
    Off,
    Ok,
    Failed,
}

impl ArchiveState {
    fn as_str(&self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Ok => "ok",
            Self::Failed => "failed",
        }
    }
}

/// Archives the oldest finished seal not yet archived, if any. A failure is logged and leaves
/// the seal unarchived (its rows stay in D1); the next run tries again.
async fn archive_next(db: &D1Database, archive: &Archive, run: &mut Run, state: &mut ArchiveState) {
    if !run.next_archive(clock()) {
        return;
    }
    let began = clock();
    let outcome = archive_one(db, archive, run).await;
    let archived = match outcome {
        Ok(Some((seq, rows, bytes))) => {
            worker::console_log!(
                "audit archived: seal {seq}, {rows} rows, {bytes} bytes in {} ms",
                clock() - began
            );
            *state = ArchiveState::Ok;
            true
        }
        Ok(None) => {
            if matches!(state, ArchiveState::Off) {
                *state = ArchiveState::Ok;
            }
            false
        }
        Err(err) => {
            worker::console_error!("audit archiving failed: {err}");
            *state = ArchiveState::Failed;
            false
        }
    };
    run.archived(began, archived, clock());
}

/// Why a seal could not be archived.
enum ArchiveFault {
    Database(worker::Error),
    Archive(ArchiveError),
}

impl From<worker::Error> for ArchiveFault {
    fn from(e: worker::Error) -> Self {
        Self::Database(e)
    }
}

impl From<ArchiveError> for ArchiveFault {
    fn from(e: ArchiveError) -> Self {
        Self::Archive(e)
    }
}

impl fmt::Display for ArchiveFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Database(e) => write!(f, "D1: {e}"),
            Self::Archive(e) => e.fmt(f),
        }
    }
}

/// Writes the next seal's objects, reads each back and checks its SHA-256, and only then records
/// the seal as archived. Returns the seal's number, rows and bytes written (`None` if no seal
/// was waiting).
async fn archive_one(
    db: &D1Database,
    archive: &Archive,
    run: &mut Run,
) -> Result<Option<(i64, i64, usize)>, ArchiveFault> {
    let rows: Vec<Row> = prepare(db, Archiving::next())?.all().await?.results()?;
    run.count(0);
    let Some(row) = rows.into_iter().next() else {
        return Ok(None);
    };
    let mut archiving = Archiving::begin(archive.prefix(), row)?;
    while let Some(page) = archiving.next_page() {
        let rows: Vec<Row> = prepare(db, page)?.all().await?.results()?;
        run.count(rows.len());
        archiving.add(&rows)?;
    }
    let seal = archiving.seal().clone();
    let objects = archiving.finish()?;
    for object in &objects {
        let now = UNIX_EPOCH + Duration::from_millis(u64::try_from(clock()).unwrap_or(0));
        let body = worker::js_sys::Uint8Array::from(object.body.as_slice());
        let put = convert::send(archive.put(object, now)?, Some(body.into()), S3_TIMEOUT)
            .await
            .map_err(|_| ArchiveError::unreachable(&object.key))?;
        run.count(0);
        if !(200..300).contains(&put.status_code()) {
            return Err(ArchiveError::refused(&object.key, put.status_code()).into());
        }
        let mut got = convert::send(archive.get(object, now)?, None, S3_TIMEOUT)
            .await
            .map_err(|_| ArchiveError::unreachable(&object.key))?;
        run.count(0);
        let read = got
            .bytes()
            .await
            .map_err(|_| ArchiveError::read_back(&object.key))?;
        if got.status_code() != 200 || !object.matches(&read) {
            return Err(ArchiveError::read_back(&object.key).into());
        }
    }
    prepare(db, Archiving::record(&seal, &objects, clock()))?
        .run()
        .await?;
    run.count(0);
    let rows = objects.iter().map(|o| o.rows).sum();
    let bytes = objects.iter().map(|o| o.body.len()).sum();
    Ok(Some((seal.seq, rows, bytes)))
}

/// Logs D1's size and the rows it holds, one JSON line per run, and returns the size (bytes) if
/// D1 reported it.
async fn log_storage(
    db: &D1Database,
    storage: &Storage,
    run: &mut Run,
    archiving: &ArchiveState,
) -> Result<Option<u64>, RunError> {
    let result = prepare(db, retention::storage())?.all().await?;
    run.count(0);
    let size = result.meta()?.and_then(|m| m.size_after).map(|n| n as u64);
    let stats: Vec<serde_json::Value> = result.results()?;
    let field = |name: &str| {
        stats
            .first()
            .and_then(|row| row.get(name))
            .and_then(serde_json::Value::as_i64)
            .unwrap_or(0)
    };
    let line = serde_json::json!({
        "event": "audit_storage",
        "size_bytes": size,
        "size_budget_bytes": storage.budget.bytes(),
        "over_budget": size.is_some_and(|bytes| storage.over_budget(bytes)),
        "rows": field("rows"),
        "first_id": field("first_id"),
        "last_id": field("last_id"),
        "archived_through": field("archived_through"),
        "archive": archiving.as_str(),
        "seals": run.seals(),
        "archives": run.archives(),
        "d1_calls": run.queries(),
    });
    worker::console_log!("{line}");
    Ok(size)
}

/// The clock, in ms since the Unix epoch. In a Worker it moves on only across I/O, which is what
/// a run's budget needs: every step is a D1 call.
fn clock() -> i64 {
    i64::try_from(super::now_ms()).unwrap_or(i64::MAX)
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

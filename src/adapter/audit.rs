//! The audit trail of one request, written to D1.
//!
//! A request's row goes to D1 in a statement shared with the rows of the requests that arrived
//! with it, which also carries the outcomes of earlier requests waiting in the isolate
//! ([`super::commit`]). A read's row is written as
//! pending while S3 is asked, and no byte is released until both have answered; its outcome is
//! written off the critical path, once the relay ends, riding a later request's statement. A
//! write's row is inserted as pending before a byte goes to S3, by one statement that also spends
//! its grant's id, and completed with the outcome. A refusal's row is written before the refusal
//! is returned; the flood bound of [`crate::flood`] decides, from the facts this trail gathered
//! (did a signature verify, was S3 asked), whether it may be only counted. Every value is a bound
//! parameter.

use std::cell::{Cell, OnceCell, RefCell};
use std::future::Future;

use worker::wasm_bindgen::JsValue;
use worker::{Context, D1Database, D1PreparedStatement, Env, Response};

use super::commit;
use crate::Error;
use crate::audit::{AuditRecord, Entry, INSERT_RETURNING_SQL, PENDING_STATUS, SqlValue, Statement};
use crate::flood::{Admission, DenialBudget, Refusal};
use crate::grant::GrantError;
use crate::replay;

/// The D1 binding name in wrangler.toml.
pub(super) const BINDING: &str = "AUDIT_DB";

thread_local! {
    /// Refusals counted in this isolate this minute, which bound how much a flood can write.
    static DENIALS: RefCell<DenialBudget> = RefCell::new(DenialBudget::default());
    /// When this isolate last purged spent grant ids; see [`PURGE_EVERY_MS`].
    static PURGED_MS: Cell<i64> = const { Cell::new(i64::MIN) };
}

/// How often an isolate purges spent grant ids with a write. Purging is only housekeeping (a
/// spent id is refused whether or not expired ones are still there), so once a minute keeps the
/// table small without a third statement in every write.
const PURGE_EVERY_MS: i64 = 60_000;

/// The row id a D1 `RETURNING id` gives back.
#[derive(serde::Deserialize)]
pub(super) struct Inserted {
    pub(super) id: i64,
}

/// A row recorded as pending, waiting for its outcome.
#[derive(Clone, Copy)]
enum Pending {
    Write(i64),
    Read(i64),
}

/// One request's audit record and where it stands in D1.
pub(super) struct Trail<'a> {
    env: &'a Env,
    /// The request's context, which keeps a statement it sends for others alive.
    ctx: &'a Context,
    /// The record, filled in as the request proceeds.
    pub(super) record: AuditRecord,
    /// The row recorded as pending, if any.
    pending: Option<Pending>,
    /// Some grant's signature verified: a refusal is then recorded in full, never flood-bounded.
    pub(super) signed: bool,
    /// S3 was asked: likewise.
    pub(super) reached_s3: bool,
}

impl<'a> Trail<'a> {
    pub(super) fn new(env: &'a Env, ctx: &'a Context, record: AuditRecord) -> Self {
        Self {
            env,
            ctx,
            record,
            pending: None,
            signed: false,
            reached_s3: false,
        }
    }

    /// The Worker's environment, for the statements a request makes beside its audit row.
    pub(super) fn env(&self) -> &'a Env {
        self.env
    }

    fn db(&self) -> Result<D1Database, Error> {
        self.env.d1(BINDING).map_err(|_| Error::audit_unavailable())
    }

    /// Asks S3 for a read (`ask`) while inserting the read's row as pending, and waits for both:
    /// the read waits for the longer round trip, not their sum. If the row cannot be inserted the
    /// read fails with `audit_unavailable` and S3's reply, whatever it was, is discarded unread.
    pub(super) async fn begin_read(
        &mut self,
        ask: impl Future<Output = Result<Response, Error>>,
    ) -> Result<Response, Error> {
        self.record.decision = "allowed";
        self.record.status = PENDING_STATUS;
        let started = super::now_ms();
        let insert = async {
            let inserted =
                commit::record(self.env, self.ctx, Entry::Record(self.record.clone())).await;
            (inserted, super::now_ms())
        };
        let ask = async {
            let reply = ask.await;
            (reply, super::now_ms())
        };
        let ((inserted, d1_done), (reply, s3_done)) = futures_util::future::join(insert, ask).await;
        self.record.d1_ms = Some(d1_done.saturating_sub(started));
        self.record.s3_ms = Some(s3_done.saturating_sub(started));
        let Ok(id) = inserted else {
            worker::console_error!("recording a read failed; refusing to serve it");
            reply.map(super::convert::discard).ok();
            return Err(Error::audit_unavailable());
        };
        self.pending = Some(Pending::Read(id));
        reply
    }

    /// The completion of a read's pending row, once the reply (`status`) is built, to run when
    /// its relay has ended; `None` if no read is pending.
    pub(super) fn read_end(&mut self, status: u16) -> Option<ReadEnd> {
        let Some(Pending::Read(id)) = self.pending else {
            return None;
        };
        self.pending = None;
        self.record.status = status;
        self.record.duration_ms = Some(self.elapsed_ms());
        // The trail ends here: its record goes with the completion rather than as a copy.
        Some(ReadEnd {
            env: self.env.clone(),
            id,
            record: std::mem::take(&mut self.record),
        })
    }

    /// Records a write before it starts: inserts its row as pending, which spends its grant ids
    /// (see [`replay::spend`]), in one statement (with, once a minute, a purge of ids that can no
    /// longer be used, in the same transaction).
    ///
    /// A spent id fails the whole transaction (`grant_replayed`); any other failure is
    /// `audit_unavailable`. Either way nothing has been sent to S3.
    pub(super) async fn begin_write(&mut self, spent: &[replay::Spent]) -> Result<(), Error> {
        self.record.decision = "allowed";
        self.record.status = PENDING_STATUS;

        let db = self.db()?;
        // Only the pending row spends: the record's later rows (its outcome, or a refusal if
        // this fails) must not spend again.
        self.record.spent = replay::spent_column(spent);
        let row = Statement {
            sql: INSERT_RETURNING_SQL.to_owned(),
            params: self.record.params(),
        };
        self.record.spent = None;
        let purge = PURGED_MS.with(|last| {
            let due = self.record.time_ms.saturating_sub(last.get()) >= PURGE_EVERY_MS;
            due.then(|| {
                last.set(self.record.time_ms);
                replay::purge(self.record.time_ms)
            })
        });
        let statements: Vec<Statement> = [purge, Some(row)].into_iter().flatten().collect();
        trace(self.env, statements.len());
        let statements = statements
            .into_iter()
            .map(|s| prepare(&db, s))
            .collect::<worker::Result<Vec<_>>>()
            .map_err(|_| Error::audit_unavailable())?;
        let results = match db.batch(statements).await {
            Ok(results) => results,
            Err(e) if replay::is_replay(&e.to_string()) => {
                return Err(GrantError::replayed().into());
            }
            Err(e) => {
                worker::console_error!("recording a write failed; refusing it: {e}");
                return Err(Error::audit_unavailable());
            }
        };
        let id = results
            .last()
            .and_then(|r| r.results::<Inserted>().ok())
            .and_then(|rows| rows.first().map(|row| row.id));
        self.pending = Some(Pending::Write(id.ok_or_else(|| {
            worker::console_error!("recording a write returned no row id");
            Error::audit_unavailable()
        })?));
        Ok(())
    }

    /// Writes the outcome: completes a write's pending row, or writes the row of a refusal. An
    /// allowed read is completed by [`Trail::read_end`] instead, once its relay has ended. A
    /// refusal is returned even if the log cannot take it, since nothing was served; the failure
    /// is logged for the operator.
    pub(super) async fn finish(&mut self, outcome: Result<u16, &Error>) {
        match outcome {
            Ok(status) => self.record.status = status,
            Err(err) => {
                self.record.decision = err.code();
                self.record.status = err.status().as_u16();
                self.record.s3_status = err.upstream_status().map(|s| s.as_u16());
            }
        }
        self.record.duration_ms = Some(self.elapsed_ms());
        let entry = match (self.pending.take(), outcome) {
            (Some(Pending::Write(id) | Pending::Read(id)), _) => Entry::Outcome {
                id,
                record: self.record.clone(),
                // A failed read streamed nothing; a write streams nothing back.
                body_relayed: None,
            },
            (None, Err(_)) => {
                let refusal = Refusal {
                    ip: self.record.ip.as_deref().and_then(|ip| ip.parse().ok()),
                    signed: self.signed,
                    reached_s3: self.reached_s3,
                };
                match DENIALS.with(|d| d.borrow_mut().admit(&refusal, self.record.time_ms)) {
                    Admission::Record => Entry::Record(self.record.clone()),
                    Admission::Summarise(summary) => {
                        trace(self.env, 1);
                        if let Err(db) = run(self.env, summary).await {
                            worker::console_error!("recording a flood summary failed: {db}");
                        }
                        return;
                    }
                    Admission::Count => return,
                }
            }
            (None, Ok(_)) => return,
        };
        match entry {
            Entry::Record(_) => {
                if commit::record(self.env, self.ctx, entry).await.is_err() {
                    worker::console_error!("audit write failed after the outcome was decided");
                }
            }
            Entry::Outcome { .. } => commit::outcome(self.env, entry).await,
        }
    }

    fn elapsed_ms(&self) -> u64 {
        super::now_ms().saturating_sub(self.record.time_ms.unsigned_abs())
    }
}

/// What completes a read's pending row once its relay has ended.
pub(super) struct ReadEnd {
    env: Env,
    id: i64,
    record: AuditRecord,
}

impl ReadEnd {
    /// Completes the row, riding the next batch: `body_relayed` is whether a streamed body was
    /// relayed to its end, `None` for a reply without one. The read that finds no flusher
    /// running becomes the flusher.
    pub(super) async fn run(self, body_relayed: Option<bool>) {
        let entry = Entry::Outcome {
            id: self.id,
            record: self.record,
            body_relayed,
        };
        if commit::queue_read(entry) {
            commit::flusher(&self.env).await;
        }
    }
}

thread_local! {
    /// Whether `AUDIT_TRACE` is `on`: a setting cannot change within an isolate, so it is read
    /// once, not on every D1 call.
    static TRACING: OnceCell<bool> = const { OnceCell::new() };
}

/// With the setting `AUDIT_TRACE = "on"`, logs each D1 call the audit makes, for the benchmark
/// to count statements and transactions per request.
pub(super) fn trace(env: &Env, statements: usize) {
    if tracing(env) {
        worker::console_log!("s3gk-d1 statements={statements} transactions=1");
    }
}

/// Whether `AUDIT_TRACE` is `on`.
pub(super) fn tracing(env: &Env) -> bool {
    TRACING
        .with(|on| *on.get_or_init(|| env.var("AUDIT_TRACE").is_ok_and(|v| v.to_string() == "on")))
}

/// Runs one statement whose outcome the request does not wait on.
async fn run(env: &Env, statement: Statement) -> worker::Result<()> {
    prepare(&env.d1(BINDING)?, statement)?.run().await.map(drop)
}

/// A statement bound to its parameters, ready to run or to batch.
pub(super) fn prepare(
    db: &D1Database,
    statement: Statement,
) -> worker::Result<D1PreparedStatement> {
    let params: Vec<JsValue> = statement.params.into_iter().map(js).collect();
    db.prepare(statement.sql).bind(&params)
}

/// A parameter as D1 binds it.
fn js(value: SqlValue) -> JsValue {
    match value {
        SqlValue::Null => JsValue::NULL,
        // D1 binds JavaScript numbers; every integer in a record is far below 2^53.
        #[allow(clippy::cast_precision_loss)]
        SqlValue::Integer(n) => JsValue::from_f64(n as f64),
        SqlValue::Text(s) => JsValue::from_str(&s),
    }
}

//! The audit trail of one request, written to D1.
//!
//! A read's row is inserted as pending while S3 is asked, and no byte is released until both have
//! answered; it is completed, in one statement off the critical path, when the relay ends. A
//! write's row is inserted as pending before a byte goes to S3 (in the same transaction that
//! spends its grant's id), then completed with the outcome. A refusal's row is inserted at the end; the
//! flood bound of [`crate::flood`] decides, from the facts this trail gathered (did a signature
//! verify, was S3 asked), whether it may be only counted. Every value is a bound parameter.

use std::cell::RefCell;
use std::future::Future;

use worker::wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, Date, Env, Response};

use crate::Error;
use crate::audit::{
    AuditRecord, COMPLETE_SQL, INSERT_RETURNING_SQL, INSERT_SQL, PENDING_STATUS, SqlValue,
    Statement,
};
use crate::flood::{Admission, DenialBudget, Refusal};
use crate::grant::GrantError;
use crate::replay;

/// The D1 binding name in wrangler.toml.
pub(super) const BINDING: &str = "AUDIT_DB";

thread_local! {
    /// Refusals counted in this isolate this minute, which bound how much a flood can write.
    static DENIALS: RefCell<DenialBudget> = RefCell::new(DenialBudget::default());
}

/// The row id a D1 `RETURNING id` gives back.
#[derive(serde::Deserialize)]
struct Inserted {
    id: i64,
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
    pub(super) fn new(env: &'a Env, record: AuditRecord) -> Self {
        Self {
            env,
            record,
            pending: None,
            signed: false,
            reached_s3: false,
        }
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
        let row = Statement {
            sql: INSERT_RETURNING_SQL.to_owned(),
            params: self.record.params(),
        };
        let statement = prepare(&self.db()?, row).map_err(|_| Error::audit_unavailable())?;
        let started = Date::now().as_millis();
        let insert = async {
            let inserted = statement.first::<Inserted>(None).await;
            (inserted, Date::now().as_millis())
        };
        let ask = async {
            let reply = ask.await;
            (reply, Date::now().as_millis())
        };
        let ((inserted, d1_done), (reply, s3_done)) = futures_util::future::join(insert, ask).await;
        self.record.d1_ms = Some(d1_done.saturating_sub(started));
        self.record.s3_ms = Some(s3_done.saturating_sub(started));
        let id = match inserted {
            Ok(Some(row)) => row.id,
            Ok(None) => {
                worker::console_error!("recording a read returned no row id");
                reply.map(super::convert::discard).ok();
                return Err(Error::audit_unavailable());
            }
            Err(db) => {
                worker::console_error!("audit write failed; refusing to serve: {db}");
                reply.map(super::convert::discard).ok();
                return Err(Error::audit_unavailable());
            }
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
        Some(ReadEnd {
            env: self.env.clone(),
            id,
            record: self.record.clone(),
        })
    }

    /// Records a write before it starts: purges grant ids that can no longer be used, spends this
    /// request's, and inserts its row as pending, in one transaction.
    ///
    /// A spent id fails the whole transaction (`grant_replayed`); any other failure is
    /// `audit_unavailable`. Either way nothing has been sent to S3.
    pub(super) async fn begin_write(&mut self, spend: Option<Statement>) -> Result<(), Error> {
        self.record.decision = "allowed";
        self.record.status = PENDING_STATUS;
        let db = self.db()?;
        let row = Statement {
            sql: INSERT_RETURNING_SQL.to_owned(),
            params: self.record.params(),
        };
        let statements = [Some(replay::purge(self.record.time_ms)), spend, Some(row)]
            .into_iter()
            .flatten()
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

    /// Writes the outcome: completes a pending row, or inserts the row of a refusal. An allowed
    /// read is completed by [`Trail::read_end`] instead, when its relay has ended. A refusal is returned even if the log cannot take
    /// it, since nothing was served; the failure is logged for the operator.
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
        let statement = match (self.pending.take(), outcome) {
            (Some(Pending::Write(id)), _) => Statement {
                sql: COMPLETE_SQL.to_owned(),
                params: self.record.completion_params(id),
            },
            // A read that reached S3 and failed: nothing was streamed.
            (Some(Pending::Read(id)), _) => self.record.read_end(id, None),
            (None, Err(_)) => {
                let refusal = Refusal {
                    ip: self.record.ip.as_deref().and_then(|ip| ip.parse().ok()),
                    signed: self.signed,
                    reached_s3: self.reached_s3,
                };
                match DENIALS.with(|d| d.borrow_mut().admit(&refusal, self.record.time_ms)) {
                    Admission::Record => Statement {
                        sql: INSERT_SQL.to_owned(),
                        params: self.record.params(),
                    },
                    Admission::Summarise(summary) => summary,
                    Admission::Count => return,
                }
            }
            (None, Ok(_)) => return,
        };
        if let Err(db) = run(self.env, statement).await {
            worker::console_error!("audit write failed after the outcome was decided: {db}");
        }
    }

    fn elapsed_ms(&self) -> u64 {
        Date::now()
            .as_millis()
            .saturating_sub(self.record.time_ms.unsigned_abs())
    }
}

/// What completes a read's pending row once its relay has ended.
pub(super) struct ReadEnd {
    env: Env,
    id: i64,
    record: AuditRecord,
}

impl ReadEnd {
    /// Completes the row: `body_relayed` is whether a streamed body was relayed to its end,
    /// `None` for a reply without one.
    pub(super) async fn run(self, body_relayed: Option<bool>) {
        if let Err(db) = run(&self.env, self.record.read_end(self.id, body_relayed)).await {
            worker::console_error!("completing a read's audit row failed: {db}");
        }
    }
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

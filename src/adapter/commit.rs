//! Group commit of audit rows across the concurrent requests of one isolate.
//!
//! One isolate serves many requests at once. Each request that needs a row written puts an
//! [`Entry`] in the isolate's queue. When no batch is in flight, that request leads: it sends
//! every waiting entry to D1 as one [`Batch`] (one statement, one transaction). While a batch is
//! in flight, entries wait behind it; when it settles, its leader hands the lead to a waiting
//! request, which sends the next batch. So at most one batch per isolate is in flight, and under
//! load each batch carries the rows that arrived during the last one.
//!
//! Why this is sound in workerd, which forbids one request from doing I/O for another:
//! - A batch's D1 call is made, and awaited, in the context of the request that leads it, inside
//!   that request's `waitUntil`: a caller who disconnects does not cancel it.
//! - Each waiting request awaits a promise it created itself. The leader only settles it, with a
//!   plain number. workerd runs the continuation of a promise settled from another request in
//!   the context that created it (`handle_cross_request_promise_resolution`, on for compatibility
//!   dates from 2024-10-14), so the waiting request goes on in its own context, never the leader's.
//! - A waiting request also arms a timer of its own, so the runtime never takes it for hung; the
//!   timer is also the deadline after which it fails closed.
//! - Taking the lead is itself a promise settled by the previous leader, so every batch is sent
//!   from the context of a request whose row is in it.
//!
//! If a request given the lead was torn down before sending its batch, a waiting request takes
//! the lead over after [`HANDOVER`]; if a batch goes unanswered, after [`DEADLINE`].

use std::cell::RefCell;
use std::time::Duration;

use futures_util::future::{Either, select};
use worker::js_sys::{Function, Promise};
use worker::wasm_bindgen::JsValue;
use worker::wasm_bindgen_futures::JsFuture;
use worker::{Context, Date, Delay, Env};

use super::audit::{Inserted, prepare, trace};
use crate::Error;
use crate::audit::{Batch, Entry, MAX_ENTRIES};

/// How long a request waits for its row before failing closed, and how long a leader may hold
/// the lead.
const DEADLINE: Duration = Duration::from_secs(10);

/// How long an outcome, which no caller waits for, waits for a batch to ride before sending one
/// of its own: long enough to meet the next request under any steady traffic.
const LINGER: Duration = Duration::from_millis(100);

/// How soon a request given the lead must send its batch. A request is given the lead by
/// settling its promise; if it was torn down meanwhile (its caller went away), it never sends,
/// and a waiting request takes the lead over after this long.
const HANDOVER: Duration = Duration::from_secs(1);

/// What a waiting request's promise is resolved with when it is to lead the next batch. A row's
/// id is never negative.
const LEAD: f64 = -1.0;

/// What an outcome that did not change its row is resolved with.
const UNCHANGED: f64 = 0.0;

thread_local! {
    static QUEUE: RefCell<Queue> = RefCell::new(Queue::default());
}

/// An entry waiting for a batch, and how to tell its request what became of it.
struct Waiter {
    ticket: u64,
    entry: Entry,
    settle: Settle,
}

/// The resolving functions of a promise its request awaits.
struct Settle {
    resolve: Function,
    reject: Function,
}

impl Settle {
    fn resolve(&self, value: f64) {
        // Calling a promise's own resolving function cannot throw.
        let _ = self
            .resolve
            .call1(&JsValue::NULL, &JsValue::from_f64(value));
    }

    fn reject(&self) {
        let _ = self
            .reject
            .call1(&JsValue::NULL, &JsValue::from_str("audit batch failed"));
    }
}

/// A fresh promise and its resolving functions.
fn promise() -> Result<(Promise, Settle), Error> {
    let mut settle = None;
    let promise = Promise::new(&mut |resolve, reject| settle = Some(Settle { resolve, reject }));
    // The executor runs synchronously, inside `Promise::new`, so this never fails.
    settle.map(|s| (promise, s)).ok_or_else(Error::internal)
}

#[derive(Default)]
struct Queue {
    next_ticket: u64,
    waiting: Vec<Waiter>,
    lead: Option<Lead>,
}

/// The batch in flight.
struct Lead {
    generation: u64,
    /// When the lead was taken or handed on, or when its batch was sent.
    since_ms: u64,
    /// Whether its batch has been sent.
    sending: bool,
}

impl Lead {
    /// A lead is given up for lost if its request has not sent its batch within [`HANDOVER`]
    /// (it was torn down before it could), or if its batch is unanswered after [`DEADLINE`].
    fn lost(&self, now_ms: u64) -> bool {
        let limit = if self.sending { DEADLINE } else { HANDOVER };
        now_ms.saturating_sub(self.since_ms) >= millis(limit)
    }
}

impl Queue {
    /// Takes the lead if nobody holds it, or if it was lost.
    fn claim(&mut self, now_ms: u64) -> Option<u64> {
        if self.lead.as_ref().is_some_and(|l| !l.lost(now_ms)) {
            return None;
        }
        let generation = self.lead.as_ref().map_or(0, |l| l.generation) + 1;
        self.lead = Some(Lead {
            generation,
            since_ms: now_ms,
            sending: false,
        });
        Some(generation)
    }

    fn position(&self, ticket: u64) -> Option<usize> {
        self.waiting.iter().position(|w| w.ticket == ticket)
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Where the request that submits an entry is running, which decides how it leads a batch.
#[derive(Clone, Copy)]
pub(super) enum Host<'a> {
    /// Handling its request: a batch it leads runs in that request's `waitUntil`, so that a
    /// caller who disconnects cancels none of it.
    Request(&'a Context),
    /// Already inside its request's `waitUntil`, which keeps the request alive until the entry
    /// is written: a batch it leads runs as a task beside it.
    WaitUntil,
}

/// Writes `entry` in the next batch and returns what it got (see [`Batch::written`]): a new
/// row's id, or for an outcome the id of the row it completed.
///
/// With `linger`, the entry waits up to [`LINGER`] to ride a batch led by another request before
/// leading one itself.
///
/// # Errors
///
/// `audit_unavailable` if the batch failed, or if nothing was heard of it by [`DEADLINE`].
pub(super) async fn submit(
    host: Host<'_>,
    env: &Env,
    entry: Entry,
    linger: bool,
) -> Result<Option<i64>, Error> {
    let started = Date::now().as_millis();
    let (mut waiting, settle) = promise()?;
    let (ticket, lead) = QUEUE.with(|q| {
        let mut q = q.borrow_mut();
        q.next_ticket += 1;
        let ticket = q.next_ticket;
        q.waiting.push(Waiter {
            ticket,
            entry,
            settle,
        });
        (ticket, if linger { None } else { q.claim(started) })
    });
    if let Some(generation) = lead {
        lead_batch(host, env, generation);
    }
    let mut lingering = linger;
    loop {
        let elapsed = Duration::from_millis(Date::now().as_millis().saturating_sub(started));
        let Some(left) = DEADLINE.checked_sub(elapsed).filter(|d| !d.is_zero()) else {
            QUEUE.with(|q| {
                let mut q = q.borrow_mut();
                if let Some(at) = q.position(ticket) {
                    q.waiting.remove(at);
                }
            });
            worker::console_error!("no audit batch answered within {DEADLINE:?}; failing");
            return Err(Error::audit_unavailable());
        };
        // Wake now and then: to lead once lingering is over, or if the lead was lost.
        let wait = left.min(if lingering { LINGER } else { HANDOVER });
        let settled = JsFuture::from(waiting.clone());
        let timer = Delay::from(wait);
        match select(settled, timer).await {
            Either::Left((Ok(value), _)) if value.as_f64() == Some(LEAD) => {
                let (next, settle) = promise()?;
                let generation = QUEUE.with(|q| {
                    let mut q = q.borrow_mut();
                    let at = q.position(ticket)?;
                    q.waiting[at].settle = settle;
                    q.lead.as_ref().map(|l| l.generation)
                });
                // Our entry went out in a batch whose answer reached the old promise, already
                // settled: what became of it is unknown, so the request fails closed.
                let Some(generation) = generation else {
                    return Err(Error::audit_unavailable());
                };
                waiting = next;
                lead_batch(host, env, generation);
            }
            Either::Left((Ok(value), _)) => {
                return Ok(value.as_f64().filter(|v| *v > UNCHANGED).map(id_from_f64));
            }
            Either::Left((Err(_), _)) => return Err(Error::audit_unavailable()),
            Either::Right(((), _)) => {
                lingering = false;
                let lead = QUEUE.with(|q| {
                    let mut q = q.borrow_mut();
                    q.position(ticket)?;
                    q.claim(Date::now().as_millis())
                });
                if let Some(generation) = lead {
                    lead_batch(host, env, generation);
                }
            }
        }
    }
}

/// A row id as D1 returns it: a JavaScript number, always a whole one well below 2^53.
#[allow(clippy::cast_possible_truncation)]
fn id_from_f64(v: f64) -> i64 {
    v as i64
}

/// Sends the next batch from this request's context.
fn lead_batch(host: Host<'_>, env: &Env, generation: u64) {
    let env = env.clone();
    let batch = async move { flush(&env, generation).await };
    match host {
        Host::Request(ctx) => ctx.wait_until(batch),
        Host::WaitUntil => worker::wasm_bindgen_futures::spawn_local(batch),
    }
}

/// Sends up to [`MAX_ENTRIES`] waiting entries as one batch, tells each request what became of
/// its entry, then hands the lead on.
async fn flush(env: &Env, generation: u64) {
    let waiters: Vec<Waiter> = QUEUE.with(|q| {
        let mut q = q.borrow_mut();
        if let Some(lead) = q.lead.as_mut().filter(|l| l.generation == generation) {
            lead.sending = true;
            lead.since_ms = Date::now().as_millis();
        }
        let n = q.waiting.len().min(MAX_ENTRIES);
        q.waiting.drain(..n).collect()
    });
    if !waiters.is_empty() {
        let mut batch = Batch::default();
        let mut settles = Vec::with_capacity(waiters.len());
        for waiter in waiters {
            batch.push(waiter.entry);
            settles.push(waiter.settle);
        }
        if let Ok(written) = write(env, &batch).await {
            resolve(&settles, written);
        } else {
            failed(env, batch, settles).await;
        }
    }
    QUEUE.with(|q| {
        let mut q = q.borrow_mut();
        if q.lead.as_ref().map(|l| l.generation) != Some(generation) {
            // The lead was taken over while this batch was in flight.
            return;
        }
        match q.waiting.last() {
            // The newest waiter has the most time left to lead.
            Some(next) => {
                next.settle.resolve(LEAD);
                if let Some(lead) = q.lead.as_mut() {
                    lead.since_ms = Date::now().as_millis();
                    lead.sending = false;
                }
            }
            None => q.lead = None,
        }
    });
}

/// After a batch failed: every request whose row was in it fails closed. An outcome, though, may
/// have failed only because a row beside it was refused: outcomes are written again, once, on
/// their own, so that one bad row leaves no other row pending.
async fn failed(env: &Env, batch: Batch, settles: Vec<Settle>) {
    let has_rows = batch.entries().any(|e| matches!(e, Entry::Record(_)));
    let mut retry = Batch::default();
    let mut retry_settles = Vec::new();
    for (entry, settle) in batch.into_entries().into_iter().zip(settles) {
        if has_rows && matches!(entry, Entry::Outcome { .. }) {
            retry.push(entry);
            retry_settles.push(settle);
        } else {
            settle.reject();
        }
    }
    if retry.is_empty() {
        return;
    }
    if let Ok(written) = write(env, &retry).await {
        resolve(&retry_settles, written);
    } else {
        retry_settles.iter().for_each(Settle::reject);
    }
}

/// Tells each request what its entry got.
fn resolve(settles: &[Settle], written: Vec<Option<i64>>) {
    for (settle, id) in settles.iter().zip(written) {
        #[allow(clippy::cast_precision_loss)] // ids are far below 2^53
        settle.resolve(id.map_or(UNCHANGED, |id| id as f64));
    }
}

/// Runs a batch's statement and accounts for every row.
async fn write(env: &Env, batch: &Batch) -> Result<Vec<Option<i64>>, ()> {
    trace(env, 1);
    let statement = env
        .d1(super::audit::BINDING)
        .and_then(|db| prepare(&db, batch.statement()));
    let result = match statement {
        Ok(statement) => statement.all().await,
        Err(e) => Err(e),
    };
    let returned: Vec<i64> = match result.and_then(|r| r.results::<Inserted>()) {
        Ok(rows) => rows.into_iter().map(|r| r.id).collect(),
        Err(e) => {
            worker::console_error!("an audit batch of {} rows failed: {e}", batch.len());
            return Err(());
        }
    };
    batch.written(&returned).map_err(|e| {
        worker::console_error!("{e}");
    })
}

//! Shared statements: the rows of requests that arrive together share one statement (group
//! commit), and the outcomes of earlier reads ride it.
//!
//! A read's row is written twice: as pending before its bytes are released, and with its outcome
//! once its relay has ended. Nobody waits for the outcome, so it need not be written at once:
//! it is queued in the isolate, and the next request that writes a row of its own takes the
//! queued outcomes into its rows ([`Batch`]). And while one statement is in flight, the rows of
//! every request that arrives wait for the next, which carries them all (`commit.js`). Under
//! load a read thus costs a fraction of a statement.
//!
//! Only plain data crosses from one request to another. Each statement is made, and awaited, by
//! a request whose rows it carries, in its own context; a waiting request awaits a promise it
//! made itself, and workerd resumes it in its own context. The queue and the hand-over live in
//! JavaScript (`commit.js`, which says what workerd requires of them), so that a waiting request
//! holds no timer or task of the Worker's.
//!
//! Outcomes that no statement takes are written by the isolate's *flusher*: the request whose
//! read ended while none ran stays alive in its `waitUntil`, and every [`LINGER`] writes what is
//! still waiting, until nothing waits and nothing rides a statement in flight. Every other read
//! queues its outcome and is done: one timer per isolate instead of one per read.

use std::cell::RefCell;
use std::time::Duration;

use worker::js_sys::{Array, Promise, Reflect};
use worker::wasm_bindgen::JsValue;
use worker::wasm_bindgen::prelude::wasm_bindgen;
use worker::wasm_bindgen_futures::JsFuture;
use worker::{Context, Delay, Env};

use super::audit::{Inserted, prepare, trace, tracing};
use crate::Error;
use crate::audit::{Batch, Entry, MAX_ENTRIES, SqlValue};

/// How long an outcome waits to ride another request's statement before the flusher writes it
/// alone: long enough to meet the next request under any steady traffic.
const LINGER: Duration = Duration::from_millis(100);

/// A flusher that has not looked at the queue for five [`LINGER`]s is taken for gone (its
/// request was cancelled, or outlived), and the next read that ends becomes the flusher instead.
/// Two flushers at once do no harm: an outcome is taken by one statement at a time.
const FLUSHER_STALE_MS: u64 = 500;

thread_local! {
    /// Outcomes waiting for a statement, each with its ticket and whether it rode one that failed.
    static OUTCOMES: RefCell<Queue> = RefCell::new(Queue::default());
}

#[derive(Default)]
struct Queue {
    next_ticket: u64,
    waiting: Vec<Waiting>,
    /// Tickets of outcomes taken by a statement still in flight.
    riding: Vec<u64>,
    /// When the flusher last looked at the queue, in ms since the epoch; `None` if none runs.
    flusher_beat: Option<u64>,
}

/// Where an outcome stands.
#[derive(PartialEq, Eq)]
enum State {
    Waiting,
    Riding,
    /// Written, or given up after failing twice.
    Done,
}

struct Waiting {
    ticket: u64,
    entry: Entry,
    /// A statement of outcomes alone that carried it failed: it is tried once more, no more.
    retried: bool,
}

impl Queue {
    /// Adds an outcome to wait for a statement, and returns its ticket.
    fn push(&mut self, entry: Entry) -> u64 {
        self.next_ticket += 1;
        self.waiting.push(Waiting {
            ticket: self.next_ticket,
            entry,
            retried: false,
        });
        self.next_ticket
    }

    /// Takes up to `n` waiting outcomes, oldest first, for a statement about to be sent.
    fn take(&mut self, n: usize) -> Vec<Waiting> {
        let n = n.min(self.waiting.len());
        let taken: Vec<Waiting> = self.waiting.drain(..n).collect();
        self.riding.extend(taken.iter().map(|w| w.ticket));
        taken
    }

    /// The statement that carried `riders` was written.
    fn written(&mut self, riders: &[Waiting]) {
        self.riding
            .retain(|t| !riders.iter().any(|r| r.ticket == *t));
    }

    /// The statement that carried `riders` failed: they wait again. A statement of outcomes
    /// alone failed because of them (`blamed`): each is tried once more, no more. One that
    /// carried another request's new row may have failed because of that row: no blame.
    fn put_back(&mut self, riders: Vec<Waiting>, blamed: bool) {
        self.written(&riders);
        if blamed && riders.iter().any(|r| r.retried) {
            worker::console_error!("an audit outcome failed twice; its row stays pending");
        }
        for mut rider in riders.into_iter().filter(|r| !(blamed && r.retried)) {
            rider.retried |= blamed;
            self.waiting.push(rider);
        }
    }

    fn state(&self, ticket: u64) -> State {
        if self.waiting.iter().any(|w| w.ticket == ticket) {
            State::Waiting
        } else if self.riding.contains(&ticket) {
            State::Riding
        } else {
            State::Done
        }
    }
}

/// Writes this request's new row (`entry` is an [`Entry::Record`]) with one statement that also
/// writes the outcomes waiting in the isolate, and the rows of other requests that arrived while
/// a statement was in flight (group commit, `commit.js`), and returns the row's id.
///
/// # Errors
///
/// `audit_unavailable` if D1 refused the statement; the outcomes it carried are queued again.
pub(super) async fn record(env: &Env, ctx: &Context, entry: Entry) -> Result<i64, Error> {
    let riders = OUTCOMES.with(|q| q.borrow_mut().take(MAX_ENTRIES - 1));
    let mut batch = Batch::default();
    batch.push(entry);
    for rider in &riders {
        batch.push(rider.entry.clone());
    }
    let Ok(written) = write_grouped(env, ctx, &batch).await else {
        OUTCOMES.with(|q| q.borrow_mut().put_back(riders, false));
        return Err(Error::audit_unavailable());
    };
    OUTCOMES.with(|q| q.borrow_mut().written(&riders));
    written
        .first()
        .copied()
        .flatten()
        .ok_or_else(Error::audit_unavailable)
}

#[wasm_bindgen(wasm_bindgen = worker::wasm_bindgen, module = "/src/adapter/commit.js")]
extern "C" {
    #[wasm_bindgen(js_name = writeRows)]
    fn write_rows(
        ctx: &JsValue,
        db: &JsValue,
        sql: &str,
        rows: &str,
        entries: usize,
        records: usize,
        trace: bool,
    ) -> Promise;
}

/// Writes `batch` in the next statement of the isolate's group commit (`commit.js`) and
/// accounts for every row of it.
async fn write_grouped(env: &Env, ctx: &Context, batch: &Batch) -> Result<Vec<Option<i64>>, ()> {
    let db = env.d1(super::audit::BINDING).map_err(|_| ())?;
    let statement = batch.statement();
    let [SqlValue::Text(rows)] = statement.params.as_slice() else {
        return Err(());
    };
    let answer = write_rows(
        AsRef::<worker::worker_sys::Context>::as_ref(ctx),
        db.as_ref(),
        &statement.sql,
        rows,
        batch.len(),
        batch.records(),
        tracing(env),
    );
    let answer = match JsFuture::from(answer).await {
        Ok(answer) => answer,
        Err(e) => {
            worker::console_error!("an audit statement failed: {e:?}");
            return Err(());
        }
    };
    let field = |name: &str| Reflect::get(&answer, &JsValue::from_str(name)).ok();
    let count = |name: &str| {
        field(name)
            .and_then(|v| whole(&v))
            .and_then(|n| usize::try_from(n).ok())
    };
    let returned: Option<Vec<i64>> = field("ids")
        .filter(Array::is_array)
        .and_then(|ids| Array::from(&ids).iter().map(|id| whole(&id)).collect());
    let (Some(returned), Some(before), Some(total)) = (returned, count("before"), count("records"))
    else {
        worker::console_error!("an audit statement's answer could not be read");
        return Err(());
    };
    batch.written_among(&returned, before, total).map_err(|e| {
        worker::console_error!("{e}");
    })
}

/// Queues a read's outcome (an [`Entry::Outcome`]) for the next request's statement, and says
/// whether no flusher runs, so that the caller must run [`flusher`] now (in its `waitUntil`).
pub(super) fn queue_read(entry: Entry) -> bool {
    let now = super::now_ms();
    OUTCOMES.with(|q| {
        let mut q = q.borrow_mut();
        q.push(entry);
        let alive = q
            .flusher_beat
            .is_some_and(|beat| now.saturating_sub(beat) < FLUSHER_STALE_MS);
        if !alive {
            q.flusher_beat = Some(now);
        }
        !alive
    })
}

/// Writes a write's outcome (an [`Entry::Outcome`]) now, with the outcomes waiting. Nobody
/// waits on it; a failure is logged and leaves the row pending.
pub(super) async fn outcome(env: &Env, entry: Entry) {
    let ticket = OUTCOMES.with(|q| q.borrow_mut().push(entry));
    until_written(env, ticket).await;
}

/// The isolate's flusher: every [`LINGER`], writes the outcomes still waiting, until none waits
/// and none rides a statement in flight (one that fails puts its outcomes back), or for at most
/// [`ROUNDS`] rounds, after which the next read that ends takes over.
pub(super) async fn flusher(env: &Env) {
    for _ in 0..ROUNDS {
        Delay::from(LINGER).await;
        let now = super::now_ms();
        let riders = OUTCOMES.with(|q| {
            let mut q = q.borrow_mut();
            q.flusher_beat = Some(now);
            q.take(MAX_ENTRIES)
        });
        if riders.is_empty() {
            let idle = OUTCOMES.with(|q| q.borrow().riding.is_empty());
            if idle {
                break;
            }
            continue;
        }
        write_alone(env, riders).await;
    }
    OUTCOMES.with(|q| q.borrow_mut().flusher_beat = None);
}

/// Waits until the outcome `ticket` is written (or given up), writing it, with the other
/// outcomes waiting, whenever no statement carries it.
async fn until_written(env: &Env, ticket: u64) {
    for _ in 0..ROUNDS {
        match OUTCOMES.with(|q| q.borrow().state(ticket)) {
            State::Done => return,
            State::Riding => Delay::from(LINGER).await,
            State::Waiting => {
                let riders = OUTCOMES.with(|q| q.borrow_mut().take(MAX_ENTRIES));
                write_alone(env, riders).await;
            }
        }
    }
    worker::console_error!("an audit outcome could not be written; its row stays pending");
}

/// Writes a statement of outcomes alone; if it fails, they wait again, each once more at most.
async fn write_alone(env: &Env, riders: Vec<Waiting>) {
    let mut batch = Batch::default();
    for rider in &riders {
        batch.push(rider.entry.clone());
    }
    let written = write(env, &batch).await.is_ok();
    OUTCOMES.with(|q| {
        let mut q = q.borrow_mut();
        if written {
            q.written(&riders);
        } else {
            q.put_back(riders, true);
        }
    });
}

/// A JavaScript number that is a whole number within the range ids and counts take.
fn whole(value: &JsValue) -> Option<i64> {
    const LIMIT: f64 = 9_007_199_254_740_991.0; // 2^53 - 1: every integer up to it is exact.
    let n = value.as_f64()?;
    // Checked just above: whole, and within ±2^53, so the cast is exact.
    #[allow(clippy::cast_possible_truncation)]
    (n.fract() == 0.0 && n.abs() <= LIMIT).then_some(n as i64)
}

/// How many times the flusher, or a write waiting for its outcome, looks at the queue before
/// giving up: with [`LINGER`] between looks, about ten seconds.
const ROUNDS: usize = 100;

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
            worker::console_error!("an audit statement of {} rows failed: {e}", batch.len());
            return Err(());
        }
    };
    batch.written(&returned).map_err(|e| {
        worker::console_error!("{e}");
    })
}

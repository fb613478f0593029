// Group commit: the audit rows of concurrent requests in one isolate, written by one statement.
//
// A D1 call costs the runtime far more than the rows it carries, and a database runs its writes
// one at a time. So while one statement is in flight, the rows of every request that arrives wait
// in the isolate, and the next statement carries them all (src/adapter/commit.rs says what the
// rows are and how the Worker reads the answer).
//
// Only plain data passes between requests. A waiting request awaits a promise it made itself;
// the request whose statement ended records the answer on the waiting request's entry and calls
// that promise's resolver. workerd then runs the continuation in the request that made the
// promise (the compatibility flag `handle_cross_request_promise_resolution`, on for compatibility
// dates from 2024-10-14), or drops it if that request is gone. Every D1 call is made by a request
// whose rows it carries, from its own context, and kept alive by that request's `waitUntil`, so
// a caller who hangs up does not cancel the statement that carries the rows of others.
//
// When a statement ends, the first waiting request is woken to send the next one, which takes
// every row waiting when it is sent (those that arrived while it was being woken too), its own
// first. A request that is gone never sends it, so every waiting request also looks again every
// HANDOVER_MS: rows handed on but not sent by then, or left waiting behind a statement in flight
// for STALE_MS, are sent by the request that finds them. A request waits WAIT_MS at most, then
// fails closed.

/** The most rows in one statement (`MAX_ENTRIES` of src/audit/batch.rs). */
const MAX_ROWS = 64;
/** How long a request waits for a statement that carries its rows before it fails closed. */
const WAIT_MS = 5000;
/** How long the request woken to send the next statement may take before another sends it. */
const HANDOVER_MS = 500;
/** A statement in flight this long is taken as lost: the rows waiting behind it are sent. */
const STALE_MS = 2000;

/** When the statement in flight was sent or handed on (ms since the epoch), or 0 if none is. */
let inFlight = 0;
/** The parts (one request's rows each) waiting for the next statement, in arrival order. */
let waiting = [];
/** The part woken to send the next statement, while it is being woken; else null. */
let handedTo = null;

/**
 * Writes `rows` (a JSON array of this request's rows, `records` of them new, `entries` in all)
 * with the rows of other requests, by the one statement `sql` (which binds the whole JSON array
 * as `?1` and returns the id of every row it writes).
 *
 * Resolves with `{ ids, before, records }`: every id the statement returned, how many new rows
 * came before this request's in it, and how many new rows it inserted in all. Rejects if the
 * statement failed (every request it carried fails with it) or if no statement carried the rows
 * within WAIT_MS.
 */
export async function writeRows(ctx, db, sql, rows, entries, records, trace) {
  const part = { rows, entries, records, answer: null, wake: null };
  const send = (parts) => sendBatch(ctx, db, sql, parts, trace);
  if (inFlight === 0) {
    send([part]);
  } else {
    waiting.push(part);
  }
  const started = Date.now();
  for (;;) {
    if (part.answer !== null) {
      // Taken up at once, even when another request recorded it: workerd runs a settlement made
      // from another request as an event of the waiting request's own (it queues the reactions
      // on that request's context and drains them inside it), and the Worker's Rust tasks are
      // polled from a microtask queued in the context that woke them, so this request resumes
      // in its own context (docs/benchmarks.md, group commit).
      if (part.answer.error !== undefined) throw part.answer.error;
      return part.answer;
    }
    const now = Date.now();
    if (waiting.includes(part)) {
      const due = handedTo === null ? now - inFlight >= STALE_MS : handedTo === part || now - inFlight >= HANDOVER_MS;
      if (due) {
        send(take(part));
        continue;
      }
    }
    if (now - started >= WAIT_MS) {
      const at = waiting.indexOf(part);
      if (at >= 0) waiting.splice(at, 1);
      throw new Error('no audit statement carried the rows in time');
    }
    await woken(part, Math.min(HANDOVER_MS, WAIT_MS - (now - started)));
  }
}

/** Waits until `part` is woken (answered, or handed a statement to send), or `ms` have passed.
 * A request whose only pending work is another request's promise would be cancelled as hung, so
 * it waits on a timer of its own too. The resolver that another request calls is not the timer's
 * callback as well: when one function was both, workerd under load resumed the waiting request
 * in the context of the request that called it, and that request's D1 call then failed with
 * "Cannot perform I/O on behalf of a different request" (docs/benchmarks.md). */
async function woken(part, ms) {
  let timer;
  const signal = Promise.withResolvers();
  part.wake = signal.resolve;
  const deadline = new Promise((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  await Promise.race([signal.promise, deadline]);
  clearTimeout(timer);
  part.wake = null;
}

/** Wakes `part`'s request, if it waits: its own continuation runs in its own context. */
function wake(part) {
  if (part.wake !== null) part.wake();
}

/** The waiting parts the next statement takes: `first` (so that a request sends only a statement
 * that carries its own rows), then as many as fit in MAX_ROWS, in arrival order. */
function take(first) {
  waiting.unshift(...waiting.splice(waiting.indexOf(first), 1));
  let rows = 0;
  let n = 0;
  while (n < waiting.length && (n === 0 || rows + waiting[n].entries <= MAX_ROWS)) {
    rows += waiting[n].entries;
    n += 1;
  }
  return waiting.splice(0, n);
}

/** Sends one statement for `parts`, answers each of them, and hands the next one on. */
function sendBatch(ctx, db, sql, parts, trace) {
  handedTo = null;
  inFlight = Date.now();
  const json = parts.length === 1 ? parts[0].rows : `[${parts.map((p) => p.rows.slice(1, -1)).join(',')}]`;
  const records = parts.reduce((n, p) => n + p.records, 0);
  // The sending request stays alive until its statement is answered and handed on, even if its
  // caller hangs up first: the statement carries the rows of others.
  const sending = Promise.withResolvers();
  ctx.waitUntil(sending.promise);
  (async () => {
    try {
      // The benchmark counts D1 work from this line (docs/benchmarks.md); off unless asked for.
      if (trace) console.log('s3gk-d1 statements=1 transactions=1');
      const { results } = await db.prepare(sql).bind(json).all();
      const ids = results.map((r) => r.id);
      let before = 0;
      for (const p of parts) {
        p.answer = { ids, before, records };
        before += p.records;
      }
    } catch (error) {
      for (const p of parts) p.answer = { error };
    }
    for (const p of parts) wake(p);
    handOn();
    sending.resolve();
  })();
}

/** Wakes the first request whose rows wait to send the next statement, if any waits. */
function handOn() {
  if (waiting.length === 0) {
    handedTo = null;
    inFlight = 0;
    return;
  }
  inFlight = Date.now();
  handedTo = waiting[0];
  wake(handedTo);
}

// Group commit: the audit rows of concurrent requests in one isolate, written by one statement.
//
// A D1 call costs the runtime far more than the rows it carries, and a database runs its writes
// one at a time. So while one statement is in flight, the rows of every request that arrives wait
// in the isolate, and the next statement carries them all (src/adapter/commit.rs says what rows
// are and how the Worker reads the answer).
//
// Only plain data passes between requests. Each waiting request awaits a promise it made itself.
// The request whose statement ends settles those promises with plain values. workerd then runs
// each continuation in the request that made the promise (the compatibility flag
// `handle_cross_request_promise_resolution`, on for compatibility dates from 2024-10-14). The
// next statement is sent by one of the requests whose rows it carries, from its own
// continuation, so every D1 call is made and awaited by a request whose rows it writes.
//
// This lives in JavaScript so that a waiting request needs no timer or task of the Worker's own:
// the Worker awaits one promise per statement, as it would await D1 itself.

/** The most rows in one statement (`MAX_ENTRIES` of src/audit/batch.rs). */
const MAX_ROWS = 64;
/** How long a request waits for a statement that carries its rows before it fails closed. */
const WAIT_MS = 5000;
/** A statement in flight this long is taken as lost (its request was cancelled): the next
 * request to arrive sends its own. */
const STALE_MS = 2000;

/** When the statement in flight was sent (ms since the epoch), or 0 if none is. */
let inFlight = 0;
/** Parts waiting for the next statement, in arrival order. */
let waiting = [];

/**
 * Writes `rows` (a JSON array of this request's rows, `records` of them new) with the rows of
 * other requests, by the one statement `sql` (which binds the whole JSON array as `?1` and
 * returns the id of every row it writes).
 *
 * Resolves with `{ ids, before, records }`: every id the statement returned, how many new rows
 * came before this request's in it, and how many new rows it inserted in all. Rejects if the
 * statement failed (every request it carried fails with it) or if no statement carried the rows
 * in time.
 */
export async function writeRows(db, sql, rows, entries, records, trace) {
  const part = { rows, entries, records };
  let written = settlement(part);
  let parts = [part];
  if (inFlight !== 0 && Date.now() - inFlight < STALE_MS) {
    waiting.push(part);
    const woken = await withDeadline(written, part);
    if (woken.lead === undefined) return woken;
    // This request sends the next statement, which carries its own rows among others.
    parts = woken.lead;
    written = settlement(part);
  }
  await send(db, sql, parts, trace);
  return written;
}

/** A promise settled with what became of `part`'s rows (or with the lead of a statement). */
function settlement(part) {
  return new Promise((resolve, reject) => {
    part.resolve = resolve;
    part.reject = reject;
  });
}

/** Waits for `promise`, at most WAIT_MS: a request whose only pending work is another request's
 * promise would otherwise be cancelled as hung, and a lost statement would hold it forever. */
async function withDeadline(promise, part) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => {
      const at = waiting.indexOf(part);
      if (at >= 0) waiting.splice(at, 1);
      reject(new Error('no audit statement carried the rows in time'));
    }, WAIT_MS);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Sends one statement for `parts`, settles each, and hands the next statement on. */
async function send(db, sql, parts, trace) {
  inFlight = Date.now();
  const json = parts.length === 1 ? parts[0].rows : `[${parts.map((p) => p.rows.slice(1, -1)).join(',')}]`;
  const records = parts.reduce((n, p) => n + p.records, 0);
  try {
    // The benchmark counts D1 work from this line (docs/benchmarks.md); off unless asked for.
    if (trace) console.log('s3gk-d1 statements=1 transactions=1');
    const { results } = await db.prepare(sql).bind(json).all();
    const ids = results.map((r) => r.id);
    let before = 0;
    for (const p of parts) {
      p.resolve({ ids, before, records });
      before += p.records;
    }
  } catch (err) {
    for (const p of parts) p.reject(err);
  }
  handOn();
}

/** Gives the rows that waited during a statement to one of their requests to send. */
function handOn() {
  if (waiting.length === 0) {
    inFlight = 0;
    return;
  }
  let rows = 0;
  let n = 0;
  while (n < waiting.length && (n === 0 || rows + waiting[n].entries <= MAX_ROWS)) {
    rows += waiting[n].entries;
    n += 1;
  }
  const parts = waiting.splice(0, n);
  inFlight = Date.now();
  parts[0].resolve({ lead: parts });
}

// End to end: how audit rows share statements (docs/audit.md, "Batches"). The rows of requests
// that arrive while a statement is in flight go together in the next one (group commit), and a
// read's outcome rides a later request's statement, so concurrent reads cost far fewer statements
// than reads and sequential reads about one each; a statement D1 refuses fails every request
// whose rows it carried, and the outcomes it carried are written again; an outcome whose row does
// not exist writes nothing; callers that hang up fail no one else. The Worker's
// `AUDIT_TRACE = "on"` setting logs each D1 call, which is what the counts below read.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../../scripts/lib/stack.mjs';

const OBJECT = 'reports/batch.csv';
const BODY = 'batched, but every row';
let stack;
let grant;

before(async () => {
  stack = await startStack({ vars: { AUDIT_TRACE: 'on' }, objects: { [OBJECT]: BODY } });
  grant = await stack.grant({ object: OBJECT });
});

after(async () => {
  await stack?.stop();
});

/** Statements and transactions the Worker has logged so far. */
function d1Calls() {
  let statements = 0;
  let transactions = 0;
  for (const m of stack.output().matchAll(/s3gk-d1 statements=(\d+) transactions=(\d+)/g)) {
    statements += Number(m[1]);
    transactions += Number(m[2]);
  }
  return { statements, transactions };
}

const read = (ua) =>
  fetch(`${stack.url}/objects/${OBJECT}`, {
    headers: { authorization: `Bearer ${grant}`, 'cf-connecting-ip': '198.51.100.7', 'user-agent': ua },
  }).then(async (res) => ({ status: res.status, body: await res.text() }));

/** Waits until the Worker's log stops growing: every batch of the requests sent has been written. */
async function quiet() {
  await stack.settled();
  let last = -1;
  for (;;) {
    const now = d1Calls().statements;
    if (now === last) return;
    last = now;
    await new Promise((r) => setTimeout(r, 500));
  }
}

test('64 concurrent reads share statements, and each read has exactly one completed row', async () => {
  await quiet();
  const before = d1Calls();
  const replies = await Promise.all(Array.from({ length: 64 }, (_, i) => read(`batch-c-${i}`)));
  for (const reply of replies) assert.deepEqual(reply, { status: 200, body: BODY });
  await quiet();
  const after = d1Calls();
  const statements = after.statements - before.statements;
  // Each read has two row writes (its row, its outcome): 128 statements if nothing were shared,
  // 64 if each read's statement only carried the outcomes before it. The reads arrive together,
  // so while the first statement is in flight the others' rows wait for the next: a handful of
  // statements write all 128 (5 in one run).
  assert.ok(statements >= 1 && statements < 32, `64 reads took ${statements} statements`);
  console.log(`64 concurrent reads: ${statements} statements`);
  assert.equal(after.transactions - before.transactions, statements, 'each batch is one statement');
  const rows = await stack.sql(
    "SELECT user_agent, count(*) AS n, min(status) AS status, min(body_relayed) AS relayed FROM audit_log WHERE user_agent LIKE 'batch-c-%' GROUP BY user_agent",
  );
  assert.equal(rows.length, 64);
  for (const row of rows) assert.deepEqual({ n: row.n, status: row.status, relayed: row.relayed }, { n: 1, status: 200, relayed: 1 });
});

test('sequential reads cost about one statement each: the outcome rides the next read\'s batch', async () => {
  await quiet();
  const before = d1Calls();
  for (let i = 0; i < 20; i++) {
    assert.equal((await read(`batch-s-${i}`)).status, 200);
  }
  await quiet();
  const statements = d1Calls().statements - before.statements;
  // 20 rows and 20 outcomes: 40 unbatched. An outcome waits up to 100 ms for the next read's
  // batch, so with reads back to back nearly every outcome rides one (21 statements: the last
  // outcome goes alone); a read slower than that on a busy machine sends its outcome alone. Far
  // fewer than 40 is what shows the outcomes riding.
  console.log(`20 sequential reads: ${statements} statements`);
  assert.ok(statements <= 30, `20 sequential reads took ${statements} statements`);
  const [{ n }] = await stack.sql("SELECT count(*) AS n FROM audit_log WHERE user_agent LIKE 'batch-s-%' AND status = 200");
  assert.equal(n, 20);
});

test('a batch D1 refuses fails every read in it, and none serves a byte', async () => {
  await quiet();
  await stack.sql(
    "CREATE TRIGGER refuse_batch BEFORE INSERT ON audit_log WHEN NEW.user_agent LIKE 'batch-r-%' BEGIN SELECT RAISE(ABORT, 'refused'); END",
  );
  try {
    // One refused row fails the whole statement, so the reads that shared its batch fail too.
    const replies = await Promise.all(Array.from({ length: 16 }, (_, i) => read(`batch-r-${i}`)));
    for (const reply of replies) {
      assert.equal(reply.status, 503);
      assert.equal(JSON.parse(reply.body).error.code, 'audit_unavailable');
      assert.ok(!reply.body.includes(BODY));
    }
  } finally {
    await stack.sql('DROP TRIGGER refuse_batch');
  }
  const [{ n }] = await stack.sql("SELECT count(*) AS n FROM audit_log WHERE user_agent LIKE 'batch-r-%'");
  assert.equal(n, 0);

  // Refused rows among accepted ones: a read that shared a batch with a refused row fails with
  // it. Whatever the batches were, no read is served without its row, and none has a row it
  // was refused for.
  await stack.sql(
    "CREATE TRIGGER refuse_batch BEFORE INSERT ON audit_log WHEN NEW.user_agent LIKE 'batch-m-r-%' BEGIN SELECT RAISE(ABORT, 'refused'); END",
  );
  let mixed;
  try {
    mixed = await Promise.all(
      Array.from({ length: 16 }, (_, i) => {
        const ua = i % 2 ? `batch-m-r-${i}` : `batch-m-ok-${i}`;
        return read(ua).then((reply) => ({ ua, ...reply }));
      }),
    );
  } finally {
    await stack.sql('DROP TRIGGER refuse_batch');
  }
  await stack.settled();
  // A request's rows by user agent: an allowed read's row, or the row of its refusal.
  const rows = new Map(
    (await stack.sql("SELECT user_agent, decision, status FROM audit_log WHERE user_agent LIKE 'batch-m-%'")).map((r) => [
      r.user_agent,
      r,
    ]),
  );
  for (const { ua, status, body } of mixed) {
    if (ua.startsWith('batch-m-r-')) assert.equal(status, 503, ua);
    if (status === 200) {
      assert.equal(body, BODY);
      assert.deepEqual(rows.get(ua), { user_agent: ua, decision: 'allowed', status: 200 }, `${ua} was served without its row`);
    } else {
      assert.equal(status, 503, ua);
      assert.equal(JSON.parse(body).error.code, 'audit_unavailable');
      // No row says it was allowed: it has none, or (if D1 took that one) the refusal's.
      const row = rows.get(ua);
      if (row) assert.deepEqual(row, { user_agent: ua, decision: 'audit_unavailable', status: 503 });
    }
  }
  // Once D1 takes rows again, so does the gatekeeper, without a restart.
  assert.deepEqual(await read('batch-after'), { status: 200, body: BODY });
});

test('an outcome whose row does not exist writes nothing', async () => {
  const [{ id }] = await stack.sql('SELECT max(id) + 1000 AS id FROM audit_log');
  await stack.sql(
    `INSERT INTO audit_log (id, time_ms, request_id, bucket, decision, status) VALUES (${id}, 0, 'ghost', 'b', 'allowed', 200) ON CONFLICT (id) DO UPDATE SET status = excluded.status`,
  );
  const [{ n }] = await stack.sql(`SELECT count(*) AS n FROM audit_log WHERE id = ${id} OR request_id = 'ghost'`);
  assert.equal(n, 0);
});

test('callers that hang up while their rows are written fail no one else', async () => {
  await quiet();
  const hangUps = Array.from({ length: 24 }, (_, i) => {
    const controller = new AbortController();
    const sent = fetch(`${stack.url}/objects/${OBJECT}`, {
      signal: controller.signal,
      headers: { authorization: `Bearer ${grant}`, 'cf-connecting-ip': '198.51.100.7', 'user-agent': `batch-h-${i}` },
    }).then((res) => res.text()).catch(() => 'hung up');
    setTimeout(() => controller.abort(), 1 + (i % 8));
    return sent;
  });
  const others = Array.from({ length: 24 }, (_, i) => read(`batch-o-${i}`));
  await Promise.all(hangUps);
  for (const reply of await Promise.all(others)) assert.deepEqual(reply, { status: 200, body: BODY });
  // And afterwards, too.
  assert.deepEqual(await read('batch-o-after'), { status: 200, body: BODY });
  await stack.settled().catch(() => {});
  const rows = await stack.sql("SELECT count(*) AS n FROM audit_log WHERE user_agent LIKE 'batch-o-%' AND status = 200");
  assert.equal(rows[0].n, 25);
});

test('wrangler.toml keeps the runtime behaviour shared statements rely on', async () => {
  // docs/deploy.md: a promise settled by another request resumes in the request that made it,
  // for compatibility dates from 2024-10-14, unless a flag turns that off.
  const { readFileSync } = await import('node:fs');
  const { ROOT } = await import('../../scripts/lib/stack.mjs');
  const toml = readFileSync(`${ROOT}/wrangler.toml`, 'utf8');
  const dates = [...toml.matchAll(/^\s*compatibility_date\s*=\s*"(\d{4}-\d\d-\d\d)"/gm)].map((m) => m[1]);
  assert.ok(dates.length > 0);
  for (const date of dates) assert.ok(date >= '2024-10-14', date);
  assert.doesNotMatch(toml, /no_handle_cross_request_promise_resolution/);
});

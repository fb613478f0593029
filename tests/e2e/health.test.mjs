// GET /health against the real Worker and local D1: the verdicts docs/api.md ("Health") lists,
// that the answer holds no number, that a probe writes nothing, that the ACL applies, and the
// cron's line about D1's size (docs/audit.md, "What the cron logs").

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../../scripts/lib/stack.mjs';

// An answer is reused by its isolate for 15 seconds (health::CACHE_MS).
const CACHE_MS = 15000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function probe(stack, method = 'GET') {
  const res = await fetch(`${stack.url}/health`, { method });
  return { status: res.status, body: await res.text(), headers: res.headers };
}

/** The cron's one JSON line about D1, once wrangler has printed it (after the reply). */
async function sizeLine(stack) {
  const deadline = Date.now() + 10000;
  for (;;) {
    const line = stack.output().split('\n').find((l) => l.includes('"event":"audit_storage"'));
    if (line || Date.now() > deadline) return line && JSON.parse(line.slice(line.indexOf('{')));
    await sleep(200);
  }
}

async function rows(stack) {
  const [{ n }] = await stack.sql('SELECT count(*) AS n FROM audit_log');
  return n;
}

/** Asserts that a body reveals nothing: JSON of fixed words, and no digit anywhere. */
function revealsNothing(body) {
  assert.doesNotMatch(body, /[0-9]/, `no number, time or size: ${body}`);
  const json = JSON.parse(body);
  const words = new Set(['ok', 'degraded', 'unavailable', 'late', 'over_budget', 'unknown']);
  assert.ok(words.has(json.status), body);
  for (const verdict of Object.values(json.checks ?? {})) assert.ok(words.has(verdict), body);
}

test('health: late before the first seal, ok after a run; nothing written; the cron logs the size', async () => {
  const stack = await startStack();
  try {
    const asked = Date.now();
    const before = await probe(stack);
    assert.equal(before.status, 503, before.body);
    assert.equal(before.body, '{"status":"degraded","checks":{"seal":"late","size":"ok"}}');
    assert.equal(before.headers.get('content-type'), 'application/json');
    assert.match(before.headers.get('cache-control'), /no-store/);
    revealsNothing(before.body);

    const ran = await stack.cron(Date.now());
    assert.equal(ran.status, 200, ran.outcome);
    // The cron's line: the size D1 reports, the rows, the budget (8000 MB by default).
    const line = await sizeLine(stack);
    assert.ok(line, `the cron logs the audit size:\n${stack.output().slice(-2000)}`);
    assert.ok(line.size_bytes > 0, JSON.stringify(line));
    assert.equal(line.rows, 0);
    assert.equal(line.size_budget_bytes, 8000000000);
    assert.equal(line.archive, 'off');

    // The answer before the seal is still cached: a flood of probes reads D1 once. (Checked only
    // while the answer is surely still fresh: a slow machine may take longer over the cron.)
    const cached = await probe(stack);
    if (Date.now() - asked < CACHE_MS - 3000) assert.equal(cached.status, 503, 'the answer is reused');
    await sleep(CACHE_MS + 1000);
    const after = await probe(stack);
    assert.equal(after.status, 200, after.body);
    assert.equal(after.body, '{"status":"ok"}');
    revealsNothing(after.body);
    const head = await probe(stack, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');

    // Other methods on the path are not probes: refused as any unknown request is.
    assert.equal((await probe(stack, 'PUT')).status, 404);
    // Probes wrote no row; the PUT's refusal did.
    assert.equal(await rows(stack), 1);
  } finally {
    await stack.stop();
  }
});

test('health: a seal older than 25 minutes is late, and a database over AUDIT_SIZE_BUDGET_MB is over budget', async () => {
  const stack = await startStack({ vars: { AUDIT_SIZE_BUDGET_MB: '1' } });
  try {
    // 2 000 rows of about 700 bytes: past the 1 MB budget.
    await stack.sql(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
      INSERT INTO audit_log (time_ms, request_id, bucket, decision, status, user_agent)
      SELECT 1700000000000 + i, 'r' || i, 'demo-reports', 'allowed', 200, printf('%.*c', 700, 'x') FROM n`);
    // A run scheduled 40 minutes ago: its seal is late now.
    const ran = await stack.cron(Date.now() - 40 * 60 * 1000);
    assert.equal(ran.status, 200, ran.outcome);
    const line = await sizeLine(stack);
    assert.ok(line, stack.output().slice(-2000));
    assert.ok(line.size_bytes >= 1000000, JSON.stringify(line));
    assert.equal(line.rows, 2000);
    assert.equal(line.size_budget_bytes, 1000000);
    assert.equal(line.over_budget, true);

    const answer = await probe(stack);
    assert.equal(answer.status, 503, answer.body);
    assert.equal(answer.body, '{"status":"degraded","checks":{"seal":"late","size":"over_budget"}}');
    revealsNothing(answer.body);
  } finally {
    await stack.stop();
  }
});

test('health: a caller the ACL refuses is refused and recorded, as for any request', async () => {
  const stack = await startStack({ vars: { ACL: JSON.stringify({ ip: { allow: ['192.0.2.0/24'] } }) } });
  try {
    const answer = await probe(stack);
    assert.equal(answer.status, 403, answer.body);
    assert.equal(JSON.parse(answer.body).error.code, 'ip_not_allowed');
    const [row] = await stack.sql("SELECT decision, object_key, operation FROM audit_log");
    assert.deepEqual(row, { decision: 'ip_not_allowed', object_key: null, operation: null });
  } finally {
    await stack.stop();
  }
});

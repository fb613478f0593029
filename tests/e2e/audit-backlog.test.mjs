// End to end: a backlog of unsealed audit rows (after the cron was stopped, say) is caught up by
// a few cron runs, each making several seals one after another within its budget, and the chain
// they make verifies. The backlog is written straight into local D1 with one statement, with
// arrival times well past the grace period, and with the columns a real request leaves. Half a
// year later, retention deletes it in several steps a run, and the seals left still verify.
//
// Rows sealed per second are printed per run (the wall time of each cron call through wrangler
// dev). S3GK_BACKLOG_ROWS sets the size of the backlog; the suite runs a smaller one than the
// measurement docs/audit.md reports, which is
//
//   S3GK_BACKLOG_ROWS=1000000 node --test --test-concurrency=1 tests/e2e/audit-backlog.test.mjs

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startStack, CLI } from '../../scripts/lib/stack.mjs';

const run = promisify(execFile);
// The default is more than one run may seal by its D1 calls alone (9 seals), so that the suite
// sees a run stop at its budget and the next carry on, on any machine.
const ROWS = Number(process.env.S3GK_BACKLOG_ROWS ?? 500_000);
// One seal covers at most this many rows (MAX_ROWS_PER_SEAL).
const PER_SEAL = 50_000;
// Rows per export file: `wrangler d1 execute --json` holds its whole answer in memory, so a large
// log is exported by id range, as docs/audit.md says.
const PER_EXPORT = 25_000;
const DAY = 86_400_000;
// Most rows one retention step deletes (MAX_ROWS_PER_PURGE).
const PER_PURGE = 50_000;

let stack;

before(async () => {
  assert.ok(Number.isInteger(ROWS) && ROWS >= 2 * PER_SEAL, 'S3GK_BACKLOG_ROWS: at least two seals of rows');
  // The default grace period (15 minutes): the backlog is older than that.
  stack = await startStack({});
});

after(async () => {
  await stack?.stop();
});

/** The highest row id the finished seals cover, and how many seals there are. */
async function sealed() {
  const [row] = await stack.sql(
    'SELECT COALESCE(MAX(last_id), 0) AS through, COUNT(*) AS seals FROM audit_seals WHERE signature IS NOT NULL',
  );
  return row;
}

test('a backlog is sealed by a few cron runs, several seals each, into a chain that verifies', async () => {
  // The backlog arrived over the last two days, ending an hour ago: all past the grace period.
  const end = Date.now() - 3_600_000;
  const start = end - 2 * DAY;
  const inserted = Date.now();
  // One statement; every column a read through the gatekeeper leaves, varied row by row.
  await stack.sql(`
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${ROWS})
    INSERT INTO audit_log (time_ms, request_id, operation, bucket, object_key, decision, status,
      s3_status, bytes_in, bytes_out, duration_ms, ip, country, asn, colo, user_agent, origin,
      key_id, sub, jti, signers, method, stream_complete, body_relayed, s3_ms, d1_ms)
    SELECT ${start} + i * ${Math.floor((2 * DAY) / ROWS)},
      printf('%016x-AMS', i * 2654435761),
      CASE WHEN i % 20 = 0 THEN 'list' ELSE 'get' END,
      'demo-reports',
      printf('reports/2026/%02d/customer-%05d/invoice-%07d.pdf', i % 12 + 1, i % 9973, i),
      CASE WHEN i % 50 = 0 THEN 'grant_expired' ELSE 'allowed' END,
      CASE WHEN i % 50 = 0 THEN 401 ELSE 200 END,
      CASE WHEN i % 50 = 0 THEN NULL ELSE 200 END,
      0,
      CASE WHEN i % 50 = 0 THEN 0 ELSE 1024 + (i * 7919) % 4000000 END,
      5 + i % 180,
      printf('203.0.%d.%d', (i / 256) % 256, i % 256),
      CASE i % 4 WHEN 0 THEN 'NL' WHEN 1 THEN 'US' WHEN 2 THEN 'GB' ELSE 'CA' END,
      64496 + i % 15,
      CASE i % 3 WHEN 0 THEN 'AMS' WHEN 1 THEN 'IAD' ELSE 'LHR' END,
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36',
      CASE WHEN i % 3 = 0 THEN 'https://portal.example.com' ELSE NULL END,
      'k4.pid.q0cmgY7ovWOZ_qz9K3pn4rYI_cDnXp8o9-lzxydZS7Pe',
      printf('user-%d', i % 5000),
      printf('%08x-%04x-4%03x-a%03x-%012x', i, i % 65536, i % 4096, (i * 7) % 4096, i * 31337),
      printf('[{"key_id":"k4.pid.q0cmgY7ovWOZ_qz9K3pn4rYI_cDnXp8o9-lzxydZS7Pe","sub":"user-%d","jti":"%08x"}]', i % 5000, i),
      'GET',
      CASE WHEN i % 50 = 0 THEN NULL ELSE 1 END,
      CASE WHEN i % 50 = 0 THEN NULL ELSE 1 END,
      CASE WHEN i % 50 = 0 THEN NULL ELSE 3 + i % 90 END,
      1 + i % 7
    FROM n`);
  const [{ n, last }] = await stack.sql('SELECT COUNT(*) AS n, MAX(id) AS last FROM audit_log');
  assert.equal(n, ROWS);
  console.log(`backlog: ${ROWS} rows written in ${((Date.now() - inserted) / 1000).toFixed(1)} s`);

  // Even one seal a run would end within this many runs; the test stops by itself.
  const maxRuns = Math.ceil(ROWS / PER_SEAL) + 2;
  const runs = [];
  let before = await sealed();
  for (let r = 0; r < maxRuns && before.through < last; r++) {
    const began = performance.now();
    const { status, outcome } = await stack.cron(Date.now());
    const seconds = (performance.now() - began) / 1000;
    assert.equal(status, 200, outcome);
    assert.doesNotMatch(stack.output(), /audit sealing failed/);
    const now = await sealed();
    const rows = now.through - before.through;
    const seals = now.seals - before.seals;
    runs.push({ rows, seals, seconds });
    console.log(
      `run ${r + 1}: ${seals} seals, ${rows} rows in ${seconds.toFixed(2)} s: ${Math.round(rows / seconds)} rows/s`,
    );
    assert.ok(rows > 0, `run ${r + 1} made progress`);
    before = now;
  }
  assert.equal(before.through, last, `the backlog is sealed within ${maxRuns} runs`);
  // Every run but the last found more than one seal's worth, so made several.
  for (const [i, { seals }] of runs.slice(0, -1).entries()) {
    assert.ok(seals >= 2, `run ${i + 1} made ${seals} seals`);
  }
  assert.ok(runs.length < Math.ceil(ROWS / PER_SEAL), 'fewer runs than one seal a run needs');
  const total = runs.reduce((a, r) => ({ rows: a.rows + r.rows, seconds: a.seconds + r.seconds }), { rows: 0, seconds: 0 });
  console.log(
    `backlog sealed: ${total.rows} rows in ${runs.length} runs, ${total.seconds.toFixed(1)} s: ${Math.round(total.rows / total.seconds)} rows/s`,
  );

  // Each seal follows on from the last: contiguous ranges, no more than a seal may hold.
  const chain = await stack.sql('SELECT id, first_id, last_id, row_count, scheduled_ms FROM audit_seals ORDER BY id');
  for (const [i, seal] of chain.entries()) {
    assert.equal(seal.first_id, i === 0 ? 1 : chain[i - 1].last_id + 1);
    assert.ok(seal.row_count <= PER_SEAL);
    if (i > 0) assert.ok(seal.scheduled_ms > chain[i - 1].scheduled_ms);
  }

  // The whole log, exported in id ranges (the log first, the seals last), verifies.
  const files = [];
  for (let from = 1; from <= last; from += PER_EXPORT) {
    const file = join(stack.state, `log-${from}.json`);
    writeFileSync(file, await stack.export(`SELECT * FROM audit_log WHERE id BETWEEN ${from} AND ${from + PER_EXPORT - 1} ORDER BY id`));
    files.push(file);
  }
  const seals = join(stack.state, 'seals.json');
  writeFileSync(seals, await stack.export('SELECT * FROM audit_seals ORDER BY id'));
  const { stdout } = await run(CLI, ['audit', 'verify', '--key', stack.sealKey.public, ...files, seals], {
    maxBuffer: 16 * 1024 * 1024,
  });
  assert.match(stdout, /^intact: every sealed row matches its seal$/m);
  assert.match(stdout, new RegExp(`rows: ${ROWS} verified, 0 purged by retention, 0 not yet sealed`));
});

test('half a year later, retention deletes the sealed backlog in several steps a run', async () => {
  const [{ n: total }] = await stack.sql('SELECT COUNT(*) AS n FROM audit_log');
  assert.equal(total, ROWS);
  // Scheduled past the retention period: the run's seal lets retention reach every row above.
  const later = Date.now() + 181 * DAY;
  const maxRuns = Math.ceil(ROWS / PER_PURGE) + 2;
  let left = total;
  for (let r = 0; r < maxRuns && left > 0; r++) {
    const began = performance.now();
    const { status, outcome } = await stack.cron(later + r * 600_000);
    const seconds = (performance.now() - began) / 1000;
    assert.equal(status, 200, outcome);
    assert.doesNotMatch(stack.output(), /audit sealing failed/);
    const [{ n }] = await stack.sql('SELECT COUNT(*) AS n FROM audit_log');
    console.log(`retention run ${r + 1}: ${left - n} rows deleted in ${seconds.toFixed(2)} s`);
    // More than one step's worth a run, unless this run finished the backlog.
    assert.ok(left - n > (n > 0 ? PER_PURGE : 0), `retention run ${r + 1} deleted ${left - n} rows`);
    left = n;
  }
  assert.equal(left, 0, `retention deleted the backlog within ${maxRuns} runs`);
  // What is left, the seals, still verifies: every row was purged by retention, none removed.
  const file = join(stack.state, 'purged.json');
  writeFileSync(file, await stack.export('SELECT * FROM audit_log ORDER BY id; SELECT * FROM audit_seals ORDER BY id'));
  const { stdout } = await run(CLI, ['audit', 'verify', '--key', stack.sealKey.public, '--retention-days', '180', file]);
  assert.match(stdout, /^intact: every sealed row matches its seal$/m);
  assert.match(stdout, new RegExp(`rows: 0 verified, ${ROWS} purged by retention, 0 not yet sealed`));
});

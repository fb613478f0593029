// End to end: a read asks S3 and records its row in D1 at the same time, so it waits for the
// longer of the two round trips, not their sum; and no byte is released unless both succeeded.
// A TCP proxy on loopback, in front of s3s-fs, holds back every byte S3 sends by a fixed delay;
// a trigger that makes SQLite count a large cross join slows D1's INSERT.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack, startS3 } from '../../scripts/lib/stack.mjs';

const S3_DELAY_MS = 300;
const OBJECT = 'secret report, quarter three';
let s3;
let proxy;
let stack;
let dir;

/**
 * A TCP proxy to `target` that delays everything the target sends by `delayMs`, in order, and
 * keeps a copy of it in `received`.
 */
function delayingProxy(target, delayMs) {
  const { hostname, port } = new URL(target);
  const received = [];
  const server = createServer((client) => {
    const upstream = connect(Number(port), hostname);
    client.pipe(upstream);
    upstream.on('data', (chunk) => {
      received.push(chunk);
      setTimeout(() => client.write(chunk), delayMs);
    });
    upstream.on('end', () => setTimeout(() => client.end(), delayMs));
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    client.on('close', () => upstream.destroy());
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${server.address().port}`,
        received: () => Buffer.concat(received).toString('latin1'),
        close: () => new Promise((done) => server.close(done)),
      }),
    );
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 's3gk-latency-'));
  s3 = await startS3({ dir, objects: { 'r/a.csv': OBJECT } });
  proxy = await delayingProxy(s3.url, S3_DELAY_MS);
  stack = await startStack({ vars: { S3_ENDPOINT: proxy.url } });
});

after(async () => {
  await stack?.stop();
  await proxy?.close();
  await s3?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const read = async (path, ua) => {
  const object = path.replace('/objects/', '');
  const token = await stack.grant({ object });
  const started = performance.now();
  const res = await fetch(`${stack.url}${path}`, {
    headers: { authorization: `Bearer ${token}`, 'cf-connecting-ip': '198.51.100.7', 'user-agent': ua },
  });
  const text = await res.text();
  return { res, text, ms: performance.now() - started };
};

/** The row of the request sent with user agent `ua`, once it is no longer pending (`status` 0). */
async function completedRow(ua) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const [row] = await stack.sql(`SELECT * FROM audit_log WHERE user_agent = '${ua}'`);
    if (row && row.status !== 0) return row;
    if (Date.now() > deadline) throw new Error(`the row of ${ua} is still pending: ${JSON.stringify(row)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('a read waits for the longer of S3 and D1, not their sum', async () => {
  // Warm up workerd and the connection to the proxy.
  assert.equal((await read('/objects/r/a.csv', 'warm-up')).res.status, 200);

  // D1 made slow: each INSERT into the log counts a cross join of 350^3 rows first.
  await stack.sql(
    `CREATE TABLE slow (x INTEGER); INSERT INTO slow WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 350) SELECT x FROM n;` +
      ` CREATE TRIGGER audit_log_slow BEFORE INSERT ON audit_log BEGIN SELECT count(*) FROM slow a, slow b, slow c; END`,
  );
  const { res, text, ms } = await read('/objects/r/a.csv', 'both-slow');
  assert.equal(res.status, 200);
  assert.equal(text, OBJECT);
  const row = await completedRow('both-slow');
  console.log(`S3 delayed ${S3_DELAY_MS} ms: request ${Math.round(ms)} ms, row s3_ms ${row.s3_ms}, d1_ms ${row.d1_ms}, duration_ms ${row.duration_ms}`);
  assert.ok(row.s3_ms >= S3_DELAY_MS, `S3 took at least the proxy's delay: ${row.s3_ms}`);
  assert.ok(row.d1_ms >= 100, `the slowed INSERT took a while: ${row.d1_ms}`);
  // Both ran at once: the request took about the longer of them, well short of their sum.
  const overlap = Math.min(row.s3_ms, row.d1_ms);
  assert.ok(ms >= Math.max(row.s3_ms, row.d1_ms), `${ms} ms covers both round trips`);
  assert.ok(ms < row.s3_ms + row.d1_ms - overlap / 2, `${ms} ms is short of the sum ${row.s3_ms + row.d1_ms}`);
  assert.ok(row.duration_ms < row.s3_ms + row.d1_ms - overlap / 2, `duration_ms ${row.duration_ms}`);
  assert.deepEqual(
    [row.decision, row.status, row.s3_status, row.bytes_out, row.body_relayed],
    ['allowed', 200, 200, OBJECT.length, 1],
  );
  await stack.sql(`DROP TRIGGER audit_log_slow; DROP TABLE slow`);
});

test("a read S3 refuses completes its pending row with S3's answer", async () => {
  const { res } = await read('/objects/r/missing.csv', 'refused-by-s3');
  assert.equal(res.status, 404);
  const row = await completedRow('refused-by-s3');
  assert.deepEqual([row.decision, row.status, row.s3_status, row.body_relayed], ['not_found', 404, 404, null]);
  assert.ok(row.s3_ms >= S3_DELAY_MS && Number.isInteger(row.d1_ms), `s3_ms ${row.s3_ms}, d1_ms ${row.d1_ms}`);
  const [{ n }] = await stack.sql(`SELECT count(*) AS n FROM audit_log WHERE user_agent = 'refused-by-s3'`);
  assert.equal(n, 1, 'one row, completed in place');
});

test('when D1 refuses the row, S3 has answered but no byte is released', async () => {
  await stack.sql(
    `CREATE TRIGGER audit_log_refuse BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'audit log unavailable'); END`,
  );
  try {
    const before = proxy.received().length;
    const { res, text } = await read('/objects/r/a.csv', 'refused-by-d1');
    assert.equal(res.status, 503);
    assert.equal(JSON.parse(text).error.code, 'audit_unavailable');
    assert.doesNotMatch(text, /secret report/);
    // S3 was asked at the same time, and its answer carried the object.
    assert.match(proxy.received().slice(before), /secret report, quarter three/);
  } finally {
    await stack.sql(`DROP TRIGGER audit_log_refuse`);
  }
  assert.deepEqual(await stack.sql(`SELECT id FROM audit_log WHERE user_agent = 'refused-by-d1'`), []);
});

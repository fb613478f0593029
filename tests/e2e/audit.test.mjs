// End to end: the audit log. Every request is one row with the right fields, and when D1 cannot
// take a row the gatekeeper serves nothing and stores nothing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startStack, startMiniflare, LOCAL } from '../../scripts/lib/stack.mjs';

const call = (stack, path, { token, method = 'GET', body, ip = '198.51.100.7', ua } = {}) =>
  fetch(`${stack.url}${path}`, {
    method,
    body,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      'cf-connecting-ip': ip,
      ...(ua ? { 'user-agent': ua } : {}),
    },
  });

test('N mixed requests (allowed, denied, failed upstream) leave exactly N rows with the right fields', async () => {
  const stack = await startStack({
    vars: { ACL: JSON.stringify({ ip: { deny: ['203.0.113.0/24'] } }) },
    objects: { 'r/a.csv': 'abc', 'r/b.csv': 'defgh' },
  });
  try {
    const get = (object, sub = 'alice') => stack.grant({ object, sub });
    const plan = [
      { path: '/objects/r/a.csv', token: await get('r/a.csv'), want: ['allowed', 200, 200, 'get', 'r/a.csv', 'alice'] },
      { path: '/objects/r/b.csv', token: await get('r/b.csv', 'bob'), want: ['allowed', 200, 200, 'get', 'r/b.csv', 'bob'] },
      { path: '/objects/r/missing.csv', token: await get('r/missing.csv'), want: ['not_found', 404, 404, 'get', 'r/missing.csv', 'alice'] },
      { path: '/objects/r/a.csv', token: await get('r/a.csv'), ip: '203.0.113.9', want: ['ip_denied', 403, null, null, null, null] },
      { path: '/objects/r/a.csv', want: ['grant_missing', 401, null, 'get', 'r/a.csv', null] },
      // A genuine grant for another key: refused, and its user is recorded.
      { path: '/objects/r/a.csv', token: await get('r/b.csv'), want: ['grant_scope_mismatch', 403, null, 'get', 'r/a.csv', 'alice'] },
      {
        path: '/objects/up/new.txt',
        method: 'PUT',
        body: 'hello',
        token: await stack.grant({ op: 'put', object: 'up/new.txt', sub: 'carol' }),
        want: ['allowed', 200, 200, 'put', 'up/new.txt', 'carol'],
      },
      { path: '/nowhere', want: ['no_route', 404, null, null, null, null] },
    ];
    for (const [i, step] of plan.entries()) {
      const res = await call(stack, step.path, { ...step, ua: `mixed-${i}` });
      await res.arrayBuffer();
      assert.equal(res.status, step.want[1], `step ${i}`);
    }
    const rows = await stack.sql(`SELECT * FROM audit_log WHERE user_agent LIKE 'mixed-%' ORDER BY id`);
    assert.equal(rows.length, plan.length, 'one row per request');
    for (const [i, row] of rows.entries()) {
      const want = plan[i].want;
      assert.equal(row.user_agent, `mixed-${i}`);
      assert.deepEqual(
        [row.decision, row.status, row.s3_status, row.operation, row.object_key, row.sub],
        want,
        `row ${i}`,
      );
      assert.equal(row.bucket, LOCAL.bucket);
      assert.equal(row.ip, plan[i].ip ?? '198.51.100.7');
      assert.equal(row.country, 'US');
      assert.ok(row.colo, 'colo');
      assert.ok(Number.isInteger(row.duration_ms) && row.duration_ms >= 0, `row ${i} duration`);
      assert.ok(row.request_id.length > 0);
    }
    assert.equal(rows[0].bytes_out, 3);
    assert.equal(rows[6].bytes_in, 5);
    assert.ok(rows[6].jti, 'a write records its grant id');
    assert.equal(new Set(rows.map((r) => r.request_id)).size, rows.length, 'request ids are unique');
  } finally {
    await stack.stop();
  }
});

test('when D1 refuses writes, nothing is served and nothing is stored', async () => {
  const stack = await startStack({ objects: { 'r/a.csv': 'secret report' } });
  try {
    const read = await stack.grant({ object: 'r/a.csv' });
    const write = await stack.grant({ op: 'put', object: 'up/blocked.txt' });
    // Make the audit log refuse every new row, as a full or failing database would.
    await stack.sql(
      `CREATE TRIGGER audit_log_refuse BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'audit log unavailable'); END`,
    );

    const res = await call(stack, '/objects/r/a.csv', { token: read });
    const text = await res.text();
    assert.equal(res.status, 503);
    assert.equal(JSON.parse(text).error.code, 'audit_unavailable');
    assert.doesNotMatch(text, /secret report/);

    const put = await call(stack, '/objects/up/blocked.txt', { token: write, method: 'PUT', body: 'x' });
    assert.equal(put.status, 503);
    assert.equal((await put.json()).error.code, 'audit_unavailable');
    assert.equal(existsSync(join(stack.dataDir, LOCAL.bucket, 'up/blocked.txt')), false, 'nothing stored');

    // The grant was not spent either: once the log works again, the same grant goes through.
    await stack.sql(`DROP TRIGGER audit_log_refuse`);
    const retry = await call(stack, '/objects/up/blocked.txt', { token: write, method: 'PUT', body: 'x' });
    assert.equal(retry.status, 200);
  } finally {
    await stack.stop();
  }
});

test('hostile values are bound, cut to length, and cannot break the log', async () => {
  const stack = await startStack({ objects: { "r/it's.csv": 'x' } });
  try {
    const ua = `'); DROP TABLE audit_log; -- ${'é'.repeat(400)}`;
    const token = await stack.grant({ object: "r/it's.csv", sub: "o'brien\"; DELETE FROM audit_log; --" });
    const res = await call(stack, `/objects/r/it's.csv`, { token, ua });
    assert.equal(res.status, 200);
    const [row] = await stack.sql(`SELECT object_key, sub, user_agent FROM audit_log WHERE decision = 'allowed'`);
    assert.equal(row.object_key, "r/it's.csv");
    assert.equal(row.sub, "o'brien\"; DELETE FROM audit_log; --");
    assert.ok(Buffer.byteLength(row.user_agent) <= 256, 'user agent cut to 256 bytes');
    assert.ok(row.user_agent.startsWith("'); DROP TABLE audit_log;"));
  } finally {
    await stack.stop();
  }
});

test('a flood of refusals is bounded: 30 rows per caller and minute, then a count', async () => {
  const stack = await startStack();
  try {
    // The flood takes a few seconds and must fall within one minute: near a minute's end, wait.
    const left = 60_000 - (Date.now() % 60_000);
    if (left < 20_000) await new Promise((r) => setTimeout(r, left + 200));
    const flood = 100;
    for (let i = 0; i < flood; i++) {
      const res = await call(stack, '/objects/x', { ip: '203.0.113.66', ua: 'flood' });
      await res.arrayBuffer();
      assert.equal(res.status, 401);
    }
    const rows = await stack.sql(`SELECT count(*) AS n FROM audit_log WHERE ip = '203.0.113.66'`);
    assert.equal(rows[0].n, 30);
    const [overflow] = await stack.sql(`SELECT ip, count FROM denied_overflow WHERE ip = '203.0.113.66'`);
    // 70 past the budget; counts are written at powers of two, so at least half are on record.
    assert.equal(overflow.count, 64);
    const other = await call(stack, '/objects/x', { ip: '198.51.100.8', ua: 'not-flood' });
    assert.equal(other.status, 401);
    const [mine] = await stack.sql(`SELECT count(*) AS n FROM audit_log WHERE ip = '198.51.100.8'`);
    assert.equal(mine.n, 1, 'other callers are still recorded');
  } finally {
    await stack.stop();
  }
});

test('a read records whether its stream reached the caller whole', async () => {
  // Miniflare serves the Worker directly; wrangler dev's proxy would read whole bodies itself.
  const gk = await startMiniflare({ objects: { 'big.bin': Buffer.alloc(32 * 1024 * 1024, 7), 'small.csv': 'a,b\n' } });
  try {
    const rowFor = async (sub) => {
      for (let i = 0; i < 100; i++) {
        const row = await gk.db.prepare('SELECT stream_complete FROM audit_log WHERE sub = ?').bind(sub).first();
        if (row?.stream_complete !== null && row?.stream_complete !== undefined) return row.stream_complete;
        await new Promise((r) => setTimeout(r, 100));
      }
      return null;
    };
    const whole = await gk.mf.dispatchFetch('http://gatekeeper.test/objects/small.csv', {
      headers: { authorization: `Bearer ${await gk.grant({ object: 'small.csv', sub: 'whole' })}`, 'cf-connecting-ip': '198.51.100.7' },
    });
    assert.equal(await whole.text(), 'a,b\n');
    assert.equal(await rowFor('whole'), 1);

    const cut = await gk.mf.dispatchFetch('http://gatekeeper.test/objects/big.bin', {
      headers: { authorization: `Bearer ${await gk.grant({ object: 'big.bin', sub: 'cut' })}`, 'cf-connecting-ip': '198.51.100.7' },
    });
    const reader = cut.body.getReader();
    await reader.read();
    await reader.cancel();
    assert.equal(await rowFor('cut'), 0);
  } finally {
    await gk.stop();
  }
});

// End to end: a GET through workerd (wrangler dev) to s3s-fs, which verifies the SigV4 signature,
// with the audit row read back from local D1.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startStack, LOCAL } from '../../scripts/lib/stack.mjs';

const BINARY_KEY = 'reports/2026/q3 data+raw.bin';
const binary = randomBytes(3 * 1024 * 1024 + 17);
let stack;

before(async () => {
  stack = await startStack({ objects: { [BINARY_KEY]: binary, 'reports/summary.csv': 'region,total\nEU,42\n' } });
});

after(async () => {
  await stack?.stop();
});

const get = (path, token, init = {}) =>
  fetch(`${stack.url}${path}`, {
    ...init,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'cf-connecting-ip': '203.0.113.9', ...init.headers },
  });

async function auditRows(where) {
  await stack.settled();
  return stack.sql(`SELECT * FROM audit_log WHERE ${where} ORDER BY id`);
}

test('an object streams through byte for byte, and the audit row is written', async () => {
  const token = await stack.grant({ object: BINARY_KEY, sub: 'alice' });
  const res = await get('/objects/reports/2026/q3%20data%2Braw.bin', token, { headers: { 'user-agent': 'e2e-test' } });
  assert.equal(res.status, 200, await res.clone().text());
  const body = Buffer.from(await res.arrayBuffer());
  const stored = readFileSync(join(stack.dataDir, LOCAL.bucket, BINARY_KEY));
  assert.equal(body.length, stored.length);
  assert.ok(body.equals(stored), 'body differs from what s3s-fs stored');
  assert.equal(res.headers.get('cache-control'), 'no-store, no-transform');
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(res.headers.get('content-security-policy'), "default-src 'none'; sandbox");
  assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
  assert.equal(res.headers.get('x-amz-request-id'), null, 'S3 headers must not leak');

  const rows = await auditRows(`sub = 'alice'`);
  assert.equal(rows.length, 1);
  const row = rows[0];
  assert.equal(row.decision, 'allowed');
  assert.equal(row.operation, 'get');
  assert.equal(row.object_key, BINARY_KEY);
  assert.equal(row.bucket, LOCAL.bucket);
  assert.equal(row.status, 200);
  assert.equal(row.s3_status, 200);
  assert.equal(row.bytes_out, binary.length);
  assert.equal(row.ip, '203.0.113.9');
  assert.equal(row.user_agent, 'e2e-test');
  assert.equal(row.key_id, stack.vendorKey.id);
  assert.ok(row.request_id.length > 0);
  assert.ok(Math.abs(row.time_ms - Date.now()) < 60_000);
});

test('a range request is passed through', async () => {
  const token = await stack.grant({ object: BINARY_KEY });
  const res = await get(`/objects/${encodeURIComponent(BINARY_KEY).replaceAll('%2F', '/')}`, token, {
    headers: { range: 'bytes=100-199' },
  });
  assert.equal(res.status, 206);
  assert.equal(res.headers.get('content-range'), `bytes 100-199/${binary.length}`);
  assert.ok(Buffer.from(await res.arrayBuffer()).equals(binary.subarray(100, 200)));
});

test('refusals are JSON with stable codes, and are audited', async () => {
  const cases = [
    { name: 'no grant', path: '/objects/reports/summary.csv', status: 401, code: 'grant_missing' },
    { name: 'garbage grant', path: '/objects/reports/summary.csv', token: 'v4.public.!!!', status: 401, code: 'grant_malformed' },
    {
      name: 'grant for another key',
      path: '/objects/reports/summary.csv',
      token: await stack.grant({ object: BINARY_KEY }),
      status: 403,
      code: 'grant_scope_mismatch',
    },
    {
      name: 'grant for another gatekeeper',
      path: '/objects/reports/summary.csv',
      token: await stack.grant({ object: 'reports/summary.csv', aud: 'someone-else' }),
      status: 401,
      code: 'grant_wrong_audience',
    },
    { name: 'unknown route', path: '/secret', status: 404, code: 'no_route' },
    { name: 'method the API lacks', path: '/objects/reports/summary.csv', method: 'POST', status: 405, code: 'method_not_allowed' },
  ];
  for (const c of cases) {
    const res = await get(c.path, c.token, { method: c.method ?? 'GET', headers: { 'user-agent': `refusal-${c.code}` } });
    assert.equal(res.status, c.status, c.name);
    assert.match(res.headers.get('content-type'), /^application\/json/, c.name);
    const body = await res.json();
    assert.equal(body.error.code, c.code, c.name);
    assert.equal(typeof body.error.message, 'string', c.name);
    const rows = await auditRows(`user_agent = 'refusal-${c.code}'`);
    assert.equal(rows.length, 1, `${c.name}: one audit row`);
    assert.equal(rows[0].decision, c.code, c.name);
    assert.equal(rows[0].status, c.status, c.name);
    assert.equal(rows[0].s3_status, null, `${c.name}: S3 was never asked`);
  }
});

test('a missing object is a 404 JSON error', async () => {
  const token = await stack.grant({ object: 'reports/nope.csv' });
  const res = await get('/objects/reports/nope.csv', token);
  assert.equal(res.status, 404);
  assert.equal((await res.json()).error.code, 'not_found');
});

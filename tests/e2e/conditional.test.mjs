// End to end against garage, a second S3-compatible server that verifies SigV4 and, unlike
// s3s-fs, evaluates conditional GETs and checks the signing region: 304 and 412 come back from
// S3 through the gatekeeper, and a gatekeeper configured for the wrong region is refused by S3.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGarage, garageSettings, startStack } from '../../scripts/lib/stack.mjs';

const REPORT = 'region,total\nEU,42\n';
let garage;
let stack;

before(async () => {
  garage = await startGarage();
  stack = await startStack({ vars: garageSettings(garage) });
  // garage starts empty: the report is uploaded through the gatekeeper itself.
  const token = await stack.grant({ op: 'put', object: 'reports/q3.csv' });
  const put = await fetch(`${stack.url}/objects/reports/q3.csv`, {
    method: 'PUT',
    body: REPORT,
    headers: { authorization: `Bearer ${token}`, 'cf-connecting-ip': '198.51.100.7', 'content-type': 'text/csv' },
  });
  assert.equal(put.status, 200, await put.text());
});

after(async () => {
  await stack?.stop();
  await garage?.stop();
});

test('conditional reads: 304 and 412 from S3 pass back through the gatekeeper', async () => {
  const token = await stack.grant({ object: 'reports/q3.csv' });
  const get = (headers = {}) =>
    fetch(`${stack.url}/objects/reports/q3.csv`, {
      headers: { authorization: `Bearer ${token}`, 'cf-connecting-ip': '198.51.100.7', ...headers },
    });
  const first = await get();
  assert.equal(first.status, 200);
  assert.equal(await first.text(), REPORT);
  assert.equal(first.headers.get('content-type'), 'text/csv');
  const etag = first.headers.get('etag');

  const unchanged = await get({ 'if-none-match': etag });
  assert.equal(unchanged.status, 304);
  assert.equal(await unchanged.text(), '');
  const notModified = await get({ 'if-modified-since': new Date(Date.now() + 3600_000).toUTCString() });
  assert.equal(notModified.status, 304);
  const changed = await get({ 'if-none-match': '"another-version"' });
  assert.equal(changed.status, 200);
  assert.equal(await changed.text(), REPORT);

  const stale = await get({ 'if-match': '"another-version"' });
  assert.equal(stale.status, 412);
  assert.equal((await stale.json()).error.code, 'precondition_failed');
  const fresh = await get({ 'if-match': etag });
  assert.equal(fresh.status, 200);

  await stack.settled();
  const rows = await stack.sql(`SELECT status, s3_status, decision FROM audit_log WHERE operation = 'get' ORDER BY id`);
  assert.deepEqual(
    rows.map((r) => [r.status, r.s3_status, r.decision]),
    [
      [200, 200, 'allowed'],
      [304, 304, 'allowed'],
      [304, 304, 'allowed'],
      [200, 200, 'allowed'],
      [412, 412, 'precondition_failed'],
      [200, 200, 'allowed'],
    ],
  );
});

test('a gatekeeper signing for the wrong region is refused by S3: upstream_auth, nothing served', async () => {
  const wrong = await startStack({ vars: { ...garageSettings(garage), S3_REGION: 'eu-west-3' } });
  try {
    const token = await wrong.grant({ object: 'reports/q3.csv' });
    const res = await fetch(`${wrong.url}/objects/reports/q3.csv`, {
      headers: { authorization: `Bearer ${token}`, 'cf-connecting-ip': '198.51.100.7' },
    });
    const text = await res.text();
    assert.equal(res.status, 502);
    assert.equal(JSON.parse(text).error.code, 'upstream_auth');
    assert.doesNotMatch(text, /region,total/);
  } finally {
    await wrong.stop();
  }
});

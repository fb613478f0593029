// End to end: what the gatekeeper does when its settings are wrong.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startStack } from '../../scripts/lib/stack.mjs';

test('a wrong AWS secret: S3 refuses the signature, the caller gets upstream_auth and no bytes', async () => {
  const stack = await startStack({
    vars: { AWS_SECRET_ACCESS_KEY: 'not-the-secret-s3s-fs-knows' },
    objects: { 'reports/summary.csv': 'region,total\nEU,42\n' },
  });
  try {
    const token = await stack.grant({ object: 'reports/summary.csv', sub: 'bob' });
    const res = await fetch(`${stack.url}/objects/reports/summary.csv`, {
      headers: { authorization: `Bearer ${token}`, 'cf-connecting-ip': '203.0.113.9' },
    });
    assert.equal(res.status, 502);
    const text = await res.text();
    assert.doesNotMatch(text, /region,total/, 'no object bytes');
    assert.doesNotMatch(text, /SignatureDoesNotMatch|<Error>/, 'no S3 body');
    assert.equal(JSON.parse(text).error.code, 'upstream_auth');

    await stack.settled();
    const [row] = await stack.sql(`SELECT * FROM audit_log WHERE sub = 'bob'`);
    assert.equal(row.decision, 'upstream_auth');
    assert.equal(row.status, 502);
    assert.equal(row.s3_status, 403, 'S3 (s3s-fs) refused the signature');
  } finally {
    await stack.stop();
  }
});

test('a missing setting: every request is 500 misconfigured, the log names it, nothing is fetched', async () => {
  // A tripwire in place of S3: any request reaching it would be a fetch that must not happen.
  const hits = [];
  const tripwire = createServer((req, res) => {
    hits.push(req.url);
    res.end();
  });
  await new Promise((resolve) => tripwire.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${tripwire.address().port}`;
  const stack = await startStack({ vars: { S3_BUCKET: undefined, S3_ENDPOINT: endpoint } });
  try {
    const token = await stack.grant({ object: 'reports/summary.csv' });
    for (const path of ['/objects/reports/summary.csv', '/anything']) {
      const res = await fetch(`${stack.url}${path}`, {
        headers: { authorization: `Bearer ${token}`, 'cf-connecting-ip': '203.0.113.9' },
      });
      assert.equal(res.status, 500);
      const body = await res.json();
      assert.equal(body.error.code, 'misconfigured');
      assert.doesNotMatch(JSON.stringify(body), /S3_BUCKET/, 'the caller is not told which setting');
    }
    // A preflight is refused too, and, like every preflight, leaves no row.
    const preflight = await fetch(`${stack.url}/objects/reports/summary.csv`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.vendor.example', 'access-control-request-method': 'GET', 'cf-connecting-ip': '203.0.113.9' },
    });
    assert.equal(preflight.status, 500);
    // wrangler prints the worker's console output; give it a moment to flush.
    await new Promise((r) => setTimeout(r, 500));
    assert.match(stack.output(), /misconfigured: S3_BUCKET: required but not set/);
    assert.deepEqual(hits, [], 'nothing was fetched');
    // The customer's audit log shows the refusals too, though the bucket is the setting at fault.
    await stack.settled();
    const rows = await stack.sql(`SELECT method, operation, bucket, object_key, decision, status, ip, key_id, sub FROM audit_log ORDER BY id`);
    assert.deepEqual(
      rows.map((r) => [r.method, r.operation, r.bucket, r.object_key, r.decision, r.status, r.ip, r.key_id, r.sub]),
      [
        ['GET', 'get', '', 'reports/summary.csv', 'misconfigured', 500, '203.0.113.9', null, null],
        ['GET', null, '', null, 'misconfigured', 500, '203.0.113.9', null, null],
      ],
    );
  } finally {
    await stack.stop();
    tripwire.close();
  }
});

test('an invalid ACL entry: 500 misconfigured, and the log names the field and entry', async () => {
  const stack = await startStack({ vars: { ACL: JSON.stringify({ ip: { allow: ['0.0.0.0/0', '10.1.2.3/8'] } }) } });
  try {
    const res = await fetch(`${stack.url}/objects/a`, { headers: { 'cf-connecting-ip': '198.51.100.7' } });
    assert.equal(res.status, 500);
    assert.equal((await res.json()).error.code, 'misconfigured');
    await new Promise((r) => setTimeout(r, 500));
    assert.match(stack.output(), /misconfigured: ACL: ip\.allow\[1\]: host bits are set/);
    await stack.settled();
    const [row] = await stack.sql(`SELECT bucket, object_key, decision, status, ip FROM audit_log`);
    assert.deepEqual(row, { bucket: 'demo-reports', object_key: 'a', decision: 'misconfigured', status: 500, ip: '198.51.100.7' });
  } finally {
    await stack.stop();
  }
});

test('a secret in the wrong setting: the log names the setting, and shows no secret', async () => {
  // The seal key's secret pasted where a vendor's public key belongs, and a seal key that is
  // not a key at all.
  const stack = await startStack({
    vars: { VENDOR_KEYS: JSON.stringify(['k4.secret.c2VjcmV0LXBhc3RlZC1pbnRvLXRoZS13cm9uZy1zZXR0aW5n']) },
  });
  try {
    const res = await fetch(`${stack.url}/objects/a`, { headers: { 'cf-connecting-ip': '198.51.100.7' } });
    assert.equal(res.status, 500);
    assert.doesNotMatch(await res.text(), /VENDOR_KEYS|c2VjcmV0/);
    await new Promise((r) => setTimeout(r, 500));
    const line = stack.output().split('\n').find((l) => l.includes('misconfigured: VENDOR_KEYS'));
    assert.ok(line, 'the log names the setting');
    assert.doesNotMatch(line, /c2VjcmV0LXBhc3RlZC1pbnRvLXRoZS13cm9uZy1zZXR0aW5n/, 'the secret is not in the log line');
  } finally {
    await stack.stop();
  }
  const badSeal = 'k4.secret.bm90LWEta2V5LWJ1dC1zdGlsbC1hLXNlY3JldC12YWx1ZQ';
  const sealed = await startStack({ vars: { AUDIT_SEAL_KEY: badSeal } });
  try {
    const res = await fetch(`${sealed.url}/objects/a`, { headers: { 'cf-connecting-ip': '198.51.100.7' } });
    assert.equal(res.status, 500);
    await new Promise((r) => setTimeout(r, 500));
    assert.match(sealed.output(), /misconfigured: AUDIT_SEAL_KEY: not a PASERK k4\.secret key/);
    assert.doesNotMatch(sealed.output(), /bm90LWEta2V5LWJ1dC1zdGlsbC1hLXNlY3JldC12YWx1ZQ/, 'neither wrangler nor the Worker prints it');
  } finally {
    await sealed.stop();
  }
});

test('S3 that never answers: 504 upstream_timeout after UPSTREAM_TIMEOUT_SECONDS', async () => {
  // Accepts connections and reads the request, but never replies.
  const sockets = [];
  const silent = createServer(() => {});
  silent.on('connection', (s) => sockets.push(s));
  await new Promise((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const stack = await startStack({
    vars: { S3_ENDPOINT: `http://127.0.0.1:${silent.address().port}`, UPSTREAM_TIMEOUT_SECONDS: '2' },
  });
  try {
    const token = await stack.grant({ object: 'slow.csv', sub: 'timeout-test' });
    const started = Date.now();
    const res = await fetch(`${stack.url}/objects/slow.csv`, {
      headers: { authorization: `Bearer ${token}`, 'cf-connecting-ip': '198.51.100.7' },
    });
    const waited = Date.now() - started;
    assert.equal(res.status, 504);
    assert.equal((await res.json()).error.code, 'upstream_timeout');
    assert.ok(waited >= 1900 && waited < 15000, `waited ${waited} ms`);
    await stack.settled();
    const [row] = await stack.sql(`SELECT decision, status FROM audit_log WHERE sub = 'timeout-test'`);
    assert.deepEqual([row.decision, row.status], ['upstream_timeout', 504]);
  } finally {
    await stack.stop();
    sockets.forEach((s) => s.destroy());
    silent.close();
  }
});

test("UPSTREAM_TIMEOUT_SECONDS bounds the wait for S3's headers only: a body that takes longer arrives whole", async () => {
  // Answers at once, then sends the second half of the body after the timeout has passed. A
  // timeout tied to the whole fetch (an AbortSignal.timeout on it) would cut the body there.
  const slow = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '10' });
    res.write('hello');
    setTimeout(() => res.end('world'), 2500);
  });
  await new Promise((resolve) => slow.listen(0, '127.0.0.1', resolve));
  const stack = await startStack({
    vars: { S3_ENDPOINT: `http://127.0.0.1:${slow.address().port}`, UPSTREAM_TIMEOUT_SECONDS: '1' },
  });
  try {
    const token = await stack.grant({ object: 'slow-body.txt', sub: 'slow-body-test' });
    const started = Date.now();
    const res = await fetch(`${stack.url}/objects/slow-body.txt`, {
      headers: { authorization: `Bearer ${token}`, 'cf-connecting-ip': '198.51.100.7' },
    });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'helloworld');
    assert.ok(Date.now() - started >= 2000, 'the body took longer than the timeout');
  } finally {
    await stack.stop();
    slow.close();
  }
});

test('deletes, once enabled, remove the object, and their grants are single use', async () => {
  const stack = await startStack({ vars: { DELETE_ENABLED: 'true' }, objects: { 'old/report.csv': 'x' } });
  try {
    const token = await stack.grant({ op: 'delete', object: 'old/report.csv' });
    const call = () =>
      fetch(`${stack.url}/objects/old/report.csv`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${token}`, 'cf-connecting-ip': '198.51.100.7' },
      });
    const first = await call();
    assert.equal(first.status, 204);
    assert.equal(existsSync(join(stack.dataDir, 'demo-reports', 'old/report.csv')), false);
    const again = await call();
    assert.equal(again.status, 403);
    assert.equal((await again.json()).error.code, 'grant_replayed');
    const long = await fetch(`${stack.url}/objects/${'a'.repeat(4000)}`, { headers: { 'cf-connecting-ip': '198.51.100.7' } });
    assert.equal(long.status, 414);
    assert.equal((await long.json()).error.code, 'uri_too_long');
  } finally {
    await stack.stop();
  }
});

// End to end: what the gatekeeper does when its settings are wrong.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
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
    // wrangler prints the worker's console output; give it a moment to flush.
    await new Promise((r) => setTimeout(r, 500));
    assert.match(stack.output(), /misconfigured: S3_BUCKET: required but not set/);
    assert.deepEqual(hits, [], 'nothing was fetched');
  } finally {
    await stack.stop();
    tripwire.close();
  }
});

// End to end: ListObjectsV2 confined to the granted prefix, paginated, answered as JSON.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../../scripts/lib/stack.mjs';

const REPORTS = ['reports/a.csv', 'reports/b c.csv', 'reports/d+e.csv', 'reports/2026/q1.csv', 'reports/2026/q2.csv', 'reports/x.csv', 'reports/y.csv'];
let stack;

before(async () => {
  const objects = Object.fromEntries([...REPORTS, 'secret/plans.txt', 'reportsX/other.csv'].map((k) => [k, `content of ${k}`]));
  stack = await startStack({ objects });
});

after(async () => {
  await stack?.stop();
});

const list = async (query, token) => {
  const res = await fetch(`${stack.url}/objects?${query}`, {
    headers: { authorization: `Bearer ${token}`, 'cf-connecting-ip': '198.51.100.7' },
  });
  return [res.status, await res.json()];
};

test('pages through exactly the keys under the granted prefix', async () => {
  const token = await stack.grant({ op: 'list', prefix: 'reports/' });
  const seen = [];
  let cursor;
  let pages = 0;
  do {
    const q = new URLSearchParams({ prefix: 'reports/', limit: '3', ...(cursor ? { cursor } : {}) });
    const [status, page] = await list(q.toString(), token);
    assert.equal(status, 200, JSON.stringify(page));
    assert.ok(page.objects.length <= 3);
    for (const o of page.objects) {
      assert.equal(typeof o.size, 'number');
      assert.ok(o.last_modified);
      assert.ok(o.etag === null || typeof o.etag === 'string');
      seen.push(o.key);
    }
    cursor = page.next_cursor;
    pages += 1;
  } while (cursor && pages < 10);
  assert.equal(pages, 3);
  assert.deepEqual(seen.sort(), [...REPORTS].sort());

  await stack.settled();
  const rows = await stack.sql(`SELECT operation, object_key, decision FROM audit_log WHERE operation = 'list'`);
  assert.equal(rows.length, 3);
  assert.ok(rows.every((r) => r.object_key === 'reports/' && r.decision === 'allowed'));
});

test('folders groups by slash', async () => {
  const token = await stack.grant({ op: 'list', prefix: 'reports/' });
  const [status, page] = await list('prefix=reports%2F&folders=true', token);
  assert.equal(status, 200);
  assert.deepEqual(page.prefixes, ['reports/2026/']);
  assert.equal(page.objects.length, 5);
});

test('another prefix, a wider one, or a bad query is refused', async () => {
  const token = await stack.grant({ op: 'list', prefix: 'reports/' });
  for (const prefix of ['', 'secret/', 'reports', 'reports/2026/']) {
    const [status, body] = await list(new URLSearchParams({ prefix }).toString(), token);
    assert.deepEqual([status, body.error.code], [403, 'grant_scope_mismatch'], JSON.stringify(prefix));
  }
  for (const q of ['limit=5', 'prefix=reports/&limit=0', 'prefix=reports/&order=desc']) {
    const [status, body] = await list(q, token);
    assert.deepEqual([status, body.error.code], [400, 'bad_query'], q);
  }
  const getGrant = await stack.grant({ object: 'reports/a.csv' });
  const [status, body] = await list('prefix=reports/', getGrant);
  assert.deepEqual([status, body.error.code], [403, 'grant_scope_mismatch']);
});

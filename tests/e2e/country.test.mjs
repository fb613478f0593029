// End to end: the country rules.
//
// Through `wrangler dev`, whose local `request.cf` always says US, with US refused by
// configuration (every other test runs with it allowed by default). And per request, through
// Miniflare's `dispatchFetch` with a `cf` object, which runs the same built Worker in workerd with
// a real local D1 and s3s-fs behind it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, startMiniflare } from '../../scripts/lib/stack.mjs';

const REPORT = 'country,total\nGB,1\n';

test('with the local placeholder country (US) refused by configuration', async () => {
  const stack = await startStack({
    vars: { ACL: JSON.stringify({ country: { allow: ['GB', 'IE'] } }) },
    objects: { 'r.csv': REPORT },
  });
  try {
    const token = await stack.grant({ object: 'r.csv' });
    const res = await fetch(`${stack.url}/objects/r.csv`, {
      headers: { authorization: `Bearer ${token}`, 'cf-connecting-ip': '198.51.100.7' },
    });
    assert.equal(res.status, 403);
    assert.equal((await res.json()).error.code, 'country_not_allowed');
    const [row] = await stack.sql(`SELECT country, decision FROM audit_log WHERE decision LIKE 'country%'`);
    assert.deepEqual([row.country, row.decision], ['US', 'country_not_allowed']);
  } finally {
    await stack.stop();
  }
});

test('per request, through dispatchFetch with a cf object', async () => {
  const gk = await startMiniflare({
    vars: { ACL: { country: { allow: ['GB', 'NZ'], deny: ['NZ'], unknown: 'deny', tor: 'deny' } } },
    objects: { 'r.csv': REPORT },
  });
  try {
    const headers = { authorization: `Bearer ${await gk.grant({ object: 'r.csv' })}`, 'cf-connecting-ip': '198.51.100.7' };
    const cases = [
      [{ country: 'GB' }, 200, null],
      [{ country: 'FR' }, 403, 'country_not_allowed'],
      [{ country: 'NZ' }, 403, 'country_denied'],
      [{ country: 'T1' }, 403, 'country_tor'],
      [{ country: 'US' }, 403, 'country_not_allowed'],
    ];
    for (const [cf, status, code] of cases) {
      const res = await gk.mf.dispatchFetch('http://gatekeeper.test/objects/r.csv', { headers, cf });
      assert.equal(res.status, status, JSON.stringify(cf));
      if (code) assert.equal((await res.json()).error.code, code, JSON.stringify(cf));
      else assert.equal(await res.text(), REPORT);
    }
    const { results } = await gk.db.prepare('SELECT country, decision FROM audit_log ORDER BY id').all();
    assert.deepEqual(
      results.map((r) => [r.country, r.decision]),
      [['GB', 'allowed'], ['FR', 'country_not_allowed'], ['NZ', 'country_denied'], ['T1', 'country_tor'], ['US', 'country_not_allowed']],
    );
  } finally {
    await gk.stop();
  }
});

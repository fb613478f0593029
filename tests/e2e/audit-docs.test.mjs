// Every query docs/audit.md offers customers runs against a local database with real rows.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startStack, ROOT } from '../../scripts/lib/stack.mjs';

const doc = readFileSync(join(ROOT, 'docs/audit.md'), 'utf8');
const commands = [...doc.matchAll(/^npx wrangler d1 execute AUDIT_DB --remote --command "(.+)"$/gm)].map((m) => m[1]);

test('docs/audit.md queries run and answer from the views', async () => {
  assert.ok(commands.length >= 7, `found ${commands.length} documented queries`);
  const stack = await startStack({ objects: { 'reports/2026/q3-summary.csv': 'a,b\n' } });
  try {
    const token = await stack.grant({ object: 'reports/2026/q3-summary.csv', sub: 'demo-user' });
    const url = `${stack.url}/objects/reports/2026/q3-summary.csv`;
    const ok = await fetch(url, { headers: { authorization: `Bearer ${token}`, 'cf-connecting-ip': '198.51.100.7' } });
    await ok.arrayBuffer();
    const denied = await fetch(url, { headers: { 'cf-connecting-ip': '198.51.100.7' } });
    await denied.arrayBuffer();

    await stack.settled();
    const answers = new Map();
    for (const sql of commands) answers.set(sql, await stack.sql(sql));
    const answer = (fragment) => [...answers].find(([sql]) => sql.includes(fragment))[1];
    const deniedDay = answer('FROM denied_last_24h LIMIT 50');
    const topCallers = answer('FROM top_callers_24h');
    const userActivity = answer('FROM user_activity');
    const readers = answer("operation = 'get'");
    const fromIp = answer("ip = '198.51.100.7'");
    const byReason = answer('GROUP BY decision');
    assert.deepEqual(deniedDay.map((r) => r.decision), ['grant_missing']);
    assert.equal(topCallers[0].ip, '198.51.100.7');
    assert.equal(topCallers[0].requests, 2);
    assert.equal(topCallers[0].denied, 1);
    assert.deepEqual(userActivity.map((r) => [r.operation, r.decision]), [['get', 'allowed']]);
    assert.equal(readers.length, 1);
    assert.match(readers[0].time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(fromIp.length, 2);
    assert.deepEqual(byReason, [{ decision: 'grant_missing', requests: 1 }]);
  } finally {
    await stack.stop();
  }
});

// Every query docs/audit.md offers customers keeps the index docs/audit.md ("Indexes") says
// serves it: planned with EXPLAIN QUERY PLAN against the local D1 that `wrangler d1 migrations
// apply` built, as a customer's `wrangler d1 execute` would plan it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startStack, ROOT } from '../../scripts/lib/stack.mjs';

const doc = readFileSync(join(ROOT, 'docs/audit.md'), 'utf8');
const documented = [...doc.matchAll(/^npx wrangler d1 execute AUDIT_DB --remote --command "(SELECT .+)"$/gm)].map((m) => m[1]);

// For each documented query (found by a fragment of it): the index that must find its rows, or
// null where none can, and whether its ORDER BY must come from the index rather than a sort.
const EXPECTED = [
  { fragment: 'FROM denied_last_24h LIMIT', index: 'audit_log_denied_time' },
  { fragment: 'GROUP BY decision', index: 'audit_log_denied_time' },
  { fragment: 'FROM top_callers_24h', index: 'audit_log_time' },
  { fragment: "FROM user_activity WHERE sub = 'demo-user'", index: 'audit_log_sub', ordered: true },
  { fragment: "object_key = 'reports/2026/q3-summary.csv'", index: 'audit_log_key', ordered: true },
  { fragment: "ip = '198.51.100.7'", index: 'audit_log_ip', ordered: true },
  // `time` is text computed from time_ms, which no index can serve: the rows are read by id,
  // newest first, with no sort.
  { fragment: "operation IN ('put', 'delete')", index: null, ordered: true },
  // Not audit_log.
  { fragment: 'FROM denied_overflow', table: 'denied_overflow' },
];
// The views read on their own.
const VIEWS = [
  { sql: 'SELECT * FROM user_activity', index: 'audit_log_sub', ordered: true },
  { sql: 'SELECT * FROM denied_last_24h', index: 'audit_log_denied_time' },
  { sql: 'SELECT * FROM top_callers_24h', index: 'audit_log_time' },
];

/** The section "## Indexes" of docs/audit.md: the index names it lists, in backticks. */
function documentedIndexes() {
  const start = doc.indexOf('\n## Indexes\n');
  assert.ok(start >= 0, 'docs/audit.md has a section "## Indexes"');
  const end = doc.indexOf('\n## ', start + 1);
  const section = doc.slice(start, end < 0 ? undefined : end);
  return [...new Set([...section.matchAll(/`(audit_log_[a-z_]+)`/g)].map((m) => m[1]))].sort();
}

test('documented audit queries use their indexes, and docs/audit.md lists exactly the indexes there are', async () => {
  assert.ok(documented.length >= 7, `found ${documented.length} documented queries`);
  const cases = [
    ...documented.map((sql) => {
      const matches = EXPECTED.filter((e) => sql.includes(e.fragment));
      assert.equal(matches.length, 1, `one expectation for each documented query: ${sql}`);
      return { sql, ...matches[0] };
    }),
    ...VIEWS,
  ];
  for (const e of EXPECTED) assert.ok(documented.some((sql) => sql.includes(e.fragment)), `still documented: ${e.fragment}`);

  const stack = await startStack();
  try {
    for (const { sql, index, ordered, table } of cases) {
      const plan = (await stack.sql(`EXPLAIN QUERY PLAN ${sql}`)).map((r) => r.detail);
      const text = `${sql}\nplan: ${plan.join(' | ')}`;
      if (table) {
        assert.ok(plan.some((step) => step.includes(table)), text);
        assert.ok(!plan.some((step) => step.includes('audit_log')), text);
        continue;
      }
      if (index) {
        assert.ok(plan.some((step) => new RegExp(`^SEARCH audit_log USING (COVERING )?INDEX ${index} `).test(step)), `uses ${index}: ${text}`);
        assert.ok(!plan.some((step) => /^SCAN audit_log\b/.test(step)), `no full scan: ${text}`);
      } else {
        assert.ok(plan.some((step) => /^SCAN audit_log$/.test(step)), `read by id: ${text}`);
      }
      if (ordered) assert.ok(!plan.some((step) => /TEMP B-TREE FOR (LAST TERM OF )?ORDER BY/.test(step)), `no sort: ${text}`);
    }

    const indexes = (await stack.sql("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'audit_log' AND sql IS NOT NULL ORDER BY name")).map((r) => r.name);
    assert.deepEqual(documentedIndexes(), indexes, 'docs/audit.md "## Indexes" names every index of audit_log, and no other');
  } finally {
    await stack.stop();
  }
});

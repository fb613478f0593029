// What one audit row costs in D1, and that the shorter encoding of migration 0014 keeps every
// promise of docs/audit.md: the Worker stores `signers` as '1' for a request one grant vouched
// for, audit_readable gives the array back (with the columns it lacked), the documented queries
// answer, and rows of both forms, sealed together, verify.
//
// Bytes per row (docs/audit.md, "Capacity"): rows like a real read's (a 40-byte key under
// reports/, a browser's User-Agent, an IPv4 address, a vendor key id, a sub, a grant id), copied
// from the row the Worker itself wrote, are inserted in both forms, and the database's growth is
// read from D1 (`meta.size_after`). S3GK_SIZE_ROWS sets how many (default 20 000 of each).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startStack, startMiniflare, ROOT, CLI } from '../../scripts/lib/stack.mjs';

const run = promisify(execFile);
const ROWS = Number(process.env.S3GK_SIZE_ROWS ?? 20000);
const KEY = 'reports/2026/q3/summary-emea-final-2.csv';
const BROWSER = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const doc = readFileSync(join(ROOT, 'docs/audit.md'), 'utf8');
const documented = [...doc.matchAll(/^npx wrangler d1 execute AUDIT_DB --remote --command "(.+)"$/gm)].map((m) => m[1]);

/**
 * The database's size in bytes, as D1 reports it with a statement's result to a Worker (the
 * binding's `meta.size_after`; `wrangler d1 execute --json` leaves it out, and D1 refuses
 * `PRAGMA page_count`).
 */
async function size(db) {
  const { meta } = await db.prepare('SELECT 1').run();
  assert.ok(Number.isInteger(meta.size_after), `D1 reports the size: ${JSON.stringify(meta)}`);
  return meta.size_after;
}

/**
 * Inserts `n` copies of `row`, each with its own time, request id, key (40 bytes, under
 * reports/), IPv4 address, sub and grant id, in statements of 2 000. `signers` is the one-signer
 * form ('1') or, with `array`, the array rows held before migration 0014.
 */
async function copies(db, row, n, { array, from }) {
  assert.equal(KEY.length, 40);
  const columns = Object.keys(row).filter((c) => c !== 'id');
  const varied = {
    time_ms: 'time_ms + i',
    request_id: "printf('%016x-FRA', 1000000000 + i)",
    // Each key twice: once in each form.
    object_key: `printf('reports/2026/%05d/summary-emea-2026.csv', i % ${n})`,
    ip: "printf('203.%d.%d.%d', i % 200, (i / 200) % 250, 1 + i % 250)",
    sub: "printf('user-%08d', i % 2000)",
    jti: "printf('%08x-1c2d-4e5f-a6b7-%012x', i, i * 7919)",
    signers: array
      ? "json_array(json_object('jti', printf('%08x-1c2d-4e5f-a6b7-%012x', i, i * 7919), 'key_id', key_id, 'sub', printf('user-%08d', i % 2000)))"
      : "'1'",
  };
  for (let start = from; start < from + n; start += 2000) {
    const end = Math.min(start + 2000, from + n) - 1;
    await db.prepare(`WITH RECURSIVE n(i) AS (SELECT ${start} UNION ALL SELECT i + 1 FROM n WHERE i < ${end})
      INSERT INTO audit_log (${columns.join(', ')})
      SELECT ${columns.map((c) => varied[c] ?? c).join(', ')} FROM n, (SELECT * FROM audit_log WHERE id = ${row.id})`).run();
  }
}

async function verify(stack, json, name) {
  const file = join(mkdtempSync(join(tmpdir(), 's3gk-size-')), `${name}.json`);
  writeFileSync(file, json);
  try {
    const { stdout } = await run(CLI, ['audit', 'verify', '--key', stack.sealKey.public, file]);
    return { code: 0, stdout };
  } catch (err) {
    return { code: err.code, stdout: `${err.stdout}${err.stderr}` };
  }
}

test('one signer is stored as 1, read back whole, sealed and verified with rows of the old form; bytes per row', async () => {
  const stack = await startStack({ vars: { AUDIT_SEAL_GRACE_SECONDS: '0', ALLOWED_ORIGINS: 'https://app.vendor.example' }, objects: { [KEY]: 'a,b\n' } });
  try {
    // A row as rows were stored before migration 0014: its one signer as an array.
    const vendor = stack.keys.vendor.id;
    const oldSigners = JSON.stringify([{ jti: 'old-jti', key_id: vendor, sub: 'old-user' }]);
    await stack.sql(`INSERT INTO audit_log (time_ms, request_id, operation, bucket, object_key, decision, status, ip, user_agent, key_id, sub, jti, signers, method)
      VALUES (${Date.now() - 60000}, 'old-1', 'get', 'demo-reports', '${KEY}', 'allowed', 200, '192.0.2.1', 'old-agent', '${vendor}', 'old-user', 'old-jti', '${oldSigners}', 'GET')`);

    const token = await stack.grant({ object: KEY, sub: 'demo-user', jti: 'read-jti-1' });
    const headers = { authorization: `Bearer ${token}`, 'cf-connecting-ip': '198.51.100.7', 'user-agent': BROWSER, origin: 'https://app.vendor.example' };
    const read = await fetch(`${stack.url}/objects/${KEY}`, { headers });
    assert.equal(read.status, 200);
    await read.arrayBuffer();
    const refused = await fetch(`${stack.url}/objects/${KEY}`, { headers: { 'cf-connecting-ip': '198.51.100.7' } });
    assert.equal(refused.status, 401);
    await refused.arrayBuffer();
    await stack.settled();

    const stored = await stack.sql('SELECT * FROM audit_log ORDER BY id');
    assert.equal(stored.length, 3);
    const [old, mine, denied] = stored;
    assert.equal(old.signers, oldSigners, 'an old row keeps its array');
    assert.equal(mine.signers, '1', 'one signer is stored as 1');
    assert.deepEqual([mine.key_id, mine.sub, mine.jti], [vendor, 'demo-user', 'read-jti-1']);
    assert.equal(denied.signers, null, 'no signer, no signers');

    // audit_readable: the array for every row, and the columns it lacked.
    const readable = await stack.sql('SELECT * FROM audit_readable ORDER BY id');
    for (const column of ['method', 'signers', 'body_relayed', 's3_ms', 'd1_ms', 'spent']) {
      assert.ok(column in readable[0], `audit_readable has ${column}`);
    }
    assert.equal(readable[0].signers, oldSigners);
    assert.deepEqual(JSON.parse(readable[1].signers), [{ key_id: vendor, sub: 'demo-user', jti: 'read-jti-1' }]);
    // The same text the Worker wrote before migration 0014 (serde_json orders the keys).
    assert.equal(readable[1].signers, JSON.stringify([{ jti: 'read-jti-1', key_id: vendor, sub: 'demo-user' }]));
    assert.equal(readable[2].signers, null);
    assert.deepEqual(
      [readable[1].method, readable[1].body_relayed, typeof readable[1].s3_ms, typeof readable[1].d1_ms, readable[1].spent],
      ['GET', 1, 'number', 'number', null],
    );
    const activity = await stack.sql("SELECT * FROM user_activity WHERE sub = 'demo-user'");
    assert.equal(activity.length, 1);

    // Every documented query still runs.
    assert.ok(documented.length >= 7);
    for (const sql of documented) await stack.sql(sql);

    // Old and new rows sealed together verify; the stored '1' is what the seal covers.
    const ran = await stack.cron(Date.now() + 1000);
    assert.equal(ran.status, 200, ran.outcome);
    assert.doesNotMatch(stack.output(), /audit sealing failed/);
    const [{ n }] = await stack.sql('SELECT count(*) AS n FROM audit_seals WHERE signature IS NOT NULL AND last_id >= 3');
    assert.equal(n, 1, 'all three rows are sealed');
    const exported = await stack.export('SELECT * FROM audit_log ORDER BY id; SELECT * FROM audit_seals ORDER BY id');
    const clean = await verify(stack, exported, 'clean');
    assert.equal(clean.code, 0, clean.stdout);
    const forged = exported.replace(/"signers": ?"1"/, `"signers":${JSON.stringify(JSON.stringify([{ jti: 'x', key_id: vendor, sub: 'someone-else' }]))}`);
    assert.notEqual(forged, exported);
    const caught = await verify(stack, forged, 'forged');
    assert.notEqual(caught.code, 0, caught.stdout);
    assert.match(caught.stdout, new RegExp(`row ${mine.id}\\b`));

    // Bytes per row, in a database of its own with every migration: copies of the Worker's own
    // row, first in the form before 0014, then in the one-signer form.
    const mf = await startMiniflare();
    try {
      const { db } = mf;
      const columns = Object.keys(mine).filter((c) => c !== 'id');
      // Without its id: a row inserted with an id it does not have is skipped (migration 0010).
      const { meta } = await db.prepare(`INSERT INTO audit_log (${columns.join(', ')}) VALUES (${columns.map((_, i) => `?${i + 1}`).join(', ')})`)
        .bind(...columns.map((c) => mine[c])).run();
      const template = { ...mine, id: meta.last_row_id };
      const sizes = [await size(db)];
      await copies(db, template, ROWS, { array: true, from: 0 });
      sizes.push(await size(db));
      await copies(db, template, ROWS, { array: false, from: ROWS });
      sizes.push(await size(db));
      const before = (sizes[1] - sizes[0]) / ROWS;
      const after = (sizes[2] - sizes[1]) / ROWS;
      const lengths = await db.prepare(`SELECT avg(length(object_key)) AS key, avg(length(user_agent)) AS agent, avg(length(key_id)) AS key_id, avg(length(signers)) AS signers FROM audit_log WHERE id > ${template.id + ROWS}`).first();
      console.log(`audit_log bytes per row (${ROWS} rows each, with indexes): before 0014 ${before.toFixed(1)}, after ${after.toFixed(1)} (${(after / before).toFixed(3)}); rows per GB after: ${Math.floor(1e9 / after)}; column lengths ${JSON.stringify(lengths)}`);
      assert.ok(before - after >= 100, `the one-signer form saves at least 100 bytes a row: ${before} → ${after}`);
      // The copies answer the documented queries as the originals do.
      const { rows } = await db.prepare("SELECT count(*) AS rows FROM audit_readable WHERE object_key = 'reports/2026/00007/summary-emea-2026.csv' AND operation = 'get' AND decision = 'allowed'").first();
      assert.equal(rows, 2);
      for (const sql of documented) await db.prepare(sql).all();
    } finally {
      await mf.stop();
    }
  } finally {
    await stack.stop();
  }
});

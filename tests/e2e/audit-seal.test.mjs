// End to end: the cron trigger seals the audit log in local D1 (through wrangler dev), the log and
// its seals are exported with `wrangler d1 execute --json` as docs/audit.md says, and
// `gatekeeper audit verify` passes the untouched export and names the row in copies that were
// edited, cut or padded. Retention is run by scheduling the cron half a year ahead. A claim forged
// into audit_seals is refused by the database if it does not follow on, and never signed by the
// cron if it is not what the cron recomputes.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startStack, CLI } from '../../scripts/lib/stack.mjs';

const run = promisify(execFile);
const DAY = 86_400_000;
// The export docs/audit.md gives: the log first, so a seal made in between covers only rows the
// export already holds.
const EXPORT = 'SELECT * FROM audit_log ORDER BY id; SELECT * FROM audit_seals ORDER BY id';

let stack;

before(async () => {
  stack = await startStack({
    // Seal rows as soon as they are written, so the test need not wait out a grace period.
    vars: { AUDIT_SEAL_GRACE_SECONDS: '0' },
    objects: { 'reports/q3.csv': 'region,total\nEU,42\n' },
  });
});

after(async () => {
  await stack?.stop();
});

// Not ASCII, so the Worker (reading D1) and the CLI (reading wrangler's JSON) must agree on UTF-8.
const UNICODE_KEY = 'reports/naïve – 報告.csv';

/** An allowed, a refused and a missing-object request, each leaving one audit row. */
async function traffic(label) {
  const headers = { 'cf-connecting-ip': '203.0.113.9', 'user-agent': `e2e-${label}` };
  const requests = [
    ['reports/q3.csv', await stack.grant({ object: 'reports/q3.csv', sub: label })],
    ['reports/q3.csv', undefined],
    [UNICODE_KEY, await stack.grant({ object: UNICODE_KEY, sub: `${label}-ü` })],
  ];
  for (const [key, auth] of requests) {
    const path = encodeURIComponent(key).replaceAll('%2F', '/');
    const res = await fetch(`${stack.url}/objects/${path}`, {
      headers: auth ? { ...headers, authorization: `Bearer ${auth}` } : headers,
    });
    await res.arrayBuffer();
  }
  await stack.settled();
}

async function cron(time) {
  const { status, outcome } = await stack.cron(time);
  assert.equal(status, 200, outcome);
  assert.doesNotMatch(stack.output(), /audit sealing failed/);
}

const seals = () => stack.sql('SELECT id, first_id, last_id, row_count, purged_through, signature FROM audit_seals ORDER BY id');

/** Runs `gatekeeper audit verify` on `json` (an export, as text); resolves to its exit code and output. */
async function verify(json, name, extra = []) {
  const file = join(stack.state, `${name}.json`);
  writeFileSync(file, json);
  try {
    const { stdout } = await run(CLI, ['audit', 'verify', '--key', stack.sealKey.public, ...extra, file]);
    return { code: 0, stdout };
  } catch (err) {
    if (typeof err.code !== 'number') throw err;
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

/** A copy of an export with `change` applied to its audit log rows. */
function tampered(json, change) {
  const sets = JSON.parse(json);
  change(sets[0].results);
  return JSON.stringify(sets, null, 2);
}

test('the cron seals the rows written so far, once per scheduled time', async () => {
  await traffic('first');
  const rows = await stack.sql('SELECT id, object_key, decision FROM audit_log ORDER BY id');
  assert.equal(rows.length, 3);
  assert.deepEqual(
    rows.map((r) => r.decision),
    ['allowed', 'grant_missing', 'not_found'],
  );
  assert.equal(rows[2].object_key, UNICODE_KEY);

  const time = Date.now();
  await cron(time);
  await cron(time); // Cloudflare may deliver a run twice; it must seal once
  const [seal, ...more] = await seals();
  assert.deepEqual(more, [], 'one seal for one scheduled time');
  assert.equal(seal.first_id, 1);
  assert.equal(seal.last_id, rows.at(-1).id);
  assert.equal(seal.row_count, 3);
  assert.match(seal.signature, /^[0-9a-f]{128}$/);
  // The Worker log keeps a copy of each seal's hash outside the database.
  assert.match(stack.output(), /audit sealed: seal 1 covers rows 1 to 3 \(3 rows\), purged through 0, hash [0-9a-f]{64}/);
});

test('a seal is written even when no rows arrived', async () => {
  await cron(Date.now() + 1);
  const [, empty] = await seals();
  assert.equal(empty.row_count, 0);
  assert.equal(empty.first_id, 4);
  assert.equal(empty.last_id, 3);
});

test('an untouched export verifies', async () => {
  await traffic('second'); // not yet sealed: reported, not checked
  const result = await verify(await stack.export(EXPORT), 'untouched');
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.match(result.stdout, /^intact: every sealed row matches its seal$/m);
  assert.match(result.stdout, /seals: 2; rows: 3 verified, 0 purged by retention, 3 not yet sealed/);
});

test('an edited, a deleted and an inserted row are each named', async () => {
  await cron(Date.now() + 2);
  // Seal numbers may skip (the repeated run above used one up), so read this one's.
  const { id: seal } = (await seals()).at(-1);
  const json = await stack.export(EXPORT);
  assert.equal((await verify(json, 'clean')).code, 0);

  const edited = await verify(
    tampered(json, (rows) => {
      rows.find((r) => r.id === 2).status = 404;
    }),
    'edited',
  );
  assert.equal(edited.code, 1);
  assert.match(edited.stdout, /^TAMPERED: row 2 was changed after seal 1 sealed it$/m);

  const deleted = await verify(
    tampered(json, (rows) => {
      rows.splice(rows.findIndex((r) => r.id === 5), 1);
    }),
    'deleted',
  );
  assert.equal(deleted.code, 1);
  assert.match(deleted.stdout, new RegExp(`^TAMPERED: row 5 was removed: seal ${seal} sealed it`, 'm'));

  const inserted = await verify(
    tampered(json, (rows) => {
      const at = rows.findIndex((r) => r.id === 4);
      rows.splice(at + 1, 0, { ...rows[at], sub: 'mallory', decision: 'allowed', status: 200 });
    }),
    'inserted',
  );
  assert.equal(inserted.code, 1);
  assert.match(inserted.stdout, new RegExp(`^TAMPERED: row 4 was inserted: seal ${seal} does not list it$`, 'm'));
});

test('removing the newest seals with their rows shows against a seal hash kept elsewhere', async () => {
  const json = await stack.export(EXPORT);
  const latest = /latest seal: \d+ .*hash ([0-9a-f]{64})/.exec((await verify(json, 'before-truncation')).stdout)[1];
  assert.equal((await verify(json, 'expected', ['--expect', latest])).code, 0);

  // Drop the newest seal and every row it sealed: the chain that is left is still consistent.
  const sets = JSON.parse(json);
  const newest = sets[1].results.at(-1);
  sets[1].results.pop();
  sets[0].results = sets[0].results.filter((r) => r.id < newest.first_id);
  const truncated = JSON.stringify(sets);
  assert.equal((await verify(truncated, 'truncated')).code, 0, 'undetectable from the export alone');
  const caught = await verify(truncated, 'truncated-expect', ['--expect', latest]);
  assert.equal(caught.code, 1);
  assert.match(caught.stdout, /TAMPERED: no seal has the expected hash/);
});

test('the database refuses to change a sealed row, and completes an unsealed one', async () => {
  const refused = await stack.sql('UPDATE audit_log SET status = 200 WHERE id = 1').then(
    () => 'accepted',
    (err) => `${err.stdout}${err.stderr}`,
  );
  assert.match(refused, /audit_log row is sealed/);
  const gone = await stack.sql('DELETE FROM audit_log WHERE id = 1').then(
    () => 'accepted',
    (err) => `${err.stdout}${err.stderr}`,
  );
  assert.match(gone, /deleted by retention only/);

  // A completion (bytes and final status when a stream ends) carries the guard docs/audit.md
  // gives: it applies to a row not yet sealed and changes nothing once the row is sealed.
  await traffic('third');
  const [{ id }] = await stack.sql('SELECT MAX(id) AS id FROM audit_log');
  const guard = 'id > COALESCE((SELECT last_id FROM audit_seals ORDER BY id DESC LIMIT 1), 0)';
  await stack.sql(`UPDATE audit_log SET bytes_out = 7 WHERE id = ${id} AND ${guard}`);
  await stack.sql(`UPDATE audit_log SET bytes_out = 8 WHERE id = 1 AND ${guard}`);
  const [completed] = await stack.sql(`SELECT bytes_out FROM audit_log WHERE id = ${id}`);
  assert.equal(completed.bytes_out, 7);
  const [sealed] = await stack.sql('SELECT bytes_out FROM audit_log WHERE id = 1');
  assert.notEqual(sealed.bytes_out, 8);

  await cron(Date.now() + 3);
  const result = await verify(await stack.export(EXPORT), 'completed');
  assert.equal(result.code, 0, result.stdout);
});

test('retention deletes sealed rows past the retention period; the verifier tells them from deleted ones', async () => {
  // A spent write-grant id that expired long ago, and one still in force.
  await stack.sql(
    `INSERT INTO spent_grants (key_id, jti, expires_ms) VALUES ('k', 'old', 1000), ('k', 'live', ${Date.now() + DAY})`,
  );
  const before = await stack.sql('SELECT MAX(last_id) AS last FROM audit_seals');
  await traffic('fourth');

  // Half a year later: the rows sealed so far are past the default 180 days.
  await cron(Date.now() + 181 * DAY);
  const latest = (await seals()).at(-1);
  assert.equal(latest.purged_through, before[0].last);
  const left = await stack.sql('SELECT MIN(id) AS first, COUNT(*) AS n FROM audit_log');
  assert.equal(left[0].first, before[0].last + 1, 'the purged rows are gone');
  assert.equal(left[0].n, 3, 'the rows of the latest seal are kept');
  const manifests = await stack.sql('SELECT id FROM audit_seals WHERE manifest IS NOT NULL');
  assert.deepEqual(manifests.map((s) => s.id), [latest.id], 'purged seals keep no manifest');
  const spent = await stack.sql('SELECT jti FROM spent_grants ORDER BY jti');
  assert.deepEqual(spent.map((s) => s.jti), ['live']);

  const json = await stack.export(EXPORT);
  const result = await verify(json, 'purged');
  assert.equal(result.code, 0, result.stdout);
  assert.match(result.stdout, new RegExp(`rows: 3 verified, ${before[0].last} purged by retention, 0 not yet sealed`));

  // Rows that retention had not reached are not "purged" when they go missing.
  const deleted = await verify(
    tampered(json, (rows) => {
      rows.shift();
    }),
    'purged-then-deleted',
  );
  assert.match(deleted.stdout, new RegExp(`^TAMPERED: row ${before[0].last + 1} was removed`, 'm'));

  // Nor may a row be slipped into a purged range.
  const slipped = await verify(
    tampered(json, (rows) => {
      rows.unshift({ ...rows[0], id: 2 });
    }),
    'purged-then-inserted',
  );
  assert.match(slipped.stdout, /^TAMPERED: row 2 was inserted: seal 1 does not list it$/m);
});

test('a claim forged into audit_seals is never signed, and retention does not follow it', async () => {
  await traffic('fifth');
  const [latest] = await stack.sql(
    'SELECT id, scheduled_ms, cutoff_ms, last_id, purged_through FROM audit_seals ORDER BY id DESC LIMIT 1',
  );
  const [{ end, rows }] = await stack.sql('SELECT MAX(id) AS end, COUNT(*) AS rows FROM audit_log');
  const when = latest.scheduled_ms + 10 * 60_000;
  const claim = (first, last, purged, extra = '') =>
    `INSERT INTO audit_seals (scheduled_ms, cutoff_ms, first_id, last_id, purged_through${extra ? ', signature' : ''}) ` +
    `VALUES (${when}, ${when}, ${first}, ${last}, ${purged}${extra ? `, '${extra}'` : ''})`;
  const refused = (sql) => stack.sql(sql).then(() => 'accepted', (err) => `${err.stdout}${err.stderr}`);

  // The database refuses a claim that does not follow on from the latest seal.
  assert.match(await refused(claim(latest.last_id + 2, end, latest.purged_through)), /does not follow on from the latest seal/);
  assert.match(await refused(claim(latest.last_id + 1, end, end)), /does not follow on from the latest seal/);
  assert.match(await refused(claim(latest.last_id + 1, end, latest.purged_through - 1)), /does not follow on/);
  assert.match(await refused(claim(latest.last_id + 1, end, latest.purged_through, 'ab')), /inserted unsigned/);
  assert.deepEqual(await stack.sql('SELECT id FROM audit_seals WHERE signature IS NULL'), [], 'none was inserted');

  // One that follows on gets past the triggers: it lets retention purge every row sealed so far,
  // although the latest seal's rows are minutes old.
  assert.ok(latest.last_id > latest.purged_through);
  await stack.sql(claim(latest.last_id + 1, end, latest.last_id));
  const [forged] = await stack.sql('SELECT id FROM audit_seals WHERE signature IS NULL');

  const { status } = await stack.cron(when + 60_000);
  assert.equal(status, 200);
  await new Promise((r) => setTimeout(r, 500));
  assert.match(
    stack.output(),
    new RegExp(
      `audit sealing failed: refused to sign seal ${forged.id}: its purged_through is ${latest.last_id}, ` +
        `but the retention period and the previous seals allow ${latest.purged_through}\\. No run of this gatekeeper with these settings claims that`,
    ),
  );
  const after = await seals();
  assert.equal(after.at(-1).id, forged.id);
  assert.equal(after.at(-1).signature, null, 'not signed');
  const [left] = await stack.sql('SELECT COUNT(*) AS rows, MIN(id) AS first FROM audit_log');
  assert.equal(left.rows, rows, 'no audit_log row was deleted');
  assert.equal(left.first, latest.purged_through + 1);

  // The verifier names the claim, given the retention period.
  const json = await stack.export(EXPORT);
  const result = await verify(json, 'forged-claim', ['--retention-days', '180']);
  assert.equal(result.code, 1, result.stdout);
  assert.match(
    result.stdout,
    new RegExp(
      `^TAMPERED: seal ${forged.id}: its purged_through ${latest.last_id} lets retention purge rows younger than 180 days`,
      'm',
    ),
  );

  // Once the claim is removed, as docs/audit.md says, the next run seals again.
  await stack.sql(`DELETE FROM audit_seals WHERE id = ${forged.id} AND signature IS NULL`);
  assert.equal((await stack.cron(when + 120_000)).status, 200);
  const sealed = (await seals()).at(-1);
  assert.match(sealed.signature, /^[0-9a-f]{128}$/);
  assert.equal(sealed.purged_through, latest.purged_through);
  assert.equal(sealed.last_id, end);
  const clean = await verify(await stack.export(EXPORT), 'after-forged-claim', ['--retention-days', '180']);
  assert.equal(clean.code, 0, clean.stdout);
});

test('without AUDIT_SEAL_KEY the gatekeeper refuses to serve and says which setting', async () => {
  const bare = await startStack({ vars: { AUDIT_SEAL_KEY: undefined } });
  try {
    const res = await fetch(`${bare.url}/objects/reports/q3.csv`, { headers: { 'cf-connecting-ip': '203.0.113.9' } });
    assert.equal(res.status, 500);
    assert.equal((await res.json()).error.code, 'misconfigured');
    await new Promise((r) => setTimeout(r, 500));
    assert.match(bare.output(), /misconfigured: AUDIT_SEAL_KEY: required but not set/);
  } finally {
    await bare.stop();
  }
});

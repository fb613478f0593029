// End to end: the country rules.
//
// Through `wrangler dev`, whose local `request.cf` always says US, with US allowed and with US
// denied by configuration. And per request, through Miniflare's `dispatchFetch` with a `cf`
// object, which runs the same built Worker in workerd with a real local D1 and s3s-fs behind it.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Miniflare } from 'miniflare';
import { startStack, startS3, keygen, LOCAL, ROOT, CLI } from '../../scripts/lib/stack.mjs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
const REPORT = 'country,total\nGB,1\n';

test('with the local placeholder country (US): allowed by default, refused when configured', async () => {
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

// Miniflare, for the per-request test.
let s3;
let mf;
let key;

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 's3gk-mf-'));
  s3 = await startS3({ dir: join(dir, 's3'), objects: { 'r.csv': REPORT } });
  key = await keygen(join(dir, 'vendor.key'));
  mf = new Miniflare({
    modules: true,
    scriptPath: join(ROOT, 'build', 'index.js'),
    modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }],
    compatibilityDate: '2026-04-20',
    d1Databases: ['AUDIT_DB'],
    d1Persist: join(dir, 'd1'),
    bindings: {
      GATEKEEPER_ID: LOCAL.audience,
      S3_REGION: 'us-east-1',
      S3_BUCKET: LOCAL.bucket,
      S3_ADDRESSING: 'path',
      S3_ENDPOINT: s3.url,
      AWS_ACCESS_KEY_ID: LOCAL.accessKey,
      AWS_SECRET_ACCESS_KEY: LOCAL.secretKey,
      VENDOR_KEYS: JSON.stringify([{ public: key.public }]),
      ACL: { country: { allow: ['GB', 'NZ'], deny: ['NZ'], unknown: 'deny', tor: 'deny' } },
    },
  });
  // The same migrations wrangler applies, statement by statement.
  const db = await mf.getD1Database('AUDIT_DB');
  for (const file of readdirSync(join(ROOT, 'migrations')).sort()) {
    const sql = readFileSync(join(ROOT, 'migrations', file), 'utf8').replace(/--.*$/gm, '');
    for (const statement of sql.split(';').map((s) => s.trim()).filter(Boolean)) await db.prepare(statement).run();
  }
});

after(async () => {
  await mf?.dispose();
  await s3?.stop();
});

test('per request, through dispatchFetch with a cf object', async () => {
  const { stdout } = await run(CLI, ['grant', '--key', key.file, '--aud', LOCAL.audience, '--op', 'get', '--object', 'r.csv', '--sub', 'mf']);
  const headers = { authorization: `Bearer ${stdout.trim()}`, 'cf-connecting-ip': '198.51.100.7' };
  const cases = [
    [{ country: 'GB' }, 200, null],
    [{ country: 'FR' }, 403, 'country_not_allowed'],
    [{ country: 'NZ' }, 403, 'country_denied'],
    [{ country: 'T1' }, 403, 'country_tor'],
    [{ country: 'US' }, 403, 'country_not_allowed'],
  ];
  for (const [cf, status, code] of cases) {
    const res = await mf.dispatchFetch('http://gatekeeper.test/objects/r.csv', { headers, cf });
    assert.equal(res.status, status, JSON.stringify(cf));
    if (code) assert.equal((await res.json()).error.code, code, JSON.stringify(cf));
    else assert.equal(await res.text(), REPORT);
  }
  const db = await mf.getD1Database('AUDIT_DB');
  const { results } = await db.prepare('SELECT country, decision FROM audit_log ORDER BY id').all();
  assert.deepEqual(
    results.map((r) => [r.country, r.decision]),
    [['GB', 'allowed'], ['FR', 'country_not_allowed'], ['NZ', 'country_denied'], ['T1', 'country_tor'], ['US', 'country_not_allowed']],
  );
});

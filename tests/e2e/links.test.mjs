// End to end: grants in the URL (`/objects/{key}?grant=…`), the links a browser can follow
// without an Authorization header. Off by default; when the customer switches them on, only for
// get and head, never together with a header grant, with their own shorter lifetime. The token
// must never show up in a reply, the audit log, the Worker's own log, or what S3 receives (read
// off the wire by the fault proxy's tap).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startStack, LOCAL, CLI } from '../../scripts/lib/stack.mjs';
import { grantMinter } from '../../examples/vendor-node/grant.mjs';

const KEY = 'reports/2026/q3 summary.csv';
const PATH = '/objects/reports/2026/q3%20summary.csv';
const BODY = randomBytes(64 * 1024 + 3);
const SECURITY = {
  'cache-control': 'no-store, no-transform',
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; sandbox",
  'referrer-policy': 'no-referrer',
};

let off;
let on;
/** Every token minted here, to look for anywhere it must not be. */
const tokens = [];

before(async () => {
  const objects = { [KEY]: BODY, 'adv/keep.txt': 'keep me\n' };
  [off, on] = await Promise.all([
    startStack({ objects }),
    startStack({ objects, faults: true, vars: { GRANT_IN_QUERY: 'on', DELETE_ENABLED: 'true', AUDIT_SEAL_GRACE_SECONDS: '0' } }),
  ]);
});

after(async () => {
  await Promise.all([off?.stop(), on?.stop()]);
});

async function grant(stack, options) {
  const token = await stack.grant({ object: KEY, sub: 'link-user', ...options });
  tokens.push(token);
  return token;
}

/** A grant minted at `now` (for grants issued in the past), by the stack's vendor key. */
async function grantAt(stack, { now, ttlSeconds }) {
  const mint = await grantMinter({ secretKey: readFileSync(stack.keys.vendor.file, 'utf8'), keyId: stack.keys.vendor.id });
  const token = await mint({ audience: LOCAL.audience, sub: 'link-user', op: 'get', key: KEY, ttlSeconds, now });
  tokens.push(token);
  return token;
}

const link = (stack, token, path = PATH) => `${stack.url}${path}?grant=${token}`;
const request = (url, init = {}) => fetch(url, { ...init, headers: { 'cf-connecting-ip': '203.0.113.9', ...init.headers } });

/** The signed part of a token: any stretch of it in a log or a row would leak it. */
const secretPart = (token) => token.split('.')[2].slice(0, 24);
function assertNoToken(text, where) {
  for (const token of tokens) assert.ok(!text.includes(secretPart(token)), `a token appears in ${where}`);
}

async function assertRefused(res, status, code) {
  const text = await res.text();
  assert.equal(res.status, status, text);
  assert.deepEqual(JSON.parse(text).error.code, code);
  for (const [name, value] of Object.entries(SECURITY)) assert.equal(res.headers.get(name), value, name);
  assertNoToken(text, 'an error body');
}

test('with grants in the URL off (the default), a link is refused for every read, and the header still works', async () => {
  for (const [method, op] of [['GET', 'get'], ['HEAD', 'head']]) {
    const token = await grant(off, { op });
    const res = await request(link(off, token), { method });
    assert.equal(res.status, 403);
    if (method === 'GET') await assertRefused(res, 403, 'grant_in_url_disabled');
  }
  const token = await grant(off, {});
  const header = await request(`${off.url}${PATH}`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(header.status, 200);
  assert.ok(Buffer.from(await header.arrayBuffer()).equals(BODY));

  await off.settled();
  const rows = await off.sql(`SELECT decision, status, grant_in_url, s3_status FROM audit_log ORDER BY id`);
  assert.deepEqual(rows, [
    { decision: 'grant_in_url_disabled', status: 403, grant_in_url: 1, s3_status: null },
    { decision: 'grant_in_url_disabled', status: 403, grant_in_url: 1, s3_status: null },
    { decision: 'allowed', status: 200, grant_in_url: null, s3_status: 200 },
  ]);
});

test('a link reads the object, with the security headers, as often as it is followed while it lives', async () => {
  const token = await grant(on, {});
  for (let i = 0; i < 2; i++) {
    const res = await request(link(on, token));
    assert.equal(res.status, 200, await res.clone().text());
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(BODY));
    for (const [name, value] of Object.entries(SECURITY)) assert.equal(res.headers.get(name), value, name);
    assert.equal(res.headers.get('content-disposition'), null, 'no filename claim, no disposition');
  }
  const head = await request(link(on, await grant(on, { op: 'head' })), { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get('content-length'), String(BODY.length));
  assert.equal(head.headers.get('referrer-policy'), 'no-referrer');

  await on.settled();
  const rows = await on.sql(`SELECT operation, decision, status, grant_in_url, sub, object_key FROM audit_log WHERE decision = 'allowed' ORDER BY id`);
  assert.deepEqual(rows, [
    { operation: 'get', decision: 'allowed', status: 200, grant_in_url: 1, sub: 'link-user', object_key: KEY },
    { operation: 'get', decision: 'allowed', status: 200, grant_in_url: 1, sub: 'link-user', object_key: KEY },
    { operation: 'head', decision: 'allowed', status: 200, grant_in_url: 1, sub: 'link-user', object_key: KEY },
  ]);
});

test('Range works through a link: 206 with the slice, as a <video> seeking asks', async () => {
  const token = await grant(on, {});
  const res = await request(link(on, token), { headers: { range: 'bytes=1000-1999' } });
  assert.equal(res.status, 206, await res.clone().text());
  assert.equal(res.headers.get('content-range'), `bytes 1000-1999/${BODY.length}`);
  assert.ok(Buffer.from(await res.arrayBuffer()).equals(BODY.subarray(1000, 2000)));
  // A second seek with the same link.
  const again = await request(link(on, token), { headers: { range: `bytes=${BODY.length - 10}-` } });
  assert.equal(again.status, 206);
  assert.ok(Buffer.from(await again.arrayBuffer()).equals(BODY.subarray(BODY.length - 10)));
});

test("a filename claim makes the reply an attachment under that name, safely encoded", async () => {
  const name = 'Q3 résumé "final";.csv';
  const token = await grant(on, { extra: ['--filename', name] });
  const res = await request(link(on, token));
  assert.equal(res.status, 200);
  await res.arrayBuffer();
  assert.equal(
    res.headers.get('content-disposition'),
    `attachment; filename="Q3 r_sum_ _final_;.csv"; filename*=UTF-8''Q3%20r%C3%A9sum%C3%A9%20%22final%22%3B.csv`,
  );
  // The same claim in a header grant names the file too.
  const header = await request(`${on.url}${PATH}`, { headers: { authorization: `Bearer ${await grant(on, { extra: ['--filename', 'q3.csv'] })}` } });
  assert.equal(header.headers.get('content-disposition'), `attachment; filename="q3.csv"; filename*=UTF-8''q3.csv`);
  await header.arrayBuffer();
  // A name with a path in it refuses the grant.
  const bad = await request(link(on, await grant(on, { extra: ['--filename', '../../.bashrc'] })));
  await assertRefused(bad, 401, 'grant_malformed');
});

test('a link is refused for writes, deletes and listings, and together with a header grant', async () => {
  const put = await grant(on, { op: 'put', object: 'adv/new.txt', jti: 'link-put-1' });
  const putRes = await request(link(on, put, '/objects/adv/new.txt'), { method: 'PUT', body: 'sneaky', headers: { 'content-length': '6' } });
  await assertRefused(putRes, 400, 'grant_in_url_not_allowed');
  assert.equal(existsSync(join(on.dataDir, LOCAL.bucket, 'adv/new.txt')), false, 'nothing was stored');

  const del = await grant(on, { op: 'delete', object: 'adv/keep.txt', jti: 'link-del-1' });
  await assertRefused(await request(link(on, del, '/objects/adv/keep.txt'), { method: 'DELETE' }), 400, 'grant_in_url_not_allowed');
  assert.equal(readFileSync(join(on.dataDir, LOCAL.bucket, 'adv/keep.txt'), 'utf8'), 'keep me\n');

  const list = await on.grant({ op: 'list', prefix: 'reports/' });
  tokens.push(list);
  await assertRefused(await request(`${on.url}/objects?prefix=reports/&grant=${list}`), 400, 'grant_in_url_not_allowed');

  const get = await grant(on, {});
  await assertRefused(await request(link(on, get), { headers: { authorization: `Bearer ${get}` } }), 400, 'grant_ambiguous');
  await assertRefused(await request(`${on.url}${PATH}?grant=${get}&grant=${get}`), 400, 'grant_ambiguous');
});

test('a link lives at most GRANT_IN_QUERY_MAX_LIFETIME_SECONDS (5 minutes by default); the same grant in a header may live longer', async () => {
  const tenMinutes = await grant(on, { ttl: 600 });
  await assertRefused(await request(link(on, tenMinutes)), 401, 'grant_lifetime_too_long');
  const header = await request(`${on.url}${PATH}`, { headers: { authorization: `Bearer ${tenMinutes}` } });
  assert.equal(header.status, 200);
  await header.arrayBuffer();

  const expired = await grantAt(on, { now: new Date(Date.now() - 10 * 60 * 1000), ttlSeconds: 120 });
  await assertRefused(await request(link(on, expired)), 401, 'grant_expired');
});

test('the token never reaches S3, the audit log or the Worker log', async () => {
  await on.settled();
  // What S3 was asked, on the wire: request lines and headers (bodies are the objects).
  const sent = on.faults.sent().toString('latin1');
  const lines = sent.split('\r\n').filter((l) => /^(GET|HEAD|PUT|DELETE) /.test(l));
  assert.ok(lines.length >= 8, `S3 was asked ${lines.length} times`);
  for (const line of lines) assert.doesNotMatch(line, /[?&]grant=|\?/, line);
  assert.ok(!sent.includes('grant='), 'no grant parameter reached S3');
  assertNoToken(sent, "S3's requests");

  for (const stack of [on, off]) {
    const rows = await stack.sql('SELECT * FROM audit_log');
    assert.ok(rows.length > 0);
    assertNoToken(JSON.stringify(rows), 'the audit log');
    // The Worker's own log lines. wrangler's local dev proxy prints each request's URL itself
    // (`[wrangler:info] GET /objects/…?grant=… 200 OK`); that proxy does not exist in
    // production, where Cloudflare's request logs are the customer's to configure
    // (docs/threat-model.md).
    const worker = stack.output().split('\n').filter((l) => !l.includes('[wrangler:'));
    assertNoToken(worker.join('\n'), 'the Worker log');
  }
});

test('the seal covers grant_in_url: flipping it in a sealed row is named by audit verify', async () => {
  await on.settled();
  const { status, outcome } = await on.cron(Date.now() + 2);
  assert.equal(status, 200, outcome);
  const json = await on.export('SELECT * FROM audit_log ORDER BY id; SELECT * FROM audit_seals ORDER BY id');
  const verify = async (text, name) => {
    const file = join(on.state, `${name}.json`);
    writeFileSync(file, text);
    try {
      const { stdout } = await promisify(execFile)(CLI, ['audit', 'verify', '--key', on.sealKey.public, file]);
      return { code: 0, stdout };
    } catch (err) {
      if (typeof err.code !== 'number') throw err;
      return { code: err.code, stdout: err.stdout };
    }
  };
  const clean = await verify(json, 'links-clean');
  assert.equal(clean.code, 0, clean.stdout);
  assert.match(clean.stdout, /^intact: every sealed row matches its seal$/m);

  const sets = JSON.parse(json);
  const rows = sets[0].results;
  const fromLink = rows.find((r) => r.grant_in_url === 1 && r.decision === 'allowed');
  const fromHeader = rows.find((r) => r.grant_in_url === null && r.decision === 'allowed');
  assert.ok(fromLink && fromHeader);
  fromLink.grant_in_url = null;
  fromHeader.grant_in_url = 1;
  const edited = await verify(JSON.stringify(sets), 'links-edited');
  assert.equal(edited.code, 1, edited.stdout);
  for (const row of [fromLink, fromHeader]) {
    // The first finding is TAMPERED; the others follow as `also:`.
    assert.match(edited.stdout, new RegExp(`^(TAMPERED: |  also: )row ${row.id} was changed after seal \\d+ sealed it$`, 'm'));
  }
});

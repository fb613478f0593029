// End to end: vendor grants through workerd and s3s-fs. Grants minted by the Node reference
// (npm `paseto`, no code of ours) and by the CLI; every refusal code over real HTTP.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startStack, LOCAL, ROOT } from '../../scripts/lib/stack.mjs';

const run = promisify(execFile);
const REPORT = 'region,total\nEU,42\nUS,17\n';
let stack;

before(async () => {
  stack = await startStack({
    signers: ['stranger'],
    vars: { MAX_UPLOAD_BYTES: String(1024 * 1024) },
    objects: { 'reports/q3.csv': REPORT },
  });
});

after(async () => {
  await stack?.stop();
});

/** Mints with examples/vendor-node, as a separate process, the way a vendor's server would. */
async function nodeGrant(args, signer = 'vendor') {
  const key = stack.keys[signer];
  const argv = Object.entries({ aud: LOCAL.audience, sub: 'node-user', ...args }).flatMap(([k, v]) => [`--${k}`, String(v)]);
  const { stdout } = await run('node', [join(ROOT, 'examples/vendor-node/mint.mjs'), ...argv], {
    env: { ...process.env, VENDOR_SECRET_KEY: readFileSync(key.file, 'utf8'), VENDOR_KEY_ID: key.id },
  });
  return stdout.trim();
}

function call(path, { token, method = 'GET', body, headers = {} } = {}) {
  return fetch(`${stack.url}${path}`, {
    method,
    body,
    duplex: body instanceof ReadableStream ? 'half' : undefined,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'cf-connecting-ip': '198.51.100.7', ...headers },
  });
}

async function refusal(res) {
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  const body = await res.json();
  return [res.status, body.error.code];
}

const stored = (key) => join(stack.dataDir, LOCAL.bucket, key);

test('a grant minted by the Node reference (npm paseto) fetches the object', async () => {
  const token = await nodeGrant({ op: 'get', key: 'reports/q3.csv' });
  const res = await call('/objects/reports/q3.csv', { token });
  assert.equal(res.status, 200);
  assert.equal(await res.text(), REPORT);
});

test('the same grant changed by one byte, for another key, audience, or expired, does not', async () => {
  const good = await nodeGrant({ op: 'get', key: 'reports/q3.csv' });
  const i = 'v4.public.'.length + 20;
  const flipped = good.slice(0, i) + (good[i] === 'A' ? 'B' : 'A') + good.slice(i + 1);
  const cases = [
    ['one byte changed', flipped, [401, 'grant_bad_signature']],
    ['signed by a key the gatekeeper does not trust', await nodeGrant({ op: 'get', key: 'reports/q3.csv' }, 'stranger'), [401, 'grant_unknown_key']],
    ['for another gatekeeper', await nodeGrant({ op: 'get', key: 'reports/q3.csv', aud: 'another-gatekeeper' }), [401, 'grant_wrong_audience']],
    [
      'expired',
      await nodeGrant({ op: 'get', key: 'reports/q3.csv', ttl: 60, 'issued-at': new Date(Date.now() - 10 * 60_000).toISOString() }),
      [401, 'grant_expired'],
    ],
    ['for another key', await nodeGrant({ op: 'get', key: 'reports/q4.csv' }), [403, 'grant_scope_mismatch']],
  ];
  for (const [name, token, want] of cases) {
    const res = await call('/objects/reports/q3.csv', { token });
    assert.deepEqual(await refusal(res), want, name);
  }
  // A refused grant whose signature verified still names its signer and user; a forged one no one.
  const rows = await stack.sql(`SELECT decision, key_id, sub FROM audit_log WHERE object_key = 'reports/q3.csv' AND decision <> 'allowed' ORDER BY id`);
  const vendor = stack.keys.vendor.id;
  assert.deepEqual(
    rows.map((r) => [r.decision, r.key_id, r.sub]),
    [
      ['grant_bad_signature', null, null],
      ['grant_unknown_key', null, null],
      ['grant_wrong_audience', vendor, 'node-user'],
      ['grant_expired', vendor, 'node-user'],
      ['grant_scope_mismatch', vendor, 'node-user'],
    ],
  );
});

test('a grant already verified vouches only for itself: its payload re-signed or its signature re-used is refused', async () => {
  // The Worker remembers the grants whose signature its runtime found genuine (docs/benchmarks.md):
  // the first read verifies this one, the later ones may be answered from memory.
  const good = await nodeGrant({ op: 'get', key: 'reports/q3.csv', sub: 'remembered' });
  for (let i = 0; i < 3; i++) assert.equal((await call('/objects/reports/q3.csv', { token: good })).status, 200);
  const [, , body, footer] = good.split('.');
  const change = (text, at) => text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1);
  const variants = [
    // The signature is the last 64 bytes of the body: a character near the end is in it.
    ['the same payload with another signature', `v4.public.${change(body, body.length - 10)}.${footer}`],
    // A character near the start is in the claims: the same signature on another payload.
    ['the same signature on another payload', `v4.public.${change(body, 20)}.${footer}`],
  ];
  for (const [name, token] of variants) {
    assert.deepEqual(await refusal(await call('/objects/reports/q3.csv', { token })), [401, 'grant_bad_signature'], name);
  }
  assert.equal((await call('/objects/reports/q3.csv', { token: good })).status, 200);
});

test('a put grant works once; reused, it is refused and nothing is written', async () => {
  const first = randomBytes(200_000);
  const token = await nodeGrant({ op: 'put', key: 'uploads/data.bin' });
  const res = await call('/objects/uploads/data.bin', { token, method: 'PUT', body: first });
  assert.equal(res.status, 200, await res.clone().text());
  assert.ok(readFileSync(stored('uploads/data.bin')).equals(first), 'stored byte for byte');

  const again = await call('/objects/uploads/data.bin', { token, method: 'PUT', body: randomBytes(10) });
  assert.deepEqual(await refusal(again), [403, 'grant_replayed']);
  assert.ok(readFileSync(stored('uploads/data.bin')).equals(first), 'the replay wrote nothing');

  const rows = await stack.sql(`SELECT decision, status, bytes_in, jti, sub, key_id FROM audit_log WHERE object_key = 'uploads/data.bin' ORDER BY id`);
  assert.deepEqual(
    rows.map((r) => [r.decision, r.status, r.bytes_in, r.sub, r.key_id]),
    [
      ['allowed', 200, first.length, 'node-user', stack.keys.vendor.id],
      ['grant_replayed', 403, 10, 'node-user', stack.keys.vendor.id],
    ],
  );
  assert.ok(rows[0].jti && rows[0].jti === rows[1].jti);
});

test('uploads: length required, size and type bounded, before anything reaches S3', async () => {
  const put = (key, extra) => stack.grant({ op: 'put', object: key, extra });
  const chunked = new ReadableStream({
    start(c) {
      c.enqueue(new Uint8Array(10));
      c.close();
    },
  });
  const cases = [
    ['chunked, no length', 'u/chunked.bin', [], { body: chunked }, [411, 'length_required']],
    ['over the grant max_size', 'u/big.bin', ['--max-size', '100'], { body: randomBytes(101) }, [413, 'too_large']],
    ['over MAX_UPLOAD_BYTES', 'u/huge.bin', [], { body: randomBytes(1024 * 1024 + 1) }, [413, 'too_large']],
    [
      'wrong content type',
      'u/typed.csv',
      ['--content-type', 'text/csv'],
      { body: 'a,b', headers: { 'content-type': 'text/html' } },
      [415, 'content_type_mismatch'],
    ],
  ];
  for (const [name, key, extra, init, want] of cases) {
    const res = await call(`/objects/${key}`, { token: await put(key, extra), method: 'PUT', ...init });
    assert.deepEqual(await refusal(res), want, name);
    assert.equal(existsSync(stored(key)), false, `${name}: nothing stored`);
  }
  const ok = await call('/objects/u/typed.csv', {
    token: await put('u/typed.csv', ['--content-type', 'text/csv', '--max-size', '3']),
    method: 'PUT',
    body: 'a,b',
    headers: { 'content-type': 'text/csv' },
  });
  assert.equal(ok.status, 200);
  assert.equal(readFileSync(stored('u/typed.csv'), 'utf8'), 'a,b');
});

test('malformed grants are refused with their codes', async () => {
  const good = await stack.grant({ object: 'reports/q3.csv' });
  const cases = [
    ['no grant', undefined, [401, 'grant_missing']],
    ['too long', `v4.public.${'A'.repeat(5000)}`, [401, 'grant_too_long']],
    ['too many', Array(5).fill(good).join(', '), [401, 'grant_too_many']],
    ['wrong version', good.replace('v4.', 'v2.'), [401, 'grant_malformed']],
    ['wrong purpose', good.replace('.public.', '.local.'), [401, 'grant_malformed']],
    ['extra segment', `${good}.e30`, [401, 'grant_malformed']],
    ['bad base64', good.replace(/A/, '*'), [401, 'grant_malformed']],
    ['the same key twice', `${good}, ${good}`, [403, 'signatures_duplicate']],
    ['lives too long', await stack.grant({ object: 'reports/q3.csv', ttl: 3600 }), [401, 'grant_lifetime_too_long']],
    ['bound to another network', await stack.grant({ object: 'reports/q3.csv', extra: ['--ip', '203.0.113.0/24'] }), [403, 'grant_ip_mismatch']],
    ['for head, used for get', await stack.grant({ op: 'head', object: 'reports/q3.csv' }), [403, 'grant_scope_mismatch']],
  ];
  for (const [name, token, want] of cases) {
    assert.deepEqual(await refusal(await call('/objects/reports/q3.csv', { token })), want, name);
  }
  const future = await nodeGrant({ op: 'get', key: 'reports/q3.csv', 'issued-at': new Date(Date.now() + 5 * 60_000).toISOString() });
  assert.deepEqual(await refusal(await call('/objects/reports/q3.csv', { token: future })), [401, 'grant_not_yet_valid']);
});

test('a write grant without a jti is refused', async () => {
  // The reference minter always adds a jti to writes, so this one is made by hand with paseto.
  const { PublicProtocol } = await import('paseto');
  const { ImportSecretKeyFactory, SignFactory } = await import('paseto/v4/public');
  const v4 = new PublicProtocol(ImportSecretKeyFactory, SignFactory);
  const key = await v4.ImportSecretKey(readFileSync(stack.keys.vendor.file, 'utf8').trim());
  const footer = new TextEncoder().encode(JSON.stringify({ kid: stack.keys.vendor.id }));
  const token = await v4.Sign(key, { aud: LOCAL.audience, sub: 'x', op: 'put', key: 'u/nojti' }, { footer, expiresIn: 60 });
  const res = await call('/objects/u/nojti', { token, method: 'PUT', body: 'x' });
  assert.deepEqual(await refusal(res), [401, 'grant_jti_required']);
});

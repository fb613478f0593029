// End to end: uploads in parts through workerd, s3s-fs and garage. Every refusal is a 4xx JSON
// error with its own audit row, and sends nothing to S3 (the row has no S3 status).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { startGarage, garageSettings, startStack } from '../../scripts/lib/stack.mjs';

const MIB = 1024 * 1024;
let stack;

before(async () => {
  // Parts of at most 6 MiB keep the test quick; 5 MiB parts stay within S3's minimum.
  stack = await startStack({ vars: { MULTIPART_PART_MAX_MB: '6' } });
});

after(async () => {
  await stack?.stop();
});

/** A multipart grant for `key`, of at most `maxSize` bytes. */
const grant = (key, maxSize, extra = []) =>
  stack.grant({ op: 'put', object: key, extra: ['--max-size', String(maxSize), '--multipart', ...extra] });

/** Calls `/objects/{key}?{query}` on `target` with `token`. */
function call(target, key, query, { token, method = 'GET', body, headers = {} } = {}) {
  return fetch(`${target.url}/objects/${key}${query ? `?${query}` : ''}`, {
    method,
    body,
    headers: { authorization: `Bearer ${token}`, 'cf-connecting-ip': '198.51.100.7', ...headers },
  });
}

async function json(res, status) {
  const text = await res.text();
  assert.equal(res.status, status, text);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  return JSON.parse(text);
}

async function refused(res, [status, code], what) {
  const body = await res.text();
  assert.deepEqual([res.status, JSON.parse(body).error?.code], [status, code], `${what}: ${body}`);
}

/** The client's flow: create, parts (two at a time), list, complete. Returns the completion. */
async function upload(target, key, token, data, partSize) {
  const created = await json(await call(target, key, 'uploads', { token, method: 'POST', headers: { 'content-type': 'application/octet-stream' } }), 200);
  const id = encodeURIComponent(created.uploadId);
  const count = Math.ceil(data.length / partSize);
  const parts = [];
  const send = async (n) => {
    const res = await call(target, key, `uploadId=${id}&partNumber=${n}`, { token, method: 'PUT', body: data.subarray((n - 1) * partSize, n * partSize) });
    const body = await json(res, 200);
    assert.equal(res.headers.get('etag'), body.etag);
    parts[n - 1] = { part: n, etag: body.etag };
  };
  for (let n = 1; n <= count; n += 2) await Promise.all([send(n), ...(n + 1 <= count ? [send(n + 1)] : [])]);
  const listed = await json(await call(target, key, `uploadId=${id}`, { token }), 200);
  assert.deepEqual(listed.parts.map((p) => [p.part, p.size]), parts.map((p) => [p.part, Math.min(partSize, data.length - (p.part - 1) * partSize)]));
  // s3s-fs lists no entity tags; S3 and garage do.
  for (const p of listed.parts) if (p.etag !== null) assert.equal(p.etag, parts[p.part - 1].etag);
  const done = await json(await call(target, key, `uploadId=${id}`, { token, method: 'POST', body: JSON.stringify({ parts }), headers: { 'content-type': 'application/json' } }), 200);
  return { ...done, uploadId: created.uploadId, created };
}

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

async function download(target, key) {
  const token = await target.grant({ op: 'get', object: key });
  const res = await call(target, key, '', { token });
  assert.equal(res.status, 200);
  return Buffer.from(await res.arrayBuffer());
}

/** The audit rows of `jti`, oldest first. */
const rows = async (target, jti) =>
  target.sql(`SELECT operation, method, decision, status, s3_status, bytes_in, spent IS NOT NULL AS spends FROM audit_log WHERE jti = '${jti}' ORDER BY id`);

const jtiOf = (token) => JSON.parse(Buffer.from(token.split('.')[2], 'base64url').subarray(0, -64).toString()).jti;

test('a file uploaded in parts is the same file downloaded, and each call is audited', async () => {
  const key = 'big/a.bin';
  const data = randomBytes(11 * MIB + 12345);
  const token = await grant(key, 12 * MIB);
  const done = await upload(stack, key, token, data, 5 * MIB);
  assert.equal(done.size, data.length);
  assert.equal(done.created.partMaxBytes, 6 * MIB);
  assert.equal(done.created.maxBytes, 12 * MIB);
  assert.equal(sha256(await download(stack, key)), sha256(data));
  await stack.settled();
  const audit = await rows(stack, jtiOf(token));
  assert.deepEqual(
    audit.map((r) => [r.operation, r.method, r.decision, r.status, r.spends]),
    [
      ['put.create', 'POST', 'allowed', 200, 1],
      ['put.part', 'PUT', 'allowed', 200, 0],
      ['put.part', 'PUT', 'allowed', 200, 0],
      ['put.part', 'PUT', 'allowed', 200, 0],
      ['put.parts', 'GET', 'allowed', 200, 0],
      ['put.complete', 'POST', 'allowed', 200, 0],
    ],
  );
  assert.deepEqual(audit.filter((r) => r.operation === 'put.part').map((r) => r.bytes_in).sort((a, b) => a - b), [data.length - 10 * MIB, 5 * MIB, 5 * MIB]);
  assert.equal(audit.at(-1).bytes_in, data.length, 'the completion carries the total size');
  // Once completed, the upload id is forgotten: its grant can do nothing more with it.
  await refused(await call(stack, key, `uploadId=${encodeURIComponent(done.uploadId)}`, { token }), [404, 'multipart_upload_unknown'], 'after completion');
});

test('a grant without multipart, or replayed for a second upload, creates nothing', async () => {
  const key = 'big/b.bin';
  const plain = await stack.grant({ op: 'put', object: key, extra: ['--max-size', String(10 * MIB)] });
  await refused(await call(stack, key, 'uploads', { token: plain, method: 'POST' }), [403, 'multipart_not_allowed'], 'plain put grant');
  const token = await grant(key, 10 * MIB);
  await json(await call(stack, key, 'uploads', { token, method: 'POST' }), 200);
  await refused(await call(stack, key, 'uploads', { token, method: 'POST' }), [403, 'grant_replayed'], 'second creation');
  // Nor may the grant then write the object in one PUT, or a grant that did create an upload.
  const single = (t) => call(stack, key, '', { token: t, method: 'PUT', body: 'x' });
  await refused(await single(token), [403, 'grant_replayed'], 'a single PUT after the creation');
  const first = await grant(key, 10 * MIB);
  assert.equal((await single(first)).status, 200);
  await refused(await call(stack, key, 'uploads', { token: first, method: 'POST' }), [403, 'grant_replayed'], 'a creation after a single PUT');
  const audit = await rows(stack, jtiOf(token));
  assert.deepEqual(audit.map((r) => [r.operation, r.decision, r.s3_status]), [
    ['put.create', 'allowed', 200],
    ['put.create', 'grant_replayed', null],
    ['put', 'grant_replayed', null],
  ]);
});

test('another upload, or another grant, cannot touch an upload', async () => {
  const key = 'big/c.bin';
  const mine = await grant(key, 10 * MIB);
  const theirs = await grant(key, 10 * MIB);
  const other = await grant('big/other.bin', 10 * MIB);
  const a = (await json(await call(stack, key, 'uploads', { token: mine, method: 'POST' }), 200)).uploadId;
  const b = (await json(await call(stack, key, 'uploads', { token: theirs, method: 'POST' }), 200)).uploadId;
  const o = (await json(await call(stack, 'big/other.bin', 'uploads', { token: other, method: 'POST' }), 200)).uploadId;
  const part = (token, id, k = key) => call(stack, k, `uploadId=${encodeURIComponent(id)}&partNumber=1`, { token, method: 'PUT', body: 'x' });
  const complete = JSON.stringify({ parts: [{ part: 1, etag: '"x"' }] });
  const cases = [
    ['a part of their upload, with my grant', () => part(mine, b)],
    ['a part of my upload, with their grant', () => part(theirs, a)],
    ['a part of an upload of another key, under my key', () => part(mine, o)],
    ['a part of an upload that does not exist', () => part(mine, 'no-such-upload')],
    ['completing their upload', () => call(stack, key, `uploadId=${encodeURIComponent(b)}`, { token: mine, method: 'POST', body: complete })],
    ['aborting their upload', () => call(stack, key, `uploadId=${encodeURIComponent(b)}`, { token: mine, method: 'DELETE' })],
    ['listing their upload', () => call(stack, key, `uploadId=${encodeURIComponent(b)}`, { token: mine })],
  ];
  for (const [what, send] of cases) await refused(await send(), [404, 'multipart_upload_unknown'], what);
  // A grant for the other key cannot reach my upload by naming my key: its scope is its key.
  await refused(await part(other, a), [403, 'grant_scope_mismatch'], 'a grant for another key');
  // Nothing reached S3: their upload holds no part, and every refusal's row has no S3 status.
  assert.deepEqual((await json(await call(stack, key, `uploadId=${encodeURIComponent(b)}`, { token: theirs }), 200)).parts, []);
  const refusals = await stack.sql(`SELECT decision, s3_status FROM audit_log WHERE jti = '${jtiOf(mine)}' AND decision <> 'allowed'`);
  assert.equal(refusals.length, 6);
  assert.ok(refusals.every((r) => r.decision === 'multipart_upload_unknown' && r.s3_status === null));
  // My upload is untouched and can be aborted; then it is gone.
  assert.equal((await call(stack, key, `uploadId=${encodeURIComponent(a)}`, { token: mine, method: 'DELETE' })).status, 204);
  await refused(await part(mine, a), [404, 'multipart_upload_unknown'], 'a part after the abort');
});

test('parts cannot take an upload past its limit, not even sent at once; a part sent again replaces its size', async () => {
  const key = 'big/d.bin';
  const token = await grant(key, 8 * MIB);
  const id = encodeURIComponent((await json(await call(stack, key, 'uploads', { token, method: 'POST' }), 200)).uploadId);
  const part = (n, size) => call(stack, key, `uploadId=${id}&partNumber=${n}`, { token, method: 'PUT', body: randomBytes(size) });
  // Two 5 MiB parts at once: the limit (8 MiB) fits only one of them.
  const raced = await Promise.all([part(1, 5 * MIB), part(2, 5 * MIB)]);
  const statuses = raced.map((r) => r.status).sort();
  assert.deepEqual(statuses, [200, 413]);
  const loser = raced.find((r) => r.status === 413);
  await refused(loser, [413, 'multipart_too_large'], 'the second of two racing parts');
  const winner = raced.indexOf(raced.find((r) => r.status === 200)) + 1;
  const other = winner === 1 ? 2 : 1;
  await refused(await part(other, 5 * MIB), [413, 'multipart_too_large'], 'the same part again');
  // Sent again smaller, the winning part counts its new size, and the other then fits.
  assert.equal((await part(winner, 3 * MIB)).status, 200);
  assert.equal((await part(other, 5 * MIB)).status, 200);
  await refused(await part(3, 1), [413, 'multipart_too_large'], 'one byte more');
  // A part larger than the part size is refused before anything is counted.
  await refused(await part(4, 6 * MIB + 1), [413, 'multipart_part_too_large'], 'a part over MULTIPART_PART_MAX_MB');
  const listed = await json(await call(stack, key, `uploadId=${id}`, { token }), 200);
  assert.deepEqual(listed.parts.map((p) => [p.part, p.size]).sort(), [[winner, 3 * MIB], [other, 5 * MIB]].sort());
  const audit = await stack.sql(`SELECT decision, s3_status FROM audit_log WHERE jti = '${jtiOf(token)}' AND decision LIKE 'multipart_%'`);
  assert.equal(audit.length, 4);
  assert.ok(audit.every((r) => r.s3_status === null), 'refused parts never reach S3');
});

test('a part sent again but cut off leaves its larger size counted: S3 still holds the earlier part', async () => {
  const key = 'big/f.bin';
  const token = await grant(key, 8 * MIB);
  const id = encodeURIComponent((await json(await call(stack, key, 'uploads', { token, method: 'POST' }), 200)).uploadId);
  const path = `/objects/${key}?uploadId=${id}&partNumber=1`;
  assert.equal((await call(stack, key, `uploadId=${id}&partNumber=1`, { token, method: 'PUT', body: randomBytes(5 * MIB) })).status, 200);
  // Part 1 again, announced as 3 MiB, but the connection is cut after 1 MiB: S3 keeps the 5 MiB.
  await new Promise((resolve) => {
    const req = httpRequest(`${stack.url}${path}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'cf-connecting-ip': '198.51.100.7', 'content-length': String(3 * MIB) },
    });
    req.on('error', resolve);
    req.on('response', (res) => res.resume().on('end', resolve));
    req.write(randomBytes(MIB), () => setTimeout(() => req.destroy(), 500));
  });
  await stack.settled();
  const cut = await stack.sql(`SELECT decision FROM audit_log WHERE jti = '${jtiOf(token)}' AND operation = 'put.part' ORDER BY id`);
  assert.equal(cut.length, 2, 'the cut part reached the gatekeeper and was counted');
  assert.notEqual(cut[1].decision, 'allowed');
  // 5 MiB more would take what S3 holds to 10 MiB: refused.
  await refused(await call(stack, key, `uploadId=${id}&partNumber=2`, { token, method: 'PUT', body: randomBytes(5 * MIB) }), [413, 'multipart_too_large'], 'a part after the cut one');
  assert.equal((await call(stack, key, `uploadId=${id}&partNumber=2`, { token, method: 'PUT', body: randomBytes(3 * MIB) })).status, 200);
});

test('a completion must name counted parts in the documented JSON', async () => {
  const key = 'big/e.bin';
  const token = await grant(key, 10 * MIB);
  const id = encodeURIComponent((await json(await call(stack, key, 'uploads', { token, method: 'POST' }), 200)).uploadId);
  const sent = await json(await call(stack, key, `uploadId=${id}&partNumber=1`, { token, method: 'PUT', body: 'hello' }), 200);
  const complete = (body) => call(stack, key, `uploadId=${id}`, { token, method: 'POST', body });
  await refused(await complete(JSON.stringify({ parts: [{ part: 1, etag: sent.etag }, { part: 2, etag: '"x"' }] })), [400, 'multipart_part_unknown'], 'a part never sent');
  await refused(await complete('{"parts":'), [400, 'multipart_bad_completion'], 'not JSON');
  await refused(await complete(JSON.stringify({ parts: [] })), [400, 'multipart_bad_completion'], 'no parts');
  await refused(await complete('x'.repeat(1024 * 1024 + 1)), [413, 'multipart_completion_too_large'], 'too large');
  await refused(await call(stack, key, 'uploadId=a%20b', { token }), [400, 'multipart_bad_query'], 'bad upload id');
  const done = await json(await complete(JSON.stringify({ parts: [{ part: 1, etag: sent.etag }] })), 200);
  assert.equal(done.size, 5);
  assert.equal((await download(stack, key)).toString(), 'hello');
});

test('the flow works against garage too', async () => {
  const garage = await startGarage();
  try {
    const onGarage = await startStack({ vars: { ...garageSettings(garage), MULTIPART_PART_MAX_MB: '6' } });
    try {
      const key = 'big/garage.bin';
      const data = randomBytes(10 * MIB + 777);
      const token = await onGarage.grant({ op: 'put', object: key, extra: ['--max-size', String(11 * MIB), '--multipart'] });
      const done = await upload(onGarage, key, token, data, 5 * MIB);
      assert.equal(done.size, data.length);
      assert.equal(sha256(await download(onGarage, key)), sha256(data));
      // An abort on garage, too.
      const other = await onGarage.grant({ op: 'put', object: key, extra: ['--max-size', String(MIB), '--multipart'] });
      const id = encodeURIComponent((await json(await call(onGarage, key, 'uploads', { token: other, method: 'POST' }), 200)).uploadId);
      assert.equal((await call(onGarage, key, `uploadId=${id}&partNumber=1`, { token: other, method: 'PUT', body: 'x' })).status, 200);
      assert.equal((await call(onGarage, key, `uploadId=${id}`, { token: other, method: 'DELETE' })).status, 204);
    } finally {
      await onGarage.stop();
    }
  } finally {
    await garage.stop();
  }
});

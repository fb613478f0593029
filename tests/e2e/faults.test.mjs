// End to end: faults of S3 and D1, each with the JSON error docs/api.md promises, the audit row
// docs/audit.md promises, and recovery once the fault is gone, without restarting anything of the
// gatekeeper. S3 faults come from a TCP proxy between the gatekeeper and s3s-fs
// (scripts/lib/faultproxy.mjs); D1 faults from a trigger that makes local D1 refuse new rows.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startStack, startS3, LOCAL } from '../../scripts/lib/stack.mjs';

const REPORT = 'region,total\nEU,42\nUS,17\n';
const LARGE_KEY = 'large/cut.bin';
const large = randomBytes(16 * 1024 * 1024);
const MESSAGES = {
  upstream_unreachable: 'the storage service could not be reached',
  upstream_timeout: 'the storage service did not answer in time',
  upstream_auth:
    "the storage service refused the gatekeeper's signature; the bucket owner should check the gatekeeper's credentials and IAM policy",
  misconfigured: 'the gatekeeper is misconfigured; its operator has been told why',
};
let stack;
let proxy;
let counter = 0;

before(async () => {
  stack = await startStack({
    faults: true,
    // Low, so a slow S3 is a fault within seconds; 1 is the least the setting takes.
    vars: { UPSTREAM_TIMEOUT_SECONDS: '2' },
    objects: { 'reports/q3.csv': REPORT, [LARGE_KEY]: large },
  });
  proxy = stack.faults;
});

after(async () => {
  await stack?.stop();
});

/** A request with a unique User-Agent, which its audit row stores; resolves to [res, marker]. */
async function call(path, { token, method = 'GET', body, headers = {} } = {}) {
  const marker = `fault-${++counter}`;
  const res = await fetch(`${stack.url}${path}`, {
    method,
    body,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      'cf-connecting-ip': '198.51.100.7',
      'user-agent': marker,
      'accept-encoding': 'identity',
      ...headers,
    },
    signal: AbortSignal.timeout(60_000),
  });
  return [res, marker];
}

/** The JSON error of `res`, checked to be exactly the documented one. */
async function documented(res, status, code) {
  const text = await res.text();
  assert.equal(res.status, status, text);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  assert.deepEqual(JSON.parse(text), { error: { code, message: MESSAGES[code] ?? JSON.parse(text).error.message } });
  return text;
}

/** The one audit row of the request marked `marker`, once no row is pending. */
async function rowOf(marker) {
  await stack.settled(30_000);
  const rows = await stack.sql(`SELECT * FROM audit_log WHERE user_agent = '${marker}'`);
  assert.equal(rows.length, 1, `one row for ${marker}`);
  return rows[0];
}

const stored = (key) => join(stack.dataDir, LOCAL.bucket, key);
const sha = (bytes) => createHash('sha256').update(bytes).digest('hex');

/** A read that works: the proof of recovery. */
async function readsAgain(token) {
  const [res, marker] = await call('/objects/reports/q3.csv', { token });
  assert.equal(res.status, 200);
  assert.equal(await res.text(), REPORT);
  const row = await rowOf(marker);
  assert.deepEqual([row.decision, row.status, row.s3_status], ['allowed', 200, 200]);
}

test('S3 stopped: 502 upstream_unreachable, a true row, nothing stored; then it works again', async () => {
  const read = await stack.grant({ object: 'reports/q3.csv', sub: 'reader' });
  const write = await stack.grant({ op: 'put', object: 'up/while-down.txt', sub: 'writer' });
  await proxy.set('refuse');
  try {
    const [res, marker] = await call('/objects/reports/q3.csv', { token: read });
    const text = await documented(res, 502, 'upstream_unreachable');
    assert.doesNotMatch(text, /region,total/);
    const row = await rowOf(marker);
    assert.deepEqual(
      [row.operation, row.object_key, row.decision, row.status, row.s3_status, row.sub],
      ['get', 'reports/q3.csv', 'upstream_unreachable', 502, null, 'reader'],
    );

    const [put, putMarker] = await call('/objects/up/while-down.txt', { token: write, method: 'PUT', body: 'never stored' });
    await documented(put, 502, 'upstream_unreachable');
    const putRow = await rowOf(putMarker);
    assert.deepEqual(
      [putRow.operation, putRow.decision, putRow.status, putRow.s3_status, putRow.bytes_in, putRow.sub],
      ['put', 'upstream_unreachable', 502, null, 12, 'writer'],
    );
    assert.ok(putRow.jti, 'the write names its grant');
    assert.equal(existsSync(stored('up/while-down.txt')), false);
  } finally {
    await proxy.set('pass');
  }
  await readsAgain(read);
});

test('S3 cut off mid-stream: the caller never sees a whole body, and the row says body_relayed = 0', async () => {
  const token = await stack.grant({ object: LARGE_KEY, sub: 'cut' });
  // Headers and the first MiB pass; then the connection to S3 drops.
  await proxy.set('cut', { after: 1024 * 1024 });
  let marker;
  try {
    let res;
    [res, marker] = await call(`/objects/${LARGE_KEY}`, { token });
    // S3 had answered and the row was committed before the body started: the reply is a 200
    // of the declared length, and the body can only end short or in an error.
    assert.equal(res.status, 200);
    assert.equal(Number(res.headers.get('content-length')), large.length);
    let received = 0;
    const hash = createHash('sha256');
    let failed = null;
    try {
      for await (const chunk of res.body) {
        received += chunk.length;
        hash.update(chunk);
      }
    } catch (err) {
      failed = err;
    }
    assert.ok(failed !== null || received < large.length, `the caller got ${received} of ${large.length} bytes and no error`);
    assert.ok(received < large.length, `received ${received} bytes`);
  } finally {
    await proxy.set('pass');
  }
  // body_relayed is written when the relay ends; wait for it.
  let row;
  for (let i = 0; i < 100; i++) {
    row = await rowOf(marker);
    if (row.body_relayed !== null) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.deepEqual(
    [row.decision, row.status, row.s3_status, row.bytes_out, row.body_relayed],
    ['allowed', 200, 200, large.length, 0],
  );

  // With S3 whole again, the same grant streams the object byte for byte.
  const [again, againMarker] = await call(`/objects/${LARGE_KEY}`, { token });
  assert.equal(again.status, 200);
  assert.equal(sha(Buffer.from(await again.arrayBuffer())), sha(large));
  for (let i = 0; i < 100; i++) {
    row = await rowOf(againMarker);
    if (row.body_relayed !== null) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(row.body_relayed, 1);
});

test('S3 slower than UPSTREAM_TIMEOUT_SECONDS: 504 upstream_timeout and a true row; then it works again', async () => {
  const token = await stack.grant({ object: 'reports/q3.csv', sub: 'slow' });
  // Twice the timeout, so only a gatekeeper that waits past its setting could see the reply.
  await proxy.set('delay', { ms: 4000 });
  try {
    const [res, marker] = await call('/objects/reports/q3.csv', { token });
    const text = await documented(res, 504, 'upstream_timeout');
    assert.doesNotMatch(text, /region,total/);
    const row = await rowOf(marker);
    assert.deepEqual(
      [row.operation, row.decision, row.status, row.s3_status, row.sub],
      ['get', 'upstream_timeout', 504, null, 'slow'],
    );
  } finally {
    await proxy.set('pass');
  }
  await readsAgain(token);
});

test('D1 refusing new rows: reads and uploads fail closed with 503 audit_unavailable, 32 at once too; then they work again', async () => {
  const read = await stack.grant({ object: 'reports/q3.csv', sub: 'd1-reader' });
  const write = await stack.grant({ op: 'put', object: 'up/d1-blocked.txt', sub: 'd1-writer' });
  const other = await stack.grant({ object: LARGE_KEY, sub: 'd1-other' });
  const [{ before }] = await stack.sql('SELECT count(*) AS before FROM audit_log');
  const repliesBefore = proxy.replies;
  await stack.sql(
    `CREATE TRIGGER audit_log_refuse_fault BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'refused'); END`,
  );
  try {
    const [res] = await call('/objects/reports/q3.csv', { token: read });
    assert.doesNotMatch(await documented(res, 503, 'audit_unavailable'), /region,total/);

    const [put] = await call('/objects/up/d1-blocked.txt', { token: write, method: 'PUT', body: 'must not be stored' });
    await documented(put, 503, 'audit_unavailable');
    assert.equal(existsSync(stored('up/d1-blocked.txt')), false, 'nothing stored');

    // 32 reads at once, of the small object and the large one: every one fails closed.
    const replies = await Promise.all(
      Array.from({ length: 32 }, (_, i) =>
        i % 2 ? call('/objects/reports/q3.csv', { token: read }) : call(`/objects/${LARGE_KEY}`, { token: other }),
      ),
    );
    for (const [r] of replies) {
      const text = await documented(r, 503, 'audit_unavailable');
      assert.ok(text.length < 200, 'no object byte');
    }

    // A refusal is still answered as itself (nothing was served); its row is lost with D1.
    const [refused] = await call('/objects/reports/q3.csv', { token: other });
    await documented(refused, 403, 'grant_scope_mismatch');
  } finally {
    await stack.sql('DROP TRIGGER audit_log_refuse_fault');
  }
  const [{ after }] = await stack.sql('SELECT count(*) AS after FROM audit_log');
  assert.equal(after, before, 'no row was written while D1 refused');
  // S3 was asked only by the reads (a read's row is written once S3 has answered); no upload
  // reached it.
  assert.ok(proxy.replies - repliesBefore <= 33, `${proxy.replies - repliesBefore} replies from S3`);

  await readsAgain(read);
  // The upload's grant was not spent with its row: it goes through now.
  const [put, marker] = await call('/objects/up/d1-blocked.txt', { token: write, method: 'PUT', body: 'stored after all' });
  assert.equal(put.status, 200, await put.clone().text());
  assert.equal(readFileSync(stored('up/d1-blocked.txt'), 'utf8'), 'stored after all');
  const row = await rowOf(marker);
  assert.deepEqual([row.decision, row.status, row.s3_status, row.bytes_in], ['allowed', 200, 200, 16]);
});

test('S3 rotated its secret: 502 upstream_auth with S3 status in the row; recovery when the keys match again', async () => {
  // s3s-fs holds one key pair, given at start. A rotation on S3's side is another s3s-fs on the
  // same data with a new secret, which the proxy switches to: the gatekeeper keeps signing with
  // the secret it was deployed with. The gatekeeper reads its secret once per isolate; giving it
  // the new one is a new deployment (`wrangler secret put`), which restarts it. So recovery
  // without a restart is shown from the other side: S3 taking the gatekeeper's key again.
  const rotated = await startS3({ dir: join(stack.dataDir), secretKey: 'rotated-secret-the-gatekeeper-lacks' });
  try {
    const read = await stack.grant({ object: 'reports/q3.csv', sub: 'rotated' });
    const write = await stack.grant({ op: 'put', object: 'up/rotated.txt', sub: 'rotated-writer' });
    proxy.retarget(rotated.url);
    try {
      const [res, marker] = await call('/objects/reports/q3.csv', { token: read });
      const text = await documented(res, 502, 'upstream_auth');
      assert.doesNotMatch(text, /region,total|SignatureDoesNotMatch|<Error>/);
      const row = await rowOf(marker);
      assert.deepEqual([row.decision, row.status, row.s3_status, row.sub], ['upstream_auth', 502, 403, 'rotated']);

      const [put, putMarker] = await call('/objects/up/rotated.txt', { token: write, method: 'PUT', body: 'refused by S3' });
      await documented(put, 502, 'upstream_auth');
      assert.equal(existsSync(stored('up/rotated.txt')), false);
      const putRow = await rowOf(putMarker);
      assert.deepEqual([putRow.decision, putRow.status, putRow.s3_status], ['upstream_auth', 502, 403]);
    } finally {
      proxy.retarget(stack.s3ServerUrl);
    }
    await readsAgain(read);
  } finally {
    await rotated.stop();
  }
});

test('a malformed ACL deployed: every request is 500 misconfigured without detail, recorded, nothing reaches S3', async () => {
  // config.test.mjs checks the log line that names the entry; this checks every kind of request.
  // There is no recovery to show without a restart: settings are read once per isolate, so a
  // corrected ACL is a new deployment, which `wrangler dev` serves by restarting the Worker.
  const bad = await startStack({
    faults: true,
    vars: { ACL: JSON.stringify({ ip: { allow: ['0.0.0.0/0'], deny: ['198.51.100.0/33'] } }) },
    objects: { 'reports/q3.csv': REPORT },
  });
  try {
    const grant = (g) => bad.grant({ sub: 'misconfig', ...g });
    const requests = [
      ['GET', '/objects/reports/q3.csv', await grant({ object: 'reports/q3.csv' })],
      ['HEAD', '/objects/reports/q3.csv', await grant({ op: 'head', object: 'reports/q3.csv' })],
      ['PUT', '/objects/up/misconfigured.txt', await grant({ op: 'put', object: 'up/misconfigured.txt' }), 'not stored'],
      ['GET', '/objects?prefix=reports%2F', await grant({ op: 'list', prefix: 'reports/' })],
      ['GET', '/objects/reports/q3.csv'],
      ['GET', '/nowhere'],
      ['POST', '/objects/reports/q3.csv'],
    ];
    for (const [i, [method, path, token, body]] of requests.entries()) {
      const res = await fetch(`${bad.url}${path}`, {
        method,
        body,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          'cf-connecting-ip': '198.51.100.7',
          'user-agent': `misconfig-${i}`,
        },
      });
      assert.equal(res.status, 500, `${method} ${path}`);
      const text = await res.text();
      if (method === 'HEAD') {
        assert.equal(text, '', 'a HEAD reply has no body');
      } else {
        assert.deepEqual(JSON.parse(text), { error: { code: 'misconfigured', message: MESSAGES.misconfigured } }, `${method} ${path}`);
        assert.doesNotMatch(text, /ACL|deny|33/, 'the caller is not told what is wrong');
      }
    }
    assert.equal(bad.faults.accepted, 0, 'nothing reached S3');
    assert.equal(existsSync(join(bad.dataDir, LOCAL.bucket, 'up/misconfigured.txt')), false);
    // docs/audit.md: recorded with decision misconfigured, the bucket of S3_BUCKET, and no
    // signer, since no grant was checked.
    await bad.settled(30_000);
    const rows = await bad.sql(
      `SELECT user_agent, method, decision, status, s3_status, bucket, key_id, sub, jti, signers FROM audit_log ORDER BY id`,
    );
    assert.deepEqual(
      rows,
      requests.map(([method], i) => ({
        user_agent: `misconfig-${i}`,
        method,
        decision: 'misconfigured',
        status: 500,
        s3_status: null,
        bucket: LOCAL.bucket,
        key_id: null,
        sub: null,
        jti: null,
        signers: null,
      })),
    );
  } finally {
    await bad.stop();
  }
});

// End to end: the door itself. CORS for the vendor's pages, the caller's IP only from
// CF-Connecting-IP, and reads with ranges and conditions passed through to S3 and back.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../../scripts/lib/stack.mjs';

const APP = 'https://app.vendor.example';
const BODY = 'id,value\n1,alpha\n2,beta\n3,gamma\n';
let stack;

before(async () => {
  stack = await startStack({
    vars: {
      ALLOWED_ORIGINS: JSON.stringify([APP, 'http://127.0.0.1:8788']),
      ACL: JSON.stringify({ ip: { allow: ['0.0.0.0/0', '::/0'], deny: ['203.0.113.0/24', '2001:db8:bad::/48'] } }),
    },
    objects: { 'data/table.csv': BODY },
  });
});

after(async () => {
  await stack?.stop();
});

const call = async (path, { token, headers = {}, method = 'GET', ip = '198.51.100.7' } = {}) =>
  fetch(`${stack.url}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(ip ? { 'cf-connecting-ip': ip } : {}), ...headers },
  });

test('preflight: allowed origins get the methods and headers, others get nothing', async () => {
  const ok = await call('/objects/data/table.csv', {
    method: 'OPTIONS',
    headers: { origin: APP, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'authorization, content-type' },
  });
  assert.equal(ok.status, 204);
  assert.equal(ok.headers.get('access-control-allow-origin'), APP);
  assert.match(ok.headers.get('access-control-allow-methods'), /PUT/);
  assert.match(ok.headers.get('access-control-allow-headers'), /authorization/);
  assert.equal(ok.headers.get('access-control-allow-credentials'), null);

  const foreign = await call('/objects/data/table.csv', {
    method: 'OPTIONS',
    headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' },
  });
  assert.equal(foreign.status, 403);
  assert.equal(foreign.headers.get('access-control-allow-origin'), null);
});

test('replies, errors included, carry CORS headers for allowed pages; foreign pages are refused', async () => {
  const token = await stack.grant({ object: 'data/table.csv' });
  const ok = await call('/objects/data/table.csv', { token, headers: { origin: APP } });
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get('access-control-allow-origin'), APP);
  assert.match(ok.headers.get('access-control-expose-headers'), /content-range/);
  assert.match(ok.headers.get('vary'), /Origin/);
  assert.equal(await ok.text(), BODY);

  const denied = await call('/objects/data/table.csv', { headers: { origin: APP } });
  assert.equal(denied.status, 401);
  assert.equal(denied.headers.get('access-control-allow-origin'), APP, 'the page can read why');

  const foreign = await call('/objects/data/table.csv', { token, headers: { origin: 'https://evil.example' } });
  assert.equal(foreign.status, 403);
  assert.equal((await foreign.json()).error.code, 'origin_not_allowed');
  assert.equal(foreign.headers.get('access-control-allow-origin'), null);
});

test('the caller IP comes only from CF-Connecting-IP; forwarding headers are ignored', async () => {
  const token = await stack.grant({ object: 'data/table.csv' });
  const spoof = { 'x-forwarded-for': '198.51.100.7', 'x-real-ip': '198.51.100.7', 'true-client-ip': '198.51.100.7', forwarded: 'for=198.51.100.7' };
  const denied = await call('/objects/data/table.csv', { token, ip: '203.0.113.5', headers: spoof });
  assert.equal(denied.status, 403);
  assert.equal((await denied.json()).error.code, 'ip_denied');
  const v6 = await call('/objects/data/table.csv', { token, ip: '2001:db8:bad::1' });
  assert.equal((await v6.json()).error.code, 'ip_denied');
  const spoofedDeny = await call('/objects/data/table.csv', { token, headers: { 'x-forwarded-for': '203.0.113.5' } });
  assert.equal(spoofedDeny.status, 200, 'a forwarded header cannot get a caller denied either');
});

// s3s-fs does not evaluate If-None-Match or If-Match on GetObject; 304 and 412 are shown against
// garage, in conditional.test.mjs.
test('HEAD and ranges pass through: 200 with headers, 206, 416', async () => {
  const get = await stack.grant({ object: 'data/table.csv' });
  const head = await stack.grant({ op: 'head', object: 'data/table.csv' });

  const h = await call('/objects/data/table.csv', { token: head, method: 'HEAD' });
  assert.equal(h.status, 200);
  assert.equal(h.headers.get('content-length'), String(BODY.length));
  const etag = h.headers.get('etag');
  assert.ok(etag);

  const range = await call('/objects/data/table.csv', { token: get, headers: { range: 'bytes=3-7' } });
  assert.equal(range.status, 206);
  assert.equal(await range.text(), BODY.slice(3, 8));

  const beyond = await call('/objects/data/table.csv', { token: get, headers: { range: 'bytes=5000-6000' } });
  assert.equal(beyond.status, 416);
  assert.equal((await beyond.json()).error.code, 'range_not_satisfiable');
});

test('delete is refused unless the customer enables it', async () => {
  const token = await stack.grant({ op: 'delete', object: 'data/table.csv' });
  const res = await call('/objects/data/table.csv', { token, method: 'DELETE' });
  assert.equal(res.status, 405);
  assert.equal((await res.json()).error.code, 'operation_disabled');
});

test('an upload whose body is shorter than its Content-Length is not stored', async () => {
  const { connect } = await import('node:net');
  const { existsSync } = await import('node:fs');
  const { join } = await import('node:path');
  const token = await stack.grant({ op: 'put', object: 'u/short.bin' });
  const { port } = new URL(stack.url);
  // A raw request: declares 1000 bytes, sends 10, then closes its side.
  const reply = await new Promise((resolve) => {
    const socket = connect(Number(port), '127.0.0.1', () => {
      socket.write(
        `PUT /objects/u/short.bin HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\n` +
          `CF-Connecting-IP: 198.51.100.7\r\nContent-Length: 1000\r\n\r\n0123456789`,
      );
      socket.end();
    });
    let text = '';
    socket.on('data', (d) => (text += d));
    socket.on('close', () => resolve(text));
    socket.on('error', () => resolve(text));
    socket.setTimeout(20_000, () => socket.destroy());
  });
  assert.doesNotMatch(reply, /^HTTP\/1\.1 200/, 'not reported as stored');
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(existsSync(join(stack.dataDir, 'demo-reports', 'u/short.bin')), false, 'nothing stored');
});

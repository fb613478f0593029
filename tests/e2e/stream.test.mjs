// End to end: large objects stream through workerd in both directions without being buffered.
// The resident memory of the workerd process that runs the gatekeeper is sampled during each
// transfer; it must stay far below the size of the object. wrangler dev's own local proxy, a
// second workerd in front of it that production does not have, is measured and printed too.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, openSync, writeSync, closeSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { startStack, LOCAL } from '../../scripts/lib/stack.mjs';

const MiB = 1024 * 1024;
const GET_SIZE = 256 * MiB;
const PUT_SIZE = 64 * MiB;
let stack;

before(async () => {
  stack = await startStack({ vars: { MAX_UPLOAD_BYTES: String(PUT_SIZE) } });
});

after(async () => {
  await stack?.stop();
});

/** Writes `size` random bytes to `path` a mebibyte at a time, returning their SHA-256. */
function writeRandomFile(path, size) {
  mkdirSync(dirname(path), { recursive: true });
  const hash = createHash('sha256');
  const fd = openSync(path, 'w');
  for (let written = 0; written < size; written += MiB) {
    const chunk = randomBytes(Math.min(MiB, size - written));
    hash.update(chunk);
    writeSync(fd, chunk);
  }
  closeSync(fd);
  return hash.digest('hex');
}

async function fileHash(path) {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk);
  return hash.digest('hex');
}

/** Samples memory every 100 ms while `transfer` runs; returns [result, baseline, peak]. */
async function sampled(transfer) {
  const baseline = await stack.memory();
  const peak = { ...baseline };
  let running = true;
  const sampler = (async () => {
    while (running) {
      const now = await stack.memory();
      peak.gatekeeper = Math.max(peak.gatekeeper, now.gatekeeper);
      peak.devProxy = Math.max(peak.devProxy, now.devProxy);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  try {
    return [await transfer(), baseline, peak];
  } finally {
    running = false;
    await sampler;
  }
}

const mib = (n) => (n / MiB).toFixed(1);
const report = (what, before, peak) =>
  console.log(
    `${what}: gatekeeper workerd RSS ${mib(before.gatekeeper)} MiB before, ${mib(peak.gatekeeper)} MiB peak ` +
      `(+${mib(peak.gatekeeper - before.gatekeeper)} MiB); wrangler dev proxy +${mib(peak.devProxy - before.devProxy)} MiB`,
  );

test('a 256 MiB GET streams byte for byte with workerd memory flat', { timeout: 300_000 }, async () => {
  const key = 'large/get-256MiB.bin';
  const want = writeRandomFile(join(stack.dataDir, LOCAL.bucket, key), GET_SIZE);
  const token = await stack.grant({ object: key });
  const [[status, got, length], baseline, peak] = await sampled(async () => {
    const res = await fetch(`${stack.url}/objects/${key}`, {
      headers: { authorization: `Bearer ${token}`, 'cf-connecting-ip': '198.51.100.7', 'accept-encoding': 'identity' },
    });
    const hash = createHash('sha256');
    let n = 0;
    for await (const chunk of res.body) {
      hash.update(chunk);
      n += chunk.length;
    }
    return [res.status, hash.digest('hex'), n];
  });
  report('GET 256 MiB', baseline, peak);
  assert.equal(status, 200);
  assert.equal(length, GET_SIZE);
  assert.equal(got, want, 'byte for byte');
  const grew = peak.gatekeeper - baseline.gatekeeper;
  assert.ok(grew < 64 * MiB, `the gatekeeper's workerd grew by ${mib(grew)} MiB while streaming 256 MiB`);
});

test('a 64 MiB PUT streams byte for byte with workerd memory flat', { timeout: 300_000 }, async () => {
  const key = 'large/put-64MiB.bin';
  const body = randomBytes(PUT_SIZE);
  const want = createHash('sha256').update(body).digest('hex');
  const token = await stack.grant({ op: 'put', object: key });
  const [status, baseline, peak] = await sampled(async () => {
    const res = await fetch(`${stack.url}/objects/${key}`, {
      method: 'PUT',
      body,
      headers: { authorization: `Bearer ${token}`, 'cf-connecting-ip': '198.51.100.7' },
    });
    await res.arrayBuffer();
    return res.status;
  });
  report('PUT 64 MiB', baseline, peak);
  assert.equal(status, 200);
  assert.equal(await fileHash(join(stack.dataDir, LOCAL.bucket, key)), want, 'stored byte for byte');
  const grew = peak.gatekeeper - baseline.gatekeeper;
  assert.ok(grew < 32 * MiB, `the gatekeeper's workerd grew by ${mib(grew)} MiB while streaming 64 MiB`);
});

// End to end in a real browser: the example page uploads a 300 MiB file in parts (the reference
// client for uploads larger than Cloudflare takes in one request), with a multipart grant from
// the reference vendor server, and the object downloaded through the gatekeeper is the file.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startBrowserDemo } from '../../scripts/lib/browser.mjs';

const MIB = 1024 * 1024;
const USER = 'browser-user';
const SESSION = randomBytes(16).toString('hex');

let stack;
let vendor;
let pageServer;
let browser;
let tmp;

let demo;

before(async () => {
  demo = await startBrowserDemo({ user: USER, session: SESSION });
  ({ stack, vendor, pageServer, browser, tmp } = demo);
});

after(async () => {
  await demo?.stop();
});

test('a 300 MiB file chosen on the page is uploaded in parts, with progress, and downloads byte for byte', async () => {
  const size = 300 * MIB;
  const file = join(tmp, 'survey scan.bin');
  const data = randomBytes(size);
  writeFileSync(file, data);
  const want = createHash('sha256').update(data).digest('hex');
  const key = `uploads/${USER}/survey scan.bin`;

  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(err));
  try {
    await page.goto(`${pageServer.url}/`);
    await page.locator('#session').filter({ hasText: `Signed in as ${USER}` }).waitFor();
    await page.setInputFiles('#file', file);
    await page.click('#upload');
    // Progress is shown while the parts go.
    await page.locator('#upload-status.busy').filter({ hasText: /Uploading .*\d+%/ }).waitFor({ timeout: 120000 });
    assert.equal(await page.locator('#upload-progress').getAttribute('max'), String(size));
    await page.locator('#upload-status.ok').waitFor({ timeout: 300000 });
    assert.match(await page.locator('#upload-status').textContent(), new RegExp(`^Stored ${key} \\(${size} bytes in 5 parts, ETag .+\\)$`));
    assert.equal(await page.locator('#upload-progress').isHidden(), true);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }

  // Downloaded through the gatekeeper, the object is the file.
  const token = await stack.grant({ op: 'get', object: key });
  const res = await fetch(`${stack.url}/objects/uploads/${USER}/survey%20scan.bin`, {
    headers: { authorization: `Bearer ${token}`, 'cf-connecting-ip': '198.51.100.7' },
  });
  assert.equal(res.status, 200);
  const hash = createHash('sha256');
  for await (const chunk of res.body) hash.update(chunk);
  assert.equal(hash.digest('hex'), want);

  await stack.settled();
  const rows = await stack.sql(
    `SELECT operation, decision, bytes_in, sub FROM audit_log WHERE object_key = '${key}' AND operation LIKE 'put.%' ORDER BY id`,
  );
  assert.deepEqual(rows.map((r) => [r.operation, r.decision, r.sub]), [
    ['put.create', 'allowed', USER],
    ...Array.from({ length: 5 }, () => ['put.part', 'allowed', USER]),
    ['put.complete', 'allowed', USER],
  ]);
  assert.deepEqual(rows.filter((r) => r.operation === 'put.part').map((r) => r.bytes_in).sort((a, b) => a - b), [44 * MIB, 64 * MIB, 64 * MIB, 64 * MIB, 64 * MIB]);
  assert.equal(rows.at(-1).bytes_in, size, 'the completion carries the total size');
});

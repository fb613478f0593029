// End to end in a real browser: the example page (examples/browser) asks the reference vendor
// server for a link (a grant in the URL) and offers it as a plain <a href>. Clicking it makes
// headless Chromium download a 256 MiB object from the gatekeeper straight to disk: the bytes are
// checked by SHA-256, and the page's JavaScript heap must not grow with them, since the page
// never holds them. Chromium is Debian's, driven with playwright-core (see browser.test.mjs).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { join } from 'node:path';
import { startBrowserDemo } from '../../scripts/lib/browser.mjs';

const MIB = 1024 * 1024;
const BIG_KEY = 'reports/2026/site-walkthrough.bin';
const BIG_BYTES = 256 * MIB;
const USER = 'link-user';
const SESSION = randomBytes(16).toString('hex');

let stack;
let vendor;
let pageServer;
let browser;
let tmp;
let bigSha256;

let demo;

before(async () => {
  const big = randomBytes(BIG_BYTES);
  bigSha256 = createHash('sha256').update(big).digest('hex');
  demo = await startBrowserDemo({
    user: USER,
    session: SESSION,
    vars: { GRANT_IN_QUERY: 'on' },
    objects: { [BIG_KEY]: big },
    page: { download: BIG_KEY },
  });
  ({ stack, vendor, pageServer, browser, tmp } = demo);
});

after(async () => {
  await demo?.stop();
});

async function sha256File(path) {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk);
  return hash.digest('hex');
}

/** The page's JavaScript heap in use, in bytes, after a full garbage collection. */
async function heapUsed(cdp) {
  await cdp.send('HeapProfiler.collectGarbage');
  const { usedSize } = await cdp.send('Runtime.getHeapUsage');
  return usedSize;
}

/** `stack.sql`, again while local D1 is busy finishing the read's row (SQLITE_BUSY). */
async function sqlWhenFree(command) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await stack.sql(command);
    } catch (err) {
      if (attempt >= 10 || !/SQLITE_BUSY/.test(String(err.message))) throw err;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

test('a 256 MiB object downloads through a link to disk, whole, under its name, with a flat page heap', async (t) => {
  const context = await browser.newContext({ acceptDownloads: true });
  try {
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (err) => errors.push(err));
    await page.goto(`${pageServer.url}/`);
    await page.locator('#session').filter({ hasText: `Signed in as ${USER}` }).waitFor();
    assert.equal(await page.locator('#download-key').inputValue(), BIG_KEY);
    await page.click('#download-form button');
    await page.locator('#download-status.ok').waitFor();
    const anchor = page.locator('#download-link');
    await anchor.waitFor();
    const href = await anchor.getAttribute('href');
    assert.match(href, /\/objects\/reports\/2026\/site-walkthrough\.bin\?grant=v4\.public\./);

    const cdp = await context.newCDPSession(page);
    const heapBefore = await heapUsed(cdp);
    const [download] = await Promise.all([page.waitForEvent('download'), anchor.click()]);
    assert.equal(download.suggestedFilename(), 'site-walkthrough.bin');
    const saved = join(tmp, 'saved.bin');
    try {
      await download.saveAs(saved);
    } catch (err) {
      // A download cut short could be the gatekeeper's, wrangler dev's or S3's doing: say what
      // the stack logged.
      throw new Error(`the download failed (${err.message}); the stack's last output:\n${stack.output().slice(-4000)}`);
    }
    assert.equal(await download.failure(), null);
    const heapAfter = await heapUsed(cdp);

    assert.equal(statSync(saved).size, BIG_BYTES);
    assert.equal(await sha256File(saved), bigSha256, 'the file on disk is the object, byte for byte');
    // The page never held the bytes: its heap moved by far less than the object's size.
    const grown = heapAfter - heapBefore;
    t.diagnostic(`page heap: ${(heapBefore / MIB).toFixed(1)} MiB before, ${(heapAfter / MIB).toFixed(1)} MiB after`);
    assert.ok(grown < 8 * MIB, `the page heap grew by ${(grown / MIB).toFixed(1)} MiB while 256 MiB downloaded`);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }

  await stack.settled(60000);
  const rows = await sqlWhenFree(
    `SELECT operation, decision, status, s3_status, bytes_out, grant_in_url, body_relayed, sub, origin FROM audit_log WHERE object_key = '${BIG_KEY}'`,
  );
  // A link is a navigation, not a call from the page's script: it carries no Origin.
  assert.deepEqual(rows, [
    { operation: 'get', decision: 'allowed', status: 200, s3_status: 200, bytes_out: BIG_BYTES, grant_in_url: 1, body_relayed: 1, sub: USER, origin: null },
  ]);
});

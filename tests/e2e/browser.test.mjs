// End to end in a real browser: the example page (examples/browser), served from its own origin,
// gets grants from the reference vendor server (examples/vendor-node/server.mjs) and calls the
// gatekeeper directly, through CORS, as a vendor's page does in a customer's user's browser.
// Headless Chromium (Debian's) is driven with playwright-core, which never downloads a browser.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOCAL } from '../../scripts/lib/stack.mjs';
import { startBrowserDemo } from '../../scripts/lib/browser.mjs';

const REPORT_KEY = 'reports/2026/q3-summary.csv';
const REPORT = 'region,quarter,revenue,owner\nEMEA,Q3,1204500,"Dubois, A."\nAMER,Q3,2310750,"J. ""JJ"" Ortiz"\nAPAC,Q3,987250,Tanaka\n';
const USER = 'browser-user';
const SESSION = randomBytes(16).toString('hex');

let stack;
let vendor;
let browser;
let pageUrl;
let pageOrigin;

let demo;

before(async () => {
  demo = await startBrowserDemo({ user: USER, session: SESSION, objects: { [REPORT_KEY]: REPORT }, page: { report: REPORT_KEY } });
  ({ stack, vendor, browser, pageUrl, pageOrigin } = demo);
});

after(async () => {
  await demo?.stop();
});

/** A fresh page (its own context: no cache or state shared between tests). */
async function openPage(query = '', url = pageUrl) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(err));
  await page.goto(url + query);
  return { page, errors, close: () => context.close() };
}

const cells = (page, selector) => page.locator(selector).allTextContents();

test('the page shows a report fetched through the gatekeeper with a grant from the vendor server', async () => {
  const { page, errors, close } = await openPage();
  try {
    await page.locator('#session').filter({ hasText: `Signed in as ${USER}` }).waitFor();
    await page.locator('#report tbody tr').nth(2).waitFor();
    assert.deepEqual(await cells(page, '#report thead th'), ['region', 'quarter', 'revenue', 'owner']);
    assert.equal(await page.locator('#report tbody tr').count(), 3);
    assert.deepEqual(await cells(page, '#report tbody tr:nth-child(1) td'), ['EMEA', 'Q3', '1204500', 'Dubois, A.']);
    assert.deepEqual(await cells(page, '#report tbody tr:nth-child(2) td'), ['AMER', 'Q3', '2310750', 'J. "JJ" Ortiz']);
    assert.deepEqual(await cells(page, '#report tbody tr:nth-child(3) td'), ['APAC', 'Q3', '987250', 'Tanaka']);
    assert.match(await page.locator('#report-status').textContent(), /3 rows/);
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }

  await stack.settled();
  const rows = await stack.sql(
    `SELECT decision, status, s3_status, sub, origin, bytes_out FROM audit_log WHERE operation = 'get' AND object_key = '${REPORT_KEY}'`,
  );
  assert.deepEqual(rows, [{ decision: 'allowed', status: 200, s3_status: 200, sub: USER, origin: pageOrigin, bytes_out: REPORT.length }]);
});

test('a file chosen on the page is uploaded byte for byte, and audited', async () => {
  // Every byte value, so nothing on the way may treat the body as text.
  const body = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(64 * 1024)]);
  const name = 'field notes (draft).bin';
  const key = `uploads/${USER}/${name}`;
  const { page, errors, close } = await openPage();
  try {
    await page.locator('#session').filter({ hasText: `Signed in as ${USER}` }).waitFor();
    await page.setInputFiles('#file', { name, mimeType: 'application/octet-stream', buffer: body });
    assert.equal(await page.locator('#upload-key').textContent(), key);
    await page.click('#upload');
    await page.locator('#upload-status.ok').waitFor();
    assert.match(await page.locator('#upload-status').textContent(), new RegExp(`Stored .*\\(${body.length} bytes, ETag `));
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }

  assert.ok(readFileSync(join(stack.dataDir, LOCAL.bucket, key)).equals(body), 'the stored object is the file, byte for byte');
  await stack.settled();
  const rows = await stack.sql(
    `SELECT decision, status, s3_status, bytes_in, sub, origin, jti FROM audit_log WHERE operation = 'put' AND object_key = '${key.replaceAll("'", "''")}'`,
  );
  assert.equal(rows.length, 1);
  const [row] = rows;
  assert.deepEqual({ ...row, jti: undefined }, { decision: 'allowed', status: 200, s3_status: 200, bytes_in: body.length, sub: USER, origin: pageOrigin, jti: undefined });
  assert.match(row.jti, /^[0-9a-f-]{36}$/, 'the write grant carried a unique id');
});

test("the gatekeeper's refusal is shown on the page", async () => {
  const missing = 'reports/2026/q4-summary.csv';
  const { page, errors, close } = await openPage(`?report=${encodeURIComponent(missing)}`);
  try {
    const status = page.locator('#report-status.error');
    await status.waitFor();
    assert.equal(await status.getAttribute('data-code'), 'not_found');
    assert.match(await status.textContent(), /^The gatekeeper refused \(HTTP 404\): not_found — .+$/);
    assert.equal(await page.locator('#report').isHidden(), true);
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
  await stack.settled();
  const rows = await stack.sql(`SELECT decision, status, sub FROM audit_log WHERE operation = 'get' AND object_key = '${missing}'`);
  assert.deepEqual(rows, [{ decision: 'not_found', status: 404, sub: USER }]);
});

test("the vendor server's refusal is shown on the page, and the gatekeeper is not called", async () => {
  const secret = 'finance/payroll.csv';
  const { page, close } = await openPage(`?report=${encodeURIComponent(secret)}`);
  try {
    const status = page.locator('#report-status.error');
    await status.waitFor();
    assert.equal(await status.getAttribute('data-code'), 'forbidden');
    assert.match(await status.textContent(), /^The vendor server refused \(HTTP 403\): forbidden — you may read only reports\/$/);
  } finally {
    await close();
  }
  assert.deepEqual(await stack.sql(`SELECT id FROM audit_log WHERE object_key = '${secret}'`), []);
});

test('a page served from another origin gets nothing from the vendor server', async () => {
  // Same server, but `localhost` is another origin than `127.0.0.1` to the browser.
  const { page, close } = await openPage('', pageUrl.replace('127.0.0.1', 'localhost'));
  try {
    const status = page.locator('#session.error');
    await status.waitFor();
    assert.equal(await status.getAttribute('data-code'), 'unreachable');
    assert.match(await status.textContent(), /^The vendor server failed: unreachable — /);
  } finally {
    await close();
  }
});

test('the vendor server answers only its page: CORS preflight, foreign origins and missing sessions refused', async () => {
  const preflight = await fetch(`${vendor.url}/grants`, {
    method: 'OPTIONS',
    headers: { origin: pageOrigin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
  });
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers.get('access-control-allow-origin'), pageOrigin);
  assert.match(preflight.headers.get('access-control-allow-headers'), /authorization/);

  const grant = (headers, body = { op: 'get', key: REPORT_KEY }) =>
    fetch(`${vendor.url}/grants`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const foreign = await grant({ origin: 'https://evil.example', authorization: `Bearer ${SESSION}` });
  assert.equal(foreign.status, 403);
  assert.equal(foreign.headers.get('access-control-allow-origin'), null);
  assert.equal((await foreign.json()).error.code, 'origin_not_allowed');

  const anonymous = await grant({ origin: pageOrigin });
  assert.equal(anonymous.status, 401);
  assert.equal(anonymous.headers.get('access-control-allow-origin'), pageOrigin, 'the page can read why');
  assert.equal((await anonymous.json()).error.code, 'unauthenticated');

  const others = await grant({ authorization: `Bearer ${SESSION}` }, { op: 'put', key: 'uploads/someone-else/x.csv' });
  assert.equal(others.status, 403);
  assert.equal((await others.json()).error.code, 'forbidden');

  const dots = await grant({ authorization: `Bearer ${SESSION}` }, { op: 'get', key: 'reports/../finance/payroll.csv' });
  assert.equal(dots.status, 400);
  assert.equal((await dots.json()).error.code, 'bad_request');

  const ok = await grant({ authorization: `Bearer ${SESSION}` }, { op: 'put', key: `uploads/${USER}/a.csv`, content_type: 'text/csv', size: 10 });
  assert.equal(ok.status, 200);
  const reply = await ok.json();
  assert.equal(reply.gatekeeper, stack.url);
  assert.equal(reply.content_type, 'text/csv');
  assert.equal(reply.max_size, 10);
  assert.match(reply.token, /^v4\.public\./);
});

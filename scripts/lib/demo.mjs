// The local demo: starts the stack, shows a grant at work and the audit row it left, then keeps
// the gatekeeper running for you to try until Ctrl-C, with the example vendor server and page
// (examples/vendor-node/server.mjs, examples/browser) to try it from a browser.

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startStack, startScript, freePort, ROOT, LOCAL, CLI } from './stack.mjs';

const run = promisify(execFile);

/** Shows a script's output (a fault, say) as it comes, under its name; not its start-up line. */
const shown = (label) => (text) => {
  const lines = text.split('\n').filter((line) => line && !line.startsWith('listening on '));
  for (const line of lines) console.log(`    [${label}] ${line}`);
};

const bold = (s) => `\x1b[1m${s}\x1b[0m`;
const KEY = 'reports/2026/q3-summary.csv';
const REPORT = 'region,quarter,revenue\nEMEA,Q3,1204500\nAMER,Q3,2310750\nAPAC,Q3,987250\n';

const dir = join(ROOT, '.local', 'demo');
rmSync(dir, { recursive: true, force: true });
const USER = 'demo-user';

// The page's origin must be in ALLOWED_ORIGINS when the gatekeeper starts, so its port is
// chosen now and the page server started on it later.
const pagePort = await freePort();
const pageOrigin = `http://127.0.0.1:${pagePort}`;

console.log(bold('==> Starting s3s-fs (local S3) and the gatekeeper in workerd (wrangler dev)'));
const stack = await startStack({
  dir,
  objects: { [KEY]: REPORT },
  // Sealing normally waits 15 minutes for rows to settle; the demo seals at once to show it.
  vars: { ALLOWED_ORIGINS: JSON.stringify([pageOrigin]), AUDIT_SEAL_GRACE_SECONDS: '0', GRANT_IN_QUERY: 'on' },
});
const scripts = [];

let stopping = false;
const stop = async (status = 0) => {
  if (stopping) return;
  stopping = true;
  console.log('\nStopping the page, the vendor server, the gatekeeper and s3s-fs...');
  await Promise.all(scripts.map((script) => script.stop()));
  await stack.stop();
  process.exit(status);
};
process.on('SIGINT', () => stop());
process.on('SIGTERM', () => stop());

console.log(`    gatekeeper: ${stack.url}`);
console.log(`    local S3:   ${stack.s3Url} (bucket ${LOCAL.bucket}, data in ${stack.dataDir})`);
console.log(`    vendor key: ${stack.keyFile} (id ${stack.vendorKey.id})`);

console.log(bold(`\n==> Minting a grant for user "demo-user" to GET ${KEY} (valid 5 minutes)`));
const token = await stack.grant({ object: KEY, sub: 'demo-user' });
console.log(`    ${token.slice(0, 60)}...`);

console.log(bold('\n==> Fetching the object through the gatekeeper'));
const res = await fetch(`${stack.url}/objects/${KEY}`, {
  headers: { authorization: `Bearer ${token}`, 'cf-connecting-ip': '198.51.100.7', 'user-agent': 'demo' },
});
console.log(`    HTTP ${res.status}`);
console.log((await res.text()).replace(/^/gm, '    | '));

console.log(bold('\n==> The same fetch without a grant'));
const denied = await fetch(`${stack.url}/objects/${KEY}`, { headers: { 'cf-connecting-ip': '198.51.100.7' } });
console.log(`    HTTP ${denied.status} ${await denied.text()}`);

console.log(bold('\n==> The audit log in local D1 (wrangler d1 execute AUDIT_DB --local)'));
const rows = await stack.sql(
  'SELECT id, time_ms, operation, object_key, decision, status, s3_status, bytes_out, ip, sub FROM audit_log ORDER BY id',
);
console.table(rows);

console.log(bold('\n==> Sealing the log (the cron trigger, run by hand) and verifying an export'));
await stack.cron();
const exportFile = join(dir, 'audit-export.json');
writeFileSync(exportFile, await stack.export('SELECT * FROM audit_log ORDER BY id; SELECT * FROM audit_seals ORDER BY id'));
const verified = await run(CLI, ['audit', 'verify', '--key', stack.sealKey.public, exportFile]);
console.log(verified.stdout.trimEnd().replace(/^/gm, '    '));
console.log(`    (${CLI} audit verify --key ${stack.sealKey.public} ${exportFile})`);

console.log(bold('\n==> Starting the example vendor server and page (examples/vendor-node/server.mjs, examples/browser)'));
// The demo user's session with the vendor's application: what signing in would give.
const session = randomBytes(16).toString('hex');
let pageUrl;
try {
  const vendor = await startScript('vendor server', 'examples/vendor-node/server.mjs', [], {
    VENDOR_SECRET_KEY: readFileSync(stack.keyFile, 'utf8'),
    VENDOR_KEY_ID: stack.vendorKey.id,
    GATEKEEPER_ID: LOCAL.audience,
    GATEKEEPER_URL: stack.url,
    PAGE_ORIGIN: pageOrigin,
    PORT: '0',
    DEMO_SESSION: session,
    DEMO_USER: USER,
  }, shown('vendor server'));
  scripts.push(vendor);
  const pageConfig = join(dir, 'page-config.json');
  writeFileSync(pageConfig, JSON.stringify({ vendor: vendor.url, session, report: KEY }, null, 2) + '\n');
  const page = await startScript('page', 'examples/browser/serve.mjs', ['--port', String(pagePort), '--config', pageConfig], {}, shown('page'));
  scripts.push(page);
  pageUrl = `${page.url}/`;
  console.log(`    vendor server: ${vendor.url} (user "${USER}", session ${session})`);
  console.log(`    page:          ${pageUrl} (settings in ${pageConfig})`);
} catch (err) {
  console.error(err);
  await stop(1);
}

console.log(bold('\n==> The gatekeeper keeps running. Try it:'));
console.log(`    ${CLI} grant --key ${stack.keyFile} --aud ${LOCAL.audience} \\
        --op get --object ${KEY} --sub you --curl ${stack.url} | sh`);
console.log(bold(`\n==> Open ${pageUrl} in a browser`));
console.log('    The page gets grants from the vendor server and reads the report and uploads files');
console.log('    through the gatekeeper itself; the audit log records every request.');
console.log('\nPress Ctrl-C to stop.');
await new Promise(() => {});

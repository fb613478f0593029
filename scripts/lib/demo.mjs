// The local demo: starts the stack, shows a grant at work and the audit row it left, then keeps
// the gatekeeper running for you to try until Ctrl-C.

import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { startStack, ROOT, LOCAL, CLI } from './stack.mjs';

const bold = (s) => `\x1b[1m${s}\x1b[0m`;
const KEY = 'reports/2026/q3-summary.csv';
const REPORT = 'region,quarter,revenue\nEMEA,Q3,1204500\nAMER,Q3,2310750\nAPAC,Q3,987250\n';

const dir = join(ROOT, '.local', 'demo');
rmSync(dir, { recursive: true, force: true });
console.log(bold('==> Starting s3s-fs (local S3) and the gatekeeper in workerd (wrangler dev)'));
const stack = await startStack({ dir, objects: { [KEY]: REPORT } });

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  console.log('\nStopping the gatekeeper and s3s-fs...');
  await stack.stop();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

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

console.log(bold('\n==> The gatekeeper keeps running. Try it:'));
console.log(`    ${CLI} grant --key ${stack.keyFile} --aud ${LOCAL.audience} \\
        --op get --object ${KEY} --sub you --curl ${stack.url} | sh`);
console.log('\nPress Ctrl-C to stop.');
await new Promise(() => {});

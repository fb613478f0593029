// End to end: key rotation windows, keys limited to operations, and M-of-N signatures.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../../scripts/lib/stack.mjs';

let stack;

before(async () => {
  stack = await startStack({
    signers: ['approver', 'retired', 'reader'],
    vars: (keys) => ({
      VENDOR_KEYS: JSON.stringify([
        { public: keys.vendor.public },
        { public: keys.approver.public, id: keys.approver.id },
        { public: keys.retired.public, not_after: '2020-01-01T00:00:00Z' },
        { public: keys.reader.public, operations: ['get', 'head'] },
      ]),
      MULTISIG: JSON.stringify([{ operations: ['get'], prefix: 'finance/', signatures: 2, keys: [keys.vendor.id, keys.approver.id] }]),
    }),
    objects: { 'finance/ledger.csv': 'ledger\n', 'reports/q3.csv': 'q3\n' },
  });
});

after(async () => {
  await stack?.stop();
});

async function status(path, tokens, method = 'GET', body) {
  const res = await fetch(`${stack.url}${path}`, {
    method,
    body,
    headers: { authorization: `Bearer ${tokens.join(', ')}`, 'cf-connecting-ip': '198.51.100.7' },
  });
  if (res.ok) return [res.status, await res.text()];
  return [res.status, (await res.json()).error.code];
}

test('a retired key and a key used beyond its operations are refused', async () => {
  const retired = await stack.grant({ object: 'reports/q3.csv', signer: 'retired' });
  assert.deepEqual(await status('/objects/reports/q3.csv', [retired]), [401, 'grant_key_expired']);
  const readerPut = await stack.grant({ op: 'put', object: 'reports/new.csv', signer: 'reader' });
  assert.deepEqual(await status('/objects/reports/new.csv', [readerPut], 'PUT', 'x'), [403, 'grant_key_not_trusted']);
  const readerGet = await stack.grant({ object: 'reports/q3.csv', signer: 'reader' });
  assert.deepEqual(await status('/objects/reports/q3.csv', [readerGet]), [200, 'q3\n']);
});

test('a finance read needs the vendor and the approver', async () => {
  const vendor = await stack.grant({ object: 'finance/ledger.csv' });
  const approver = await stack.grant({ object: 'finance/ledger.csv', signer: 'approver', sub: 'approver-1' });
  const reader = await stack.grant({ object: 'finance/ledger.csv', signer: 'reader' });
  assert.deepEqual(await status('/objects/finance/ledger.csv', [vendor]), [403, 'signatures_insufficient']);
  assert.deepEqual(await status('/objects/finance/ledger.csv', [vendor, reader]), [403, 'signatures_insufficient']);
  assert.deepEqual(await status('/objects/finance/ledger.csv', [vendor, vendor]), [403, 'signatures_duplicate']);
  assert.deepEqual(await status('/objects/finance/ledger.csv', [vendor, approver]), [200, 'ledger\n']);
  assert.deepEqual(await status('/objects/finance/ledger.csv', [approver, vendor]), [200, 'ledger\n']);
  await stack.settled();
  const rows = await stack.sql(
    `SELECT decision, key_id, sub, signers FROM audit_readable WHERE object_key = 'finance/ledger.csv' ORDER BY id`,
  );
  const vendorSigner = { key_id: stack.keys.vendor.id, sub: 'user-1', jti: null };
  const approverSigner = { key_id: stack.keys.approver.id, sub: 'approver-1', jti: null };
  const readerSigner = { key_id: stack.keys.reader.id, sub: 'user-1', jti: null };
  assert.deepEqual(
    rows.map((r) => [r.decision, r.key_id, r.sub, JSON.parse(r.signers)]),
    [
      // Refused requests still name every genuine signer.
      ['signatures_insufficient', stack.keys.vendor.id, 'user-1', [vendorSigner]],
      ['signatures_insufficient', stack.keys.vendor.id, 'user-1', [vendorSigner, readerSigner]],
      ['signatures_duplicate', stack.keys.vendor.id, 'user-1', [vendorSigner, vendorSigner]],
      // The rule's keys order names the vendor first, whichever order the caller sent.
      ['allowed', stack.keys.vendor.id, 'user-1', [vendorSigner, approverSigner]],
      ['allowed', stack.keys.vendor.id, 'user-1', [vendorSigner, approverSigner]],
    ],
  );
});

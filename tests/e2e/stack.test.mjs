// The local stack's own promises that every other end-to-end test relies on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { freePort } from '../../scripts/lib/stack.mjs';

test('services listen on ports no outgoing connection can take before they bind them', async (t) => {
  let range;
  try {
    range = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
  } catch {
    t.skip('the kernel does not say which ports outgoing connections use');
    return;
  }
  const ports = [];
  for (let i = 0; i < 50; i++) ports.push(await freePort());
  // A port from the kernel's range for outgoing connections could be taken by one of them
  // between the choice and the bind: wrangler dev then failed with "Address already in use".
  for (const port of ports) {
    assert.ok(port < range[0] || port > range[1], `port ${port} lies in ${range.join('-')}`);
  }
  assert.equal(new Set(ports).size, ports.length, 'a port was handed out twice');
});

// The local stack's own promises that every other end-to-end test relies on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { freePort, start, stopProcess } from '../../scripts/lib/stack.mjs';

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

test('stopping a service ends its whole process group, even after its leader has exited', async () => {
  // wrangler dev leads a group with its two workerd processes. If wrangler itself dies first, the
  // group lives on in them: stopping the service must still end them, not leave them running.
  const child = start('group', 'bash', ['-c', 'sleep 300 & echo "$!"; exit 0'], {});
  await child.exited;
  const orphan = Number(child.output().trim());
  assert.ok(orphan > 0, `no pid in ${JSON.stringify(child.output())}`);
  assert.ok(alive(orphan), 'the group member should still run after its leader exited');
  await stopProcess(child);
  for (let i = 0; i < 50 && alive(orphan); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(!alive(orphan), `process ${orphan} of the stopped service's group is still running`);
});

/** Whether `pid` runs (a zombie, dead but not yet reaped by its parent, does not). */
function alive(pid) {
  try {
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

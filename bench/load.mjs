// The load client and the CPU meter that bench/run.mjs, bench/compare.mjs and bench/profile.mjs
// share.

import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { promisify } from 'node:util';

import { readWhole } from './stream.mjs';

// ---------------------------------------------------------------------------------------------
// The load client: `concurrency` loops, each on its own keep-alive connection, each sending the
// next request as soon as the previous reply's body has been read.

export async function load(url, headers, { concurrency, seconds = Infinity, requests = Infinity }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });
  // One set of headers for every request, or several taken in turn.
  const sets = Array.isArray(headers) ? headers : [headers];
  let turn = 0;
  const get = () => readWhole(url, sets[turn++ % sets.length], agent);
  const latencies = [];
  let ok = 0;
  const failures = new Map();
  const started = performance.now();
  const end = started + seconds * 1000;
  let sent = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end && sent < requests) {
        sent += 1;
        const t0 = performance.now();
        const { status, bytes } = await get();
        const t1 = performance.now();
        if (status === 200 && bytes === 1024) {
          ok += 1;
          latencies.push(t1 - t0);
        } else {
          failures.set(status, (failures.get(status) ?? 0) + 1);
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  return { ok, failed: [...failures.values()].reduce((a, b) => a + b, 0), failures: Object.fromEntries(failures), rps: ok / elapsed, p50: pct(0.5), p99: pct(0.99) };
}

// ---------------------------------------------------------------------------------------------
// CPU time of the workerd process that runs a worker, from /proc/<pid>/stat (utime + stime).

const TICK_MS = 1000 / Number((await promisify(execFile)('getconf', ['CLK_TCK'])).stdout.trim());
export function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS; // fields 14 and 15 of stat(5)
}

// Streaming throughput: one large object read whole, through each worker in Miniflare (workerd
// without wrangler dev's proxy, which spends more CPU than the Worker on large bodies), and
// straight from S3 with a presigned URL, on the same loopback path. bench/run.mjs calls this
// after its request-rate rounds; docs/benchmarks.md reports the figures.

import http from 'node:http';

/**
 * GETs `url` with `headers` (through `agent`, if given) and reads the body whole; resolves to the
 * HTTP status and the bytes received (status 0 if the request failed).
 */
export function readWhole(url, headers, agent) {
  const target = new URL(url);
  return new Promise((resolve) => {
    const req = http.request(
      { host: target.hostname, port: target.port, path: target.pathname + target.search, method: 'GET', headers, agent },
      (res) => {
        let bytes = 0;
        res.on('data', (chunk) => (bytes += chunk.length));
        res.on('end', () => resolve({ status: res.statusCode, bytes }));
        res.on('error', () => resolve({ status: 0, bytes }));
      },
    );
    req.on('error', () => resolve({ status: 0, bytes: 0 }));
    req.end();
  });
}

/**
 * Reads the object `reads` times in a row from `target` ({ url, headers, pid }) and returns MiB/s
 * and, when `target.pid` is a runtime process, its CPU milliseconds per MiB. `size` is the
 * object's length: a read that returns anything else fails the measurement.
 */
export async function streamOnce(target, { size, reads, cpuMs }) {
  const before = target.pid ? cpuMs(target.pid) : NaN;
  const started = performance.now();
  for (let i = 0; i < reads; i++) {
    const { status, bytes } = await readWhole(target.url, target.headers);
    if (status !== 200 || bytes !== size) throw new Error(`${target.name}: read ${i} got ${status} with ${bytes} of ${size} bytes`);
  }
  const seconds = (performance.now() - started) / 1000;
  const after = target.pid ? cpuMs(target.pid) : NaN;
  const mib = (size * reads) / 2 ** 20;
  return { mibps: mib / seconds, cpuMsPerMib: (after - before) / mib };
}

/**
 * Alternates the targets ({ name: { url, headers, pid } }) for `rounds` rounds and returns the
 * median MiB/s and CPU ms per MiB of each.
 */
export async function streaming(targets, { size, reads, rounds, cpuMs, log }) {
  const results = Object.fromEntries(Object.keys(targets).map((name) => [name, []]));
  const names = Object.keys(targets);
  for (let round = 1; round <= rounds; round++) {
    const order = round % 2 ? names : [...names].reverse();
    for (const name of order) {
      const r = await streamOnce({ name, ...targets[name] }, { size, reads, cpuMs });
      results[name].push(r);
      log(`round ${round} stream ${name}: ${r.mibps.toFixed(0)} MiB/s, ${Number.isFinite(r.cpuMsPerMib) ? r.cpuMsPerMib.toFixed(2) : 'n/a'} CPU ms/MiB`);
    }
  }
  const median = (xs) => {
    const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
    if (s.length === 0) return NaN;
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
  };
  return Object.fromEntries(
    Object.entries(results).map(([name, rs]) => [name, { mibps: median(rs.map((r) => r.mibps)), cpuMsPerMib: median(rs.map((r) => r.cpuMsPerMib)) }]),
  );
}

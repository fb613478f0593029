// Compares the CPU per request of two or more builds of the Worker (docs/benchmarks.md, "Choices
// measured"): each build in its own Miniflare, in front of one garage serving one 1 KiB object;
// the first build is the baseline, and each other one is timed in pairs with it, back to back,
// the order swapped every round. Prints each pair's ratio and the median of the ratios.
//
//   node bench/compare.mjs [--rounds N] [--seconds S] [--concurrency C] [--grants N] [--browser] NAME=DIR NAME=DIR...
//
// DIR is a copy of a build's `build/` folder (index.js and index_bg.wasm, as scripts/build leaves
// them). `--browser` adds the headers a browser sends with a cross-origin fetch.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

process.env.CLOUDFLARE_CF_FETCH_ENABLED = 'false';
const { load, cpuMs, buildWorker, gatekeeperBindings, startBench, startWorker } = await import('./load.mjs');

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rounds: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '16' },
    // Distinct grants taken in turn: 1 (a page reading with one grant) by default; more than an
    // isolate remembers (64) makes every request's signature checked, as bench/run does.
    grants: { type: 'string', default: '1' },
    browser: { type: 'boolean', default: false },
  },
});
const builds = positionals.map((p) => {
  const at = p.indexOf('=');
  if (at < 1) throw new Error(`expected NAME=DIR, got ${p}`);
  return { name: p.slice(0, at), dir: p.slice(at + 1) };
});
if (builds.length < 2) throw new Error('give at least two builds: the baseline first');
const ROUNDS = Number(opts.rounds);
const SECONDS = Number(opts.seconds);
const C = Number(opts.concurrency);
const OBJECT = 'reports/bench-1k.bin';
const log = (...a) => console.error(`[compare ${new Date().toISOString().slice(11, 19)}]`, ...a);

const state = mkdtempSync(join(tmpdir(), 's3gk-compare-'));
const stops = [];
try {
  const { garage, key, sealKey, headers } = await startBench({ state, object: OBJECT, grants: Number(opts.grants), stops });
  if (opts.browser) {
    // No Accept-Encoding: the load client counts the object's bytes as sent.
    for (const set of headers) Object.assign(set, {
      'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
      accept: '*/*', 'accept-language': 'en-GB,en;q=0.9,de;q=0.8', referer: 'https://vendor.example/reports/2026/q3',
      'sec-ch-ua': '"Chromium";v="131", "Not_A Brand";v="24"', 'sec-ch-ua-mobile': '?0', 'sec-ch-ua-platform': '"Linux"',
      'sec-fetch-dest': 'empty', 'sec-fetch-mode': 'cors', 'sec-fetch-site': 'cross-site', priority: 'u=1, i',
      'cache-control': 'no-cache', pragma: 'no-cache',
    });
  }
  const bindings = gatekeeperBindings({ garage, vendorKey: key, sealKeyFile: sealKey.file });
  for (const [i, build] of builds.entries()) {
    const { mf, url, pid } = await startWorker(buildWorker(build.dir, bindings), { d1Persist: join(state, `d1-${i}`) });
    stops.push(() => mf.dispose());
    build.url = new URL(`/objects/${OBJECT}`, url).href;
    build.pid = pid;
    const probe = await load(build.url, headers, { concurrency: C, seconds: 0.2 });
    if (probe.ok === 0) throw new Error(`${build.name} did not serve the object`);
  }

  const cpuPerRequest = async (build) => {
    await load(build.url, headers, { concurrency: C, seconds: 0.3 });
    const before = cpuMs(build.pid);
    const { ok, failed } = await load(build.url, headers, { concurrency: C, seconds: SECONDS });
    if (failed) log(`${build.name}: ${failed} requests failed`);
    return (cpuMs(build.pid) - before) / (ok + failed);
  };
  const [base, ...others] = builds;
  const ratios = new Map(others.map((b) => [b, []]));
  for (let round = 1; round <= ROUNDS; round++) {
    for (const other of others) {
      const cpu = new Map();
      for (const build of round % 2 ? [base, other] : [other, base]) cpu.set(build, await cpuPerRequest(build));
      ratios.get(other).push(cpu.get(other) / cpu.get(base));
      log(`round ${round} ${other.name} ÷ ${base.name}: ${cpu.get(other).toFixed(3)} / ${cpu.get(base).toFixed(3)} ms = ${ratios.get(other).at(-1).toFixed(3)}`);
    }
  }
  const quantile = (xs, p) => {
    const s = [...xs].sort((a, b) => a - b);
    const at = p * (s.length - 1);
    return s[Math.floor(at)] + (s[Math.ceil(at)] - s[Math.floor(at)]) * (at - Math.floor(at));
  };
  for (const [other, rs] of ratios) {
    console.log(`${other.name} ÷ ${base.name}, CPU per request: median ${quantile(rs, 0.5).toFixed(3)} (quartiles ${quantile(rs, 0.25).toFixed(3)} to ${quantile(rs, 0.75).toFixed(3)}) over ${rs.length} pairs`);
  }
} finally {
  for (const stop of stops.reverse()) await stop().catch((err) => log('cleanup:', err.message));
  rmSync(state, { recursive: true, force: true });
}

// Where the runtime's CPU per read goes, for one worker at a time (docs/benchmarks.md, "Where the
// CPU goes"): the worker in Miniflare, as in bench/run's setup (a), in front of one garage serving
// one 1 KiB object, loaded at a fixed concurrency while it is profiled.
//
//   node bench/profile.mjs [--seconds S] [--concurrency C] [--grants N] [--perf] [--v8] [--top N] [--save FILE] TARGET...
//
// TARGET is `js` (bench/js-worker, bundled with esbuild) or NAME=DIR, a copy of a build's `build/`
// folder. `--perf` samples the whole workerd process with Linux `perf` (native symbols: SQLite,
// V8, the runtime; JIT-compiled JavaScript and wasm show as unknown addresses) and prints the
// share of the samples by group; `--v8` runs V8's CPU profiler over the inspector on the worker's
// isolate (JavaScript and wasm functions by name; the D1 database runs in another isolate and
// is not in it) and prints the functions with the most self time, and an estimate of the
// isolate's own time per request (about what the Workers platform counts as the Worker's CPU
// time: local D1's database work, which the process's CPU includes, runs elsewhere in
// production); with `--save FILE` it also writes each profile to FILE.<port>.cpuprofile (Chrome
// DevTools' format) for a closer look.

import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs, promisify } from 'node:util';

process.env.CLOUDFLARE_CF_FETCH_ENABLED = 'false';
const { ROOT, LOCAL, freePort, garageSettings } = await import('../scripts/lib/stack.mjs');
const run = promisify(execFile);
const { load, cpuMs, buildWorker, gatekeeperBindings, isolateTime, profiled, startBench, startWorker, USER_ISOLATE } = await import('./load.mjs');

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seconds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '16' },
    // Distinct grants taken in turn: 1 (a page reading with one grant) by default; more than an
    // isolate remembers (64) makes every request's signature checked, as bench/run does.
    grants: { type: 'string', default: '1' },
    perf: { type: 'boolean', default: false },
    v8: { type: 'boolean', default: false },
    top: { type: 'string', default: '30' },
    // The isolate --v8 profiles (the inspector's id): by default the user's worker.
    isolate: { type: 'string', default: USER_ISOLATE },
    save: { type: 'string' },
  },
});
const SECONDS = Number(opts.seconds);
const C = Number(opts.concurrency);
const TOP = Number(opts.top);
const OBJECT = 'reports/bench-1k.bin';
const log = (...a) => console.error(`[profile ${new Date().toISOString().slice(11, 19)}]`, ...a);

/** Native samples grouped by what they are, from `perf report`'s symbol lines. */
function group(symbol, dso) {
  if (/sqlite3|^pager|^btree|^vdbe|^json|^sqlite/i.test(symbol)) return 'SQLite';
  if (dso.includes('kernel') || symbol.startsWith('[k]')) return 'kernel';
  if (/unknown|JIT|perf-/.test(dso) || symbol.startsWith('0x')) return 'JIT code (JavaScript and wasm)';
  if (/v8::|Builtins_|Builtin:|v8_|cppgc/.test(symbol)) return 'V8 (runtime, builtins, GC)';
  if (/kj::|capnp::|workerd::|edgeworker/.test(symbol)) return 'workerd (I/O, capnp, kj)';
  if (/libc|ld-linux/.test(dso)) return 'libc';
  return 'other native';
}

async function perfProfile(pid, during) {
  const file = join(state, `perf-${pid}.data`);
  const perf = spawn('perf', ['record', '-F', '1999', '-p', String(pid), '-o', file], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 300));
  const result = await during();
  perf.kill('SIGINT');
  await new Promise((r) => perf.on('exit', r));
  const { stdout } = await run('perf', ['report', '-i', file, '--no-children', '--sort', 'dso,sym', '--stdio', '--percent-limit', '0.01'], { maxBuffer: 64 << 20 });
  const groups = new Map();
  const symbols = [];
  for (const line of stdout.split('\n')) {
    const m = /^\s+([\d.]+)%\s+(.+?)\s+\[(.)\]\s+(.*)$/.exec(line);
    if (!m) continue;
    const [, pct, dso, , symbol] = m;
    const g = group(symbol, dso);
    groups.set(g, (groups.get(g) ?? 0) + Number(pct));
    symbols.push([Number(pct), dso, symbol]);
  }
  return { result, groups: [...groups].sort((a, b) => b[1] - a[1]), symbols: symbols.slice(0, TOP) };
}

async function v8Profile(inspectorPort, during) {
  const { result, profile } = await profiled(inspectorPort, opts.isolate, during);
  if (opts.save) (await import('node:fs')).writeFileSync(`${opts.save}.${inspectorPort}.cpuprofile`, JSON.stringify(profile));
  const self = new Map();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const counts = new Map();
  for (const s of profile.samples) counts.set(s, (counts.get(s) ?? 0) + 1);
  const total = profile.samples.length;
  for (const [nodeId, n] of counts) {
    const f = byId.get(nodeId).callFrame;
    const name = `${f.functionName || '(anonymous)'} ${f.url ? f.url.split('/').pop() : ''}`.trim();
    self.set(name, (self.get(name) ?? 0) + n);
  }
  const kinds = new Map();
  for (const [nodeId, n] of counts) {
    const f = byId.get(nodeId).callFrame;
    const kind = f.url.includes('.wasm') ? 'wasm' : f.url.startsWith('cloudflare-internal') || f.url.startsWith('node:') ? 'runtime JavaScript'
      : f.url ? 'worker JavaScript (glue or bundle)' : ['(idle)', '(program)', '(garbage collector)'].includes(f.functionName) ? f.functionName : 'runtime APIs (native)';
    kinds.set(kind, (kinds.get(kind) ?? 0) + n);
  }
  return {
    result, total, spent: isolateTime(profile),
    kinds: [...kinds].sort((a, b) => b[1] - a[1]).map(([k, c]) => [(100 * c) / total, k]),
    top: [...self].sort((a, b) => b[1] - a[1]).slice(0, TOP).map(([n, c]) => [(100 * c) / total, n]),
  };
}

const state = mkdtempSync(join(tmpdir(), 's3gk-profile-'));
const stops = [];
try {
  const { garage, key, sealKey, headers } = await startBench({ state, object: OBJECT, grants: Number(opts.grants), stops });

  for (const [i, target] of positionals.entries()) {
    const inspectorPort = opts.v8 ? await freePort() : undefined;
    let worker;
    if (target === 'js') {
      const esbuild = await import('esbuild');
      const scriptPath = join(state, 'js-worker', 'worker.mjs');
      await esbuild.build({
        entryPoints: [join(ROOT, 'bench', 'js-worker', 'worker.mjs')], bundle: true, format: 'esm', platform: 'neutral',
        conditions: ['workerd', 'worker', 'browser'], target: 'es2022', outfile: scriptPath, logLevel: 'warning',
      });
      worker = { modules: true, scriptPath, modulesRoot: dirname(scriptPath),
        bindings: { GATEKEEPER_ID: LOCAL.audience, S3_BUCKET: LOCAL.bucket, S3_REGION: garage.region, VENDOR_KEYS: JSON.stringify([{ id: key.id, public: key.public }]), ...garageSettings(garage) } };
    } else {
      const dir = target.slice(target.indexOf('=') + 1);
      worker = buildWorker(dir, gatekeeperBindings({ garage, vendorKey: key, sealKeyFile: sealKey.file }));
    }
    const { mf, url, pid } = await startWorker(worker, { d1Persist: join(state, `d1-${i}`), inspectorPort });
    const objectUrl = new URL(`/objects/${OBJECT}`, url).href;
    await load(objectUrl, headers, { concurrency: C, seconds: 1 });
    const timed = async () => {
      const before = cpuMs(pid);
      const r = await load(objectUrl, headers, { concurrency: C, seconds: SECONDS });
      return { ...r, cpu: (cpuMs(pid) - before) / (r.ok + r.failed) };
    };
    console.log(`\n## ${target}`);
    if (opts.perf) {
      const { result, groups, symbols } = await perfProfile(pid, timed);
      console.log(`perf: ${result.ok} ok, ${result.failed} failed, ${(result.ok / SECONDS).toFixed(0)} req/s, ${result.cpu.toFixed(3)} ms CPU/request`);
      for (const [g, pct] of groups) console.log(`  ${pct.toFixed(1).padStart(5)}%  ${g}  (${(result.cpu * pct / 100).toFixed(3)} ms/request)`);
      for (const [pct, dso, sym] of symbols) console.log(`    ${pct.toFixed(2).padStart(6)}%  ${dso}  ${sym.slice(0, 110)}`);
    }
    if (opts.v8) {
      const { result, total, spent, kinds, top } = await v8Profile(inspectorPort, timed);
      const served = result.ok + result.failed;
      console.log(`v8: ${result.ok} ok, ${result.failed} failed, ${(result.ok / SECONDS).toFixed(0)} req/s, ${result.cpu.toFixed(3)} ms CPU/request, ${total} samples`);
      console.log(`isolate: about ${(spent.busy / served).toFixed(0)} µs per request in its JavaScript, wasm and the runtime's APIs, ${(spent.program / served).toFixed(0)} µs "(program)"`);
      for (const [pct, kind] of kinds) console.log(`  ${pct.toFixed(1).padStart(5)}%  ${kind}`);
      for (const [pct, name] of top) console.log(`    ${pct.toFixed(2).padStart(6)}%  ${name.slice(0, 120)}`);
    }
    if (!opts.perf && !opts.v8) {
      const result = await timed();
      console.log(`${result.ok} ok, ${result.failed} failed, ${(result.ok / SECONDS).toFixed(0)} req/s, ${result.cpu.toFixed(3)} ms CPU/request`);
    }
    await mf.dispose();
  }
} finally {
  for (const stop of stops.reverse()) await stop().catch((err) => log('cleanup:', err.message));
  rmSync(state, { recursive: true, force: true });
}

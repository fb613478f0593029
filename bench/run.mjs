// The benchmark: s3-gatekeeper against the JavaScript Worker a customer would otherwise write
// (bench/js-worker/), both in front of one garage on loopback serving one 1 KiB object.
// docs/benchmarks.md explains what is measured and why. Run it with bench/run, which builds first.
//
//   node bench/run.mjs [--rounds N] [--seconds S] [--warmup S] [--setups a,b] [--trace-requests N] [--trace-concurrency C,C]
//                      [--isolate-concurrency C,C] [--isolate-rounds N] [--isolate-seconds S] [--out FILE]

import { execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { randomBytes } from 'node:crypto';

// Loopback only: Miniflare must not fetch its `request.cf` template from the network.
process.env.CLOUDFLARE_CF_FETCH_ENABLED = 'false';

const { AwsClient } = await import('aws4fetch');
const stack = await import('../scripts/lib/stack.mjs');
const { streaming } = await import('./stream.mjs');
const { load, cpuMs, isolateTime, profiled, USER_ISOLATE } = await import('./load.mjs');
const { ROOT, LOCAL, CLI, freePort, keygen, mintGrant, startGarage, garageSettings, startMiniflare, startStack, start, stopProcess, waitFor, statements } = stack;
const run = promisify(execFile);

const { values: opts } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '0.5' },
    // `a` (Miniflare), `b` (wrangler dev), or both: one alone is for a quick comparison.
    setups: { type: 'string', default: 'a,b' },
    // The object read whole to measure streaming throughput in setup (a), in MiB (0: skip it).
    'stream-mib': { type: 'string', default: '128' },
    // Requests sent in the separate pass that counts D1 statements (0: skip it).
    'trace-requests': { type: 'string', default: '400' },
    // The trace pass at each of these concurrencies: rows of concurrent reads share statements,
    // so statements per read depend on how many reads are in flight at once.
    'trace-concurrency': { type: 'string', default: '4,16' },
    // The pass that profiles each worker's isolate in setup (a), for the Worker's own time, at
    // each of these concurrencies (empty: skip it), in this many rounds of this many seconds.
    'isolate-concurrency': { type: 'string', default: '1,4,16,32' },
    'isolate-rounds': { type: 'string', default: '2' },
    'isolate-seconds': { type: 'string', default: '5' },
    // Distinct grants the timed requests take in turn. More than the signatures a gatekeeper
    // isolate remembers (64), so that every request has its grant's signature checked, as the
    // JS worker does; 1 measures a page that reads with one grant again and again.
    grants: { type: 'string', default: '256' },
    out: { type: 'string' },
  },
});
const ROUNDS = Number(opts.rounds);
const STREAM_MIB = Number(opts['stream-mib']);
const STREAM_OBJECT = 'reports/bench-stream.bin';
const SECONDS = Number(opts.seconds);
const WARMUP = Number(opts.warmup);
const SETUPS = ['a', 'b'].filter((s) => opts.setups.split(',').includes(s));
if (SETUPS.length === 0) throw new Error('--setups: a, b or a,b');
const TRACE_REQUESTS = Number(opts['trace-requests']);
const TRACE_CONCURRENCIES = opts['trace-concurrency'].split(',').map(Number);
const ISOLATE_CONCURRENCIES = opts['isolate-concurrency'].split(',').filter(Boolean).map(Number);
const ISOLATE_ROUNDS = Number(opts['isolate-rounds']);
const ISOLATE_SECONDS = Number(opts['isolate-seconds']);
const GRANTS = Number(opts.grants);
if (!(GRANTS >= 1)) throw new Error('--grants: at least 1');
// Direct S3 serves tens of thousands of requests a second: a fifth of the time is plenty.
const DIRECT_SECONDS = Math.max(1, SECONDS / 5);
const CONCURRENCY = [16, 32];
const OBJECT = 'reports/bench-1k.bin';
const CALLER_IP = '198.51.100.7';
const log = (...a) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...a);

/** The pid listening on loopback `port`. */
async function listener(port) {
  const { stdout } = await run('ss', ['-ltnpH', `sport = :${port}`]);
  const pid = Number(/pid=(\d+)/.exec(stdout)?.[1]);
  if (!pid) throw new Error(`no process listens on port ${port}`);
  return pid;
}

async function processes() {
  const { stdout } = await run('ps', ['-e', '-o', 'pid=,ppid=,comm=']);
  return stdout.trim().split('\n').map((line) => {
    const [pid, ppid, comm] = line.trim().split(/\s+/);
    return { pid: Number(pid), ppid: Number(ppid), comm };
  });
}

/**
 * The runtime of a `wrangler dev`: of the two workerd processes wrangler runs, the one that does
 * not own the public port (that one is the dev proxy, which does not exist in production).
 */
async function wranglerRuntime(port) {
  const proxy = await listener(port);
  const all = await processes();
  const parent = all.find((p) => p.pid === proxy)?.ppid;
  const runtime = all.filter((p) => p.ppid === parent && p.comm === 'workerd' && p.pid !== proxy);
  if (runtime.length !== 1) throw new Error(`expected one runtime workerd beside the proxy ${proxy}, found ${runtime.length}`);
  return { runtime: runtime[0].pid, proxy };
}

// ---------------------------------------------------------------------------------------------
// The setup.

const state = mkdtempSync(join(tmpdir(), 's3gk-bench-'));
const cleanups = [];
const cleanup = async () => {
  for (const stop of cleanups.reverse()) await stop().catch((err) => log('cleanup:', err.message));
  rmSync(state, { recursive: true, force: true });
};

async function putObject(garage, body, object = OBJECT) {
  const aws = new AwsClient({ accessKeyId: garage.accessKey, secretAccessKey: garage.secretKey, service: 's3', region: garage.region });
  const res = await aws.fetch(`${garage.url}/${LOCAL.bucket}/${object}`, { method: 'PUT', body });
  if (!res.ok) throw new Error(`PUT to garage: ${res.status} ${await res.text()}`);
  const signed = await aws.sign(`${garage.url}/${LOCAL.bucket}/${object}?X-Amz-Expires=3600`, { method: 'GET', aws: { signQuery: true } });
  return signed.url;
}

/** The JS worker's settings, for Miniflare's bindings and for wrangler dev's env file. */
function jsSettings(garage, key, trace) {
  return {
    ...traceVar(trace),
    GATEKEEPER_ID: LOCAL.audience,
    S3_BUCKET: LOCAL.bucket,
    VENDOR_KEYS: JSON.stringify([{ id: key.id, public: key.public }]),
    ...garageSettings(garage),
  };
}

// ---------------------------------------------------------------------------------------------
// D1 work per request. With the var `AUDIT_TRACE` set to "on", each worker logs one line per D1
// call it makes: `s3gk-d1 statements=<n> transactions=1` (a batch of n statements is one
// transaction). The lines are counted in a separate pass, on workers started for it, so that the
// logging does not cost CPU in the timed rounds, which run with the trace off.

const traceVar = (trace) => (trace ? { AUDIT_TRACE: 'on' } : {});
const TRACE_LINE = /s3gk-d1 statements=(\d+) transactions=(\d+)/g;

/** A sink for a runtime's output that tallies the trace lines in it. */
function traceCounter() {
  const counts = { lines: 0, statements: 0, transactions: 0 };
  let rest = '';
  const feed = (chunk) => {
    const text = rest + chunk.toString();
    const cut = text.lastIndexOf('\n');
    rest = cut < 0 ? text : text.slice(cut + 1);
    for (const m of (cut < 0 ? '' : text.slice(0, cut)).matchAll(TRACE_LINE)) {
      counts.lines += 1;
      counts.statements += Number(m[1]);
      counts.transactions += Number(m[2]);
    }
  };
  return { counts, feed, snapshot: () => ({ ...counts }) };
}

/** Miniflare's option that hands the runtime's stdout and stderr to `counter` (with a trace). */
const traceStdio = (counter) =>
  counter ? { handleRuntimeStdio: (stdout, stderr) => { stdout.on('data', counter.feed); stderr.on('data', counter.feed); } } : {};

async function bundleJsWorker() {
  const esbuild = await import('esbuild');
  const outfile = join(state, 'js-worker', 'worker.mjs');
  await esbuild.build({
    entryPoints: [join(ROOT, 'bench', 'js-worker', 'worker.mjs')],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    conditions: ['workerd', 'worker', 'browser'],
    target: 'es2022',
    outfile,
    logLevel: 'warning',
  });
  return outfile;
}

async function applyMigrations(db) {
  for (const file of readdirSync(join(ROOT, 'migrations')).sort()) {
    const sql = readFileSync(join(ROOT, 'migrations', file), 'utf8').replace(/--.*$/gm, '');
    for (const statement of statements(sql)) await db.prepare(statement).run();
  }
}

/** (a) the JS worker in Miniflare: workerd without wrangler dev's proxy. */
async function jsMiniflare(garage, key, counter) {
  const { Miniflare } = await import('miniflare');
  const scriptPath = await bundleJsWorker();
  const inspectorPort = await freePort();
  const mf = new Miniflare({
    ...traceStdio(counter),
    inspectorPort,
    modules: true,
    scriptPath,
    modulesRoot: dirname(scriptPath),
    compatibilityDate: '2026-04-20',
    d1Databases: ['AUDIT_DB'],
    d1Persist: join(state, counter ? 'js-mf-d1-trace' : 'js-mf-d1'),
    bindings: { S3_REGION: garage.region, ...jsSettings(garage, key, counter) },
  });
  cleanups.push(() => mf.dispose().catch(() => {}));
  const db = await mf.getD1Database('AUDIT_DB');
  await applyMigrations(db);
  const url = await mf.ready;
  return {
    url: new URL(`/objects/${OBJECT}`, url).href,
    pid: await listener(url.port),
    db,
    grant: (sub) => mintGrant(key.file, { object: OBJECT, ttl: 900, sub }),
    origin: url.origin,
    grantFor: (object) => mintGrant(key.file, { object, ttl: 900 }),
    inspectorPort,
  };
}

/** (a) the gatekeeper in Miniflare, with the repository's own harness. */
async function gkMiniflare(garage, counter) {
  const inspectorPort = await freePort();
  const gk = await startMiniflare({ vars: { ...garageSettings(garage), ...traceVar(counter) }, options: { ...traceStdio(counter), inspectorPort } });
  cleanups.push(() => gk.stop());
  const url = await gk.mf.ready;
  return {
    url: new URL(`/objects/${OBJECT}`, url).href,
    pid: await listener(url.port),
    db: gk.db,
    grant: (sub) => gk.grant({ object: OBJECT, ttl: 900, sub }),
    origin: url.origin,
    grantFor: (object) => gk.grant({ object, ttl: 900 }),
    inspectorPort,
  };
}

/** (b) the gatekeeper through `wrangler dev`, with the repository's own stack. */
async function gkWrangler(garage, counter) {
  const gk = await startStack({
    vars: { ...garageSettings(garage), ...traceVar(counter) },
    dir: join(state, counter ? 'gk-wrangler-trace' : 'gk-wrangler'),
    log: counter?.feed,
  });
  cleanups.push(() => gk.stop());
  const port = Number(new URL(gk.url).port);
  const { runtime } = await wranglerRuntime(port);
  return { url: `${gk.url}/objects/${OBJECT}`, pid: runtime, grant: (sub) => gk.grant({ object: OBJECT, ttl: 900, sub }) };
}

/** (b) the JS worker through `wrangler dev`, as its customer would run it. */
async function jsWrangler(garage, key, counter) {
  const dir = join(state, counter ? 'js-wrangler-trace' : 'js-wrangler');
  mkdirSync(dir, { recursive: true });
  const config = join(ROOT, 'bench', 'js-worker', 'wrangler.toml');
  const envFile = join(dir, 'dev.env');
  writeFileSync(envFile, Object.entries(jsSettings(garage, key, counter)).map(([k, v]) => `${k}='${v}'`).join('\n') + '\n');
  const persist = join(dir, 'wrangler');
  const wranglerEnv = { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true', NO_COLOR: '1' };
  const wrangler = join(ROOT, 'node_modules', '.bin', 'wrangler');
  await run(wrangler, ['d1', 'migrations', 'apply', 'AUDIT_DB', '--local', '--config', config, '--persist-to', persist], { cwd: dir, env: wranglerEnv });
  const port = await freePort();
  const inspector = await freePort();
  const child = start('wrangler dev (js worker)', wrangler, [
    'dev', '--config', config, '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspector),
    '--env-file', envFile, '--persist-to', persist, '--show-interactive-dev-session=false', '--log-level', 'log',
  ], { cwd: dir, env: wranglerEnv }, counter?.feed);
  cleanups.push(() => stopProcess(child));
  const url = `http://127.0.0.1:${port}`;
  // Readiness by probing the port: wrangler's "Ready on" line can come before the runtime is.
  await waitFor(child, async () => {
    try {
      await listener(port);
      const res = await fetch(`${url}/`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      return true;
    } catch {
      return false;
    }
  }, 180000);
  const { runtime } = await wranglerRuntime(port);
  return { url: `${url}/objects/${OBJECT}`, pid: runtime, grant: (sub) => mintGrant(key.file, { object: OBJECT, ttl: 900, sub }) };
}

// ---------------------------------------------------------------------------------------------

const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function auditRows(db) {
  const row = await db.prepare('SELECT count(*) AS n, count(body_relayed) AS relayed FROM audit_log').first();
  return { rows: row.n, relayed: row.relayed };
}

/** GRANTS distinct grants for `target` (users `bench-0`, `bench-1`, …), minted once. */
async function grantPool(target) {
  if (!target.pool) {
    const pool = [];
    // A few at a time: each is a run of the CLI.
    for (let i = 0; i < GRANTS; i += 8) {
      const subs = Array.from({ length: Math.min(8, GRANTS - i) }, (_, j) => `bench-${i + j}`);
      pool.push(...(await Promise.all(subs.map((sub) => target.grant(sub)))));
    }
    target.pool = pool.map((grant) => ({ authorization: `Bearer ${grant}`, 'cf-connecting-ip': CALLER_IP }));
  }
  return target.pool;
}

async function measure(target, concurrency, seconds = SECONDS) {
  const headers = target.grant ? await grantPool(target) : { 'cf-connecting-ip': CALLER_IP };
  if (WARMUP > 0) await load(target.url, headers, { concurrency, seconds: WARMUP });
  const rowsBefore = target.db ? await auditRows(target.db) : null;
  const before = target.pid ? cpuMs(target.pid) : NaN;
  const result = await load(target.url, headers, { concurrency, seconds });
  const after = target.pid ? cpuMs(target.pid) : NaN;
  // The gatekeeper's update runs after the reply (waitUntil): give it a moment to land.
  if (target.db) await new Promise((r) => setTimeout(r, 300));
  const rowsAfter = target.db ? await auditRows(target.db) : null;
  const served = result.ok + result.failed;
  return {
    ...result,
    // CPU per request served: every request counts, since a failed one costs CPU too.
    cpuMs: (after - before) / served,
    d1: rowsBefore && { inserts: rowsAfter.rows - rowsBefore.rows, updates: rowsAfter.relayed - rowsBefore.relayed, served },
  };
}

/**
 * Starts the gatekeeper and the JS worker of every setup in SETUPS (with `counter`, a trace
 * counter for each, when given), and checks that each serves the object before anything is
 * measured. Started together; each registers its own cleanup as soon as it has something to stop,
 * and all have settled before a failure of one stops the others.
 */
async function startAll(starters, counters) {
  const jobs = SETUPS.flatMap((setup) => ['gatekeeper', 'js'].map((worker) => [setup, worker]));
  const started = await Promise.allSettled(jobs.map(([setup, worker]) => starters[setup][worker](counters?.[setup][worker])));
  const failure = started.find((s) => s.status === 'rejected');
  if (failure) throw failure.reason;
  const targets = {};
  jobs.forEach(([setup, worker], i) => ((targets[setup] ??= {})[worker] = started[i].value));
  for (const [setup, workers] of Object.entries(targets)) {
    for (const [name, target] of Object.entries(workers)) {
      const probe = await load(target.url, { authorization: `Bearer ${await target.grant()}`, 'cf-connecting-ip': CALLER_IP }, { concurrency: 1, seconds: 0.2 });
      if (probe.ok === 0) throw new Error(`${setup}/${name} did not serve the object: ${JSON.stringify(probe.failures)}`);
    }
  }
  return targets;
}

/**
 * The separate pass that counts D1 work: every worker started afresh with `AUDIT_TRACE=on`, sent
 * TRACE_REQUESTS reads at each of TRACE_CONCURRENCIES, and stopped again before the timed rounds.
 * Returns, per setup, worker and concurrency, the trace lines, statements and transactions counted
 * while those reads were served.
 */
async function countD1(starters) {
  log(`D1 trace pass: ${TRACE_REQUESTS} reads per worker with AUDIT_TRACE=on`);
  const counters = Object.fromEntries(SETUPS.map((setup) => [setup, { gatekeeper: traceCounter(), js: traceCounter() }]));
  const mark = cleanups.length;
  try {
    const targets = await startAll(starters, counters);
    const counts = {};
    for (const setup of SETUPS) {
      for (const worker of ['gatekeeper', 'js']) {
        const target = targets[setup][worker];
        const counter = counters[setup][worker];
        for (const c of TRACE_CONCURRENCIES) {
          const before = counter.snapshot();
          const r = await load(target.url, { authorization: `Bearer ${await target.grant()}`, 'cf-connecting-ip': CALLER_IP }, { concurrency: c, requests: TRACE_REQUESTS });
          // Work in `waitUntil` lands after the replies, and the runtime's output is piped: wait
          // until the count has not moved for a second (at most ten).
          for (let i = 0, last = -1; i < 10 && counter.counts.lines !== last; i++) {
            last = counter.counts.lines;
            await new Promise((res) => setTimeout(res, 1000));
          }
          const after = counter.snapshot();
          ((counts[setup] ??= {})[worker] ??= {})[c] = {
            served: r.ok + r.failed,
            failed: r.failed,
            ...Object.fromEntries(['lines', 'statements', 'transactions'].map((k) => [k, after[k] - before[k]])),
          };
          log(`trace (${setup}) ${worker} c=${c}: ${JSON.stringify(counts[setup][worker][c])}`);
        }
      }
    }
    return counts;
  } finally {
    // The trace workers are stopped now; the timed workers are new ones, with the trace off.
    for (const stop of cleanups.splice(mark).reverse()) await stop().catch((err) => log('cleanup:', err.message));
  }
}

/**
 * The Worker's own time: each worker's isolate in setup (a) profiled by V8 while it serves reads
 * at each of ISOLATE_CONCURRENCIES, ISOLATE_ROUNDS rounds, the first worker alternating. Returns,
 * per worker and concurrency, each round's µs per request (`busy`, `program`) and failures.
 */
async function isolatePass(workers) {
  log(`isolate pass: V8's profiler on each worker's isolate, c=${ISOLATE_CONCURRENCIES.join(',')}`);
  const spent = {};
  for (let round = 1; round <= ISOLATE_ROUNDS; round++) {
    const order = round % 2 ? ['gatekeeper', 'js'] : ['js', 'gatekeeper'];
    for (const c of ISOLATE_CONCURRENCIES) {
      for (const worker of order) {
        const target = workers[worker];
        const headers = await grantPool(target);
        if (WARMUP > 0) await load(target.url, headers, { concurrency: c, seconds: WARMUP });
        const { result, profile } = await profiled(target.inspectorPort, USER_ISOLATE, () => load(target.url, headers, { concurrency: c, seconds: ISOLATE_SECONDS }));
        const served = result.ok + result.failed;
        const { busy, program } = isolateTime(profile);
        const r = { busy: busy / served, program: program / served, failed: result.failed };
        ((spent[worker] ??= {})[c] ??= []).push(r);
        log(`isolate round ${round} ${worker} c=${c}: ${r.busy.toFixed(0)} µs/request (+${r.program.toFixed(0)} µs "(program)"), failed ${r.failed}`);
      }
    }
  }
  return spent;
}

const began = Date.now();
let report;
const loadBefore = readFileSync('/proc/loadavg', 'utf8').trim();
try {
  log(`load average before start: ${loadBefore}`);
  const garage = await startGarage({ dir: join(state, 'garage') });
  cleanups.push(() => garage.stop());
  const presigned = await putObject(garage, randomBytes(1024));
  const key = await keygen(join(state, 'js-vendor.key'));

  const starters = {
    a: { gatekeeper: (counter) => gkMiniflare(garage, counter), js: (counter) => jsMiniflare(garage, key, counter) },
    b: { gatekeeper: (counter) => gkWrangler(garage, counter), js: (counter) => jsWrangler(garage, key, counter) },
  };
  const trace = TRACE_REQUESTS > 0 ? await countD1(starters) : null;

  log(`starting the workers of setup ${SETUPS.join(' and ')} (gatekeeper and JS worker)`);
  const targets = await startAll(starters);
  const direct = { url: presigned, pid: null, grant: async () => '' };

  const results = {}; // results[setup][worker][concurrency] = [round results]
  const record = (setup, worker, c, r) => (((results[setup] ??= {})[worker] ??= {})[c] ??= []).push(r);
  for (let round = 1; round <= ROUNDS; round++) {
    // Alternate which worker goes first, so neither always runs on a machine the other warmed.
    const order = round % 2 ? ['gatekeeper', 'js'] : ['js', 'gatekeeper'];
    for (const c of CONCURRENCY) {
      const r = await measure(direct, c, DIRECT_SECONDS);
      record('direct', 's3', c, r);
      log(`round ${round} direct S3 c=${c}: ${r.rps.toFixed(0)} req/s p50 ${r.p50.toFixed(2)} ms p99 ${r.p99.toFixed(2)} ms`);
    }
    for (const setup of SETUPS) {
      for (const worker of order) {
        for (const c of CONCURRENCY) {
          const r = await measure(targets[setup][worker], c);
          record(setup, worker, c, r);
          log(`round ${round} (${setup}) ${worker} c=${c}: ${r.rps.toFixed(0)} req/s p50 ${r.p50.toFixed(2)} ms p99 ${r.p99.toFixed(2)} ms cpu ${r.cpuMs.toFixed(3)} ms/req failed ${r.failed}`);
        }
      }
    }
  }

  // D1 work per request, counted in the Miniflare databases (setup a) around each timed run: rows
  // inserted, and rows updated afterwards (the gatekeeper records in `body_relayed` that the
  // relay finished).
  let d1 = null;
  if (results.a) {
    d1 = {};
    for (const worker of ['gatekeeper', 'js']) {
      const runs = Object.values(results.a[worker]).flat().map((r) => r.d1);
      d1[worker] = Object.fromEntries(['inserts', 'updates', 'served'].map((k) => [k, runs.reduce((n, r) => n + r[k], 0)]));
    }
  }

  const isolate = targets.a && ISOLATE_CONCURRENCIES.length > 0 ? await isolatePass(targets.a) : null;

  // Streaming: one large object read whole, through each worker in Miniflare and straight from S3.
  let stream = null;
  if (STREAM_MIB > 0 && targets.a) {
    const size = STREAM_MIB * 2 ** 20;
    log(`streaming: putting a ${STREAM_MIB} MiB object`);
    const direct = await putObject(garage, randomBytes(size), STREAM_OBJECT);
    const through = async (target) => ({
      url: `${target.origin}/objects/${STREAM_OBJECT}`,
      pid: target.pid,
      headers: { authorization: `Bearer ${await target.grantFor(STREAM_OBJECT)}`, 'cf-connecting-ip': CALLER_IP, 'accept-encoding': 'identity' },
    });
    const streamTargets = {
      gatekeeper: await through(targets.a.gatekeeper),
      js: await through(targets.a.js),
      s3: { url: direct, pid: null, headers: { 'accept-encoding': 'identity' } },
    };
    stream = { size, reads: 2, figures: await streaming(streamTargets, { size, reads: 2, rounds: ROUNDS, cpuMs, log }) };
  }

  report = format(results, d1, trace, (Date.now() - began) / 1000, stream, isolate);
} finally {
  await cleanup();
}

process.stdout.write(report);
if (opts.out) {
  writeFileSync(opts.out, report);
  log(`written to ${opts.out}`);
}

function format(results, d1, trace, totalSeconds, stream, isolate) {
  const f = (x, digits) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
  const m = (setup, worker, c, field) => median(results[setup][worker][c].map((r) => r[field]));
  const lines = [];
  lines.push(`Medians of ${ROUNDS} rounds of ${SECONDS} s per figure (${DIRECT_SECONDS} s for direct S3), each after ${WARMUP} s of warm-up; one 1 KiB object; garage on loopback.`);
  lines.push('');
  lines.push('| setup | figure | gatekeeper | JS worker | gatekeeper / JS worker |');
  lines.push('| --- | --- | ---: | ---: | ---: |');
  const setupName = { a: '(a) Miniflare (workerd, no dev proxy)', b: '(b) wrangler dev' };
  for (const setup of SETUPS) {
    for (const c of CONCURRENCY) {
      for (const [field, label, digits] of [['rps', 'req/s', 0], ['p50', 'p50 ms', 2], ['p99', 'p99 ms', 2], ['cpuMs', 'runtime CPU ms/request', 3]]) {
        const g = m(setup, 'gatekeeper', c, field);
        const j = m(setup, 'js', c, field);
        lines.push(`| ${setupName[setup]} | c=${c} ${label} | ${f(g, digits)} | ${f(j, digits)} | ${f(g / j, 2)}× |`);
      }
    }
  }
  lines.push('');
  lines.push('Direct S3 (presigned GET straight to garage, same client), and how much faster it is than each worker:');
  lines.push('');
  const columns = SETUPS.flatMap((setup) => [['gatekeeper', setup], ['js', setup]]);
  const workerName = (worker) => (worker === 'js' ? 'JS worker' : 'gatekeeper');
  lines.push(`| concurrency | direct S3 req/s | p50 ms | p99 ms | ${columns.map(([w, setup]) => `÷ ${workerName(w)} (${setup})`).join(' | ')} |`);
  lines.push(`| --- | ---: | ---: | ---: | ${columns.map(() => '---:').join(' | ')} |`);
  for (const c of CONCURRENCY) {
    const s = m('direct', 's3', c, 'rps');
    const ratio = (setup, worker) => `${f(s / m(setup, worker, c, 'rps'), 1)}×`;
    lines.push(`| ${c} | ${f(s, 0)} | ${f(m('direct', 's3', c, 'p50'), 2)} | ${f(m('direct', 's3', c, 'p99'), 2)} | ${columns.map(([w, setup]) => ratio(setup, w)).join(' | ')} |`);
  }
  if (trace) {
    lines.push('');
    lines.push(`D1 work per request, from the workers' own trace (\`AUDIT_TRACE=on\`: one \`s3gk-d1\` line per D1 call), in a separate pass of ${TRACE_REQUESTS} reads per worker at each concurrency, not timed:`);
    lines.push('');
    lines.push('| setup | worker | concurrency | requests | D1 statements / request | D1 transactions / request |');
    lines.push('| --- | --- | ---: | ---: | ---: | ---: |');
    for (const setup of SETUPS) {
      for (const worker of ['gatekeeper', 'js']) {
        for (const c of TRACE_CONCURRENCIES) {
          const t = trace[setup][worker][c];
          // No line at all means the worker does not report its D1 calls, not that it made none.
          const per = (n) => (t.lines === 0 ? 'not reported' : f(n / t.served, 3));
          lines.push(`| ${setupName[setup]} | ${workerName(worker)} | ${c} | ${t.served} | ${per(t.statements)} | ${per(t.transactions)} |`);
        }
      }
    }
  }
  if (d1) {
    lines.push('');
    lines.push('D1 rows per request in setup (a), counted in the audit table before and after each timed run:');
    lines.push('');
    for (const worker of ['gatekeeper', 'js']) {
      const { inserts, updates, served } = d1[worker];
      lines.push(`- ${workerName(worker)}: ${f(inserts / served, 3)} rows inserted and ${f(updates / served, 3)} rows updated per request (${inserts} and ${updates} for ${served} requests)`);
    }
  }
  if (stream) {
    const { gatekeeper: g, js, s3 } = stream.figures;
    lines.push('');
    lines.push(`Streaming in setup (a): a ${f(stream.size / 2 ** 20, 0)} MiB object read whole, ${stream.reads} reads in a row per round, median of ${ROUNDS} rounds; direct S3 is a presigned GET on the same loopback path.`);
    lines.push('');
    lines.push('| | MiB/s | runtime CPU ms per MiB | ÷ direct S3 MiB/s |');
    lines.push('| --- | ---: | ---: | ---: |');
    lines.push(`| gatekeeper (a) | ${f(g.mibps, 0)} | ${f(g.cpuMsPerMib, 2)} | ${f(g.mibps / s3.mibps, 2)}× |`);
    lines.push(`| JS worker (a) | ${f(js.mibps, 0)} | ${f(js.cpuMsPerMib, 2)} | ${f(js.mibps / s3.mibps, 2)}× |`);
    lines.push(`| direct S3 | ${f(s3.mibps, 0)} | n/a | 1.00× |`);
    lines.push('');
    lines.push(`Gatekeeper ÷ JS worker: ${f(g.mibps / js.mibps, 2)}× the MiB/s, ${f(g.cpuMsPerMib / js.cpuMsPerMib, 2)}× the CPU per MiB.`);
  }
  if (isolate) {
    lines.push('');
    lines.push(`The Worker's own time in setup (a): V8's sampling profiler on each worker's isolate, in a separate pass after the timed rounds, ${ISOLATE_ROUNDS} rounds of ${ISOLATE_SECONDS} s at each concurrency (median), the workers in turn. It counts the isolate's samples outside \`(idle)\` and \`(program)\` times the sampling interval: an estimate, the profiler's overhead in it, made the same way for both. It is about what the Workers platform counts as the Worker's CPU time; the runtime's CPU above also has local D1's database work, which runs in D1 in production.`);
    lines.push('');
    lines.push('| concurrency | gatekeeper µs/request | JS worker µs/request | gatekeeper / JS worker |');
    lines.push('| ---: | ---: | ---: | ---: |');
    for (const c of ISOLATE_CONCURRENCIES) {
      const g = median(isolate.gatekeeper[c].map((r) => r.busy));
      const j = median(isolate.js[c].map((r) => r.busy));
      lines.push(`| ${c} | ${f(g, 0)} | ${f(j, 0)} | ${f(g / j, 2)}× |`);
    }
    const failedThere = ['gatekeeper', 'js'].flatMap((w) => ISOLATE_CONCURRENCIES.map((c) => [`${w}/c=${c}`, isolate[w][c].reduce((n, r) => n + r.failed, 0)])).filter(([, n]) => n > 0);
    if (failedThere.length) lines.push('', `Failed requests in the profiled pass: ${failedThere.map(([k, n]) => `${k}: ${n}`).join(', ')}`);
  }
  const failed = Object.entries(results).flatMap(([setup, ws]) => Object.entries(ws).flatMap(([w, cs]) => Object.entries(cs).map(([c, rs]) => [`${setup}/${w}/c=${c}`, rs.reduce((n, r) => n + r.failed, 0)]))).filter(([, n]) => n > 0);
  lines.push('');
  lines.push(failed.length ? `Failed requests (not counted in req/s or latency): ${failed.map(([k, n]) => `${k}: ${n}`).join(', ')}` : 'No request failed.');
  lines.push(`Whole run: ${f(totalSeconds, 0)} s. /proc/loadavg before: ${loadBefore}; after: ${readFileSync('/proc/loadavg', 'utf8').trim()}.`);
  return lines.join('\n') + '\n';
}

// The load client, the CPU meter, the isolate's profiler and the worker harness that
// bench/run.mjs, bench/compare.mjs and bench/profile.mjs share.

import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { promisify } from 'node:util';

import { LOCAL, ROOT, garageSettings, keygen, mintGrant, startGarage, statements } from '../scripts/lib/stack.mjs';
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

// ---------------------------------------------------------------------------------------------
// The worker's own time: V8's sampling profiler on its isolate, over the runtime's inspector.

/** V8's sampling interval, µs. */
const INTERVAL_US = 250;

/** The isolate of the user's worker, as Miniflare names it on the inspector. */
export const USER_ISOLATE = 'core:user:';

/**
 * Runs V8's sampling profiler on the isolate `isolate` (the user's worker: USER_ISOLATE) of the
 * workerd whose inspector listens on `inspectorPort`, while `during()` runs.
 * Returns what `during` returned and the profile (Chrome DevTools' format).
 */
export async function profiled(inspectorPort, isolate, during) {
  const { default: WebSocket } = await import('ws');
  const targets = await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json();
  const target = targets.find((t) => t.id === isolate);
  if (!target) throw new Error(`no isolate ${isolate} among ${targets.map((t) => t.id).join(', ')}`);
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
  let id = 0;
  const pending = new Map();
  ws.on('message', (data) => {
    const msg = JSON.parse(data);
    if (msg.id && pending.has(msg.id)) { pending.get(msg.id)(msg); pending.delete(msg.id); }
  });
  const send = (method, params = {}) => new Promise((r) => { const n = ++id; pending.set(n, r); ws.send(JSON.stringify({ id: n, method, params })); });
  try {
    await send('Profiler.enable');
    await send('Profiler.setSamplingInterval', { interval: INTERVAL_US });
    await send('Profiler.start');
    const result = await during();
    const { result: { profile } } = await send('Profiler.stop');
    return { result, profile };
  } finally {
    ws.close();
  }
}

/**
 * The isolate's own time in `profile`, in µs, estimated as its samples times the sampling
 * interval: V8 records a sample only while the isolate is in use (a few thousand a second, not one
 * per INTERVAL_US of wall time). `busy` is the worker's JavaScript, wasm, the runtime's APIs it
 * calls and the isolate's garbage collection; `(program)`, native work with no JavaScript of the
 * isolate on the stack (event dispatch, microtask checkpoints), and `(idle)` are apart. This is
 * about what the Workers platform counts as the Worker's CPU time; the workerd process's CPU also
 * has the other isolates (Miniflare's entry worker, local D1's database), which it does not.
 */
export function isolateTime(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n.callFrame.functionName]));
  const spent = { busy: 0, program: 0, idle: 0 };
  for (const nodeId of profile.samples) {
    const name = byId.get(nodeId);
    spent[name === '(idle)' ? 'idle' : name === '(program)' ? 'program' : 'busy'] += INTERVAL_US;
  }
  return spent;
}

// ---------------------------------------------------------------------------------------------
// One worker in its own Miniflare (one workerd process), with a D1 database that has the
// repository's migrations, as setup (a) of bench/run runs it.

/** The bindings a build of the gatekeeper needs in front of `garage`, with `vendorKey` trusted. */
export function gatekeeperBindings({ garage, vendorKey, sealKeyFile }) {
  return {
    GATEKEEPER_ID: LOCAL.audience, S3_REGION: 'us-east-1', S3_BUCKET: LOCAL.bucket, S3_ADDRESSING: 'path',
    VENDOR_KEYS: JSON.stringify([{ public: vendorKey.public }]), AUDIT_SEAL_KEY: readFileSync(sealKeyFile, 'utf8').trim(),
    ...garageSettings(garage),
  };
}

/** Options for a build of the gatekeeper: DIR is a copy of a build's `build/` folder. */
export function buildWorker(dir, bindings) {
  return {
    modules: true, scriptPath: `${dir}/index.js`, modulesRoot: dir,
    modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }], bindings,
  };
}

/**
 * Starts `worker` (Miniflare's worker options) with the D1 binding `AUDIT_DB` persisted in
 * `d1Persist` and migrated; returns the Miniflare, its URL and the pid of its workerd process.
 */
export async function startWorker(worker, { d1Persist, inspectorPort }) {
  const { Miniflare } = await import('miniflare');
  const mf = new Miniflare({ ...worker, compatibilityDate: '2026-04-20', d1Databases: ['AUDIT_DB'], d1Persist, inspectorPort });
  const db = await mf.getD1Database('AUDIT_DB');
  for (const file of readdirSync(`${ROOT}/migrations`).sort()) {
    const sql = readFileSync(`${ROOT}/migrations/${file}`, 'utf8').replace(/--.*$/gm, '');
    for (const statement of statements(sql)) await db.prepare(statement).run();
  }
  const url = await mf.ready;
  const { stdout } = await promisify(execFile)('ss', ['-ltnpH', `sport = :${url.port}`]);
  return { mf, url, pid: Number(/pid=(\d+)/.exec(stdout)?.[1]) };
}

/**
 * `n` header sets, each with its own grant for `object` (users `bench-0`, `bench-1`, …) and the
 * caller's IP, for the load client to take in turn. Minted with `mintGrant`, a few at a time.
 */
export async function grantHeaders(keyFile, object, n) {
  const grants = [];
  for (let i = 0; i < n; i += 8) {
    const subs = Array.from({ length: Math.min(8, n - i) }, (_, j) => `bench-${i + j}`);
    grants.push(...(await Promise.all(subs.map((sub) => mintGrant(keyFile, { object, sub, ttl: 900 })))));
  }
  return grants.map((grant) => ({ authorization: `Bearer ${grant}`, 'cf-connecting-ip': '198.51.100.7' }));
}

/**
 * What compare.mjs and profile.mjs measure against: one garage in `state` serving a 1 KiB object
 * at `object`, a vendor key and a seal key, and `grants` header sets for the load client. The
 * garage's stop is pushed onto `stops`.
 */
export async function startBench({ state, object, grants, stops }) {
  const { AwsClient } = await import('aws4fetch');
  const { randomBytes } = await import('node:crypto');
  const garage = await startGarage({ dir: `${state}/garage` });
  stops.push(() => garage.stop());
  const aws = new AwsClient({ accessKeyId: garage.accessKey, secretAccessKey: garage.secretKey, service: 's3', region: garage.region });
  const put = await aws.fetch(`${garage.url}/${LOCAL.bucket}/${object}`, { method: 'PUT', body: randomBytes(1024) });
  if (!put.ok) throw new Error(`PUT to garage: ${put.status}`);
  const key = await keygen(`${state}/vendor.key`);
  const sealKey = await keygen(`${state}/seal.key`);
  const headers = await grantHeaders(key.file, object, grants);
  return { garage, key, sealKey, headers };
}

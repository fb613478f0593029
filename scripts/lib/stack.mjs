// The local stack: a real S3-compatible server (s3s-fs, which verifies SigV4) on loopback, and
// the gatekeeper in workerd through `wrangler dev`, with local D1. Used by the demo and by the
// end-to-end tests, so both run exactly the same thing.
//
// Nothing here is mocked: the worker signs with SigV4, s3s-fs checks the signature, and D1 is
// wrangler's local database. Every process started here is stopped by stop().

import { spawn, execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startFaultProxy } from './faultproxy.mjs';

const run = promisify(execFile);
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

// Settings of scripts/env.sh, read once so the two never disagree.
const env = await (async () => {
  const names = ['CACHE', 'S3S_FS_BIN', 'GARAGE_BIN', 'LOCAL_S3_ACCESS_KEY', 'LOCAL_S3_SECRET_KEY', 'LOCAL_S3_BUCKET'];
  const script = `source scripts/env.sh; ${names.map((n) => `echo "$${n}"`).join('; ')}`;
  const { stdout } = await run('bash', ['-c', script], { cwd: ROOT });
  return Object.fromEntries(stdout.trim().split('\n').map((v, i) => [names[i], v]));
})();
export const LOCAL = {
  accessKey: env.LOCAL_S3_ACCESS_KEY,
  secretKey: env.LOCAL_S3_SECRET_KEY,
  bucket: env.LOCAL_S3_BUCKET,
  audience: 'local-gatekeeper',
};

const targetDir = process.env.CARGO_TARGET_DIR ?? join(env.CACHE, 'target');
export const CLI = join(targetDir, 'debug', 'gatekeeper');
const WRANGLER = join(ROOT, 'node_modules', '.bin', 'wrangler');

/**
 * A free TCP port on loopback, for a service started afterwards to listen on.
 *
 * The port is free when chosen but bound later, by another process. A port the kernel picks for
 * `listen(0)` comes from the range it also gives outgoing connections, so under load (the tests
 * and benchmarks make thousands of connections) one of them could take it in between, and the
 * service would fail with "Address already in use". So, where the kernel says what that range
 * is (Linux), the port is drawn from below it, where no outgoing connection ever lands; and no
 * port is handed out twice by one process.
 */
export async function freePort() {
  const below = outgoingPorts()?.[0];
  if (below !== undefined && below > LISTEN_FLOOR + 1000) {
    for (let attempt = 0; attempt < 200; attempt++) {
      const port = LISTEN_FLOOR + Math.floor(Math.random() * (below - LISTEN_FLOOR));
      if (!handedOut.has(port) && (await listenable(port))) {
        handedOut.add(port);
        return port;
      }
    }
  }
  const port = await listenable(0);
  if (port === false) throw new Error('no port on loopback could be listened on');
  return port;
}

/** The lowest port `freePort` draws from: above the well-known and most registered services. */
const LISTEN_FLOOR = 20000;
const handedOut = new Set();

/** The range of local ports the kernel gives outgoing connections, or undefined if unknown. */
function outgoingPorts() {
  try {
    const range = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    return range.length === 2 && range.every(Number.isInteger) ? range : undefined;
  } catch {
    return undefined;
  }
}

/** Listens on `port` of loopback (0: any) and closes again: the port it got, or false. */
function listenable(port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => {
      const got = server.address().port;
      server.close(() => resolve(got));
    });
  });
}

// Services not yet stopped, each with its process group. If this process ends without stop() (a
// test runner killed, Ctrl-C), they are ended with it rather than left behind: a group whose
// leader has exited (wrangler dead, its workerd processes running) too.
const running = new Set();
const endAll = () => {
  for (const child of running) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {}
  }
};
process.on('exit', endAll);
for (const [signal, number] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]]) {
  process.on(signal, () => {
    // A program that handles the signal itself (the demo stops gracefully) is left to do so.
    if (process.listenerCount(signal) > 1) return;
    endAll();
    process.exit(128 + number);
  });
}

export function start(label, command, args, options, log) {
  // detached: each service leads its own process group, so stop() ends its children too
  // (wrangler starts workerd).
  const child = spawn(command, args, { ...options, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  const lines = [];
  const keep = (chunk) => {
    const text = chunk.toString();
    lines.push(text);
    if (lines.length > 400) lines.shift();
    log?.(text);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.exited = new Promise((resolve) => child.once('exit', resolve));
  child.label = label;
  child.output = () => lines.join('');
  return child;
}

export async function stopProcess(child) {
  // Signals the service's process group; false once no process of it is left.
  const signal = (name) => {
    try {
      process.kill(-child.pid, name);
      return true;
    } catch {
      return false;
    }
  };
  // A group can outlive its leader: wrangler dead, the workerd processes it started still
  // running. They are ended too, or they would outlive the test that started them.
  if (child.exitCode === null && child.signalCode === null && signal('SIGTERM')) {
    const timer = setTimeout(() => signal('SIGKILL'), 5000);
    await child.exited;
    clearTimeout(timer);
  }
  // The leader may end before the rest of its group has.
  signal('SIGKILL');
  running.delete(child);
}

/** Waits until `ready()` holds, failing early if the service exits. */
export async function waitFor(child, ready, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${child.label} exited early:\n${child.output()}`);
    if (await ready()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${child.label} was not ready within ${timeoutMs} ms:\n${child.output()}`);
}

const answers = (url) => () =>
  fetch(url, { signal: AbortSignal.timeout(2000) }).then(
    () => true,
    () => false,
  );

function dotenv(vars) {
  // Single quotes keep JSON values literal.
  return Object.entries(vars)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}='${String(v).replaceAll("'", '')}'`)
    .join('\n');
}

/**
 * Starts a Node script of the project (the example vendor server or page server) that prints
 * `listening on URL` first, and resolves to its URL, its output and a `stop()`. Later output goes
 * to `log`.
 */
export async function startScript(label, script, args = [], env = {}, log) {
  const child = start(label, process.execPath, [join(ROOT, script), ...args], { env: { ...process.env, ...env } }, log);
  const listening = () => /^listening on (http:\/\/\S+)$/m.exec(child.output())?.[1];
  try {
    await waitFor(child, async () => Boolean(listening()), 15000);
  } catch (err) {
    await stopProcess(child);
    throw err;
  }
  return { url: listening(), output: child.output, stop: () => stopProcess(child) };
}

/** Mints a grant with the CLI, signed by the secret key in `keyFile`. */
export async function mintGrant(keyFile, { op = 'get', object, prefix, sub = 'user-1', ttl = 300, jti, aud = LOCAL.audience, extra = [] }) {
  const args = ['grant', '--key', keyFile, '--aud', aud, '--op', op, '--sub', sub, '--ttl', String(ttl)];
  if (object !== undefined) args.push('--object', object);
  if (prefix !== undefined) args.push('--prefix', prefix);
  if (jti !== undefined) args.push('--jti', jti);
  args.push(...extra);
  const { stdout } = await run(CLI, args);
  return stdout.trim();
}

/** Makes a signing key with the CLI: the secret in `file`, and its public key and id. */
export async function keygen(file) {
  rmSync(file, { force: true });
  const { stdout } = await run(CLI, ['keygen', '--out', file, '--json']);
  return { ...JSON.parse(stdout), file };
}

/**
 * Starts s3s-fs on loopback with the local credentials, serving `dir` (each bucket a folder,
 * each object a plain file), seeded with `objects` in the demo bucket. `secretKey` replaces the
 * local secret, as a rotation on the server's side would.
 */
export async function startS3({ dir, objects = {}, secretKey = LOCAL.secretKey, log }) {
  for (const [key, body] of Object.entries(objects)) {
    const path = join(dir, LOCAL.bucket, key);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, body);
  }
  mkdirSync(join(dir, LOCAL.bucket), { recursive: true });
  const port = await freePort();
  const process = start('s3s-fs', env.S3S_FS_BIN, [
    '--host', '127.0.0.1', '--port', String(port),
    '--access-key', LOCAL.accessKey, '--secret-key', secretKey, dir,
  ], {}, log);
  try {
    await waitFor(process, answers(`http://127.0.0.1:${port}/`), 15000);
  } catch (err) {
    await stopProcess(process);
    throw err;
  }
  return { url: `http://127.0.0.1:${port}`, dataDir: dir, process, stop: () => stopProcess(process) };
}

/**
 * Starts garage, a second S3-compatible server that verifies SigV4 and, unlike s3s-fs, evaluates
 * conditional GETs and checks the region. One node on loopback, with the demo bucket and a key
 * made from fixed local credentials (garage's own formats). Point a stack at it with
 * `garageSettings(garage)`.
 */
export async function startGarage({ dir, region = 'us-east-1', log } = {}) {
  const root = dir ?? mkdtempSync(join(tmpdir(), 's3gk-garage-'));
  mkdirSync(root, { recursive: true });
  const [s3Port, rpcPort] = [await freePort(), await freePort()];
  const config = join(root, 'garage.toml');
  writeFileSync(
    config,
    [
      `metadata_dir = "${join(root, 'meta')}"`,
      `data_dir = "${join(root, 'data')}"`,
      'db_engine = "sqlite"',
      'replication_factor = 1',
      `rpc_bind_addr = "127.0.0.1:${rpcPort}"`,
      `rpc_public_addr = "127.0.0.1:${rpcPort}"`,
      `rpc_secret = "${'5e'.repeat(32)}"`,
      '[s3_api]',
      `s3_region = "${region}"`,
      `api_bind_addr = "127.0.0.1:${s3Port}"`,
      '',
    ].join('\n'),
  );
  const credentials = { accessKey: `GK${'0a'.repeat(12)}`, secretKey: '5ec7e7'.repeat(10) + '5ec7' };
  const server = start('garage', env.GARAGE_BIN, ['-c', config, 'server', '--single-node', '--default-bucket'], {
    env: {
      ...process.env,
      GARAGE_DEFAULT_ACCESS_KEY: credentials.accessKey,
      GARAGE_DEFAULT_SECRET_KEY: credentials.secretKey,
      GARAGE_DEFAULT_BUCKET: LOCAL.bucket,
      GARAGE_ALLOW_WORLD_READABLE_SECRETS: 'true',
    },
  }, log);
  try {
    await waitFor(server, answers(`http://127.0.0.1:${s3Port}/`), 30000);
  } catch (err) {
    await stopProcess(server);
    throw err;
  }
  const stop = async () => {
    await stopProcess(server);
    if (!dir) rmSync(root, { recursive: true, force: true });
  };
  return { url: `http://127.0.0.1:${s3Port}`, region, ...credentials, stop };
}

/** Settings that point a stack at a garage started by `startGarage`. */
export function garageSettings(garage) {
  return {
    S3_ENDPOINT: garage.url,
    S3_REGION: garage.region,
    AWS_ACCESS_KEY_ID: garage.accessKey,
    AWS_SECRET_ACCESS_KEY: garage.secretKey,
  };
}

/**
 * Starts s3s-fs and the gatekeeper.
 *
 * @param {object} options
 * @param {Record<string, string|undefined> | ((keys: Record<string, {id: string, public: string, file: string}>) => Record<string, string|undefined>)} [options.vars]
 *   settings that override the defaults (an `undefined` value removes a setting); a function
 *   receives the signing keys made for this run
 * @param {string[]} [options.signers] names of signing keys to make besides `vendor` (each is
 *   made but trusted only if `vars` says so)
 * @param {Record<string, Buffer|string>} [options.objects] objects to seed, by key
 * @param {(text: string) => void} [options.log] receives the services' output
 * @param {string} [options.dir] state folder (default: a fresh temporary one)
 * @param {boolean} [options.faults] put a fault proxy (scripts/lib/faultproxy.mjs) between the
 *   gatekeeper and s3s-fs; the stack's `faults` switches it
 */
export async function startStack({ vars = {}, signers = [], objects = {}, log, dir, faults = false } = {}) {
  const state = dir ?? mkdtempSync(join(tmpdir(), 's3gk-stack-'));
  mkdirSync(state, { recursive: true });
  const children = [];
  let proxy;
  // A DevTools session on the Worker, opened by the first isolateMemory() and kept.
  let session;
  const stop = async () => {
    await session?.then((s) => s.close(), () => {});
    await proxy?.stop();
    await Promise.all(children.map(stopProcess));
    // A state folder made here is temporary (objects in it can be hundreds of MiB); one the
    // caller named (the demo's) is kept to look at.
    if (!dir) rmSync(state, { recursive: true, force: true });
  };
  try {
    // Signing keys for this run only; `vendor` is trusted by default.
    const keys = {};
    for (const name of ['vendor', ...signers]) keys[name] = await keygen(join(state, `${name}.key`));
    // The gatekeeper's own key, which signs the audit seals.
    const sealKey = await keygen(join(state, 'seal.key'));
    const keyFile = keys.vendor.file;
    const vendorKey = { id: keys.vendor.id, public: keys.vendor.public };
    const overrides = typeof vars === 'function' ? vars(keys) : vars;

    const s3 = await startS3({ dir: join(state, 's3'), objects, log });
    children.push(s3.process);
    const data = s3.dataDir;
    if (faults) proxy = await startFaultProxy({ upstream: s3.url });

    const settings = {
      S3_ENDPOINT: proxy?.url ?? s3.url,
      AWS_ACCESS_KEY_ID: LOCAL.accessKey,
      AWS_SECRET_ACCESS_KEY: LOCAL.secretKey,
      VENDOR_KEYS: JSON.stringify([vendorKey]),
      AUDIT_SEAL_KEY: readFileSync(sealKey.file, 'utf8').trim(),
      ...overrides,
    };
    const envFile = join(state, 'dev.env');
    writeFileSync(envFile, dotenv(settings) + '\n');
    // Settings removed with `undefined` must not fall back to wrangler.toml either.
    const removed = Object.entries(overrides).filter(([, v]) => v === undefined).map(([k]) => k);
    const persist = join(state, 'wrangler');
    const wranglerEnv = { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true', NO_COLOR: '1' };

    await run(WRANGLER, ['d1', 'migrations', 'apply', 'AUDIT_DB', '--local', '--env', 'local', '--persist-to', persist], {
      cwd: ROOT,
      env: wranglerEnv,
    });

    const port = await freePort();
    const inspector = await freePort();
    const args = [
      'dev', '--env', 'local', '--ip', '127.0.0.1', '--port', String(port),
      '--inspector-port', String(inspector), '--env-file', envFile, '--persist-to', persist,
      '--show-interactive-dev-session=false', '--log-level', 'log',
      ...removed.flatMap((name) => ['--var', `${name}:`]),
    ];
    const worker = start('wrangler dev', WRANGLER, args, { cwd: ROOT, env: wranglerEnv }, log);
    children.push(worker);
    const url = `http://127.0.0.1:${port}`;
    const d1Json = async (command) => {
      const { stdout } = await run(WRANGLER, [
        'd1', 'execute', 'AUDIT_DB', '--local', '--env', 'local', '--persist-to', persist, '--json', '--command', command,
      ], { cwd: ROOT, env: wranglerEnv, maxBuffer: 64 * 1024 * 1024 });
      return stdout;
    };
    // wrangler announces readiness; probing with a request instead would leave an audit row.
    await waitFor(worker, async () => worker.output().includes(`Ready on ${url}`), 180000);

    return {
      url,
      s3Url: settings.S3_ENDPOINT,
      /** The s3s-fs server itself, behind the fault proxy if there is one. */
      s3ServerUrl: s3.url,
      /** The fault proxy in front of s3s-fs, with `faults: true`. */
      faults: proxy,
      dataDir: data,
      state,
      keyFile,
      vendorKey,
      keys,
      sealKey,
      output: () => worker.output(),
      /**
       * Resident memory, in bytes, of the two workerd processes `wrangler dev` runs: the runtime
       * that executes the gatekeeper, and wrangler's local dev proxy in front of it (which owns
       * the public port, and does not exist in production).
       */
      async memory() {
        // wrangler leads its own process group (it was started detached); both workerds are in it.
        const { stdout: ps } = await run('ps', ['-o', 'pid=,rss=,comm=', '-g', String(worker.pid)]);
        const { stdout: ss } = await run('ss', ['-ltnpH', `sport = :${port}`]);
        const proxyPid = Number(/pid=(\d+)/.exec(ss)?.[1]);
        const result = { gatekeeper: 0, devProxy: 0 };
        for (const line of ps.trim().split('\n')) {
          const [pid, rss, comm] = line.trim().split(/\s+/);
          if (comm !== 'workerd') continue;
          result[Number(pid) === proxyPid ? 'devProxy' : 'gatekeeper'] += Number(rss) * 1024;
        }
        return result;
      },
      /**
       * The memory the gatekeeper's own code holds, read through wrangler's inspector after a
       * full garbage collection (which `Runtime.queryObjects` makes): `wasm`, the WebAssembly linear memory (it never shrinks, so
       * Rust allocations that are never freed show up in it), and `heap`, the V8 heap in use.
       * Unlike `memory()`, it leaves out what workerd allocates for itself.
       */
      async isolateMemory() {
        session ??= (async () => {
          const [target] = await (await fetch(`http://127.0.0.1:${inspector}/json`)).json();
          return inspectorSession(target.webSocketDebuggerUrl);
        })();
        return (await session).memory();
      },
      /** Mints a grant with the CLI, signed by `signer` (default: the vendor key). */
      grant: ({ signer = 'vendor', ...grant } = {}) => mintGrant(keys[signer].file, grant),
      /** Runs the cron trigger as if scheduled at `time` (ms since the epoch); resolves to its outcome. */
      async cron(time = Date.now()) {
        const res = await fetch(`${url}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent('*/10 * * * *')}&time=${time}`);
        return { status: res.status, outcome: await res.text() };
      },
      /** Runs SQL against the local D1 database, as a customer would with `wrangler d1 execute`. */
      async sql(command) {
        return JSON.parse(await d1Json(command))[0].results;
      },
      /**
       * Waits until no audit row is pending (`status` 0): a read's row is completed once its
       * reply has been relayed, off the request's path, so a test that reads what a read's row
       * says waits for that first. Fails after `timeoutMs`.
       */
      async settled(timeoutMs = 20000) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const [{ n }] = JSON.parse(await d1Json('SELECT count(*) AS n FROM audit_log WHERE status = 0'))[0].results;
          if (n === 0) return;
          if (Date.now() > deadline) throw new Error(`${n} audit rows still pending after ${timeoutMs} ms`);
          await new Promise((r) => setTimeout(r, 200));
        }
      },
      /** What `wrangler d1 execute --json` prints for `command`, unparsed: an export. */
      export: d1Json,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * A DevTools session on the Worker behind `socketUrl`, whose `memory()` gives the WebAssembly
 * memory and the V8 heap in use. It is opened once and kept: wrangler's inspector proxy is slow
 * to answer a new session while the Worker is busy.
 */
async function inspectorSession(socketUrl) {
  const { default: WebSocket } = await import('ws');
  const ws = new WebSocket(socketUrl);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  let id = 0;
  const contexts = [];
  const waiting = new Map();
  ws.on('message', (data) => {
    const message = JSON.parse(data);
    if (message.method === 'Runtime.executionContextCreated') contexts.push(message.params.context.id);
    const done = waiting.get(message.id);
    if (!done) return;
    waiting.delete(message.id);
    if (message.error) done.reject(new Error(`${message.error.message} (inspector)`));
    else done.resolve(message.result);
  });
  const call = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const my = ++id;
      const timer = setTimeout(() => reject(new Error(`the inspector did not answer ${method}`)), 60000);
      const settle = (f) => (value) => {
        clearTimeout(timer);
        f(value);
      };
      waiting.set(my, { resolve: settle(resolve), reject: settle(reject) });
      ws.send(JSON.stringify({ id: my, method, params }));
    });
  try {
    await call('Runtime.enable');
    for (let i = 0; i < 100 && contexts.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    if (contexts.length === 0) throw new Error('the inspector named no execution context');
  } catch (err) {
    ws.close();
    throw err;
  }
  return {
    async memory() {
      const context = contexts.at(-1);
      const prototype = await call('Runtime.evaluate', { expression: 'WebAssembly.Memory.prototype', contextId: context });
      // queryObjects collects garbage first, so what it finds is live.
      const { objects } = await call('Runtime.queryObjects', { prototypeObjectId: prototype.result.objectId });
      const { result } = await call('Runtime.callFunctionOn', {
        objectId: objects.objectId,
        functionDeclaration: 'function () { return this.reduce((sum, m) => sum + m.buffer.byteLength, 0); }',
        returnByValue: true,
      });
      const heap = await call('Runtime.getHeapUsage');
      return { wasm: result.value, heap: heap.usedSize };
    },
    close: () => ws.close(),
  };
}

/**
 * Runs the built Worker in Miniflare (workerd, without wrangler dev's proxy in front), with a
 * local D1 carrying the project's migrations and s3s-fs behind it. Requests go through
 * `dispatchFetch`, which can set `request.cf` per request.
 *
 * @param {object} options
 * @param {Record<string, unknown>} [options.vars] settings that override the defaults
 * @param {Record<string, Buffer|string>} [options.objects] objects to seed, by key
 * @param {object} [options.options] further Miniflare options (the benchmark reads the runtime's output)
 */
export async function startMiniflare({ vars = {}, objects = {}, options = {} } = {}) {
  const { Miniflare } = await import('miniflare');
  const dir = mkdtempSync(join(tmpdir(), 's3gk-mf-'));
  const s3 = await startS3({ dir: join(dir, 's3'), objects });
  try {
    const key = await keygen(join(dir, 'vendor.key'));
    const sealKey = await keygen(join(dir, 'seal.key'));
    const mf = new Miniflare({
      ...options,
      modules: true,
      scriptPath: join(ROOT, 'build', 'index.js'),
      modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }],
      compatibilityDate: '2026-04-20',
      d1Databases: ['AUDIT_DB'],
      d1Persist: join(dir, 'd1'),
      bindings: {
        GATEKEEPER_ID: LOCAL.audience,
        S3_REGION: 'us-east-1',
        S3_BUCKET: LOCAL.bucket,
        S3_ADDRESSING: 'path',
        S3_ENDPOINT: s3.url,
        AWS_ACCESS_KEY_ID: LOCAL.accessKey,
        AWS_SECRET_ACCESS_KEY: LOCAL.secretKey,
        VENDOR_KEYS: JSON.stringify([{ public: key.public }]),
        AUDIT_SEAL_KEY: readFileSync(sealKey.file, 'utf8').trim(),
        ...vars,
      },
    });
    // The same migrations wrangler applies, statement by statement.
    const db = await mf.getD1Database('AUDIT_DB');
    for (const file of readdirSync(join(ROOT, 'migrations')).sort()) {
      const sql = readFileSync(join(ROOT, 'migrations', file), 'utf8').replace(/--.*$/gm, '');
      for (const statement of statements(sql)) await db.prepare(statement).run();
    }
    return {
      mf,
      db,
      key,
      dataDir: s3.dataDir,
      /** Mints a grant with the CLI. */
      grant: (grant) => mintGrant(key.file, grant),
      async stop() {
        await mf.dispose();
        await s3.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await s3.stop();
    throw err;
  }
}

/** Splits a migration into statements, keeping a trigger's `BEGIN … END;` body whole. */
export function statements(sql) {
  const result = [];
  let current = '';
  for (const part of sql.split(';')) {
    current += `${part};`;
    const inTrigger = /\bBEGIN\b/i.test(current) && !/\bEND\s*;$/i.test(current.trim());
    if (!inTrigger) {
      if (current.trim() !== ';') result.push(current.trim());
      current = '';
    }
  }
  return result;
}

// Runs bench/crypto/worker.mjs in Miniflare and times each operation both ways, from the CPU time
// of the workerd process around requests that repeat it N times, less a request that does
// nothing. Rounds alternate the operations; the figure is the median of the rounds.
//
//   node bench/crypto/run.mjs --pkg DIR [--n N] [--rounds R]

import { execFile } from 'node:child_process';
import { copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';

process.env.CLOUDFLARE_CF_FETCH_ENABLED = 'false';
const run = promisify(execFile);
const { values: opts } = parseArgs({
  options: { pkg: { type: 'string' }, n: { type: 'string', default: '2000' }, rounds: { type: 'string', default: '7' } },
});
const N = Number(opts.n);
const ROUNDS = Number(opts.rounds);
const here = dirname(fileURLToPath(import.meta.url));

const TICK_MS = 1000 / Number((await run('getconf', ['CLK_TCK'])).stdout.trim());
function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

const dir = mkdtempSync(join(tmpdir(), 's3gk-crypto-'));
const { Miniflare } = await import('miniflare');
let mf;
try {
  copyFileSync(join(here, 'worker.mjs'), join(dir, 'worker.mjs'));
  cpSync(opts.pkg, join(dir, 'pkg'), { recursive: true });
  mf = new Miniflare({
    modules: true,
    scriptPath: join(dir, 'worker.mjs'),
    modulesRoot: dir,
    modulesRules: [
      { type: 'ESModule', include: ['**/*.js', '**/*.mjs'] },
      { type: 'CompiledWasm', include: ['**/*.wasm'] },
    ],
    compatibilityDate: '2026-04-20',
  });
  const url = await mf.ready;
  const { stdout } = await run('ss', ['-ltnpH', `sport = :${url.port}`]);
  const pid = Number(/pid=(\d+)/.exec(stdout)?.[1]);
  const call = async (op, n) => {
    const res = await fetch(new URL(`/?op=${op}&n=${n}`, url));
    if (!res.ok) throw new Error(`${op}: ${res.status} ${await res.text()}`);
    return (await res.json()).result;
  };
  const timed = async (op, n) => {
    const before = cpuMs(pid);
    const result = await call(op, n);
    return { ms: cpuMs(pid) - before, result };
  };

  // Both ways must compute the same thing, or the comparison means nothing.
  const ops = ['grant-wasm', 'grant-webcrypto', 'sigv4-wasm', 'sigv4-webcrypto'];
  const check = Object.fromEntries(await Promise.all(ops.map(async (op) => [op, await call(op, 3)])));
  if (check['grant-wasm'] !== 3 || check['grant-webcrypto'] !== 3) throw new Error(`grant checks disagree: ${JSON.stringify(check)}`);
  if (check['sigv4-wasm'] !== check['sigv4-webcrypto']) throw new Error(`SigV4 signatures disagree: ${JSON.stringify(check)}`);
  for (const op of ops) await call(op, Math.min(N, 500)); // warm-up: compile and optimise

  const samples = Object.fromEntries(ops.map((op) => [op, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 ? [...ops].reverse() : ops;
    for (const op of order) {
      const base = await timed('noop', N);
      const { ms } = await timed(op, N);
      samples[op].push(((ms - base.ms) * 1000) / N);
    }
  }
  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
  };
  const us = Object.fromEntries(ops.map((op) => [op, median(samples[op])]));
  const lines = [
    `Medians of ${ROUNDS} rounds of ${N} operations each; µs of the runtime process's CPU per operation.`,
    '',
    '| operation | wasm (gatekeeper today) µs | WebCrypto µs | WebCrypto ÷ wasm |',
    '| --- | ---: | ---: | ---: |',
    `| check a PASETO v4.public grant (Ed25519 verify) | ${us['grant-wasm'].toFixed(1)} | ${us['grant-webcrypto'].toFixed(1)} | ${(us['grant-webcrypto'] / us['grant-wasm']).toFixed(2)}× |`,
    `| SigV4: SHA-256 of the request, signing key, signature (5 HMAC-SHA256) | ${us['sigv4-wasm'].toFixed(1)} | ${us['sigv4-webcrypto'].toFixed(1)} | ${(us['sigv4-webcrypto'] / us['sigv4-wasm']).toFixed(2)}× |`,
    '',
    `Per read (one grant, one signature): wasm ${(us['grant-wasm'] + us['sigv4-wasm']).toFixed(1)} µs, WebCrypto ${(us['grant-webcrypto'] + us['sigv4-webcrypto']).toFixed(1)} µs.`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
} finally {
  await mf?.dispose();
  rmSync(dir, { recursive: true, force: true });
}

// What the audit statements cost local D1 (the SQLite inside workerd that Miniflare and wrangler
// dev run), per read, for each shape of statement (docs/benchmarks.md, "Where the CPU goes"):
// a small worker in Miniflare runs each shape many times in a row, on request, and the workerd
// process's CPU time around the request is divided by the reads written. The D1 client, the
// database's Durable Object and SQLite are all in that process, as in bench/run's setup (a).
//
//   node bench/sql-cost.mjs [--reads N] [--rounds R]
//
// Shapes, each writing what one read writes under steady load:
// - `js`: the JS worker's statement: one plain INSERT of the whole row (22 bound values), `run()`;
// - `batch`: the gatekeeper's batch statement (src/audit/batch.rs) with the read's pending row
//   and the outcome of the read before it, as JSON objects, `all()` for the ids;
// - `batch-arrays`: the same rows as JSON arrays (`value ->> 0` …) instead of objects;
// - `batch-slim`: as `batch`, with the outcome's entry carrying only what it sets and the
//   columns NOT NULL requires (as the Worker writes it since 2026-11-29);
// - `batch-pending`: as `batch`, with the read's pending row alone (what an outcome adds to a
//   statement, by difference);
// - `insert-returning`: a plain INSERT of the pending row (23 bound values) `RETURNING id`, and
//   the outcome of the read before it as a plain UPDATE, both in one `batch()` (one transaction).

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';

process.env.CLOUDFLARE_CF_FETCH_ENABLED = 'false';
const { Miniflare } = await import('miniflare');
const { ROOT, statements } = await import('../scripts/lib/stack.mjs');
const run = promisify(execFile);

const { values: opts } = parseArgs({
  options: {
    reads: { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '5' },
  },
});
const READS = Number(opts.reads);
const ROUNDS = Number(opts.rounds);

const RECORD_COLUMNS = [
  'time_ms', 'request_id', 'operation', 'bucket', 'object_key', 'decision', 'status', 's3_status',
  'bytes_in', 'bytes_out', 'duration_ms', 'ip', 'country', 'asn', 'colo', 'user_agent', 'origin',
  'key_id', 'sub', 'jti', 'signers', 'method', 'spent',
];
const OUTCOME_COLUMNS = ['decision', 'status', 's3_status', 'bytes_out', 'duration_ms', 's3_ms', 'd1_ms', 'body_relayed'];
const UNSEALED = 'id > COALESCE((SELECT last_id FROM audit_seals ORDER BY id DESC LIMIT 1), 0)';
const COLUMNS = ['id', ...RECORD_COLUMNS, ...OUTCOME_COLUMNS.slice(5)];
const batchSql = (ref) =>
  `INSERT INTO audit_log (${COLUMNS.join(', ')}) ` +
  `SELECT ${COLUMNS.map((c, i) => `value ->> ${ref(c, i)}`).join(', ')} FROM json_each(?1) WHERE true ORDER BY key ` +
  `ON CONFLICT (id) DO UPDATE SET ${OUTCOME_COLUMNS.map((c) => `${c} = excluded.${c}`).join(', ')} ` +
  `WHERE audit_log.status = 0 AND audit_log.${UNSEALED} RETURNING id`;

const worker = `
const RECORD = ${JSON.stringify(RECORD_COLUMNS)};
const COLUMNS = ${JSON.stringify(COLUMNS)};
const OUTCOME_COLUMNS = ${JSON.stringify(OUTCOME_COLUMNS)};
const BATCH = ${JSON.stringify(batchSql((c) => `'${c}'`))};
const BATCH_ARRAYS = ${JSON.stringify(batchSql((c, i) => String(i)))};
const JS = 'INSERT INTO audit_log (' + RECORD.slice(0, 22).join(', ') + ') VALUES (' + RECORD.slice(0, 22).map((_, i) => '?' + (i + 1)).join(', ') + ')';
const INSERT = 'INSERT INTO audit_log (' + RECORD.join(', ') + ') VALUES (' + RECORD.map((_, i) => '?' + (i + 1)).join(', ') + ') RETURNING id';
const UPDATE = 'UPDATE audit_log SET decision = ?2, status = ?3, s3_status = ?4, bytes_out = ?5, duration_ms = ?6, s3_ms = ?7, d1_ms = ?8, body_relayed = ?9 WHERE id = ?1 AND status = 0 AND ${UNSEALED}';
const row = (n, status) => ({
  time_ms: 1796000000000 + n, request_id: crypto.randomUUID(), operation: 'get', bucket: 'reports', object_key: 'reports/bench-1k.bin',
  decision: 'allowed', status, s3_status: status ? 200 : null, bytes_in: null, bytes_out: status ? 1024 : null, duration_ms: status ? 9 : null,
  ip: '198.51.100.7', country: null, asn: null, colo: null, user_agent: null, origin: null, key_id: 'k4.pid.AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCdEf',
  sub: 'user-1', jti: null, signers: '[{"key_id":"k4.pid.AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCdEf","sub":"user-1","jti":null}]', method: 'GET', spent: null,
});
const entry = (id, r) => ({ id, ...r, s3_ms: id === null ? null : 3, d1_ms: id === null ? null : 2, body_relayed: id === null ? null : 1 });
const SLIM = ['id', 'time_ms', 'request_id', 'bucket', ...OUTCOME_COLUMNS];
const slim = (e) => Object.fromEntries(SLIM.map((c) => [c, e[c]]));
export default {
  async fetch(request, env) {
    try { return await write(request, env); } catch (err) { return new Response(String(err.stack), { status: 500 }); }
  },
};
async function write(request, env) {
    const url = new URL(request.url);
    const shape = url.searchParams.get('shape');
    const n = Number(url.searchParams.get('n'));
    let previous = null;
    for (let i = 0; i < n; i++) {
      const fresh = row(i, 0);
      if (shape === 'js') {
        const r = row(i, 200);
        await env.DB.prepare(JS).bind(...RECORD.slice(0, 22).map((c) => r[c])).run();
        continue;
      }
      let id;
      if (shape.startsWith('batch')) {
        const entries = [entry(null, fresh)];
        if (previous !== null && shape !== 'batch-pending') {
          const outcome = entry(previous, row(i, 200));
          entries.push(shape === 'batch-slim' ? slim(outcome) : outcome);
        }
        const arrays = shape === 'batch-arrays';
        const json = JSON.stringify(arrays ? entries.map((e) => COLUMNS.map((c) => e[c])) : entries);
        const { results } = await env.DB.prepare(arrays ? BATCH_ARRAYS : BATCH).bind(json).all();
        id = Math.max(...results.map((r) => r.id));
      } else if (shape === 'insert-returning') {
        const insert = env.DB.prepare(INSERT).bind(...RECORD.map((c) => fresh[c]));
        if (previous === null) {
          id = (await insert.all()).results[0].id;
        } else {
          const o = entry(previous, row(i, 200));
          const update = env.DB.prepare(UPDATE).bind(previous, ...OUTCOME_COLUMNS.map((c) => o[c]));
          const [inserted] = await env.DB.batch([insert, update]);
          id = inserted.results[0].id;
        }
      } else {
        return new Response('unknown shape', { status: 400 });
      }
      previous = id;
    }
    return new Response('ok');
}`;

const TICK_MS = 1000 / Number((await run('getconf', ['CLK_TCK'])).stdout.trim());
function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

const state = mkdtempSync(join(tmpdir(), 's3gk-sql-cost-'));
const mf = new Miniflare({ modules: true, script: worker, compatibilityDate: '2026-04-20', d1Databases: ['DB'], d1Persist: join(state, 'd1') });
try {
  const db = await mf.getD1Database('DB');
  for (const file of readdirSync(join(ROOT, 'migrations')).sort()) {
    for (const sql of statements(readFileSync(join(ROOT, 'migrations', file), 'utf8').replace(/--.*$/gm, ''))) await db.prepare(sql).run();
  }
  const url = await mf.ready;
  const { stdout } = await run('ss', ['-ltnpH', `sport = :${url.port}`]);
  const pid = Number(/pid=(\d+)/.exec(stdout)?.[1]);
  const shapes = ['js', 'batch', 'batch-arrays', 'batch-slim', 'batch-pending', 'insert-returning'];
  const write = async (shape, n) => {
    const res = await mf.dispatchFetch(`http://localhost/?shape=${shape}&n=${n}`);
    const text = await res.text();
    if (text !== 'ok') throw new Error(`${shape}: ${res.status} ${text}`);
  };
  for (const shape of shapes) await write(shape, 200);
  const per = new Map(shapes.map((s) => [s, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 ? [...shapes].reverse() : shapes;
    for (const shape of order) {
      const before = cpuMs(pid);
      await write(shape, READS);
      per.get(shape).push(((cpuMs(pid) - before) * 1000) / READS);
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const js = median(per.get('js'));
  console.log(`workerd CPU per read written (µs), median of ${ROUNDS} rounds of ${READS} reads:`);
  for (const [shape, xs] of per) console.log(`  ${shape.padEnd(18)} ${median(xs).toFixed(1).padStart(7)}  (${(median(xs) / js).toFixed(2)}× js; rounds ${xs.map((x) => x.toFixed(0)).join(', ')})`);
} finally {
  await mf.dispose();
  rmSync(state, { recursive: true, force: true });
}

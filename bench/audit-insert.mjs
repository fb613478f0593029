// What the indexes of audit_log cost the Worker's writes: the same rows written, the way the
// Worker writes them, into local D1 databases (Miniflare's, the SQLite that `wrangler dev` runs):
// one with the migrations before 0011_audit_indexes.sql, one with it. docs/benchmarks.md,
// "Audit inserts and indexes", explains what is measured and shows the figures of three runs.
//
//   node bench/audit-insert.mjs [--rows N] [--rounds R] [--batch B] [--seed S]
//
// Defaults: 20 000 rows in 10 rounds, batches of 32 entries. Each round writes the same rows into
// each database in turn, starting with a different one each round. Prints time and workerd CPU
// per row (after / before), database bytes per row before and after, how the documented queries
// are planned in each, and checks that they answer the same in both. A third database without any
// index of audit_log shows, for scale, what all the indexes cost.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';

// Loopback only: Miniflare must not fetch its `request.cf` template from the network.
process.env.CLOUDFLARE_CF_FETCH_ENABLED = 'false';

const { Miniflare } = await import('miniflare');
const { ROOT, statements } = await import('../scripts/lib/stack.mjs');

const { values: opts } = parseArgs({
  options: {
    rows: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '10' },
    batch: { type: 'string', default: '32' },
    seed: { type: 'string', default: '1' },
  },
});
const ROWS = Number(opts.rows);
const ROUNDS = Number(opts.rounds);
const BATCH = Number(opts.batch);
const SEED = Number(opts.seed);
const log = (...a) => console.error(`[audit-insert ${new Date().toISOString().slice(11, 19)}]`, ...a);

// The migration measured: "before" has every migration numbered below it, "after" those up to it.
const MEASURED = '0011';

// ---------------------------------------------------------------------------------------------
// The statement the Worker writes a batch with (src/audit/batch.rs): every entry of the JSON
// array ?1 is a new row (id null) or the outcome of a pending row (its id), in one statement.

const RECORD_COLUMNS = [
  'time_ms', 'request_id', 'operation', 'bucket', 'object_key', 'decision', 'status', 's3_status',
  'bytes_in', 'bytes_out', 'duration_ms', 'ip', 'country', 'asn', 'colo', 'user_agent', 'origin',
  'key_id', 'sub', 'jti', 'signers', 'method',
];
const OUTCOME_COLUMNS = ['decision', 'status', 's3_status', 'bytes_out', 'duration_ms', 's3_ms', 'd1_ms', 'body_relayed'];
const UNSEALED = 'id > COALESCE((SELECT last_id FROM audit_seals ORDER BY id DESC LIMIT 1), 0)';
const COLUMNS = ['id', ...RECORD_COLUMNS, ...OUTCOME_COLUMNS.slice(5)];
const BATCH_SQL =
  `INSERT INTO audit_log (${COLUMNS.join(', ')}) ` +
  `SELECT ${COLUMNS.map((c) => `value ->> '${c}'`).join(', ')} FROM json_each(?1) WHERE true ORDER BY key ` +
  `ON CONFLICT (id) DO UPDATE SET ${OUTCOME_COLUMNS.map((c) => `${c} = excluded.${c}`).join(', ')} ` +
  `WHERE audit_log.status = 0 AND audit_log.${UNSEALED} RETURNING id`;

// ---------------------------------------------------------------------------------------------
// Realistic rows, the same for both databases: a deterministic generator (mulberry32), callers,
// keys and users drawn with a skew (a few are far more frequent than most), as a real log is.

function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function world(random) {
  const pick = (list) => list[Math.floor(random() * list.length)];
  // Squaring a uniform draw favours the start of a list: its first entries are the busy ones.
  const skewed = (list) => list[Math.floor(random() ** 2 * list.length)];
  const hex = (n) => Array.from({ length: n }, () => Math.floor(random() * 16).toString(16)).join('');
  const b64url = (n) => Array.from({ length: n }, () => pick('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.split(''))).join('');
  const ips = ['198.51.100.7'];
  for (let i = 0; i < 3000; i++) {
    ips.push(random() < 0.85
      ? `${1 + Math.floor(random() * 222)}.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}.${1 + Math.floor(random() * 254)}`
      : `2001:db8:${hex(4)}:${hex(4)}::${hex(3)}`);
  }
  const places = Array.from({ length: 200 }, () => ({
    country: pick(['US', 'DE', 'FR', 'GB', 'NL', 'JP', 'BR', 'IN', 'CA', 'AU', 'SG', 'ES', 'IT', 'SE', 'PL', 'T1']),
    asn: pick([13335, 15169, 16509, 8075, 3320, 7922, 701, 2856, 3215, 4134, 24940, 14061]) + Math.floor(random() * 3),
    colo: pick(['FRA', 'AMS', 'LHR', 'CDG', 'IAD', 'SJC', 'NRT', 'SIN', 'GRU', 'BOM', 'SYD', 'ORD']),
  }));
  const keys = ['reports/2026/q3-summary.csv'];
  for (let i = 0; i < 5000; i++) {
    keys.push(`customers/${1000 + Math.floor(random() * 400)}/${pick(['reports', 'invoices', 'exports', 'uploads', 'media'])}/2026/${String(1 + Math.floor(random() * 12)).padStart(2, '0')}/${b64url(10)}.${pick(['pdf', 'csv', 'json', 'png', 'zip', 'parquet'])}`);
  }
  const subs = ['demo-user'];
  for (let i = 0; i < 2000; i++) subs.push(random() < 0.5 ? `user-${hex(8)}-${hex(4)}` : `${pick(['ana', 'bo', 'chen', 'dana', 'eli', 'fatima', 'gus', 'hana'])}.${hex(5)}@customer-${Math.floor(random() * 300)}.example`);
  const vendorKeys = Array.from({ length: 3 }, () => `k4.pid.${b64url(43)}`);
  const agents = [
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
    'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
    'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
    'aws-sdk-js/3.701.0 ua/2.1 os/linux#6.8.0 lang/js md/nodejs#22.11.0 api/s3#3.701.0',
    'Boto3/1.35.76 md/Botocore#1.35.76 ua/2.0 os/linux#6.1.0 md/arch#x86_64 lang/python#3.12.8',
    'python-requests/2.32.3',
    'curl/8.11.1',
    'okhttp/4.12.0',
    'Go-http-client/2.0',
  ];
  const refusals = [
    ['grant_missing', 401, false], ['grant_malformed', 401, false], ['grant_bad_signature', 401, false],
    ['grant_expired', 401, true], ['grant_scope_mismatch', 403, true], ['grant_ip_mismatch', 403, true],
    ['ip_not_allowed', 403, false], ['country_not_allowed', 403, false], ['not_found', 404, true],
  ];
  return { random, pick, skewed, hex, ips, places, keys, subs, vendorKeys, agents, refusals };
}

/**
 * The requests of one round: 85% reads and 5% writes, allowed (a pending row, then its outcome),
 * and 10% refusals (one final row; those whose grant verified carry its signer).
 */
function requests(w, count, startMs) {
  const out = [];
  let time = startMs;
  for (let i = 0; i < count; i++) {
    time += 1 + Math.floor(w.random() * 40);
    const place = w.skewed(w.places);
    const agent = w.skewed(w.agents);
    const browser = agent.startsWith('Mozilla');
    const draw = w.random();
    const kind = draw < 0.85 ? 'read' : draw < 0.9 ? 'write' : 'refusal';
    const operation = kind === 'write' ? (w.random() < 0.8 ? 'put' : 'delete') : w.random() < 0.95 ? 'get' : 'head';
    const [code, status, signed] = kind === 'refusal' ? w.pick(w.refusals) : ['allowed', 0, true];
    const sub = signed ? w.skewed(w.subs) : null;
    const keyId = signed ? w.pick(w.vendorKeys) : null;
    const jti = signed ? `${w.hex(8)}-${w.hex(4)}-4${w.hex(3)}-a${w.hex(3)}-${w.hex(12)}` : null;
    const bytesIn = operation === 'put' ? 1024 + Math.floor(w.random() * 5_000_000) : null;
    const record = {
      id: null,
      time_ms: time,
      request_id: `${w.hex(16)}-${place.colo}`,
      operation,
      bucket: 'acme-customer-files',
      object_key: w.skewed(w.keys),
      decision: code,
      status,
      s3_status: null,
      bytes_in: bytesIn,
      bytes_out: null,
      duration_ms: kind === 'refusal' ? Math.floor(w.random() * 5) : null,
      ip: w.skewed(w.ips),
      country: place.country,
      asn: place.asn,
      colo: place.colo,
      user_agent: agent,
      origin: browser ? 'https://app.customer.example' : null,
      key_id: keyId,
      sub,
      jti,
      signers: signed ? JSON.stringify([{ key_id: keyId, sub, jti }]) : null,
      method: { get: 'GET', head: 'HEAD', put: 'PUT', delete: 'DELETE' }[operation],
      s3_ms: null,
      d1_ms: null,
      body_relayed: null,
    };
    const s3Ms = 20 + Math.floor(w.random() * 200);
    const outcome = kind === 'refusal' ? null : {
      decision: 'allowed',
      status: operation === 'put' ? 200 : operation === 'delete' ? 204 : 200,
      s3_status: operation === 'delete' ? 204 : 200,
      bytes_out: kind === 'read' && operation === 'get' ? 512 + Math.floor(w.random() ** 3 * 50_000_000) : null,
      duration_ms: s3Ms + Math.floor(w.random() * 3000),
      s3_ms: kind === 'read' ? s3Ms : null,
      d1_ms: kind === 'read' ? 5 + Math.floor(w.random() * 40) : null,
      body_relayed: kind === 'read' && operation === 'get' ? (w.random() < 0.98 ? 1 : 0) : null,
    };
    out.push({ record, outcome });
  }
  return out;
}

/**
 * Writes one round's requests into `db` in batches of BATCH entries, as the Worker's group commit
 * does: each batch carries the outcomes of the rows the previous batch inserted, then new rows.
 * Returns the milliseconds it took, and the milliseconds of workerd CPU time.
 */
async function writeRound(db, reqs, pid) {
  const statement = db.prepare(BATCH_SQL);
  const cpuStarted = cpuMs(pid);
  const started = performance.now();
  let next = 0;
  let outcomes = [];
  while (next < reqs.length || outcomes.length > 0) {
    const entries = outcomes.splice(0, BATCH);
    const inserted = [];
    while (entries.length < BATCH && next < reqs.length) {
      inserted.push(reqs[next]);
      entries.push(reqs[next++].record);
    }
    const { results } = await statement.bind(JSON.stringify(entries)).all();
    const completed = new Set(entries.filter((e) => e.id !== null).map((e) => e.id));
    // New ids, sorted, follow the batch's order (AUTOINCREMENT): as src/audit/batch.rs reads them.
    const fresh = results.map((r) => r.id).filter((id) => !completed.has(id)).sort((a, b) => a - b);
    if (fresh.length !== inserted.length) throw new Error(`a batch inserted ${inserted.length} rows but returned ${fresh.length} new ids`);
    inserted.forEach((req, i) => {
      if (req.outcome) outcomes.push({ ...req.record, ...req.outcome, id: fresh[i] });
    });
  }
  return { ms: performance.now() - started, cpu: cpuMs(pid) - cpuStarted };
}

// ---------------------------------------------------------------------------------------------

async function migrate(db, upTo) {
  const files = readdirSync(join(ROOT, 'migrations')).filter((f) => /^\d{4}_.*\.sql$/.test(f)).sort();
  if (!files.some((f) => f.startsWith(MEASURED))) throw new Error(`no migration ${MEASURED}`);
  const applied = [];
  for (const file of files) {
    if (file.slice(0, 4) > upTo) continue;
    const sql = readFileSync(join(ROOT, 'migrations', file), 'utf8').replace(/--.*$/gm, '');
    for (const statement of statements(sql)) await db.prepare(statement).run();
    applied.push(file.slice(0, 4));
  }
  return applied;
}

/** The database's size in bytes, as D1 reports it (`meta.size_after`: page_count * page_size). */
async function size(db) {
  const { meta } = await db.prepare('SELECT count(*) AS n FROM audit_log').run();
  return meta.size_after;
}

// CPU time of the workerd process Miniflare started, which runs local D1 (SQLite) in-process:
// utime + stime from /proc/<pid>/stat. It counts only the runtime's work, so it is less swayed
// than wall time by other processes on a shared machine.
const TICK_MS = 1000 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
function workerdPid() {
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (stat.includes('(workerd)') && Number(fields[1]) === process.pid) return Number(entry);
    } catch {
      // The process ended while being read.
    }
  }
  throw new Error('the workerd process Miniflare started was not found');
}
function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS; // fields 14 and 15 of stat(5)
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const dir = mkdtempSync(join(tmpdir(), 's3gk-audit-insert-'));
const mf = new Miniflare({
  modules: true,
  script: 'export default { fetch() { return new Response(null, { status: 404 }); } };',
  compatibilityDate: '2026-04-20',
  d1Databases: { BEFORE: 'audit-before', AFTER: 'audit-after', BARE: 'audit-bare' },
  d1Persist: join(dir, 'd1'),
});
try {
  const previous = String(Number(MEASURED) - 1).padStart(4, '0');
  const indexes = async (db) =>
    (await db.prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'audit_log' AND sql IS NOT NULL ORDER BY name").all()).results.map((r) => r.name);
  // A third database, for scale: the same schema as "after" without any index of audit_log, so
  // that what all the indexes cost the writes shows next to what the change saves.
  const bare = await mf.getD1Database('BARE');
  await migrate(bare, MEASURED);
  for (const name of await indexes(bare)) await bare.prepare(`DROP INDEX ${name}`).run();
  const dbs = {
    before: { db: await mf.getD1Database('BEFORE'), ms: 0, cpu: 0, ratios: [], cpuRatios: [] },
    after: { db: await mf.getD1Database('AFTER'), ms: 0, cpu: 0, ratios: [], cpuRatios: [] },
    bare: { db: bare, ms: 0, cpu: 0, ratios: [], cpuRatios: [] },
  };
  await migrate(dbs.before.db, previous);
  await migrate(dbs.after.db, MEASURED);
  for (const [name, d] of Object.entries(dbs)) log(`${name}: audit_log indexes: ${(await indexes(d.db)).join(', ') || 'none'}`);
  const names = Object.keys(dbs);

  const w = world(rng(SEED));
  // Rows are dated up to now, so that the views of the last 24 hours have rows to answer from.
  const startMs = Date.now() - ROWS * 21;
  // A warm-up round, not timed, so that the first timed round does not pay for first use.
  const warm = requests(w, Math.min(1000, ROWS), startMs - 1_000_000);
  const pid = workerdPid();
  for (const d of Object.values(dbs)) await writeRound(d.db, warm, pid);
  let time = startMs;
  const perRound = Math.ceil(ROWS / ROUNDS);
  const loadBefore = readFileSync('/proc/loadavg', 'utf8').trim();
  for (let round = 0; round < ROUNDS; round++) {
    const reqs = requests(w, Math.min(perRound, ROWS - round * perRound), time);
    time = reqs.at(-1).record.time_ms;
    // Each round starts with the next database, so that none is always first or last.
    const order = names.map((_, i) => names[(i + round) % names.length]);
    const r = {};
    for (const name of order) r[name] = await writeRound(dbs[name].db, reqs, pid);
    for (const name of names) {
      dbs[name].ms += r[name].ms;
      dbs[name].cpu += r[name].cpu;
      dbs[name].ratios.push(r[name].ms / r.before.ms);
      dbs[name].cpuRatios.push(r[name].cpu / r.before.cpu);
    }
    log(`round ${round + 1}/${ROUNDS}: ${reqs.length} rows; / before: after time ${dbs.after.ratios.at(-1).toFixed(3)} CPU ${dbs.after.cpuRatios.at(-1).toFixed(3)}, bare time ${dbs.bare.ratios.at(-1).toFixed(3)} CPU ${dbs.bare.cpuRatios.at(-1).toFixed(3)} (${order.join(', ')})`);
  }
  const loadAfter = readFileSync('/proc/loadavg', 'utf8').trim();

  const rows = {};
  const bytes = {};
  for (const [name, d] of Object.entries(dbs)) {
    rows[name] = (await d.db.prepare('SELECT count(*) AS n FROM audit_log').first()).n;
    bytes[name] = await size(d.db);
  }
  if (new Set(Object.values(rows)).size !== 1) throw new Error(`the databases hold different numbers of rows: ${JSON.stringify(rows)}`);

  // The same rows must give the same answers, before and after, to every query docs/audit.md
  // documents.
  const doc = readFileSync(join(ROOT, 'docs/audit.md'), 'utf8');
  const queries = [...doc.matchAll(/^npx wrangler d1 execute AUDIT_DB --remote --command "(SELECT .+)"$/gm)].map((m) => m[1]);
  queries.push('SELECT * FROM user_activity', 'SELECT * FROM top_callers_24h', 'SELECT * FROM denied_last_24h');
  const plans = [];
  for (const sql of queries) {
    const answers = [];
    const plan = [];
    for (const d of [dbs.before, dbs.after]) {
      answers.push(JSON.stringify((await d.db.prepare(sql).all()).results));
      const steps = (await d.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all()).results;
      plan.push(steps.map((s) => s.detail).filter((s) => /audit_log|TEMP B-TREE/.test(s)).join('; '));
    }
    if (answers[0] !== answers[1]) throw new Error(`the two databases answer differently: ${sql}`);
    if (answers[0] === '[]' && /audit_log|audit_readable|_24h|user_activity/.test(sql)) log(`note: no rows for ${sql}`);
    plans.push({ sql, before: plan[0], after: plan[1] });
  }

  const spread = (xs) => `per round median ${median(xs).toFixed(3)}, min ${Math.min(...xs).toFixed(3)}, max ${Math.max(...xs).toFixed(3)}`;
  console.log(`audit_log writes: ${ROWS} rows (+${warm.length} warm-up, not timed) in ${ROUNDS} rounds, batches of ${BATCH} entries, seed ${SEED}`);
  console.log(`before: migrations up to ${previous}; after: up to ${MEASURED}; bare: "after" without any index of audit_log`);
  for (const name of ['after', 'bare']) {
    const d = dbs[name];
    console.log(`${name} / before, time per row: ${(d.ms / dbs.before.ms).toFixed(3)} (all rounds; ${spread(d.ratios)})`);
    console.log(`${name} / before, workerd CPU per row: ${(d.cpu / dbs.before.cpu).toFixed(3)} (all rounds; ${spread(d.cpuRatios)})`);
  }
  console.log(`database bytes per row: ${names.map((n) => `${n} ${(bytes[n] / rows[n]).toFixed(1)}`).join(', ')} (after / before ${(bytes.after / bytes.before).toFixed(3)}; ${rows.before} rows)`);
  console.log(`/proc/loadavg before the timed rounds: ${loadBefore}; after: ${loadAfter}`);
  console.log('documented queries: same answers before and after; plans (audit_log steps):');
  for (const p of plans) {
    console.log(`- ${p.sql}`);
    console.log(`    before: ${p.before}`);
    console.log(`    after:  ${p.after}`);
  }
} finally {
  await mf.dispose();
}

// Where the bytes go, index by index, if the sqlite3 shell (with its dbstat table) is installed:
// D1 does not let a query read dbstat.
try {
  const files = readdirSync(join(dir, 'd1', 'miniflare-D1DatabaseObject')).filter((f) => f.endsWith('.sqlite') && f !== 'metadata.sqlite');
  const per = files.map((f) => {
    const out = execFileSync('sqlite3', [join(dir, 'd1', 'miniflare-D1DatabaseObject', f),
      "SELECT (SELECT group_concat(name || ' ' || bytes, ', ') FROM (SELECT name, sum(pgsize) AS bytes FROM dbstat WHERE name LIKE 'audit_log%' GROUP BY name ORDER BY name))"], { encoding: 'utf8' });
    return out.trim();
  });
  console.log('bytes by table and index (sqlite3 dbstat), one line per database:');
  for (const line of per.sort()) console.log(`  ${line}`);
} catch (err) {
  log(`no per-index breakdown (${err.code ?? err.message})`);
}
rmSync(dir, { recursive: true, force: true });

// End to end: the cron seals the audit log and archives each sealed period to S3 (s3s-fs, then
// garage), as gzip NDJSON plus the signed seal; it reads each object back before retention may
// delete the rows from D1. `gatekeeper audit verify` checks the archive alone and together with a
// D1 export, and names an archive object that was changed or deleted. DuckDB answers the query
// docs/audit.md gives. With S3 unreachable, rows stay in D1 and the next run archives them; over
// the size budget, the archived rows go first (even young ones), unarchived rows never, and
// requests keep being served.

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';
import { startStack, startGarage, garageSettings, CLI, ROOT, LOCAL } from '../../scripts/lib/stack.mjs';

const run = promisify(execFile);
const DAY = 86_400_000;
const ARCHIVE_BUCKET = 'audit-archive';
const BACKLOG = Number(process.env.S3GK_ARCHIVE_ROWS ?? 50_000);
const EXPORT = 'SELECT * FROM audit_log ORDER BY id; SELECT * FROM audit_seals ORDER BY id';

const duckdbPython = (await run('bash', ['-c', 'source scripts/env.sh; echo "$DUCKDB_PYTHON"'], { cwd: ROOT })).stdout.trim();

/** Every file under `dir`, relative to it. */
function files(dir) {
  const out = [];
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else out.push(relative(dir, path));
    }
  };
  if (existsSync(dir)) walk(dir);
  return out.sort();
}

/** Runs `gatekeeper audit verify`; resolves to its exit code and output. */
async function verify(key, args) {
  try {
    const { stdout } = await run(CLI, ['audit', 'verify', '--key', key, ...args]);
    return { code: 0, stdout };
  } catch (err) {
    if (typeof err.code !== 'number') throw err;
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

/** `count` requests: allowed reads and refusals, each leaving one audit row. */
async function traffic(stack, label, count = 4) {
  const grant = await stack.grant({ object: 'reports/q3.csv', sub: label, ttl: 600 });
  for (let i = 0; i < count; i++) {
    const res = await fetch(`${stack.url}/objects/reports/q3.csv`, {
      headers: {
        'cf-connecting-ip': '203.0.113.9',
        'user-agent': `e2e-${label}-${i}`,
        ...(i % 2 === 0 ? { authorization: `Bearer ${grant}` } : {}),
      },
    });
    await res.arrayBuffer();
    assert.equal(res.status, i % 2 === 0 ? 200 : 401, `request ${i} of ${label}`);
  }
  await stack.settled();
}

/** Waits for the Worker's log to show `pattern` (it may arrive just after the run's reply). */
async function logged(stack, pattern, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = pattern.exec(stack.output());
    if (match || Date.now() > deadline) return match;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs the cron at `time`, and waits for the line it logs about D1's size (its last but one). */
async function cronRun(stack, time) {
  const before = storageLines(stack).length;
  const result = await stack.cron(time);
  const deadline = Date.now() + 10000;
  while (storageLines(stack).length === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  return result;
}

/** The structured lines the cron logs, one a run. */
function storageLines(stack) {
  return stack
    .output()
    .split('\n')
    .filter((l) => l.includes('"event":"audit_storage"'))
    .map((l) => JSON.parse(l.slice(l.indexOf('{'))));
}

describe('archive to s3s-fs', () => {
  let stack;
  let archiveDir;
  // Cron runs must be scheduled later and later; retention is reached by scheduling days ahead.
  let clock = Date.now();
  const cron = async (advance = 1000) => {
    clock = Math.max(clock + advance, Date.now());
    const { status, outcome } = await cronRun(stack, clock);
    assert.equal(status, 200, outcome);
    assert.doesNotMatch(stack.output(), /audit sealing failed/);
  };
  const key = () => stack.sealKey.public;

  before(async () => {
    stack = await startStack({
      faults: true,
      objects: { 'reports/q3.csv': 'region,total\nEU,42\n' },
      vars: {
        AUDIT_SEAL_GRACE_SECONDS: '0',
        AUDIT_ARCHIVE_BUCKET: ARCHIVE_BUCKET,
        AUDIT_HOT_DAYS: '1',
        // Above what the first tests write; the last test goes past it.
        AUDIT_SIZE_BUDGET_MB: '1',
      },
    });
    // s3s-fs keeps each bucket as a folder, each object as a file: the archive as downloaded.
    mkdirSync(join(stack.dataDir, ARCHIVE_BUCKET), { recursive: true });
    archiveDir = join(stack.dataDir, ARCHIVE_BUCKET, 'audit');
  });

  after(async () => {
    await stack?.stop();
  });

  test('a seal is archived as gzip NDJSON under its date, with its seal, and recorded', async () => {
    await traffic(stack, 'first');
    const began = Date.now();
    await cron();
    const elapsed = Date.now() - began;
    const [seal] = await stack.sql('SELECT id, cutoff_ms, first_id, last_id, row_count FROM audit_seals');
    const day = new Date(seal.cutoff_ms).toISOString().slice(0, 10).replaceAll('-', '/');
    const name = `seal-${String(seal.id).padStart(10, '0')}`;
    assert.deepEqual(files(archiveDir).filter((f) => !f.startsWith('.')), [`${day}/${name}.ndjson.gz`, `seals/${name}.json`]);
    const lines = gunzipSync(readFileSync(join(archiveDir, day, `${name}.ndjson.gz`))).toString().trim().split('\n');
    assert.equal(lines.length, seal.row_count);
    assert.deepEqual(JSON.parse(lines[0]), (await stack.sql(`SELECT * FROM audit_log WHERE id = ${seal.first_id}`))[0]);
    const archived = await stack.sql('SELECT seal_id, kind, object_key, sha256, bytes, row_count, archived_ms FROM audit_archives ORDER BY id');
    assert.deepEqual(archived.map((a) => [a.seal_id, a.kind, a.object_key, a.row_count]), [
      [seal.id, 'rows', `audit/${day}/${name}.ndjson.gz`, 4],
      [seal.id, 'seal', `audit/seals/${name}.json`, 0],
    ]);
    const { createHash } = await import('node:crypto');
    const sha = createHash('sha256').update(readFileSync(join(archiveDir, day, `${name}.ndjson.gz`))).digest('hex');
    assert.equal(archived[0].sha256, sha);
    assert.ok(archived[0].archived_ms >= began);
    assert.ok(await logged(stack, /audit archived: seal 1, 4 rows, \d+ bytes in \d+ ms/), stack.output());
    // One structured line per run: D1's size and rows.
    const [line] = storageLines(stack);
    assert.equal(line.archive, 'ok');
    assert.equal(line.rows, 4);
    assert.equal(line.archived_through, seal.last_id);
    assert.ok(line.size_bytes > 0, JSON.stringify(line));
    console.log(`# cron run with archiving: ${elapsed} ms for ${seal.row_count} rows; D1 ${line.size_bytes} bytes`);
    // An uptime monitor sees the seal and the archive both recent (the first probe of the stack).
    const health = await fetch(`${stack.url}/health`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'ok' });
  });

  test('the archive verifies alone and with the D1 export', async () => {
    const alone = await verify(key(), ['--archive', archiveDir]);
    assert.equal(alone.code, 0, alone.stdout + alone.stderr);
    assert.match(alone.stdout, /^intact: every sealed row matches its seal$/m);
    assert.match(alone.stdout, /rows: 4 verified/);
    const file = join(stack.state, 'export.json');
    writeFileSync(file, await stack.export(EXPORT));
    const both = await verify(key(), ['--archive', archiveDir, file]);
    assert.equal(both.code, 0, both.stdout + both.stderr);
    assert.match(both.stdout, /rows: 4 verified/);
  });

  test('with S3 unreachable the rows stay in D1, and the next run archives them', async () => {
    await traffic(stack, 'second');
    stack.faults.set('refuse');
    // Two runs, two days apart: the hot period (1 day) lets retention reach seal 1's rows, then
    // seal 2's. Seal 1 is archived and its rows go; seal 2 could not be archived and its rows stay.
    for (let i = 0; i < 2; i++) {
      clock = Math.max(clock, Date.now()) + 2 * DAY;
      const { status } = await cronRun(stack, clock);
      assert.equal(status, 200);
    }
    stack.faults.set('pass');
    assert.ok(await logged(stack, /audit archiving failed: S3 could not be reached for audit\/.*seal-0000000002\.ndjson\.gz/), stack.output());
    const seals = await stack.sql('SELECT id, purged_through FROM audit_seals ORDER BY id');
    assert.deepEqual(seals.map((s) => [s.id, s.purged_through]), [[1, 0], [2, 4], [3, 8]]);
    const rows = await stack.sql('SELECT id FROM audit_log ORDER BY id');
    assert.deepEqual(rows.map((r) => r.id), [5, 6, 7, 8], 'archived rows went; unarchived rows stayed');
    assert.equal(storageLines(stack).at(-1).archive, 'failed');

    await cron();
    const archived = await stack.sql("SELECT seal_id FROM audit_archives WHERE kind = 'seal' ORDER BY seal_id");
    assert.deepEqual(archived.map((a) => a.seal_id), [1, 2, 3, 4]);
    // Seal 2 archived at last: retention removes its rows in the same run.
    assert.deepEqual(await stack.sql('SELECT id FROM audit_log'), []);
    const result = await verify(key(), ['--archive', archiveDir]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /rows: 8 verified, 0 purged by retention/);
    // D1 alone: its rows were purged by retention, as the seals allow.
    const file = join(stack.state, 'export2.json');
    writeFileSync(file, await stack.export(EXPORT));
    const d1 = await verify(key(), [file]);
    assert.equal(d1.code, 0, d1.stdout);
    assert.match(d1.stdout, /0 verified, 8 purged by retention/);
  });

  test('DuckDB answers the documented query from the archive', async () => {
    const doc = readFileSync(join(ROOT, 'docs', 'audit.md'), 'utf8');
    const query = /```sql duckdb\n([\s\S]*?)```/.exec(doc)?.[1];
    assert.ok(query, 'docs/audit.md has a DuckDB query');
    const sql = query.replaceAll("'archive/", `'${archiveDir}/`);
    const { stdout } = await run(duckdbPython, ['-c', `import duckdb, json, sys\nprint(json.dumps(duckdb.sql(sys.argv[1]).fetchall(), default=str))`, sql]);
    const result = JSON.parse(stdout);
    const total = result.reduce((n, r) => n + Number(r.at(-1)), 0);
    assert.equal(total, 8, stdout);
  });

  test('a changed or deleted archive object is named', async () => {
    const copy = join(stack.state, 'tampered');
    const reset = () => {
      rmSync(copy, { recursive: true, force: true });
      cpSync(archiveDir, copy, { recursive: true });
    };
    const rowsObject = files(archiveDir).find((f) => f.endsWith('seal-0000000002.ndjson.gz'));

    reset();
    const lines = gunzipSync(readFileSync(join(copy, rowsObject))).toString().split('\n');
    const row = JSON.parse(lines[1]);
    row.sub = 'someone-else';
    lines[1] = JSON.stringify(row);
    writeFileSync(join(copy, rowsObject), gzipSync(lines.join('\n')));
    let result = await verify(key(), ['--archive', copy]);
    assert.equal(result.code, 1);
    assert.match(result.stdout, new RegExp(`^TAMPERED: row ${row.id} was changed after seal 2 sealed it \\(in archive object ${rowsObject}\\)$`, 'm'));

    reset();
    rmSync(join(copy, rowsObject));
    result = await verify(key(), ['--archive', copy]);
    assert.equal(result.code, 1);
    // Retention purged the rows from D1 as the seals allow; the archive must still hold them.
    assert.match(result.stdout, new RegExp(`^TAMPERED: seal 2: its archive object ${rowsObject} \\(4 rows\\) is missing$`, 'm'));

    reset();
    rmSync(join(copy, 'seals', 'seal-0000000002.json'));
    result = await verify(key(), ['--archive', copy]);
    assert.equal(result.code, 1);
    assert.match(result.stdout, /seal 3: it does not follow the seal before it/);
    assert.match(result.stdout, new RegExp(`archive object ${rowsObject} holds the rows of seal 2, whose archive object seals/seal-0000000002.json is missing`));
  });

  test('past the size budget with archiving failing, rows stay and requests are served; then archived rows go first', async () => {
    // About 2 MB of young rows, written straight into D1.
    await stack.sql(`
      WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4000)
      INSERT INTO audit_log (time_ms, request_id, operation, bucket, object_key, decision, status, ip, user_agent)
      SELECT ${Date.now() - 60_000}, printf('filler-%d', i), 'get', 'demo-reports', printf('reports/%07d.pdf', i),
        'allowed', 200, '203.0.113.9', printf('%.400c', 'x')
      FROM n`);
    stack.faults.set('refuse');
    await cron();
    stack.faults.set('pass');
    const line = storageLines(stack).at(-1);
    assert.equal(line.over_budget, true, JSON.stringify(line));
    assert.equal(line.archive, 'failed');
    // Nothing archived, so nothing deleted: the budget never deletes a row that is not archived.
    const [{ n }] = await stack.sql('SELECT COUNT(*) AS n FROM audit_log');
    assert.equal(n, 4000);
    // D1 is over the budget but not full: requests are still served and recorded.
    await traffic(stack, 'over-budget', 2);
    // S3 back: the run archives the backlog, then deletes the oldest archived rows, young as
    // they are (the hot period is a day), until D1 is back within the budget.
    await cron();
    const deleted = await logged(stack, /audit retention: deleted 4002 rows \(over the size budget\), D1 now (\d+) bytes/);
    assert.ok(deleted, stack.output().split('\n').filter((l) => /audit (retention|archived|archiving)|audit_storage/.test(l)).slice(-8).join('\n'));
    // Local D1 reports the size of what it holds: deleting rows brings it back within the budget.
    assert.ok(Number(deleted[1]) <= 1_000_000, deleted[0]);
    assert.equal(storageLines(stack).at(-1).archive, 'ok');
    assert.deepEqual(await stack.sql('SELECT id FROM audit_log'), []);
    const result = await verify(key(), ['--archive', archiveDir]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /rows: 4010 verified/);
  });

  test('a database that refuses new seals, as a full one does, still archives its backlog and frees space', async () => {
    await stack.sql(`
      WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4000)
      INSERT INTO audit_log (time_ms, request_id, operation, bucket, object_key, decision, status, ip, user_agent)
      SELECT ${Date.now() - 60_000}, printf('full-%d', i), 'get', 'demo-reports', printf('reports/%07d.pdf', i),
        'allowed', 200, '203.0.113.9', printf('%.400c', 'x')
      FROM n`);
    // Sealed, but S3 is down: nothing archived, so nothing may go.
    stack.faults.set('refuse');
    await cron();
    stack.faults.set('pass');
    await traffic(stack, 'before-full', 2);
    // D1 full: every insert fails, the seal claim first among the cron's statements.
    await stack.sql(`CREATE TRIGGER test_full BEFORE INSERT ON audit_seals
      BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`);
    try {
      clock = Math.max(clock + 1000, Date.now());
      const { status } = await cronRun(stack, clock);
      assert.equal(status, 200);
      assert.ok(await logged(stack, /audit sealing failed/), 'the refused claim is reported');
      // The backlog sealed before went to S3, and its rows left D1 (over the budget).
      const [{ n }] = await stack.sql("SELECT COUNT(*) AS n FROM audit_log WHERE request_id LIKE 'full-%'");
      assert.equal(n, 0, 'archived rows of a full database are deleted even when no new seal can be made');
    } finally {
      await stack.sql('DROP TRIGGER test_full');
    }
    // Space again: the next run seals what waited.
    clock = Math.max(clock + 1000, Date.now());
    assert.equal((await cronRun(stack, clock)).status, 200);
    const [{ open }] = await stack.sql('SELECT COUNT(*) AS open FROM audit_log WHERE id > (SELECT MAX(last_id) FROM audit_seals)');
    assert.equal(open, 0);
  });
});

describe('archive to garage, over the size budget', () => {
  let garage;
  let stack;
  let clock = Date.now();
  const cron = async () => {
    clock = Math.max(clock + 1000, Date.now());
    const { status, outcome } = await cronRun(stack, clock);
    assert.equal(status, 200, outcome);
  };

  before(async () => {
    garage = await startGarage();
    stack = await startStack({
      objects: {},
      vars: {
        ...garageSettings(garage),
        AUDIT_SEAL_GRACE_SECONDS: '0',
        // garage's default bucket holds the archive too, under a prefix that grants cannot reach:
        // every key a grant names is under S3_KEY_ROOT.
        AUDIT_ARCHIVE_BUCKET: LOCAL.bucket,
        AUDIT_ARCHIVE_PREFIX: 'audit-log/',
        S3_KEY_ROOT: 'data/',
        // Always over: only what is not archived stays in D1.
        AUDIT_SIZE_BUDGET_MB: '0',
      },
    });
    // The object the traffic reads, stored through garage's S3 API by the gatekeeper itself.
    const grant = await stack.grant({ op: 'put', object: 'reports/q3.csv' });
    const res = await fetch(`${stack.url}/objects/reports/q3.csv`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${grant}`, 'content-type': 'text/csv' },
      body: 'region,total\nEU,42\n',
    });
    assert.equal(res.status, 200, await res.text());
  });

  after(async () => {
    await stack?.stop();
    await garage?.stop();
  });

  test('the oldest archived rows go, though young; unarchived rows stay; requests are served', async () => {
    // Before any run, an uptime monitor is told that nothing is sealed or archived yet, and that
    // a budget of 0 is passed; in words only.
    const health = await fetch(`${stack.url}/health`);
    assert.equal(health.status, 503);
    assert.deepEqual(await health.json(), {
      status: 'degraded',
      checks: { seal: 'late', archive: 'late', size: 'over_budget' },
    });
    await traffic(stack, 'budget');
    await cron();
    assert.doesNotMatch(stack.output(), /audit archiving failed/);
    const archived = await stack.sql("SELECT seal_id, object_key, row_count FROM audit_archives WHERE kind = 'rows'");
    assert.equal(archived.length, 1);
    assert.match(archived[0].object_key, /^audit-log\/\d{4}\/\d{2}\/\d{2}\/seal-0000000001\.ndjson\.gz$/);
    assert.equal(archived[0].row_count, 5);
    const line = storageLines(stack).at(-1);
    assert.equal(line.over_budget, true);
    assert.ok(await logged(stack, /audit retention: deleted 5 rows \(over the size budget\)/), stack.output());
    // Rows that arrive after the run are not archived yet: the budget never deletes them.
    await traffic(stack, 'after');
    const left = await stack.sql('SELECT id FROM audit_log ORDER BY id');
    assert.deepEqual(left.map((r) => r.id), [6, 7, 8, 9]);
  });

  // Archive throughput: a backlog written straight into D1 (as tests/e2e/audit-backlog.test.mjs
  // does), sealed and archived by cron runs. S3GK_ARCHIVE_ROWS sets its size.
  test('cron runs seal and archive a backlog, a seal archived as it is made', async () => {
    const end = Date.now() - 3_600_000;
    const start = end - DAY;
    await stack.sql(`
      WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${BACKLOG})
      INSERT INTO audit_log (time_ms, request_id, operation, bucket, object_key, decision, status,
        s3_status, bytes_in, bytes_out, duration_ms, ip, country, asn, colo, user_agent, key_id, sub,
        jti, method, body_relayed, s3_ms, d1_ms)
      SELECT ${start} + i * ${Math.floor(DAY / BACKLOG)}, printf('%016x-AMS', i * 2654435761),
        'get', 'demo-reports', printf('reports/2026/%02d/customer-%05d/invoice-%07d.pdf', i % 12 + 1, i % 9973, i),
        'allowed', 200, 200, 0, 1024 + (i * 7919) % 4000000, 5 + i % 180,
        printf('203.0.%d.%d', (i / 256) % 256, i % 256), 'NL', 64496 + i % 15, 'AMS',
        'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36',
        'k4.pid.q0cmgY7ovWOZ_qz9K3pn4rYI_cDnXp8o9-lzxydZS7Pe', printf('user-%d', i % 5000),
        printf('%08x-%04x', i, i % 65536), 'GET', 1, 3 + i % 90, 1 + i % 7
      FROM n`);
    // The four rows of the test before, not archived yet, go with the backlog.
    const total = BACKLOG + 4;
    let archived = 0;
    let seconds = 0;
    for (let r = 0; r < 10 && archived < total; r++) {
      const began = performance.now();
      const { status, outcome } = await cronRun(stack, (clock = Math.max(clock + 1000, Date.now())));
      seconds += (performance.now() - began) / 1000;
      assert.equal(status, 200, outcome);
      assert.doesNotMatch(stack.output(), /audit (sealing|archiving) failed/);
      const [{ rows }] = await stack.sql("SELECT COALESCE(SUM(row_count), 0) AS rows FROM audit_archives WHERE kind = 'rows' AND seal_id > 1");
      console.log(`run ${r + 1}: ${rows - archived} rows sealed and archived in ${seconds.toFixed(2)} s so far`);
      archived = rows;
    }
    assert.equal(archived, total);
    const objects = await stack.sql("SELECT SUM(bytes) AS bytes FROM audit_archives WHERE kind = 'rows' AND seal_id > 1");
    console.log(
      `archive throughput: ${total} rows sealed and archived in ${seconds.toFixed(1)} s: ${Math.round(total / seconds)} rows/s; ${objects[0].bytes} bytes of gzip NDJSON (${(objects[0].bytes / total).toFixed(1)} bytes a row)`,
    );
    // Over the budget (0 MB), every archived row left D1, in steps, oldest first.
    assert.deepEqual(await stack.sql('SELECT COUNT(*) AS n FROM audit_log'), [{ n: 0 }]);
    console.log(stack.output().split('\n').filter((l) => l.includes('audit retention:')).slice(-3).join('\n'));
  });
});

// End to end: the attacker's suite. Every case in adversarial/cases.mjs is one hostile request
// (after an optional prelude) sent through workerd to the gatekeeper, with s3s-fs behind it. For
// each case this checks the reply (status and error code), that S3's files changed exactly as
// they should (nothing for a refusal, the exact bytes for an allowed write), and that the case's
// audit row is there and tells the truth.
//
// The requests are all sent first, in order, from `before`; the audit log is then read once (a
// `wrangler d1 execute` per case would take minutes), and each case's checks are its own test.
// Each case carries a unique `User-Agent`, which is how its row is found, and by default its own
// caller IP, so that the refusal flood bound never hides one case's row behind another's.
//
// Grants are built here from each case's description and signed with node:crypto (Ed25519 for
// v4.public and v2.public, P-384 for v3.public, RSA-PSS for v1.public), so that a case can sign
// exactly the bytes it wants: duplicate JSON keys, wrong types, odd footers, implicit assertions.
// One grant per run is also minted by the npm `paseto` package and must be, byte for byte, the
// token this signer makes of the same claims (Ed25519 is deterministic), which keeps it honest.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import {
  createHash,
  createPrivateKey,
  generateKeyPairSync,
  randomBytes,
  randomUUID,
  sign as cryptoSign,
  constants as cryptoConstants,
} from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { startStack, startMiniflare, LOCAL } from '../../scripts/lib/stack.mjs';
import { APP_ORIGIN, OBJECTS, cases } from './adversarial/cases.mjs';

const RUN = randomBytes(3).toString('hex');
const marker = (id) => `adv/${RUN}/${id};`;
const CLOCK_SKEW = 60;

/** Everything learnt about each case while sending it, by id. */
const results = new Map();
let main;
const sides = {};

// ---------------------------------------------------------------------------------------------
// PASETO, by hand (only what the cases need).

const b64url = (buf) => Buffer.from(buf).toString('base64url');

/** PASETO's pre-authentication encoding. */
function pae(...pieces) {
  const le64 = (n) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(n) & 0x7fffffffffffffffn);
    return b;
  };
  return Buffer.concat([le64(pieces.length), ...pieces.flatMap((p) => [le64(p.length), p])]);
}

/** An Ed25519 private key from a `k4.secret` PASERK (seed, then public key). */
function ed25519FromPaserk(paserk) {
  const raw = Buffer.from(paserk.trim().replace(/^k4\.secret\./, ''), 'base64url');
  return createPrivateKey({
    key: { kty: 'OKP', crv: 'Ed25519', d: b64url(raw.subarray(0, 32)), x: b64url(raw.subarray(32)) },
    format: 'jwk',
  });
}

// Keys of other PASETO versions, made once per run.
const otherKeys = {
  p384: generateKeyPairSync('ec', { namedCurve: 'P-384' }),
  rsa: generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 65537 }),
};

function compressedP384(publicKey) {
  const { x, y } = publicKey.export({ format: 'jwk' });
  const yb = Buffer.from(y, 'base64url');
  return Buffer.concat([Buffer.from([yb[yb.length - 1] & 1 ? 3 : 2]), Buffer.from(x, 'base64url')]);
}

/** Signs `payload` with `footer` and `implicit` as a `version.purpose` token. */
function seal({ version, purpose, edKey, payload, footer, implicit }) {
  const header = Buffer.from(`${version}.${purpose}.`);
  const tail = footer.length ? `.${b64url(footer)}` : '';
  if (purpose === 'local') {
    // Not a real encryption (no XChaCha20 in node:crypto): the gatekeeper must refuse the
    // version and purpose before it looks any further, whatever the bytes.
    return `${header}${b64url(Buffer.concat([randomBytes(32), payload, randomBytes(32)]))}${tail}`;
  }
  let signature;
  switch (version) {
    case 'v4':
      signature = cryptoSign(null, pae(header, payload, footer, implicit), edKey);
      break;
    case 'v2':
      signature = cryptoSign(null, pae(header, payload, footer), edKey);
      break;
    case 'v3':
      signature = cryptoSign('sha384', pae(compressedP384(otherKeys.p384.publicKey), header, payload, footer, implicit), {
        key: otherKeys.p384.privateKey,
        dsaEncoding: 'ieee-p1363',
      });
      break;
    case 'v1':
      signature = cryptoSign('sha384', pae(header, payload, footer), {
        key: otherKeys.rsa.privateKey,
        padding: cryptoConstants.RSA_PKCS1_PSS_PADDING,
        saltLength: 48,
      });
      break;
    default:
      throw new Error(`unknown version ${version}`);
  }
  return `${header}${b64url(Buffer.concat([payload, signature]))}${tail}`;
}

// ---------------------------------------------------------------------------------------------
// Building a case's grants.

const iso = (seconds) => new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Fills `{{…}}` placeholders: times, key ids, the audience, this case's sub and jti. */
function fill(text, ctx) {
  return text.replace(/\{\{([^}]+)\}\}/g, (_, name) => {
    let m;
    if ((m = /^now([+-]\d+)?$/.exec(name))) return iso(ctx.now + Number(m[1] ?? 0));
    if ((m = /^unix:now([+-]\d+)?$/.exec(name))) return String(ctx.now + Number(m[1] ?? 0));
    if ((m = /^spaced:now([+-]\d+)?$/.exec(name))) return iso(ctx.now + Number(m[1] ?? 0)).replace('T', ' ');
    if ((m = /^kid:(\w+)$/.exec(name))) return ctx.keys[m[1]].id;
    if ((m = /^public:(\w+)$/.exec(name))) return ctx.keys[m[1]].public;
    if ((m = /^repeat:(.+):(\d+)$/.exec(name))) return m[1].repeat(Number(m[2]));
    if (name === 'aud') return LOCAL.audience;
    if (name === 'sub') return ctx.sub;
    if (name === 'jti') return ctx.jti;
    if (name === 'token') return ctx.tokens[0] ?? '';
    if (name === 'host') return ctx.host;
    if (name === 'ua') return ctx.ua;
    if (name === 'ip') return ctx.ip ?? '';
    throw new Error(`unknown placeholder {{${name}}}`);
  });
}

/** A claim value: `@now±N` is a time, strings get their placeholders filled. */
function claimValue(v, ctx) {
  if (typeof v === 'string') {
    const m = /^@now([+-]\d+)?$/.exec(v);
    if (m) return iso(ctx.now + Number(m[1] ?? 0));
    return fill(v, ctx);
  }
  return v;
}

/** Applies one textual change to a finished token. */
function mutate(token, how) {
  const [head, body, footer] = [token.split('.').slice(0, 2).join('.'), token.split('.')[2], token.split('.')[3]];
  const withBody = (b) => [head, b, ...(footer === undefined ? [] : [footer])].join('.');
  const bytes = Buffer.from(body, 'base64url');
  switch (how) {
    case 'flip-signature': {
      bytes[bytes.length - 1] ^= 0x01;
      return withBody(b64url(bytes));
    }
    case 'flip-payload': {
      bytes[5] ^= 0x20;
      return withBody(b64url(bytes));
    }
    case 'drop-last-char': {
      // Cut to a length no base64url string has (4n + 1), so no signature bytes remain to try.
      let cut = body.slice(0, -1);
      while (cut.length % 4 !== 1) cut = cut.slice(0, -1);
      return withBody(cut);
    }
    case 'drop-signature-byte':
      return withBody(b64url(bytes.subarray(0, bytes.length - 1)));
    case 'only-payload':
      return withBody(b64url(bytes.subarray(0, bytes.length - 64)));
    case 'only-header':
      return `${head}.`;
    case 'no-footer':
      return withBody(body);
    case 'footer-dropped-char':
      return `${withBody(body).split('.').slice(0, 3).join('.')}.${footer.slice(0, -1)}`;
    case 'pad':
      return withBody(body + '='.repeat((4 - (body.length % 4)) % 4 || 2));
    case 'standard-base64':
      return withBody(body.replaceAll('-', '+').replaceAll('_', '/'));
    case 'footer-standard-base64':
      return `${withBody(body)}.${Buffer.from(footer, 'base64url').toString('base64')}`;
    case 'non-canonical-tail': {
      // The last character carries unused low bits; setting them encodes the same bytes.
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const unused = { 2: 4, 3: 2 }[body.length % 4];
      if (!unused) throw new Error('this token has no unused bits to set');
      const last = alphabet.indexOf(body.at(-1));
      return withBody(body.slice(0, -1) + alphabet[last | ((1 << unused) - 1)]);
    }
    case 'upper-header':
      return token.replace(/^v4\.public\./, 'V4.PUBLIC.');
    case 'upper-version':
      return token.replace(/^v4\./, 'V4.');
    case 'swap-case-body': {
      // Every letter but the last, which could otherwise turn into a non-canonical final character.
      const swapped = [...body.slice(0, -1)].map((c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase()));
      return withBody(swapped.join('') + body.at(-1));
    }
    case 'extra-dot':
      return `${token}.`;
    case 'extra-segment':
      return `${token}.e30`;
    case 'space-inside':
      return withBody(`${body.slice(0, 10)} ${body.slice(10)}`);
    case 'percent-encoded':
      return encodeURIComponent(token).replaceAll('.', '%2E');
    case 'whitespace-around':
      return `\t${token}\t`;
    default:
      throw new Error(`unknown mutation ${how}`);
  }
}

/** The default claims of a grant, for `op`, before the case's own. */
function defaultClaims(spec, ctx) {
  const op = spec.claims?.op ?? 'get';
  const claims = { aud: LOCAL.audience, sub: ctx.sub, op, iat: iso(ctx.now), exp: iso(ctx.now + 300) };
  if (op === 'put' || op === 'delete') claims.jti = ctx.jti;
  return claims;
}

/** One grant token from its description. */
function buildToken(spec, ctx) {
  if (spec.literal !== undefined) return { token: fill(spec.literal, ctx) };
  const signer = spec.signer ?? 'vendor';
  const key = ctx.keys[signer];
  let claims;
  let payload;
  if (spec.payload !== undefined) {
    payload = Buffer.from(fill(spec.payload, ctx));
    try {
      claims = JSON.parse(payload);
    } catch {
      claims = undefined;
    }
  } else {
    claims = defaultClaims(spec, ctx);
    for (const [k, v] of Object.entries(spec.claims ?? {})) {
      if (v === null) delete claims[k];
      else claims[k] = claimValue(v, ctx);
    }
    payload = Buffer.from(JSON.stringify(claims));
  }
  let footer;
  if (spec.footer === null) footer = Buffer.alloc(0);
  else if (spec.footer !== undefined) footer = Buffer.from(fill(spec.footer, ctx));
  else footer = Buffer.from(JSON.stringify({ kid: key.id }));
  let token = seal({
    version: spec.version ?? 'v4',
    purpose: spec.purpose ?? 'public',
    edKey: ed25519FromPaserk(readFileSync(key.file, 'utf8')),
    payload,
    footer,
    implicit: Buffer.from(spec.implicit ?? ''),
  });
  if (spec.graft) {
    // Other claims, with the genuine token's signature.
    const parts = token.split('.');
    const signature = Buffer.from(parts[2], 'base64url').subarray(-64);
    const grafted = Buffer.from(JSON.stringify({ ...claims, ...spec.graft }));
    parts[2] = b64url(Buffer.concat([grafted, signature]));
    token = parts.join('.');
  }
  for (const how of spec.mutate ?? []) {
    const changed = mutate(token, how);
    // A mutation that changed nothing would test the genuine grant instead.
    if (changed === token) throw new Error(`${how} left the token as it was`);
    token = changed;
  }
  return { token, claims, keyId: key.id, signer };
}

// ---------------------------------------------------------------------------------------------
// Sending requests.

function bodyBytes(body, ctx) {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return Buffer.from(fill(body, ctx));
  if (body.repeat !== undefined) return Buffer.from(body.repeat.repeat(body.times));
  if (body.object !== undefined) return Buffer.from(OBJECTS[body.object]);
  throw new Error('unknown body');
}

/** Default headers of a request of the case: its marker, caller IP and grants. */
function baseHeaders(req, ctx) {
  const headers = [['user-agent', ctx.ua + (req.uaSuffix ? fill(req.uaSuffix, ctx) : '')]];
  if (ctx.ip !== null && ctx.ip !== undefined) headers.push(['cf-connecting-ip', ctx.ip]);
  const auth = req.auth !== undefined ? req.auth : ctx.tokens.length ? `Bearer ${ctx.tokens.join(', ')}` : null;
  if (auth !== null) headers.push(['authorization', fill(auth, ctx)]);
  return headers;
}

/** Parses a raw HTTP/1.1 reply (the first one on the socket). */
function parseReply(buf, method) {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return { status: 0, headers: {}, body: buf, raw: buf.toString('latin1') };
  const head = buf.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(head[0].split(' ')[1]);
  const headers = {};
  for (const line of head.slice(1)) {
    const i = line.indexOf(':');
    const name = line.slice(0, i).trim().toLowerCase();
    headers[name] = headers[name] === undefined ? line.slice(i + 1).trim() : `${headers[name]}, ${line.slice(i + 1).trim()}`;
  }
  let body = buf.subarray(end + 4);
  if (method === 'HEAD' || status === 204 || status === 304) body = Buffer.alloc(0);
  else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    const parts = [];
    let at = 0;
    for (;;) {
      const eol = body.indexOf('\r\n', at);
      if (eol < 0) break;
      const size = parseInt(body.subarray(at, eol).toString(), 16);
      if (!size) break;
      parts.push(body.subarray(eol + 2, eol + 2 + size));
      at = eol + 2 + size + 2;
    }
    body = Buffer.concat(parts);
  } else if (headers['content-length'] !== undefined) {
    body = body.subarray(0, Number(headers['content-length']));
  }
  return { status, headers, body };
}

/** Sends bytes on a fresh connection and reads the first reply. */
function rawExchange(url, bytes, { method = 'GET', timeoutMs = 15000 } = {}) {
  const { port, hostname } = new URL(url);
  return new Promise((resolve) => {
    const chunks = [];
    const socket = connect(Number(port), hostname, () => {
      // Half-close: the server sees the end of what was sent (a short body stays short).
      socket.write(bytes);
      socket.end();
    });
    const done = () => resolve(parseReply(Buffer.concat(chunks), method));
    socket.on('data', (d) => chunks.push(d));
    socket.on('close', done);
    socket.on('error', done);
    socket.setTimeout(timeoutMs, () => socket.destroy());
  });
}

async function send(target, req, ctx) {
  const method = req.method ?? 'GET';
  const path = fill(req.path, ctx);
  const headers = baseHeaders(req, ctx);
  for (const [name, value] of req.headers ?? []) headers.push([name, fill(value, ctx)]);
  const body = bodyBytes(req.body, ctx);

  if (target.mf) {
    const res = await target.mf.dispatchFetch(`http://gatekeeper.test${path}`, {
      method,
      headers,
      body,
      cf: req.cf,
    });
    return { status: res.status, headers: Object.fromEntries(res.headers), body: Buffer.from(await res.arrayBuffer()) };
  }
  if (req.raw || req.rawRequest) {
    let bytes;
    if (req.rawRequest) {
      bytes = Buffer.from(fill(req.rawRequest, { ...ctx, host: new URL(target.url).host }), 'latin1');
    } else {
      const lines = [`${method} ${path} HTTP/1.1`, `host: ${new URL(target.url).host}`, 'connection: close'];
      for (const [name, value] of headers) lines.push(`${name}: ${value}`);
      if (body !== undefined && !headers.some(([n]) => /^(content-length|transfer-encoding)$/i.test(n))) {
        lines.push(`content-length: ${body.length}`);
      }
      bytes = Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body ?? Buffer.alloc(0)]);
      if (req.rawTail) bytes = Buffer.concat([bytes, Buffer.from(req.rawTail, 'latin1')]);
    }
    return rawExchange(target.url, bytes, { method });
  }
  const res = await fetch(`${target.url}${path}`, {
    method,
    headers,
    body,
    redirect: 'manual',
    signal: AbortSignal.timeout(15000),
  });
  return { status: res.status, headers: Object.fromEntries(res.headers), body: Buffer.from(await res.arrayBuffer()) };
}

// ---------------------------------------------------------------------------------------------
// S3's files.

/** Every file s3s-fs holds, by path relative to its data folder, with its SHA-256. */
function snapshot(dir) {
  const files = new Map();
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else files.set(relative(dir, path), createHash('sha256').update(readFileSync(path)).digest('hex'));
    }
  };
  if (existsSync(dir)) walk(dir);
  return files;
}

function diff(beforeFiles, afterFiles) {
  const changes = [];
  for (const [path, hash] of afterFiles) {
    if (!beforeFiles.has(path)) changes.push(`+${path}`);
    else if (beforeFiles.get(path) !== hash) changes.push(`~${path}`);
  }
  for (const path of beforeFiles.keys()) if (!afterFiles.has(path)) changes.push(`-${path}`);
  return changes.sort();
}

// ---------------------------------------------------------------------------------------------
// Running a case.

/** A caller IP of its own for each case, so no case's row is lost to another's flood bound. */
const autoIp = (n) => `100.${64 + Math.floor(n / 62500)}.${Math.floor(n / 250) % 250}.${(n % 250) + 1}`;

async function runCase(c, n) {
  const target = c.stack ? sides[c.stack] : main;
  const keys = target.keys;
  const ctx = {
    now: Math.floor(Date.now() / 1000),
    keys,
    sub: `adv-${c.id}`,
    jti: randomUUID(),
    ua: marker(c.id),
    ip: c.request.ip === undefined ? autoIp(n) : c.request.ip,
    tokens: [],
  };
  const built = (c.grants ?? []).map((g) => buildToken(g, ctx));
  ctx.tokens = built.map((b) => b.token);
  const result = { built, ctx, prelude: [], target };
  const chosen = (use) => (use ? use.map((i) => ctx.tokens[i]) : ctx.tokens);
  if (c.sameMinute) {
    // A flood and what follows it must fall within one minute, which is what the bound counts.
    const left = 60_000 - (Date.now() % 60_000);
    if (left < c.sameMinute) await new Promise((r) => setTimeout(r, left + 200));
  }

  for (const step of c.prelude ?? []) {
    for (let i = 0; i < (step.repeat ?? 1); i++) {
      const stepCtx = {
        ...ctx,
        ua: `${ctx.ua}pre`,
        ip: step.ip === undefined ? ctx.ip : step.ip && step.ip.replace('{{i}}', (i + 1).toString(16)),
        tokens: chosen(step.use ?? c.request.use),
      };
      const reply = await send(target, { ...c.request, ...step }, stepCtx);
      result.prelude.push(reply.status);
    }
  }
  if (c.waitFor) {
    // Wait until the moment named: `exp+skew` is the last second the grant is still accepted.
    const exp = Date.parse(built[0].claims.exp) / 1000;
    const at = (exp + CLOCK_SKEW) * 1000 + c.waitFor.ms;
    await new Promise((r) => setTimeout(r, Math.max(0, at - Date.now())));
  }
  const dataDir = target.dataDir;
  const beforeFiles = snapshot(dataDir);
  result.reply = await send(target, c.request, { ...ctx, tokens: chosen(c.request.use) });
  // A write's row is completed, and a cut stream's noticed, just after the reply.
  await new Promise((r) => setTimeout(r, c.request.method === 'PUT' || c.request.method === 'DELETE' ? 150 : 20));
  result.changes = diff(beforeFiles, snapshot(dataDir));
  result.dataDir = dataDir;
  return result;
}

// ---------------------------------------------------------------------------------------------
// The stacks.

const SIGNERS = ['approver', 'stranger', 'reader', 'retired', 'future'];

before(async () => {
  main = await startStack({
    signers: SIGNERS,
    vars: (keys) => ({
      VENDOR_KEYS: JSON.stringify([
        { public: keys.vendor.public, id: keys.vendor.id },
        { public: keys.approver.public },
        { public: keys.reader.public, operations: ['get', 'head'] },
        { public: keys.retired.public, not_after: '2020-01-01T00:00:00Z' },
        { public: keys.future.public, not_before: '2100-01-01T00:00:00Z' },
      ]),
      MULTISIG: JSON.stringify([
        { operations: ['get', 'put', 'list', 'delete'], prefix: 'finance/', signatures: 2, keys: [keys.vendor.id, keys.approver.id] },
      ]),
      ACL: JSON.stringify({ ip: { allow: ['0.0.0.0/0', '::/0'], deny: ['203.0.113.0/24', '2001:db8:bad::/48'] } }),
      ALLOWED_ORIGINS: JSON.stringify([APP_ORIGIN]),
      DELETE_ENABLED: 'true',
      MAX_UPLOAD_BYTES: String(64 * 1024),
    }),
    objects: OBJECTS,
  });
  main.dataDir = join(main.dataDir, LOCAL.bucket);

  // Per-request `request.cf` needs Miniflare's dispatchFetch; a broken setting needs its own
  // Worker. Both run the same built Worker in workerd, with a local D1 and s3s-fs.
  const country = await startMiniflare({
    vars: { ACL: { country: { allow: ['US', 'GB'], unknown: 'deny', tor: 'deny' } } },
    objects: { 'adv/read.csv': OBJECTS['adv/read.csv'] },
  });
  sides.country = { ...country, dataDir: join(country.dataDir, LOCAL.bucket), keys: { vendor: country.key } };
  const broken = await startMiniflare({
    // A rule without `keys` would count any trusted key, the same one twice over included.
    vars: { MULTISIG: JSON.stringify([{ operations: ['get'], prefix: 'finance/', signatures: 1 }]) },
    objects: { 'adv/read.csv': OBJECTS['adv/read.csv'] },
  });
  sides.misconfigured = { ...broken, dataDir: join(broken.dataDir, LOCAL.bucket), keys: { vendor: broken.key } };

  for (const [n, c] of cases.entries()) {
    try {
      results.set(c.id, await runCase(c, n));
    } catch (err) {
      results.set(c.id, { error: err });
    }
  }

  // The audit rows, read once per Worker.
  await main.settled();
  const all = await main.sql(`SELECT * FROM audit_log WHERE user_agent LIKE 'adv/${RUN}/%' ORDER BY id`);
  const miniRows = async (gk) =>
    (await gk.db.prepare(`SELECT * FROM audit_log WHERE user_agent LIKE ? ORDER BY id`).bind(`adv/${RUN}/%`).all()).results;
  const rowsBy = { main: all, country: await miniRows(sides.country), misconfigured: await miniRows(sides.misconfigured) };
  for (const c of cases) {
    const r = results.get(c.id);
    if (r.error) continue;
    const mine = rowsBy[c.stack ?? 'main'].filter((row) => row.user_agent?.startsWith(marker(c.id)));
    r.preludeRows = mine.filter((row) => row.user_agent.startsWith(`${marker(c.id)}pre`));
    r.rows = mine.filter((row) => !row.user_agent.startsWith(`${marker(c.id)}pre`));
  }
});

after(async () => {
  await main?.stop();
  await sides.country?.stop();
  await sides.misconfigured?.stop();
});

// ---------------------------------------------------------------------------------------------
// The checks.

// Refusals decided before any grant signature is verified: the row must not name a user or key,
// whatever the token claims.
const UNVERIFIED = new Set([
  'grant_missing', 'grant_too_many', 'grant_too_long', 'grant_malformed', 'grant_unknown_key', 'grant_bad_signature',
  'ip_unknown', 'ip_denied', 'ip_not_allowed', 'country_unknown', 'country_tor', 'country_denied', 'country_not_allowed',
  'origin_not_allowed', 'bad_key', 'no_route', 'method_not_allowed', 'uri_too_long', 'bad_query', 'misconfigured',
  'operation_disabled', 'unsupported_parameter', 'multipart_bad_query',
]);

/** The order the gatekeeper names verified signers in: MULTISIG `keys`, then VENDOR_KEYS. */
const SIGNER_ORDER = ['vendor', 'approver', 'reader', 'retired', 'future'];

/**
 * The signers the row must name, in the gatekeeper's order, or null when the case leaves it open:
 * by default every grant when the outcome implies their signatures verified, none otherwise.
 */
function signers(c, r) {
  const a = c.expect.audit ?? {};
  if (a.identity === 'any') return null;
  const code = c.expect.code ?? 'allowed';
  const verified = a.identity ?? (UNVERIFIED.has(code) ? [] : r.built.map((_, i) => i));
  return verified
    .map((i) => r.built[i])
    .sort((x, y) => SIGNER_ORDER.indexOf(x.signer) - SIGNER_ORDER.indexOf(y.signer))
    // An empty jti is no id: it is recorded as none.
    .map((b) => ({ key_id: b.keyId, sub: b.claims?.sub ?? null, jti: b.claims?.jti || null }));
}

for (const c of cases) {
  test(`${c.id}: ${c.why}`, () => {
    const r = results.get(c.id);
    if (r.error) throw r.error;
    const { reply, ctx } = r;
    const want = c.expect;
    const said = reply.body.toString('utf8');

    // The reply.
    if (want.prelude) assert.deepEqual(r.prelude, want.prelude, 'prelude statuses');
    const rowsSaid = JSON.stringify((r.rows ?? []).map((x) => [x.decision, x.status, x.operation, x.object_key]));
    // A list of statuses: what the local runtime answers where it, not the gatekeeper, replies.
    const statuses = [want.status].flat();
    assert.ok(statuses.includes(reply.status), `status ${reply.status}, not ${statuses}; body: ${said.slice(0, 200)}; rows: ${rowsSaid}`);
    if (want.code !== undefined && want.code !== null) {
      let code;
      try {
        code = JSON.parse(said).error.code;
      } catch {
        assert.fail(`not a JSON error: ${said.slice(0, 200)}`);
      }
      assert.equal(code, want.code, 'error code');
    }
    if (want.body !== undefined) {
      const expected = typeof want.body === 'string' ? Buffer.from(want.body) : Buffer.from(OBJECTS[want.body.object]);
      assert.ok(reply.body.equals(expected), `body: got ${said.slice(0, 120)}`);
    }
    for (const [name, value] of Object.entries(want.headers ?? {})) {
      assert.equal(reply.headers[name] ?? null, value, `header ${name}`);
    }
    for (const [name, bad] of Object.entries(want.headersNotMatching ?? {})) {
      assert.doesNotMatch(reply.headers[name] ?? '', new RegExp(bad, 'i'), `header ${name}`);
    }

    // S3's files: a refusal leaves them as they were; a write changes exactly its key.
    const s3 = want.s3 ?? { unchanged: true };
    if (s3.unchanged) assert.deepEqual(r.changes, [], 'S3 received nothing');
    if (s3.put !== undefined) {
      assert.deepEqual(r.changes.map((p) => p.slice(1)), [s3.put], 'exactly the granted key was written');
      const stored = readFileSync(join(r.dataDir, s3.put));
      assert.ok(stored.equals(bodyBytes(s3.bytes, ctx)), `stored bytes: ${stored.toString().slice(0, 80)}`);
    }
    if (s3.deleted !== undefined) {
      assert.deepEqual(r.changes, [`-${s3.deleted}`], 'exactly the granted key was deleted');
    }

    // The audit row.
    if (want.preludeRows !== undefined) assert.equal(r.preludeRows.length, want.preludeRows, 'prelude audit rows');
    if (want.audit === 'none') {
      assert.equal(r.rows.length, 0, `no audit row: ${rowsSaid}`);
      return;
    }
    assert.equal(r.rows.length, 1, `one audit row: ${JSON.stringify(r.rows.map((x) => x.decision))}`);
    const [row] = r.rows;
    // Every message below carries the row, so a failure shows what the log said instead.
    const shown = JSON.stringify({ ...row, user_agent: undefined, request_id: undefined });
    const a = want.audit ?? {};
    assert.equal(row.decision, want.decision ?? want.code ?? 'allowed', `audit decision: ${shown}`);
    assert.equal(row.status, a.status ?? want.status, `audit status: ${shown}`);
    if ('op' in a) assert.equal(row.operation, a.op, `audit operation: ${shown}`);
    if ('key' in a) assert.equal(row.object_key, a.key, `audit object_key: ${shown}`);
    if (a.userAgentBytes) assert.equal(Buffer.byteLength(row.user_agent), a.userAgentBytes, `user agent cut: ${shown}`);
    if (a.requestIdBytes) assert.ok(Buffer.byteLength(row.request_id) <= a.requestIdBytes, `request id cut: ${shown}`);
    if ('s3_status' in a) assert.equal(row.s3_status, a.s3_status, `audit s3_status: ${shown}`);
    if ('bytes_in' in a) assert.equal(row.bytes_in, a.bytes_in, `audit bytes_in: ${shown}`);
    if ('bytes_out' in a) assert.equal(row.bytes_out, a.bytes_out, `audit bytes_out: ${shown}`);
    if ('origin' in a) assert.equal(row.origin, a.origin, `audit origin: ${shown}`);
    if ('country' in a) assert.equal(row.country, a.country, `audit country: ${shown}`);
    const ip = 'ip' in a ? a.ip : ctx.ip;
    if (ip !== 'any') assert.equal(row.ip, ip, `audit ip: ${shown}`);
    // The method exactly as sent: a refused method must be on record; on a log with a method
    // column, every row's must be the one sent.
    if (a.method !== undefined || 'method' in row) {
      assert.equal(row.method, a.method ?? c.request.method ?? 'GET', `audit method: ${shown}`);
    }
    const who = signers(c, r);
    if (who) {
      const [first = { key_id: null, sub: null, jti: null }] = who;
      assert.equal(row.key_id, first.key_id, `audit key_id: ${shown}`);
      assert.equal(row.sub, first.sub, `audit sub: ${shown}`);
      assert.equal(row.jti, first.jti, `audit jti: ${shown}`);
      if ('signers' in row) {
        // '1': the one signer is the row's own key_id, sub and jti (migration 0014).
        const stored = row.signers === '1' ? [{ key_id: row.key_id, sub: row.sub, jti: row.jti }] : row.signers === null ? null : JSON.parse(row.signers);
        assert.deepEqual(stored, who.length ? who : null, `audit signers: ${shown}`);
      }
    }
  });
}

test('the hand-made signer agrees with the npm paseto package', async () => {
  const { PublicProtocol } = await import('paseto');
  const { ImportSecretKeyFactory, SignFactory } = await import('paseto/v4/public');
  const v4 = new PublicProtocol(ImportSecretKeyFactory, SignFactory);
  const key = await v4.ImportSecretKey(readFileSync(main.keys.vendor.file, 'utf8').trim());
  const footer = new TextEncoder().encode(JSON.stringify({ kid: main.keys.vendor.id }));
  const claims = { aud: LOCAL.audience, sub: 'paseto-npm', op: 'get', key: 'adv/read.csv' };
  const now = new Date();
  const theirs = await v4.Sign(key, claims, { footer, expiresIn: 60, now });
  const payload = JSON.parse(Buffer.from(theirs.split('.')[2], 'base64url').subarray(0, -64));
  const ours = seal({
    version: 'v4',
    purpose: 'public',
    edKey: ed25519FromPaserk(readFileSync(main.keys.vendor.file, 'utf8')),
    payload: Buffer.from(JSON.stringify(payload)),
    footer: Buffer.from(footer),
    implicit: Buffer.alloc(0),
  });
  assert.equal(ours, theirs, 'Ed25519 is deterministic: the same claims give the same token');
});

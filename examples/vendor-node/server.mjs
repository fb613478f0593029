#!/usr/bin/env node
// A reference vendor server: it mints grants for the vendor's web page, which then calls the
// customer's gatekeeper directly from the user's browser. No data passes through here; this
// server only decides who may do what, and signs that decision.
//
//   VENDOR_SECRET_KEY="$(cat vendor.key)" VENDOR_KEY_ID=k4.pid.… \
//   GATEKEEPER_ID=acme-reports-gatekeeper GATEKEEPER_URL=https://gatekeeper.acme.example \
//   PAGE_ORIGIN=https://app.vendor.example DEMO_SESSION=s3cr3t PORT=8790 node server.mjs
//
//   POST /grants   {"op": "get", "key": "reports/q3.csv"}
//               or {"op": "put", "key": "uploads/<user>/notes.csv", "content_type": "text/csv", "size": 1234}
//               or {"op": "put", "key": "uploads/<user>/film.mp4", "size": 314572800, "multipart": true}
//     → 200 {"token": "v4.public.…", "gatekeeper": "https://…", "op": …, "key": …, "expires_in": 120, …}
//   POST /links    {"key": "reports/q3.csv", "filename": "q3.csv"}
//     → 200 {"url": "https://…/objects/reports/q3.csv?grant=v4.public.…", "expires_in": 60}
//     (a link for <a href>, <img> or <video>; the gatekeeper must have GRANT_IN_QUERY = "on")
//   GET /session   → 200 {"user": "…", "gatekeeper": "https://…"}
//
// Errors have the gatekeeper's shape, {"error": {"code": "…", "message": "…"}}, so a page shows
// both the same way.
//
// Two functions are meant to be replaced by the vendor's own: authenticate(), which here accepts
// one demo session token, and authorize(), which here is a fixed rule. Everything else is what a
// production server needs as it is: CORS for the vendor's page only, bounded request bodies,
// short-lived grants for exactly one operation on one key.

import { createServer } from 'node:http';
import { timingSafeEqual, createHash } from 'node:crypto';
import { grantMinter } from './grant.mjs';

const settings = {
  secretKey: required('VENDOR_SECRET_KEY'),
  keyId: required('VENDOR_KEY_ID'),
  audience: required('GATEKEEPER_ID'),
  gatekeeper: required('GATEKEEPER_URL').replace(/\/+$/, ''),
  pageOrigin: required('PAGE_ORIGIN').replace(/\/+$/, ''),
  port: Number(process.env.PORT ?? 8790),
  demoSession: required('DEMO_SESSION'),
  demoUser: process.env.DEMO_USER ?? 'demo-user',
};

/** Seconds a grant lives: the page spends it at once, so a short life loses nothing. */
const GRANT_TTL_SECONDS = 120;
/**
 * Seconds a link lives. A URL is copied into browser history, proxy logs and screenshots, so it
 * lives far shorter than the gatekeeper's most for links (5 minutes by default): long enough for
 * the user to click it, and for a download or a <video> to start. A transfer that has started
 * is not cut off when its grant expires; a <video> seeking after that needs a new link.
 */
const LINK_TTL_SECONDS = 60;
/** The largest upload this application accepts in one request, in bytes. */
const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;
/** The largest upload this application accepts in parts, in bytes. */
const MAX_MULTIPART_BYTES = 1024 * 1024 * 1024;
/**
 * Seconds a grant for an upload in parts lives: every part is sent with it, so it must outlive
 * the whole upload (the gatekeeper accepts at most GRANT_MAX_LIFETIME_SECONDS, 15 min by default).
 */
const MULTIPART_TTL_SECONDS = 900;
/** The largest request body this server reads, in bytes. */
const MAX_BODY_BYTES = 4096;

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`${name} is not set; see the top of server.mjs`);
    process.exit(2);
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// Replace these two with your application's own.

/**
 * Who is asking: the signed-in user's id, or null. A real application reads its own session
 * here (a cookie, or the token of its sign-in provider). This example accepts exactly one demo
 * session token, sent as `Authorization: Bearer <DEMO_SESSION>`, for the user DEMO_USER.
 *
 * @param {import('node:http').IncomingMessage} req
 * @returns {Promise<string|null>}
 */
async function authenticate(req) {
  const match = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
  if (!match) return null;
  // Compared by hash so the comparison takes the same time whatever the input's length.
  const digest = (s) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(match[1]), digest(settings.demoSession)) ? settings.demoUser : null;
}

/**
 * What the user may do: null if `op` on `key` is allowed, or the reason it is not. This example
 * lets every user read the shared reports and write only into their own upload folder.
 *
 * @param {string} user the id authenticate() returned
 * @param {'get'|'put'} op
 * @param {string} key
 * @returns {string|null}
 */
function authorize(user, op, key) {
  if (op === 'get' && key.startsWith('reports/')) return null;
  if (op === 'put' && key.startsWith(`uploads/${user}/`)) return null;
  return op === 'put' ? `you may upload only under uploads/${user}/` : 'you may read only reports/';
}

// ---------------------------------------------------------------------------------------------

const mint = await grantMinter({ secretKey: settings.secretKey, keyId: settings.keyId });

class Refusal extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/**
 * A key the gatekeeper can reach and that means one thing. The gatekeeper compares keys byte for
 * byte and browsers resolve `.` and `..` in URLs, so such keys, empty segments and control
 * characters are refused here, before authorize() sees them.
 */
function checkKey(key) {
  if (typeof key !== 'string' || key.length === 0) throw new Refusal(400, 'bad_request', '"key" must be a non-empty string');
  if (Buffer.byteLength(key) > 1024) throw new Refusal(400, 'bad_request', '"key" is longer than 1024 bytes');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(key)) throw new Refusal(400, 'bad_request', '"key" has control characters');
  if (key.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    throw new Refusal(400, 'bad_request', '"key" has an empty, "." or ".." segment');
  }
  if (key !== key.normalize('NFC')) throw new Refusal(400, 'bad_request', '"key" must be in Unicode NFC form');
}

/** `type/subtype`, lowercase, without parameters: what the gatekeeper compares exactly. */
const MEDIA_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/;

async function grant(req, user) {
  const body = await readJson(req);
  const { op, key } = body;
  if (op !== 'get' && op !== 'put') throw new Refusal(400, 'bad_request', '"op" must be "get" or "put"');
  checkKey(key);
  const reason = authorize(user, op, key);
  if (reason !== null) throw new Refusal(403, 'forbidden', reason);

  const claims = { audience: settings.audience, sub: user, op, key, ttlSeconds: GRANT_TTL_SECONDS };
  if (op === 'put') {
    const { content_type: contentType, size } = body;
    if (contentType !== undefined && !(typeof contentType === 'string' && MEDIA_TYPE.test(contentType))) {
      throw new Refusal(400, 'bad_request', '"content_type" must be a media type such as text/csv');
    }
    if (size !== undefined && !(Number.isSafeInteger(size) && size >= 0)) {
      throw new Refusal(400, 'bad_request', '"size" must be a number of bytes');
    }
    const multipart = body.multipart === true;
    if (body.multipart !== undefined && typeof body.multipart !== 'boolean') {
      throw new Refusal(400, 'bad_request', '"multipart" must be true or false');
    }
    if (multipart && size === undefined) throw new Refusal(400, 'bad_request', 'an upload in parts needs its "size"');
    const limit = multipart ? MAX_MULTIPART_BYTES : MAX_UPLOAD_BYTES;
    if (size > limit) throw new Refusal(413, 'too_large', `uploads are limited to ${limit} bytes`);
    // The grant allows exactly what the page announced: this size at most, this type only.
    claims.maxSize = size ?? MAX_UPLOAD_BYTES;
    if (contentType !== undefined) claims.contentType = contentType;
    if (multipart) {
      claims.multipart = true;
      claims.ttlSeconds = MULTIPART_TTL_SECONDS;
    }
  }
  const token = await mint(claims);
  const reply = { token, gatekeeper: settings.gatekeeper, op, key, expires_in: claims.ttlSeconds };
  if (op === 'put') {
    reply.max_size = claims.maxSize;
    if (claims.contentType !== undefined) reply.content_type = claims.contentType;
    if (claims.multipart) reply.multipart = true;
  }
  return reply;
}

/**
 * A link to read one object: the grant rides in the URL (`?grant=`), so a plain <a href> can
 * download it. With `filename`, the gatekeeper answers `Content-Disposition: attachment` with
 * that name, which the browser saves the file under.
 */
async function link(req, user) {
  const { key, filename } = await readJson(req);
  checkKey(key);
  const reason = authorize(user, 'get', key);
  if (reason !== null) throw new Refusal(403, 'forbidden', reason);
  if (filename !== undefined) {
    // The gatekeeper refuses a grant with a name that could do harm; saying why here is kinder.
    // eslint-disable-next-line no-control-regex
    const bad = typeof filename !== 'string' || filename === '' || Buffer.byteLength(filename) > 255 || /[\u0000-\u001f\u007f-\u009f/\\]/.test(filename);
    if (bad || filename === '.' || filename === '..') throw new Refusal(400, 'bad_request', '"filename" must be a plain file name');
  }
  const token = await mint({ audience: settings.audience, sub: user, op: 'get', key, ttlSeconds: LINK_TTL_SECONDS, filename });
  const url = `${objectUrl(settings.gatekeeper, key)}?grant=${token}`;
  return { url, key, expires_in: LINK_TTL_SECONDS };
}

/** The gatekeeper's URL for a key: every byte but `A-Z a-z 0-9 - _ . ~ /` percent-encoded. */
function objectUrl(gatekeeper, key) {
  const encode = (segment) =>
    encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${gatekeeper}/objects/${key.split('/').map(encode).join('/')}`;
}

async function readJson(req) {
  if (!/^application\/json(;|$)/.test(req.headers['content-type'] ?? '')) {
    throw new Refusal(415, 'unsupported_media_type', 'send the request as application/json');
  }
  const chunks = [];
  let length = 0;
  for await (const chunk of req) {
    length += chunk.length;
    if (length > MAX_BODY_BYTES) throw new Refusal(413, 'too_large', `the request body is limited to ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  try {
    const value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error();
    return value;
  } catch {
    throw new Refusal(400, 'bad_request', 'the request body must be a JSON object');
  }
}

/**
 * CORS for the vendor's page only. Requests from any other page are refused outright, as the
 * gatekeeper does; requests without an Origin (a script, curl) only need a session.
 */
function cors(req, res) {
  res.setHeader('Vary', 'Origin');
  const origin = req.headers.origin;
  if (origin === undefined) return;
  if (origin !== settings.pageOrigin) throw new Refusal(403, 'origin_not_allowed', 'pages from this origin may not ask for grants');
  res.setHeader('Access-Control-Allow-Origin', origin);
}

const routes = {
  'POST /grants': grant,
  'POST /links': link,
  'GET /session': async (_req, user) => ({ user, gatekeeper: settings.gatekeeper }),
};

async function handle(req, res) {
  cors(req, res);
  const path = new URL(req.url, 'http://localhost').pathname;
  const methods = Object.keys(routes).filter((r) => r.endsWith(` ${path}`)).map((r) => r.split(' ')[0]);
  if (req.method === 'OPTIONS' && req.headers.origin !== undefined && methods.length > 0) {
    if (!methods.includes(req.headers['access-control-request-method'])) throw new Refusal(405, 'method_not_allowed', `use ${methods.join(' or ')}`);
    res.writeHead(204, {
      'Access-Control-Allow-Methods': methods.join(', '),
      'Access-Control-Allow-Headers': 'authorization, content-type',
      'Access-Control-Max-Age': '600',
    });
    res.end();
    return;
  }
  const route = routes[`${req.method} ${path}`];
  if (route === undefined) {
    if (methods.length > 0) throw new Refusal(405, 'method_not_allowed', `use ${methods.join(' or ')}`);
    throw new Refusal(404, 'no_route', 'no such endpoint');
  }
  const user = await authenticate(req);
  if (user === null) throw new Refusal(401, 'unauthenticated', 'sign in first');
  send(res, 200, await route(req, user));
}

function send(res, status, body) {
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(JSON.stringify(body));
}

const server = createServer((req, res) => {
  handle(req, res).catch((err) => {
    if (!(err instanceof Refusal)) {
      console.error(err);
      err = new Refusal(500, 'internal', 'an unexpected fault; no grant was made');
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (err.status === 413) res.setHeader('Connection', 'close');
    send(res, err.status, { error: { code: err.code, message: err.message } });
  });
});

// Loopback only: this example is not meant to face a network as it stands.
server.listen(settings.port, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    server.close();
    server.closeAllConnections();
  });
}

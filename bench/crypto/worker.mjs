// The crypto measurement's worker (docs/benchmarks.md). GET /?op=OP&n=N runs one operation N
// times and answers what it computed, so that the runner can check that both ways agree. The
// runner reads the time from the runtime process's CPU counters, around each request: code in a
// Worker cannot time itself (the clock stands still while it computes).

import wasmModule from './pkg/crypto_bg.wasm';
import { initSync, grant, public_key, sign_sigv4, verify_grant } from './pkg/crypto.js';

initSync({ module: wasmModule });

// What the benchmark's reads carry: a grant for one object, a `k4.pid` footer, and a GET of one
// key signed for one region.
const CLAIMS = JSON.stringify({
  aud: 'bench-gatekeeper', sub: 'user-1', op: 'get', key: 'reports/bench-1k.bin',
  iat: '2026-11-28T10:00:00Z', nbf: '2026-11-28T10:00:00Z', exp: '2026-11-28T10:15:00Z', jti: 'c1b7e0a4-2f1e-4d8e-9a51-3f0b5d6c7e8f',
});
const FOOTER = JSON.stringify({ kid: 'k4.pid.AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCdEf' });
const TOKEN = grant(CLAIMS, FOOTER);
const SECRET = 'gk-local-secret-key-for-loopback-tests-only';
const DATE = '20261128';
const REGION = 'us-east-1';
const CANONICAL = [
  'GET', '/demo-reports/reports/bench-1k.bin', '',
  'host:127.0.0.1:39000', 'x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  `x-amz-date:${DATE}T000000Z`, '', 'host;x-amz-content-sha256;x-amz-date',
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
].join('\n');

const encoder = new TextEncoder();
const subtle = crypto.subtle;

function fromBase64Url(text) {
  const binary = atob(text.replaceAll('-', '+').replaceAll('_', '/'));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** PASETO's pre-authentication encoding of `pieces`. */
function pae(pieces) {
  const le64 = (n) => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
    return b;
  };
  const parts = [le64(pieces.length)];
  for (const p of pieces) parts.push(le64(p.length), p);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// Imported once per isolate: the most favourable case for WebCrypto.
let ed25519Key;

/** The same check of a `v4.public` token as pasetors makes, with WebCrypto's Ed25519. */
async function verifyWithWebCrypto(token) {
  const [version, purpose, body, footer = ''] = token.split('.');
  if (version !== 'v4' || purpose !== 'public') return false;
  const signed = fromBase64Url(body);
  if (signed.length < 64) return false;
  const message = signed.subarray(0, signed.length - 64);
  const signature = signed.subarray(signed.length - 64);
  const m2 = pae([encoder.encode('v4.public.'), message, fromBase64Url(footer), new Uint8Array(0)]);
  return subtle.verify('Ed25519', ed25519Key, signature, m2);
}

async function hmac(key, data) {
  const imported = await subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return new Uint8Array(await subtle.sign('HMAC', imported, typeof data === 'string' ? encoder.encode(data) : data));
}

const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

/** The same SigV4 computation as the wasm side, with WebCrypto's SHA-256 and HMAC. */
async function sigv4WithWebCrypto(secret, date, region, canonical) {
  const hashed = new Uint8Array(await subtle.digest('SHA-256', encoder.encode(canonical)));
  const stringToSign = `AWS4-HMAC-SHA256\n${date}T000000Z\n${date}/${region}/s3/aws4_request\n${hex(hashed)}`;
  const kDate = await hmac(encoder.encode(`AWS4${secret}`), date);
  const kRegion = await hmac(kDate, region);
  const kService = await hmac(kRegion, 's3');
  const kSigning = await hmac(kService, 'aws4_request');
  return hex(await hmac(kSigning, stringToSign));
}

const OPS = {
  noop: async () => 0,
  'grant-wasm': async (n) => verify_grant(n, TOKEN),
  'grant-webcrypto': async (n) => {
    ed25519Key ??= await subtle.importKey('raw', public_key(), { name: 'Ed25519' }, false, ['verify']);
    let ok = 0;
    for (let i = 0; i < n; i++) if (await verifyWithWebCrypto(TOKEN)) ok += 1;
    return ok;
  },
  'sigv4-wasm': async (n) => sign_sigv4(n, SECRET, DATE, REGION, CANONICAL),
  'sigv4-webcrypto': async (n) => {
    let last = '';
    for (let i = 0; i < n; i++) last = await sigv4WithWebCrypto(SECRET, DATE, REGION, CANONICAL);
    return last;
  },
};

export default {
  async fetch(request) {
    const url = new URL(request.url);
    const op = OPS[url.searchParams.get('op')];
    if (!op) return new Response('unknown op', { status: 404 });
    const result = await op(Number(url.searchParams.get('n') ?? 1));
    return Response.json({ result });
  },
};

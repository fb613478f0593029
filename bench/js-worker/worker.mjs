// The Worker a customer would write instead of deploying s3-gatekeeper: check the vendor's PASETO
// grant with the npm package `paseto`, sign the S3 request with `aws4fetch`, record the read in
// the same D1 audit table with one awaited insert, then stream S3's body back.
//
// It is the benchmark's "before": written as a competent customer would, not crippled. Keys are
// imported once per isolate, the AwsClient is reused, and the grant is checked for the same
// things the gatekeeper checks on a read: signature by a trusted key picked by the footer's
// `kid`, `aud`, `exp` (and `nbf`, `iat`), `sub`, `op` and `key`.

import { InspectFooter, PublicProtocol } from 'paseto';
import { ImportPublicKeyFactory, VerifyFactory } from 'paseto/v4/public';
import { AwsClient } from 'aws4fetch';

const v4 = new PublicProtocol(ImportPublicKeyFactory, VerifyFactory);
const decoder = new TextDecoder();

// Per isolate: the trusted keys by k4.pid, and the S3 client.
let keysById;
let aws;

async function trustedKeys(env) {
  keysById ??= (async () => {
    const entries = JSON.parse(env.VENDOR_KEYS);
    const pairs = await Promise.all(entries.map(async ({ id, public: paserk }) => [id, await v4.ImportPublicKey(paserk)]));
    return new Map(pairs);
  })();
  return keysById;
}

function s3(env) {
  aws ??= new AwsClient({
    accessKeyId: env.AWS_ACCESS_KEY_ID,
    secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
    service: 's3',
    region: env.S3_REGION,
  });
  return aws;
}

const INSERT = `INSERT INTO audit_log (time_ms, request_id, operation, bucket, object_key, decision, status,
  s3_status, bytes_in, bytes_out, duration_ms, ip, country, asn, colo, user_agent, origin, key_id, sub, jti, signers, method)
  VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)`;

const json = (status, error) =>
  new Response(JSON.stringify({ error }), { status, headers: { 'content-type': 'application/json' } });

// Headers of S3's reply passed to the caller.
const PASSED = ['content-type', 'content-length', 'content-range', 'etag', 'last-modified', 'accept-ranges', 'cache-control'];

export default {
  async fetch(request, env, ctx) {
    const started = Date.now();
    const url = new URL(request.url);
    const row = {
      operation: null, key: null, decision: 'allowed', status: 200, s3Status: null, bytesOut: null,
      kid: null, sub: null, jti: null,
    };
    const audit = () => {
      // The benchmark counts D1 work from this line (docs/benchmarks.md); off unless asked for.
      if (env.AUDIT_TRACE === 'on') console.log('s3gk-d1 statements=1 transactions=1');
      return env.AUDIT_DB.prepare(INSERT)
        .bind(
          started, request.headers.get('cf-ray') ?? crypto.randomUUID(), row.operation, env.S3_BUCKET, row.key,
          row.decision, row.status, row.s3Status, null, row.bytesOut, Date.now() - started,
          request.headers.get('cf-connecting-ip'), request.cf?.country ?? null, request.cf?.asn ?? null,
          request.cf?.colo ?? null, request.headers.get('user-agent'), request.headers.get('origin'),
          row.kid, row.sub, row.jti,
          row.sub === null ? null : JSON.stringify([{ key_id: row.kid, sub: row.sub, jti: row.jti }]), request.method,
        )
        .run();
    };
    const refuse = async (status, code) => {
      row.decision = code;
      row.status = status;
      await audit();
      return json(status, code);
    };

    if (request.method !== 'GET') return refuse(405, 'method_not_allowed');
    if (!url.pathname.startsWith('/objects/')) return refuse(404, 'not_found');
    row.operation = 'get';
    try {
      row.key = decodeURIComponent(url.pathname.slice('/objects/'.length));
    } catch {
      return refuse(400, 'bad_key');
    }

    const auth = request.headers.get('authorization') ?? '';
    if (!auth.startsWith('Bearer ')) return refuse(401, 'grant_missing');
    const token = auth.slice('Bearer '.length);
    let claims;
    try {
      const { kid } = JSON.parse(decoder.decode(InspectFooter(token)));
      const key = (await trustedKeys(env)).get(kid);
      if (!key) return refuse(401, 'grant_unknown_key');
      row.kid = kid;
      ({ claims } = await v4.Verify(key, token, {
        audience: env.GATEKEEPER_ID,
        clockTolerance: 60,
        maxTokenAge: 15 * 60,
        requiredClaims: ['sub', 'op'],
      }));
    } catch {
      return refuse(401, 'grant_invalid');
    }
    row.sub = typeof claims.sub === 'string' ? claims.sub : null;
    row.jti = typeof claims.jti === 'string' ? claims.jti : null;
    if (claims.op !== 'get' || claims.key !== row.key) return refuse(403, 'grant_mismatch');

    // Path-style URL; each segment encoded as S3 expects.
    const path = row.key.split('/').map(encodeURIComponent).join('/');
    const headers = {};
    for (const name of ['range', 'if-none-match', 'if-modified-since']) {
      const value = request.headers.get(name);
      if (value !== null) headers[name] = value;
    }
    let upstream;
    try {
      upstream = await s3(env).fetch(`${env.S3_ENDPOINT}/${env.S3_BUCKET}/${path}`, { headers });
    } catch {
      return refuse(502, 's3_unreachable');
    }
    row.s3Status = upstream.status;
    row.status = upstream.status;
    row.bytesOut = Number(upstream.headers.get('content-length')) || null;
    if (!upstream.ok && upstream.status !== 304) {
      await upstream.body?.cancel();
      row.decision = 's3_error';
      row.status = upstream.status === 404 ? 404 : 502;
      await audit();
      return json(row.status, row.decision);
    }
    // The row is written before any byte of the object is released.
    await audit();
    const reply = new Headers();
    for (const name of PASSED) {
      const value = upstream.headers.get(name);
      if (value !== null) reply.set(name, value);
    }
    return new Response(upstream.body, { status: upstream.status, headers: reply });
  },
};

// Minting s3-gatekeeper grants on the vendor's server, from docs/grants.md alone.
//
// A grant is a PASETO v4.public token. Its claims name one operation on one key (or a prefix to
// list) for one gatekeeper, for a few minutes; its footer names the signing key's PASERK id.
// Nothing here comes from s3-gatekeeper: only the npm package `paseto`.

import { randomUUID } from 'node:crypto';
import { PublicProtocol } from 'paseto';
import { ImportSecretKeyFactory, SignFactory } from 'paseto/v4/public';

const v4 = new PublicProtocol(ImportSecretKeyFactory, SignFactory);
const OPERATIONS = new Set(['get', 'head', 'put', 'list', 'delete']);

/**
 * A grant minter for one vendor signing key.
 *
 * @param {object} key
 * @param {string} key.secretKey the `k4.secret.…` PASERK (keep it in a secret store)
 * @param {string} key.keyId its `k4.pid.…` id, as `gatekeeper keygen` printed it
 */
export async function grantMinter({ secretKey, keyId }) {
  if (!keyId?.startsWith('k4.pid.')) throw new TypeError('keyId must be the k4.pid of the key');
  const key = await v4.ImportSecretKey(secretKey.trim());
  const footer = new TextEncoder().encode(JSON.stringify({ kid: keyId }));

  /**
   * Mints a grant. Call this only for a user your application has authenticated and authorised
   * for exactly this operation on exactly this key.
   *
   * @param {object} grant
   * @param {string} grant.audience the customer's gatekeeper id (its GATEKEEPER_ID)
   * @param {string} grant.sub your id for the user; it lands in the customer's audit log
   * @param {'get'|'head'|'put'|'list'|'delete'} grant.op
   * @param {string} [grant.key] the object key, byte for byte (every operation but list)
   * @param {string} [grant.prefix] the key prefix (list only)
   * @param {number} [grant.ttlSeconds] lifetime; the gatekeeper refuses more than its maximum (15 min by default)
   * @param {string} [grant.jti] a unique id; generated for put and delete, which need one
   * @param {string} [grant.ip] bind to the user's network (CIDR)
   * @param {number} [grant.maxSize] put: the largest upload in bytes
   * @param {string} [grant.contentType] put: the only Content-Type allowed
   * @param {string} [grant.filename] get, head: the name the reply offers the file under, as an attachment
   * @param {boolean} [grant.multipart] put: allow the upload in parts (needs maxSize, which then
   *   bounds the whole object)
   * @param {Date} [grant.now] the issue time (for tests)
   * @returns {Promise<string>} the token, for `Authorization: Bearer <token>`
   */
  return async function mint({ audience, sub, op, key: objectKey, prefix, ttlSeconds = 300, jti, ip, maxSize, contentType, filename, multipart, now }) {
    if (!OPERATIONS.has(op)) throw new TypeError(`unknown operation ${op}`);
    if ((op === 'list') !== (prefix !== undefined) || (op !== 'list') !== (objectKey !== undefined)) {
      throw new TypeError('list takes a prefix; every other operation takes a key');
    }
    const claims = { aud: audience, sub, op };
    if (objectKey !== undefined) claims.key = objectKey;
    if (prefix !== undefined) claims.prefix = prefix;
    if (jti !== undefined || op === 'put' || op === 'delete') claims.jti = jti ?? randomUUID();
    if (ip !== undefined) claims.ip = ip;
    if (maxSize !== undefined) claims.max_size = maxSize;
    if (contentType !== undefined) claims.content_type = contentType;
    if (filename !== undefined) claims.filename = filename;
    if (multipart) {
      if (op !== 'put' || maxSize === undefined) throw new TypeError('multipart is for put, with maxSize');
      claims.multipart = true;
    }
    // `paseto` sets `iat` and computes `exp` from `expiresIn`, both as RFC 3339 strings.
    return v4.Sign(key, claims, { footer, expiresIn: ttlSeconds, now });
  };
}

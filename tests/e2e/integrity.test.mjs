// Upload integrity end to end, on both S3-compatible servers (s3s-fs and garage): a caller's
// Content-MD5 or x-amz-checksum-sha256 reaches S3 signed and S3 refuses bytes that do not match
// it; a put grant's `sha256` claim binds the grant to one content, so a stolen grant cannot store
// other bytes. Object requests asking for versionId or response-* are refused.
//
// s3s-fs 0.14.1 checks a digest only after it has written the object, and leaves the object in
// place when it answers BadDigest (its put_object); garage, like Amazon S3, stores nothing. So
// "nothing was stored" is checked on garage, and the refusal on both.

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startGarage, garageSettings, startStack } from '../../scripts/lib/stack.mjs';

const CALLER = { 'cf-connecting-ip': '198.51.100.7' };
const BODY = 'region,total\nEU,42\n';
const OTHER = 'region,total\nEU,43\n';
const md5 = (text) => createHash('md5').update(text).digest('base64');
const sha256 = (text, encoding = 'base64') => createHash('sha256').update(text).digest(encoding);

for (const server of ['s3s-fs', 'garage']) {
  describe(`upload integrity on ${server}`, () => {
    let garage;
    let stack;
    let n = 0;
    const storesNothing = server === 'garage';
    /** After a refused upload: nothing under `key` (on a server that checks before storing). */
    const assertNothingStored = async (key) => {
      if (storesNothing) assert.equal(await stored(key), 404, key);
    };

    before(async () => {
      if (server === 'garage') garage = await startGarage();
      stack = await startStack(garage ? { vars: garageSettings(garage) } : {});
    });

    after(async () => {
      await stack?.stop();
      await garage?.stop();
    });

    /** PUTs `body` to a fresh key with a fresh grant (`extra` CLI flags) and `headers`. */
    const put = async (body, headers = {}, extra = []) => {
      const key = `uploads/integrity-${(n += 1)}.csv`;
      const token = await stack.grant({ op: 'put', object: key, extra });
      const reply = await fetch(`${stack.url}/objects/${key}`, {
        method: 'PUT',
        body,
        headers: { authorization: `Bearer ${token}`, ...CALLER, 'content-type': 'text/csv', ...headers },
      });
      const text = await reply.text();
      return { key, status: reply.status, code: reply.ok ? undefined : JSON.parse(text).error.code };
    };

    const stored = async (key) => {
      const token = await stack.grant({ object: key });
      const reply = await fetch(`${stack.url}/objects/${key}`, { headers: { authorization: `Bearer ${token}`, ...CALLER } });
      return reply.status === 200 ? reply.text() : reply.status;
    };

    test('a matching Content-MD5 stores the upload; a wrong one stores nothing', async () => {
      const good = await put(BODY, { 'content-md5': md5(BODY) });
      assert.equal(good.status, 200);
      assert.equal(await stored(good.key), BODY);

      const bad = await put(OTHER, { 'content-md5': md5(BODY) });
      assert.deepEqual([bad.status, bad.code], [400, 'digest_mismatch']);
      await assertNothingStored(bad.key);
    });

    test('a matching x-amz-checksum-sha256 stores the upload; a wrong one stores nothing', async () => {
      const good = await put(BODY, { 'x-amz-checksum-sha256': sha256(BODY) });
      assert.equal(good.status, 200);
      assert.equal(await stored(good.key), BODY);

      const bad = await put(OTHER, { 'x-amz-checksum-sha256': sha256(BODY) });
      assert.deepEqual([bad.status, bad.code], [400, 'digest_mismatch']);
      await assertNothingStored(bad.key);
    });

    test('a malformed digest is refused before S3', async () => {
      const bad = await put(BODY, { 'content-md5': 'not-a-digest' });
      assert.deepEqual([bad.status, bad.code], [400, 'bad_digest']);
      assert.equal(await stored(bad.key), 404);
    });

    test('a grant bound to its content by sha256 cannot store other bytes', async () => {
      const bound = ['--sha256', sha256(BODY, 'hex')];
      // A thief with the grant sends other bytes, without any checksum of their own: S3 refuses.
      const stolen = await put(OTHER, {}, bound);
      assert.deepEqual([stolen.status, stolen.code], [400, 'digest_mismatch']);
      await assertNothingStored(stolen.key);
      // Or with a checksum of the other bytes: the gatekeeper refuses it before S3.
      const relabelled = await put(OTHER, { 'x-amz-checksum-sha256': sha256(OTHER) }, bound);
      assert.deepEqual([relabelled.status, relabelled.code], [400, 'digest_mismatch']);
      // Refused by the gatekeeper itself: nothing reached S3, on either server.
      assert.equal(await stored(relabelled.key), 404);
      // The content the grant names is stored.
      const genuine = await put(BODY, {}, bound);
      assert.equal(genuine.status, 200);
      assert.equal(await stored(genuine.key), BODY);

      await stack.settled();
      const rows = await stack.sql(
        `SELECT object_key, status, decision FROM audit_log WHERE operation = 'put' AND object_key IN ('${stolen.key}', '${relabelled.key}', '${genuine.key}') ORDER BY id`,
      );
      assert.deepEqual(
        rows.map((r) => [r.object_key, r.status, r.decision]),
        [
          [stolen.key, 400, 'digest_mismatch'],
          [relabelled.key, 400, 'digest_mismatch'],
          [genuine.key, 200, 'allowed'],
        ],
      );
    });

    test('versionId and response-* are refused, not silently dropped', async () => {
      const good = await put(BODY);
      assert.equal(good.status, 200);
      const token = await stack.grant({ object: good.key });
      for (const query of ['versionId=null', 'response-content-type=text/html']) {
        const reply = await fetch(`${stack.url}/objects/${good.key}?${query}`, {
          headers: { authorization: `Bearer ${token}`, ...CALLER },
        });
        assert.equal(reply.status, 400, query);
        assert.equal((await reply.json()).error.code, 'unsupported_parameter', query);
      }
    });
  });
}

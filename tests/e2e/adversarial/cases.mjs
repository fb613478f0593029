// The attacker's cases, as data: run by tests/e2e/adversarial.test.mjs, one test each.
//
// A case is one hostile request (after an optional prelude) and what must come of it:
//
//   id, why           a unique name, and what the case tries
//   stack             'main' (default: wrangler dev, the settings in the runner), 'country'
//                     (Miniflare with per-request `request.cf`), 'misconfigured' (Miniflare with
//                     a MULTISIG rule that names no keys)
//   grants            the tokens the case builds, each { signer, claims, payload, footer,
//                     implicit, version, purpose, mutate, graft, literal } (see the runner); claims are
//                     merged over { aud, sub: 'adv-<id>', op: 'get', iat: now, exp: now+300,
//                     jti for writes }, a null claim is removed, '@now±N' is a time
//   request           method, path (sent as is), headers ([name, value] pairs, so duplicates are
//                     possible), body, ip (CF-Connecting-IP: default one of its own per case,
//                     null for none), auth (the Authorization value; default `Bearer` and the
//                     grants in `use` order, comma-separated), use (which grants), raw (send over
//                     a bare socket, byte for byte), rawRequest (the whole request, verbatim),
//                     rawTail (bytes after the body; a raw request is half-closed after it),
//                     cf (Miniflare only)
//   prelude           requests sent first, each with the request's fields overridden, `repeat`
//                     times (`{{i}}` in ip is the repetition, from 1, in hexadecimal)
//   waitFor           { ms }: send the request `ms` after the last second the first grant is
//                     accepted in (exp + clock skew)
//   sameMinute        ms: if less than that is left of the current minute, wait for the next
//   expect            status (or a list, where the local runtime rather than the gatekeeper
//                     answers); code (the JSON error code; absent for a success, null for a
//                     reply that is not the gatekeeper's JSON); decision (the row's, when there
//                     is no code to read); body (exact bytes, or { object }); headers (exact
//                     values; null for absent);
//                     headersNotMatching; s3 ({ unchanged: true } by default; { put, bytes };
//                     { deleted }); prelude (statuses); preludeRows; audit ('none', or what the
//                     row must say: status (when not the reply's), op, key, s3_status, bytes_in,
//                     bytes_out, origin, country, userAgentBytes, requestIdBytes, ip
//                     (default: the CF-Connecting-IP sent; 'any'), method (the raw method),
//                     identity ('any', or the indexes of the grants whose signatures verified,
//                     by default every grant when the outcome implies their signatures verified,
//                     none otherwise: the row names the first of them in the gatekeeper's order,
//                     MULTISIG keys then VENDOR_KEYS, and `signers` lists them all))
//
// Placeholders in strings: {{now±N}}, {{unix:now±N}}, {{kid:NAME}}, {{public:NAME}},
// {{spaced:now±N}}, {{repeat:TEXT:N}}, {{aud}}, {{sub}}, {{jti}}, {{token}}, {{host}}, {{ua}},
// {{ip}}.

/** The page origin the gatekeeper allows. */
export const APP_ORIGIN = 'https://app.vendor.example';

/** A key of exactly 1024 bytes, S3's longest. */
export const LONG_KEY = `adv/long/${`${'k'.repeat(99)}/`.repeat(10)}${'z'.repeat(1024 - 9 - 1000)}`;

/** The objects in the bucket when the run starts. */
export const OBJECTS = {
  'adv/read.csv': 'id,secret\n1,alpha\n2,beta\n',
  'adv/a/b': 'the object adv/a/b\n',
  'adv/a%2Fb': 'the object whose key has a literal %2F\n',
  'adv/a b': 'the object with a space\n',
  'adv/a+b': 'the object with a plus\n',
  'adv/caf\u00e9': 'the object named cafe with one code point for the accent (NFC)\n',
  'adv/a\\b': 'the object with a backslash\n',
  'adv/%zz': 'the object with a literal %zz\n',
  [LONG_KEY]: 'the object with the longest key\n',
  'secret/plans.txt': 'the secret plans\n',
  'finance/ledger.csv': 'finance ledger\n',
  'finance/2026/q1.csv': 'finance q1\n',
  'reports/a.csv': 'report a\n',
  'adv/del/one': 'to be deleted\n',
  'adv/del/replay': 'to be deleted once\n',
  'adv/del/wrong': 'must stay\n',
  'adv/del/override': 'must stay too\n',
  'adv/del/finance-alike': 'stays\n',
  'adv/del/query': 'deleted with a query\n',
  'adv/del/expect': 'deleted after 100-continue\n',
  'adv/del/md5': 'deleted with a bogus Content-MD5\n',
  'adv/del/override-get': 'must stay, whatever the override says\n',
  'finance/del.csv': 'needs two signatures to delete\n',
};

const READ = '/objects/adv/read.csv';
const read = { claims: { key: 'adv/read.csv' } };
const readOk = { status: 200, body: { object: 'adv/read.csv' }, audit: { op: 'get', key: 'adv/read.csv', s3_status: 200, bytes_out: 25 } };
const malformedRead = { status: 401, code: 'grant_malformed', audit: { op: 'get', key: 'adv/read.csv' } };
// A grant whose claims are not of the documented shape names no one, even if its signature verified.
const malformedSigned = malformedRead;
const badSignature = { status: 401, code: 'grant_bad_signature', audit: { op: 'get', key: 'adv/read.csv' } };
const putGrant = (key, claims = {}) => ({ claims: { op: 'put', key, ...claims } });
const payload = (rest) =>
  `{"aud":"{{aud}}","sub":"{{sub}}","iat":"{{now}}","exp":"{{now+300}}"${rest}}`;

export const cases = [
  // ---------------------------------------------------------------- the baseline
  { id: 'baseline-get', why: 'a genuine grant reads its object, and the row names its user', grants: [read], request: { path: READ }, expect: readOk },
  {
    id: 'baseline-head', why: 'a head grant gets the headers and no body', grants: [{ claims: { op: 'head', key: 'adv/read.csv' } }],
    request: { method: 'HEAD', path: READ }, expect: { status: 200, body: '', headers: { 'content-length': '25' }, audit: { op: 'head', key: 'adv/read.csv', s3_status: 200 } },
  },

  // ---------------------------------------------------------------- forged and damaged tokens
  { id: 'forged-signature-bit', why: 'one bit of the signature flipped', grants: [{ ...read, mutate: ['flip-signature'] }], request: { path: READ }, expect: badSignature },
  { id: 'forged-payload-bit', why: 'one bit of the payload flipped', grants: [{ ...read, mutate: ['flip-payload'] }], request: { path: READ }, expect: badSignature },
  {
    id: 'forged-grafted-claims', why: 'claims for another key grafted onto a genuine signature',
    grants: [{ ...read, graft: { key: 'secret/plans.txt' } }], request: { path: '/objects/secret/plans.txt' },
    expect: { ...badSignature, audit: { op: 'get', key: 'secret/plans.txt' } },
  },
  { id: 'forged-stranger-with-vendor-kid', why: 'signed by an untrusted key, footer naming the vendor key', grants: [{ ...read, signer: 'stranger', footer: '{"kid":"{{kid:vendor}}"}' }], request: { path: READ }, expect: badSignature },
  { id: 'forged-vendor-with-approver-kid', why: 'signed by the vendor, footer naming another trusted key', grants: [{ ...read, footer: '{"kid":"{{kid:approver}}"}' }], request: { path: READ }, expect: badSignature },
  { id: 'truncated-last-char', why: 'cut to a length no base64url string has', grants: [{ ...read, footer: null, mutate: ['drop-last-char'] }], request: { path: READ }, expect: malformedRead },
  { id: 'truncated-signature-byte', why: 'the last signature byte cut off', grants: [{ ...read, mutate: ['drop-signature-byte'] }], request: { path: READ }, expect: badSignature },
  { id: 'truncated-no-signature', why: 'the signature removed, the payload left', grants: [{ ...read, mutate: ['only-payload'] }], request: { path: READ }, expect: badSignature },
  { id: 'truncated-header-only', why: 'nothing but v4.public.', grants: [{ ...read, mutate: ['only-header'] }], request: { path: READ }, expect: malformedRead },
  { id: 'truncated-footer', why: 'the footer cut by a character', grants: [{ ...read, mutate: ['footer-dropped-char'] }], request: { path: READ }, expect: malformedRead },
  { id: 'reencoded-padding', why: 'base64 padding added to the body', grants: [{ ...read, mutate: ['pad'] }], request: { path: READ }, expect: malformedRead },
  { id: 'reencoded-standard-base64', why: 'the body in standard base64 (+ and /) instead of base64url; a claim of its own (ignored, as the docs allow) puts a / in the body whatever the rest encodes to', grants: [{ claims: { ...read.claims, note: '??????' }, mutate: ['standard-base64'] }], request: { path: READ }, expect: malformedRead },
  { id: 'reencoded-footer-standard-base64', why: 'the footer in padded standard base64', grants: [{ ...read, mutate: ['footer-standard-base64'] }], request: { path: READ }, expect: malformedRead },
  { id: 'reencoded-non-canonical-tail', why: 'the same bytes with the unused bits of the last character set', grants: [{ ...read, footer: null, mutate: ['non-canonical-tail'] }], request: { path: READ }, expect: malformedRead },
  { id: 'reencoded-upper-header', why: 'V4.PUBLIC. in capitals', grants: [{ ...read, mutate: ['upper-header'] }], request: { path: READ }, expect: malformedRead },
  { id: 'reencoded-upper-version', why: 'V4.public.', grants: [{ ...read, mutate: ['upper-version'] }], request: { path: READ }, expect: malformedRead },
  { id: 'reencoded-swapped-case', why: 'the letters of the body in the other case: still base64url, no longer signed', grants: [{ ...read, mutate: ['swap-case-body'] }], request: { path: READ }, expect: badSignature },
  { id: 'reencoded-trailing-dot', why: 'an empty fifth segment', grants: [{ ...read, mutate: ['extra-dot'] }], request: { path: READ }, expect: malformedRead },
  { id: 'reencoded-extra-segment', why: 'a fifth segment', grants: [{ ...read, mutate: ['extra-segment'] }], request: { path: READ }, expect: malformedRead },
  { id: 'reencoded-space-inside', why: 'a space inside the token', grants: [{ ...read, mutate: ['space-inside'] }], request: { path: READ }, expect: malformedRead },
  { id: 'reencoded-percent-encoded', why: 'the whole token percent-encoded', grants: [{ ...read, mutate: ['percent-encoded'] }], request: { path: READ }, expect: malformedRead },
  { id: 'reencoded-tabs-around', why: 'tabs around the token are only whitespace', grants: [{ ...read, mutate: ['whitespace-around'] }], request: { path: READ }, expect: readOk },
  { id: 'too-long', why: 'a token of 4097 bytes is refused before parsing', grants: [{ literal: 'v4.public.{{repeat:A:4087}}' }], request: { path: READ }, expect: { status: 401, code: 'grant_too_long', audit: { op: 'get', key: 'adv/read.csv' } } },
  { id: 'exactly-4096-garbage', why: 'a token of exactly 4096 bytes is parsed, and is garbage', grants: [{ literal: 'v4.public.{{repeat:A:4086}}' }], request: { path: READ }, expect: malformedRead },
  { id: 'non-ascii-token', why: 'a token with bytes outside ASCII: the header cannot be read, so there is no grant', grants: [{ literal: 'v4.public.\u00e9\u00e9\u00e9' }], request: { path: READ }, expect: { status: 401, code: 'grant_missing', audit: { op: 'get', key: 'adv/read.csv' } } },

  // ---------------------------------------------------------------- other versions and purposes
  { id: 'version-v1-public', why: 'a genuine v1.public (RSA-PSS) token', grants: [{ ...read, version: 'v1' }], request: { path: READ }, expect: malformedRead },
  { id: 'version-v2-public', why: 'a genuine v2.public (Ed25519, the same key) token', grants: [{ ...read, version: 'v2' }], request: { path: READ }, expect: malformedRead },
  { id: 'version-v3-public', why: 'a genuine v3.public (P-384) token', grants: [{ ...read, version: 'v3' }], request: { path: READ }, expect: malformedRead },
  { id: 'purpose-v4-local', why: 'a v4.local token', grants: [{ ...read, purpose: 'local' }], request: { path: READ }, expect: malformedRead },
  { id: 'purpose-v3-local', why: 'a v3.local token', grants: [{ ...read, version: 'v3', purpose: 'local' }], request: { path: READ }, expect: malformedRead },
  { id: 'purpose-v4-secret', why: 'v4.secret is no token purpose', grants: [{ ...read, purpose: 'secret' }], request: { path: READ }, expect: malformedRead },

  // ---------------------------------------------------------------- footers and implicit assertions
  { id: 'footer-missing', why: 'no footer, so no kid', grants: [{ ...read, footer: null }], request: { path: READ }, expect: malformedRead },
  { id: 'footer-empty-object', why: 'a footer without kid', grants: [{ ...read, footer: '{}' }], request: { path: READ }, expect: malformedRead },
  { id: 'footer-unknown-kid', why: 'a kid no key has', grants: [{ ...read, footer: '{"kid":"k4.pid.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}' }], request: { path: READ }, expect: { status: 401, code: 'grant_unknown_key', audit: { op: 'get', key: 'adv/read.csv' } } },
  { id: 'footer-untrusted-kid', why: 'signed by and naming a key the gatekeeper does not trust', grants: [{ ...read, signer: 'stranger' }], request: { path: READ }, expect: { status: 401, code: 'grant_unknown_key', audit: { op: 'get', key: 'adv/read.csv' } } },
  { id: 'footer-untrusted-kid-vendor-signature', why: 'signed by the vendor, naming an untrusted key', grants: [{ ...read, footer: '{"kid":"{{kid:stranger}}"}' }], request: { path: READ }, expect: { status: 401, code: 'grant_unknown_key', audit: { op: 'get', key: 'adv/read.csv' } } },
  { id: 'footer-kid-is-public-key', why: 'the kid is the public key itself, not its id', grants: [{ ...read, footer: '{"kid":"{{public:vendor}}"}' }], request: { path: READ }, expect: { status: 401, code: 'grant_unknown_key', audit: { op: 'get', key: 'adv/read.csv' } } },
  { id: 'footer-kid-padded', why: 'the kid with a space before it', grants: [{ ...read, footer: '{"kid":" {{kid:vendor}}"}' }], request: { path: READ }, expect: { status: 401, code: 'grant_unknown_key', audit: { op: 'get', key: 'adv/read.csv' } } },
  { id: 'footer-duplicate-kid', why: 'two kids: which one is checked must not be a guess', grants: [{ ...read, footer: '{"kid":"{{kid:stranger}}","kid":"{{kid:vendor}}"}' }], request: { path: READ }, expect: malformedRead },
  { id: 'footer-kid-number', why: 'kid of the wrong type', grants: [{ ...read, footer: '{"kid":7}' }], request: { path: READ }, expect: malformedRead },
  { id: 'footer-not-json', why: 'the footer is the bare key id', grants: [{ ...read, footer: '{{kid:vendor}}' }], request: { path: READ }, expect: malformedRead },
  { id: 'footer-extra-fields', why: 'a footer with a field besides kid is not the documented footer', grants: [{ ...read, footer: '{"kid":"{{kid:vendor}}","wpk":"k4.secret-wrap.pie.AAAA"}' }], request: { path: READ }, expect: malformedRead },
  { id: 'implicit-assertion', why: 'signed with an implicit assertion the gatekeeper does not use', grants: [{ ...read, implicit: '{"tenant":"other"}' }], request: { path: READ }, expect: badSignature },

  // ---------------------------------------------------------------- keys: rotation windows and operations
  { id: 'key-retired', why: 'a key past its not_after; the signature verified, so the row names it', grants: [{ ...read, signer: 'retired' }], request: { path: READ }, expect: { status: 401, code: 'grant_key_expired', audit: { op: 'get', key: 'adv/read.csv' } } },
  { id: 'key-not-yet', why: 'a key before its not_before', grants: [{ ...read, signer: 'future' }], request: { path: READ }, expect: { status: 401, code: 'grant_key_expired', audit: { op: 'get', key: 'adv/read.csv' } } },
  {
    id: 'key-read-only-put', why: 'a key trusted for reads signs a put', grants: [{ ...putGrant('adv/up/reader.txt'), signer: 'reader' }],
    request: { method: 'PUT', path: '/objects/adv/up/reader.txt', body: 'nope' }, expect: { status: 403, code: 'grant_key_not_trusted', audit: { op: 'put', key: 'adv/up/reader.txt' } },
  },
  { id: 'key-read-only-get', why: 'the same key within its operations', grants: [{ ...read, signer: 'reader' }], request: { path: READ }, expect: readOk },

  // ---------------------------------------------------------------- claims: duplicates
  { id: 'claims-duplicate-sub', why: 'two subs: the log could name either', grants: [{ payload: payload(',"op":"get","key":"adv/read.csv","sub":"someone-else"') }], request: { path: READ }, expect: malformedSigned },
  {
    id: 'claims-duplicate-key', why: 'two keys: one checked, the other served?', grants: [{ payload: payload(',"op":"get","key":"adv/read.csv","key":"secret/plans.txt"') }],
    request: { path: '/objects/secret/plans.txt' }, expect: { ...malformedSigned, audit: { op: 'get', key: 'secret/plans.txt' } },
  },
  { id: 'claims-duplicate-op', why: 'two operations', grants: [{ payload: payload(',"op":"head","op":"get","key":"adv/read.csv"') }], request: { path: READ }, expect: malformedSigned },
  { id: 'claims-duplicate-aud', why: 'two audiences', grants: [{ payload: payload(',"aud":"another-gatekeeper","op":"get","key":"adv/read.csv"') }], request: { path: READ }, expect: malformedSigned },
  { id: 'claims-duplicate-exp', why: 'two expiries, the second far away', grants: [{ payload: payload(',"exp":"2099-01-01T00:00:00Z","op":"get","key":"adv/read.csv"') }], request: { path: READ }, expect: malformedSigned },

  // ---------------------------------------------------------------- claims: wrong types and shapes
  { id: 'claims-exp-number', why: 'exp as Unix seconds, not RFC 3339', grants: [{ payload: '{"aud":"{{aud}}","sub":"{{sub}}","op":"get","key":"adv/read.csv","iat":"{{now}}","exp":{{unix:now+300}}}' }], request: { path: READ }, expect: malformedSigned },
  { id: 'claims-exp-words', why: 'exp that is no time', grants: [{ claims: { key: 'adv/read.csv', exp: 'tomorrow' } }], request: { path: READ }, expect: malformedSigned },
  { id: 'claims-exp-space', why: 'RFC 3339 lets a space stand for the T: the same time, nothing more', grants: [{ claims: { key: 'adv/read.csv', exp: '{{spaced:now+300}}' } }], request: { path: READ }, expect: readOk },
  { id: 'claims-exp-space-too-long', why: 'a spaced exp is checked like any other', grants: [{ claims: { key: 'adv/read.csv', exp: '{{spaced:now+3000}}' } }], request: { path: READ }, expect: { status: 401, code: 'grant_lifetime_too_long', audit: { op: 'get', key: 'adv/read.csv' } } },
  { id: 'claims-exp-year-10000', why: 'a year RFC 3339 cannot hold', grants: [{ claims: { key: 'adv/read.csv', exp: '+10000-01-01T00:00:00Z' } }], request: { path: READ }, expect: malformedSigned },
  { id: 'claims-sub-number', why: 'sub as a number', grants: [{ payload: '{"aud":"{{aud}}","sub":42,"op":"get","key":"adv/read.csv","iat":"{{now}}","exp":"{{now+300}}"}' }], request: { path: READ }, expect: malformedSigned },
  { id: 'claims-sub-empty', why: 'an empty sub names no user for the log', grants: [{ claims: { key: 'adv/read.csv', sub: '' } }], request: { path: READ }, expect: malformedSigned },
  { id: 'claims-sub-missing', why: 'no sub', grants: [{ claims: { key: 'adv/read.csv', sub: null } }], request: { path: READ }, expect: malformedSigned },
  { id: 'claims-aud-array', why: 'aud as a JWT-style array', grants: [{ payload: '{"aud":["{{aud}}"],"sub":"{{sub}}","op":"get","key":"adv/read.csv","iat":"{{now}}","exp":"{{now+300}}"}' }], request: { path: READ }, expect: malformedSigned },
  { id: 'claims-aud-missing', why: 'no audience', grants: [{ claims: { key: 'adv/read.csv', aud: null } }], request: { path: READ }, expect: malformedSigned },
  { id: 'claims-op-upper', why: 'op GET in capitals', grants: [{ claims: { key: 'adv/read.csv', op: 'GET' } }], request: { path: READ }, expect: malformedSigned },
  { id: 'claims-op-unknown', why: 'op admin', grants: [{ claims: { key: 'adv/read.csv', op: 'admin' } }], request: { path: READ }, expect: malformedSigned },
  { id: 'claims-op-array', why: 'several operations in one grant', grants: [{ payload: payload(',"op":["get","put"],"key":"adv/read.csv"') }], request: { path: READ }, expect: malformedSigned },
  { id: 'claims-get-with-prefix', why: 'a get grant naming a prefix instead of a key', grants: [{ claims: { prefix: 'adv/' } }], request: { path: READ }, expect: malformedSigned },
  { id: 'claims-key-and-prefix', why: 'both a key and a prefix', grants: [{ claims: { key: 'adv/read.csv', prefix: 'adv/' } }], request: { path: READ }, expect: malformedSigned },
  { id: 'claims-list-with-key', why: 'a list grant naming a key', grants: [{ claims: { op: 'list', key: 'adv/' } }], request: { path: '/objects?prefix=adv/' }, expect: { ...malformedSigned, audit: { op: 'list', key: 'adv/' } } },
  { id: 'claims-key-array', why: 'several keys in one grant', grants: [{ payload: payload(',"op":"get","key":["adv/read.csv","secret/plans.txt"]') }], request: { path: READ }, expect: malformedSigned },
  { id: 'claims-key-empty', why: 'an empty key', grants: [{ claims: { key: '' } }], request: { path: READ }, expect: malformedSigned },
  {
    id: 'claims-key-dot-dot', why: 'a key with a .. segment can never reach S3 as signed', grants: [{ claims: { key: 'adv/../secret/plans.txt' } }],
    request: { path: '/objects/adv/%2e%2e/secret/plans.txt', raw: true }, expect: { ...malformedSigned, audit: { op: 'get', key: 'secret/plans.txt' } },
  },
  { id: 'claims-key-control', why: 'a key with a newline', grants: [{ claims: { key: 'adv/read.csv\n' } }], request: { path: READ }, expect: malformedSigned },
  { id: 'claims-not-object', why: 'a JSON array for claims', grants: [{ payload: '["get","adv/read.csv"]' }], request: { path: READ }, expect: malformedSigned },
  { id: 'claims-bom', why: 'a byte order mark before the JSON', grants: [{ payload: '\ufeff{"aud":"{{aud}}","sub":"{{sub}}","op":"get","key":"adv/read.csv","iat":"{{now}}","exp":"{{now+300}}"}' }], request: { path: READ }, expect: malformedSigned },
  { id: 'claims-deep-nesting', why: 'an unknown claim nested 1000 deep is ignored, and breaks nothing', grants: [{ payload: payload(',"op":"get","key":"adv/read.csv","x":{{repeat:[:1000}}{{repeat:]:1000}}') }], request: { path: READ }, expect: readOk },
  { id: 'claims-unknown-ignored', why: 'unknown claims are ignored, as documented, and grant nothing', grants: [{ claims: { key: 'adv/read.csv', admin: true, scope: '*', keys: ['secret/plans.txt'] } }], request: { path: READ }, expect: readOk },
  {
    id: 'claims-unknown-do-not-widen', why: 'the same kind of grant on another key', grants: [{ claims: { key: 'adv/read.csv', admin: true, scope: '*' } }],
    request: { path: '/objects/secret/plans.txt' }, expect: { status: 403, code: 'grant_scope_mismatch', audit: { op: 'get', key: 'secret/plans.txt' } },
  },
  { id: 'claims-ip-invalid', why: 'an ip claim that is no CIDR block', grants: [{ claims: { key: 'adv/read.csv', ip: '300.1.1.1/8' } }], request: { path: READ }, expect: malformedSigned },
  { id: 'claims-jti-number', why: 'jti as a number', grants: [{ payload: '{"aud":"{{aud}}","sub":"{{sub}}","op":"put","key":"adv/up/jti-number","jti":7,"iat":"{{now}}","exp":"{{now+300}}"}' }], request: { method: 'PUT', path: '/objects/adv/up/jti-number', body: 'x' }, expect: { ...malformedSigned, audit: { op: 'put', key: 'adv/up/jti-number' } } },
  { id: 'claims-content-type-empty', why: 'an empty optional claim is refused, not read as absent', grants: [putGrant('adv/up/ct-empty', { content_type: '' })], request: { method: 'PUT', path: '/objects/adv/up/ct-empty', body: 'x' }, expect: { ...malformedSigned, audit: { op: 'put', key: 'adv/up/ct-empty' } } },
  { id: 'claims-ip-empty', why: 'an empty ip claim is refused, not read as no network binding', grants: [{ claims: { key: 'adv/read.csv', ip: '' } }], request: { path: READ }, expect: malformedSigned },
  { id: 'claims-content-type-number', why: 'content_type as a number', grants: [putGrant('adv/up/ct-number', { content_type: 7 })], request: { method: 'PUT', path: '/objects/adv/up/ct-number', body: 'x' }, expect: { ...malformedSigned, audit: { op: 'put', key: 'adv/up/ct-number' } } },

  // ---------------------------------------------------------------- claims: out of range
  { id: 'range-exp-far-future', why: 'an expiry in 9999', grants: [{ claims: { key: 'adv/read.csv', exp: '9999-12-31T23:59:59Z' } }], request: { path: READ }, expect: { status: 401, code: 'grant_lifetime_too_long', audit: { op: 'get', key: 'adv/read.csv' } } },
  { id: 'range-exp-before-iat', why: 'exp an hour before iat', grants: [{ claims: { key: 'adv/read.csv', exp: '@now-3600' } }], request: { path: READ }, expect: { status: 401, code: 'grant_expired', audit: { op: 'get', key: 'adv/read.csv' } } },
  { id: 'range-exp-within-skew', why: 'expired 30 s ago, within the clock skew', grants: [{ claims: { key: 'adv/read.csv', iat: '@now-100', exp: '@now-30' } }], request: { path: READ }, expect: readOk },
  { id: 'range-exp-past-skew', why: 'expired 90 s ago', grants: [{ claims: { key: 'adv/read.csv', iat: '@now-200', exp: '@now-90' } }], request: { path: READ }, expect: { status: 401, code: 'grant_expired', audit: { op: 'get', key: 'adv/read.csv' } } },
  { id: 'range-lifetime-901', why: 'one second over the 15 minutes', grants: [{ claims: { key: 'adv/read.csv', exp: '@now+901' } }], request: { path: READ }, expect: { status: 401, code: 'grant_lifetime_too_long', audit: { op: 'get', key: 'adv/read.csv' } } },
  { id: 'range-lifetime-old-iat', why: 'issued long ago, expiring soon, living too long', grants: [{ claims: { key: 'adv/read.csv', iat: '@now-1000', exp: '@now+100' } }], request: { path: READ }, expect: { status: 401, code: 'grant_lifetime_too_long', audit: { op: 'get', key: 'adv/read.csv' } } },
  { id: 'range-lifetime-no-iat', why: 'no iat: the lifetime runs from now', grants: [{ claims: { key: 'adv/read.csv', iat: null, exp: '@now+1000' } }], request: { path: READ }, expect: { status: 401, code: 'grant_lifetime_too_long', audit: { op: 'get', key: 'adv/read.csv' } } },
  { id: 'range-nbf-future', why: 'not valid for five minutes', grants: [{ claims: { key: 'adv/read.csv', nbf: '@now+300', exp: '@now+600' } }], request: { path: READ }, expect: { status: 401, code: 'grant_not_yet_valid', audit: { op: 'get', key: 'adv/read.csv' } } },
  { id: 'range-nbf-within-skew', why: 'not valid for 30 s, within the clock skew', grants: [{ claims: { key: 'adv/read.csv', nbf: '@now+30' } }], request: { path: READ }, expect: readOk },
  { id: 'range-iat-future', why: 'issued in five minutes', grants: [{ claims: { key: 'adv/read.csv', iat: '@now+300', exp: '@now+600' } }], request: { path: READ }, expect: { status: 401, code: 'grant_not_yet_valid', audit: { op: 'get', key: 'adv/read.csv' } } },
  { id: 'range-nbf-words', why: 'nbf that is no time', grants: [{ claims: { key: 'adv/read.csv', nbf: 'now' } }], request: { path: READ }, expect: malformedSigned },
  { id: 'range-max-size-negative', why: 'a negative max_size', grants: [putGrant('adv/up/neg', { max_size: -1 })], request: { method: 'PUT', path: '/objects/adv/up/neg', body: 'x' }, expect: { ...malformedSigned, audit: { op: 'put', key: 'adv/up/neg' } } },
  { id: 'range-max-size-string', why: 'max_size as a string', grants: [putGrant('adv/up/str', { max_size: '100' })], request: { method: 'PUT', path: '/objects/adv/up/str', body: 'x' }, expect: { ...malformedSigned, audit: { op: 'put', key: 'adv/up/str' } } },
  { id: 'range-max-size-fraction', why: 'max_size 1.5', grants: [putGrant('adv/up/frac', { max_size: 1.5 })], request: { method: 'PUT', path: '/objects/adv/up/frac', body: 'x' }, expect: { ...malformedSigned, audit: { op: 'put', key: 'adv/up/frac' } } },
  { id: 'range-max-size-2-64', why: 'max_size 2^64, one past u64', grants: [{ payload: payload(',"op":"put","key":"adv/up/big","jti":"{{jti}}","max_size":18446744073709551616') }], request: { method: 'PUT', path: '/objects/adv/up/big', body: 'x' }, expect: { ...malformedSigned, audit: { op: 'put', key: 'adv/up/big' } } },

  // ---------------------------------------------------------------- other audiences, operations, keys, prefixes
  { id: 'scope-other-audience', why: 'a grant for another gatekeeper', grants: [{ claims: { key: 'adv/read.csv', aud: 'another-gatekeeper' } }], request: { path: READ }, expect: { status: 401, code: 'grant_wrong_audience', audit: { op: 'get', key: 'adv/read.csv' } } },
  { id: 'scope-audience-case', why: 'the audience in capitals', grants: [{ claims: { key: 'adv/read.csv', aud: 'LOCAL-GATEKEEPER' } }], request: { path: READ }, expect: { status: 401, code: 'grant_wrong_audience', audit: { op: 'get', key: 'adv/read.csv' } } },
  { id: 'scope-audience-space', why: 'the audience with a trailing space', grants: [{ claims: { key: 'adv/read.csv', aud: 'local-gatekeeper ' } }], request: { path: READ }, expect: { status: 401, code: 'grant_wrong_audience', audit: { op: 'get', key: 'adv/read.csv' } } },
  { id: 'scope-other-key', why: 'a stolen genuine grant used on another key: the row names its user', grants: [read], request: { path: '/objects/secret/plans.txt' }, expect: { status: 403, code: 'grant_scope_mismatch', audit: { op: 'get', key: 'secret/plans.txt' } } },
  { id: 'scope-head-grant-get', why: 'a head grant used to get', grants: [{ claims: { op: 'head', key: 'adv/read.csv' } }], request: { path: READ }, expect: { status: 403, code: 'grant_scope_mismatch', audit: { op: 'get', key: 'adv/read.csv' } } },
  { id: 'scope-get-grant-head', why: 'a get grant used to head', grants: [read], request: { method: 'HEAD', path: READ }, expect: { status: 403, body: '', audit: { op: 'head', key: 'adv/read.csv' }, code: null, decision: 'grant_scope_mismatch' } },
  { id: 'scope-get-grant-put', why: 'a get grant used to overwrite', grants: [read], request: { method: 'PUT', path: READ, body: 'overwritten' }, expect: { status: 403, code: 'grant_scope_mismatch', audit: { op: 'put', key: 'adv/read.csv' } } },
  { id: 'scope-get-grant-delete', why: 'a get grant used to delete', grants: [{ claims: { key: 'adv/del/wrong' } }], request: { method: 'DELETE', path: '/objects/adv/del/wrong' }, expect: { status: 403, code: 'grant_scope_mismatch', audit: { op: 'delete', key: 'adv/del/wrong' } } },
  { id: 'scope-put-grant-get', why: 'a put grant used to read', grants: [putGrant('adv/read.csv')], request: { path: READ }, expect: { status: 403, code: 'grant_scope_mismatch', audit: { op: 'get', key: 'adv/read.csv' } } },
  { id: 'scope-put-grant-other-key', why: 'a put grant used on another key', grants: [putGrant('adv/up/mine.txt')], request: { method: 'PUT', path: '/objects/secret/plans.txt', body: 'overwritten' }, expect: { status: 403, code: 'grant_scope_mismatch', audit: { op: 'put', key: 'secret/plans.txt' } } },
  { id: 'scope-list-grant-get', why: 'a list grant used to read a key under its prefix', grants: [{ claims: { op: 'list', prefix: 'adv/' } }], request: { path: READ }, expect: { status: 403, code: 'grant_scope_mismatch', audit: { op: 'get', key: 'adv/read.csv' } } },
  { id: 'scope-get-grant-list', why: 'a get grant used to list', grants: [read], request: { path: '/objects?prefix=adv/read.csv' }, expect: { status: 403, code: 'grant_scope_mismatch', audit: { op: 'list', key: 'adv/read.csv' } } },
  { id: 'scope-list-other-prefix', why: 'a list grant for reports/ used on secret/', grants: [{ claims: { op: 'list', prefix: 'reports/' } }], request: { path: '/objects?prefix=secret/' }, expect: { status: 403, code: 'grant_scope_mismatch', audit: { op: 'list', key: 'secret/' } } },
  { id: 'scope-list-narrower-grant', why: 'a list grant for reports/a used on reports/', grants: [{ claims: { op: 'list', prefix: 'reports/a' } }], request: { path: '/objects?prefix=reports/' }, expect: { status: 403, code: 'grant_scope_mismatch', audit: { op: 'list', key: 'reports/' } } },
  { id: 'scope-list-plus-is-space', why: 'in a query, + is a space: reports/+ is another prefix', grants: [{ claims: { op: 'list', prefix: 'reports/+' } }], request: { path: '/objects?prefix=reports/+' }, expect: { status: 403, code: 'grant_scope_mismatch', audit: { op: 'list', key: 'reports/ ' } } },
  { id: 'scope-list-encoded-ok', why: 'an encoded prefix decodes to the granted one', grants: [{ claims: { op: 'list', prefix: 'reports/' } }], request: { path: '/objects?prefix=reports%2F' }, expect: { status: 200, audit: { op: 'list', key: 'reports/', s3_status: 200 } } },

  // ---------------------------------------------------------------- several signatures
  { id: 'multisig-list-everything-one-signature', why: 'listing "" lists finance/ too: one signature must not do', grants: [{ claims: { op: 'list', prefix: '' } }], request: { path: '/objects?prefix=' }, expect: { status: 403, code: 'signatures_insufficient', audit: { op: 'list', key: '' } } },
  { id: 'multisig-list-f-one-signature', why: 'listing "f" lists finance/ too', grants: [{ claims: { op: 'list', prefix: 'f' } }], request: { path: '/objects?prefix=f' }, expect: { status: 403, code: 'signatures_insufficient', audit: { op: 'list', key: 'f' } } },
  { id: 'multisig-list-finance-no-slash-one-signature', why: 'listing "finance" lists finance/ too', grants: [{ claims: { op: 'list', prefix: 'finance' } }], request: { path: '/objects?prefix=finance' }, expect: { status: 403, code: 'signatures_insufficient', audit: { op: 'list', key: 'finance' } } },
  { id: 'multisig-list-finance-one-signature', why: 'listing finance/ itself', grants: [{ claims: { op: 'list', prefix: 'finance/' } }], request: { path: '/objects?prefix=finance/' }, expect: { status: 403, code: 'signatures_insufficient', audit: { op: 'list', key: 'finance/' } } },
  { id: 'multisig-list-finance-sub-one-signature', why: 'listing inside finance/', grants: [{ claims: { op: 'list', prefix: 'finance/2026/' } }], request: { path: '/objects?prefix=finance/2026/' }, expect: { status: 403, code: 'signatures_insufficient', audit: { op: 'list', key: 'finance/2026/' } } },
  { id: 'multisig-list-everything-two-signatures', why: 'listing "" with both signatures', grants: [{ claims: { op: 'list', prefix: '' } }, { signer: 'approver', claims: { op: 'list', prefix: '' } }], request: { path: '/objects?prefix=' }, expect: { status: 200, audit: { op: 'list', key: '', s3_status: 200 } } },
  { id: 'multisig-list-reports-one-signature', why: 'a prefix that cannot reach finance/ needs one', grants: [{ claims: { op: 'list', prefix: 'reports/' } }], request: { path: '/objects?prefix=reports/' }, expect: { status: 200, audit: { op: 'list', key: 'reports/', s3_status: 200 } } },
  { id: 'multisig-get-one-signature', why: 'a finance read with the vendor alone', grants: [{ claims: { key: 'finance/ledger.csv' } }], request: { path: '/objects/finance/ledger.csv' }, expect: { status: 403, code: 'signatures_insufficient', audit: { op: 'get', key: 'finance/ledger.csv' } } },
  {
    id: 'multisig-get-two-signatures', why: 'the vendor and the approver: both key ids recorded', grants: [{ claims: { key: 'finance/ledger.csv' } }, { signer: 'approver', claims: { key: 'finance/ledger.csv', sub: 'approver-1' } }],
    request: { path: '/objects/finance/ledger.csv' }, expect: { status: 200, body: { object: 'finance/ledger.csv' }, audit: { op: 'get', key: 'finance/ledger.csv', s3_status: 200 } },
  },
  {
    id: 'multisig-get-approver-first', why: 'the approver first: the row still names the vendor grant first, in the rule order', grants: [{ signer: 'approver', claims: { key: 'finance/ledger.csv', sub: 'approver-2' } }, { claims: { key: 'finance/ledger.csv' } }],
    request: { path: '/objects/finance/ledger.csv' }, expect: { status: 200, body: { object: 'finance/ledger.csv' }, audit: { op: 'get', key: 'finance/ledger.csv', s3_status: 200 } },
  },
  { id: 'multisig-get-vendor-and-reader', why: 'a second trusted key outside the rule does not count', grants: [{ claims: { key: 'finance/ledger.csv' } }, { signer: 'reader', claims: { key: 'finance/ledger.csv' } }], request: { path: '/objects/finance/ledger.csv' }, expect: { status: 403, code: 'signatures_insufficient', audit: { op: 'get', key: 'finance/ledger.csv' } } },
  { id: 'multisig-get-vendor-and-stranger', why: 'a second signature by an untrusted key', grants: [{ claims: { key: 'finance/ledger.csv' } }, { signer: 'stranger', claims: { key: 'finance/ledger.csv' } }], request: { path: '/objects/finance/ledger.csv' }, expect: { status: 401, code: 'grant_unknown_key', audit: { op: 'get', key: 'finance/ledger.csv', identity: 'any' } } },
  { id: 'multisig-get-vendor-twice', why: 'the vendor signing twice', grants: [{ claims: { key: 'finance/ledger.csv' } }, { claims: { key: 'finance/ledger.csv', sub: 'again' } }], request: { path: '/objects/finance/ledger.csv' }, expect: { status: 403, code: 'signatures_duplicate', audit: { op: 'get', key: 'finance/ledger.csv', identity: 'any' } } },
  { id: 'multisig-get-approval-for-other-key', why: 'the approver approved another finance key', grants: [{ claims: { key: 'finance/ledger.csv' } }, { signer: 'approver', claims: { key: 'finance/2026/q1.csv' } }], request: { path: '/objects/finance/ledger.csv' }, expect: { status: 403, code: 'grant_scope_mismatch', audit: { op: 'get', key: 'finance/ledger.csv', identity: 'any' } } },
  { id: 'multisig-get-approval-expired', why: 'the approval has expired', grants: [{ claims: { key: 'finance/ledger.csv' } }, { signer: 'approver', claims: { key: 'finance/ledger.csv', iat: '@now-600', exp: '@now-300' } }], request: { path: '/objects/finance/ledger.csv' }, expect: { status: 401, code: 'grant_expired', audit: { op: 'get', key: 'finance/ledger.csv', identity: 'any' } } },
  { id: 'multisig-head-not-covered', why: 'head is not in the rule: one signature does', grants: [{ claims: { op: 'head', key: 'finance/ledger.csv' } }], request: { method: 'HEAD', path: '/objects/finance/ledger.csv' }, expect: { status: 200, body: '', audit: { op: 'head', key: 'finance/ledger.csv', s3_status: 200 } } },
  {
    id: 'multisig-put-two-signatures', why: 'a finance upload with both signatures', grants: [putGrant('finance/new.csv'), { ...putGrant('finance/new.csv', { jti: 'approver-put-1' }), signer: 'approver' }],
    request: { method: 'PUT', path: '/objects/finance/new.csv', body: 'a,b\n' }, expect: { status: 200, s3: { put: 'finance/new.csv', bytes: 'a,b\n' }, audit: { op: 'put', key: 'finance/new.csv', s3_status: 200, bytes_in: 4 } },
  },
  {
    id: 'multisig-put-vendor-grant-reused', why: 'a spent vendor grant with a fresh approval is still spent',
    grants: [putGrant('finance/reuse.csv'), { ...putGrant('finance/reuse.csv', { jti: '{{jti}}-a1' }), signer: 'approver' }, { ...putGrant('finance/reuse.csv', { jti: '{{jti}}-a2' }), signer: 'approver' }],
    prelude: [{ use: [0, 1], body: 'first' }], request: { method: 'PUT', path: '/objects/finance/reuse.csv', body: 'second', use: [0, 2] },
    expect: { status: 403, code: 'grant_replayed', prelude: [200], preludeRows: 1, audit: { op: 'put', key: 'finance/reuse.csv', identity: [0, 2] } },
  },
  { id: 'multisig-delete-one-signature', why: 'a finance delete with the vendor alone', grants: [{ claims: { op: 'delete', key: 'finance/del.csv' } }], request: { method: 'DELETE', path: '/objects/finance/del.csv' }, expect: { status: 403, code: 'signatures_insufficient', audit: { op: 'delete', key: 'finance/del.csv' } } },
  { id: 'multisig-lookalike-prefix', why: 'finance-like keys outside finance/ need one signature', grants: [{ claims: { op: 'delete', key: 'adv/del/finance-alike' } }], request: { method: 'DELETE', path: '/objects/adv/del/finance-alike' }, expect: { status: 204, body: '', s3: { deleted: 'adv/del/finance-alike' }, audit: { op: 'delete', key: 'adv/del/finance-alike', s3_status: 204 } } },
  { id: 'multisig-five-grants', why: 'more than four grants', grants: [read, { ...read, signer: 'approver' }, { ...read, signer: 'reader' }, { ...read, signer: 'retired' }, { ...read, signer: 'future' }], request: { path: READ }, expect: { status: 401, code: 'grant_too_many', audit: { op: 'get', key: 'adv/read.csv' } } },
  { id: 'multisig-two-on-plain-key', why: 'two genuine grants where one suffices: both recorded', grants: [read, { ...read, signer: 'approver' }], request: { path: READ }, expect: readOk },

  // ---------------------------------------------------------------- replay
  {
    id: 'replay-put', why: 'a put grant used twice: the second writes nothing', grants: [putGrant('adv/up/replay.txt')],
    prelude: [{ body: 'first' }], request: { method: 'PUT', path: '/objects/adv/up/replay.txt', body: 'second' },
    expect: { status: 403, code: 'grant_replayed', prelude: [200], preludeRows: 1, audit: { op: 'put', key: 'adv/up/replay.txt', bytes_in: 6 } },
  },
  {
    id: 'replay-put-other-ip', why: 'the replay comes from another network', grants: [putGrant('adv/up/replay-ip.txt')],
    prelude: [{ body: 'first', ip: '198.51.100.201' }], request: { method: 'PUT', path: '/objects/adv/up/replay-ip.txt', body: 'second' },
    expect: { status: 403, code: 'grant_replayed', prelude: [200], preludeRows: 1, audit: { op: 'put', key: 'adv/up/replay-ip.txt' } },
  },
  {
    id: 'replay-put-reformatted', why: 'the same grant again, with whitespace and a trailing comma', grants: [putGrant('adv/up/replay-ws.txt')],
    prelude: [{ body: 'first' }], request: { method: 'PUT', path: '/objects/adv/up/replay-ws.txt', body: 'second', auth: 'Bearer   {{token}} ,' },
    expect: { status: 403, code: 'grant_replayed', prelude: [200], preludeRows: 1, audit: { op: 'put', key: 'adv/up/replay-ws.txt' } },
  },
  {
    id: 'replay-put-last-second', why: 'a replay in the last second the grant is accepted (exp + skew) is still a replay',
    grants: [putGrant('adv/up/replay-edge.txt', { iat: '@now-120', exp: '@now-52' })],
    prelude: [{ body: 'first' }], waitFor: { ms: 200 }, request: { method: 'PUT', path: '/objects/adv/up/replay-edge.txt', body: 'second' },
    expect: { status: 403, code: 'grant_replayed', prelude: [200], preludeRows: 1, audit: { op: 'put', key: 'adv/up/replay-edge.txt' } },
  },
  {
    id: 'replay-delete', why: 'a delete grant used twice', grants: [{ claims: { op: 'delete', key: 'adv/del/replay' } }],
    prelude: [{}], request: { method: 'DELETE', path: '/objects/adv/del/replay' },
    expect: { status: 403, code: 'grant_replayed', prelude: [204], preludeRows: 1, audit: { op: 'delete', key: 'adv/del/replay' } },
  },
  { id: 'delete-allowed', why: 'a delete grant deletes exactly its key', grants: [{ claims: { op: 'delete', key: 'adv/del/one' } }], request: { method: 'DELETE', path: '/objects/adv/del/one' }, expect: { status: 204, body: '', s3: { deleted: 'adv/del/one' }, audit: { op: 'delete', key: 'adv/del/one', s3_status: 204 } } },
  {
    id: 'replay-get-is-fine', why: 'reads are not single use', grants: [read], prelude: [{}, {}], request: { path: READ },
    expect: { ...readOk, prelude: [200, 200], preludeRows: 2 },
  },

  // ---------------------------------------------------------------- key smuggling in the URL
  { id: 'url-encoded-slash', why: '%2F decodes once to /', grants: [{ claims: { key: 'adv/a/b' } }], request: { path: '/objects/adv/a%2Fb' }, expect: { status: 200, body: { object: 'adv/a/b' }, audit: { op: 'get', key: 'adv/a/b', s3_status: 200 } } },
  { id: 'url-literal-percent-2f', why: '%252F decodes once to a literal %2F', grants: [{ claims: { key: 'adv/a%2Fb' } }], request: { path: '/objects/adv/a%252Fb' }, expect: { status: 200, body: { object: 'adv/a%2Fb' }, audit: { op: 'get', key: 'adv/a%2Fb', s3_status: 200 } } },
  { id: 'url-literal-grant-decoded-url', why: 'a grant for the literal %2F key does not cover a/b', grants: [{ claims: { key: 'adv/a%2Fb' } }], request: { path: '/objects/adv/a%2Fb' }, expect: { status: 403, code: 'grant_scope_mismatch', audit: { op: 'get', key: 'adv/a/b' } } },
  { id: 'url-double-encoded', why: '%252F is not decoded twice', grants: [{ claims: { key: 'adv/a/b' } }], request: { path: '/objects/adv/a%252Fb' }, expect: { status: 403, code: 'grant_scope_mismatch', audit: { op: 'get', key: 'adv/a%2Fb' } } },
  { id: 'url-invalid-percent', why: '%zz is no percent sequence', grants: [{ claims: { key: 'adv/%zz' } }], request: { path: '/objects/adv/%zz' }, expect: { status: 400, code: 'bad_key' } },
  { id: 'url-invalid-percent-no-grant', why: '%zz without a grant', request: { path: '/objects/adv/%zz' }, expect: { status: 400, code: 'bad_key' } },
  { id: 'url-truncated-percent', why: 'a lone % at the end', grants: [{ claims: { key: 'adv/read.csv%' } }], request: { path: '/objects/adv/read.csv%' }, expect: { status: 400, code: 'bad_key' } },
  { id: 'url-percent-one-digit', why: '%4 and a letter', request: { path: '/objects/adv/%4g' }, expect: { status: 400, code: 'bad_key' } },
  { id: 'url-invalid-utf8', why: '%FF is not UTF-8', request: { path: '/objects/adv/%FF' }, expect: { status: 400, code: 'bad_key' } },
  { id: 'url-overlong-slash', why: 'an overlong UTF-8 /', grants: [{ claims: { key: 'adv/a/b' } }], request: { path: '/objects/adv/a%C0%AFb' }, expect: { status: 400, code: 'bad_key' } },
  { id: 'url-surrogate', why: 'a UTF-16 surrogate in UTF-8', request: { path: '/objects/adv/%ED%A0%80' }, expect: { status: 400, code: 'bad_key' } },
  { id: 'url-nul', why: 'a NUL byte', request: { path: '/objects/adv/read.csv%00.png' }, expect: { status: 400, code: 'bad_key' } },
  { id: 'url-encoded-newline', why: 'a newline', request: { path: '/objects/adv/a%0D%0Ab' }, expect: { status: 400, code: 'bad_key' } },
  { id: 'url-encoded-dot-dot', why: '..%2F inside one segment decodes to a .. segment', grants: [{ claims: { key: 'secret/plans.txt' } }], request: { path: '/objects/adv%2F..%2Fsecret%2Fplans.txt' }, expect: { status: 400, code: 'bad_key' } },
  { id: 'url-dot-segment', why: 'the runtime resolves /./: the resolved key is checked and served', grants: [{ claims: { key: 'adv/a/b' } }], request: { path: '/objects/adv/a/./b', raw: true }, expect: { status: 200, body: { object: 'adv/a/b' }, audit: { op: 'get', key: 'adv/a/b', s3_status: 200 } } },
  { id: 'url-dot-dot-inside', why: 'x/../ resolved inside the objects', grants: [read], request: { path: '/objects/adv/x/../read.csv', raw: true }, expect: { ...readOk } },
  { id: 'url-dot-dot-escape', why: '.. climbing out of the granted folder is checked as the resolved key', grants: [read], request: { path: '/objects/adv/../secret/plans.txt', raw: true }, expect: { status: 403, code: 'grant_scope_mismatch', audit: { op: 'get', key: 'secret/plans.txt' } } },
  { id: 'url-encoded-dot-dot-segment', why: '%2e%2e is a .. segment to the URL parser', grants: [read], request: { path: '/objects/adv/%2e%2e/secret/plans.txt', raw: true }, expect: { status: 403, code: 'grant_scope_mismatch', audit: { op: 'get', key: 'secret/plans.txt' } } },
  { id: 'url-mixed-dot-dot', why: '.%2E is a .. segment too', grants: [read], request: { path: '/objects/adv/.%2E/secret/plans.txt', raw: true }, expect: { status: 403, code: 'grant_scope_mismatch', audit: { op: 'get', key: 'secret/plans.txt' } } },
  { id: 'url-dot-dot-through-route', why: 'out of /objects and back in', grants: [read], request: { path: '/objects/../objects/adv/read.csv', raw: true }, expect: { ...readOk } },
  { id: 'url-dot-dot-to-root', why: 'out of /objects for good', request: { path: '/objects/../../etc/passwd', raw: true }, expect: { status: 404, code: 'no_route', audit: { op: null, key: null } } },
  { id: 'url-backslash', why: 'the URL parser reads \\ as /, so a\\b is checked as a/b', grants: [{ claims: { key: 'adv/a\\b' } }], request: { path: '/objects/adv/a\\b', raw: true }, expect: { status: 403, code: 'grant_scope_mismatch', audit: { op: 'get', key: 'adv/a/b' } } },
  { id: 'url-backslash-resolved', why: 'a\\b arrives as a/b and is served as a/b by a grant for a/b', grants: [{ claims: { key: 'adv/a/b' } }], request: { path: '/objects/adv/a\\b', raw: true }, expect: { status: 200, body: { object: 'adv/a/b' }, audit: { op: 'get', key: 'adv/a/b', s3_status: 200 } } },
  { id: 'url-encoded-dot-dot-resolved', why: 'x/%2E%2E/a/b arrives as a/b', grants: [{ claims: { key: 'adv/a/b' } }], request: { path: '/objects/adv/x/%2E%2E/a/b', raw: true }, expect: { status: 200, body: { object: 'adv/a/b' }, audit: { op: 'get', key: 'adv/a/b', s3_status: 200 } } },
  // (s3s-fs keeps objects as files, where adv//x is adv/x: so the key here is one no file has.)
  { id: 'url-encoded-second-slash', why: 'a//b reached with the second slash encoded', grants: [{ claims: { key: 'adv//nothing.csv' } }], request: { path: '/objects/adv/%2Fnothing.csv' }, expect: { status: 404, code: 'not_found', audit: { op: 'get', key: 'adv//nothing.csv', s3_status: 404 } } },
  { id: 'url-encoded-backslash', why: '%5C is a literal backslash', grants: [{ claims: { key: 'adv/a\\b' } }], request: { path: '/objects/adv/a%5Cb' }, expect: { status: 200, body: { object: 'adv/a\\b' }, audit: { op: 'get', key: 'adv/a\\b', s3_status: 200 } } },
  { id: 'url-double-slash', why: '// is not /', grants: [read], request: { path: '/objects/adv//read.csv', raw: true }, expect: { status: 403, code: 'grant_scope_mismatch', audit: { op: 'get', key: 'adv//read.csv' } } },
  { id: 'url-leading-double-slash', why: '//objects is no route', grants: [read], request: { path: '//objects/adv/read.csv', raw: true }, expect: { status: 404, code: 'no_route', audit: { op: null, key: null } } },
  { id: 'url-trailing-slash', why: 'a trailing slash is another key', grants: [{ claims: { key: 'adv/a/b' } }], request: { path: '/objects/adv/a/b/' }, expect: { status: 403, code: 'grant_scope_mismatch', audit: { op: 'get', key: 'adv/a/b/' } } },
  { id: 'url-trailing-slash-missing', why: 'a grant for a folder key does not cover the file', grants: [{ claims: { key: 'adv/a/' } }], request: { path: '/objects/adv/a' }, expect: { status: 403, code: 'grant_scope_mismatch', audit: { op: 'get', key: 'adv/a' } } },
  { id: 'url-plus-not-space', why: 'in a path, + is not a space', grants: [{ claims: { key: 'adv/a b' } }], request: { path: '/objects/adv/a+b' }, expect: { status: 403, code: 'grant_scope_mismatch', audit: { op: 'get', key: 'adv/a+b' } } },
  { id: 'url-plus', why: 'a + key by +', grants: [{ claims: { key: 'adv/a+b' } }], request: { path: '/objects/adv/a+b' }, expect: { status: 200, body: { object: 'adv/a+b' }, audit: { op: 'get', key: 'adv/a+b', s3_status: 200 } } },
  { id: 'url-plus-encoded', why: 'a + key by %2B', grants: [{ claims: { key: 'adv/a+b' } }], request: { path: '/objects/adv/a%2Bb' }, expect: { status: 200, body: { object: 'adv/a+b' }, audit: { op: 'get', key: 'adv/a+b', s3_status: 200 } } },
  { id: 'url-space', why: 'a space key by %20', grants: [{ claims: { key: 'adv/a b' } }], request: { path: '/objects/adv/a%20b' }, expect: { status: 200, body: { object: 'adv/a b' }, audit: { op: 'get', key: 'adv/a b', s3_status: 200 } } },
  { id: 'url-nfc', why: 'the NFC key by its NFC bytes', grants: [{ claims: { key: 'adv/caf\u00e9' } }], request: { path: '/objects/adv/caf%C3%A9' }, expect: { status: 200, body: { object: 'adv/caf\u00e9' }, audit: { op: 'get', key: 'adv/caf\u00e9', s3_status: 200 } } },
  { id: 'url-nfd-for-nfc-grant', why: 'the NFD form is another key', grants: [{ claims: { key: 'adv/caf\u00e9' } }], request: { path: '/objects/adv/cafe%CC%81' }, expect: { status: 403, code: 'grant_scope_mismatch', audit: { op: 'get', key: 'adv/cafe\u0301' } } },
  { id: 'url-nfd-grant-reaches-s3', why: 'an NFD grant for the NFD key: S3 has no such key; the failed read is recorded in full', grants: [{ claims: { key: 'adv/cafe\u0301' } }], request: { path: '/objects/adv/cafe%CC%81' }, expect: { status: 404, code: 'not_found', audit: { op: 'get', key: 'adv/cafe\u0301', s3_status: 404 } } },
  { id: 'url-raw-utf8', why: 'raw UTF-8 in the request line is percent-encoded by the runtime', grants: [{ claims: { key: 'adv/caf\u00e9' } }], request: { path: '/objects/adv/caf\u00c3\u00a9', raw: true }, expect: { status: 200, body: { object: 'adv/caf\u00e9' }, audit: { op: 'get', key: 'adv/caf\u00e9', s3_status: 200 } } },
  { id: 'url-fullwidth-solidus', why: 'U+FF0F looks like / and is not', grants: [{ claims: { key: 'adv/a/b' } }], request: { path: '/objects/adv/a%EF%BC%8Fb' }, expect: { status: 403, code: 'grant_scope_mismatch', audit: { op: 'get', key: 'adv/a\uff0fb' } } },
  { id: 'url-lowercase-hex', why: '%2f is %2F', grants: [{ claims: { key: 'adv/a/b' } }], request: { path: '/objects/adv/a%2fb' }, expect: { status: 200, body: { object: 'adv/a/b' }, audit: { op: 'get', key: 'adv/a/b', s3_status: 200 } } },
  { id: 'url-semicolon', why: 'path parameters are part of the key', grants: [read], request: { path: '/objects/adv/read.csv;x=y' }, expect: { status: 403, code: 'grant_scope_mismatch', audit: { op: 'get', key: 'adv/read.csv;x=y' } } },
  { id: 'url-fragment', why: 'a # in the request line is part of the path, and its .. segments are resolved: the resolved key is checked', grants: [read], request: { path: '/objects/adv/read.csv#../../secret/plans.txt', raw: true }, expect: { status: 403, code: 'grant_scope_mismatch', audit: { op: 'get', key: 'adv/secret/plans.txt' } } },
  { id: 'url-longest-key', why: 'a key of exactly 1024 bytes', grants: [{ claims: { key: LONG_KEY } }], request: { path: `/objects/${LONG_KEY}` }, expect: { status: 200, body: { object: LONG_KEY }, audit: { op: 'get', key: LONG_KEY, s3_status: 200 } } },
  { id: 'url-key-too-long', why: 'a key of 1025 bytes', request: { path: `/objects/${'k'.repeat(1025)}` }, expect: { status: 400, code: 'bad_key' } },
  { id: 'url-too-long', why: 'a URL past the longest key fully encoded', request: { path: `/objects/${'k'.repeat(3100)}` }, expect: { status: 414, code: 'uri_too_long' } },
  { id: 'route-case', why: 'routes are case-sensitive', grants: [read], request: { path: '/OBJECTS/adv/read.csv' }, expect: { status: 404, code: 'no_route', audit: { op: null, key: null } } },
  { id: 'route-encoded-slash', why: '/objects%2F is no route', grants: [read], request: { path: '/objects%2Fadv/read.csv' }, expect: { status: 404, code: 'no_route', audit: { op: null, key: null } } },
  { id: 'route-prefix-only', why: '/objectsadv is no route', grants: [read], request: { path: '/objectsadv/read.csv' }, expect: { status: 404, code: 'no_route', audit: { op: null, key: null } } },

  // ---------------------------------------------------------------- queries and S3 headers on every method
  { id: 'query-get-version-id', why: 'a versionId is refused, not served as the current version', grants: [read], request: { path: `${READ}?versionId=1&x-id=GetObject` }, expect: { status: 400, code: 'unsupported_parameter' } },
  {
    id: 'query-get-response-overrides', why: 'response-content-type cannot make S3 serve HTML: it is refused', grants: [read],
    request: { path: `${READ}?response-content-type=text/html&response-content-disposition=inline` }, expect: { status: 400, code: 'unsupported_parameter', headersNotMatching: { 'content-type': 'html', 'content-disposition': 'inline' } },
  },
  { id: 'query-get-acl', why: '?acl does not turn the read into GetObjectAcl', grants: [read], request: { path: `${READ}?acl` }, expect: readOk },
  { id: 'query-put-uploads', why: '?uploads on a PUT is no call of an upload in parts (creation is a POST), and stores nothing', grants: [putGrant('adv/up/q-uploads')], request: { method: 'PUT', path: '/objects/adv/up/q-uploads?uploads', body: 'plain put' }, expect: { status: 400, code: 'multipart_bad_query' } },
  { id: 'query-put-part', why: 'a part of an upload needs a grant with multipart: a plain put grant cannot send one', grants: [putGrant('adv/up/q-part')], request: { method: 'PUT', path: '/objects/adv/up/q-part?partNumber=1&uploadId=abc', body: 'plain put' }, expect: { status: 403, code: 'multipart_not_allowed', audit: { op: 'put.part', key: 'adv/up/q-part' } } },
  { id: 'query-delete-version', why: 'a versionId on delete is refused, and nothing is deleted', grants: [{ claims: { op: 'delete', key: 'adv/del/query' } }], request: { method: 'DELETE', path: '/objects/adv/del/query?versionId=1' }, expect: { status: 400, code: 'unsupported_parameter' } },
  { id: 'query-head-part', why: 'a partNumber on a head is no call of an upload in parts: refused, not ignored', grants: [{ claims: { op: 'head', key: 'adv/read.csv' } }], request: { method: 'HEAD', path: `${READ}?partNumber=1` }, expect: { status: 400, body: '', decision: 'multipart_bad_query', audit: { identity: [] } } },
  {
    id: 'amz-put-copy-source', why: 'x-amz-copy-source cannot copy the secret into the granted key', grants: [putGrant('adv/up/copy')],
    request: { method: 'PUT', path: '/objects/adv/up/copy', body: 'mine', headers: [['x-amz-copy-source', 'demo-reports/secret/plans.txt'], ['x-amz-metadata-directive', 'REPLACE']] },
    expect: { status: 200, s3: { put: 'adv/up/copy', bytes: 'mine' }, audit: { op: 'put', key: 'adv/up/copy', s3_status: 200 } },
  },
  {
    id: 'amz-put-acl-and-sse', why: 'ACLs, encryption and metadata headers from the caller are not passed', grants: [putGrant('adv/up/acl')],
    request: { method: 'PUT', path: '/objects/adv/up/acl', body: 'acl', headers: [['x-amz-acl', 'public-read-write'], ['x-amz-grant-full-control', 'id=attacker'], ['x-amz-server-side-encryption', 'aws:kms'], ['x-amz-website-redirect-location', 'https://evil.example/'], ['x-amz-meta-owner', 'attacker'], ['x-amz-tagging', 'a=b']] },
    expect: { status: 200, s3: { put: 'adv/up/acl', bytes: 'acl' }, audit: { op: 'put', key: 'adv/up/acl', s3_status: 200 } },
  },
  {
    // A Content-MD5 is passed on for S3 to check (tests/e2e/integrity.test.mjs): this one is the body's.
    id: 'amz-put-content-sha256', why: 'a caller x-amz-content-sha256 and x-amz-date do not replace the gatekeeper signature', grants: [putGrant('adv/up/sha')],
    request: { method: 'PUT', path: '/objects/adv/up/sha', body: 'sha', headers: [['x-amz-content-sha256', '0000000000000000000000000000000000000000000000000000000000000000'], ['content-md5', 'ynlPstlQrPJclk7MNfLX4g=='], ['x-amz-date', '20000101T000000Z']] },
    expect: { status: 200, s3: { put: 'adv/up/sha', bytes: 'sha' }, audit: { op: 'put', key: 'adv/up/sha', s3_status: 200 } },
  },
  {
    id: 'amz-get-headers', why: 'x-amz headers on a read are not passed on', grants: [read],
    request: { path: READ, headers: [['x-amz-copy-source', 'demo-reports/secret/plans.txt'], ['x-amz-request-payer', 'requester'], ['x-amz-checksum-mode', 'ENABLED'], ['x-amz-expected-bucket-owner', '000000000000']] }, expect: readOk,
  },
  { id: 'amz-head-headers', why: 'x-amz headers on head', grants: [{ claims: { op: 'head', key: 'adv/read.csv' } }], request: { method: 'HEAD', path: READ, headers: [['x-amz-server-side-encryption-customer-algorithm', 'AES256'], ['content-md5', 'x']] }, expect: { status: 200, body: '', audit: { op: 'head', key: 'adv/read.csv', s3_status: 200 } } },
  { id: 'amz-list-headers', why: 'x-amz headers on a listing', grants: [{ claims: { op: 'list', prefix: 'reports/' } }], request: { path: '/objects?prefix=reports/', headers: [['x-amz-request-payer', 'requester'], ['x-amz-optional-object-attributes', 'RestoreStatus']] }, expect: { status: 200, audit: { op: 'list', key: 'reports/', s3_status: 200 } } },
  {
    id: 'amz-delete-headers', why: 'x-amz headers on a delete, which is still refused without its grant', grants: [{ claims: { key: 'adv/del/wrong' } }],
    request: { method: 'DELETE', path: '/objects/adv/del/wrong', headers: [['x-amz-bypass-governance-retention', 'true'], ['x-amz-mfa', '1 2']] }, expect: { status: 403, code: 'grant_scope_mismatch', audit: { op: 'delete', key: 'adv/del/wrong' } },
  },
  { id: 'override-get-as-delete', why: 'X-HTTP-Method-Override: DELETE on a read is still a read', grants: [{ claims: { key: 'adv/del/override' } }], request: { path: '/objects/adv/del/override', headers: [['x-http-method-override', 'DELETE'], ['x-method-override', 'DELETE']] }, expect: { status: 200, body: { object: 'adv/del/override' }, audit: { op: 'get', key: 'adv/del/override', s3_status: 200 } } },
  { id: 'override-post-as-put', why: 'a POST overridden to PUT is still a POST', grants: [putGrant('adv/up/override')], request: { method: 'POST', path: '/objects/adv/up/override', body: 'x', headers: [['x-http-method-override', 'PUT']] }, expect: { status: 405, code: 'method_not_allowed', audit: { method: 'POST' } } },
  { id: 'expect-continue-put', why: 'Expect: 100-continue on an upload', grants: [putGrant('adv/up/expect')], request: { method: 'PUT', path: '/objects/adv/up/expect', body: 'expected', raw: true, headers: [['expect', '100-continue']] }, expect: { status: 200, s3: { put: 'adv/up/expect', bytes: 'expected' }, audit: { op: 'put', key: 'adv/up/expect', s3_status: 200 } } },
  { id: 'expect-continue-get', why: 'Expect: 100-continue on a read', grants: [read], request: { path: READ, raw: true, headers: [['expect', '100-continue']] }, expect: readOk },
  { id: 'expect-continue-delete', why: 'Expect: 100-continue on a delete', grants: [{ claims: { op: 'delete', key: 'adv/del/expect' } }], request: { method: 'DELETE', path: '/objects/adv/del/expect', raw: true, headers: [['expect', '100-continue']] }, expect: { status: 204, body: '', s3: { deleted: 'adv/del/expect' }, audit: { op: 'delete', key: 'adv/del/expect', s3_status: 204 } } },
  { id: 'expect-continue-head', why: 'Expect: 100-continue on a head', grants: [{ claims: { op: 'head', key: 'adv/read.csv' } }], request: { method: 'HEAD', path: READ, raw: true, headers: [['expect', '100-continue']] }, expect: { status: 200, body: '', audit: { op: 'head', key: 'adv/read.csv', s3_status: 200 } } },
  { id: 'expect-continue-list', why: 'Expect: 100-continue on a listing', grants: [{ claims: { op: 'list', prefix: 'reports/' } }], request: { path: '/objects?prefix=reports/', raw: true, headers: [['expect', '100-continue']] }, expect: { status: 200, audit: { op: 'list', key: 'reports/', s3_status: 200 } } },
  { id: 'expect-unknown-put', why: 'an Expect the gatekeeper ignores does not change the upload', grants: [putGrant('adv/up/expect-odd')], request: { method: 'PUT', path: '/objects/adv/up/expect-odd', body: 'odd', raw: true, headers: [['expect', 'x-ray-vision']] }, expect: { status: 200, s3: { put: 'adv/up/expect-odd', bytes: 'odd' }, audit: { op: 'put', key: 'adv/up/expect-odd', s3_status: 200 } } },
  { id: 'content-md5-get', why: 'a Content-MD5 on a read', grants: [read], request: { path: READ, headers: [['content-md5', 'AAAAAAAAAAAAAAAAAAAAAA==']] }, expect: readOk },
  { id: 'content-md5-delete', why: 'a bogus Content-MD5 on a delete', grants: [{ claims: { op: 'delete', key: 'adv/del/md5' } }], request: { method: 'DELETE', path: '/objects/adv/del/md5', headers: [['content-md5', 'AAAAAAAAAAAAAAAAAAAAAA==']] }, expect: { status: 204, body: '', s3: { deleted: 'adv/del/md5' }, audit: { op: 'delete', key: 'adv/del/md5', s3_status: 204 } } },
  { id: 'override-head-as-put', why: 'X-HTTP-Method-Override: PUT on head is still a head', grants: [{ claims: { op: 'head', key: 'adv/read.csv' } }], request: { method: 'HEAD', path: READ, headers: [['x-http-method-override', 'PUT']] }, expect: { status: 200, body: '', audit: { op: 'head', key: 'adv/read.csv', s3_status: 200 } } },
  { id: 'override-put-as-delete', why: 'X-HTTP-Method-Override: DELETE on an upload is still an upload', grants: [putGrant('adv/up/override-put')], request: { method: 'PUT', path: '/objects/adv/up/override-put', body: 'kept', headers: [['x-http-method-override', 'DELETE']] }, expect: { status: 200, s3: { put: 'adv/up/override-put', bytes: 'kept' }, audit: { op: 'put', key: 'adv/up/override-put', s3_status: 200 } } },
  { id: 'override-delete-as-get', why: 'X-HTTP-Method-Override: GET does not let a read grant delete', grants: [{ claims: { key: 'adv/del/override-get' } }], request: { method: 'DELETE', path: '/objects/adv/del/override-get', headers: [['x-http-method-override', 'GET']] }, expect: { status: 403, code: 'grant_scope_mismatch', audit: { op: 'delete', key: 'adv/del/override-get' } } },
  { id: 'query-list-duplicate-prefix', why: 'two prefixes', grants: [{ claims: { op: 'list', prefix: 'reports/' } }], request: { path: '/objects?prefix=reports/&prefix=secret/' }, expect: { status: 400, code: 'bad_query' } },
  { id: 'query-list-delimiter', why: 'an S3 parameter', grants: [{ claims: { op: 'list', prefix: 'reports/' } }], request: { path: '/objects?prefix=reports/&delimiter=/' }, expect: { status: 400, code: 'bad_query' } },
  { id: 'query-list-continuation', why: 'the S3 name for the cursor', grants: [{ claims: { op: 'list', prefix: 'reports/' } }], request: { path: '/objects?prefix=reports/&continuation-token=x' }, expect: { status: 400, code: 'bad_query' } },
  { id: 'query-list-control', why: 'a control character in the prefix', grants: [{ claims: { op: 'list', prefix: 'reports/' } }], request: { path: '/objects?prefix=reports/%00' }, expect: { status: 400, code: 'bad_query' } },
  { id: 'query-list-limit', why: 'a limit over 1000', grants: [{ claims: { op: 'list', prefix: 'reports/' } }], request: { path: '/objects?prefix=reports/&limit=100000' }, expect: { status: 400, code: 'bad_query' } },

  // ---------------------------------------------------------------- uploads
  { id: 'put-allowed', why: 'an upload stores exactly its bytes', grants: [putGrant('adv/up/ok.bin')], request: { method: 'PUT', path: '/objects/adv/up/ok.bin', body: { repeat: '0123456789', times: 100 } }, expect: { status: 200, s3: { put: 'adv/up/ok.bin', bytes: { repeat: '0123456789', times: 100 } }, audit: { op: 'put', key: 'adv/up/ok.bin', s3_status: 200, bytes_in: 1000 } } },
  { id: 'put-empty', why: 'an empty upload', grants: [putGrant('adv/up/empty')], request: { method: 'PUT', path: '/objects/adv/up/empty', body: '' }, expect: { status: 200, s3: { put: 'adv/up/empty', bytes: '' }, audit: { op: 'put', key: 'adv/up/empty', s3_status: 200, bytes_in: 0 } } },
  { id: 'put-chunked', why: 'a chunked upload has no length', grants: [putGrant('adv/up/chunked')], request: { method: 'PUT', path: '/objects/adv/up/chunked', raw: true, headers: [['transfer-encoding', 'chunked']], rawTail: '5\r\nhello\r\n0\r\n\r\n' }, expect: { status: 411, code: 'length_required', audit: { op: 'put', key: 'adv/up/chunked' } } },
  { id: 'put-length-and-chunked', why: 'Content-Length and chunked together (request smuggling): chunked wins, and has no length', grants: [putGrant('adv/up/smuggle')], request: { method: 'PUT', path: '/objects/adv/up/smuggle', raw: true, headers: [['content-length', '5'], ['transfer-encoding', 'chunked']], rawTail: '5\r\nhello\r\n0\r\n\r\n' }, expect: { status: 411, code: 'length_required', audit: { op: 'put', key: 'adv/up/smuggle' } } },
  // wrangler's local proxy answers 503 itself when the upload breaks off; the gatekeeper's own answer is in the row.
  { id: 'put-body-short', why: 'a body shorter than its Content-Length is not stored', grants: [putGrant('adv/up/short')], request: { method: 'PUT', path: '/objects/adv/up/short', raw: true, headers: [['content-length', '1000']], rawTail: '0123456789' }, expect: { status: [502, 503], code: null, decision: 'upstream_unreachable', audit: { op: 'put', key: 'adv/up/short', status: 502, bytes_in: 1000 } } },
  { id: 'put-body-long', why: 'bytes past the Content-Length are not part of the object', grants: [putGrant('adv/up/long')], request: { method: 'PUT', path: '/objects/adv/up/long', raw: true, headers: [['content-length', '5']], rawTail: 'helloEXTRA-BYTES' }, expect: { status: 200, s3: { put: 'adv/up/long', bytes: 'hello' }, audit: { op: 'put', key: 'adv/up/long', s3_status: 200, bytes_in: 5 } } },
  { id: 'put-length-not-number', why: 'Content-Length abc', grants: [putGrant('adv/up/nan')], request: { method: 'PUT', path: '/objects/adv/up/nan', raw: true, headers: [['content-length', 'abc']], rawTail: 'abc' }, expect: { status: [400, 500], code: null, audit: 'none' } },
  { id: 'put-length-twice', why: 'two different Content-Lengths', grants: [putGrant('adv/up/twice')], request: { method: 'PUT', path: '/objects/adv/up/twice', raw: true, headers: [['content-length', '3'], ['content-length', '5']], rawTail: 'hello' }, expect: { status: [400, 500], code: null, audit: 'none' } },
  { id: 'put-over-max-size', why: 'one byte over the grant max_size', grants: [putGrant('adv/up/max', { max_size: 10 })], request: { method: 'PUT', path: '/objects/adv/up/max', body: '01234567890' }, expect: { status: 413, code: 'too_large', audit: { op: 'put', key: 'adv/up/max' } } },
  { id: 'put-at-max-size', why: 'exactly the grant max_size', grants: [putGrant('adv/up/max-ok', { max_size: 10 })], request: { method: 'PUT', path: '/objects/adv/up/max-ok', body: '0123456789' }, expect: { status: 200, s3: { put: 'adv/up/max-ok', bytes: '0123456789' }, audit: { op: 'put', key: 'adv/up/max-ok', s3_status: 200, bytes_in: 10 } } },
  { id: 'put-over-gatekeeper-max', why: 'over MAX_UPLOAD_BYTES, whatever the grant says', grants: [putGrant('adv/up/huge', { max_size: 1e9 })], request: { method: 'PUT', path: '/objects/adv/up/huge', body: { repeat: 'x', times: 65537 } }, expect: { status: 413, code: 'too_large', audit: { op: 'put', key: 'adv/up/huge' } } },
  { id: 'put-type-with-parameters', why: 'text/csv; charset=utf-8 is not text/csv', grants: [putGrant('adv/up/type1', { content_type: 'text/csv' })], request: { method: 'PUT', path: '/objects/adv/up/type1', body: 'a', headers: [['content-type', 'text/csv; charset=utf-8']] }, expect: { status: 415, code: 'content_type_mismatch', audit: { op: 'put', key: 'adv/up/type1' } } },
  { id: 'put-type-case', why: 'Text/CSV is not text/csv', grants: [putGrant('adv/up/type2', { content_type: 'text/csv' })], request: { method: 'PUT', path: '/objects/adv/up/type2', body: 'a', headers: [['content-type', 'Text/CSV']] }, expect: { status: 415, code: 'content_type_mismatch', audit: { op: 'put', key: 'adv/up/type2' } } },
  { id: 'put-type-missing', why: 'no Content-Type when the grant names one', grants: [putGrant('adv/up/type3', { content_type: 'text/csv' })], request: { method: 'PUT', path: '/objects/adv/up/type3', raw: true, body: 'a' }, expect: { status: 415, code: 'content_type_mismatch', audit: { op: 'put', key: 'adv/up/type3' } } },
  { id: 'put-type-twice', why: 'two Content-Types, the granted one first', grants: [putGrant('adv/up/type4', { content_type: 'text/csv' })], request: { method: 'PUT', path: '/objects/adv/up/type4', raw: true, body: 'a', headers: [['content-type', 'text/csv'], ['content-type', 'text/html']] }, expect: { status: 415, code: 'content_type_mismatch', audit: { op: 'put', key: 'adv/up/type4' } } },
  { id: 'put-type-exact', why: 'the granted Content-Type', grants: [putGrant('adv/up/type5', { content_type: 'text/csv' })], request: { method: 'PUT', path: '/objects/adv/up/type5', body: 'a,b', headers: [['content-type', 'text/csv']] }, expect: { status: 200, s3: { put: 'adv/up/type5', bytes: 'a,b' }, audit: { op: 'put', key: 'adv/up/type5', s3_status: 200 } } },
  { id: 'put-no-jti', why: 'a write grant without jti', grants: [putGrant('adv/up/nojti', { jti: null })], request: { method: 'PUT', path: '/objects/adv/up/nojti', body: 'x' }, expect: { status: 401, code: 'grant_jti_required', audit: { op: 'put', key: 'adv/up/nojti' } } },
  { id: 'put-empty-jti', why: 'a write grant with an empty jti', grants: [putGrant('adv/up/emptyjti', { jti: '' })], request: { method: 'PUT', path: '/objects/adv/up/emptyjti', body: 'x' }, expect: { status: 401, code: 'grant_jti_required', audit: { op: 'put', key: 'adv/up/emptyjti' } } },
  { id: 'put-finance-one-signature', why: 'a finance upload with one signature', grants: [putGrant('finance/one.csv')], request: { method: 'PUT', path: '/objects/finance/one.csv', body: 'x' }, expect: { status: 403, code: 'signatures_insufficient', audit: { op: 'put', key: 'finance/one.csv' } } },

  // ---------------------------------------------------------------- where the caller is
  {
    id: 'ip-spoofed-headers-denied', why: 'forwarding headers cannot clear a denied CF-Connecting-IP', grants: [read],
    request: { path: READ, ip: '203.0.113.5', headers: [['x-forwarded-for', '198.51.100.7'], ['x-real-ip', '198.51.100.7'], ['true-client-ip', '198.51.100.7'], ['forwarded', 'for=198.51.100.7']] },
    expect: { status: 403, code: 'ip_denied', audit: { op: null, key: null } },
  },
  { id: 'ip-spoofed-headers-not-read', why: 'nor get an allowed caller denied', grants: [read], request: { path: READ, headers: [['x-forwarded-for', '203.0.113.5'], ['x-real-ip', '203.0.113.5'], ['true-client-ip', '203.0.113.5'], ['forwarded', 'for=203.0.113.5']] }, expect: readOk },
  { id: 'ip-mapped-denied', why: 'an IPv4-mapped IPv6 address meets the IPv4 deny list', grants: [read], request: { path: READ, ip: '::ffff:203.0.113.5' }, expect: { status: 403, code: 'ip_denied', audit: { op: null, key: null, ip: 'any' } } },
  { id: 'ip-v6-denied', why: 'a denied IPv6 network', grants: [read], request: { path: READ, ip: '2001:db8:bad::1' }, expect: { status: 403, code: 'ip_denied', audit: { op: null, key: null } } },
  { id: 'ip-garbage', why: 'a CF-Connecting-IP that is no address', grants: [read], request: { path: READ, ip: 'localhost' }, expect: { status: 403, code: 'ip_unknown', audit: { op: null, key: null, ip: null } } },
  { id: 'ip-list', why: 'two addresses in CF-Connecting-IP', grants: [read], request: { path: READ, ip: '198.51.100.9, 203.0.113.5' }, expect: { status: 403, code: 'ip_unknown', audit: { op: null, key: null, ip: null } } },
  { id: 'ip-leading-zeros', why: 'a denied address with leading zeros', grants: [read], request: { path: READ, ip: '203.000.113.005' }, expect: { status: 403, code: 'ip_unknown', audit: { op: null, key: null, ip: null } } },
  { id: 'ip-with-port', why: 'an address with a port', grants: [read], request: { path: READ, ip: '203.0.113.5:443' }, expect: { status: 403, code: 'ip_unknown', audit: { op: null, key: null, ip: null } } },
  { id: 'grant-ip-mapped', why: 'an IPv4-mapped caller meets an IPv4 grant ip', grants: [{ claims: { key: 'adv/read.csv', ip: '192.0.2.0/24' } }], request: { path: READ, ip: '::ffff:192.0.2.7' }, expect: { ...readOk, audit: { ...readOk.audit, ip: 'any' } } },
  { id: 'grant-ip-v6', why: 'an IPv6 grant ip', grants: [{ claims: { key: 'adv/read.csv', ip: '2001:db8:1::/48' } }], request: { path: READ, ip: '2001:db8:1::7' }, expect: readOk },
  { id: 'grant-ip-outside', why: 'a caller outside the grant ip', grants: [{ claims: { key: 'adv/read.csv', ip: '198.18.0.0/15' } }], request: { path: READ }, expect: { status: 403, code: 'grant_ip_mismatch', audit: { op: 'get', key: 'adv/read.csv' } } },
  {
    id: 'grant-ip-spoofed', why: 'forwarding headers naming the grant network do not count', grants: [{ claims: { key: 'adv/read.csv', ip: '192.0.2.0/24' } }],
    request: { path: READ, headers: [['x-forwarded-for', '192.0.2.7'], ['x-real-ip', '192.0.2.7'], ['true-client-ip', '192.0.2.7'], ['forwarded', 'for=192.0.2.7']] }, expect: { status: 403, code: 'grant_ip_mismatch', audit: { op: 'get', key: 'adv/read.csv' } },
  },

  // ---------------------------------------------------------------- pages of other origins
  { id: 'cors-foreign-origin', why: 'a foreign page cannot spend a grant', grants: [read], request: { path: READ, headers: [['origin', 'https://evil.example']] }, expect: { status: 403, code: 'origin_not_allowed', headers: { 'access-control-allow-origin': null }, audit: { origin: 'https://evil.example' } } },
  { id: 'cors-null-origin', why: 'a sandboxed page or file: (Origin: null)', grants: [read], request: { path: READ, headers: [['origin', 'null']] }, expect: { status: 403, code: 'origin_not_allowed', headers: { 'access-control-allow-origin': null }, audit: { origin: 'null' } } },
  { id: 'cors-suffix-origin', why: 'the allowed host as a prefix of another', grants: [read], request: { path: READ, headers: [['origin', 'https://app.vendor.example.evil.example']] }, expect: { status: 403, code: 'origin_not_allowed', audit: { origin: 'https://app.vendor.example.evil.example' } } },
  { id: 'cors-http-origin', why: 'the allowed host over http', grants: [read], request: { path: READ, headers: [['origin', 'http://app.vendor.example']] }, expect: { status: 403, code: 'origin_not_allowed', audit: { origin: 'http://app.vendor.example' } } },
  { id: 'cors-put-foreign', why: 'a foreign page cannot upload either', grants: [putGrant('adv/up/cors')], request: { method: 'PUT', path: '/objects/adv/up/cors', body: 'x', headers: [['origin', 'https://evil.example']] }, expect: { status: 403, code: 'origin_not_allowed', audit: { origin: 'https://evil.example' } } },
  { id: 'cors-allowed-origin', why: 'the vendor page', grants: [read], request: { path: READ, headers: [['origin', APP_ORIGIN]] }, expect: { ...readOk, headers: { 'access-control-allow-origin': APP_ORIGIN }, audit: { ...readOk.audit, origin: APP_ORIGIN } } },
  { id: 'cors-preflight-foreign', why: 'a foreign preflight is refused and not recorded', request: { method: 'OPTIONS', path: READ, headers: [['origin', 'https://evil.example'], ['access-control-request-method', 'PUT']] }, expect: { status: 403, code: null, headers: { 'access-control-allow-origin': null }, audit: 'none' } },
  { id: 'cors-preflight-null', why: 'a null-origin preflight', request: { method: 'OPTIONS', path: READ, headers: [['origin', 'null'], ['access-control-request-method', 'GET']] }, expect: { status: 403, code: null, headers: { 'access-control-allow-origin': null }, audit: 'none' } },
  { id: 'cors-preflight-allowed', why: 'the vendor page preflight touches nothing and is not recorded', request: { method: 'OPTIONS', path: READ, headers: [['origin', APP_ORIGIN], ['access-control-request-method', 'PUT']] }, expect: { status: 204, code: null, headers: { 'access-control-allow-origin': APP_ORIGIN }, audit: 'none' } },

  // ---------------------------------------------------------------- methods
  { id: 'method-patch', why: 'PATCH', grants: [read], request: { method: 'PATCH', path: READ, body: 'x' }, expect: { status: 405, code: 'method_not_allowed', audit: { method: 'PATCH' } } },
  { id: 'method-post', why: 'POST', grants: [putGrant('adv/up/post')], request: { method: 'POST', path: '/objects/adv/up/post', body: 'x' }, expect: { status: 405, code: 'method_not_allowed', audit: { method: 'POST' } } },
  { id: 'method-propfind', why: 'a WebDAV method', grants: [read], request: { method: 'PROPFIND', path: READ, raw: true }, expect: { status: 405, code: 'method_not_allowed', audit: { method: 'PROPFIND' } } },
  { id: 'method-mkcol', why: 'MKCOL', request: { method: 'MKCOL', path: '/objects/adv/newdir', raw: true }, expect: { status: 405, code: 'method_not_allowed', audit: { method: 'MKCOL' } } },
  { id: 'method-purge', why: 'PURGE', grants: [read], request: { method: 'PURGE', path: READ, raw: true }, expect: { status: 405, code: 'method_not_allowed', audit: { method: 'PURGE' } } },
  { id: 'method-lowercase-get', why: 'get is not GET: workerd refuses a method it does not know before the Worker runs', grants: [read], request: { method: 'get', path: READ, raw: true }, expect: { status: 501, code: null, audit: 'none' } },
  { id: 'method-unknown-token', why: 'a method no standard has: workerd refuses it before the Worker runs', grants: [read], request: { method: 'FROBNICATE', path: READ, raw: true }, expect: { status: 501, code: null, audit: 'none' } },
  { id: 'method-from-denied-network', why: 'the ACL comes before anything else, an unknown method included, which is still recorded as sent', grants: [read], request: { method: 'PATCH', path: READ, ip: '203.0.113.9', body: 'x' }, expect: { status: 403, code: 'ip_denied', audit: { op: null, key: null, method: 'PATCH' } } },
  { id: 'method-trace', why: 'TRACE', request: { method: 'TRACE', path: READ, raw: true }, expect: { status: 405, code: 'method_not_allowed', audit: { method: 'TRACE' } } },
  { id: 'method-post-listing', why: 'POST on the listing', grants: [{ claims: { op: 'list', prefix: 'reports/' } }], request: { method: 'POST', path: '/objects?prefix=reports/', body: 'x' }, expect: { status: 405, code: 'method_not_allowed', audit: { method: 'POST' } } },
  { id: 'method-delete-listing', why: 'DELETE on the listing', grants: [{ claims: { op: 'delete', key: 'reports/a.csv' } }], request: { method: 'DELETE', path: '/objects?prefix=reports/' }, expect: { status: 405, code: 'method_not_allowed', audit: { method: 'DELETE' } } },
  { id: 'method-put-listing', why: 'PUT on the listing', grants: [putGrant('reports/a.csv')], request: { method: 'PUT', path: '/objects?prefix=reports/', body: 'x' }, expect: { status: 405, code: 'method_not_allowed', audit: { method: 'PUT' } } },

  // ---------------------------------------------------------------- the Authorization header
  { id: 'auth-lowercase-scheme', why: 'the scheme is case-insensitive: bearer', grants: [read], request: { path: READ, auth: 'bearer {{token}}' }, expect: readOk },
  { id: 'auth-uppercase-scheme', why: 'BEARER', grants: [read], request: { path: READ, auth: 'BEARER {{token}}' }, expect: readOk },
  { id: 'auth-empty', why: 'Bearer and nothing', request: { path: READ, auth: 'Bearer ' }, expect: { status: 401, code: 'grant_missing', audit: { op: 'get', key: 'adv/read.csv' } } },
  { id: 'auth-only-commas', why: 'Bearer and empty list entries', request: { path: READ, auth: 'Bearer , ,' }, expect: { status: 401, code: 'grant_missing', audit: { op: 'get', key: 'adv/read.csv' } } },
  { id: 'auth-basic', why: 'Basic credentials', request: { path: READ, auth: 'Basic dXNlcjpwYXNz' }, expect: { status: 401, code: 'grant_missing', audit: { op: 'get', key: 'adv/read.csv' } } },
  { id: 'auth-sigv4', why: 'an AWS signature instead of a grant', request: { path: READ, auth: 'AWS4-HMAC-SHA256 Credential=AKIA/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00' }, expect: { status: 401, code: 'grant_missing', audit: { op: 'get', key: 'adv/read.csv' } } },
  { id: 'auth-no-space', why: 'Bearer glued to the token', grants: [read], request: { path: READ, auth: 'Bearer{{token}}' }, expect: { status: 401, code: 'grant_missing', audit: { op: 'get', key: 'adv/read.csv' } } },
  { id: 'auth-in-query', why: 'a grant in the query is not read', grants: [read], request: { path: `${READ}?token={{token}}&access_token={{token}}`, auth: null }, expect: { status: 401, code: 'grant_missing', audit: { op: 'get', key: 'adv/read.csv' } } },
  { id: 'auth-in-cookie', why: 'a grant in a cookie is not read', grants: [read], request: { path: READ, auth: null, headers: [['cookie', 'grant={{token}}; authorization=Bearer%20{{token}}']] }, expect: { status: 401, code: 'grant_missing', audit: { op: 'get', key: 'adv/read.csv' } } },
  { id: 'auth-other-header', why: 'a grant in another header is not read', grants: [read], request: { path: READ, auth: null, headers: [['x-grant', '{{token}}'], ['proxy-authorization', 'Bearer {{token}}']] }, expect: { status: 401, code: 'grant_missing', audit: { op: 'get', key: 'adv/read.csv' } } },
  { id: 'auth-two-headers', why: 'two Authorization headers, the second not a grant', grants: [read], request: { path: READ, raw: true, auth: null, headers: [['authorization', 'Bearer {{token}}'], ['authorization', 'Basic dXNlcjpwYXNz']] }, expect: { status: 401, code: 'grant_malformed', audit: { op: 'get', key: 'adv/read.csv', identity: 'any' } } },

  // ---------------------------------------------------------------- malformed requests
  { id: 'header-huge', why: 'a 100 kB header is ignored', grants: [read], request: { path: READ, raw: true, headers: [['x-pad', '{{repeat:a:100000}}']] }, expect: readOk },
  { id: 'header-no-colon', why: 'a header line without a colon', grants: [read], request: { path: READ, rawRequest: 'GET /objects/adv/read.csv HTTP/1.1\r\nhost: {{host}}\r\nuser-agent: {{ua}}\r\ncf-connecting-ip: {{ip}}\r\nauthorization: Bearer {{token}}\r\nx-broken header line\r\nconnection: close\r\n\r\n' }, expect: { status: 400, code: null, audit: 'none' } },
  { id: 'header-folded', why: 'an obsolete folded header changes nothing', grants: [read], request: { path: READ, raw: true, headers: [['x-folded', 'a\r\n b']] }, expect: readOk },
  { id: 'header-folded-authorization', why: 'a grant folded onto a second line is unfolded by the runtime, as HTTP says, and is the same grant', grants: [read], request: { path: READ, raw: true, auth: null, headers: [['authorization', 'Bearer\r\n {{token}}']] }, expect: readOk },
  { id: 'request-line-garbage', why: 'no HTTP at all', request: { path: READ, rawRequest: 'HELLO\r\n\r\n' }, expect: { status: 501, code: null, audit: 'none' } },
  { id: 'user-agent-long', why: 'a 10 kB user agent is cut to 256 bytes', grants: [read], request: { path: READ, uaSuffix: '{{repeat:u:10000}}' }, expect: { ...readOk, audit: { ...readOk.audit, userAgentBytes: 256 } } },
  { id: 'cf-ray-spoofed', why: 'a long, quoted cf-ray is cut and bound', grants: [read], request: { path: READ, headers: [['cf-ray', "x'); DROP TABLE audit_log; --{{repeat:r:200}}"]] }, expect: { ...readOk, audit: { ...readOk.audit, requestIdBytes: 64 } } },

  // ---------------------------------------------------------------- floods
  {
    id: 'flood-then-stolen-grant', why: '30 cheap refusals, then a genuine grant on the wrong key: still a full row',
    grants: [read], prelude: [{ repeat: 30, auth: null }], sameMinute: 15000, request: { path: '/objects/secret/plans.txt' },
    expect: { status: 403, code: 'grant_scope_mismatch', preludeRows: 30, audit: { op: 'get', key: 'secret/plans.txt' } },
  },
  {
    id: 'flood-then-allowed', why: 'after a flood, an allowed read is recorded',
    grants: [read], prelude: [{ repeat: 31, auth: null }], sameMinute: 15000, request: { path: READ },
    expect: { ...readOk, preludeRows: 30 },
  },
  {
    id: 'flood-ipv6-one-64', why: 'IPv6 floods are counted per /64: a 31st unsigned refusal from the same /64 is only counted',
    prelude: [{ repeat: 30, ip: '2001:db8:f1::{{i}}' }], sameMinute: 15000, request: { path: READ, ip: '2001:db8:f1::ffff' },
    expect: { status: 401, code: 'grant_missing', preludeRows: 30, audit: 'none' },
  },

  // ---------------------------------------------------------------- country (request.cf per request)
  { id: 'country-xx', why: 'XX is Cloudflare for unknown', stack: 'country', grants: [read], request: { path: READ, cf: { country: 'XX' } }, expect: { status: 403, code: 'country_unknown', audit: { op: null, key: null } } },
  { id: 'country-none', why: 'no country at all', stack: 'country', grants: [read], request: { path: READ, cf: { country: null } }, expect: { status: 403, code: 'country_unknown', audit: { op: null, key: null } } },
  { id: 'country-tor', why: 'Tor', stack: 'country', grants: [read], request: { path: READ, cf: { country: 'T1' } }, expect: { status: 403, code: 'country_tor', audit: { op: null, key: null, country: 'T1' } } },
  { id: 'country-lowercase', why: 'gb in lower case is no country code', stack: 'country', grants: [read], request: { path: READ, cf: { country: 'gb' } }, expect: { status: 403, code: 'country_unknown', audit: { op: null, key: null } } },
  { id: 'country-not-allowed', why: 'a country outside the allow list', stack: 'country', grants: [read], request: { path: READ, cf: { country: 'FR' } }, expect: { status: 403, code: 'country_not_allowed', audit: { op: null, key: null, country: 'FR' } } },
  { id: 'country-allowed', why: 'an allowed country', stack: 'country', grants: [read], request: { path: READ, cf: { country: 'GB' } }, expect: { ...readOk, audit: { ...readOk.audit, country: 'GB' } } },

  // ---------------------------------------------------------------- a MULTISIG rule without keys
  { id: 'misconfigured-multisig-without-keys', why: 'a MULTISIG rule must name its keys; without, nothing is served', stack: 'misconfigured', grants: [read], request: { path: READ }, expect: { status: 500, code: 'misconfigured', audit: {} } },
  { id: 'misconfigured-finance', why: 'nor what the rule was meant to guard', stack: 'misconfigured', grants: [{ claims: { key: 'finance/x' } }], request: { path: '/objects/finance/x' }, expect: { status: 500, code: 'misconfigured', audit: {} } },

  // ---------------------------------------------------------------- reads that reach S3 and fail
  { id: 's3-missing-key', why: 'a genuine grant for a key S3 does not have: recorded in full', grants: [{ claims: { key: 'adv/missing.csv' } }], request: { path: '/objects/adv/missing.csv' }, expect: { status: 404, code: 'not_found', audit: { op: 'get', key: 'adv/missing.csv', s3_status: 404 } } },
  { id: 's3-range-outside', why: 'a range outside the object', grants: [read], request: { path: READ, headers: [['range', 'bytes=5000-6000']] }, expect: { status: 416, code: 'range_not_satisfiable', audit: { op: 'get', key: 'adv/read.csv', s3_status: 416 } } },
  { id: 's3-head-missing', why: 'head of a missing key', grants: [{ claims: { op: 'head', key: 'adv/missing.csv' } }], request: { method: 'HEAD', path: '/objects/adv/missing.csv' }, expect: { status: 404, code: null, body: '', audit: { op: 'head', key: 'adv/missing.csv', s3_status: 404 }, decision: 'not_found' } },
];

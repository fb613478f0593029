#!/usr/bin/env node
// Mints one grant from the command line, for trying things out:
//
//   VENDOR_SECRET_KEY=k4.secret.… VENDOR_KEY_ID=k4.pid.… \
//     node mint.mjs --aud acme-gatekeeper --sub user-42 --op get --key reports/q3.csv
//
// Prints the token.

import { parseArgs } from 'node:util';
import { grantMinter } from './grant.mjs';

const { values } = parseArgs({
  options: {
    aud: { type: 'string' },
    sub: { type: 'string' },
    op: { type: 'string' },
    key: { type: 'string' },
    prefix: { type: 'string' },
    ttl: { type: 'string', default: '300' },
    jti: { type: 'string' },
    ip: { type: 'string' },
    'max-size': { type: 'string' },
    'content-type': { type: 'string' },
    'issued-at': { type: 'string' },
  },
});

const mint = await grantMinter({ secretKey: process.env.VENDOR_SECRET_KEY ?? '', keyId: process.env.VENDOR_KEY_ID });
const token = await mint({
  audience: values.aud,
  sub: values.sub,
  op: values.op,
  key: values.key,
  prefix: values.prefix,
  ttlSeconds: Number(values.ttl),
  jti: values.jti,
  ip: values.ip,
  maxSize: values['max-size'] === undefined ? undefined : Number(values['max-size']),
  contentType: values['content-type'],
  now: values['issued-at'] === undefined ? undefined : new Date(values['issued-at']),
});
console.log(token);

#!/usr/bin/env node
// Serves the example page on loopback, from its own origin, as the vendor's web application
// would be served:
//
//   node serve.mjs [--port 8788] [--config page-config.json]
//
// Prints `listening on http://127.0.0.1:PORT` first (with --port 0, PORT is any free port).
// Only the page's own files in this folder are served; `/config.json` is the file given with
// --config, if any, so the settings of a run are never written into this folder.

import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.PORT ?? '8788' },
    config: { type: 'string' },
  },
});

const HERE = dirname(fileURLToPath(import.meta.url));
// An explicit list, so nothing else in this folder (this script, the README) is ever served.
const FILES = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/index.html': ['index.html', 'text/html; charset=utf-8'],
  '/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/style.css': ['style.css', 'text/css; charset=utf-8'],
};
if (values.config !== undefined) FILES['/config.json'] = [values.config, 'application/json; charset=utf-8'];

const HEADERS = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  // The page runs only its own script and style, and talks only to HTTP(S) servers: the vendor's
  // and the customer's gatekeeper, whose addresses it learns at run time.
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' http: https:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
};

const server = createServer(async (req, res) => {
  const path = new URL(req.url, 'http://localhost').pathname;
  const file = FILES[path];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { ...HEADERS, Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end('method not allowed\n');
    return;
  }
  if (file === undefined) {
    res.writeHead(404, { ...HEADERS, 'Content-Type': 'text/plain' }).end('not found\n');
    return;
  }
  const [name, type] = file;
  try {
    // `name` is either one of the page's files or the --config path, never the request's path.
    const body = await readFile(path === '/config.json' ? name : join(HERE, name));
    res.writeHead(200, { ...HEADERS, 'Content-Type': type, 'Content-Length': body.length });
    res.end(req.method === 'HEAD' ? undefined : body);
  } catch (err) {
    console.error(err);
    res.writeHead(500, { ...HEADERS, 'Content-Type': 'text/plain' }).end('could not read the file\n');
  }
});

server.listen(Number(values.port), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    server.close();
    server.closeAllConnections();
  });
}

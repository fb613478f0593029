// The browser demo the Chromium tests drive: a gatekeeper stack, the reference vendor server
// (examples/vendor-node/server.mjs), the example page (examples/browser) served from its own
// origin, and headless Chromium (Debian's), driven with playwright-core, which never downloads a
// browser.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startStack, startScript, freePort, LOCAL } from './stack.mjs';

/**
 * Starts the demo for `user`: the stack with `vars` and `objects`, the page's origin allowed (its
 * port is chosen first, since the gatekeeper must know it when it starts), and the page given
 * `page` (more of its config.json: `report`, `download`, …); the vendor server signs `session`
 * in as `user`. `stop()` ends it all.
 */
export async function startBrowserDemo({ user, session = randomBytes(16).toString('hex'), vars = {}, objects = {}, page = {} }) {
  const tmp = mkdtempSync(join(tmpdir(), 's3gk-browser-'));
  const demo = { tmp, session, user };
  demo.stop = async () => {
    await demo.browser?.close();
    await Promise.all([demo.vendor?.stop(), demo.pageServer?.stop()]);
    await demo.stack?.stop();
    rmSync(tmp, { recursive: true, force: true });
  };
  try {
    const pagePort = await freePort();
    demo.pageOrigin = `http://127.0.0.1:${pagePort}`;
    demo.stack = await startStack({
      vars: { ALLOWED_ORIGINS: JSON.stringify([demo.pageOrigin]), ...vars },
      objects,
    });
    demo.vendor = await startScript('vendor server', 'examples/vendor-node/server.mjs', [], {
      VENDOR_SECRET_KEY: readFileSync(demo.stack.keys.vendor.file, 'utf8'),
      VENDOR_KEY_ID: demo.stack.keys.vendor.id,
      GATEKEEPER_ID: LOCAL.audience,
      GATEKEEPER_URL: demo.stack.url,
      PAGE_ORIGIN: demo.pageOrigin,
      PORT: '0',
      DEMO_SESSION: session,
      DEMO_USER: user,
    });
    const config = join(tmp, 'config.json');
    writeFileSync(config, JSON.stringify({ vendor: demo.vendor.url, session, ...page }));
    demo.pageServer = await startScript('page', 'examples/browser/serve.mjs', ['--port', String(pagePort), '--config', config]);
    if (demo.pageServer.url !== demo.pageOrigin) throw new Error(`the page is at ${demo.pageServer.url}, not ${demo.pageOrigin}`);
    demo.pageUrl = `${demo.pageServer.url}/`;
    demo.browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  } catch (err) {
    await demo.stop();
    throw err;
  }
  return demo;
}

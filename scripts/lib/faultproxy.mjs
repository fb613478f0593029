// A TCP proxy on loopback that the end-to-end tests put between the gatekeeper and its S3
// server, to make S3 fail the ways a network and a storage service fail: gone, slow to answer,
// or cut off in the middle of a reply. It relays bytes untouched (so S3 still checks the
// gatekeeper's SigV4 signature, Host header included) and knows nothing of HTTP beyond this:
// a reply is what the server sends after the client last sent something.
//
// Modes, switched at any time with `set(mode, options)`:
//   pass                     relay everything
//   refuse                   as if S3 were stopped: the port is closed (connections are refused)
//                            and open connections are dropped
//   delay  { ms }            hold the first byte of each reply for `ms`
//   cut    { after }         drop the connection once `after` bytes of a reply have been relayed
//
// It also keeps the first `TAP_BYTES` bytes the gatekeeper sends (`sent()`), so a test can look at
// exactly what S3 was asked: request lines and headers, as they went over the wire.
//
// The mode is read when bytes arrive, so a connection the runtime keeps open for later requests
// obeys the mode of the moment, not the one it was opened under.

import { createServer, connect } from 'node:net';

/** How many bytes of what the gatekeeper sends the tap keeps. */
const TAP_BYTES = 4 * 1024 * 1024;

/**
 * Starts the proxy in `pass` mode on a free loopback port, relaying to `upstream`
 * (`http://host:port`).
 */
export async function startFaultProxy({ upstream }) {
  let target = new URL(upstream);
  let mode = { name: 'pass' };
  const open = new Set();
  let replies = 0;
  let accepted = 0;
  const tapped = [];
  let tappedBytes = 0;

  const server = createServer((client) => {
    accepted += 1;
    const s3 = connect({ host: target.hostname, port: Number(target.port) });
    const pair = { client, s3 };
    open.add(pair);
    // Bytes of the current reply relayed so far, and whether its first byte is still to come.
    let relayed = 0;
    let awaiting = true;
    // Set once a cut is under way: nothing more is relayed.
    let ending = false;
    // Set while a reply's first byte is held back.
    let holding = false;
    const drop = () => {
      open.delete(pair);
      client.destroy();
      s3.destroy();
    };
    client.on('error', drop);
    s3.on('error', drop);
    client.on('close', drop);
    s3.on('close', drop);
    client.on('data', (chunk) => {
      if (tappedBytes < TAP_BYTES) {
        const kept = chunk.subarray(0, TAP_BYTES - tappedBytes);
        tapped.push(Buffer.from(kept));
        tappedBytes += kept.length;
      }
      // The client spoke: whatever the server sends next is (the start of) a new reply.
      awaiting = true;
      relayed = 0;
      if (!s3.write(chunk)) client.pause();
    });
    s3.on('drain', () => client.resume());
    client.on('drain', () => {
      if (!ending && !holding) s3.resume();
    });

    const send = (chunk) => {
      if (ending) return;
      if (mode.name === 'cut') {
        const room = mode.after - relayed;
        if (room <= 0) return drop();
        if (chunk.length >= room) {
          relayed += room;
          ending = true;
          s3.pause();
          // Let the last permitted bytes leave before the connection goes.
          client.write(chunk.subarray(0, room), drop);
          return;
        }
      }
      relayed += chunk.length;
      if (!client.write(chunk)) s3.pause();
    };
    s3.on('data', (chunk) => {
      if (awaiting) {
        awaiting = false;
        replies += 1;
        if (mode.name === 'delay') {
          s3.pause();
          holding = true;
          setTimeout(() => {
            holding = false;
            if (!open.has(pair)) return;
            send(chunk);
            // Carry on unless sending filled the client's buffer (then 'drain' resumes).
            if (open.has(pair) && !ending && !client.writableNeedDrain) s3.resume();
          }, mode.ms);
          return;
        }
      }
      send(chunk);
    });
  });

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  let listening = true;

  const dropAll = () => {
    for (const { client, s3 } of open) {
      client.destroy();
      s3.destroy();
    }
    open.clear();
  };

  return {
    url: `http://127.0.0.1:${port}`,
    /** Replies whose first byte reached the proxy since it started. */
    get replies() {
      return replies;
    },
    /** Connections accepted since the proxy started. */
    get accepted() {
      return accepted;
    },
    /** Connections open now. */
    get connections() {
      return open.size;
    },
    /** What the gatekeeper has sent to S3 through the proxy (its first `TAP_BYTES` bytes). */
    sent() {
      return Buffer.concat(tapped);
    },
    /** Switches to `name` (`pass`, `refuse`, `delay`, `cut`) with its options. */
    async set(name, options = {}) {
      if (!['pass', 'refuse', 'delay', 'cut'].includes(name)) throw new TypeError(`unknown mode ${name}`);
      if (name === 'delay' && !(options.ms >= 0)) throw new TypeError('delay needs { ms }');
      if (name === 'cut' && !(options.after >= 0)) throw new TypeError('cut needs { after }');
      mode = { name, ...options };
      if (name === 'refuse' && listening) {
        listening = false;
        dropAll();
        await new Promise((resolve) => server.close(resolve));
      } else if (name !== 'refuse' && !listening) {
        // The same port again, so the gatekeeper's S3_ENDPOINT still names it.
        await new Promise((resolve, reject) => {
          server.once('error', reject);
          server.listen(port, '127.0.0.1', () => {
            server.off('error', reject);
            resolve();
          });
        });
        listening = true;
      }
    },
    /** Relays new connections to `url` from now on, dropping the open ones. */
    retarget(url) {
      target = new URL(url);
      dropAll();
    },
    /** Drops every open connection (the mode stays). */
    dropAll,
    async stop() {
      dropAll();
      if (listening) {
        listening = false;
        await new Promise((resolve) => server.close(resolve));
      }
    },
  };
}

// The vendor's page: it gets a grant from the vendor's server for one operation on one key, then
// calls the customer's gatekeeper directly with `Authorization: Bearer <grant>`. Object bytes go
// only between this browser and the customer's gatekeeper.
//
// Settings come from ./config.json (optional) and the query string, which wins:
//   vendor      the vendor server's URL (required)
//   session     the signed-in user's session token for the vendor server
//   gatekeeper  the gatekeeper's URL (default: the one the vendor server names)
//   report      the report to show first
//   part_mb     the size of each part of an upload in parts, in MiB (default 64; the gatekeeper's
//               part size caps it)
//   download    the key to offer a download link for
//
// Downloads use a link instead (`?grant=` in the URL, if the customer's gatekeeper accepts
// them): a plain <a href> the browser follows itself, so the file goes to disk, not into memory.

const $ = (selector) => document.querySelector(selector);

/** A refusal or failure, with the stable code and the message safe to show. */
class Failure extends Error {
  constructor(source, status, code, message) {
    super(message);
    this.source = source;
    this.status = status;
    this.code = code;
  }
}

async function loadConfig() {
  let config = {};
  try {
    const res = await fetch('config.json', { cache: 'no-store' });
    if (res.ok) config = await res.json();
  } catch {
    // No config.json: the query string alone configures the page.
  }
  for (const [name, value] of new URLSearchParams(location.search)) config[name] = value;
  const trim = (url) => url?.replace(/\/+$/, '');
  return { ...config, vendor: trim(config.vendor), gatekeeper: trim(config.gatekeeper) };
}

/**
 * fetch(), with every failure turned into a Failure: the server's JSON error
 * (`{"error": {"code", "message"}}`) when it sent one.
 */
async function call(source, url, init = {}) {
  let res;
  try {
    res = await fetch(url, { ...init, cache: 'no-store', credentials: 'omit' });
  } catch {
    // The browser hides why: the server is down, or it refused this page's origin.
    throw new Failure(source, 0, 'unreachable', "no reply this page may read: the server is down or does not accept this page's origin");
  }
  if (res.ok) return res;
  let code = `http_${res.status}`;
  let message = res.statusText || 'the request failed';
  try {
    const body = await res.json();
    if (typeof body?.error?.code === 'string') {
      code = body.error.code;
      message = String(body.error.message ?? '');
    }
  } catch {
    // Not JSON: the status is all there is to say.
  }
  throw new Failure(source, res.status, code, message);
}

/** The gatekeeper's URL for a key: every byte but `A-Z a-z 0-9 - _ . ~ /` percent-encoded. */
function objectUrl(gatekeeper, key) {
  const encode = (segment) =>
    encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${gatekeeper}/objects/${key.split('/').map(encode).join('/')}`;
}

/** Parses CSV (RFC 4180: quoted fields, doubled quotes, CRLF or LF) into rows of cells. */
function parseCsv(text) {
  const rows = [];
  let row = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
      } else {
        cell += c;
      }
    } else if (c === '"') {
      quoted = true;
    } else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else {
      cell += c;
    }
  }
  if (cell !== '' || row.length > 0) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

const MIB = 1024 * 1024;
/** Files larger than this go in parts: one request must stay under the 100 MB Cloudflare takes. */
const SINGLE_PUT_MAX = 64 * MIB;
/** S3's smallest part (but the last). */
const MIN_PART = 5 * MIB;
/** Parts in flight at once. */
const PARALLEL_PARTS = 3;
/** Times a part is sent again after a network failure or a server error. */
const PART_RETRIES = 2;

/**
 * Sends one part with XMLHttpRequest, whose upload progress fetch() does not report; resolves to
 * the part's ETag. `onProgress(bytes)` hears how much of the part has gone.
 */
function sendPart(url, token, blob, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', url);
    xhr.setRequestHeader('authorization', `Bearer ${token}`);
    xhr.upload.onprogress = (event) => onProgress(event.loaded);
    xhr.onerror = () => reject(new Failure('gatekeeper', 0, 'unreachable', 'the part could not be sent'));
    xhr.onload = () => {
      const etag = xhr.getResponseHeader('etag');
      if (xhr.status === 200 && etag) {
        onProgress(blob.size);
        resolve(etag);
        return;
      }
      let error = {};
      try {
        error = JSON.parse(xhr.responseText).error ?? {};
      } catch {
        // Not JSON: the status is all there is to say.
      }
      reject(new Failure('gatekeeper', xhr.status, error.code ?? `http_${xhr.status}`, error.message ?? 'the part was refused'));
    };
    xhr.send(blob);
  });
}

/**
 * Uploads `file` to `url` in parts under one multipart grant: create, the parts (a few at a time,
 * each retried on a network failure or server error), complete. On failure the upload is aborted,
 * so no parts are left in the bucket. `onProgress(bytes)` hears the bytes sent so far.
 */
async function uploadInParts(url, grant, type, file, partBytes, onProgress) {
  const auth = { authorization: `Bearer ${grant.token}` };
  const created = await (await call('gatekeeper', `${url}?uploads`, { method: 'POST', headers: { ...auth, 'content-type': type } })).json();
  const upload = `${url}?uploadId=${encodeURIComponent(created.uploadId)}`;
  const partSize = Math.max(MIN_PART, Math.min(created.partMaxBytes, partBytes));
  const count = Math.max(1, Math.ceil(file.size / partSize));
  const sent = new Array(count).fill(0);
  const parts = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const n = ++next;
      const blob = file.slice((n - 1) * partSize, n * partSize);
      for (let attempt = 0; ; attempt++) {
        try {
          const etag = await sendPart(`${upload}&partNumber=${n}`, grant.token, blob, (bytes) => {
            sent[n - 1] = bytes;
            onProgress(sent.reduce((a, b) => a + b, 0));
          });
          parts[n - 1] = { part: n, etag };
          break;
        } catch (failure) {
          const transient = failure.status === 0 || failure.status >= 500;
          if (!transient || attempt >= PART_RETRIES) throw failure;
          sent[n - 1] = 0;
        }
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(PARALLEL_PARTS, count) }, worker));
    const done = await call('gatekeeper', upload, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ parts }),
    });
    return { ...(await done.json()), parts: count };
  } catch (failure) {
    // Nothing waits for the abort: the failure is what the user needs to see.
    fetch(upload, { method: 'DELETE', headers: auth, credentials: 'omit' }).catch(() => {});
    throw failure;
  }
}

/** Rows shown at most, so a large report cannot stall the page. */
const MAX_ROWS = 1000;

function renderTable(table, rows) {
  const [head = [], ...body] = rows;
  const line = (cells, tag) => {
    const tr = document.createElement('tr');
    for (const text of cells) {
      const cell = document.createElement(tag);
      cell.textContent = text; // text only: a report's content is never markup
      tr.append(cell);
    }
    return tr;
  };
  table.tHead.replaceChildren(line(head, 'th'));
  table.tBodies[0].replaceChildren(...body.slice(0, MAX_ROWS).map((cells) => line(cells, 'td')));
  table.hidden = false;
  return body.length;
}

function showStatus(element, kind, ...parts) {
  element.className = `status ${kind}`;
  element.replaceChildren(...parts);
}

function showFailure(element, failure) {
  if (!(failure instanceof Failure)) {
    console.error(failure);
    failure = new Failure('page', 0, 'internal', String(failure?.message ?? failure));
  }
  const code = document.createElement('code');
  code.className = 'code';
  code.textContent = failure.code;
  const who = failure.status ? `The ${failure.source} refused (HTTP ${failure.status})` : `The ${failure.source} failed`;
  showStatus(element, 'error', `${who}: `, code, ` — ${failure.message}`);
  element.dataset.code = failure.code;
}

async function main() {
  const config = await loadConfig();
  $('#vendor-url').textContent = config.vendor ?? 'not set';
  $('#report-key').value = config.report ?? '';
  const sessionLine = $('#session');

  if (!config.vendor) {
    showStatus(sessionLine, 'error', 'No vendor server: open this page with ?vendor=URL or give it a config.json.');
    return;
  }

  /** Asks the vendor's server, as the signed-in user, for a grant. */
  const vendor = async (path, body) => {
    const headers = config.session ? { authorization: `Bearer ${config.session}` } : {};
    const init = body === undefined ? { headers } : { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) };
    const res = await call('vendor server', `${config.vendor}${path}`, init);
    return res.json();
  };
  const gatekeeperOf = (grant) => config.gatekeeper ?? grant.gatekeeper;

  let user;
  try {
    const session = await vendor('/session');
    user = session.user;
    sessionLine.textContent = `Signed in as ${user}`;
    $('#gatekeeper-url').textContent = gatekeeperOf(session);
  } catch (failure) {
    showFailure(sessionLine, failure);
    return;
  }

  // Keys are compared byte for byte, so a name is always stored in one Unicode form (NFC), which
  // the vendor server requires, whatever form the user's file system gave it in.
  const uploadKey = () => {
    const file = $('#file').files[0];
    return `uploads/${user}/${file ? file.name.normalize('NFC') : '…'}`;
  };
  $('#upload-key').textContent = uploadKey();
  $('#file').addEventListener('change', () => {
    $('#upload-key').textContent = uploadKey();
  });

  const busy = async (form, work) => {
    const button = form.querySelector('button');
    button.disabled = true;
    try {
      await work();
    } finally {
      button.disabled = false;
    }
  };

  const loadReport = async (key) => {
    const status = $('#report-status');
    const table = $('#report');
    showStatus(status, 'busy', `Loading ${key}…`);
    delete status.dataset.code;
    try {
      const grant = await vendor('/grants', { op: 'get', key });
      const res = await call('gatekeeper', objectUrl(gatekeeperOf(grant), key), {
        headers: { authorization: `Bearer ${grant.token}` },
      });
      const count = renderTable(table, parseCsv(await res.text()));
      const shown = count > MAX_ROWS ? `, the first ${MAX_ROWS} shown` : '';
      showStatus(status, 'ok', `${key}: ${count} row${count === 1 ? '' : 's'}${shown}`);
    } catch (failure) {
      table.hidden = true;
      showFailure(status, failure);
    }
  };

  const upload = async (file) => {
    const status = $('#upload-status');
    const key = uploadKey();
    delete status.dataset.code;
    // The grant allows one Content-Type; a plain media type, or the generic one if the browser
    // does not know the file's type.
    const type = /^[a-z0-9.+-]+\/[a-z0-9.+-]+$/.test(file.type) ? file.type : 'application/octet-stream';
    showStatus(status, 'busy', `Uploading ${key}…`);
    const progress = $('#upload-progress');
    progress.max = file.size;
    progress.value = 0;
    try {
      if (file.size > SINGLE_PUT_MAX) {
        progress.hidden = false;
        const grant = await vendor('/grants', { op: 'put', key, content_type: type, size: file.size, multipart: true });
        const partBytes = Number(config.part_mb ?? 64) * MIB;
        const done = await uploadInParts(objectUrl(gatekeeperOf(grant), key), grant, grant.content_type ?? type, file, partBytes, (bytes) => {
          progress.value = bytes;
          showStatus(status, 'busy', `Uploading ${key}… ${Math.floor((100 * bytes) / file.size)}%`);
        });
        showStatus(status, 'ok', `Stored ${key} (${done.size} bytes in ${done.parts} parts, ETag ${done.etag})`);
        return;
      }
      const grant = await vendor('/grants', { op: 'put', key, content_type: type, size: file.size });
      const res = await call('gatekeeper', objectUrl(gatekeeperOf(grant), key), {
        method: 'PUT',
        headers: { authorization: `Bearer ${grant.token}`, 'content-type': grant.content_type ?? type },
        body: file,
      });
      const etag = res.headers.get('etag');
      showStatus(status, 'ok', `Stored ${key} (${file.size} bytes${etag ? `, ETag ${etag}` : ''})`);
    } catch (failure) {
      showFailure(status, failure);
    } finally {
      progress.hidden = true;
    }
  };

  /** Asks for a link to `key` and offers it; the browser does the download when it is clicked. */
  const offerDownload = async (key) => {
    const status = $('#download-status');
    const anchor = $('#download-link');
    anchor.hidden = true;
    delete status.dataset.code;
    showStatus(status, 'busy', `Asking for a link to ${key}…`);
    try {
      const filename = key.split('/').pop();
      const link = await vendor('/links', { key, filename });
      anchor.href = link.url;
      anchor.textContent = `Download ${filename}`;
      anchor.hidden = false;
      showStatus(status, 'ok', `The link works for ${link.expires_in} s; do not share it.`);
    } catch (failure) {
      showFailure(status, failure);
    }
  };

  $('#download-key').value = config.download ?? '';
  $('#download-form').addEventListener('submit', (event) => {
    event.preventDefault();
    busy(event.target, () => offerDownload($('#download-key').value));
  });
  $('#report-form').addEventListener('submit', (event) => {
    event.preventDefault();
    busy(event.target, () => loadReport($('#report-key').value));
  });
  $('#upload-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const file = $('#file').files[0];
    if (file) busy(event.target, () => upload(file));
  });

  if (config.report) await busy($('#report-form'), () => loadReport(config.report));
}

main();

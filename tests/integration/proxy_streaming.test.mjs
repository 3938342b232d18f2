// Streaming through hubgate with constant memory, both ways, whatever the size; back-pressure
// from slow clients; upstream failures answered as 502/504 in the Hub's error shape; slow
// clients cut off. RSS is read from /proc; nothing here asserts on time.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { startStack, gatewayOptions, teardownAll, freePort, sleep, REPO } from '../lib/harness.mjs';

const POLICY = fs.readFileSync(path.join(REPO, 'tests', 'fixtures', 'policy', 'members.json'), 'utf8');

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const pattern = crypto.randomBytes(MiB);

let stack, gw, upstream, upstreamUrl, idp, token;
const stats = { writesRefused: 0, uploads: [] };

// The upstream: serves endless deterministic bytes at Hub paths, sinks uploads, and stalls.
async function startUpstream() {
  const server = http.createServer((req, res) => {
    const m = req.url.match(/^\/acme\/big\/resolve\/main\/(\d+)\.bin$/);
    if (req.method === 'GET' && m) {
      const total = Number(m[1]);
      res.writeHead(200, { 'Content-Length': String(total), 'Content-Type': 'application/octet-stream', 'X-Repo-Commit': 'a'.repeat(40) });
      let sent = 0;
      const pump = () => {
        while (sent < total) {
          const n = Math.min(pattern.length, total - sent);
          sent += n;
          if (!res.write(n === pattern.length ? pattern : pattern.subarray(0, n))) {
            stats.writesRefused++;
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
      return;
    }
    if (req.method === 'POST' && req.url === '/api/models/acme/big/commit/main') {
      const hash = crypto.createHash('sha256');
      let bytes = 0;
      req.on('data', (d) => { hash.update(d); bytes += d.length; });
      req.on('end', () => {
        const result = { bytes, sha256: hash.digest('hex') };
        stats.uploads.push(result);
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(result));
      });
      return;
    }
    if (req.url === '/acme/stall/resolve/main/x') return; // never answers
    res.writeHead(404, { 'X-Error-Code': 'EntryNotFound' });
    res.end();
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

before(async () => {
  upstream = await startUpstream();
  upstreamUrl = `http://127.0.0.1:${upstream.address().port}`;
  ({ stack, idp, gw } = await startStack({
    hub: false,
    policy: POLICY,
    region: { upstream: upstreamUrl },
    serviceToken: 'hf_upstream_credential',
    // two event loops: streaming and back-pressure hold on each
    config: { event_loops: 2, timeouts: { client_idle_seconds: 10, upstream_idle_seconds: 2, upstream_connect_ms: 1000 } },
    // In the sanitizer build, ASan keeps freed memory in a quarantine (256 MiB by default),
    // which would read as RSS growth: keep it small so the measurement means the same there.
    env: {
      HUBGATE_LOG_LEVEL: process.env.HUBGATE_LOG_LEVEL ?? 'info',
      ASAN_OPTIONS: `${process.env.ASAN_OPTIONS ? `${process.env.ASAN_OPTIONS}:` : ''}quarantine_size_mb=4:thread_local_quarantine_size_kb=256`,
    },
  }));
  token = await idp.token('alice');
});

after(async () => {
  if (process.env.HUBGATE_LOG_LEVEL) console.log(gw?.stderr());
  upstream?.closeAllConnections();
  upstream?.close();
  await teardownAll();
});

const rssKiB = () => Number(fs.readFileSync(`/proc/${gw.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]);

// Runs fn while sampling hubgate's RSS; returns [result, peak growth in MiB over the start].
async function measured(fn) {
  const start = rssKiB();
  let peak = start;
  const timer = setInterval(() => { peak = Math.max(peak, rssKiB()); }, 20);
  try {
    const result = await fn();
    peak = Math.max(peak, rssKiB());
    return [result, (peak - start) / 1024];
  } finally {
    clearInterval(timer);
  }
}

// Downloads url, hashing as it goes; `stall` pauses reading once for that many ms.
function download(url, { stall = 0, stallAt = 64 * MiB } = {}) {
  return new Promise((resolve, reject) => {
    http.get(url, { agent: false, headers: { Authorization: `Bearer ${token}` } }, (res) => {
      const hash = crypto.createHash('sha256');
      let bytes = 0;
      let stalled = false;
      res.on('data', (d) => {
        hash.update(d);
        bytes += d.length;
        if (stall && !stalled && bytes >= stallAt) {
          stalled = true;
          res.pause();
          setTimeout(() => res.resume(), stall);
        }
      });
      res.on('end', () => resolve({ status: res.statusCode, bytes, sha256: hash.digest('hex'), complete: res.complete }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

function expectedSha(total) {
  const h = crypto.createHash('sha256');
  for (let sent = 0; sent < total; sent += pattern.length) h.update(pattern.subarray(0, Math.min(pattern.length, total - sent)));
  return h.digest('hex');
}

test('a 4 GiB download streams through with RSS growth under 32 MiB', async () => {
  // warm up: the first request allocates pools and connections
  await download(`${gw.url}/acme/big/resolve/main/${8 * MiB}.bin`);
  const total = 4 * GiB;
  const [r, growth] = await measured(() => download(`${gw.url}/acme/big/resolve/main/${total}.bin`));
  assert.equal(r.status, 200);
  assert.equal(r.bytes, total);
  assert.equal(r.sha256, expectedSha(total));
  assert.ok(growth < 32, `RSS grew ${growth.toFixed(1)} MiB`);
  console.log(`# 4 GiB download: hubgate RSS growth ${growth.toFixed(1)} MiB`);
});

test('a 1 GiB upload streams through with RSS growth under 32 MiB', async () => {
  const total = GiB;
  const [r, growth] = await measured(() => new Promise((resolve, reject) => {
    const req = http.request(`${gw.url}/api/models/acme/big/commit/main`, {
      method: 'POST', agent: false, headers: { 'Content-Type': 'application/x-ndjson', 'Content-Length': String(total), Authorization: `Bearer ${token}` },
    }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(body) }));
    });
    req.on('error', reject);
    let sent = 0;
    const pump = () => {
      while (sent < total) {
        const n = Math.min(pattern.length, total - sent);
        sent += n;
        if (!req.write(n === pattern.length ? pattern : pattern.subarray(0, n))) return req.once('drain', pump);
      }
      req.end();
    };
    pump();
  }));
  assert.equal(r.status, 200);
  assert.equal(r.body.bytes, total);
  assert.equal(r.body.sha256, expectedSha(total));
  assert.ok(growth < 32, `RSS grew ${growth.toFixed(1)} MiB`);
  console.log(`# 1 GiB upload: hubgate RSS growth ${growth.toFixed(1)} MiB`);
});

test('a client that stops reading pauses the upstream instead of filling memory', async () => {
  const before = stats.writesRefused;
  const total = 256 * MiB;
  // The pause is longer than the upstream idle timeout: a paused transfer must not be
  // mistaken for a silent upstream.
  const [r, growth] = await measured(() => download(`${gw.url}/acme/big/resolve/main/${total}.bin`, { stall: 3000 }));
  assert.equal(r.bytes, total);
  assert.equal(r.sha256, expectedSha(total));
  assert.ok(stats.writesRefused > before, 'the upstream felt back-pressure');
  assert.ok(growth < 32, `RSS grew ${growth.toFixed(1)} MiB`);
});

async function hubError(res) {
  return { status: res.status, message: res.headers.get('x-error-message'), rid: res.headers.get('x-request-id'), body: await res.json() };
}

test('an upstream that does not answer is a 504, one that cannot be reached a 502', async () => {
  const auth = { headers: { Authorization: `Bearer ${token}` } };
  const stalled = await hubError(await fetch(`${gw.url}/acme/stall/resolve/main/x`, auth));
  assert.equal(stalled.status, 504);
  assert.equal(stalled.body.error, stalled.message);
  assert.match(stalled.rid, /^[0-9a-f]{32}$/);

  const port = await freePort();
  const down = await stack.hubgate(gatewayOptions({ pg: await stack.postgres(), idp }, {
    policy: POLICY,
    region: { upstream: `http://127.0.0.1:${port}` },
    serviceToken: 'hf_x',
    config: { metrics_listen: `127.0.0.1:${await freePort()}` },
  }));
  const unreachable = await hubError(await fetch(`${down.url}/acme/bert/resolve/main/config.json`, auth));
  assert.equal(unreachable.status, 502);
  assert.equal(unreachable.message, 'the upstream hub is unreachable');
  // Requests are counted when they complete, just after the answer went out: poll.
  let metrics = '';
  for (let i = 0; i < 50 && !/status="502"\} 1/.test(metrics); i++) {
    await sleep(50);
    metrics = await (await fetch(down.metricsUrl)).text();
  }
  assert.match(metrics, /hubgate_upstream_errors_total\{kind="connect"\} 1/);
  assert.match(metrics, /hubgate_requests_total\{action="read",status="502"\} 1/);
});

test('a client that sends its headers too slowly is disconnected', async () => {
  const pg = await stack.postgres();
  const strict = await stack.hubgate({
    config: { database: pg.url, policy: 'policy.json', timeouts: { client_idle_seconds: 1 },
              regions: { us: { upstream: upstreamUrl, token_file: 't' } } },
    policy: POLICY, files: { t: 'hf_x\n' },
  });
  const port = new URL(strict.url).port;
  const closedAfter = await new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const t0 = Date.now();
    s.write('GET /acme/big/resolve/main/1.bin HTTP/1.1\r\nHost: x\r\n'); // never finished
    s.on('close', () => resolve(Date.now() - t0));
    s.on('error', () => {});
    s.resume();
  });
  assert.ok(closedAfter >= 1000, 'not before the client idle timeout');
});

// Proves the Hub fixture's Xet storage (tests/fixtures/hub, `xet: true`) is faithful enough for
// @huggingface/hub 2.17: git uploads through the CAS, XetBlob downloads, buckets, the token
// routes, signed transfer and bridge URLs, and the request log saying which credential each CAS
// and storage request carried. Directly against the fixture, no hubgate.
// Run: node tests/integration/fixture_xet.test.mjs   (from any directory)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as hub from '@huggingface/hub';
import { startHub } from '../fixtures/hub/launch.mjs';
import { xorbOf, shardOf } from '../lib/xet.mjs';

const XetBlob = hub.__internal_XetBlob; // what downloadFile returns for a Xet file

const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest('hex');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const HEX64 = /^[0-9a-f]{64}$/;
const FILEINFO = 'application/vnd.xet-fileinfo+json';

let h;        // the running fixture, Xet on
let tmp;
let opts;     // {hubUrl, accessToken}
let auth;     // {Authorization: 'Bearer <Hub token>'}
const extra = []; // further fixtures started by tests, stopped in after()

const REPO = 'acme/xet-model';
// A few MiB of random bytes: LZ4 cannot shrink them, so the chunks are stored raw.
const RND = crypto.randomBytes(3 * 1024 * 1024 + 1001);
// Compressible text: the client stores LZ4 (or BG4+LZ4) chunks, which the bridge must decode.
const TXT = Buffer.from(Array.from({ length: 60000 }, (_, i) => `line ${i} of a compressible Xet test file\n`).join(''));
// Smooth float32 samples: byte grouping (BG4) helps LZ4 here.
const F32 = Buffer.from(new Float32Array(Array.from({ length: 300000 }, (_, i) => Math.sin(i / 1000) * 1000)).buffer);

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hubgate-fixture-xet-'));
  h = await startHub({ dataDir: path.join(tmp, 'data'), logFile: path.join(tmp, 'requests.jsonl'), xet: true });
  opts = { hubUrl: h.url, accessToken: h.serviceToken };
  auth = { Authorization: `Bearer ${h.serviceToken}` };
  await hub.createRepo({ ...opts, repo: REPO });
});

after(async () => {
  for (const x of extra) await x.stop();
  if (h) await h.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

const logSince = (mark, fx = h) => fx.readLog().slice(mark);

async function xetToken(scope, { repo = REPO, rev = 'main', fx = h, type = 'models' } = {}) {
  const url = type === 'buckets' ? `${fx.url}/api/buckets/${repo}/xet-${scope}-token`
    : `${fx.url}/api/${type}/${repo}/xet-${scope}-token/${encodeURIComponent(rev)}`;
  const res = await fetch(url, { headers: { Authorization: `Bearer ${fx.serviceToken}` } });
  assert.equal(res.status, 200, await res.clone().text());
  return res.json();
}

async function resolveHead(p, { repo = REPO, fx = h, headers = {} } = {}) {
  return fetch(`${fx.url}/${repo}/resolve/main/${p}`, {
    method: 'HEAD', redirect: 'manual', headers: { Authorization: `Bearer ${fx.serviceToken}`, ...headers },
  });
}


// Chunk records of a xorb (or a byte range of one): [{scheme, clen, ulen, payload}].
function records(buf) {
  const out = [];
  let p = 0;
  while (p + 8 <= buf.length && buf[p] === 0) {
    const clen = buf[p + 1] | (buf[p + 2] << 8) | (buf[p + 3] << 16);
    const ulen = buf[p + 5] | (buf[p + 6] << 8) | (buf[p + 7] << 16);
    out.push({ scheme: buf[p + 4], clen, ulen, payload: buf.subarray(p + 8, p + 8 + clen) });
    p += 8 + clen;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Git repos: upload and download with Xet

test('uploadFiles to a git repo (useXet default) goes through the CAS with a xet-write token, no LFS PUT', async () => {
  const mark = h.readLog().length;
  await hub.uploadFiles({ ...opts, repo: REPO, files: [
    { path: 'rnd.bin', content: new Blob([RND]) },
    { path: 'txt.bin', content: new Blob([TXT]) },
    { path: 'f32.bin', content: new Blob([F32]) },
  ] });
  const entries = logSince(mark);
  const batch = entries.find((e) => e.origin === 'hub' && e.path === `/${REPO}.git/info/lfs/objects/batch`);
  assert.ok(batch, 'the LFS batch was called');
  const xorbs = entries.filter((e) => e.origin === 'cas' && e.method === 'POST' && e.path.startsWith('/v1/xorbs/default/'));
  const shards = entries.filter((e) => e.origin === 'cas' && e.method === 'POST' && e.path === '/v1/shards');
  assert.ok(xorbs.length >= 1);
  assert.ok(shards.length >= 1);
  for (const e of [...xorbs, ...shards]) {
    assert.equal(e.auth, 'xet-write', `${e.path} carried ${e.auth}`);
    assert.notEqual(e.headers.authorization, `Bearer ${h.serviceToken}`);
  }
  assert.ok(!entries.some((e) => e.origin === 'storage' && e.method === 'PUT'), 'nothing went to LFS storage');
  const commit = entries.find((e) => e.origin === 'hub' && e.path === `/api/models/${REPO}/commit/main`);
  assert.ok(commit && entries.indexOf(commit) > entries.indexOf(shards[shards.length - 1]), 'commit after the shards');

  // The stored xorbs hold raw chunks (random data) and compressed ones, LZ4 and BG4+LZ4.
  const schemes = new Set();
  const root = path.join(h.dataDir, 'xet', 'xorbs');
  for (const d of fs.readdirSync(root)) {
    for (const f of fs.readdirSync(path.join(root, d))) {
      if (HEX64.test(f)) for (const r of records(fs.readFileSync(path.join(root, d, f)))) schemes.add(r.scheme);
    }
  }
  assert.deepEqual([...schemes].sort(), [0, 1, 2]);
});

test('downloadFile takes the XetBlob path (fileinfo, read token, /v2/reconstructions, transfer URLs) and returns the bytes', async () => {
  for (const [p, want] of [['rnd.bin', RND], ['txt.bin', TXT], ['f32.bin', F32]]) {
    const mark = h.readLog().length;
    const blob = await hub.downloadFile({ ...opts, repo: REPO, path: p });
    assert.ok(blob instanceof XetBlob, `${p}: XetBlob`);
    assert.equal(blob.size, want.length);
    assert.ok(Buffer.from(await blob.arrayBuffer()).equals(want), `${p}: identical bytes`);
    const entries = logSince(mark);
    const info = entries.find((e) => e.origin === 'hub' && e.path === `/${REPO}/resolve/main/${p}`);
    assert.ok(info && info.headers.accept.includes(FILEINFO), 'the fileinfo GET');
    const recon = entries.filter((e) => e.origin === 'cas' && e.path.startsWith('/v2/reconstructions/'));
    assert.ok(recon.length >= 1);
    for (const e of recon) {
      assert.equal(e.auth, 'xet-read');
      assert.match(e.headers.range, /^bytes=\d+-\d+$/);
    }
    const transfers = entries.filter((e) => e.origin === 'storage' && e.path.startsWith('/xorbs/default/'));
    assert.ok(transfers.length >= 1);
    for (const e of transfers) {
      assert.equal(e.auth, 'none');
      assert.match(e.query, /X-Xet-Signed-Range=/);
      assert.match(e.headers.range, /^bytes=\d+-\d+$/);
    }
  }
  // The read token came from the token route named by the xet-auth link (cached by the client
  // for later files of the same commit).
  assert.ok(h.readLog().some((e) => e.origin === 'hub' && /^\/api\/models\/acme\/xet-model\/xet-read-token\/[0-9a-f]{40}$/.test(e.path)));
});

test('ranged reads through XetBlob.slice return the right bytes', async () => {
  for (const [p, want] of [['rnd.bin', RND], ['txt.bin', TXT]]) {
    const blob = await hub.downloadFile({ ...opts, repo: REPO, path: p });
    for (const [a, b] of [[0, 1], [70000, 70001], [123457, 1234567], [want.length - 5000, want.length]]) {
      const mark = h.readLog().length;
      const got = Buffer.from(await blob.slice(a, b).arrayBuffer());
      assert.ok(got.equals(want.subarray(a, b)), `${p} [${a}, ${b})`);
      const recon = logSince(mark).find((e) => e.origin === 'cas' && e.path.startsWith('/v2/reconstructions/'));
      assert.equal(recon.headers.range, `bytes=${a}-${b - 1}`);
    }
  }
});

test('useXet: false still uploads through LFS basic (signed PUT), and the file stays an LFS file', async () => {
  const content = crypto.randomBytes(300000);
  const mark = h.readLog().length;
  await hub.uploadFile({ ...opts, repo: REPO, file: { path: 'lfs-only.bin', content: new Blob([content]) }, useXet: false });
  const entries = logSince(mark);
  assert.ok(entries.some((e) => e.origin === 'storage' && e.method === 'PUT' && e.path.startsWith('/lfs/')));
  assert.ok(!entries.some((e) => e.origin === 'cas'));
  const head = await resolveHead('lfs-only.bin');
  assert.equal(head.status, 302);
  assert.equal(head.headers.get('x-xet-hash'), null);
  assert.match(head.headers.get('location'), /\/lfs\/[0-9a-f]{64}\?/);
  const blob = await hub.downloadFile({ ...opts, repo: REPO, path: 'lfs-only.bin' });
  assert.ok(!(blob instanceof XetBlob));
  assert.ok(Buffer.from(await blob.arrayBuffer()).equals(content));
});

test('listFiles, tree and paths-info carry xetHash for Xet files; resolve hints; a plain GET follows to the bridge', async () => {
  const files = [];
  for await (const f of hub.listFiles({ ...opts, repo: REPO, recursive: true })) files.push(f);
  const rnd = files.find((f) => f.path === 'rnd.bin');
  assert.match(rnd.xetHash, HEX64);
  assert.equal(rnd.lfs.oid, sha256(RND));
  assert.equal(files.find((f) => f.path === 'lfs-only.bin').xetHash, undefined);
  assert.equal(files.find((f) => f.path === '.gitattributes').xetHash, undefined);
  const [pi] = await hub.pathsInfo({ ...opts, repo: REPO, paths: ['txt.bin'] });
  assert.match(pi.xetHash, HEX64);

  const sha = (await (await fetch(`${h.url}/api/models/${REPO}/revision/main`, { headers: auth })).json()).sha;
  const head = await resolveHead('rnd.bin');
  assert.equal(head.status, 302);
  assert.equal(head.headers.get('x-xet-hash'), rnd.xetHash);
  assert.equal(head.headers.get('x-linked-size'), String(RND.length));
  assert.equal(head.headers.get('x-linked-etag'), `"${sha256(RND)}"`);
  assert.equal(head.headers.get('x-repo-commit'), sha);
  assert.equal(head.headers.get('link'), `<${h.url}/api/models/${REPO}/xet-read-token/${sha}>; rel="xet-auth", ` +
    `<${h.casUrl}/v1/reconstructions/${rnd.xetHash}>; rel="xet-reconstruction-info"`);
  assert.equal(head.headers.get('x-xet-refresh-route'), `${h.url}/api/models/${REPO}/xet-read-token/${sha}`);
  assert.ok(head.headers.get('location').startsWith(`${h.storageUrl}/xet-bridge/${rnd.xetHash}?`));

  // With the fileinfo media type: 200, the same hints, a JSON body.
  const fi = await fetch(`${h.url}/${REPO}/resolve/main/rnd.bin`, { headers: { ...auth, Accept: `${FILEINFO}, */*`, Range: 'bytes=0-0' } });
  assert.equal(fi.status, 200);
  assert.equal(fi.headers.get('content-type'), FILEINFO);
  assert.equal(fi.headers.get('x-xet-hash'), rnd.xetHash);
  const body = await fi.json();
  assert.equal(body.hash, rnd.xetHash);
  assert.equal(body.size, RND.length);
  assert.equal(body.reconstructionUrl, `${h.casUrl}/v1/reconstructions/${rnd.xetHash}`);

  // Clients without Xet: follow the redirect to the bridge, whole and ranged.
  for (const [p, want] of [['rnd.bin', RND], ['txt.bin', TXT], ['f32.bin', F32]]) {
    const mark = h.readLog().length;
    const res = await fetch(`${h.url}/${REPO}/resolve/main/${p}`, { headers: auth });
    assert.equal(res.status, 200);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(want), `${p} through the bridge`);
    const bridge = logSince(mark).find((e) => e.origin === 'storage' && e.path.startsWith('/xet-bridge/'));
    assert.equal(bridge.auth, 'none');
    const part = await fetch(`${h.url}/${REPO}/resolve/main/${p}`, { headers: { ...auth, Range: 'bytes=65530-200009' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 65530-200009/${want.length}`);
    assert.ok(Buffer.from(await part.arrayBuffer()).equals(want.subarray(65530, 200010)));
  }
  // A non-Xet client forced onto HTTP by xet:false reads through the bridge too.
  const web = await hub.downloadFile({ ...opts, repo: REPO, path: 'txt.bin', xet: false });
  assert.ok(!(web instanceof XetBlob));
  assert.ok(Buffer.from(await web.arrayBuffer()).equals(TXT));

  // git-lfs download of a Xet file: the batch hands out the bridge URL.
  const batch = await fetch(`${h.url}/${REPO}.git/info/lfs/objects/batch`, {
    method: 'POST',
    headers: { ...auth, 'Content-Type': 'application/vnd.git-lfs+json' },
    body: JSON.stringify({ operation: 'download', objects: [{ oid: sha256(TXT), size: TXT.length }] }),
  });
  const href = (await batch.json()).objects[0].actions.download.href;
  assert.ok(href.includes('/xet-bridge/'));
  assert.ok(Buffer.from(await (await fetch(href)).arrayBuffer()).equals(TXT));
});

test('the upload batch answers "xet" with the write-token href and the four X-Xet headers, only when offered', async () => {
  const obj = { oid: sha256(Buffer.from('not yet uploaded')), size: 16 };
  const ask = (transfers, ref) => fetch(`${h.url}/${REPO}.git/info/lfs/objects/batch`, {
    method: 'POST',
    headers: { ...auth, 'Content-Type': 'application/vnd.git-lfs+json' },
    body: JSON.stringify({ operation: 'upload', transfers, ...(ref ? { ref: { name: ref } } : {}), objects: [obj] }),
  }).then((r) => r.json());
  const x = await ask(['basic', 'multipart', 'xet'], 'main');
  assert.equal(x.transfer, 'xet');
  const up = x.objects[0].actions.upload;
  assert.equal(up.href, `${h.url}/api/models/${REPO}/xet-write-token/main`);
  assert.equal(up.header['X-Xet-Cas-Url'], h.casUrl);
  assert.ok(Number(up.header['X-Xet-Token-Expiration']) >= Date.now() / 1000 + 300);
  assert.ok(up.header['X-Xet-Access-Token'].length > 20);
  assert.ok(up.header['X-Xet-Session-Id']);
  const pr = await ask(['basic', 'xet']);
  assert.equal(pr.objects[0].actions.upload.href, `${h.url}/api/models/${REPO}/xet-write-token/main?create_pr=1`);
  const basic = await ask(['basic', 'multipart'], 'main');
  assert.equal(basic.transfer, 'basic');
  assert.match(basic.objects[0].actions.upload.href, /\/lfs\/[0-9a-f]{64}\/16\?/);
  // An object already stored as a Xet file needs no upload.
  const have = await fetch(`${h.url}/${REPO}.git/info/lfs/objects/batch`, {
    method: 'POST',
    headers: { ...auth, 'Content-Type': 'application/vnd.git-lfs+json' },
    body: JSON.stringify({ operation: 'upload', transfers: ['xet'], objects: [{ oid: sha256(RND), size: RND.length }] }),
  }).then((r) => r.json());
  assert.equal(have.objects[0].actions, undefined);
});

// ---------------------------------------------------------------------------------------------
// Token routes

test('token routes answer JSON and the X-Xet headers, with revisions, create_pr and Hub auth', async () => {
  const now = Math.floor(Date.now() / 1000);
  const res = await fetch(`${h.url}/api/models/${REPO}/xet-read-token/main`, { headers: auth });
  assert.equal(res.status, 200);
  const json = await res.json();
  assert.equal(json.casUrl, h.casUrl);
  assert.ok(json.exp >= now + 300);
  assert.equal(res.headers.get('x-xet-cas-url'), h.casUrl);
  assert.equal(res.headers.get('x-xet-access-token'), json.accessToken);
  assert.equal(res.headers.get('x-xet-token-expiration'), String(json.exp));
  assert.notEqual(json.accessToken, h.serviceToken);

  const status = async (url, headers = auth) => (await fetch(url, { headers })).status;
  assert.equal(await status(`${h.url}/api/models/acme/bert/xet-read-token/refs%2Fpr%2F1`), 200);
  assert.equal(await status(`${h.url}/api/models/acme/bert/xet-read-token/v1.0`), 200);
  assert.equal(await status(`${h.url}/api/models/acme/bert/xet-read-token/refs/pr/1`), 404);
  const missing = await fetch(`${h.url}/api/models/acme/bert/xet-read-token/nope`, { headers: auth });
  assert.equal(missing.status, 404);
  assert.equal(missing.headers.get('x-error-code'), 'RevisionNotFound');
  assert.equal(await status(`${h.url}/api/models/acme/bert/xet-write-token/refs%2Fpr%2F1`), 200);
  assert.equal(await status(`${h.url}/api/models/acme/bert/xet-write-token/v1.0`), 403); // a tag
  assert.equal(await status(`${h.url}/api/models/acme/bert/xet-write-token/None?create_pr=1`), 200);
  assert.equal(await status(`${h.url}/api/datasets/acme/ds/xet-read-token/main`), 200);
  assert.equal(await status(`${h.url}/api/models/acme/bert/xet-read-token/main`, {}), 401); // private
  assert.equal(await status(`${h.url}/api/models/gpt2/xet-read-token/main`, {}), 200);   // public
  assert.equal(await status(`${h.url}/api/models/gpt2/xet-write-token/main`, {}), 401);
  assert.equal(await status(`${h.url}/api/models/acme/bert/xet-read-token/main`, { Authorization: 'Bearer hf_wrong' }), 401);
  assert.equal(await status(`${h.url}/api/models/acme/nope/xet-read-token/main`), 404);
});

// ---------------------------------------------------------------------------------------------
// CAS

async function reconstruction(hash, { token, range, version = 2, fx = h } = {}) {
  const res = await fetch(`${fx.casUrl}/v${version}/reconstructions/${hash}`, {
    headers: { Authorization: `Bearer ${token}`, ...(range ? { Range: range } : {}) },
  });
  return res;
}

test('CAS: every call needs a Xet token of the right scope; the log names the credential', async () => {
  const [rnd] = await hub.pathsInfo({ ...opts, repo: REPO, paths: ['rnd.bin'] });
  const read = (await xetToken('read')).accessToken;
  const write = (await xetToken('write')).accessToken;
  const url = `${h.casUrl}/v2/reconstructions/${rnd.xetHash}`;
  const cases = [
    [{}, 401, 'none'],
    [auth, 401, 'hub'],
    [{ Authorization: 'Bearer not-a-token' }, 401, 'bad'],
    [{ Authorization: `Bearer ${read}` }, 200, 'xet-read'],
    [{ Authorization: `Bearer ${write}` }, 200, 'xet-write'],
  ];
  for (const [headers, want, cred] of cases) {
    const mark = h.readLog().length;
    const res = await fetch(url, { headers });
    assert.equal(res.status, want, cred);
    const [e] = logSince(mark);
    assert.equal(e.origin, 'cas');
    assert.equal(e.auth, cred);
  }
  const post = (p, token, body = Buffer.alloc(16)) => fetch(`${h.casUrl}${p}`, {
    method: 'POST', headers: token ? { Authorization: `Bearer ${token}` } : {}, body,
  }).then((r) => r.status);
  const someHash = crypto.randomBytes(32).toString('hex');
  assert.equal(await post(`/v1/xorbs/default/${someHash}`, read), 403);
  assert.equal(await post('/v1/shards', read), 403);
  assert.equal(await post(`/v1/xorbs/default/${someHash}`), 401);
  assert.equal(await post('/v1/shards', h.serviceToken), 401);
  assert.equal(await post('/v2/shards', write), 404);
  assert.equal(await post('/v1/telemetry', read, Buffer.from('{}')), 200);
  const chunks = await fetch(`${h.casUrl}/v1/chunks/default/${someHash}`, { headers: { Authorization: `Bearer ${write}` } });
  assert.equal(chunks.status, 404);
  // A token of another repo does not reach this repo's files.
  const other = (await xetToken('read', { repo: 'gpt2' })).accessToken;
  assert.equal((await reconstruction(rnd.xetHash, { token: other })).status, 403);
  assert.equal((await reconstruction(someHash, { token: read })).status, 404);
});

test('CAS reconstructions: V2 terms, offset_into_first_range, one byte range per entry, 416 past the end, V1 shape', async () => {
  const [rnd] = await hub.pathsInfo({ ...opts, repo: REPO, paths: ['rnd.bin'] });
  const token = (await xetToken('read')).accessToken;
  const whole = await (await reconstruction(rnd.xetHash, { token })).json();
  assert.equal(whole.offset_into_first_range, 0);
  assert.equal(whole.terms.reduce((n, t) => n + t.unpacked_length, 0), RND.length);

  // Random data is stored raw, so the test can decode the fetched records on its own.
  async function readRange(a, b) {
    const res = await reconstruction(rnd.xetHash, { token, range: `bytes=${a}-${b}` });
    assert.equal(res.status, 200);
    const r = await res.json();
    const plain = [];
    for (const term of r.terms) {
      const entry = r.xorbs[term.hash].find((x) => x.ranges[0].chunks.start <= term.range.start && x.ranges[0].chunks.end >= term.range.end);
      assert.equal(entry.ranges.length, 1, 'one range per entry');
      const [{ chunks, bytes }] = entry.ranges;
      const got = await fetch(entry.url, { headers: { Range: `bytes=${bytes.start}-${bytes.end}` } });
      assert.equal(got.status, 206);
      const recs = records(Buffer.from(await got.arrayBuffer()));
      assert.equal(recs.length, chunks.end - chunks.start);
      const inTerm = recs.slice(term.range.start - chunks.start, term.range.end - chunks.start);
      assert.equal(inTerm.reduce((n, x) => n + x.ulen, 0), term.unpacked_length);
      for (const x of inTerm) plain.push(x.payload);
    }
    const all = Buffer.concat(plain);
    return { r, bytes: all.subarray(r.offset_into_first_range, r.offset_into_first_range + b - a + 1) };
  }
  for (const [a, b] of [[0, 0], [100000, 200000], [1, RND.length - 2], [RND.length - 1, RND.length + 100]]) {
    const { r, bytes } = await readRange(a, b);
    const end = Math.min(b, RND.length - 1);
    assert.ok(bytes.equals(RND.subarray(a, end + 1)), `bytes=${a}-${b}`);
    if (a === 0) assert.equal(r.offset_into_first_range, 0);
  }
  // The first term starts at the chunk holding byte 300000 (chunks are at most 128 KiB, so it is
  // chunk 2 or later), and offset_into_first_range is where that byte sits in it.
  assert.equal(whole.terms.length, 1, 'one xorb holds the whole file');
  const [wEntry] = whole.xorbs[whole.terms[0].hash];
  const wBytes = wEntry.ranges[0].bytes;
  const lengths = records(Buffer.from(await (await fetch(wEntry.url, { headers: { Range: `bytes=${wBytes.start}-${wBytes.end}` } })).arrayBuffer()))
    .map((x) => x.ulen);
  let chunk = 0;
  let chunkStart = 0;
  while (chunkStart + lengths[chunk] <= 300000) chunkStart += lengths[chunk++];
  const mid = (await readRange(300000, 400000)).r;
  assert.ok(chunk >= 2);
  assert.equal(mid.terms[0].range.start, chunk);
  assert.equal(mid.offset_into_first_range, 300000 - chunkStart);

  const past = await reconstruction(rnd.xetHash, { token, range: `bytes=${RND.length}-${RND.length + 10}` });
  assert.equal(past.status, 416);

  const v1 = await (await reconstruction(rnd.xetHash, { token, version: 1, range: 'bytes=300000-400000' })).json();
  assert.equal(v1.offset_into_first_range, mid.offset_into_first_range);
  assert.deepEqual(v1.terms, mid.terms);
  for (const [xorb, list] of Object.entries(v1.fetch_info)) {
    for (const fi of list) {
      assert.ok(Number.isInteger(fi.range.start) && Number.isInteger(fi.url_range.end));
      const got = await fetch(fi.url, { headers: { Range: `bytes=${fi.url_range.start}-${fi.url_range.end}` } });
      assert.equal(got.status, 206, xorb);
    }
  }
});

test('transfer URLs: only the signed range, no Authorization needed (and ignored), multipart for several ranges', async () => {
  const [txt] = await hub.pathsInfo({ ...opts, repo: REPO, paths: ['txt.bin'] });
  const token = (await xetToken('read')).accessToken;
  const r = await (await reconstruction(txt.xetHash, { token })).json();
  const [xorb, [entry]] = Object.entries(r.xorbs)[0];
  const { bytes } = entry.ranges[0];
  const get = (url, range, headers = {}) => fetch(url, { headers: { ...(range ? { Range: range } : {}), ...headers } });
  const ok = await get(entry.url, `bytes=${bytes.start}-${bytes.end}`);
  assert.equal(ok.status, 206);
  assert.equal(ok.headers.get('content-range'), `bytes ${bytes.start}-${bytes.end}/${fs.statSync(path.join(h.dataDir, 'xet', 'xorbs', xorb.slice(0, 2), xorb)).size}`);
  const full = Buffer.from(await ok.arrayBuffer());
  assert.equal(full.length, bytes.end - bytes.start + 1);
  assert.equal((await get(entry.url, `bytes=${bytes.start}-${bytes.end + 1}`)).status, 403);
  assert.equal((await get(entry.url.replace(/Signature=[0-9a-f]+/, `Signature=${'0'.repeat(64)}`), `bytes=${bytes.start}-${bytes.end}`)).status, 403);
  assert.equal((await get(entry.url.replace(/X-Xet-Signed-Range=[^&]+/, `X-Xet-Signed-Range=bytes%3D0-${bytes.end + 1000}`), `bytes=${bytes.start}-${bytes.end}`)).status, 403);
  assert.equal((await get(entry.url.split('?')[0], `bytes=${bytes.start}-${bytes.end}`, auth)).status, 403);
  const mark = h.readLog().length;
  const withAuth = await get(entry.url, `bytes=${bytes.start}-${bytes.end}`, auth);
  assert.equal(withAuth.status, 206);
  assert.equal(logSince(mark)[0].auth, 'hub');
  // Several ranges inside the signed one: 206 multipart/byteranges.
  const a = bytes.start;
  const multi = await get(entry.url, `bytes=${a}-${a + 9},${a + 100}-${a + 109}`);
  assert.equal(multi.status, 206);
  const ctype = multi.headers.get('content-type');
  assert.match(ctype, /^multipart\/byteranges; boundary=/);
  const text = Buffer.from(await multi.arrayBuffer());
  const boundary = ctype.split('boundary=')[1];
  assert.equal(text.toString('latin1').split(`--${boundary}`).length, 4);
  assert.ok(text.includes(full.subarray(0, 10)) && text.includes(full.subarray(100, 110)));
});

test('an expired transfer or bridge URL answers 403, an expired Xet token 401', async () => {
  const fx = await startHub({ seed: false, xet: true, args: ['--xet-url-ttl', '1'] });
  extra.push(fx);
  const o = { hubUrl: fx.url, accessToken: fx.serviceToken };
  await hub.createRepo({ ...o, repo: 'acme/short' });
  const data = crypto.randomBytes(200000);
  await hub.uploadFile({ ...o, repo: 'acme/short', file: { path: 'a.bin', content: new Blob([data]) } });
  const [info] = await hub.pathsInfo({ ...o, repo: 'acme/short', paths: ['a.bin'] });
  const token = (await xetToken('read', { repo: 'acme/short', fx })).accessToken;
  const r = await (await reconstruction(info.xetHash, { token, fx })).json();
  const [entry] = Object.values(r.xorbs)[0];
  const range = `bytes=${entry.ranges[0].bytes.start}-${entry.ranges[0].bytes.end}`;
  const head = await resolveHead('a.bin', { repo: 'acme/short', fx });
  const bridge = head.headers.get('location');
  await sleep(2100);
  assert.equal((await fetch(entry.url, { headers: { Range: range } })).status, 403);
  assert.equal((await fetch(bridge)).status, 403);
  // A fresh reconstruction gives fresh URLs, and XetBlob gets the bytes.
  const blob = await hub.downloadFile({ ...o, repo: 'acme/short', path: 'a.bin' });
  assert.ok(Buffer.from(await blob.arrayBuffer()).equals(data));

  const fx2 = await startHub({ seed: false, xet: true, args: ['--xet-token-ttl', '1'] });
  extra.push(fx2);
  await hub.createRepo({ hubUrl: fx2.url, accessToken: fx2.serviceToken, repo: 'acme/short' });
  const t = await xetToken('read', { repo: 'acme/short', fx: fx2 });
  assert.ok(t.exp <= Math.floor(Date.now() / 1000) + 1);
  await sleep(2100);
  const mark = fx2.readLog().length;
  assert.equal((await reconstruction('0'.repeat(64), { token: t.accessToken, fx: fx2 })).status, 401);
  assert.equal(logSince(mark, fx2)[0].auth, 'xet-expired');
});

// ---------------------------------------------------------------------------------------------
// xet-core's shapes, built by hand

test('xet-core style upload: a xorb with a XETBLOB footer, a shard without footer, then a commit by sha256', async () => {
  const write = (await xetToken('write')).accessToken;
  const chunks = [crypto.randomBytes(1000), crypto.randomBytes(2000), crypto.randomBytes(3000)];
  const content = Buffer.concat(chunks);
  const xorbHash = crypto.randomBytes(32).toString('hex');
  const fileHash = crypto.randomBytes(32).toString('hex');
  const xorb = xorbOf(chunks);
  const postXorb = () => fetch(`${h.casUrl}/v1/xorbs/default/${xorbHash}`, { method: 'POST', headers: { Authorization: `Bearer ${write}` }, body: xorb });
  const first = await postXorb();
  assert.equal(first.status, 200);
  assert.deepEqual(await first.json(), { was_inserted: true });
  assert.deepEqual(await (await postXorb()).json(), { was_inserted: false });

  const shard = (termXorb, termEnd) => shardOf({ fileHash, xorbHash: termXorb, chunks, xorbLen: xorb.length, termEnd });
  const postShard = (body) => fetch(`${h.casUrl}/v1/shards`, { method: 'POST', headers: { Authorization: `Bearer ${write}` }, body });
  assert.equal((await postShard(shard(crypto.randomBytes(32).toString('hex'), 3))).status, 400, 'unknown xorb');
  assert.equal((await postShard(shard(xorbHash, 4))).status, 400, 'chunks past the xorb');
  const ok = await postShard(shard(xorbHash, 3));
  assert.equal(ok.status, 200);
  assert.deepEqual(await ok.json(), { result: 1 });

  // The reconstruction's byte range covers the chunk records, not the footer.
  const read = (await xetToken('read')).accessToken;
  const r = await (await reconstruction(fileHash, { token: read })).json();
  assert.deepEqual(r.xorbs[xorbHash][0].ranges, [{ chunks: { start: 0, end: 3 }, bytes: { start: 0, end: 6023 } }]);

  const commit = await fetch(`${h.url}/api/models/${REPO}/commit/main`, {
    method: 'POST',
    headers: { ...auth, 'Content-Type': 'application/x-ndjson' },
    body: [{ key: 'header', value: { summary: 'xet-core style file' } },
      { key: 'lfsFile', value: { path: 'core.bin', algo: 'sha256', oid: sha256(content), size: content.length } }]
      .map((x) => JSON.stringify(x)).join('\n'),
  });
  assert.equal(commit.status, 200, await commit.clone().text());
  const head = await resolveHead('core.bin');
  assert.equal(head.headers.get('x-xet-hash'), fileHash);
  const res = await fetch(`${h.url}/${REPO}/resolve/main/core.bin`, { headers: auth });
  assert.ok(Buffer.from(await res.arrayBuffer()).equals(content));
});

// ---------------------------------------------------------------------------------------------
// Buckets

test('buckets: create, upload through Xet, list, download (XetBlob and bridge), copy a repo file in', async () => {
  const bucket = 'buckets/acme/bkt';
  await hub.createRepo({ ...opts, repo: bucket });
  const a = crypto.randomBytes(700000);
  const b = Buffer.from('bucket text file\n'.repeat(5000));
  const mark = h.readLog().length;
  await hub.uploadFiles({ ...opts, repo: bucket, files: [
    { path: 'dir/a.bin', content: new Blob([a]) }, { path: 'b.txt', content: new Blob([b]) }] });
  const up = logSince(mark);
  assert.ok(up.some((e) => e.origin === 'hub' && e.path === '/api/buckets/acme/bkt/xet-write-token'));
  assert.ok(up.some((e) => e.origin === 'cas' && e.path.startsWith('/v1/xorbs/default/') && e.auth === 'xet-write'));
  assert.ok(up.some((e) => e.origin === 'cas' && e.path === '/v1/shards' && e.auth === 'xet-write'));
  assert.ok(up.some((e) => e.origin === 'hub' && e.method === 'POST' && e.path === '/api/buckets/acme/bkt/batch'));

  const listed = [];
  for await (const f of hub.listFiles({ ...opts, repo: bucket, recursive: true })) listed.push(f);
  assert.deepEqual(listed.map((f) => [f.type, f.path]), [['file', 'b.txt'], ['directory', 'dir'], ['file', 'dir/a.bin']]);
  assert.match(listed[2].xetHash, HEX64);
  assert.equal(listed[2].size, a.length);

  for (const [p, want] of [['dir/a.bin', a], ['b.txt', b]]) {
    const m = h.readLog().length;
    const blob = await hub.downloadFile({ ...opts, repo: bucket, path: p });
    assert.ok(blob instanceof XetBlob);
    assert.ok(Buffer.from(await blob.arrayBuffer()).equals(want), p);
    const entries = logSince(m);
    assert.ok(entries.some((e) => e.origin === 'hub' && e.path === `/buckets/acme/bkt/resolve/${p}`));
    assert.ok(entries.some((e) => e.origin === 'cas' && e.path.startsWith('/v2/reconstructions/') && e.auth === 'xet-read'));
    const plain = await fetch(`${h.url}/buckets/acme/bkt/resolve/${p}`, { headers: auth });
    assert.ok(Buffer.from(await plain.arrayBuffer()).equals(want), `${p} through the bridge`);
  }
  assert.ok(h.readLog().some((e) => e.origin === 'hub' && e.path === '/api/buckets/acme/bkt/xet-read-token'));
  const head = await fetch(`${h.url}/buckets/acme/bkt/resolve/b.txt`, { method: 'HEAD', redirect: 'manual', headers: auth });
  assert.equal(head.status, 302);
  assert.match(head.headers.get('link'), new RegExp(`^<${h.url}/api/buckets/acme/bkt/xet-read-token>; rel="xet-auth", <${h.casUrl}/v1/reconstructions/[0-9a-f]{64}>; rel="xet-reconstruction-info"$`));

  // Bucket token routes have no revision; writes need the Hub token.
  const tok = await fetch(`${h.url}/api/buckets/acme/bkt/xet-read-token`, { headers: auth });
  assert.equal(tok.status, 200);
  assert.equal(tok.headers.get('x-xet-cas-url'), h.casUrl);
  assert.equal((await fetch(`${h.url}/api/buckets/acme/bkt/xet-write-token`)).status, 401);
  assert.equal((await fetch(`${h.url}/api/buckets/acme/bkt/xet-write-token/main`, { headers: auth })).status, 404);

  // Server-side copy of a Xet file of a git repo (batch copyFile with its xetHash).
  const m = h.readLog().length;
  await hub.copyFile({ ...opts, source: { repo: REPO, path: 'txt.bin' }, destination: { repo: bucket, path: 'copied.bin' } });
  assert.ok(!logSince(m).some((e) => e.origin === 'cas' && e.method === 'POST'), 'no data uploaded');
  const copied = await hub.downloadFile({ ...opts, repo: bucket, path: 'copied.bin' });
  assert.ok(Buffer.from(await copied.arrayBuffer()).equals(TXT));

  // A hash that was never uploaded to the bucket is refused.
  const bad = await fetch(`${h.url}/api/buckets/acme/bkt/batch`, {
    method: 'POST', headers: { ...auth, 'Content-Type': 'application/x-ndjson' },
    body: JSON.stringify({ type: 'addFile', path: 'x.bin', xetHash: crypto.randomBytes(32).toString('hex') }),
  });
  assert.equal(bad.status, 422);
  assert.equal((await bad.json()).failed[0].path, 'x.bin');
});

test('with same-origin storage, transfer and bridge URLs live under <hub>/storage/', async () => {
  const fx = await startHub({ seed: false, xet: true, sameOriginStorage: true });
  extra.push(fx);
  const o = { hubUrl: fx.url, accessToken: fx.serviceToken };
  await hub.createRepo({ ...o, repo: 'acme/same' });
  const data = crypto.randomBytes(150000);
  await hub.uploadFile({ ...o, repo: 'acme/same', file: { path: 'a.bin', content: new Blob([data]) } });
  const mark = fx.readLog().length;
  const blob = await hub.downloadFile({ ...o, repo: 'acme/same', path: 'a.bin' });
  assert.ok(blob instanceof XetBlob);
  assert.ok(Buffer.from(await blob.arrayBuffer()).equals(data));
  const plain = await fetch(`${fx.url}/acme/same/resolve/main/a.bin`, { headers: { Authorization: `Bearer ${fx.serviceToken}` } });
  assert.ok(Buffer.from(await plain.arrayBuffer()).equals(data));
  const storage = logSince(mark, fx).filter((e) => e.origin === 'storage');
  assert.ok(storage.some((e) => e.path.startsWith('/storage/xorbs/default/') && e.auth === 'none'));
  assert.ok(storage.some((e) => e.path.startsWith('/storage/xet-bridge/')));
});

// ---------------------------------------------------------------------------------------------
// Off by default

test('without xet: true the fixture keeps LFS only: no token routes, batch answers basic, no casUrl', async () => {
  const fx = await startHub({ seed: false });
  extra.push(fx);
  assert.equal(fx.casUrl, undefined);
  const fauth = { Authorization: `Bearer ${fx.serviceToken}` };
  await hub.createRepo({ hubUrl: fx.url, accessToken: fx.serviceToken, repo: 'acme/plain' });
  assert.equal((await fetch(`${fx.url}/api/models/acme/plain/xet-read-token/main`, { headers: fauth })).status, 404);
  assert.equal((await fetch(`${fx.url}/api/buckets/acme/b`, { headers: fauth })).status, 404);
  const batch = await fetch(`${fx.url}/acme/plain.git/info/lfs/objects/batch`, {
    method: 'POST',
    headers: { ...fauth, 'Content-Type': 'application/vnd.git-lfs+json' },
    body: JSON.stringify({ operation: 'upload', transfers: ['basic', 'multipart', 'xet'], objects: [{ oid: sha256(Buffer.from('x')), size: 1 }] }),
  });
  assert.equal((await batch.json()).transfer, 'basic');
});

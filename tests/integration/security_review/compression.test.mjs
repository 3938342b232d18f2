// Issue 9, item 2: a compressed upstream answer never skips rewriting or filtering.
// git-lfs and Node's fetch ask for gzip, and Hub fronts honour it (the Hub fixture does with
// HUB_FIXTURE_GZIP=1). On every route whose answer hubgate parses — the LFS batch it rewrites,
// the listings it filters — hubgate asks the upstream for `Accept-Encoding: identity`; an
// answer that still comes compressed (a front that ignores it: HUB_FIXTURE_GZIP_IGNORE_IDENTITY)
// or that is not the JSON hubgate must read is refused with a 502 in the Hub's shape, never
// relayed with the upstream's storage URLs or the names of repos the caller may not see.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import * as hub from '@huggingface/hub';
import { startStack, mintToken, makeTempDir, gitClient, gitRemote, teardownAll, sleep, REPO } from '../../lib/harness.mjs';
import { lfsBatch } from '../../lib/clients.mjs';

const POLICY = fs.readFileSync(path.join(REPO, 'tests', 'fixtures', 'policy', 'members.json'), 'utf8');

let s, tmp, token, hfToken;
let gzipHub, gw;       // a hub that gzips when asked, and honours identity
let rogueHub, gwRogue; // a hub that gzips whatever it is asked
let mock, gwMock;      // an upstream that answers a batch with an HTML page

function gateway(upstream, storage = []) {
  return s.gateway({ policy: POLICY, region: { upstream, storage }, serviceToken: 'hf_fixture_service_token', migrate: !gw });
}

before(async () => {
  tmp = makeTempDir('compression');
  s = await startStack({ hub: { env: { HUB_FIXTURE_GZIP: '1' } }, gateway: false });
  gzipHub = s.hub;
  rogueHub = await s.stack.hub({ env: { HUB_FIXTURE_GZIP: '1', HUB_FIXTURE_GZIP_IGNORE_IDENTITY: '1' } });
  mock = http.createServer((req, res) => {
    req.resume();
    const html = '<html><body>maintenance</body></html>';
    res.writeHead(200, { 'Content-Type': 'text/html', 'Content-Length': Buffer.byteLength(html) });
    res.end(html);
  });
  await new Promise((resolve) => mock.listen(0, '127.0.0.1', resolve));
  gw = await gateway(gzipHub.url, [gzipHub.storageUrl]);
  gwRogue = await gateway(rogueHub.url, [rogueHub.storageUrl]);
  gwMock = await gateway(`http://127.0.0.1:${mock.address().port}`);
  token = await s.idp.token('alice');
  // a hubgate token, for clients that want an hf_ token (git's Basic password, @huggingface/hub)
  hfToken = (await mintToken(gw, token, { name: 'compression tests' })).token;
});

after(async () => {
  mock?.close();
  await teardownAll();
});

const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest('hex');

// The batch request git-lfs sends (it asks for gzip: Go's transport does).
function batch(g, objects, operation = 'upload') {
  return lfsBatch(g.url, 'acme/bert', {
    Authorization: `Bearer ${token}`, 'Accept-Encoding': 'gzip', 'User-Agent': 'git-lfs/3.3.0 (GitHub; linux amd64; go 1.19.8)',
  }, { operation, transfers: ['basic'], objects, hash_algo: 'sha256', ref: { name: 'refs/heads/main' } });
}

const hubSaw = (h, rid) => h.readLog().find((e) => e.headers['x-request-id'] === rid);

test('the fixture gzips JSON for a client that asks, as a Hub front does', async () => {
  const res = await fetch(`${gzipHub.url}/api/models`, { headers: { Authorization: `Bearer ${gzipHub.serviceToken}`, 'Accept-Encoding': 'gzip' } });
  assert.equal(res.headers.get('content-encoding'), 'gzip');
  assert.ok(Array.isArray(await res.json()));
  const plain = await fetch(`${gzipHub.url}/api/models`, { headers: { Authorization: `Bearer ${gzipHub.serviceToken}`, 'Accept-Encoding': 'identity' } });
  assert.equal(plain.headers.get('content-encoding'), null);
});

test('an LFS batch asked with gzip: hubgate asks for identity and rewrites every href', async () => {
  const oid = sha256(Buffer.from(`compression ${Date.now()}`));
  const res = await batch(gw, [{ oid, size: 42 }]);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-encoding'), null);
  const text = await res.text();
  assert.ok(!text.includes(new URL(gzipHub.storageUrl).host), 'no storage URL reaches the client');
  const actions = JSON.parse(text).objects[0].actions;
  assert.ok(actions.upload.href.startsWith(`${gw.url}/-/egress/`), actions.upload.href);
  assert.equal(actions.verify.href, `${gw.url}/acme/bert.git/info/lfs/objects/verify`);
  const seen = hubSaw(gzipHub, res.headers.get('x-request-id'));
  assert.equal(seen.headers['accept-encoding'], 'identity');
});

test('Node fetch (gzip by default): a listing is filtered, a batch rewritten, other answers stay compressed', async () => {
  const auth = { Authorization: `Bearer ${token}` };
  const list = await fetch(`${gw.url}/api/models`, { headers: auth });
  assert.equal(list.status, 200);
  const names = (await list.json()).map((m) => m.id);
  assert.ok(names.includes('acme/bert') && names.includes('google/gemma-mini'), names.join(' '));
  const seen = hubSaw(gzipHub, list.headers.get('x-request-id'));
  assert.equal(seen.headers['accept-encoding'], 'identity');
  const models = [];
  for await (const m of hub.listModels({ hubUrl: gw.url, accessToken: hfToken })) models.push(m.name);
  assert.ok(models.includes('acme/bert'));
  // the batch @huggingface/hub sends for an upload, with fetch's own Accept-Encoding
  const oid = sha256(Buffer.from(`node fetch ${Date.now()}`));
  const up = await lfsBatch(gw.url, 'acme/bert', auth,
    { operation: 'upload', transfers: ['basic', 'multipart'], hash_algo: 'sha_256', ref: { name: 'main' }, objects: [{ oid, size: 4096 }] });
  assert.equal(up.status, 200);
  assert.ok((await up.json()).objects[0].actions.upload.href.startsWith(`${gw.url}/-/egress/`));
  const sent = hubSaw(gzipHub, up.headers.get('x-request-id'));
  assert.equal(sent.headers['accept-encoding'], 'identity');

  // A route hubgate does not parse streams the upstream's encoding through untouched.
  const info = await fetch(`${gw.url}/api/models/acme/bert`, { headers: auth });
  assert.equal(info.status, 200);
  assert.equal(info.headers.get('content-encoding'), 'gzip');
  assert.equal((await info.json()).id, 'acme/bert');
  assert.match(hubSaw(gzipHub, info.headers.get('x-request-id')).headers['accept-encoding'], /gzip/);
});

test('git-lfs pull through hubgate: every LFS byte comes through a sealed link', async () => {
  const git = gitClient(path.join(tmp, 'git-home'));
  const dir = path.join(tmp, 'clone');
  await git(['clone', '--quiet', gitRemote(gw.url, 'acme/bert', hfToken), dir], tmp);
  await git(['lfs', 'install', '--local'], dir);
  const mark = gzipHub.readLog().length;
  await git(['lfs', 'pull'], dir);
  const weights = fs.readFileSync(path.join(dir, 'model.safetensors'));
  assert.ok(weights.length > 1024 * 1024, 'the LFS object was fetched, not its pointer');
  const since = gzipHub.readLog().slice(mark);
  const storage = since.filter((e) => e.origin === 'storage');
  assert.ok(storage.length >= 1);
  for (const e of storage) {
    // hubgate's egress sends its request id; git-lfs reaching storage directly would not
    assert.match(e.headers['x-request-id'] ?? '', /^[0-9a-f]{32}$/, 'storage was reached through hubgate only');
  }
  const batchEntry = since.find((e) => e.path.endsWith('/info/lfs/objects/batch'));
  assert.match(batchEntry.headers['user-agent'], /^git-lfs\//);
  assert.equal(batchEntry.headers['accept-encoding'], 'identity');
});

test('a hub that compresses anyway: parsed answers are refused with a 502, never relayed', async () => {
  const oid = sha256(Buffer.from('refused'));
  const res = await batch(gwRogue, [{ oid, size: 7 }]);
  assert.equal(res.status, 502);
  assert.equal(res.headers.get('content-encoding'), null);
  assert.match(res.headers.get('x-error-message'), /compressed/);
  const body = await res.json();
  assert.match(body.error, /compressed/);
  assert.ok(!JSON.stringify(body).includes(new URL(rogueHub.storageUrl).host));
  assert.equal(hubSaw(rogueHub, res.headers.get('x-request-id')).headers['accept-encoding'], 'identity');

  const list = await fetch(`${gwRogue.url}/api/models`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(list.status, 502);
  assert.match((await list.json()).error, /compressed/);

  // the audit log records what the client got
  const rid = res.headers.get('x-request-id');
  let row = '';
  for (let i = 0; i < 200 && !row; i++) {
    row = await s.pg.psqlAsync(`select status || ' ' || (canonical::json->'response'->>'upstream_status') from audit_event where request_id = '${rid}' and kind = 'completion'`);
    if (!row) await sleep(50);
  }
  assert.equal(row, '502 200');
});

test('a success that is not an LFS batch document is refused, not relayed', async () => {
  const res = await batch(gwMock, [{ oid: sha256(Buffer.from('x')), size: 1 }]);
  assert.equal(res.status, 502);
  assert.match((await res.json()).error, /LFS batch/);
});

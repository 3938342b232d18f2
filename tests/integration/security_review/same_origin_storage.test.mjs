// Issue 9, item 17: a hub that serves its storage from its own origin (/storage/…): those URLs
// are not Hub routes, yet hubgate rewrote them to public_url, where they 404'd. Now a URL on
// the upstream's origin is rewritten to hubgate only when it is a Hub route (which hubgate then
// judges like any request); anything else there is sealed like a CDN's URL, needing no
// "storage" entry. Real clients download and upload LFS objects through hubgate against the
// Hub fixture in its same-origin mode: @huggingface/hub downloadFile/uploadFile, git + git-lfs
// pull and push. The hub's log proves storage was reached only through sealed links, without
// any credential, and Hub routes on the same origin (LFS verify, listing pages) still point at
// hubgate's own routes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as hub from '@huggingface/hub';
import { startStack, mintToken, makeTempDir, gitClient, gitRemote, teardownAll, REPO } from '../../lib/harness.mjs';
import { lfsBatch } from '../../lib/clients.mjs';

const POLICY = fs.readFileSync(path.join(REPO, 'tests', 'fixtures', 'policy', 'members.json'), 'utf8');
const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest('hex');

let h, gw, tmp, opts, auth, CLIENT_TOKEN;

before(async () => {
  tmp = makeTempDir('same-origin');
  let idp;
  ({ idp, hub: h, gw } = await startStack({
    hub: { sameOriginStorage: true, args: ['--max-page-size', '2'] },
    policy: POLICY, // no "storage": the upstream's own origin is always allowed
  }));
  assert.equal(h.storageUrl, `${h.url}/storage`);
  CLIENT_TOKEN = (await mintToken(gw, await idp.token('alice'), { name: 'same-origin storage' })).token;
  opts = { hubUrl: gw.url, accessToken: CLIENT_TOKEN };
  auth = { Authorization: `Bearer ${CLIENT_TOKEN}` };
});

after(teardownAll);

const mark = () => h.readLog().length;
const since = (m) => h.readLog().slice(m);

// Every storage request went to /storage/ on the hub's origin, through a sealed link, with
// neither the client's nor hubgate's credential.
function assertStorageThroughLinks(entries, method) {
  const storage = entries.filter((e) => e.origin === 'storage');
  assert.ok(storage.some((e) => e.method === method), `a ${method} reached storage: ${JSON.stringify(entries.map((e) => `${e.method} ${e.target}`))}`);
  for (const e of storage) {
    assert.match(e.target, /^\/storage\/lfs\/[0-9a-f]{64}/);
    assert.equal(e.headers.authorization, undefined, 'no credential reaches storage');
  }
  for (const e of entries.filter((x) => x.origin === 'hub')) {
    assert.ok(!e.target.startsWith('/storage/'), 'nothing else reached the storage paths');
  }
}

test('an LFS redirect to same-origin storage is a sealed hubgate link that serves the bytes', async () => {
  const res = await fetch(`${gw.url}/acme/bert/resolve/main/model.safetensors`, { headers: auth, redirect: 'manual' });
  assert.equal(res.status, 302);
  const location = res.headers.get('location');
  assert.ok(location.startsWith(`${gw.url}/-/egress/`), `sealed, not rewritten to ${gw.url}/storage/…: ${location}`);
  const m = mark();
  const bytes = Buffer.from(await (await fetch(location)).arrayBuffer());
  assert.equal(bytes.length, Number(res.headers.get('x-linked-size')));
  assert.equal(`"${sha256(bytes)}"`, res.headers.get('x-linked-etag'));
  assertStorageThroughLinks(since(m), 'GET');
  // Hub routes on the same origin still point at hubgate's routes, judged when used.
  const page = await fetch(`${gw.url}/api/models?limit=1`, { headers: auth });
  assert.match(page.headers.get('link'), new RegExp(`^<${gw.url}/api/models\\?`));
});

test('@huggingface/hub downloads and uploads LFS files', async () => {
  const m = mark();
  const lfs = await hub.downloadFile({ ...opts, repo: 'acme/bert', path: 'model.safetensors' });
  const info = await hub.fileDownloadInfo({ ...opts, repo: 'acme/bert', path: 'model.safetensors' });
  assert.equal(`"${sha256(Buffer.from(await lfs.arrayBuffer()))}"`, info.etag);
  assertStorageThroughLinks(since(m), 'GET');

  const repo = 'acme/same-origin-upload';
  await hub.createRepo({ ...opts, repo });
  const big = crypto.randomBytes(2 * 1024 * 1024 + 5);
  const up = mark();
  await hub.uploadFile({ ...opts, repo, file: { path: 'weights.bin', content: new Blob([big]) } });
  assertStorageThroughLinks(since(up), 'PUT');
  const back = await hub.downloadFile({ ...opts, repo, path: 'weights.bin' });
  assert.equal(sha256(Buffer.from(await back.arrayBuffer())), sha256(big));

  // The batch answer: the upload href is sealed, the verify href is hubgate's own route.
  const oid = sha256(Buffer.from('one more object'));
  const batch = await lfsBatch(gw.url, repo, auth, { operation: 'upload', transfers: ['basic'], objects: [{ oid, size: 15 }], hash_algo: 'sha256' });
  assert.equal(batch.status, 200);
  const actions = (await batch.json()).objects[0].actions;
  assert.ok(actions.upload.href.startsWith(`${gw.url}/-/egress/`), actions.upload.href);
  assert.equal(actions.verify.href, `${gw.url}/${repo}.git/info/lfs/objects/verify`);
  // git-lfs sends only the action's headers for an "authenticated" object: the client's own
  // credential, never one the upstream saw.
  assert.deepEqual(actions.verify.header, { Authorization: auth.Authorization });
});

test('git clone, git-lfs pull and an LFS push through hubgate', async () => {
  const git = gitClient(path.join(tmp, 'git-home'), { timeoutMs: 60000 });
  const dir = path.join(tmp, 'clone');
  await git(['clone', '--quiet', gitRemote(gw.url, 'acme/bert', CLIENT_TOKEN), dir], tmp);
  await git(['lfs', 'install', '--local'], dir);
  const pull = mark();
  await git(['lfs', 'pull'], dir);
  assertStorageThroughLinks(since(pull), 'GET');
  const info = await hub.fileDownloadInfo({ ...opts, repo: 'acme/bert', path: 'model.safetensors' });
  assert.equal(`"${sha256(fs.readFileSync(path.join(dir, 'model.safetensors')))}"`, info.etag);

  // A new LFS file (*.safetensors is tracked by the repo's .gitattributes), pushed.
  const weights = crypto.randomBytes(300 * 1024 + 3);
  fs.writeFileSync(path.join(dir, 'extra.safetensors'), weights);
  await git(['checkout', '--quiet', '-b', 'same-origin'], dir);
  await git(['add', 'extra.safetensors'], dir);
  await git(['commit', '--quiet', '-m', 'LFS push through hubgate, same-origin storage'], dir);
  const push = mark();
  await git(['push', '--quiet', 'origin', 'same-origin'], dir);
  assertStorageThroughLinks(since(push), 'PUT');
  const res = await fetch(`${gw.url}/acme/bert/resolve/same-origin/extra.safetensors`, { headers: auth });
  assert.equal(res.status, 200);
  assert.equal(sha256(Buffer.from(await res.arrayBuffer())), sha256(weights));
});

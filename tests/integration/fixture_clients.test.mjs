// Proves the Hub fixture (tests/fixtures/hub) is faithful enough for real clients:
// @huggingface/hub, @huggingface/transformers, git + git-lfs and curl, talking to it directly.
// Run: node tests/integration/fixture_clients.test.mjs   (from any directory)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as hub from '@huggingface/hub';
import { startHub } from '../fixtures/hub/launch.mjs';
import { loadTokenizer } from '../lib/clients.mjs';
import { gitClient, gitRemote } from '../lib/git.mjs';

const run = promisify(execFile);
const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest('hex');
const gitBlobSha = (buf) => crypto.createHash('sha1').update(`blob ${buf.length}\0`).update(buf).digest('hex');

let h;        // the running fixture
let tmp;      // scratch dir for this file: data, log, git HOME, clones
let opts;     // {hubUrl, accessToken} for @huggingface/hub
let auth;     // {Authorization: 'Bearer …'}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hubgate-fixture-clients-'));
  // A small page size makes every listing paginate, so clients must follow absolute Link URLs.
  h = await startHub({
    dataDir: path.join(tmp, 'data'),
    logFile: path.join(tmp, 'requests.jsonl'),
    args: ['--max-page-size', '2'],
  });
  opts = { hubUrl: h.url, accessToken: h.serviceToken };
  auth = { Authorization: `Bearer ${h.serviceToken}` };
});

after(async () => {
  if (h) await h.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

// Log entries recorded since `mark` (an index into the log).
const logSince = (mark) => h.readLog().slice(mark);

// paths-info of one file (the tree endpoint would paginate with the small page size).
async function pathInfo(p, repo = 'acme/bert', rev = 'main') {
  const res = await fetch(`${h.url}/api/models/${repo}/paths-info/${encodeURIComponent(rev)}`, {
    method: 'POST',
    headers: { ...auth, 'Content-Type': 'application/json' },
    body: JSON.stringify({ paths: [p] }),
  });
  assert.equal(res.status, 200);
  return (await res.json())[0];
}

async function mainSha(repo = 'acme/bert') {
  const res = await fetch(`${h.url}/api/models/${repo}/revision/main`, { headers: auth });
  assert.equal(res.status, 200);
  return (await res.json()).sha;
}

// ---------------------------------------------------------------------------------------------
// @huggingface/hub

test('@huggingface/hub whoAmI returns the service account with its orgs and auth', async () => {
  const me = await hub.whoAmI(opts);
  assert.equal(me.type, 'user');
  assert.equal(me.name, 'hubgate-svc');
  assert.ok(me.orgs.some((o) => o.name === 'acme' && o.type === 'org'));
  assert.ok(me.orgs.some((o) => o.name === 'google'));
  assert.equal(me.auth.type, 'access_token');
  assert.equal(me.auth.accessToken.role, 'write');
  assert.ok(me.auth.accessToken.createdAt instanceof Date);
});

test('@huggingface/hub listModels follows absolute Link pagination', async () => {
  const mark = h.readLog().length;
  const names = [];
  for await (const m of hub.listModels({ ...opts, limit: 3 })) names.push(m.name);
  assert.deepEqual(names, ['acme/bert', 'acme/tiny-tok', 'google/gemma-mini']);
  const gets = logSince(mark).filter((e) => e.path === '/api/models');
  assert.equal(gets.length, 2, 'two pages of two (server cap) were fetched');
  assert.match(gets[0].query, /(^|&)limit=3(&|$)/);
  assert.match(gets[0].query, /expand=pipeline_tag/);
  assert.match(gets[1].query, /(^|&)cursor=/);

  const all = [];
  for await (const m of hub.listModels({ ...opts, search: { owner: 'acme' } })) all.push(m);
  assert.deepEqual(all.map((m) => m.name), ['acme/bert', 'acme/tiny-tok']);
  assert.equal(all[0].private, true);
  assert.equal(all[0].task, 'fill-mask');
  assert.ok(all[0].updatedAt instanceof Date && !Number.isNaN(all[0].updatedAt.getTime()));

  // Anonymous callers only see public repos.
  const anon = [];
  for await (const m of hub.listModels({ hubUrl: h.url })) anon.push(m.name);
  assert.deepEqual(anon, ['google/gemma-mini', 'gpt2']);
});

test('@huggingface/hub listFiles: root, recursive, sub-path and refs/pr/1', async () => {
  const list = async (p) => {
    const out = [];
    for await (const f of hub.listFiles({ ...opts, repo: 'acme/bert', ...p })) out.push(f);
    return out;
  };
  const root = await list({});
  assert.deepEqual(root.map((f) => [f.type, f.path]), [
    ['file', '.gitattributes'], ['file', 'README.md'], ['file', 'config.json'],
    ['file', 'model.safetensors'], ['directory', 'sub'],
  ]);
  const weights = root.find((f) => f.path === 'model.safetensors');
  assert.equal(weights.lfs.size, weights.size);
  assert.match(weights.lfs.oid, /^[0-9a-f]{64}$/);

  const recursive = await list({ recursive: true });
  assert.ok(recursive.some((f) => f.path === 'sub/dir/notes.txt' && f.type === 'file'));
  assert.ok(recursive.some((f) => f.path === 'sub/dir' && f.type === 'directory'));

  const sub = await list({ path: 'sub/dir' });
  assert.deepEqual(sub.map((f) => f.path), ['sub/dir/notes.txt']);

  const mark = h.readLog().length;
  const pr = await list({ revision: 'refs/pr/1' });
  assert.ok(pr.some((f) => f.path === 'pr-only.txt'));
  assert.ok(!root.some((f) => f.path === 'pr-only.txt'));
  // huggingface.js puts the revision unencoded into the tree URL.
  assert.ok(logSince(mark).some((e) => e.path === '/api/models/acme/bert/tree/refs/pr/1'));

  // Python's encoding: %2F inside the revision and the path.
  const res = await fetch(`${h.url}/api/models/acme/bert/tree/refs%2Fpr%2F1/sub%2Fdir?recursive=false`, { headers: auth });
  assert.equal(res.status, 200);
  assert.deepEqual((await res.json()).map((f) => f.path), ['sub/dir/notes.txt']);
});

test('@huggingface/hub fileDownloadInfo for regular, LFS and missing files', async () => {
  const config = await hub.fileDownloadInfo({ ...opts, repo: 'acme/bert', path: 'config.json' });
  const configBytes = Buffer.from(await (await fetch(`${h.url}/acme/bert/raw/main/config.json`, { headers: auth })).arrayBuffer());
  assert.equal(config.size, configBytes.length);
  assert.equal(config.etag, `"${gitBlobSha(configBytes)}"`);

  const weights = await hub.fileDownloadInfo({ ...opts, repo: 'acme/bert', path: 'model.safetensors' });
  const { lfs } = await pathInfo('model.safetensors');
  assert.equal(weights.size, lfs.size);
  assert.equal(weights.etag, `"${lfs.oid}"`);

  assert.equal(await hub.fileDownloadInfo({ ...opts, repo: 'acme/bert', path: 'missing.bin' }), null);
});

test('@huggingface/hub downloadFile whole and ranged, regular and LFS (via storage redirect)', async () => {
  const blob = await hub.downloadFile({ ...opts, repo: 'acme/bert', path: 'config.json' });
  const whole = Buffer.from(await blob.arrayBuffer());
  assert.equal(JSON.parse(whole.toString('utf8')).model_type, 'bert');
  const part = Buffer.from(await blob.slice(2, 12).arrayBuffer());
  assert.deepEqual(part, whole.subarray(2, 12));

  const mark = h.readLog().length;
  const lfsBlob = await hub.downloadFile({ ...opts, repo: 'acme/bert', path: 'model.safetensors' });
  const bytes = Buffer.from(await lfsBlob.arrayBuffer());
  const info = await pathInfo('model.safetensors');
  assert.equal(bytes.length, info.lfs.size);
  assert.equal(sha256(bytes), info.lfs.oid);
  const head = Buffer.from(await lfsBlob.slice(0, 8).arrayBuffer());
  assert.deepEqual(head, bytes.subarray(0, 8));
  const tail = Buffer.from(await lfsBlob.slice(bytes.length - 5).arrayBuffer());
  assert.deepEqual(tail, bytes.subarray(bytes.length - 5));

  const storage = logSince(mark).filter((e) => e.origin === 'storage');
  assert.ok(storage.length >= 3, 'bytes came from the storage origin');
  for (const e of storage) {
    assert.equal(e.headers.authorization, undefined, 'the Hub token never reaches storage');
    assert.match(e.query, /X-Hub-Signature=[0-9a-f]{64}/);
  }
  assert.ok(storage.some((e) => e.headers.range === 'bytes=0-7'));
});

test('@huggingface/hub createRepo, uploadFile regular + LFS, download back, deleteRepo', async () => {
  const repo = 'acme/fixture-upload';
  const created = await hub.createRepo({ ...opts, repo });
  assert.equal(created.repoUrl, `${h.url}/${repo}`);
  await assert.rejects(hub.createRepo({ ...opts, repo }), (err) => err.statusCode === 409);

  const mark = h.readLog().length;
  const small = Buffer.from('hello from the fixture test\n');
  const c1 = await hub.uploadFile({ ...opts, repo, file: { path: 'notes/small.txt', content: new Blob([small]) } });
  assert.match(c1.commit.oid, /^[0-9a-f]{40}$/);
  const big = crypto.randomBytes(2 * 1024 * 1024);
  const c2 = await hub.uploadFile({ ...opts, repo, file: { path: 'weights.bin', content: new Blob([big]) } });
  assert.notEqual(c2.commit.oid, c1.commit.oid);
  assert.equal(c2.commit.url, `${h.url}/${repo}/commit/${c2.commit.oid}`);

  const entries = logSince(mark);
  const batch = entries.find((e) => e.path === `/${repo}.git/info/lfs/objects/batch`);
  assert.ok(batch, 'the LFS upload went through the batch API');
  assert.equal(batch.headers.authorization, `Bearer ${h.serviceToken}`);
  const put = entries.find((e) => e.origin === 'storage' && e.method === 'PUT');
  assert.ok(put, 'bytes were PUT to the storage origin');
  assert.equal(put.headers.authorization, undefined);
  assert.equal(entries.filter((e) => e.path.endsWith(`/commit/main`)).length, 2);

  const smallBack = await hub.downloadFile({ ...opts, repo, path: 'notes/small.txt' });
  assert.deepEqual(Buffer.from(await smallBack.arrayBuffer()), small);
  const bigBack = await hub.downloadFile({ ...opts, repo, path: 'weights.bin' });
  assert.equal(sha256(Buffer.from(await bigBack.arrayBuffer())), sha256(big));
  const files = [];
  for await (const f of hub.listFiles({ ...opts, repo, recursive: true })) files.push(f);
  assert.equal(files.find((f) => f.path === 'weights.bin').lfs.oid, sha256(big));
  assert.equal(files.find((f) => f.path === 'notes/small.txt').lfs, undefined);

  await hub.deleteRepo({ ...opts, repo });
  await assert.rejects(hub.fileDownloadInfo({ ...opts, repo, path: 'weights.bin' }), (err) => err.statusCode === 404);
});

// ---------------------------------------------------------------------------------------------
// @huggingface/transformers

test('@huggingface/transformers AutoTokenizer loads acme/tiny-tok over HTTP', async () => {
  const mark = h.readLog().length;
  const tok = await loadTokenizer(h.url, h.serviceToken, 'acme/tiny-tok');
  const ids = tok('Hello ACME world !  zzz').input_ids.tolist()[0].map(Number);
  assert.deepEqual(ids, [1, 3, 5, 4, 6, 0, 2]);
  const reqs = logSince(mark);
  assert.ok(reqs.some((e) => e.path === '/acme/tiny-tok/resolve/main/tokenizer.json'));
  for (const e of reqs) assert.equal(e.headers.authorization, `Bearer ${h.serviceToken}`);
});

// ---------------------------------------------------------------------------------------------
// git and git-lfs over smart HTTP

test('git clone, git-lfs pull and git push over smart HTTP with Basic auth', async () => {
  const git = gitClient(path.join(tmp, 'git-home'));
  const dir = path.join(tmp, 'clone');

  const mark = h.readLog().length;
  await git(['clone', '--quiet', gitRemote(h.url, 'acme/bert', h.serviceToken), dir], tmp);
  const config = fs.readFileSync(path.join(dir, 'config.json'));
  const viaApi = Buffer.from(await (await fetch(`${h.url}/acme/bert/resolve/main/config.json`, { headers: auth })).arrayBuffer());
  assert.deepEqual(config, viaApi);
  assert.match(fs.readFileSync(path.join(dir, 'model.safetensors'), 'utf8'), /^version https:\/\/git-lfs\.github\.com\/spec\/v1\noid sha256:/);
  const cloneLog = logSince(mark);
  const basic = `Basic ${Buffer.from(`hf_user:${h.serviceToken}`).toString('base64')}`;
  assert.ok(cloneLog.some((e) => e.path === '/acme/bert/git-upload-pack' && e.headers.authorization === basic));

  await git(['lfs', 'install', '--local'], dir);
  const lfsMark = h.readLog().length;
  await git(['lfs', 'pull'], dir);
  const weights = fs.readFileSync(path.join(dir, 'model.safetensors'));
  assert.equal(sha256(weights), (await pathInfo('model.safetensors')).lfs.oid);
  const lfsLog = logSince(lfsMark);
  assert.ok(lfsLog.some((e) => e.path === '/acme/bert.git/info/lfs/objects/batch' && e.headers.authorization === basic));
  assert.ok(lfsLog.some((e) => e.origin === 'storage' && e.method === 'GET' && !e.headers.authorization));

  fs.writeFileSync(path.join(dir, 'pushed.txt'), 'pushed with git\n');
  await git(['checkout', '--quiet', '-b', 'from-git'], dir);
  await git(['add', 'pushed.txt'], dir);
  await git(['commit', '--quiet', '-m', 'Push from git'], dir);
  await git(['push', '--quiet', 'origin', 'from-git'], dir);
  const local = (await git(['rev-parse', 'HEAD'], dir)).stdout.trim();
  const info = await (await fetch(`${h.url}/api/models/acme/bert/revision/from-git`, { headers: auth })).json();
  assert.equal(info.sha, local);
  assert.ok(info.siblings.some((s) => s.rfilename === 'pushed.txt'));
  const pushed = await fetch(`${h.url}/acme/bert/resolve/from-git/pushed.txt`, { headers: auth });
  assert.equal(await pushed.text(), 'pushed with git\n');
  assert.equal(pushed.headers.get('x-repo-commit'), local);
});

// ---------------------------------------------------------------------------------------------
// curl

test('curl -r 0-9 and curl -I on resolve', async () => {
  const file = path.join(tmp, 'curl-range.out');
  const url = `${h.url}/acme/bert/resolve/main/config.json`;
  const authArg = ['-H', `Authorization: Bearer ${h.serviceToken}`];
  const ranged = await run('curl', ['-sS', '--noproxy', '*', '-r', '0-9', '-D', '-', '-o', file, ...authArg, url]);
  assert.match(ranged.stdout, /^HTTP\/1\.1 206 /);
  const total = (await (await fetch(url, { headers: auth })).arrayBuffer()).byteLength;
  assert.match(ranged.stdout, new RegExp(`\\r\\ncontent-range: bytes 0-9/${total}\\r\\n`, 'i'));
  const full = Buffer.from(await (await fetch(url, { headers: auth })).arrayBuffer());
  assert.deepEqual(fs.readFileSync(file), full.subarray(0, 10));

  const headRes = await run('curl', ['-sS', '--noproxy', '*', '-I', ...authArg, url]);
  assert.match(headRes.stdout, /^HTTP\/1\.1 200 /);
  assert.match(headRes.stdout, new RegExp(`\\r\\netag: "${gitBlobSha(full)}"\\r\\n`, 'i'));
  assert.match(headRes.stdout, new RegExp(`\\r\\ncontent-length: ${full.length}\\r\\n`, 'i'));
  assert.match(headRes.stdout, /\r\nx-repo-commit: [0-9a-f]{40}\r\n/i);
  assert.match(headRes.stdout, /\r\naccept-ranges: bytes\r\n/i);

  const lfsHead = await run('curl', ['-sS', '--noproxy', '*', '-I', ...authArg, `${h.url}/acme/bert/resolve/main/model.safetensors`]);
  assert.match(lfsHead.stdout, /^HTTP\/1\.1 302 /);
  assert.match(lfsHead.stdout, /\r\nx-linked-etag: "[0-9a-f]{64}"\r\n/i);
  assert.match(lfsHead.stdout, /\r\nx-linked-size: \d+\r\n/i);
  assert.match(lfsHead.stdout, new RegExp(`\\r\\nlocation: ${h.storageUrl}/lfs/[0-9a-f]{64}\\?`, 'i'));
});

// ---------------------------------------------------------------------------------------------
// Error conventions and the request log

test('error conventions: RepoNotFound 401/404, EntryNotFound with X-Repo-Commit, bad token', async () => {
  const check = async (res, status, code, message) => {
    assert.equal(res.status, status);
    assert.equal(res.headers.get('x-error-code'), code);
    if (message) assert.equal(res.headers.get('x-error-message'), message);
    const body = await res.text(); // empty for HEAD
    if (body) assert.equal(typeof JSON.parse(body).error, 'string');
  };
  // Anonymous: private and missing repos look the same.
  await check(await fetch(`${h.url}/api/models/acme/bert`), 401, 'RepoNotFound');
  await check(await fetch(`${h.url}/api/models/acme/does-not-exist`), 401, 'RepoNotFound');
  await check(await fetch(`${h.url}/acme/bert/resolve/main/config.json`), 401, 'RepoNotFound');
  // Authenticated: missing repo is a 404.
  await check(await fetch(`${h.url}/api/models/acme/does-not-exist`, { headers: auth }), 404, 'RepoNotFound');
  await check(await fetch(`${h.url}/api/models/acme/bert/revision/nope`, { headers: auth }), 404, 'RevisionNotFound');
  // EntryNotFound carries the commit, on GET and HEAD (headers only).
  const sha = await mainSha();
  for (const method of ['GET', 'HEAD']) {
    const res = await fetch(`${h.url}/acme/bert/resolve/main/missing.txt`, { method, headers: auth });
    await check(res, 404, 'EntryNotFound');
    assert.equal(res.headers.get('x-repo-commit'), sha);
  }
  const missing = await fetch(`${h.url}/api/models/acme/does-not-exist`, { headers: auth });
  assert.equal(missing.headers.get('content-type').split(';')[0], 'application/json');
  assert.deepEqual(await missing.json(), { error: 'Repository not found' });
  // Bad token, even on a public repo.
  const bad = await fetch(`${h.url}/api/models/gpt2`, { headers: { Authorization: 'Bearer hf_wrong' } });
  assert.equal(bad.status, 401);
  assert.equal(bad.headers.get('x-error-message'), 'Invalid credentials in Authorization header');
  assert.deepEqual(await bad.json(), { error: 'Invalid credentials in Authorization header' });
  // Public repos are readable anonymously, including a legacy one-segment id.
  assert.equal((await fetch(`${h.url}/api/models/google/gemma-mini`)).status, 200);
  const legacy = await fetch(`${h.url}/gpt2/resolve/main/config.json`);
  assert.equal(legacy.status, 200);
  assert.equal(JSON.parse(await legacy.text()).model_type, 'gpt2');
});

test('the request log records method, raw target and all headers as received', async () => {
  const marker = crypto.randomUUID();
  const target = `/api/models/acme/bert/tree/refs%2Fpr%2F1?recursive=true&expand=false&marker=${marker}`;
  const status = await new Promise((resolve, reject) => {
    const u = new URL(h.url);
    const req = http.request({
      host: u.hostname,
      port: u.port,
      method: 'GET',
      path: target,
      headers: { Authorization: `Bearer ${h.serviceToken}`, 'X-Dup': ['one', 'two'], 'X-Marker': marker },
    }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(status, 200);
  const entry = h.readLog().find((e) => e.headers['x-marker'] === marker);
  assert.ok(entry, 'the request is in the log');
  assert.equal(entry.origin, 'hub');
  assert.equal(entry.method, 'GET');
  assert.equal(entry.target, target);
  assert.equal(entry.path, '/api/models/acme/bert/tree/refs%2Fpr%2F1');
  assert.equal(entry.query, `recursive=true&expand=false&marker=${marker}`);
  assert.equal(entry.headers.authorization, `Bearer ${h.serviceToken}`);
  assert.deepEqual(entry.headers['x-dup'], ['one', 'two']);
  assert.ok(!Number.isNaN(Date.parse(entry.ts)));
});

// Raw-protocol checks of the Hub fixture (tests/fixtures/hub) against the Hub HTTP API:
// the request shapes of the Python client that no installed client can send for us, the commit
// API's edge cases, refs, LFS batch and the signed storage origin, git access rules, the CLI.
// Run: node tests/integration/fixture_api.test.mjs   (from any directory)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { startHub } from '../fixtures/hub/launch.mjs';

const run = promisify(execFile);
const SERVER = fileURLToPath(new URL('../fixtures/hub/server.mjs', import.meta.url));
const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest('hex');

let h;
let tmp;
let auth;

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hubgate-fixture-api-'));
  h = await startHub({ dataDir: path.join(tmp, 'data'), logFile: path.join(tmp, 'requests.jsonl') });
  auth = { Authorization: `Bearer ${h.serviceToken}` };
});

after(async () => {
  if (h) await h.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

const api = (p, init = {}) => fetch(`${h.url}${p}`, { ...init, headers: { ...auth, ...(init.headers || {}) } });
const json = async (res, status = 200) => {
  const text = await res.text();
  assert.equal(res.status, status, text);
  return JSON.parse(text);
};
const ndjson = (lines) => lines.map((l) => JSON.stringify(l)).join('\n');
const b64 = (s) => Buffer.from(s).toString('base64');

async function commit(repo, rev, lines, query = '') {
  return api(`/api/models/${repo}/commit/${encodeURIComponent(rev)}${query}`, {
    method: 'POST', headers: { 'Content-Type': 'application/x-ndjson' }, body: ndjson(lines),
  });
}

async function newRepo(name, extra = {}) {
  await json(await api('/api/repos/create', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name, organization: 'acme', type: 'model', ...extra }),
  }));
  return `acme/${name}`;
}

test('repo info: default fields, expand, revision HEAD/tag/PR, blobs', async () => {
  const info = await json(await api('/api/models/acme/bert'));
  for (const k of ['_id', 'id', 'sha', 'private', 'siblings', 'lastModified', 'gated', 'downloads', 'likes', 'createdAt']) {
    assert.ok(k in info, `field ${k}`);
  }
  assert.equal(info.id, 'acme/bert');
  assert.equal(info.private, true);
  assert.match(info._id, /^[0-9a-f]{24}$/);
  const expanded = await json(await api('/api/models/acme/bert/revision/HEAD?expand=private&expand[]=lastModified'));
  assert.deepEqual(Object.keys(expanded).sort(), ['_id', 'id', 'lastModified', 'private']);
  const tag = await json(await api('/api/models/acme/bert/revision/v1.0'));
  assert.notEqual(tag.sha, info.sha, 'v1.0 is one commit behind main');
  const pr = await json(await api('/api/models/acme/bert/revision/refs%2Fpr%2F1'));
  assert.ok(pr.siblings.some((s) => s.rfilename === 'pr-only.txt'));
  const bySha = await json(await api(`/api/models/acme/bert/revision/${info.sha}`));
  assert.equal(bySha.sha, info.sha);
  const blobs = await json(await api('/api/models/acme/bert?blobs=true'));
  const weights = blobs.siblings.find((s) => s.rfilename === 'model.safetensors');
  assert.match(weights.lfs.sha256, /^[0-9a-f]{64}$/);
  assert.equal(weights.size, weights.lfs.size);
  const ds = await json(await api('/api/datasets/acme/ds'));
  assert.ok(ds.siblings.some((s) => s.rfilename === 'data/train.csv'));
  assert.equal((await api('/api/models/acme/ds')).status, 404, 'types are separate namespaces');
});

test('listing: author, search, expand and absolute Link pagination', async () => {
  const first = await api('/api/models?limit=1&author=acme');
  const page1 = await json(first);
  assert.deepEqual(page1.map((m) => m.id), ['acme/bert']);
  const link = first.headers.get('link');
  const m = /^<(https?:\/\/[^>]+)>; rel="next"$/.exec(link);
  assert.ok(m, `absolute Link: ${link}`);
  assert.ok(m[1].startsWith(`${h.url}/api/models?`));
  const second = await api(m[1].slice(h.url.length));
  assert.deepEqual((await json(second)).map((x) => x.id), ['acme/tiny-tok']);
  assert.equal(second.headers.get('link'), null);
  const found = await json(await api('/api/models?search=gemma&expand=downloads&expand=private'));
  assert.deepEqual(found, [{ _id: found[0]._id, id: 'google/gemma-mini', downloads: 1234, private: false }]);
  assert.deepEqual((await json(await api('/api/datasets'))).map((d) => d.id), ['acme/ds']);
  assert.deepEqual(await json(await fetch(`${h.url}/api/datasets`)), [], 'private datasets are hidden from anonymous callers');
});

test('tree: pagination with cursor, expand, both revision encodings, missing path', async () => {
  const entries = [];
  let next = `${h.url}/api/models/acme/bert/tree/main?recursive=true&limit=3`;
  let pages = 0;
  while (next) {
    assert.ok(next.startsWith(`${h.url}/api/models/acme/bert/tree/main?recursive=true&limit=3`));
    const res = await api(next.slice(h.url.length));
    const page = await json(res);
    assert.ok(page.length <= 3);
    entries.push(...page);
    pages += 1;
    const link = res.headers.get('link');
    next = link && /^<(https?:\/\/[^>]+)>; rel="next"$/.exec(link)[1];
  }
  assert.equal(pages, 3);
  assert.deepEqual(entries.map((e) => e.path), ['.gitattributes', 'README.md', 'config.json',
    'model.safetensors', 'sub', 'sub/dir', 'sub/dir/notes.txt']);
  const expanded = await json(await api('/api/models/acme/bert/tree/main/sub/dir?expand=true'));
  assert.equal(expanded[0].lastCommit.title, 'Upload model');
  assert.match(expanded[0].lastCommit.id, /^[0-9a-f]{40}$/);
  const js = await json(await api('/api/models/acme/bert/tree/refs/pr/1'));
  const py = await json(await api('/api/models/acme/bert/tree/refs%2Fpr%2F1'));
  assert.deepEqual(js, py);
  assert.ok(js.some((e) => e.path === 'pr-only.txt'));
  const missing = await api('/api/models/acme/bert/tree/main/nope');
  assert.equal(missing.status, 404);
  assert.equal(missing.headers.get('x-error-code'), 'EntryNotFound');
  const badRev = await api('/api/models/acme/bert/tree/nope');
  assert.equal(badRev.headers.get('x-error-code'), 'RevisionNotFound');
});

test('paths-info: Python form body and JS JSON body', async () => {
  const form = await json(await api('/api/models/acme/bert/paths-info/main', {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: 'paths=config.json&paths=sub&paths=missing.txt&expand=True',
  }));
  assert.deepEqual(form.map((e) => [e.type, e.path]), [['file', 'config.json'], ['directory', 'sub']]);
  assert.ok(form[0].lastCommit);
  const body = await json(await api('/api/models/acme/bert/paths-info/refs%2Fpr%2F1', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ paths: ['pr-only.txt', 'model.safetensors'], expand: false }),
  }));
  assert.equal(body.length, 2);
  assert.equal(body[0].lastCommit, undefined);
  assert.match(body[1].lfs.oid, /^[0-9a-f]{64}$/);
});

test('resolve and raw: Range forms, HEAD, LFS pointer on raw, resolve-cache', async () => {
  const whole = Buffer.from(await (await api('/acme/bert/resolve/main/config.json')).arrayBuffer());
  const range = async (r) => api('/acme/bert/resolve/main/config.json', { headers: { Range: r } });
  let res = await range('bytes=0-0');
  assert.equal(res.status, 206);
  assert.equal(res.headers.get('content-range'), `bytes 0-0/${whole.length}`);
  res = await range('bytes=-5');
  assert.deepEqual(Buffer.from(await res.arrayBuffer()), whole.subarray(whole.length - 5));
  res = await range('bytes=10-');
  assert.deepEqual(Buffer.from(await res.arrayBuffer()), whole.subarray(10));
  res = await range(`bytes=${whole.length}-`);
  assert.equal(res.status, 416);
  assert.equal(res.headers.get('content-range'), `bytes */${whole.length}`);
  res = await api('/acme/bert/resolve/main/config.json', { method: 'HEAD' });
  assert.equal(res.headers.get('content-length'), String(whole.length));
  assert.equal((await res.arrayBuffer()).byteLength, 0);

  const pointer = await (await api('/acme/bert/raw/main/model.safetensors')).text();
  assert.match(pointer, /^version https:\/\/git-lfs\.github\.com\/spec\/v1\noid sha256:[0-9a-f]{64}\nsize \d+\n$/);
  const lfsHead = await api('/acme/bert/resolve/main/model.safetensors', { method: 'HEAD', redirect: 'manual' });
  assert.equal(lfsHead.status, 302);
  assert.equal(lfsHead.headers.get('x-linked-etag'), `"${/oid sha256:(\w+)/.exec(pointer)[1]}"`);
  assert.equal(lfsHead.headers.get('x-linked-size'), /size (\d+)/.exec(pointer)[1]);
  assert.ok(lfsHead.headers.get('location').startsWith(`${h.storageUrl}/`));

  const sha = lfsHead.headers.get('x-repo-commit');
  const cached = await api(`/api/resolve-cache/models/acme/bert/${sha}/config.json`);
  assert.deepEqual(Buffer.from(await cached.arrayBuffer()), whole);
  const ds = await api('/datasets/acme/ds/resolve/main/data/train.csv');
  assert.match(await ds.text(), /^id,text,label\n/);
  assert.equal((await api('/acme/bert/resolve/v1.0/README.md')).status, 200);
});

test('storage origin: signature, method binding, expiry, upload checks', async () => {
  const loc = (await api('/acme/bert/resolve/main/model.safetensors', { redirect: 'manual' })).headers.get('location');
  const ok = await fetch(loc, { method: 'HEAD' });
  assert.equal(ok.status, 200);
  assert.match(ok.headers.get('etag'), /^"[0-9a-f]{64}"$/);
  const tampered = loc.replace(/X-Hub-Expires=(\d+)/, (_, e) => `X-Hub-Expires=${Number(e) + 1}`);
  assert.equal((await fetch(tampered)).status, 403);
  assert.equal((await fetch(loc.split('?')[0])).status, 403);
  assert.equal((await fetch(loc, { method: 'PUT', body: 'x' })).status, 403, 'a GET signature does not allow PUT');

  // An upload URL binds oid and size; the body must match both.
  const repo = await newRepo('storage-check');
  const data = crypto.randomBytes(1000);
  const oid = sha256(data);
  const batch = async (operation, objects) => json(await api(`/${repo}.git/info/lfs/objects/batch`, {
    method: 'POST',
    headers: { Accept: 'application/vnd.git-lfs+json', 'Content-Type': 'application/vnd.git-lfs+json' },
    body: JSON.stringify({ operation, transfers: ['basic'], hash_algo: 'sha256', objects }),
  }));
  const up = await batch('upload', [{ oid, size: data.length }]);
  assert.equal(up.transfer, 'basic');
  const { href } = up.objects[0].actions.upload;
  assert.ok(href.startsWith(`${h.storageUrl}/`));
  assert.equal((await fetch(href, { method: 'PUT', body: crypto.randomBytes(1000) })).status, 400, 'sha256 mismatch');
  assert.equal((await fetch(href, { method: 'PUT', body: data.subarray(1) })).status, 400, 'size mismatch');
  assert.equal((await fetch(href, { method: 'GET' })).status, 403, 'a PUT signature does not allow GET');
  assert.equal((await fetch(href, { method: 'PUT', body: data })).status, 200);
  const verify = up.objects[0].actions.verify.href;
  assert.equal((await api(verify.slice(h.url.length), { method: 'POST', body: JSON.stringify({ oid, size: data.length }) })).status, 200);
  const again = await batch('upload', [{ oid, size: data.length }]);
  assert.equal(again.objects[0].actions, undefined, 'present objects get no actions');
  const down = await batch('download', [{ oid, size: data.length }, { oid: 'f'.repeat(64), size: 1 }]);
  assert.deepEqual(Buffer.from(await (await fetch(down.objects[0].actions.download.href)).arrayBuffer()), data);
  assert.equal(down.objects[1].error.code, 404);

  // Expiry: a second hub whose URLs live one second.
  const short = await startHub({ seed: false, args: ['--url-ttl', '1'] });
  try {
    const r = await fetch(`${short.url}/api/repos/create`, {
      method: 'POST', headers: { Authorization: `Bearer ${short.serviceToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'x', organization: 'acme' }),
    });
    assert.equal(r.status, 200);
    const b = await (await fetch(`${short.url}/acme/x.git/info/lfs/objects/batch`, {
      method: 'POST', headers: { Authorization: `Bearer ${short.serviceToken}`, 'Content-Type': 'application/vnd.git-lfs+json' },
      body: JSON.stringify({ operation: 'upload', objects: [{ oid, size: data.length }] }),
    })).json();
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const late = await fetch(b.objects[0].actions.upload.href, { method: 'PUT', body: data });
    assert.equal(late.status, 403);
    assert.match(await late.text(), /expired/);
  } finally {
    await short.stop();
  }
});

test('preupload decides lfs vs regular like the Hub', async () => {
  const res = await json(await api('/api/models/acme/bert/preupload/main', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      files: [
        { path: 'empty.bin', size: 0, sample: '' },
        { path: 'text.txt', size: 5, sample: b64('hello') },
        { path: 'weights.safetensors', size: 5, sample: b64('hello') },
        { path: 'binary.dat', size: 4, sample: Buffer.from([1, 0, 2, 3]).toString('base64') },
        { path: 'huge.txt', size: 20 * 1024 * 1024, sample: b64('text') },
      ],
    }),
  }));
  assert.deepEqual(res.files.map((f) => [f.path, f.uploadMode]), [
    ['empty.bin', 'regular'], ['text.txt', 'regular'], ['weights.safetensors', 'lfs'],
    ['binary.dat', 'lfs'], ['huge.txt', 'lfs'],
  ]);
  const custom = await json(await api('/api/models/acme/bert/preupload/main', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ gitAttributes: '*.txt filter=lfs diff=lfs merge=lfs -text\n', files: [{ path: 'a.txt', size: 1, sample: b64('a') }] }),
  }));
  assert.equal(custom.files[0].uploadMode, 'lfs');
});

test('ndjson commit: file, lfsFile, deletions, parentCommit, create_pr', async () => {
  const repo = await newRepo('commit-check');
  const base = (await json(await api(`/api/models/${repo}/revision/main`))).sha;
  let res = await commit(repo, 'main', [
    { key: 'header', value: { summary: 'Add files', description: 'two files', parentCommit: base } },
    { key: 'file', value: { path: 'a/one.txt', content: b64('one\n'), encoding: 'base64' } },
    { key: 'file', value: { path: 'a/two.txt', content: b64('two\n'), encoding: 'base64' } },
    { key: 'file', value: { path: 'keep.txt', content: b64('keep\n'), encoding: 'base64' } },
  ]);
  const c1 = await json(res);
  assert.match(c1.commitOid, /^[0-9a-f]{40}$/);
  assert.equal(c1.commitUrl, `${h.url}/${repo}/commit/${c1.commitOid}`);
  assert.equal(c1.hookOutput, '');

  res = await commit(repo, 'main', [{ key: 'header', value: { summary: 'stale', parentCommit: base } },
    { key: 'deletedFile', value: { path: 'keep.txt' } }]);
  assert.equal(res.status, 412);

  res = await commit(repo, 'main', [{ key: 'header', value: { summary: 'bad lfs' } },
    { key: 'lfsFile', value: { path: 'w.bin', algo: 'sha256', oid: 'e'.repeat(64), size: 3 } }]);
  assert.equal(res.status, 400);

  res = await commit(repo, 'main', [{ key: 'header', value: { summary: 'gone' } },
    { key: 'deletedFile', value: { path: 'nope.txt' } }]);
  assert.equal(res.headers.get('x-error-code'), 'EntryNotFound');

  const bertWeights = (await json(await api('/api/models/acme/bert/paths-info/main', {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ paths: ['model.safetensors'] }),
  })))[0].lfs;
  const c2 = await json(await commit(repo, 'main', [
    { key: 'header', value: { summary: 'Reorganise' } },
    { key: 'deletedFolder', value: { path: 'a/' } },
    { key: 'lfsFile', value: { path: 'w.safetensors', algo: 'sha256', oid: bertWeights.oid, size: bertWeights.size } },
  ]));
  const tree = await json(await api(`/api/models/${repo}/tree/main?recursive=1`));
  assert.deepEqual(tree.map((e) => e.path), ['.gitattributes', 'keep.txt', 'w.safetensors']);
  assert.equal(tree[2].lfs.oid, bertWeights.oid);

  const commits = await api(`/api/models/${repo}/commits/main`);
  assert.equal(commits.headers.get('x-total-count'), '3');
  const list = await json(commits);
  assert.deepEqual(list.map((c) => c.title), ['Reorganise', 'Add files', 'initial commit']);
  assert.equal(list[0].id, c2.commitOid);
  assert.equal(list[1].message, 'Add files\n\ntwo files');

  const pr = await json(await commit(repo, 'main', [{ key: 'header', value: { summary: 'Proposal' } },
    { key: 'file', value: { path: 'proposal.txt', content: b64('p\n'), encoding: 'base64' } }], '?create_pr=1'));
  assert.equal(pr.pullRequestUrl, `${h.url}/${repo}/discussions/1`);
  const onPr = await json(await commit(repo, 'refs/pr/1', [{ key: 'header', value: { summary: 'More' } },
    { key: 'file', value: { path: 'more.txt', content: b64('m\n'), encoding: 'base64' } }]));
  const refs = await json(await api(`/api/models/${repo}/refs?include_prs=1`));
  assert.deepEqual(refs.pullRequests.map((r) => [r.ref, r.targetCommit]), [['refs/pr/1', onPr.commitOid]]);
  assert.equal(refs.branches.find((b) => b.name === 'main').targetCommit, c2.commitOid);
  assert.equal((await api(`/${repo}/resolve/main/proposal.txt`)).status, 404, 'main is untouched by the PR');
});

test('branches, tags, refs, move with redirect, settings, delete', async () => {
  const repo = await newRepo('refs-check');
  const main = (await json(await api(`/api/models/${repo}/revision/main`))).sha;
  await json(await api(`/api/models/${repo}/branch/dev`, { method: 'POST', body: '{}' }));
  assert.equal((await api(`/api/models/${repo}/branch/dev`, { method: 'POST', body: '{}' })).status, 409);
  await json(await api(`/api/models/${repo}/branch/feature%2Fx`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ startingPoint: main }),
  }));
  await json(await api(`/api/models/${repo}/tag/main`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ tag: 'v1', message: 'first' }),
  }));
  let refs = await json(await api(`/api/models/${repo}/refs`));
  assert.deepEqual(refs.branches.map((b) => b.name).sort(), ['dev', 'feature/x', 'main']);
  assert.deepEqual(refs.tags, [{ name: 'v1', ref: 'refs/tags/v1', targetCommit: main }]);
  assert.deepEqual(refs.converts, []);
  assert.equal(refs.pullRequests, undefined);
  await json(await api(`/api/models/${repo}/branch/feature%2Fx`, { method: 'DELETE' }));
  await json(await api(`/api/models/${repo}/tag/v1`, { method: 'DELETE' }));
  assert.equal((await api(`/api/models/${repo}/tag/v1`, { method: 'DELETE' })).status, 404);
  refs = await json(await api(`/api/models/${repo}/refs`));
  assert.deepEqual(refs.branches.map((b) => b.name).sort(), ['dev', 'main']);

  await json(await api('/api/repos/move', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ fromRepo: repo, toRepo: 'acme/refs-moved', type: 'model' }),
  }));
  const old = await api(`/${repo}/resolve/main/.gitattributes?x=1`, { redirect: 'manual' });
  assert.equal(old.status, 307);
  assert.equal(old.headers.get('location'), '/acme/refs-moved/resolve/main/.gitattributes?x=1');
  const anonPublic = await fetch(`${h.url}/api/models/${repo}`, { redirect: 'manual' });
  assert.equal(anonPublic.status, 307, 'public: anonymous callers are redirected too');
  assert.equal(anonPublic.headers.get('location'), '/api/models/acme/refs-moved');

  await json(await api('/api/models/acme/refs-moved/settings', {
    method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ private: true }),
  }));
  assert.equal((await fetch(`${h.url}/api/models/acme/refs-moved`)).status, 401);
  const anonOld = await fetch(`${h.url}/api/models/${repo}`, { redirect: 'manual' });
  assert.equal(anonOld.status, 401, 'no redirect to a private repo for anonymous callers');

  const created = await api('/api/repos/create', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'refs-moved', organization: 'acme' }),
  });
  assert.equal(created.status, 409);
  assert.equal((await created.json()).url, `${h.url}/acme/refs-moved`);
  const del = await api('/api/repos/delete', {
    method: 'DELETE', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'refs-moved', organization: 'acme', type: 'model' }),
  });
  assert.equal(del.status, 200);
  assert.equal((await api('/api/models/acme/refs-moved')).status, 404);
  assert.equal((await fetch(`${h.url}/api/repos/create`, { method: 'POST', body: '{}' })).status, 401);
});

test('git smart HTTP access rules: challenge, anonymous public clone, no anonymous push', async () => {
  const anon = await fetch(`${h.url}/acme/bert.git/info/refs?service=git-upload-pack`);
  assert.equal(anon.status, 401);
  assert.match(anon.headers.get('www-authenticate'), /^Basic /);
  const missing = await fetch(`${h.url}/acme/nope/info/refs?service=git-upload-pack`);
  assert.equal(missing.status, 401, 'a missing repo looks like a private one');
  const basic = `Basic ${Buffer.from(`x:${h.serviceToken}`).toString('base64')}`;
  const adv = await fetch(`${h.url}/acme/bert.git/info/refs?service=git-upload-pack`, { headers: { Authorization: basic } });
  assert.equal(adv.status, 200);
  assert.equal(adv.headers.get('content-type'), 'application/x-git-upload-pack-advertisement');
  const badBasic = await fetch(`${h.url}/acme/bert/info/refs?service=git-upload-pack`,
    { headers: { Authorization: `Basic ${Buffer.from('x:hf_wrong').toString('base64')}` } });
  assert.equal(badBasic.status, 401);
  assert.equal(badBasic.headers.get('x-error-message'), 'Invalid credentials in Authorization header');
  const pushAnon = await fetch(`${h.url}/gpt2/info/refs?service=git-receive-pack`);
  assert.equal(pushAnon.status, 401);

  const env = { ...process.env, HOME: tmp, GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0',
    NO_PROXY: '127.0.0.1,localhost', no_proxy: '127.0.0.1,localhost' };
  const dir = path.join(tmp, 'gpt2');
  await run('git', ['clone', '--quiet', `${h.url}/gpt2`, dir], { env });
  assert.equal(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).model_type, 'gpt2');
});

test('server CLI: --help, argument errors, clean exit on SIGTERM', async () => {
  const help = await run(process.execPath, [SERVER, '--help']);
  assert.match(help.stdout, /^usage: node server\.mjs --data DIR --token TOKEN --log FILE/);
  await assert.rejects(run(process.execPath, [SERVER, '--data', tmp, '--token', 'nothf', '--log', path.join(tmp, 'x.log')]),
    (err) => err.code === 2 && /must start with hf_/.test(err.stderr));

  const child = spawn(process.execPath, [SERVER, '--data', path.join(tmp, 'cli-data'), '--token', 'hf_cli',
    '--log', path.join(tmp, 'cli.log')], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  try {
    const line = await new Promise((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        if (out.includes('\n')) resolve(out.split('\n')[0]);
      });
      child.once('exit', () => reject(new Error('exited before ready')));
    });
    const ready = JSON.parse(line);
    assert.deepEqual(Object.keys(ready), ['ready', 'url', 'storageUrl']);
    assert.match(ready.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(ready.storageUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal((await fetch(`${ready.url}/api/models`)).status, 200);
  } finally {
    child.kill('SIGTERM');
  }
  assert.deepEqual(await exited, { code: 0, signal: null });
});

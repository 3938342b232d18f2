// Real clients through hubgate (issue 3): @huggingface/hub, transformers.js, git + git-lfs and
// curl use hubgate's URL and a client token; hubgate forwards to the Hub fixture with its own
// region credential. The fixture's request log then proves, for every request that reached
// the hub, that its target is exactly the one hubgate classified, that the client's
// credential never arrived and that hubgate's did.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import * as hub from '@huggingface/hub';
import { startStack, mintToken, makeTempDir, gitClient, gitRemote, teardownAll, REPO } from '../lib/harness.mjs';
import { lfsBatch, loadTokenizer } from '../lib/clients.mjs';

const POLICY = fs.readFileSync(path.join(REPO, 'tests', 'fixtures', 'policy', 'members.json'), 'utf8');

const run = promisify(execFile);
const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest('hex');
let CLIENT_TOKEN; // a hubgate token minted by alice: it must never reach the hub
let SSO_TOKEN;    // alice's access token from the IdP: neither

let h, gw, tmp, opts, auth;

before(async () => {
  tmp = makeTempDir('proxy-clients');
  let idp;
  ({ idp, hub: h, gw } = await startStack({
    hub: { args: ['--max-page-size', '2'] },
    policy: POLICY,
    storage: true,
    config: { event_loops: 2 }, // real clients through two event loops (SO_REUSEPORT)
    env: { HUBGATE_LOG_LEVEL: 'debug' },
  }));
  SSO_TOKEN = await idp.token('alice');
  CLIENT_TOKEN = (await mintToken(gw, SSO_TOKEN, { name: 'proxy tests' })).token;
  opts = { hubUrl: gw.url, accessToken: CLIENT_TOKEN };
  auth = { Authorization: `Bearer ${CLIENT_TOKEN}` };
});

after(teardownAll);

// What hubgate classified, by request id, from its access log (debug level).
function classified() {
  const map = new Map();
  for (const m of gw.stderr().matchAll(/ access: ([0-9a-f]{32}) (\S+) (\S+) family=(\S+) action=(\S+) status=(\d+)/g)) {
    map.set(m[1], { method: m[2], target: m[3], family: m[4], action: m[5], status: Number(m[6]) });
  }
  return map;
}

const mark = () => h.readLog().length;
const since = (m) => h.readLog().slice(m);

test('downloads: whole and ranged, regular and LFS through a sealed egress link', async () => {
  const blob = await hub.downloadFile({ ...opts, repo: 'acme/bert', path: 'config.json' });
  const whole = Buffer.from(await blob.arrayBuffer());
  assert.equal(JSON.parse(whole.toString('utf8')).model_type, 'bert');
  assert.deepEqual(Buffer.from(await blob.slice(2, 12).arrayBuffer()), whole.subarray(2, 12));

  const m = mark();
  const lfs = await hub.downloadFile({ ...opts, repo: 'acme/bert', path: 'model.safetensors' });
  const bytes = Buffer.from(await lfs.arrayBuffer());
  const info = await hub.fileDownloadInfo({ ...opts, repo: 'acme/bert', path: 'model.safetensors' });
  assert.equal(bytes.length, info.size);
  assert.equal(`"${sha256(bytes)}"`, info.etag);
  const tail = Buffer.from(await lfs.slice(bytes.length - 5).arrayBuffer());
  assert.deepEqual(tail, bytes.subarray(bytes.length - 5));
  const storage = since(m).filter((e) => e.origin === 'storage');
  assert.ok(storage.length >= 2, 'the bytes came from storage, fetched by hubgate');
  for (const e of storage) assert.equal(e.headers.authorization, undefined, 'no credential reaches storage');
});

test('the storage redirect is a hubgate link; curl -r and -I are exact', async () => {
  const url = `${gw.url}/acme/bert/resolve/main/config.json`;
  const authArg = ['-H', `Authorization: Bearer ${CLIENT_TOKEN}`];
  const out = path.join(tmp, 'range.out');
  const ranged = await run('curl', ['-sS', '--noproxy', '*', '-r', '0-9', '-D', '-', '-o', out, ...authArg, url]);
  assert.match(ranged.stdout, /^HTTP\/1\.1 206 /);
  const full = Buffer.from(await (await fetch(url, { headers: auth })).arrayBuffer());
  assert.match(ranged.stdout, new RegExp(`\\r\\ncontent-range: bytes 0-9/${full.length}\\r\\n`, 'i'));
  assert.deepEqual(fs.readFileSync(out), full.subarray(0, 10));

  const head = await run('curl', ['-sS', '--noproxy', '*', '-I', ...authArg, url]);
  assert.match(head.stdout, /^HTTP\/1\.1 200 /);
  assert.match(head.stdout, new RegExp(`\\r\\ncontent-length: ${full.length}\\r\\n`, 'i'));
  assert.match(head.stdout, /\r\nx-repo-commit: [0-9a-f]{40}\r\n/i);
  assert.match(head.stdout, /\r\nx-request-id: [0-9a-f]{32}\r\n/i);

  const lfsHead = await run('curl', ['-sS', '--noproxy', '*', '-I', ...authArg, `${gw.url}/acme/bert/resolve/main/model.safetensors`]);
  assert.match(lfsHead.stdout, /^HTTP\/1\.1 302 /);
  assert.match(lfsHead.stdout, /\r\nx-linked-size: \d+\r\n/i);
  const location = lfsHead.stdout.match(/\r\nlocation: (\S+)\r\n/i)[1];
  assert.ok(location.startsWith(`${gw.url}/-/egress/`), `Location points at hubgate: ${location}`);
  assert.ok(!location.includes(new URL(h.storageUrl).host), 'the storage URL is not visible');
  // The sealed link serves the bytes; a tampered one is refused and never forwarded.
  const res = await fetch(location, { headers: { Range: 'bytes=0-3' } });
  assert.equal(res.status, 206);
  const m = mark();
  const forged = location.slice(0, -4) + (location.endsWith('AAAA') ? 'BBBB' : 'AAAA');
  assert.equal((await fetch(forged)).status, 404);
  assert.equal((await fetch(location, { method: 'PUT', body: 'x' })).status, 405);
  assert.equal(since(m).length, 0, 'refused links reach neither hub nor storage');
});

test('listing pagination follows Link URLs rewritten to hubgate', async () => {
  const names = [];
  for await (const mdl of hub.listModels({ ...opts, limit: 3 })) names.push(mdl.name);
  assert.deepEqual(names, ['acme/bert', 'acme/tiny-tok', 'google/gemma-mini']);
  const res = await fetch(`${gw.url}/api/models?limit=3`, { headers: auth });
  assert.match(res.headers.get('link'), new RegExp(`^<${gw.url}/api/models\\?`));
});

test('uploads: create a repo, upload small and LFS files, read them back, delete it', async () => {
  const repo = 'acme/through-gateway';
  await hub.createRepo({ ...opts, repo });
  const m = mark();
  const small = Buffer.from('small file through hubgate\n');
  await hub.uploadFile({ ...opts, repo, file: { path: 'small.txt', content: new Blob([small]) } });
  const big = crypto.randomBytes(3 * 1024 * 1024 + 17);
  await hub.uploadFile({ ...opts, repo, file: { path: 'weights.bin', content: new Blob([big]) } });
  const entries = since(m);
  const put = entries.find((e) => e.origin === 'storage' && e.method === 'PUT');
  assert.ok(put, 'the LFS bytes were PUT to storage through the sealed link');
  assert.equal(put.headers['content-length'], String(big.length));

  // The batch answer the client got: every href points at hubgate.
  const oid = sha256(Buffer.from('another object'));
  const batch = await lfsBatch(gw.url, repo, auth, { operation: 'upload', transfers: ['basic'], objects: [{ oid, size: 14 }], hash_algo: 'sha256' });
  assert.equal(batch.status, 200);
  const actions = (await batch.json()).objects[0].actions;
  assert.ok(actions.upload.href.startsWith(`${gw.url}/-/egress/`), actions.upload.href);
  assert.equal(actions.verify.href, `${gw.url}/${repo}.git/info/lfs/objects/verify`);

  const back = await hub.downloadFile({ ...opts, repo, path: 'weights.bin' });
  assert.equal(sha256(Buffer.from(await back.arrayBuffer())), sha256(big));
  const smallBack = await hub.downloadFile({ ...opts, repo, path: 'small.txt' });
  assert.deepEqual(Buffer.from(await smallBack.arrayBuffer()), small);
  await hub.deleteRepo({ ...opts, repo });
  await assert.rejects(hub.fileDownloadInfo({ ...opts, repo, path: 'small.txt' }), (err) => err.statusCode === 404);
});

test('transformers.js loads a tokenizer through hubgate', async () => {
  const tok = await loadTokenizer(gw.url, CLIENT_TOKEN, 'acme/tiny-tok');
  assert.deepEqual(tok('Hello ACME world !  zzz').input_ids.tolist()[0].map(Number), [1, 3, 5, 4, 6, 0, 2]);
});

test('git clone, git-lfs pull and git push through hubgate with Basic auth', async () => {
  const git = gitClient(path.join(tmp, 'git-home'));
  const dir = path.join(tmp, 'clone');
  await git(['clone', '--quiet', gitRemote(gw.url, 'acme/bert', CLIENT_TOKEN), dir], tmp);
  assert.equal(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).model_type, 'bert');
  await git(['lfs', 'install', '--local'], dir);
  await git(['lfs', 'pull'], dir);
  const weights = fs.readFileSync(path.join(dir, 'model.safetensors'));
  const info = await hub.fileDownloadInfo({ ...opts, repo: 'acme/bert', path: 'model.safetensors' });
  assert.equal(`"${sha256(weights)}"`, info.etag);

  fs.writeFileSync(path.join(dir, 'via-gateway.txt'), 'pushed through hubgate\n');
  await git(['checkout', '--quiet', '-b', 'via-gateway'], dir);
  await git(['add', 'via-gateway.txt'], dir);
  await git(['commit', '--quiet', '-m', 'Push through hubgate'], dir);
  await git(['push', '--quiet', 'origin', 'via-gateway'], dir);
  const res = await fetch(`${gw.url}/acme/bert/resolve/via-gateway/via-gateway.txt`, { headers: auth });
  assert.equal(await res.text(), 'pushed through hubgate\n');
});

test('framing abuse and ambiguous paths are refused and never forwarded', async () => {
  const net = await import('node:net');
  const raw = (bytes) => new Promise((resolve) => {
    const s = net.connect(new URL(gw.url).port, '127.0.0.1');
    let out = '';
    s.on('data', (d) => { out += d; });
    s.on('close', () => resolve(out));
    s.on('error', () => resolve(out));
    s.write(bytes);
    setTimeout(() => s.end(), 500);
  });
  const m = mark();
  const cases = [
    ['CL+TE', 'POST /api/models/acme/bert/commit/main HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400],
    ['two CL', 'POST /api/models/acme/bert/commit/main HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab', 400],
    ['TE gzip', 'POST /api/models/acme/bert/commit/main HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n', 400],
    ['dot segment', 'GET /acme/../google/gemma-mini/resolve/main/config.json HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ['encoded slash in repo', 'GET /acme%2Fbert/resolve/main/config.json HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ['encoded dots', 'GET /acme/%2e%2e/resolve/main/config.json HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ['NUL', 'GET /acme/bert/resolve/main/a%00b HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ['unknown route, anonymous', 'GET /definitely/not/a/hub/route/x HTTP/1.1\r\nHost: x\r\n\r\n', 401],
    // anonymous callers are refused before anything else (issue 9, finding 15)
    ['xet token, anonymous', 'GET /api/models/acme/bert/xet-read-token/main HTTP/1.1\r\nHost: x\r\n\r\n', 401],
    ['header block over the cap', `GET /acme/bert/resolve/main/config.json HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(70000)}\r\n\r\n`, 431],
    ['header block just over the 32 KiB cap', `GET /acme/bert/resolve/main/config.json HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(33 * 1024)}\r\n\r\n`, 431],
    // The largest request every other cap allows still fits the header block (and so MHD's
    // per-connection pool): an 8 KiB request-target, a 16 KiB credential, the usual headers.
    // It is read whole and refused for its made-up credential, not for its size.
    ['largest request the caps allow', `GET /acme/bert/resolve/main/${'a'.repeat(8192 - 27)} HTTP/1.1\r\nHost: x\r\nUser-Agent: ${'u'.repeat(200)}\r\nAccept: */*\r\nAccept-Encoding: gzip\r\nAuthorization: Bearer ${'t'.repeat(16 * 1024 - 7)}\r\n\r\n`, 401],
  ];
  for (const [name, req, status] of cases) {
    const out = await raw(req);
    assert.match(out, new RegExp(`^HTTP/1\\.1 ${status} `), `${name}: ${out.slice(0, 80)}`);
  }
  assert.equal(since(m).length, 0, 'none of them reached the hub');
});

test('every request the hub saw is the one hubgate classified, with hubgate\'s credential only', async () => {
  const log = h.readLog();
  const seen = classified();
  assert.ok(log.length > 20);
  let hubEntries = 0;
  for (const e of log) {
    assert.ok(!JSON.stringify(e).includes(CLIENT_TOKEN), `client token reached the ${e.origin}: ${e.method} ${e.target}`);
    assert.ok(!JSON.stringify(e).includes(SSO_TOKEN.split('.')[2]), `SSO token reached the ${e.origin}`);
    const rid = e.headers['x-request-id'];
    assert.match(rid ?? '', /^[0-9a-f]{32}$/, `${e.method} ${e.target} carries hubgate's request id`);
    const c = seen.get(rid);
    assert.ok(c, `hubgate logged request ${rid}`);
    if (e.origin === 'hub') {
      hubEntries++;
      assert.equal(e.target, c.target, 'the target forwarded is the target classified');
      assert.equal(e.method, c.method);
      assert.notEqual(c.family, 'unknown');
      assert.equal(e.headers.authorization, `Bearer ${h.serviceToken}`, 'hubgate\'s region credential');
    } else {
      assert.equal(c.family, 'admin', 'storage is reached only through sealed egress links');
      assert.match(c.target, /^\/-\/egress\//);
      assert.equal(e.headers.authorization, undefined);
    }
  }
  assert.ok(hubEntries > 20);
});

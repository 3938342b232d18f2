// Issue 9, finding 15: anonymous request bodies were read before the refusal (an anonymous
// 1 MB bucket batch was buffered, parsed and answered 400). Now an anonymous or failed caller on
// any Hub route is refused before any body byte is read or classified: a client that asks
// `Expect: 100-continue` gets its 401 instead of a 100, and a body hubgate would have to parse
// is never looked at. git's anonymous first request still gets 401 with `WWW-Authenticate:
// Basic` (so git retries with credentials), and sealed egress links still work without
// credentials (they are capabilities).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import http from 'node:http';
import { promisify } from 'node:util';
import { startStack, auditRequestRow, teardownAll } from '../../lib/harness.mjs';
import { lfsBatch } from '../../lib/clients.mjs';

const run = promisify(execFile);

let pg, idp, h, gw, token;

before(async () => {
  ({ pg, idp, hub: h, gw } = await startStack({
    policy: { version: 1, orgs: { acme: { members: [{ group: 'acme-ml', role: 'write' }] } } },
    storage: true,
  }));
  token = await idp.token('alice');
});

after(teardownAll);

// One request on its own connection, announcing its body with `Expect: 100-continue`: the body
// is sent only if hubgate says 100 Continue, i.e. only if it means to read it.
function withContinue(path, { method = 'POST', headers = {}, body }) {
  return new Promise((resolve, reject) => {
    const u = new URL(gw.url);
    const data = Buffer.from(body);
    let continued = false;
    const req = http.request({
      host: u.hostname, port: u.port, path, method, agent: false,
      headers: { ...headers, Expect: '100-continue', 'Content-Length': data.length },
    });
    req.on('continue', () => {
      continued = true;
      req.end(data);
    });
    req.on('response', (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, continued, body: Buffer.concat(chunks).toString() }));
      if (!continued) req.destroy(); // the body was refused: it is never sent
    });
    req.on('error', (err) => (err.code === 'ECONNRESET' ? null : reject(err)));
    req.flushHeaders();
  });
}

const auditRow = (rid) => auditRequestRow(pg, rid, "decision || '|' || rule || '|' || status");

const ndjson = (n) => Array.from({ length: n }, (_, i) => JSON.stringify({ type: 'addFile', path: `f/${i}.bin`, xetHash: 'a'.repeat(64), size: 1 })).join('\n');

test('an anonymous bucket batch is refused before its body is read', async () => {
  const seen = h.readLog().length;
  const body = ndjson(8000); // about 1 MB, under the bucket batch cap (1 MiB): one hubgate would read
  assert.ok(body.length > 900000 && body.length < 1024 * 1024, `${body.length} bytes`);
  const res = await withContinue('/api/buckets/acme/data/batch', { headers: { 'Content-Type': 'application/x-ndjson' }, body });
  assert.equal(res.continued, false, 'hubgate asked for the body of an anonymous request');
  assert.equal(res.status, 401);
  assert.equal(res.headers['x-error-code'], 'RepoNotFound');
  assert.equal(await auditRow(res.headers['x-request-id']), 'deny|anonymous|401');
  assert.equal(h.readLog().length, seen, 'nothing reached the hub');
});

test('no body-borne route classifies an anonymous body: 401, not 400', async () => {
  for (const [path, type, body] of [
    ['/api/repos/create', 'application/json', '{not json'],
    ['/api/repos/move', 'application/json', '{"fromRepo": 1}'],
    ['/api/models/acme/bert/duplicate', 'application/json', '[]'],
    ['/api/collections', 'application/json', 'x'],
  ]) {
    const res = await fetch(`${gw.url}${path}`, { method: 'POST', headers: { 'Content-Type': type }, body });
    assert.equal(res.status, 401, `${path}: the body was classified before the caller was known`);
    assert.equal(res.headers.get('x-error-code'), 'RepoNotFound', path);
  }
  // with credentials the same bodies are classified as before
  const bad = await fetch(`${gw.url}/api/repos/create`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: '{not json' });
  assert.equal(bad.status, 400);
});

test('failed credentials and hubgate\'s own routes read no body either', async () => {
  const cases = [
    ['/api/repos/create', { Authorization: 'Bearer not.a.token', 'Content-Type': 'application/json' }, 401],
    ['/api/models/acme/bert/commit/main', { Authorization: 'Bearer hf_gw_unknownunknownunknownunknown', 'Content-Type': 'application/x-ndjson' }, 401],
    ['/-/tokens', { 'Content-Type': 'application/json' }, 401],
  ];
  for (const [path, headers, status] of cases) {
    const res = await withContinue(path, { headers, body: JSON.stringify({ name: 'x', scope: 'read' }) });
    assert.equal(res.continued, false, `${path}: body read`);
    assert.equal(res.status, status, path);
  }
});

test('git and git-lfs still get their Basic challenge, and git retries with credentials', async () => {
  const refs = await fetch(`${gw.url}/acme/bert.git/info/refs?service=git-upload-pack`, { headers: { 'User-Agent': 'git/2.39.5' } });
  assert.equal(refs.status, 401);
  assert.match(refs.headers.get('www-authenticate'), /^Basic /);
  const lfs = await withContinue('/acme/bert.git/info/lfs/objects/batch', {
    headers: { Accept: 'application/vnd.git-lfs+json', 'Content-Type': 'application/vnd.git-lfs+json' },
    body: JSON.stringify({ operation: 'download', transfers: ['basic'], objects: [{ oid: 'a'.repeat(64), size: 1 }] }),
  });
  assert.equal(lfs.continued, false);
  assert.equal(lfs.status, 401);
  assert.match(lfs.headers['www-authenticate'], /^Basic /);
  // git sends its first request without credentials, gets the 401, and retries with them
  const u = new URL(gw.url);
  const { stdout } = await run('git', ['ls-remote', `http://x:${token}@${u.host}/acme/bert.git`], {
    env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1', HOME: '/nonexistent' },
  });
  assert.match(stdout, /refs\/heads\/main/);
});

test('a sealed egress link is still a capability: usable without credentials', async () => {
  const auth = { Authorization: `Bearer ${token}` };
  const tree = await (await fetch(`${gw.url}/api/models/acme/bert/tree/main`, { headers: auth })).json();
  const file = tree.find((e) => e.path === 'model.safetensors');
  assert.ok(file?.lfs, 'the seed repo has an LFS file');
  const batch = await lfsBatch(gw.url, 'acme/bert', auth, { operation: 'download', transfers: ['basic'], objects: [{ oid: file.lfs.oid, size: file.lfs.size }] });
  assert.equal(batch.status, 200);
  const href = (await batch.json()).objects[0].actions.download.href;
  assert.ok(href.startsWith(`${gw.url}/-/egress/`), href);
  const bytes = await fetch(href);
  assert.equal(bytes.status, 200);
  assert.equal((await bytes.arrayBuffer()).byteLength, file.lfs.size);
});

// Issue 9, item 8: request headers reach the upstream from an allow-list only.
// Headers that would make the hub (or a proxy in front of it) act on another method or URL, or
// on an identity hubgate did not establish, never arrive; X-Forwarded-Host is public_url's host,
// never the client's Host; each drop is counted by class in the metrics. Real clients —
// @huggingface/hub downloading and uploading, git cloning and pushing — keep working, and every
// header the Hub fixture received on their behalf is an allowed one or hubgate's own.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as hub from '@huggingface/hub';
import { startStack, mintToken, makeTempDir, gitClient, gitRemote, freePort, teardownAll, httpRequest, REPO } from '../../lib/harness.mjs';

const POLICY = fs.readFileSync(path.join(REPO, 'tests', 'fixtures', 'policy', 'members.json'), 'utf8');

// What the hub may receive: the client headers Hub clients need, and hubgate's own.
const ALLOWED = new Set([
  'accept', 'accept-encoding', 'accept-language', 'cache-control', 'content-encoding', 'content-type',
  'git-protocol', 'if-match', 'if-modified-since', 'if-none-match', 'if-range', 'if-unmodified-since',
  'pragma', 'range', 'user-agent',
  'host', 'content-length', 'transfer-encoding', 'authorization', 'x-request-id', 'x-forwarded-for',
  'x-forwarded-proto', 'x-forwarded-host', 'x-hubgate-identity',
]);

// [header, value, metrics class]
const HOSTILE = [
  ['X-HTTP-Method-Override', 'DELETE', 'override'],
  ['X-Method-Override', 'DELETE', 'override'],
  ['X-HTTP-Method', 'DELETE', 'override'],
  ['X-Original-URL', '/api/repos/delete', 'override'],
  ['X-Rewrite-URL', '/api/repos/delete', 'override'],
  ['X-HF-Bill-To', 'acme', 'override'],
  ['X-Forwarded-User', 'carol', 'identity_claim'],
  ['X-Forwarded-Email', 'carol@acme.example', 'identity_claim'],
  ['X-Forwarded-Groups', 'acme-admins', 'identity_claim'],
  ['X-Forwarded-Preferred-Username', 'carol', 'identity_claim'],
  ['X-Auth-Request-Email', 'carol@acme.example', 'identity_claim'],
  ['X-Auth-Request-User', 'carol', 'identity_claim'],
  ['X-Auth-Request-Groups', 'acme-admins', 'identity_claim'],
  ['Remote-User', 'carol', 'identity_claim'],
  ['X-Remote-User', 'carol', 'identity_claim'],
  ['X-Pomerium-Jwt-Assertion', 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJjYXJvbCJ9.', 'identity_claim'],
  ['X-Pomerium-Claim-Email', 'carol@acme.example', 'identity_claim'],
  ['X-Hubgate-Identity', 'forged', 'identity_claim'],
  ['Cookie', 'session=stolen', 'credential'],
  ['Proxy-Authorization', 'Basic Y2Fyb2w6eA==', 'credential'],
  ['X-Forwarded-Host', 'evil.example', 'forwarding'],
  ['X-Forwarded-Proto', 'https', 'forwarding'],
  ['X-Forwarded-Port', '443', 'forwarding'],
  ['X-Forwarded-Prefix', '/evil', 'forwarding'],
  ['Forwarded', 'for=192.168.7.7;host=evil.example', 'forwarding'],
  ['X-Real-IP', '192.168.7.7', 'forwarding'],
  ['Via', '1.1 evil', 'forwarding'],
  ['X-Amzn-Trace-Id', 'Root=1-abc', 'forwarding'],
  ['X-Custom-Thing', '1', 'other'],
  ['Origin', 'https://evil.example', 'other'],
];

let tmp, h, gw, token, hfToken;

before(async () => {
  tmp = makeTempDir('request-headers');
  let idp;
  ({ idp, hub: h, gw } = await startStack({
    policy: POLICY,
    storage: true,
    config: { metrics_listen: `127.0.0.1:${await freePort()}` },
  }));
  token = await idp.token('alice');
  hfToken = (await mintToken(gw, token, { name: 'header tests' })).token;
});

after(teardownAll);

const received = (rid) => {
  const e = h.readLog().find((x) => x.headers['x-request-id'] === rid);
  assert.ok(e, `the hub received request ${rid}`);
  return e;
};

async function droppedByClass() {
  const res = await fetch(gw.metricsUrl);
  assert.equal(res.status, 200);
  const counts = {};
  for (const m of (await res.text()).matchAll(/^hubgate_request_headers_dropped_total\{class="([a-z_]+)"\} (\d+)$/gm)) counts[m[1]] = Number(m[2]);
  return counts;
}

test('hostile headers never reach the hub; X-Forwarded-Host is public_url\'s; drops are counted', async () => {
  const before = await droppedByClass();
  const headers = { Authorization: `Bearer ${token}`, Host: 'evil.example:8443', 'User-Agent': 'hubgate-test/1', Accept: 'application/json' };
  for (const [name, value] of HOSTILE) headers[name] = value;
  const res = await httpRequest(`${gw.url}/api/models/acme/bert`, { headers });
  assert.equal(res.status, 200, res.body);
  const got = received(res.headers['x-request-id']);
  for (const [name] of HOSTILE) {
    if (['x-forwarded-host', 'x-forwarded-proto', 'x-hubgate-identity'].includes(name.toLowerCase())) continue;
    assert.equal(got.headers[name.toLowerCase()], undefined, `${name} reached the hub`);
  }
  assert.equal(got.headers['x-forwarded-host'], new URL(gw.url).host, 'X-Forwarded-Host is public_url\'s host');
  assert.equal(got.headers['x-forwarded-proto'], 'http', 'X-Forwarded-Proto is public_url\'s scheme');
  assert.notEqual(got.headers['x-hubgate-identity'], 'forged');
  assert.equal(got.headers['x-forwarded-for'], '127.0.0.1');
  assert.equal(got.headers['user-agent'], 'hubgate-test/1');
  assert.equal(got.headers.accept, 'application/json');
  for (const name of Object.keys(got.headers)) assert.ok(ALLOWED.has(name), `${name} reached the hub`);

  const after = await droppedByClass();
  const want = {};
  for (const [, , cls] of HOSTILE) want[cls] = (want[cls] ?? 0) + 1;
  for (const [cls, n] of Object.entries(want)) assert.equal((after[cls] ?? 0) - (before[cls] ?? 0), n, `drops counted as ${cls}`);
});

test('a method override on a read stays a read at the hub', async () => {
  const res = await httpRequest(`${gw.url}/api/models/acme/bert`, {
    headers: { Authorization: `Bearer ${token}`, 'X-HTTP-Method-Override': 'DELETE', 'X-Original-URL': '/api/repos/delete' },
  });
  assert.equal(res.status, 200);
  const got = received(res.headers['x-request-id']);
  assert.equal(got.method, 'GET');
  assert.equal(got.headers['x-http-method-override'], undefined);
  assert.equal(got.headers['x-original-url'], undefined);
});

test('@huggingface/hub downloads and uploads; git clones and pushes; the hub saw allowed headers only', async () => {
  const mark = h.readLog().length;
  const opts = { hubUrl: gw.url, accessToken: hfToken };
  const blob = await hub.downloadFile({ ...opts, repo: 'acme/bert', path: 'config.json' });
  assert.equal(JSON.parse(await blob.text()).model_type, 'bert');
  const part = await blob.slice(2, 8).text();
  assert.equal(part.length, 6, 'ranged reads work');
  const lfs = await hub.downloadFile({ ...opts, repo: 'acme/bert', path: 'model.safetensors' });
  assert.ok((await lfs.arrayBuffer()).byteLength > 1024 * 1024);
  const repo = 'acme/headers-upload';
  await hub.createRepo({ ...opts, repo });
  await hub.uploadFile({ ...opts, repo, file: { path: 'small.txt', content: new Blob(['small\n']) } });
  await hub.uploadFile({ ...opts, repo, file: { path: 'big.bin', content: new Blob([new Uint8Array(2 * 1024 * 1024).fill(7)]) } });
  assert.equal(await (await hub.downloadFile({ ...opts, repo, path: 'small.txt' })).text(), 'small\n');

  const git = gitClient(path.join(tmp, 'git-home'));
  const dir = path.join(tmp, 'clone');
  await git(['-c', 'protocol.version=2', 'clone', '--quiet', gitRemote(gw.url, 'acme/bert', hfToken), dir], tmp);
  assert.equal(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).model_type, 'bert');
  fs.writeFileSync(path.join(dir, 'headers.txt'), 'pushed\n');
  await git(['checkout', '--quiet', '-b', 'headers'], dir);
  await git(['add', 'headers.txt'], dir);
  await git(['commit', '--quiet', '-m', 'through the allow-list'], dir);
  await git(['push', '--quiet', 'origin', 'headers'], dir);

  const seen = h.readLog().slice(mark);
  const refs = seen.find((e) => e.origin === 'hub' && e.path.endsWith('/info/refs'));
  assert.equal(refs.headers['git-protocol'], 'version=2', 'git\'s protocol header is forwarded');
  assert.ok(seen.some((e) => e.origin === 'hub' && e.headers.range), 'Range is forwarded');
  for (const e of seen) {
    for (const name of Object.keys(e.headers)) {
      assert.ok(ALLOWED.has(name), `${e.origin} ${e.method} ${e.path} received ${name}`);
    }
  }
});

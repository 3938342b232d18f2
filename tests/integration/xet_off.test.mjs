// Xet storage turned off (`xet: "off"`; docs/xet-storage.md): in front of a Hub
// that stores files in Xet and offers Xet to every client, @huggingface/hub through hubgate
// downloads and uploads over plain HTTP and LFS, never sees a Xet header, link or hash, and is
// refused, with the reason, what only Xet can do (token routes, bucket uploads).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as hub from '@huggingface/hub';
import { startStack, mintToken, teardownAll, REPO } from '../lib/harness.mjs';

const POLICY = fs.readFileSync(path.join(REPO, 'tests', 'fixtures', 'policy', 'members.json'), 'utf8');
const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest('hex');

let h, gw, alice;
const MODEL = 'acme/xet-off';
const XET_FILE = crypto.randomBytes(1024 * 1024 + 3); // stored in Xet by the hub's own client
const direct = () => ({ hubUrl: h.url, accessToken: h.serviceToken });
const through = () => ({ hubUrl: gw.url, accessToken: alice });

before(async () => {
  let idp;
  ({ idp, hub: h, gw } = await startStack({ hub: { xet: true }, policy: POLICY, storage: true, config: { xet: 'off' } }));
  alice = (await mintToken(gw, await idp.token('alice'), { name: 'xet-off' })).token;
  // The repo and its Xet file, written straight to the hub (as another Hub client would).
  await hub.createRepo({ ...direct(), repo: MODEL });
  await hub.uploadFiles({ ...direct(), repo: MODEL, useXet: true, files: [{ path: 'w.bin', content: new Blob([XET_FILE]) }] });
  const info = await hub.fileDownloadInfo({ ...direct(), repo: MODEL, path: 'w.bin' });
  assert.ok(info.xet, 'the hub holds w.bin in Xet storage');
});

after(teardownAll);

const mark = () => h.readLog().length;
const since = (m) => h.readLog().slice(m);
const noXetHeaders = (res, what) => {
  for (const [k, v] of res.headers) {
    assert.ok(!/^x-xet-/i.test(k), `${what}: header ${k} reached the client`);
    if (k === 'link') assert.doesNotMatch(v, /xet-/, `${what}: a Xet link reached the client`);
  }
};

test('downloads of a Xet file go over plain HTTP, with no Xet hint on the way', async () => {
  const m = mark();
  const info = await hub.fileDownloadInfo({ ...through(), repo: MODEL, path: 'w.bin' });
  assert.equal(info.xet, undefined, 'no Xet information reaches the client');
  const blob = await hub.downloadFile({ ...through(), repo: MODEL, path: 'w.bin' });
  assert.equal(sha256(Buffer.from(await blob.arrayBuffer())), sha256(XET_FILE));
  const log = since(m);
  assert.equal(log.filter((e) => e.origin === 'cas').length, 0, 'nothing reached the CAS');
  for (const e of log.filter((x) => x.origin === 'hub')) {
    assert.doesNotMatch(String(e.headers.accept || ''), /xet-fileinfo/, `${e.target}: the Xet Accept item reached the hub`);
  }

  // what the client sees of resolve, HEAD and GET, and with the Xet Accept it is sent anyway
  for (const [method, headers] of [['HEAD', {}], ['GET', { Accept: 'application/vnd.xet-fileinfo+json, */*', Range: 'bytes=0-0' }]]) {
    const res = await fetch(`${gw.url}/${MODEL}/resolve/main/w.bin`, {
      method, redirect: 'manual', headers: { Authorization: `Bearer ${alice}`, ...headers },
    });
    assert.equal(res.status, 302, method);
    assert.doesNotMatch(res.headers.get('content-type') || '', /xet/);
    assert.ok(res.headers.get('location').startsWith(`${gw.url}/-/egress/`), 'the bridge URL is a sealed link');
    noXetHeaders(res, `${method} resolve`);
  }
});

test('tree and paths-info lose their xetHash', async () => {
  const tree = await fetch(`${gw.url}/api/models/${MODEL}/tree/main`, { headers: { Authorization: `Bearer ${alice}` } });
  assert.equal(tree.status, 200);
  const entries = await tree.json();
  const w = entries.find((e) => e.path === 'w.bin');
  assert.ok(w && w.lfs, 'the entry and its LFS data stay');
  assert.equal(w.xetHash, undefined);
  noXetHeaders(tree, 'tree');
  const pi = await fetch(`${gw.url}/api/models/${MODEL}/paths-info/main`, {
    method: 'POST', headers: { Authorization: `Bearer ${alice}`, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: 'paths=w.bin&expand=true',
  });
  assert.equal(pi.status, 200);
  const infos = await pi.json();
  assert.equal(infos.length, 1);
  assert.equal(infos[0].xetHash, undefined);
  // the hub did send them: hubgate removed them
  const raw = await (await fetch(`${h.url}/api/models/${MODEL}/tree/main`, { headers: { Authorization: `Bearer ${h.serviceToken}` } })).json();
  assert.match(raw.find((e) => e.path === 'w.bin').xetHash, /^[0-9a-f]{64}$/);
});

test('uploads with useXet fall back to LFS; Xet-only routes are refused with the reason', async () => {
  const up = crypto.randomBytes(300 * 1024);
  const m = mark();
  await hub.uploadFiles({ ...through(), repo: MODEL, useXet: true, files: [{ path: 'up.bin', content: new Blob([up]) }] });
  const log = since(m);
  assert.equal(log.filter((e) => e.origin === 'cas').length, 0, 'nothing reached the CAS');
  assert.ok(log.some((e) => e.origin === 'storage' && e.method === 'PUT'), 'the file went up over LFS');
  const batch = log.find((e) => e.origin === 'hub' && /info\/lfs\/objects\/batch$/.test(e.path));
  assert.ok(batch, 'the LFS batch reached the hub');
  const blob = await hub.downloadFile({ ...through(), repo: MODEL, path: 'up.bin' });
  assert.equal(sha256(Buffer.from(await blob.arrayBuffer())), sha256(up));

  const m2 = mark();
  for (const url of [`/api/models/${MODEL}/xet-read-token/main`, `/api/models/${MODEL}/xet-write-token/main`,
    '/api/buckets/acme/b1/xet-write-token']) {
    const res = await fetch(gw.url + url, { headers: { Authorization: `Bearer ${alice}` } });
    assert.equal(res.status, 403, url);
    assert.match(res.headers.get('x-error-message') || (await res.text()), /Xet storage is disabled/);
  }
  await hub.createRepo({ ...through(), repo: { type: 'bucket', name: 'acme/b1' } });
  await assert.rejects(
    hub.uploadFiles({ ...through(), repo: { type: 'bucket', name: 'acme/b1' }, files: [{ path: 'x.bin', content: new Blob([up]) }] }),
    /Xet storage|buckets store files only in Xet/,
  );
  const cas = await fetch(`${gw.url}/-/xet/cas/v2/reconstructions/${'ab'.repeat(32)}`);
  assert.equal(cas.status, 404);
  assert.deepEqual(since(m2).filter((e) => e.origin !== 'hub' || !/\/api\/buckets/.test(e.path)), [],
    'only the bucket creation reached the hub');
});

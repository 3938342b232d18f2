// Xet storage carried through hubgate (`xet: "proxy"`, docs/xet-storage.md): @huggingface/hub uploads
// with Xet to a git repo and to a bucket and downloads through XetBlob, with hubgate between
// the client and both the Hub fixture and its CAS. The fixture's log proves that every request
// it got came through hubgate, that the CAS only ever saw the fixture's own Xet token (never the
// client's hubgate token, never hubgate's service token, never hubgate's Xet token), and that
// transfer hosts got no credential at all.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as hub from '@huggingface/hub';
import { startStack, mintToken, teardownAll, makeTempDir, runHubgate, REPO } from '../lib/harness.mjs';
import { randomHash, xorbOf, shardOf } from '../lib/xet.mjs';

const POLICY = fs.readFileSync(path.join(REPO, 'tests', 'fixtures', 'policy', 'members.json'), 'utf8');
const FILEINFO = 'application/vnd.xet-fileinfo+json';
const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest('hex');

let h, gw, idp, pg, work;
const t0 = new Date(Date.now() - 1000).toISOString();
let alice, bob; // hubgate tokens: alice administers acme, bob only reads it
const MODEL = 'acme/xet-model';
const RND = crypto.randomBytes(2 * 1024 * 1024 + 777);
const TXT = Buffer.from(Array.from({ length: 40000 }, (_, i) => `line ${i} of a compressible file\n`).join(''));

before(async () => {
  let gateway;
  ({ idp, pg, hub: h, gateway } = await startStack({ hub: { xet: true }, gateway: false }));
  work = makeTempDir('xet-proxy');
  gw = await gateway({
    policy: POLICY,
    // xet: "proxy" is the default
    // The region's storage: the fixture's LFS storage and transfer host, and its CAS.
    region: { storage: [h.storageUrl, h.casUrl] },
  });
  alice = (await mintToken(gw, await idp.token('alice'), { name: 'xet', scope: 'write' })).token;
  bob = (await mintToken(gw, await idp.token('bob'), { name: 'xet-read', scope: 'read' })).token;
  await hub.createRepo({ hubUrl: gw.url, accessToken: alice, repo: MODEL });
});

after(teardownAll);

const mark = () => h.readLog().length;
const since = (m) => h.readLog().slice(m);
const as = (token) => ({ hubUrl: gw.url, accessToken: token });
const bearer = (token) => ({ Authorization: `Bearer ${token}` });

// Every request the fixture got since m came through hubgate (it sends X-Request-Id on each),
// and none carried a credential a client holds.
function assertAllThroughHubgate(entries, clientTokens) {
  assert.ok(entries.length > 0);
  for (const e of entries) {
    assert.match(String(e.headers['x-request-id'] || ''), /^[0-9a-f]{32}$/, `${e.origin} ${e.method} ${e.target} came through hubgate`);
    const a = String(e.headers.authorization || '');
    for (const t of clientTokens) assert.ok(!a.includes(t), `${e.origin} ${e.target}: a client credential reached the fixture`);
    assert.ok(!a.includes('hgx_'), `${e.origin} ${e.target}: hubgate's own Xet token reached the fixture`);
  }
}

function assertCasSawOnlyFixtureTokens(entries, scope) {
  const cas = entries.filter((e) => e.origin === 'cas');
  assert.ok(cas.length > 0, 'the CAS was called');
  for (const e of cas) {
    assert.match(e.auth, scope === 'write' ? /^xet-write$/ : /^xet-(read|write)$/, `${e.method} ${e.target}: ${e.auth}`);
  }
  for (const e of entries.filter((x) => x.origin === 'storage')) assert.equal(e.auth, 'none', `${e.target} carried a credential`);
  return cas;
}

test('the token route: hubgate grants its own token for its own CAS, after the policy', async () => {
  const res = await fetch(`${gw.url}/api/models/${MODEL}/xet-read-token/main`, { headers: bearer(alice) });
  assert.equal(res.status, 200, await res.clone().text());
  const body = await res.json();
  assert.equal(body.casUrl, `${gw.url}/-/xet/cas`);
  assert.match(body.accessToken, /^hgx_[A-Za-z0-9_-]+$/);
  const now = Math.floor(Date.now() / 1000);
  assert.ok(body.exp > now + 300 && body.exp <= now + 900, `exp ${body.exp - now} s ahead`);
  assert.equal(res.headers.get('x-xet-cas-url'), body.casUrl);
  assert.equal(res.headers.get('x-xet-access-token'), body.accessToken);
  assert.equal(res.headers.get('x-xet-token-expiration'), String(body.exp));

  // bob reads acme but may not write: no write token, and nothing reaches the hub or the CAS
  const m = mark();
  const denied = await fetch(`${gw.url}/api/models/${MODEL}/xet-write-token/main`, { headers: bearer(bob) });
  assert.equal(denied.status, 403);
  assert.equal(since(m).length, 0, 'a refused grant reaches nobody');
});

test('CAS calls: only hubgate Xet tokens, with their scope; deduplication reveals nothing', async () => {
  const read = await (await fetch(`${gw.url}/api/models/${MODEL}/xet-read-token/main`, { headers: bearer(bob) })).json();
  const cas = read.casUrl;
  const xorb = `${cas}/v1/xorbs/default/${'ab'.repeat(32)}`;
  const m = mark();
  // a Hub token, no token, a forged one: 401
  for (const headers of [bearer(alice), {}, bearer(`hgx_${'A'.repeat(200)}`)]) {
    const r = await fetch(`${cas}/v2/reconstructions/${'cd'.repeat(32)}`, { headers });
    assert.equal(r.status, 401);
  }
  // a read token cannot upload
  const up = await fetch(xorb, { method: 'POST', headers: bearer(read.accessToken), body: Buffer.alloc(16) });
  assert.equal(up.status, 403);
  // deduplication and the v2 shard upload are answered by hubgate, 404
  const dedup = await fetch(`${cas}/v1/chunks/default/${'ef'.repeat(32)}`, { headers: bearer(read.accessToken) });
  assert.equal(dedup.status, 404);
  // a hubgate Xet token is no egress link, and an egress link no Xet token
  const asLink = await fetch(`${gw.url}/-/egress/${read.accessToken.slice(4)}`);
  assert.equal(asLink.status, 404);
  // telemetry, at the root of the CAS URL's host, is accepted and dropped
  const tel = await fetch(`${gw.url}/v1/telemetry`, { method: 'POST', body: '{}', headers: { 'Content-Type': 'application/json' } });
  assert.equal(tel.status, 200);
  assert.deepEqual(since(m), [], 'none of these reached the fixture');
});

test('@huggingface/hub: Xet upload to a git repo and XetBlob download, bytes identical', async () => {
  let m = mark();
  await hub.uploadFiles({
    ...as(alice), repo: MODEL, useXet: true,
    files: [{ path: 'rnd.bin', content: new Blob([RND]) }, { path: 'text.bin', content: new Blob([TXT]) }],
  });
  let log = since(m);
  assertAllThroughHubgate(log, [alice]);
  const cas = assertCasSawOnlyFixtureTokens(log, 'write');
  assert.ok(cas.some((e) => e.method === 'POST' && e.path.startsWith('/v1/xorbs/default/')), 'xorbs uploaded');
  assert.ok(cas.some((e) => e.method === 'POST' && e.path === '/v1/shards'), 'a shard uploaded');
  assert.ok(!log.some((e) => e.origin === 'storage' && e.method === 'PUT'), 'nothing went up over LFS');

  // the listing keeps the Xet hashes, which clients use with the read token
  const files = [];
  for await (const f of hub.listFiles({ ...as(bob), repo: MODEL })) files.push(f);
  const rnd = files.find((f) => f.path === 'rnd.bin');
  assert.match(rnd?.xetHash || '', /^[0-9a-f]{64}$/);

  for (const [p, want] of [['rnd.bin', RND], ['text.bin', TXT]]) {
    m = mark();
    const blob = await hub.downloadFile({ ...as(bob), repo: MODEL, path: p });
    const got = Buffer.from(await blob.arrayBuffer());
    assert.equal(got.length, want.length, p);
    assert.equal(sha256(got), sha256(want), `${p}: bytes identical`);
    log = since(m);
    assertAllThroughHubgate(log, [bob, alice]);
    assertCasSawOnlyFixtureTokens(log, 'read');
    assert.ok(log.some((e) => e.origin === 'cas' && /^\/v[12]\/reconstructions\//.test(e.path)), `${p}: reconstructed`);
    assert.ok(log.some((e) => e.origin === 'storage' && e.headers.range), `${p}: ranges fetched from the transfer host`);
  }
  // a slice is exact
  const blob = await hub.downloadFile({ ...as(bob), repo: MODEL, path: 'rnd.bin' });
  assert.deepEqual(Buffer.from(await blob.slice(1000, 250000).arrayBuffer()), RND.subarray(1000, 250000));
});

test('transfers: several ranges come back as the storage sent them, multipart and all', async () => {
  const info = await (await fetch(`${gw.url}/api/models/${MODEL}/paths-info/main`, {
    method: 'POST', headers: { ...bearer(bob), 'Content-Type': 'application/json' }, body: JSON.stringify({ paths: ['rnd.bin'] }),
  })).json();
  const file = info[0].xetHash;
  const plan = async (casUrl, token) => (await (await fetch(`${casUrl}/v2/reconstructions/${file}`, { headers: bearer(token) })).json());
  const ours = await (await fetch(`${gw.url}/api/models/${MODEL}/xet-read-token/main`, { headers: bearer(bob) })).json();
  const theirs = await (await fetch(`${h.url}/api/models/${MODEL}/xet-read-token/main`, { headers: bearer(h.serviceToken) })).json();
  const [a, b] = [await plan(ours.casUrl, ours.accessToken), await plan(theirs.casUrl, theirs.accessToken)];
  assert.deepEqual(a.terms, b.terms, 'the same plan');
  const xorb = a.terms[0].hash;
  const range = 'bytes=0-99,1000-1099';
  const viaHubgate = await fetch(a.xorbs[xorb][0].url, { headers: { Range: range } });
  const direct = await fetch(b.xorbs[xorb][0].url, { headers: { Range: range } });
  assert.equal(viaHubgate.status, 206);
  assert.equal(direct.status, 206);
  const ct = viaHubgate.headers.get('content-type');
  assert.match(ct, /^multipart\/byteranges; boundary=/);
  const strip = (buf, type) => buf.toString('latin1').split(type.split('boundary=')[1]).join('BOUNDARY');
  assert.equal(strip(Buffer.from(await viaHubgate.arrayBuffer()), ct), strip(Buffer.from(await direct.arrayBuffer()), direct.headers.get('content-type')),
    'byte for byte, the boundary aside');
});

test('file information through hubgate: every URL points at hubgate', async () => {
  const res = await fetch(`${gw.url}/${MODEL}/resolve/main/rnd.bin`, {
    headers: { ...bearer(bob), Accept: `${FILEINFO}, */*`, Range: 'bytes=0-0' },
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /vnd\.xet-fileinfo\+json/);
  const link = res.headers.get('link');
  for (const m of link.matchAll(/<([^>]+)>/g)) assert.ok(m[1].startsWith(gw.url), `Link ${m[1]} points at hubgate`);
  assert.match(link, /\/-\/xet\/cas\/v[12]\/reconstructions\/[0-9a-f]{64}>; rel="xet-reconstruction-info"/);
  const body = await res.json();
  for (const k of ['refreshUrl', 'reconstructionUrl']) {
    if (body[k]) assert.ok(body[k].startsWith(gw.url), `${k} ${body[k]} points at hubgate`);
  }
  for (const [k, v] of res.headers) assert.ok(!String(v).includes(h.casUrl) && !String(v).includes(h.url), `${k}: ${v}`);
});

test('@huggingface/hub: a bucket, uploaded and read back through Xet', async () => {
  const bucket = 'acme/xet-bucket';
  await hub.createRepo({ ...as(alice), repo: { type: 'bucket', name: bucket } });
  const m = mark();
  await hub.uploadFiles({ ...as(alice), repo: { type: 'bucket', name: bucket }, files: [{ path: 'a/rnd.bin', content: new Blob([RND]) }] });
  const blob = await hub.downloadFile({ ...as(bob), repo: { type: 'bucket', name: bucket }, path: 'a/rnd.bin' });
  assert.equal(sha256(Buffer.from(await blob.arrayBuffer())), sha256(RND));
  const log = since(m);
  assertAllThroughHubgate(log, [alice, bob]);
  assertCasSawOnlyFixtureTokens(log, 'read');
});

// huggingface_hub ≥ 1.20 with hf_xet cannot be installed here (no PyPI): its HTTP sequence,
// replayed. upload_file: preupload, then straight to the write token (no LFS batch), the xorb
// and the shard to the token's CAS (v2 shards first, v1 after a 404), then the commit naming the
// file by sha256. hf_hub_download from a cached tree (≥ 1.22): no HEAD, the read token for the
// commit, the v2 reconstruction of the tree's xetHash, the transfer URLs with Range.
test('huggingface_hub ≥ 1.20 replayed: upload_file through Xet, then a tree-cached hf_hub_download', async () => {
  const ua = { 'User-Agent': 'huggingface_hub/1.28.0; python/3.12; hf_xet/1.6.0' };
  const hubH = { ...bearer(alice), ...ua };
  const chunks = [crypto.randomBytes(40000), crypto.randomBytes(25000)];
  const content = Buffer.concat(chunks);
  const m = mark();

  const pre = await fetch(`${gw.url}/api/models/${MODEL}/preupload/main`, {
    method: 'POST', headers: { ...hubH, 'Content-Type': 'application/json' },
    body: JSON.stringify({ files: [{ path: 'py.bin', size: content.length, sample: content.subarray(0, 512).toString('base64') }] }),
  });
  assert.equal(pre.status, 200, await pre.clone().text());
  assert.equal((await pre.json()).files[0].uploadMode, 'lfs');
  const tok = await fetch(`${gw.url}/api/models/${MODEL}/xet-write-token/main`, { headers: hubH });
  assert.equal(tok.status, 200);
  const { accessToken, casUrl } = await tok.json();
  // hf_xet: the Hub's header set without Authorization, its own session id, the Xet token
  const casH = { ...ua, 'X-Xet-Session-Id': crypto.randomUUID(), Authorization: `Bearer ${accessToken}` };
  const xorbHash = randomHash();
  const fileHash = randomHash();
  const xorb = xorbOf(chunks);
  const px = await fetch(`${casUrl}/v1/xorbs/default/${xorbHash}`, { method: 'POST', headers: { ...casH, 'Content-Length': String(xorb.length) }, body: xorb });
  assert.equal(px.status, 200, await px.clone().text());
  assert.deepEqual(await px.json(), { was_inserted: true });
  // the CAS knows it now and says so; hubgate never tells (it could be another repo's)
  const again = await fetch(`${casUrl}/v1/xorbs/default/${xorbHash}`, { method: 'POST', headers: casH, body: xorb });
  assert.deepEqual(await again.json(), { was_inserted: true });
  const shard = shardOf({ fileHash, xorbHash, chunks, xorbLen: xorb.length });
  const v2 = await fetch(`${casUrl}/v2/shards`, { method: 'POST', headers: casH, body: shard });
  assert.equal(v2.status, 404, 'v2 shards answered 404 by hubgate: the client falls back to v1');
  const v1 = await fetch(`${casUrl}/v1/shards`, { method: 'POST', headers: casH, body: shard });
  assert.equal(v1.status, 200, await v1.clone().text());
  const commit = await fetch(`${gw.url}/api/models/${MODEL}/commit/main`, {
    method: 'POST', headers: { ...hubH, 'Content-Type': 'application/x-ndjson' },
    body: [{ key: 'header', value: { summary: 'Upload py.bin with huggingface_hub' } },
      { key: 'lfsFile', value: { path: 'py.bin', algo: 'sha256', oid: sha256(content), size: content.length } }]
      .map((x) => JSON.stringify(x)).join('\n'),
  });
  assert.equal(commit.status, 200, await commit.clone().text());
  const commitOid = (await commit.json()).commitOid;
  assert.match(commitOid, /^[0-9a-f]{40}$/);

  // snapshot_download's listing, cached on disk by the client; then the file from it
  const tree = await (await fetch(`${gw.url}/api/models/${MODEL}/tree/${commitOid}?recursive=true&expand=false`, { headers: hubH })).json();
  const entry = tree.find((e) => e.path === 'py.bin');
  assert.equal(entry.xetHash, fileHash);
  const rt = await (await fetch(`${gw.url}/api/models/${MODEL}/xet-read-token/${commitOid}`, { headers: hubH })).json();
  const recon = await fetch(`${rt.casUrl}/v2/reconstructions/${entry.xetHash}`, { headers: { ...ua, Authorization: `Bearer ${rt.accessToken}` } });
  assert.equal(recon.status, 200, await recon.clone().text());
  const plan = await recon.json();
  const parts = [];
  for (const term of plan.terms) {
    const fetchInfo = plan.xorbs[term.hash].find((f) => f.ranges.some((r) => r.chunks.start <= term.range.start && r.chunks.end >= term.range.end));
    assert.ok(fetchInfo.url.startsWith(`${gw.url}/-/egress/`), 'the transfer URL is a sealed hubgate link');
    const r = fetchInfo.ranges[0];
    const res = await fetch(fetchInfo.url, { headers: { Range: `bytes=${r.bytes.start}-${r.bytes.end}` } });
    assert.equal(res.status, 206);
    // raw records: an 8-byte header, then the chunk
    let buf = Buffer.from(await res.arrayBuffer());
    while (buf.length >= 8) {
      const clen = buf[1] | (buf[2] << 8) | (buf[3] << 16);
      parts.push(buf.subarray(8, 8 + clen));
      buf = buf.subarray(8 + clen);
    }
  }
  assert.equal(sha256(Buffer.concat(parts)), sha256(content), 'the bytes the Python client would assemble');

  const log = since(m);
  assertAllThroughHubgate(log, [alice]);
  const cas = log.filter((e) => e.origin === 'cas');
  assert.deepEqual(cas.map((e) => `${e.method} ${e.path} ${e.auth}`), [
    `POST /v1/xorbs/default/${xorbHash} xet-write`, `POST /v1/xorbs/default/${xorbHash} xet-write`, 'POST /v1/shards xet-write', `GET /v2/reconstructions/${fileHash} xet-read`]);
  assert.ok(!log.some((e) => /info\/lfs\/objects\/batch$/.test(e.path)), 'no LFS batch: Python goes to Xet directly');

  // The audit log: the shard's files (hash, size, sha256 — the commit's lfsFile oid), the
  // xorb, the reconstruction, each under its caller and repo.
  const events = (where) => pg.psql(`select canonical from audit_event where kind = 'request' and ${where}`)
    .split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const [shardEv] = events(`canonical like '%/-/xet/cas/v1/shards%' and canonical like '%${fileHash}%'`);
  assert.deepEqual(shardEv.details.xet_files, [`${fileHash} ${content.length} ${sha256(content)}`]);
  assert.equal(shardEv.details.xet_files_total, 1);
  assert.equal(shardEv.request.repo, MODEL);
  assert.equal(shardEv.request.action, 'write');
  assert.equal(shardEv.actor.sub, 'alice');
  const xorbEvs = events(`canonical like '%/-/xet/cas/v1/xorbs/default/${xorbHash}%'`);
  assert.equal(xorbEvs.length, 2);
  assert.equal(xorbEvs[0].details.xet_object, xorbHash);
  const [reconEv] = events(`canonical like '%/-/xet/cas/v2/reconstructions/${fileHash}%'`);
  assert.equal(reconEv.details.xet_object, fileHash);
  assert.equal(reconEv.request.action, 'read');
  assert.equal(reconEv.request.repo, MODEL);
  const ranged = events(`canonical like '%"xet_range":"bytes=%'`);
  assert.ok(ranged.length > 0, 'XetBlob slices name their range');
});

test('the evidence report counts Xet bytes under the people who moved them', async () => {
  await new Promise((r) => setTimeout(r, 300)); // completions are written after the answers
  const out = path.join(work, 'soc2');
  const to = new Date(Date.now() + 1000).toISOString();
  const r = await runHubgate(['report', 'soc2', '--database', pg.url, '--from', t0, '--to', to, '--out', out]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const report = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
  const who = (name) => report.by_actor.find((a) => String(a.actor).startsWith(name));
  // bob read rnd.bin whole twice (repo and bucket): its raw chunks came through sealed links
  assert.ok(who('bob').bytes_out >= 2 * RND.length, `bob's bytes out ${who('bob').bytes_out}`);
  // alice's xorbs went up through hubgate's CAS (random bytes: stored as they are)
  assert.ok(who('alice').bytes_in >= 2 * RND.length, `alice's bytes in ${who('alice').bytes_in}`);

  // and by file: each transfer's completion names the file its link was made for
  const info = await (await fetch(`${gw.url}/api/models/${MODEL}/paths-info/main`, {
    method: 'POST', headers: { ...bearer(bob), 'Content-Type': 'application/json' }, body: JSON.stringify({ paths: ['rnd.bin'] }),
  })).json();
  const rows = pg.psql(`select canonical from audit_event where kind = 'completion' and canonical like '%"path":"/-/egress"%' and canonical like '%${info[0].xetHash}%'`)
    .split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const bobs = rows.filter((e) => e.actor?.sub === 'bob' && e.details.xet_object === info[0].xetHash);
  assert.ok(bobs.reduce((n, e) => n + e.response.bytes_out, 0) >= RND.length, 'rnd.bin bytes counted under its file');
});

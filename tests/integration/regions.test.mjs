// Storage regions end to end (docs/policy.md, "Data residency"): two Hub fixtures, `eu` and
// `us`, each logging every request it receives, behind one hubgate; acme lives in eu, globex in
// us, and initech in both (its us-* repos in us, the rest in eu, by `repo_regions`). Real
// clients read and write every org's repos through hubgate, and neither fixture ever hears of
// the other region's repos; creates, moves and duplicates that would carry data across regions
// are refused and audited; an answer pointing at another region's storage is refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import * as hub from '@huggingface/hub';
import { startStack, mintToken, makeTempDir, gitClient, gitRemote, teardownAll, runHubgate } from '../lib/harness.mjs';
import { startHub } from '../fixtures/hub/launch.mjs';

const POLICY = JSON.stringify({
  version: 1,
  orgs: {
    acme: { regions: ['eu'], members: [{ group: 'acme-ml', role: 'admin' }] },
    globex: { regions: ['us'], members: [{ group: 'acme-ml', role: 'admin' }] },
    initech: {
      regions: ['eu', 'us'],
      repo_regions: [{ repos: ['*/initech/us-*'], region: 'us' }],
      members: [{ group: 'acme-ml', role: 'admin' }],
    },
    umbrella: { regions: ['west'], members: [{ group: 'acme-ml', role: 'admin' }] },
  },
});

let eu, us, west, gw, pg, token, tmp;
const t0 = new Date(Date.now() - 1000).toISOString();
// One file per repo: a hub keeps one copy of an LFS object, and a second upload of it sends nothing.
const EU1 = crypto.randomBytes(3 * 1024 * 1024 + 11), EU2 = crypto.randomBytes(2 * 1024 * 1024 + 7);
const US1 = crypto.randomBytes(5 * 1024 * 1024 + 13), US2 = crypto.randomBytes(4 * 1024 * 1024 + 5);
const sha256 = (b) => crypto.createHash('sha256').update(b).digest('hex');
const as = () => ({ hubUrl: gw.url, accessToken: token });

before(async () => {
  tmp = makeTempDir('regions');
  let idp, gateway;
  ({ idp, pg, hub: eu, gateway } = await startStack({ gateway: false }));
  us = await startHub({});
  // A region whose hub points its downloads at another region's storage (us): a
  // misconfigured or compromised upstream. It answers every resolve with that redirect, holds
  // no models (an empty model listing) and fails dataset listings.
  west = http.createServer((req, res) => {
    const p = new URL(req.url, 'http://x').pathname;
    if (p === '/api/models') return res.writeHead(200, { 'Content-Type': 'application/json' }).end('[]');
    if (p === '/api/datasets') return res.writeHead(500, { 'Content-Type': 'application/json' }).end('{"error":"down"}');
    res.writeHead(302, { Location: `${us.storageUrl}/lfs/${'0'.repeat(64)}?sig=x`, 'Content-Length': '0' });
    res.end();
  });
  await new Promise((r) => west.listen(0, '127.0.0.1', r));
  const westUrl = `http://127.0.0.1:${west.address().port}`;
  gw = await gateway({
    policy: POLICY,
    config: {
      regions: {
        eu: { upstream: eu.url, token_file: 'eu.token', storage: [eu.storageUrl] },
        us: { upstream: us.url, token_file: 'us.token', storage: [us.storageUrl] },
        west: { upstream: westUrl, token_file: 'eu.token', storage: [eu.storageUrl] },
      },
      default_region: 'us',
    },
    files: { 'eu.token': `${eu.serviceToken}\n`, 'us.token': `${us.serviceToken}\n` },
  });
  token = (await mintToken(gw, await idp.token('alice'), { name: 'regions' })).token;
});

after(async () => {
  if (us) await us.stop();
  if (west) west.close();
  await teardownAll();
});

// Requests a fixture got through hubgate (it sends X-Request-Id; the test's own checks straight
// to a fixture do not) that name namespace ns: a repo of it in the path, or it in the query
// (an owner's listing, ?author=ns).
const mentions = (fixture, ns) => fixture.readLog().filter((e) => e.headers['x-request-id'] &&
  new RegExp(`(^|/|%2F|=)${ns}(/|%2F|&|$)`, 'i').test(e.target));

test('each org is read and written in its own region, by real clients', async () => {
  for (const [repo, file] of [['acme/r-eu', EU1], ['globex/r-us', US1], ['initech/us-m', US2], ['initech/m', EU2]]) {
    await hub.createRepo({ ...as(), repo });
    await hub.uploadFiles({ ...as(), repo, files: [{ path: 'w.bin', content: new Blob([file]) }, { path: 'README.md', content: new Blob([`# ${repo}\n`]) }] });
    const blob = await hub.downloadFile({ ...as(), repo, path: 'w.bin' });
    assert.equal(sha256(Buffer.from(await blob.arrayBuffer())), sha256(file), `${repo}: bytes identical`);
  }
  // git and git-lfs, both regions
  const git = gitClient(path.join(tmp, 'git-home'));
  for (const repo of ['acme/r-eu', 'globex/r-us']) {
    const dir = path.join(tmp, repo.replace('/', '-'));
    await git(['clone', '--quiet', gitRemote(gw.url, repo, token), dir], tmp, { GIT_LFS_SKIP_SMUDGE: '1' });
    await git(['lfs', 'pull'], dir);
    assert.ok((await git(['lfs', 'ls-files'], dir)).stdout.includes('w.bin'), `${repo}: w.bin is an LFS file`);
  }
  // where each repo was created: the hub of its region only (a create without a region got the
  // region hubgate routes the repo to)
  const exists = async (fixture, repo) => (await fetch(`${fixture.url}/api/models/${repo}`, { headers: { Authorization: `Bearer ${fixture.serviceToken}` } })).status;
  assert.equal(await exists(eu, 'acme/r-eu'), 200);
  assert.equal(await exists(us, 'acme/r-eu'), 404);
  assert.equal(await exists(us, 'globex/r-us'), 200);
  assert.equal(await exists(eu, 'globex/r-us'), 404);
  assert.equal(await exists(us, 'initech/us-m'), 200);
  assert.equal(await exists(eu, 'initech/us-m'), 404);
  assert.equal(await exists(eu, 'initech/m'), 200);
  assert.equal(await exists(us, 'initech/m'), 404);

  // an org's listing goes to its region's hub
  for (const [owner, repo] of [['acme', 'acme/r-eu'], ['globex', 'globex/r-us']]) {
    const names = [];
    for await (const m of hub.listModels({ ...as(), search: { owner } })) names.push(m.name);
    assert.ok(names.includes(repo), `${owner}'s listing: ${names}`);
  }

  assert.deepEqual(mentions(us, 'acme').map((e) => e.target), [], 'the us hub never heard of an acme repo');
  assert.deepEqual(mentions(eu, 'globex').map((e) => e.target), [], 'the eu hub never heard of a globex repo');
  assert.deepEqual(mentions(us, 'initech').filter((e) => !/initech(\/|%2F)us-/.test(e.target)).map((e) => e.target), []);
  assert.deepEqual(mentions(eu, 'initech').filter((e) => /initech(\/|%2F)us-/.test(e.target)).map((e) => e.target), []);
});

test('a listing naming no owner, or an org in two regions, is asked of each region and joined', async () => {
  const euBefore = eu.readLog().length, usBefore = us.readLog().length;
  // @huggingface/hub lists every model, from both hubs (and west's empty page)
  const all = [];
  for await (const m of hub.listModels({ ...as() })) all.push(m.name);
  for (const repo of ['acme/r-eu', 'globex/r-us', 'initech/us-m', 'initech/m'])
    assert.ok(all.includes(repo), `${repo} in the listing across regions: ${all}`);
  assert.equal(new Set(all).size, all.length, 'each repo once');
  const asked = (fixture, before) => fixture.readLog().slice(before)
    .filter((e) => e.headers['x-request-id'] && e.target.startsWith('/api/models'));
  assert.ok(asked(eu, euBefore).length >= 1 && asked(us, usBefore).length >= 1, 'both hubs asked');

  // an org in two regions: its listing holds its repos of both
  const initech = [];
  for await (const m of hub.listModels({ ...as(), search: { owner: 'initech' } })) initech.push(m.name);
  assert.deepEqual(initech.sort(), ['initech/m', 'initech/us-m']);

  // page by page, one repo per hub per page, hubgate's cursor in hubgate's Link
  const get = (url) => fetch(url, { headers: { Authorization: `Bearer ${token}` } });
  const paged = [];
  let url = `${gw.url}/api/models?limit=1&sort=createdAt`;
  let rid;
  for (let pages = 0; url; pages++) {
    assert.ok(pages < 10, 'the pages end');
    const res = await get(url);
    assert.equal(res.status, 200, await res.clone().text());
    rid = rid || res.headers.get('x-request-id');
    const page = await res.json();
    assert.ok(page.length <= 3, `at most one repo per hub: ${JSON.stringify(page)}`);
    const dates = page.map((m) => m.createdAt);
    assert.deepEqual(dates, [...dates].sort().reverse(), 'a page is in the listing\'s order (newest first)');
    paged.push(...page.map((m) => m.id));
    const link = res.headers.get('link');
    url = link ? /<([^>]+)>;\s*rel="next"/.exec(link)[1] : null;
    if (url) {
      assert.ok(url.startsWith(`${gw.url}/api/models?`), url);
      assert.match(new URL(url).searchParams.get('cursor'), /^hg1\./);
      assert.equal(new URL(url).searchParams.get('sort'), 'createdAt', 'the query kept');
    }
  }
  assert.deepEqual([...paged].sort(), [...all].sort(), 'the pages hold the whole listing');
  const ev = await auditEvent(rid, 'request');
  assert.deepEqual(ev.details.regions, ['us', 'eu', 'west'], 'the regions asked, audited');

  // a cursor hubgate did not make; a hub that fails; a hub that refuses
  const forged = await get(`${gw.url}/api/models?cursor=eyJvZmZzZXQiOjF9`);
  assert.equal(forged.status, 400);
  const down = await get(`${gw.url}/api/datasets`);
  assert.equal(down.status, 502);
  assert.match(down.headers.get('x-error-message'), /region west answered 500/);
  const refused = await get(`${gw.url}/api/models?limit=0`);
  assert.equal(refused.status, 400, 'a hub\'s refusal relayed');
});

test('data that would cross regions is refused, with the regions named, and audited', async () => {
  const post = (p, body) => fetch(`${gw.url}${p}`, {
    method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
  const euBefore = eu.readLog().length, usBefore = us.readLog().length;
  const cases = [
    ['create in a region the org does not allow', '/api/repos/create', { name: 'x', organization: 'acme', type: 'model', region: 'us' }],
    ['create an initech us-* repo in eu', '/api/repos/create', { name: 'us-x', organization: 'initech', type: 'model', region: 'eu' }],
    ['move from us to eu', '/api/repos/move', { fromRepo: 'globex/r-us', toRepo: 'acme/moved', type: 'model' }],
    ['duplicate from us to eu', '/api/models/globex/r-us/duplicate', { repository: 'acme/dup' }],
  ];
  for (const [what, p, body] of cases) {
    const res = await post(p, body);
    assert.equal(res.status, 403, what);
    const msg = res.headers.get('x-error-message') || '';
    assert.match(msg, /data residency: .* lives in region (eu|us) .*from region (eu|us)/, `${what}: ${msg}`);
    const rid = res.headers.get('x-request-id');
    const row = pg.psql(`select canonical from audit_event where request_id = '${rid}' and kind = 'request'`);
    const ev = JSON.parse(row);
    assert.equal(ev.decision.effect, 'deny', what);
    assert.match(ev.decision.reason, /data residency/, what);
  }
  assert.equal(eu.readLog().length, euBefore, 'nothing reached the eu hub');
  assert.equal(us.readLog().length, usBefore, 'nothing reached the us hub');
});

async function auditEvent(rid, kind) {
  for (let i = 0; i < 100; i++) {
    const r = pg.psql(`select canonical from audit_event where request_id = '${rid}' and kind = '${kind}'`);
    if (r) return JSON.parse(r);
    await new Promise((x) => setTimeout(x, 50));
  }
  throw new Error(`no ${kind} event for ${rid}`);
}

test('an answer that points at another region\'s storage is refused and audited', async () => {
  const res = await fetch(`${gw.url}/umbrella/m/resolve/main/w.bin`, { headers: { Authorization: `Bearer ${token}` }, redirect: 'manual' });
  assert.equal(res.status, 502);
  assert.equal(res.headers.get('location'), null);
  const ev = await auditEvent(res.headers.get('x-request-id'), 'completion');
  assert.equal(ev.details.refused_destination, new URL(us.storageUrl).origin);
  assert.equal(ev.decision.region, 'west');
});

test('the evidence report counts bytes by region', async () => {
  await new Promise((r) => setTimeout(r, 300));
  const out = path.join(tmp, 'soc2');
  const r = await runHubgate(['report', 'soc2', '--database', pg.url, '--from', t0, '--to', new Date(Date.now() + 1000).toISOString(), '--out', out]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const report = JSON.parse((await import('node:fs')).readFileSync(path.join(out, 'report.json'), 'utf8'));
  const byRegion = Object.fromEntries(report.criteria['CC6.6-CC6.7'].bytes_out.by_region.map((x) => [x.region, x]));
  assert.equal(report.criteria['CC6.6-CC6.7'].residency_denials, 4, 'the four cross-region attempts');
  // eu got acme/r-eu (EU1: up once, down twice: @huggingface/hub and git-lfs) and initech/m
  // (EU2: up once, down once); us the same with US1 (globex/r-us) and US2 (initech/us-m). The
  // rest (JSON, git packs) is far under a MiB.
  const MB = 1024 * 1024;
  const near = (got, want, what) => assert.ok(got >= want && got < want + MB, `${what}: ${got}, expected ${want} and a little`);
  near(byRegion.eu.bytes_out, 2 * EU1.length + EU2.length, 'eu bytes out');
  near(byRegion.eu.bytes_in, EU1.length + EU2.length, 'eu bytes in');
  near(byRegion.us.bytes_out, 2 * US1.length + US2.length, 'us bytes out');
  near(byRegion.us.bytes_in, US1.length + US2.length, 'us bytes in');
});

// Issue 9, finding 4: routes that name no repo reached the hub as the service account — the
// policy allowed any authenticated caller, and the hub answered with the service account's data
// (its settings, credentials, private collections, org administration, OAuth). Now no such
// route is forwarded with the service credential on a policy's word: each is answered by
// hubgate (telemetry, whoami), filtered to what the caller may read (listings, collections),
// forwarded without any credential (public data), or refused with 403 (docs/routes.md). /oauth/
// and /scim/ are hubgate's own and never forwarded, even under a rule allowing unknown routes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as hub from '@huggingface/hub';
import { startStack, mintToken, auditRequestRow, teardownAll, runHubgate, makeTempDir, groups } from '../../lib/harness.mjs';

const POLICY = {
  version: 1,
  orgs: {
    acme: {
      members: groups({ 'acme-admins': 'admin', 'acme-ml': 'write', 'acme-staff': 'read' }),
    },
  },
  external: { read: true, namespaces: ['google'] },
  // An admin may let unknown routes through: /oauth/ and /scim/ must stay out of reach anyway.
  rules: [{ id: 'ops-unknown', effect: 'allow', actions: ['unknown'], subjects: [{ group: 'acme-staff' }] }],
};

// As the hub would hold them: the service account sees every one of them, and everything in them.
const COLLECTIONS = [
  {
    slug: 'acme/favs-1', title: 'ACME favourites', private: true,
    items: [
      { type: 'model', id: 'acme/bert' }, { type: 'dataset', id: 'acme/ds' },
      { type: 'model', id: 'secretorg/hidden' }, { type: 'model', id: 'google/gemma-mini' },
      { type: 'paper', id: '2401.00001' }, { type: 'collection', id: '66ab', slug: 'secretorg/stash-2' },
    ],
  },
  { slug: 'secretorg/stash-2', title: 'Secret stash', private: true, items: [{ type: 'model', id: 'secretorg/hidden' }] },
  { slug: 'google/picks-3', title: 'Picks', private: false, items: [{ type: 'model', id: 'google/gemma-mini' }, { type: 'model', id: 'acme/bert' }] },
];

let pg, idp, h, gw;
const tokens = {};

before(async () => {
  const s = await startStack({ gateway: false });
  ({ pg, idp, hub: h } = s);
  fs.writeFileSync(path.join(h.dataDir, 'collections.json'), JSON.stringify(COLLECTIONS));
  gw = await s.gateway({ policy: POLICY });
  for (const user of ['bob', 'carol', 'eve']) {
    tokens[user] = (await mintToken(gw, await idp.token(user), { name: `${user} repo-less` })).token;
  }
});

after(teardownAll);

const as = (user) => ({ hubUrl: gw.url, accessToken: tokens[user] });
const call = (user, p, init = {}) => fetch(`${gw.url}${p}`, {
  ...init, headers: { ...(user ? { Authorization: `Bearer ${tokens[user]}` } : {}), ...(init.headers ?? {}) },
});
// What the hub received for a request hubgate forwarded (matched by hubgate's X-Request-Id).
const hubSaw = (res) => h.readLog().filter((e) => e.headers['x-request-id'] === res.headers.get('x-request-id'));
const usedServiceCredential = (entries) => entries.some((e) => JSON.stringify(e.headers).includes(h.serviceToken));

const auditRow = (rid) => auditRequestRow(pg, rid, "decision || '|' || rule || '|' || status");

test('collection listings keep only what the caller may read (@huggingface/hub listCollections)', async () => {
  const bob = [];
  for await (const c of hub.listCollections({ ...as('bob') })) bob.push(c);
  assert.deepEqual(bob.map((c) => c.slug).sort(), ['acme/favs-1', 'google/picks-3'], 'a collection of an org outside the policy was shown');
  const favs = bob.find((c) => c.slug === 'acme/favs-1');
  // the listing's 4 items, minus the one bob may not read
  assert.deepEqual(favs.items.map((i) => i.id), ['acme/bert', 'acme/ds', 'google/gemma-mini']);
  assert.equal(favs.isUpvotedByUser, false, "the service account's upvote is not bob's");
  assert.equal(favs.owner.isUserFollowing, false);
  assert.ok(favs.items.every((i) => i.isLikedByUser === false));

  const eve = [];
  for await (const c of hub.listCollections({ ...as('eve') })) eve.push(c);
  assert.deepEqual(eve.map((c) => c.slug), ['google/picks-3']);
  assert.deepEqual(eve[0].items.map((i) => i.id), ['google/gemma-mini'], 'a private acme repo leaked through a public collection');
});

// @huggingface/hub's collectionInfo (src/lib/collection-info.ts; not exported by the installed
// build): the same request.
const collectionInfo = (user, slug) => fetch(`${gw.url}/api/collections/${slug}`, {
  headers: { Authorization: `Bearer ${tokens[user]}`, 'Content-Type': 'application/json' },
});

test('one collection: its owner decides, its items are cut (collectionInfo)', async () => {
  const res = await collectionInfo('bob', 'acme/favs-1');
  assert.equal(res.status, 200);
  const favs = await res.json();
  assert.deepEqual(favs.items.map((i) => i.id), ['acme/bert', 'acme/ds', 'google/gemma-mini', '2401.00001']);
  assert.equal(favs.isUpvotedByUser, false);
  // eve is no acme member (404, existence not leaked); secretorg is in no org of the policy (403
  // for bob: the allow rule for unknown routes names him, so the policy answers "forbidden")
  for (const [user, slug, status] of [['eve', 'acme/favs-1', 404], ['bob', 'secretorg/stash-2', 403]]) {
    const r = await collectionInfo(user, slug);
    assert.equal(r.status, status, `${user} ${slug}`);
    assert.deepEqual(hubSaw(r), [], `${user} ${slug}: asked the hub for a collection the policy hides`);
  }
});

test('routes only the service account could be answered for are refused with 403, never forwarded', async () => {
  const cases = [
    // the hub's own OAuth server and discovery
    ['bob', 'GET', '/oauth/userinfo', null, null, /OAuth/],
    [null, 'GET', '/.well-known/openid-configuration', null, null, /OAuth/],
    // under a rule that allows unknown routes: still hubgate's
    ['bob', 'GET', '/oauth/some/future/endpoint', null, null, /OAuth/],
    // the service account's own settings and credentials
    ['bob', 'POST', '/api/credentials/revoke', 'application/json', '{"credentials":["hf_leaked"]}', /revo/],
    ['bob', 'GET', '/api/settings/repositories', null, null, /account settings/],
    ['carol', 'GET', '/api/settings/webhooks', null, null, /webhooks/],
    ['carol', 'POST', '/api/settings/webhooks', 'application/json', '{"watched":[],"url":"https://x.example"}', /webhooks/],
    // org administration (carol is an acme admin in the policy: a policy allow changes nothing)
    ['carol', 'GET', '/api/organizations/acme/resource-groups', null, null, /organization administration/],
    ['carol', 'GET', '/api/organizations/acme/settings/repositories', null, null, /organization administration/],
    ['carol', 'PUT', '/api/organizations/acme/members/bob/role', 'application/json', '{"role":"admin"}', /organization administration/],
    ['carol', 'GET', '/api/organizations/acme/settings/network-security', null, null, /organization administration/],
    // jobs run and bill as the service account
    ['bob', 'GET', '/api/jobs/acme', null, null, /jobs/],
    ['carol', 'POST', '/api/jobs/acme', 'application/json', '{"dockerImage":"x","command":["true"]}', /jobs/],
  ];
  const before = h.readLog().length;
  for (const [user, method, p, type, body, message] of cases) {
    const res = await call(user, p, { method, headers: type ? { 'Content-Type': type } : {}, body: body ?? undefined });
    assert.equal(res.status, 403, `${method} ${p}`);
    const text = res.headers.get('x-error-message');
    assert.match(text, message, `${method} ${p}`);
    assert.deepEqual(await res.json(), { error: text }, `${method} ${p}: the Hub's error shape`);
    assert.match(res.headers.get('x-request-id'), /^[0-9a-f]{32}$/);
  }
  assert.deepEqual(h.readLog().slice(before).map((e) => `${e.method} ${e.target}`), [], 'the hub received a refused route');
  // refusals are audited with what refused them
  const res = await call('bob', '/api/settings/repositories');
  assert.equal(await auditRow(res.headers.get('x-request-id')), 'deny|repo-less-route|403');
  const oauth = await call('bob', '/oauth/userinfo');
  assert.equal(await auditRow(oauth.headers.get('x-request-id')), 'deny|hubgate-own-route|403');

  // hubgate's own device grant and SCIM (docs/sign-in.md): answered by hubgate, here 404 since
  // this gateway configures neither, and never forwarded either way
  const own = [
    [null, 'POST', '/oauth/device', 'application/x-www-form-urlencoded', 'client_id=26be6b09-91c5-47da-9861-d2d2bb7a7e36', /identity\.login/],
    [null, 'POST', '/oauth/token', 'application/x-www-form-urlencoded', 'grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=x&client_id=y', /identity\.login/],
    [null, 'GET', '/scim/v2/Users?filter=userName%20eq%20%22bob%22', null, null, /SCIM is not enabled/],
    ['bob', 'PATCH', '/scim/v2/Users/2819c223', 'application/scim+json', '{"Operations":[]}', /SCIM is not enabled/],
  ];
  const before2 = h.readLog().length;
  for (const [user, method, p, type, body, message] of own) {
    const r = await call(user, p, { method, headers: type ? { 'Content-Type': type } : {}, body: body ?? undefined });
    assert.equal(r.status, 404, `${method} ${p}`);
    assert.match(await r.text(), message, `${method} ${p}`);
  }
  assert.deepEqual(h.readLog().slice(before2).map((e) => `${e.method} ${e.target}`), [], 'the hub received hubgate\'s own route');
});

test('public data is fetched without any credential: the answer anyone gets', async () => {
  // an org's overview: the service account (an admin of every org) would see private counts
  const overview = await call('bob', '/api/organizations/acme/overview');
  assert.equal(overview.status, 200);
  const o = await overview.json();
  assert.equal(o.numModels, 0, 'private repo counts are the service account\'s view');
  assert.equal(o.plan, undefined);
  assert.equal(o.isUserFollowing, false);
  const seen = hubSaw(overview);
  assert.equal(seen.length, 1);
  assert.equal(seen[0].headers.authorization, undefined, 'forwarded with a credential');
  // still the policy's to allow: eve is no acme member
  assert.equal((await call('eve', '/api/organizations/acme/overview')).status, 404);

  for (const [method, p, body] of [
    ['GET', '/api/models-tags-by-type', null],
    ['GET', '/api/spaces/hardware', null],
    ['GET', '/api/daily_papers', null],
    ['GET', '/api/papers/2401.00001', null],
    ['POST', '/api/validate-yaml', '{"content":"license: mit","repoType":"model"}'],
  ]) {
    const res = await call('bob', p, { method, headers: body ? { 'Content-Type': 'application/json' } : {}, body: body ?? undefined });
    const entries = hubSaw(res);
    assert.equal(entries.length, 1, `${method} ${p} was forwarded`);
    assert.equal(entries[0].headers.authorization, undefined, `${method} ${p} carried a credential`);
  }
  const tags = await call('bob', '/api/models-tags-by-type');
  assert.equal(tags.status, 200);
  assert.ok((await tags.json()).pipeline_tag.length > 0);
});

test('telemetry is accepted and dropped by hubgate; whoami is answered from the caller', async () => {
  // huggingface_hub's send_telemetry: a HEAD with the library's user agent
  const ping = await call('bob', '/api/telemetry/hf_hub/download', { method: 'HEAD', headers: { 'user-agent': 'unknown/None; hf_hub/1.28.0; python/3.11.2' } });
  assert.equal(ping.status, 200);
  assert.deepEqual(hubSaw(ping), []);
  const post = await call('bob', '/api/telemetry/examples/run', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
  assert.equal(post.status, 200);
  assert.deepEqual(hubSaw(post), []);
  assert.equal((await call(null, '/api/telemetry/hf_hub/download', { method: 'HEAD' })).status, 401);
  const me = await hub.whoAmI(as('bob'));
  assert.equal(me.name, 'bob');
});

test('nothing that names no repo reached the hub with the service credential, except filtered answers', async () => {
  const log = h.readLog();
  const repoLess = log.filter((e) => !/^\/api\/(collections|models|datasets|spaces)(\?|$|\/)/.test(e.target) || /^\/api\/(models-tags|spaces\/hardware)/.test(e.target));
  assert.equal(usedServiceCredential(repoLess), false,
    repoLess.filter((e) => JSON.stringify(e.headers).includes(h.serviceToken)).map((e) => `${e.method} ${e.target}`).join('\n'));
  // and the filtered ones were filtered (above): collections asked with the credential
  assert.ok(usedServiceCredential(log.filter((e) => e.target.startsWith('/api/collections'))));
});

test('policy explain tells an admin what the gateway does beyond the policy', async () => {
  const file = path.join(makeTempDir('explain'), 'policy.json');
  fs.writeFileSync(file, JSON.stringify(POLICY));
  const explain = (request) => runHubgate(['policy', 'explain', file, '--subject', '{"sub": "carol", "groups": ["acme-admins"]}', '--request', request]);
  const deny = await explain('PUT /api/organizations/acme/members/bob/role');
  assert.equal(deny.code, 0, deny.stderr);
  assert.match(deny.stdout, /^gateway: refuses this route with 403 whatever the policy decides: organization administration/m);
  assert.match(deny.stdout, /^decision: allow/m, 'the policy\'s own decision is still shown');
  const pub = await explain('GET /api/organizations/acme/overview');
  assert.match(pub.stdout, /^gateway: forwarded without any credential: /m);
  const plain = await explain('GET /acme/bert/resolve/main/config.json');
  assert.doesNotMatch(plain.stdout, /^gateway:/m);
});

// SCIM 2.0 deprovisioning (docs/sign-in.md, "Deprovisioning"): two gateways on one database, a
// directory speaking to one of them with Okta's and Entra's request shapes (RFC 7644 as their
// documentation shows it). Creating, finding (a miss is 200 with no resources), pagination,
// duplicates, group membership (removing a person from a group removes what it granted on their
// hubgate tokens), deactivation ending every token and session at once on that gateway and
// within a second on the other — a live SSO token and its cached verification included —,
// reactivation reviving nothing, deletion, and the audit events of each change.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { startStack, teardownAll, mintToken, waitForRow, REPO } from '../lib/harness.mjs';

const POLICY = fs.readFileSync(path.join(REPO, 'tests', 'fixtures', 'policy', 'members.json'), 'utf8');
const PASSWORD = JSON.parse(fs.readFileSync(path.join(REPO, 'tests', 'fixtures', 'idp', 'users.json'), 'utf8')).alice.password;
const SECRET = crypto.randomBytes(32).toString('base64url');
const SCIM = 'application/scim+json';

let s, gw1, gw2;

before(async () => {
  s = await startStack({ idp: { login: {} }, gateway: false });
  const opts = {
    policy: POLICY,
    config: {
      identity: {
        issuers: [{ issuer: s.idp.issuer, audience: 'hubgate' }],
        login: { issuer: s.idp.issuer, client_id: s.idp.login.clientId, client_secret_file: 'login.secret' },
      },
      scim: { token_file: 'scim.token' },
    },
    files: { 'login.secret': `${s.idp.login.secret}\n`, 'scim.token': `${SECRET}\n` },
  };
  gw1 = await s.gateway(opts);
  gw2 = await s.gateway({ ...opts, config: { ...opts.config, audit: { stream: 'gw-scim-2' } } });
});

after(teardownAll);

const scim = (method, p, body, { gw = gw1, bearer = SECRET, type = SCIM } = {}) => fetch(`${gw.url}/scim/v2${p}`, {
  method,
  headers: { authorization: `Bearer ${bearer}`, accept: SCIM, ...(body ? { 'content-type': type } : {}) },
  body: body ? JSON.stringify(body) : undefined,
});
const json = async (r) => (r.status === 204 ? null : r.json());
const bert = (gw, bearer) => fetch(`${gw.url}/api/models/acme/bert`, { headers: { authorization: `Bearer ${bearer}` } }).then((r) => r.status);
const event = (where) => waitForRow(s.pg, `select canonical from audit_event where kind = 'directory.changed' and ${where} order by seq desc limit 1`, { what: where }).then(JSON.parse);
async function eventually(fn, want, what, ms = 10000) {
  const t0 = Date.now();
  let got;
  while ((got = await fn()) !== want && Date.now() - t0 < ms) await new Promise((r) => setTimeout(r, 50));
  assert.equal(got, want, `${what} within ${ms} ms`);
  return Date.now() - t0;
}

// A browser session of alice's at gw, by plain HTTP (the IdP's form, hubgate's callback).
async function session(gw) {
  const start = await fetch(`${gw.url}/-/login`, { redirect: 'manual' });
  const pre = start.headers.get('set-cookie').split(';')[0];
  const back = await s.idp.authorize(start.headers.get('location'), { login: 'alice', password: PASSWORD });
  const cb = await fetch(back.href, { headers: { cookie: pre }, redirect: 'manual' });
  assert.equal(cb.status, 303);
  return cb.headers.getSetCookie().find((c) => c.startsWith('hubgate-session=')).split(';')[0];
}
const page = (gw, cookie) => fetch(`${gw.url}/-/tokens`, { headers: { cookie, accept: 'text/html' }, redirect: 'manual' }).then((r) => r.status);

let aliceId, groupId;

test('discovery, authentication, and the directory\'s people as Okta creates and finds them', async () => {
  for (const p of ['/ServiceProviderConfig', '/ResourceTypes', '/Schemas']) {
    const r = await scim('GET', p);
    assert.equal(r.status, 200, p);
    assert.equal(r.headers.get('content-type'), SCIM);
  }
  assert.equal((await json(await scim('GET', '/ServiceProviderConfig'))).patch.supported, true);
  assert.equal((await scim('GET', '/Users', null, { bearer: 'wrong' })).status, 401);
  const noAuth = await fetch(`${gw1.url}/scim/v2/Users`);
  assert.equal(noAuth.status, 401);
  const idpToken = await s.idp.token('alice');
  assert.equal((await scim('GET', '/Users', null, { bearer: idpToken })).status, 401, 'an SSO token is no SCIM secret');

  // Okta's create (its documented body)
  const created = await scim('POST', '/Users', {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
    userName: 'alice@acme.example', externalId: 'alice',
    name: { givenName: 'Alice', familyName: 'Andersen' },
    emails: [{ primary: true, value: 'alice@acme.example', type: 'work' }],
    displayName: 'Alice Andersen', locale: 'en-US', groups: [], password: 'ignored-1A!', active: true,
  });
  assert.equal(created.status, 201);
  const alice = await created.json();
  aliceId = alice.id;
  assert.equal(created.headers.get('location'), `${gw1.url}/scim/v2/Users/${aliceId}`);
  assert.equal(alice.active, true);
  assert.equal(alice.externalId, 'alice');
  const dup = await scim('POST', '/Users', { userName: 'ALICE@acme.example', active: true });
  assert.equal(dup.status, 409);
  assert.equal((await dup.json()).scimType, 'uniqueness');
  await event(`canonical::jsonb #>> '{details,operation}' = 'create' and canonical::jsonb #>> '{details,id}' = '${aliceId}'`);

  // Okta's lookup: upper-cased userName, integer paging; a miss is 200 with nothing
  const hit = await json(await scim('GET', `/Users?filter=${encodeURIComponent('userName eq "ALICE@ACME.EXAMPLE"')}&startIndex=1&count=100`));
  assert.equal(hit.totalResults, 1);
  assert.equal(hit.Resources[0].id, aliceId);
  assert.equal(typeof hit.startIndex, 'number');
  assert.equal(typeof hit.itemsPerPage, 'number');
  const miss = await json(await scim('GET', `/Users?filter=${encodeURIComponent('userName eq "nobody@acme.example"')}`));
  assert.equal(miss.totalResults, 0);
  assert.deepEqual(miss.Resources, []);
  for (const name of ['bob', 'carol']) {
    assert.equal((await scim('POST', '/Users', { userName: `${name}@acme.example`, externalId: name, active: true })).status, 201);
  }
  const p1 = await json(await scim('GET', '/Users?startIndex=1&count=2'));
  const p2 = await json(await scim('GET', '/Users?startIndex=3&count=2'));
  assert.equal(p1.totalResults, 3);
  assert.deepEqual([...p1.Resources, ...p2.Resources].map((u) => u.userName), ['alice@acme.example', 'bob@acme.example', 'carol@acme.example'], 'stable order');
  assert.equal((await scim('GET', `/Users/${aliceId}`, null, { gw: gw2 })).status, 200, 'the other gateway sees the same directory');
  assert.equal((await scim('GET', '/Users/usr_nope')).status, 404);
  assert.equal((await scim('GET', `/Users?filter=${encodeURIComponent('userName co "a"')}`)).status, 400);
});

test('group membership decides what hubgate tokens grant (Entra\'s shapes)', async () => {
  // Entra's group create, then its member add with "$ref": null
  const g = await scim('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], externalId: 'e-1', displayName: 'acme-ml', members: [] });
  assert.equal(g.status, 201);
  groupId = (await g.json()).id;
  const add = await scim('PATCH', `/Groups/${groupId}`, {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
    Operations: [{ op: 'Add', path: 'members', value: [{ $ref: null, value: aliceId }] }],
  });
  assert.equal(add.status, 204);
  const members = await json(await scim('GET', `/Groups/${groupId}`));
  assert.deepEqual(members.members.map((m) => m.value), [aliceId]);
  assert.equal((await json(await scim('GET', `/Groups?excludedAttributes=members&filter=${encodeURIComponent('displayName eq "acme-ml"')}`))).Resources[0].members, undefined);

  const token = (await mintToken(gw1, await s.idp.token('alice'), { name: 'scim-laptop', scope: 'read' })).token;
  assert.equal(await bert(gw1, token), 200);
  assert.equal(await bert(gw2, token), 200);

  // Entra's member removal (a value array): what the group granted ends on the token
  const remove = await scim('PATCH', `/Groups/${groupId}`, {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
    Operations: [{ op: 'Remove', path: 'members', value: [{ value: aliceId }] }],
  });
  assert.equal(remove.status, 204);
  assert.equal(await bert(gw1, token), 404, 'at once on the gateway that took the change');
  await eventually(() => bert(gw2, token), 404, 'on the other gateway');
  const removed = await event(`canonical::jsonb #>> '{details,resource}' = 'group' and canonical::jsonb #>> '{details,removed_member_count}' = '1'`);
  assert.equal(removed.details.operation, 'patch');

  // Okta's add back (path members, a value array)
  const back = await scim('PATCH', `/Groups/${groupId}`, {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
    Operations: [{ op: 'add', path: 'members', value: [{ value: aliceId, display: 'alice@acme.example' }] }],
  });
  assert.equal(back.status, 204);
  assert.equal(await bert(gw1, token), 200);
});

test('deactivation ends tokens, sessions and live SSO tokens at once here and within a second there', async () => {
  const sso = await s.idp.token('alice');
  assert.equal(await bert(gw1, sso), 200);
  assert.equal(await bert(gw2, sso), 200, 'verified and cached on both');
  const token = (await mintToken(gw1, sso, { name: 'scim-ci', scope: 'read' })).token;
  const cookie1 = await session(gw1);
  assert.equal(await page(gw1, cookie1), 200);

  // Entra's default disable: capitalised op, the string "False"
  const off = await scim('PATCH', `/Users/${aliceId}`, {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
    Operations: [{ op: 'Replace', path: 'active', value: 'False' }],
  });
  assert.equal(off.status, 200);
  assert.equal((await off.json()).active, false);
  assert.equal(await bert(gw1, token), 401, 'the hubgate token, at once');
  assert.equal(await bert(gw1, sso), 401, 'the live SSO token, its cached verification included');
  assert.equal(await page(gw1, cookie1), 303, 'the browser session, sent to sign in');
  const ms = Math.max(await eventually(() => bert(gw2, sso), 401, 'the SSO token on the other gateway'),
    await eventually(() => bert(gw2, token), 401, 'the hubgate token on the other gateway'));
  console.log(`scim: the other gateway refused the deactivated person after ${ms} ms`);
  const ev = await event(`canonical::jsonb #>> '{details,id}' = '${aliceId}' and canonical::jsonb #>> '{details,deprovisioned}' = 'true'`);
  assert.equal(ev.details.active, false);
  assert.ok(ev.details.revoked_token_count >= 2, `revoked ${ev.details.revoked_token_count}`);
  assert.equal(ev.details.ended_session_count, 1);
  assert.equal(ev.actor, undefined, 'the directory, not a person');
  assert.equal(s.pg.psql(`select count(*) from access_token where owner_sub = 'alice' and revoked_at is null and expires_at > now()`), '0');

  // signing in again is refused; deactivating again changes nothing and says so
  const start = await fetch(`${gw1.url}/-/login`, { redirect: 'manual' });
  const back = await s.idp.authorize(start.headers.get('location'), { login: 'alice', password: PASSWORD });
  const cb = await fetch(back.href, { headers: { cookie: start.headers.get('set-cookie').split(';')[0] }, redirect: 'manual' });
  assert.equal(cb.status, 403);
  const again = await scim('PATCH', `/Users/${aliceId}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'active', value: false }] });
  assert.equal(again.status, 200, 'idempotent (Entra\'s flag-on shape)');
  assert.equal(await bert(gw1, await s.idp.token('bob')), 200, 'others are untouched');

  // Okta's reactivation (a path-less replace): new sign-ins work, old tokens stay revoked
  const on = await scim('PATCH', `/Users/${aliceId}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', value: { active: true } }] });
  assert.equal(on.status, 200);
  assert.equal(await bert(gw1, token), 401, 'reactivation revives no token');
  assert.equal(await bert(gw1, await s.idp.token('alice')), 200, 'a fresh SSO token works');
});

test('Okta\'s PUT with active false and Entra\'s DELETE end access too; deleted is gone', async () => {
  const token = (await mintToken(gw1, await s.idp.token('carol'), { name: 'carol-ci', scope: 'read' })).token;
  const carol = (await json(await scim('GET', `/Users?filter=${encodeURIComponent('userName eq "carol@acme.example"')}`))).Resources[0];
  const put = await scim('PUT', `/Users/${carol.id}`, { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'carol@acme.example', externalId: 'carol', active: false });
  assert.equal(put.status, 200);
  assert.equal(await bert(gw1, token), 401);

  const bobToken = (await mintToken(gw1, await s.idp.token('bob'), { name: 'bob-ci', scope: 'read' })).token;
  const bob = (await json(await scim('GET', `/Users?filter=${encodeURIComponent('externalId eq "bob"')}`))).Resources[0];
  const del = await scim('DELETE', `/Users/${bob.id}`, null, { gw: gw2 });
  assert.equal(del.status, 204);
  assert.equal((await scim('GET', `/Users/${bob.id}`)).status, 404);
  assert.equal(await bert(gw2, bobToken), 401, 'at once on the gateway that took it');
  await eventually(() => bert(gw1, bobToken), 401, 'within a second on the other');
  const ev = await event(`canonical::jsonb #>> '{details,operation}' = 'delete' and canonical::jsonb #>> '{details,id}' = '${bob.id}'`);
  assert.equal(ev.details.deprovisioned, true);
});

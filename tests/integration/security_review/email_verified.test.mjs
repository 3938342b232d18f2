// Issue 9, finding 12: emails matched policy members without `email_verified`, so anyone whose
// IdP account shows an address it never checked could claim an email member's role. Now an
// email grants only when the IdP says `email_verified: true`, or when the claim is absent and
// the issuer is configured `email_verified_assumed: true` (off by default). An unverified email
// is still recorded (audit actor) and still brings the deny rules that name it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startStack, mintToken, auditRequestRow, teardownAll, makeTempDir } from '../../lib/harness.mjs';

// Real tokens from the real IdP (oidc-provider), for users whose email claims differ.
const user = (secret, claims) => ({ secret, alg: 'RS256', claims: { name: 'Test User', amr: ['pwd'], ...claims } });
const USERS = {
  lead: user('lead-secret-0001', { email: 'lead@acme.example', email_verified: true, groups: [] }),
  // the attack: an account showing the lead's address, never verified
  mallory: user('mallory-secret-02', { email: 'lead@acme.example', email_verified: false, groups: [] }),
  // an IdP that never sends the claim at all
  nova: user('nova-secret-00003', { email: 'lead@acme.example', groups: [] }),
  // a verified-looking string is not the boolean the claim is
  stringy: user('stringy-secret-04', { email: 'lead@acme.example', email_verified: 'true', groups: [] }),
  // a staff member (by group) whose unverified email a deny rule names
  intern: user('intern-secret-005', { email: 'intern@acme.example', email_verified: false, groups: ['acme-staff'] }),
};

const POLICY = {
  version: 1,
  orgs: {
    acme: {
      members: [
        { email: 'lead@acme.example', role: 'read' },
        { group: 'acme-staff', role: 'read' },
      ],
    },
  },
  rules: [{ id: 'no-interns', effect: 'deny', actions: ['read'], repos: ['models/acme/bert'], subjects: [{ email: 'intern@acme.example' }] }],
};

let pg, idp, trusting, h, gw, gateway;

before(async () => {
  const dir = makeTempDir('users');
  const usersFile = path.join(dir, 'users.json');
  fs.writeFileSync(usersFile, JSON.stringify(USERS));
  // Two issuers with the same users: the second is configured to assume its emails verified.
  const s = await startStack({ idp: { usersFile }, gateway: false });
  ({ pg, idp, hub: h } = s);
  trusting = await s.stack.idp({ usersFile });
  gateway = (issuers) => s.gateway({ policy: POLICY, config: { identity: { issuers } } });
  gw = await gateway([{ issuer: idp.issuer, audience: 'hubgate' }]);
});

after(teardownAll);

const get = (p, token) => fetch(`${gw.url}${p}`, { headers: { Authorization: `Bearer ${token}` } });

const auditActor = async (rid) => JSON.parse(await auditRequestRow(pg, rid, 'canonical')).actor;

test('a verified email is a member; an unverified one is not, but is recorded', async () => {
  const lead = await get('/api/models/acme/bert', await idp.token('lead'));
  assert.equal(lead.status, 200);

  const before = h.readLog().length;
  const res = await get('/api/models/acme/bert', await idp.token('mallory'));
  assert.equal(res.status, 404, 'an unverified email must not grant the member role');
  assert.equal(res.headers.get('x-error-code'), 'RepoNotFound');
  assert.equal(h.readLog().length, before, 'nothing reached the hub');
  const actor = await auditActor(res.headers.get('x-request-id'));
  assert.equal(actor.sub, 'mallory');
  assert.equal(actor.email, 'lead@acme.example', 'the unverified email is still recorded');

  // whoami says so, and lists no org
  const me = await (await get('/api/whoami-v2', await idp.token('mallory'))).json();
  assert.equal(me.email, 'lead@acme.example');
  assert.equal(me.emailVerified, false);
  assert.deepEqual(me.orgs, []);
  const leadMe = await (await get('/api/whoami-v2', await idp.token('lead'))).json();
  assert.equal(leadMe.emailVerified, true);
  assert.deepEqual(leadMe.orgs.map((o) => o.name), ['acme']);

  // neither a missing claim nor the string "true" is a verification
  for (const name of ['nova', 'stringy']) {
    const r = await get('/api/models/acme/bert', await idp.token(name));
    assert.equal(r.status, 404, name);
  }
});

test('email_verified_assumed: an issuer that never sends the claim is trusted, an explicit false still stands', async () => {
  const both = await gateway([
    { issuer: idp.issuer, audience: 'hubgate' },
    { issuer: trusting.issuer, audience: 'hubgate', email_verified_assumed: true },
  ]);
  const status = async (token) => (await fetch(`${both.url}/api/models/acme/bert`, { headers: { Authorization: `Bearer ${token}` } })).status;
  assert.equal(await status(await trusting.token('nova')), 200);
  assert.equal(await status(await trusting.token('lead')), 200);
  assert.equal(await status(await trusting.token('mallory')), 404);
  assert.equal(await status(await trusting.token('stringy')), 404);
  // the setting is per issuer: the same user from the other IdP is not trusted
  assert.equal(await status(await idp.token('nova')), 404);
  await both.stop();
});

test('an unverified email still brings the deny rules that name it', async () => {
  const token = await idp.token('intern');
  // a staff member by group reads what the rule does not cover...
  assert.equal((await get('/api/models/acme/tiny-tok', token)).status, 200);
  // ...and the deny rule naming the (unverified) email still applies
  const res = await get('/api/models/acme/bert', token);
  assert.equal(res.status, 403);
  assert.match(res.headers.get('x-error-message'), /no-interns/);
});

test('hubgate tokens keep the verification their owner had when minting', async () => {
  const mint = async (sso) => (await mintToken(gw, sso, { name: 'email test', scope: 'read' })).token;
  assert.equal((await get('/api/models/acme/bert', await mint(await idp.token('lead')))).status, 200);
  assert.equal((await get('/api/models/acme/bert', await mint(await idp.token('mallory')))).status, 404);
  const who = await (await get('/-/whoami', await mint(await idp.token('mallory')))).json();
  assert.equal(who.email, 'lead@acme.example');
  assert.equal(who.email_verified, false);
});

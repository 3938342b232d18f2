// Issue 9, item 16: X-Hubgate-Identity says under which grant a request was allowed.
// The assertion hubgate signs for the hub carries the org, the role and the region the policy
// allowed the request under — the same ones its audit event records — and null for each only
// when the decision names none (no org for an external namespace; neither for a listing, which
// is about no repo).
// Issue 12: the assertion is signed once per claim set and reused for half its lifetime, so it
// carries no request id (X-Request-Id does): one caller's requests under one grant carry the
// same assertion, any other caller or grant gets its own, and each verifies with /-/jwks.json.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { startStack, auditRequestRow, mintToken, teardownAll } from '../../lib/harness.mjs';

const POLICY = {
  version: 1,
  orgs: {
    acme: {
      regions: ['eu'],
      members: [{ group: 'acme-ml', role: 'write' }, { group: 'acme-staff', role: 'read' }, { group: 'acme-admins', role: 'admin' }],
    },
  },
  external: { read: true, namespaces: ['google'] },
};

let pg, idp, h, gw, jwks;

before(async () => {
  const s = await startStack({ gateway: false });
  ({ pg, idp, hub: h } = s);
  gw = await s.gateway({
    policy: POLICY,
    config: {
      regions: {
        us: { upstream: h.url, token_file: 'us.token' },
        eu: { upstream: h.url, token_file: 'us.token' },
      },
      default_region: 'us',
    },
  });
  jwks = createLocalJWKSet(await (await fetch(`${gw.url}/-/jwks.json`)).json());
});

after(teardownAll);

// The assertion the hub received for a request, verified with hubgate's published key. user is
// a name the IdP knows, or { token } for a credential already in hand.
async function assertionFor(user, target) {
  const token = user.token ?? await idp.token(user);
  const res = await fetch(`${gw.url}${target}`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200, `${user.token ? 'a hubgate token' : user} ${target}: ${res.status}`);
  await res.arrayBuffer();
  const rid = res.headers.get('x-request-id');
  const entry = h.readLog().find((e) => e.origin === 'hub' && e.headers['x-request-id'] === rid);
  assert.ok(entry, `the hub received ${rid}`);
  const jwt = entry.headers['x-hubgate-identity'];
  const { payload } = await jwtVerify(jwt, jwks, { issuer: gw.url });
  assert.ok(!('rid' in payload), 'no request id in the assertion: it travels in X-Request-Id');
  return { payload, rid, jwt };
}

const grant = (p) => ({ org: p.org, role: p.role, region: p.region });

test('a member\'s request carries the org, role and region it was allowed under', async () => {
  for (const [user, role] of [['alice', 'write'], ['bob', 'read'], ['carol', 'admin']]) {
    const { payload } = await assertionFor(user, '/api/models/acme/bert');
    assert.equal(payload.sub, user);
    assert.deepEqual(grant(payload), { org: 'acme', role, region: 'eu' }, user);
  }
  const { payload } = await assertionFor('alice', '/acme/bert/resolve/main/config.json');
  assert.deepEqual(grant(payload), { org: 'acme', role: 'write', region: 'eu' });
});

test('the assertion agrees with the audit event', async () => {
  const { payload, rid } = await assertionFor('bob', '/api/models/acme/bert/tree/main');
  const d = JSON.parse(await auditRequestRow(pg, rid, 'canonical')).decision;
  assert.deepEqual(grant(payload), { org: d.org, role: d.role, region: d.region });
});

test('no org where the decision names none: present as null, region the default one', async () => {
  // an external namespace: read granted by `external`, no org
  const ext = await assertionFor('alice', '/google/gemma-mini/resolve/main/config.json');
  assert.ok('org' in ext.payload && 'role' in ext.payload && 'region' in ext.payload);
  assert.deepEqual(grant(ext.payload), { org: null, role: 'read', region: 'us' });
  // a listing is about no repo: no org, no role
  const list = await assertionFor('eve', '/api/models');
  assert.deepEqual(grant(list.payload), { org: null, role: null, region: 'us' });
});

test('one caller\'s requests carry one assertion, verifiable with /-/jwks.json; another caller\'s or grant\'s differs', async () => {
  // the published key, fetched as a third party would
  const published = createLocalJWKSet(await (await fetch(`${gw.url}/-/jwks.json`)).json());
  const target = '/api/models/acme/bert';
  const first = await assertionFor('alice', target);
  const second = await assertionFor('alice', target); // authenticated again: the same claims
  assert.notEqual(first.rid, second.rid, 'two requests');
  assert.equal(second.jwt, first.jwt, 'the same signed assertion for both');
  const { payload, protectedHeader } = await jwtVerify(second.jwt, published, { issuer: gw.url });
  assert.equal(protectedHeader.alg, 'ES256');
  assert.equal(payload.sub, 'alice');
  const now = Math.floor(Date.now() / 1000);
  assert.ok(payload.iat <= now + 1, 'not issued in the future');
  assert.equal(payload.exp - payload.iat, 60);
  assert.ok(payload.exp - now >= 29, `at least half its life left: exp in ${payload.exp - now} s`);

  // another caller, the same grant: an assertion of its own
  const bob = await assertionFor('bob', target);
  assert.notEqual(bob.jwt, first.jwt);
  assert.equal((await jwtVerify(bob.jwt, published, { issuer: gw.url })).payload.sub, 'bob');
  // the same caller under another grant (an external namespace: no org, role read, region us)
  const ext = await assertionFor('alice', '/google/gemma-mini/resolve/main/config.json');
  assert.notEqual(ext.jwt, first.jwt);
  assert.deepEqual(grant(ext.payload), { org: null, role: 'read', region: 'us' });
  // the same caller through a hubgate token: its token_id makes another claim set
  const { token } = await mintToken(gw, await idp.token('alice'), { name: 'assertion-test' });
  const viaToken = await assertionFor({ token }, target);
  assert.notEqual(viaToken.jwt, first.jwt);
  assert.ok(viaToken.payload.token_id, 'the token is named in the assertion');
  assert.equal((await assertionFor({ token }, target)).jwt, viaToken.jwt, 'and reused in turn');
  // and alice's is still alice's
  assert.equal((await assertionFor('alice', target)).jwt, first.jwt);
});

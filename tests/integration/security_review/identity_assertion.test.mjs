// Issue 9, item 16: X-Hubgate-Identity says under which grant a request was allowed.
// The assertion hubgate signs for the hub carries the org, the role and the region the policy
// allowed the request under — the same ones its audit event records — and null for each only
// when the decision names none (no org for an external namespace; neither for a listing, which
// is about no repo).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { startStack, auditRequestRow, teardownAll } from '../../lib/harness.mjs';

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

// The assertion the hub received for a request, verified with hubgate's published key.
async function assertionFor(user, target) {
  const token = await idp.token(user);
  const res = await fetch(`${gw.url}${target}`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200, `${user} ${target}: ${res.status}`);
  await res.arrayBuffer();
  const rid = res.headers.get('x-request-id');
  const entry = h.readLog().find((e) => e.origin === 'hub' && e.headers['x-request-id'] === rid);
  assert.ok(entry, `the hub received ${rid}`);
  const { payload } = await jwtVerify(entry.headers['x-hubgate-identity'], jwks, { issuer: gw.url });
  assert.equal(payload.rid, rid);
  return { payload, rid };
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

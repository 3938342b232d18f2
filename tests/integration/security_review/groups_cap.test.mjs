// Issue 9, finding 3: groups past the cap were dropped silently. hubgate kept the first 256
// groups of a token and dropped the rest, so a deny rule on group 257 was lost (403 with 2
// groups, 200 with 258). Now a token with more groups than the cap is refused (401 with a clear
// message, audited, counted), never truncated; hubgate tokens carry every group of their owner.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, requestToken, auditRequestRow, teardownAll } from '../../lib/harness.mjs';

const POLICY = {
  version: 1,
  orgs: { acme: { members: [{ group: 'acme-staff', role: 'read' }] } },
  rules: [{ id: 'suspended', effect: 'deny', actions: ['read', 'write', 'create', 'delete', 'admin'], subjects: [{ group: 'suspended' }] }],
};

const padding = (n) => Array.from({ length: n }, (_, i) => `team-${String(i).padStart(3, '0')}`);

let pg, idp, h, gw;

before(async () => {
  ({ pg, idp, hub: h, gw } = await startStack({ policy: POLICY }));
});

after(teardownAll);

const get = (path, token) => fetch(`${gw.url}${path}`, { headers: { Authorization: `Bearer ${token}` } });
const hubSaw = (rid) => h.readLog().filter((e) => e.headers['x-request-id'] === rid);

// The audit row of a request (written asynchronously for refusals: wait for it).
async function auditRow(rid) {
  const row = await auditRequestRow(pg, rid, "decision || '|' || coalesce(rule, '') || '|' || status || '|' || canonical");
  const [decision, rule, status, ...rest] = row.split('|');
  return { decision, rule, status: Number(status), canonical: JSON.parse(rest.join('|')) };
}

test('a deny rule on a group holds whatever the group count: past the cap the token is refused, not truncated', async () => {
  // the review's demonstration: 2 groups → the deny rule applies
  const two = await idp.forge({ user: 'bob', claims: { groups: ['acme-staff', 'suspended'] } });
  assert.equal((await get('/api/models/acme/bert', two)).status, 403);

  // 258 groups, "suspended" last: the base gateway kept 256 and answered 200
  const many = await idp.forge({ user: 'bob', claims: { groups: ['acme-staff', ...padding(256), 'suspended'] } });
  const res = await get('/api/models/acme/bert', many);
  assert.equal(res.status, 401, 'a token with more groups than hubgate evaluates must be refused');
  const message = res.headers.get('x-error-message');
  assert.match(message, /more than 256 groups/);
  assert.equal((await res.json()).error, message);
  const rid = res.headers.get('x-request-id');
  assert.deepEqual(hubSaw(rid), [], 'nothing reached the hub');
  const row = await auditRow(rid);
  assert.equal(row.decision, 'deny');
  assert.equal(row.rule, 'authentication');
  assert.equal(row.status, 401);
  assert.match(row.canonical.decision.reason, /more groups than hubgate evaluates/);

  // one past the cap, even without the deny group, is refused too (nothing is guessed)
  const over = await idp.forge({ user: 'bob', claims: { groups: ['acme-staff', ...padding(256)] } });
  assert.equal((await get('/api/models/acme/bert', over)).status, 401);
});

test('at the cap every group is evaluated, the last one included', async () => {
  const atCap = await idp.forge({ user: 'bob', claims: { groups: ['acme-staff', ...padding(254), 'suspended'] } });
  const res = await get('/api/models/acme/bert', atCap);
  assert.equal(res.status, 403, 'the 256th group carries the deny rule');
  assert.match(res.headers.get('x-error-message'), /suspended/);
  const fine = await idp.forge({ user: 'bob', claims: { groups: ['acme-staff', ...padding(255)] } });
  assert.equal((await get('/api/models/acme/bert', fine)).status, 200);
});

test('a groups claim hubgate cannot read whole is refused, not ignored', async () => {
  for (const groups of [{ suspended: true }, ['acme-staff', 7], 20]) {
    const token = await idp.forge({ user: 'bob', claims: { groups } });
    const res = await get('/api/models/acme/bert', token);
    assert.equal(res.status, 401, `groups ${JSON.stringify(groups)}`);
    assert.equal(res.headers.get('x-error-message'), 'Invalid credentials in Authorization header');
  }
});

test('hubgate tokens carry every group of their owner, the 256th included', async () => {
  const mint = (sso) => requestToken(gw, sso, { name: 'groups test', scope: 'read', expires_days: 1 });
  const suspended = await mint(await idp.forge({ user: 'bob', claims: { groups: ['acme-staff', ...padding(254), 'suspended'] } }));
  assert.equal(suspended.status, 201);
  assert.equal((await get('/api/models/acme/bert', suspended.body.token)).status, 403);
  const who = await (await get('/-/whoami', suspended.body.token)).json();
  assert.equal(who.groups.length, 256);
  assert.equal(who.groups[255], 'suspended');
  // an owner with too many groups cannot mint at all
  const over = await mint(await idp.forge({ user: 'bob', claims: { groups: ['acme-staff', ...padding(256)] } }));
  assert.equal(over.status, 401);
});

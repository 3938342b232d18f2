// Issue 9, item 9: a sealed egress link used without credentials (as git-lfs and redirect
// followers use them) was audited with no actor. Now the link carries who it was sealed for and
// the decision that allowed it (principal, email, hubgate token id, org, role, region, rule),
// and the egress events (request and completion) say so, like the request that produced the
// link; the link stays bound to its caller, and stays short enough for a request line.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startStack, mintToken, teardownAll, REPO } from '../../lib/harness.mjs';

const POLICY = fs.readFileSync(path.join(REPO, 'tests', 'fixtures', 'policy', 'members.json'), 'utf8');

let pg, idp, h, gw;

before(async () => {
  ({ pg, idp, hub: h, gw } = await startStack({ policy: POLICY, storage: true }));
});

after(teardownAll);

// The events of a request, once one of kind `until` is there.
async function events(requestId, until = 'completion') {
  for (let i = 0; i < 100; i++) {
    const rows = pg.psql(`select canonical from audit_event where request_id = '${requestId}' order by seq`);
    const list = rows ? rows.split('\n').map((l) => JSON.parse(l)) : [];
    if (list.some((e) => e.kind === until)) return list;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`no ${until} event for ${requestId}`);
}

// The sealed link for model.safetensors, and the events of the request that produced it.
async function sealedLink(authorization) {
  const res = await fetch(`${gw.url}/acme/bert/resolve/main/model.safetensors`, {
    headers: { Authorization: authorization },
    redirect: 'manual',
  });
  assert.equal(res.status, 302);
  const link = res.headers.get('location');
  assert.ok(link.startsWith(`${gw.url}/-/egress/`), link);
  return { link, origin: await events(res.headers.get('x-request-id')) };
}

test('a link used without credentials is audited under the caller and decision it was sealed for', async () => {
  const token = await idp.token('alice');
  const { link, origin } = await sealedLink(`Bearer ${token}`);
  const decided = origin.find((e) => e.kind === 'request');
  assert.equal(decided.decision.rule, 'orgs.acme.members[1]');

  const before = h.readLog().length;
  const res = await fetch(link, { headers: { 'X-Forwarded-For': '198.51.100.9' } }); // no credentials at all
  assert.equal(res.status, 200);
  const bytes = Buffer.from(await res.arrayBuffer());
  // Storage (often a third-party CDN) learns nothing of the client's network.
  const fetched = h.readLog().slice(before).filter((e) => e.origin === 'storage');
  assert.equal(fetched.length, 1);
  for (const name of ['x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-hubgate-identity', 'authorization'])
    assert.equal(fetched[0].headers[name], undefined, `storage received ${name}`);
  const egress = await events(res.headers.get('x-request-id'));
  assert.deepEqual(egress.map((e) => e.kind), ['request', 'completion']);
  for (const ev of egress) {
    assert.equal(ev.request.path, '/-/egress', 'the link itself is never recorded');
    assert.equal(ev.actor?.sub, 'alice', `${ev.kind}: the actor is the caller the link was sealed for`);
    assert.equal(ev.actor.iss, idp.issuer);
    assert.equal(ev.actor.email, 'alice@acme.example');
    assert.equal(ev.decision.effect, 'allow');
    assert.equal(ev.decision.org, 'acme');
    assert.equal(ev.decision.role, 'admin');
    assert.equal(ev.decision.region, 'us');
    assert.equal(ev.decision.rule, decided.decision.rule, `${ev.kind}: the rule that allowed the sealing request`);
    assert.equal(ev.request.repo, 'acme/bert');
    assert.equal(ev.request.repo_type, 'model');
    assert.equal(ev.request.action, 'read');
  }
  const done = egress.find((e) => e.kind === 'completion');
  assert.equal(done.response.status, 200);
  assert.equal(done.response.bytes_out, bytes.length);
  // The query columns say the same: reports by actor and org find the transfer.
  const cols = pg.psql(`select actor || '|' || org || '|' || repo || '|' || rule from audit_event
    where request_id = '${done.request_id}' and kind = 'completion'`);
  assert.equal(cols, `alice@acme.example|acme|acme/bert|${decided.decision.rule}`);
  assert.ok(link.length - `${gw.url}/`.length < 8192, 'the link fits in a request-target hubgate accepts');
});

test('a hubgate token\'s id follows its links; another caller cannot use them', async () => {
  const { token, id } = await mintToken(gw, await idp.token('alice'), { name: 'egress audit', scope: 'read' });
  const { link } = await sealedLink(`Bearer ${token}`);
  const res = await fetch(link, { method: 'HEAD' });
  assert.equal(res.status, 200);
  const egress = await events(res.headers.get('x-request-id'));
  for (const ev of egress) {
    assert.equal(ev.actor?.token_id, id, `${ev.kind}: the token id, never the token`);
    assert.equal(ev.actor.sub, 'alice');
    assert.ok(!JSON.stringify(ev).includes(token));
  }

  const bob = await idp.token('bob');
  const stolen = await fetch(link, { headers: { Authorization: `Bearer ${bob}` } });
  assert.equal(stolen.status, 403, 'bound to the caller it was sealed for');
  const [refused] = await events(stolen.headers.get('x-request-id'), 'request');
  assert.equal(refused.decision.effect, 'deny');
  assert.equal(refused.actor.sub, 'bob', 'the refusal names who tried');
  assert.equal(refused.request.path, '/-/egress');
});

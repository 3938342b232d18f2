// Issue 9, item 5: no privileged action without its audit event.
// - a token's name is checked before anything happens (length, charset, never shaped like a
//   credential): 400 with a clear message, no token;
// - minting and revoking a token, and loading a policy (at start and on reload), are done only
//   once their event is committed: when the audit log cannot take it, no token is minted, a
//   revoked token stays valid (503, try again), a new policy does not take effect (the old one
//   stays and the file is tried again at the next check), and the gateway does not start.
// The audit log is made unable to write by a trigger that refuses every insert into
// audit_event (the append-only trigger function, fired BEFORE INSERT), which leaves the token
// store and the gateway's database role as they are.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startStack, teardownAll, runHubgate, sleep, freePort, REPO } from '../../lib/harness.mjs';

const POLICY = JSON.parse(fs.readFileSync(path.join(REPO, 'tests', 'fixtures', 'policy', 'members.json'), 'utf8'));

let pg, idp, gw, alice, bob;

before(async () => {
  ({ pg, idp, gw } = await startStack({ policy: POLICY, config: { audit: { write_timeout_ms: 1000 } } }));
  [alice, bob] = await Promise.all([idp.token('alice'), idp.token('bob')]);
});

after(teardownAll);

const outage = () => pg.ddl('CREATE TRIGGER test_outage BEFORE INSERT ON audit_event FOR EACH ROW EXECUTE FUNCTION hubgate_append_only()');
const recover = () => pg.ddl('DROP TRIGGER test_outage ON audit_event');

const mint = (name, tok = alice) => fetch(`${gw.url}/-/tokens`, {
  method: 'POST',
  headers: { authorization: `Bearer ${tok}`, 'content-type': 'application/json' },
  body: JSON.stringify({ name, scope: 'read', expires_days: 1 }),
});
const revoke = (id) => fetch(`${gw.url}/-/tokens/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${alice}` } });
const bert = (tok) => fetch(`${gw.url}/api/models/acme/bert`, { headers: { authorization: `Bearer ${tok}` } });
const count = (sql) => Number(pg.psql(sql));

// Until the audit log writes again (the writer reconnects with a backoff of at most 2 s).
async function untilAuditWrites() {
  for (let i = 0; i < 80; i++) {
    if ((await bert(alice)).status === 200) return;
    await sleep(250);
  }
  assert.fail('the audit log did not recover');
}

test('a token name shaped like a credential, or outside the charset, is refused before anything happens', async () => {
  const cases = [
    ['a Hub token', `hf_${'a'.repeat(34)}`, /looks like a credential/],
    ['a hubgate token', `hf_gw_${'Zx9-'.repeat(8)}`, /looks like a credential/],
    ['a bearer header', 'Bearer x', /looks like a credential/],
    ['a basic header', 'basic Zm9vOmJhcg==', /looks like a credential|may hold only/],
    ['a JWT', 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln', /looks like a credential/],
    ['a control character', 'lap\ntop', /may hold only/],
    ['a right-to-left override', 'laptop\u202ecod.exe', /may hold only/],
    ['too long', 'x'.repeat(129), /1 to 128 characters/],
    ['empty', '', /1 to 128 characters/],
    ['a leading space', ' laptop', /must not start or end with a space/],
  ];
  for (const [what, name, want] of cases) {
    const r = await mint(name);
    const body = await r.text();
    assert.equal(r.status, 400, `${what}: ${body}`);
    assert.match(body, want, what);
  }
  assert.equal(count('select count(*) from access_token'), 0, 'no token was minted');
  assert.equal(count(`select count(*) from audit_event where kind = 'token.minted'`), 0);

  const ok = await mint('laptop (work): CI/CD #2');
  assert.equal(ok.status, 201, await ok.clone().text());
  const { id } = await ok.json();
  // Committed before the answer: no waiting.
  assert.equal(count(`select count(*) from audit_event where kind = 'token.minted' and request_id = '${ok.headers.get('x-request-id')}' and canonical like '%"token_id":"${id}"%'`), 1);
});

test('mint and revoke complete only once their event is committed', async () => {
  const good = await (await mint('before-outage')).json();
  let refusedRevoke;
  assert.equal((await bert(good.token)).status, 200);

  outage();
  try {
    const m = await mint('during-outage');
    const body = await m.text();
    assert.equal(m.status, 503, body);
    assert.match(body, /audit log cannot record this now: no token was minted/);
    assert.equal(count(`select count(*) from access_token where name = 'during-outage'`), 0, 'no token without its event');

    const r = await revoke(good.id);
    const rbody = await r.text();
    refusedRevoke = r.headers.get('x-request-id');
    assert.equal(r.status, 503, rbody);
    assert.match(rbody, /the token was not revoked; try again/);
    assert.equal(pg.psql(`select revoked_at is null from access_token where id = '${good.id}'`), 't');
  } finally {
    recover();
  }
  await untilAuditWrites();
  assert.equal((await bert(good.token)).status, 200, 'the refused revocation changed nothing');
  const r = await revoke(good.id);
  assert.equal(r.status, 200);
  assert.equal(count(`select count(*) from audit_event where kind = 'token.revoked' and request_id = '${r.headers.get('x-request-id')}'`), 1,
    'committed before the answer');
  assert.equal((await bert(good.token)).status, 401);
  // The refused attempt is in the log too, as what it was: a request answered 503 that says the
  // token was not revoked (its token.revoked event, written once the log recovered, is the
  // attempt; the request event with the same request id is the outcome).
  const outcome = JSON.parse(pg.psql(`select canonical from audit_event where kind = 'request' and request_id = '${refusedRevoke}'`));
  assert.equal(outcome.response.status, 503);
  assert.match(outcome.decision.reason, /the token was not revoked/);
  const listed = await (await fetch(`${gw.url}/-/tokens`, { headers: { authorization: `Bearer ${alice}` } })).json();
  assert.ok(!listed.some((t) => t.name === 'during-outage'), 'the refused mint left nothing');
});

test('a policy reload takes effect only once its policy.loaded event is committed, and is retried', async () => {
  const file = path.join(gw.dir, 'policy.json');
  // B drops acme-staff: bob (acme-staff) reads acme/bert under A, gets 404 under B.
  const B = { ...POLICY, orgs: { acme: { ...POLICY.orgs.acme, members: POLICY.orgs.acme.members.filter((m) => m.group !== 'acme-staff') } } };
  B.tests = POLICY.tests.filter((t) => t.name !== 'bob only reads');
  assert.equal((await bert(bob)).status, 200);

  outage();
  try {
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(B));
    fs.renameSync(`${file}.tmp`, file);
    await sleep(3500); // several file checks, each refused
    // Under A bob is allowed, and the request cannot be recorded: 503. Under B he would get 404.
    const r = await bert(bob);
    assert.equal(r.status, 503, 'the previous policy still decides while its successor cannot be recorded');
    assert.match(gw.stderr(), /not loaded: the audit log cannot record the change; the previous policy stays/);
  } finally {
    recover();
  }
  let status = 0;
  for (let i = 0; i < 80 && status !== 404; i++) {
    await sleep(250);
    status = (await bert(bob)).status;
  }
  assert.equal(status, 404, 'the new policy was loaded at a later check, without a signal');
  const sha = pg.psql(`select canonical::json->'details'->>'sha256' from audit_event where kind = 'policy.loaded' order by ts desc limit 1`);
  assert.match(sha, /^[0-9a-f]{64}$/);
  const decided = pg.psql(`select canonical::json->'decision'->>'policy_sha256' from audit_event where kind = 'request' and canonical::json->'actor'->>'sub' = 'bob' order by ts desc limit 1`);
  assert.equal(decided, sha, 'every decision names a policy whose load is in the log');
});

test('the gateway does not start when the audit log cannot record the policy load', async () => {
  const cfg = JSON.parse(fs.readFileSync(gw.configFile, 'utf8'));
  const file = path.join(gw.dir, 'second.json');
  const port = await freePort();
  fs.writeFileSync(file, JSON.stringify({ ...cfg, listen: `127.0.0.1:${port}`, public_url: `http://127.0.0.1:${port}`, audit: { ...cfg.audit, stream: 'second' } }), { mode: 0o600 });
  outage();
  let r;
  try {
    r = await runHubgate(['serve', '--config', file], { timeoutMs: 20000 });
  } catch (e) {
    assert.fail(`serve started although the policy's load could not be recorded (${e.message})`);
  } finally {
    recover();
  }
  assert.notEqual(r.code, 0, r.stderr);
  assert.match(r.stderr, /the audit log cannot record the policy's load: not starting/);
});

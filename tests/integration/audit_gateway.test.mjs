// The audit log in the gateway (issue 6): every allowed request's decision event is durable
// before the request is forwarded. Proven from the client's side: every 2xx a client saw has
// its `request` event (matched by X-Request-Id), across a kill -9 of hubgate and a loss of
// PostgreSQL, in strict mode (503 within the write timeout, recovery without restart) and in
// spool mode (2xx continue; the spool drains and the chain verifies).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startStack, teardownAll, runHubgate, sleep, REPO } from '../lib/harness.mjs';

const POLICY = fs.readFileSync(path.join(REPO, 'tests', 'fixtures', 'policy', 'members.json'), 'utf8');

let s, pg, idp, token;

before(async () => {
  s = await startStack({ gateway: false });
  ({ pg, idp } = s);
  token = await idp.token('alice');
});

after(teardownAll);

function gateway(audit = {}) {
  return s.gateway({
    policy: POLICY,
    storage: true,
    config: { audit: { write_timeout_ms: 1000, checkpoint_every: 50, checkpoint_seconds: 1, ...audit } },
  });
}

// A load loop: sequential requests from `n` workers until stopped; records every answer.
function load(gw, n = 4) {
  const seen = [];
  let stop = false;
  const workers = Array.from({ length: n }, async () => {
    while (!stop) {
      try {
        const res = await fetch(`${gw.url}/api/models/acme/bert`, { headers: { Authorization: `Bearer ${token}` } });
        await res.arrayBuffer();
        seen.push({ status: res.status, rid: res.headers.get('x-request-id'), at: Date.now() });
      } catch {
        seen.push({ status: 0, at: Date.now() });
        await sleep(20);
      }
    }
  });
  return { seen, stop: async () => { stop = true; await Promise.all(workers); } };
}

const events = (stream) => new Map(
  pg.psql(`select e.request_id || '|' || e.kind || '|' || coalesce(e.decision, '') from audit_event e join audit_stream s on s.id = e.stream_id where s.name = '${stream}' and e.request_id is not null`)
    .trim().split('\n').filter(Boolean).map((l) => l.split('|')).map(([rid, kind, decision]) => [`${rid}|${kind}`, decision]),
);

// The 2xx answers in `seen` whose request has no allow event in `stream`.
function unaudited(stream, seen) {
  const ev = events(stream);
  return seen.filter((s) => s.status >= 200 && s.status < 300 && ev.get(`${s.rid}|request`) !== 'allow');
}

// A gateway in audit mode `mode` under load, then PostgreSQL stopped (a crash).
async function outageUnderLoad(mode) {
  const gw = await gateway({ mode, write_timeout_ms: 1000 });
  const l = load(gw);
  await sleep(800);
  const lostAt = Date.now();
  await pg.stopImmediate();
  return { gw, stream: gw.config.audit.stream, l, lostAt };
}

async function verify(stream) {
  const r = await runHubgate(['audit', 'verify', '--database', pg.url, '--stream', stream, '--json']);
  assert.equal(r.code, 0, `audit verify: ${r.stdout}${r.stderr}`);
  return JSON.parse(r.stdout);
}

test('allowed and denied requests alike are recorded with their decision; the chain verifies', async () => {
  const gw = await gateway();
  const stream = gw.config.audit.stream;
  const ok = await fetch(`${gw.url}/api/models/acme/bert`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(ok.status, 200);
  const eve = await idp.token('eve');
  const denied = await fetch(`${gw.url}/api/models/acme/bert`, { headers: { Authorization: `Bearer ${eve}` } });
  assert.equal(denied.status, 404);
  const forged = await fetch(`${gw.url}/api/models/acme/bert`, { headers: { Authorization: 'Bearer not.a.token' } });
  assert.equal(forged.status, 401);
  await gw.stop();
  const ev = events(stream);
  assert.equal(ev.get(`${ok.headers.get('x-request-id')}|request`), 'allow');
  assert.equal(ev.get(`${ok.headers.get('x-request-id')}|completion`), 'allow');
  assert.equal(ev.get(`${denied.headers.get('x-request-id')}|request`), 'deny');
  assert.equal(ev.get(`${forged.headers.get('x-request-id')}|request`), 'deny');
  const row = pg.psql(`select canonical from audit_event where request_id = '${ok.headers.get('x-request-id')}' and kind = 'request'`);
  const canonical = JSON.parse(row);
  assert.equal(canonical.actor.sub, 'alice');
  assert.equal(canonical.decision.rule, 'orgs.acme.members[1]');
  assert.match(canonical.decision.policy_sha256, /^[0-9a-f]{64}$/);
  assert.doesNotMatch(row, new RegExp(token.split('.')[2]), 'no credential in the event');
  const kinds = pg.psql(`select distinct kind from audit_event e join audit_stream s on s.id = e.stream_id where s.name = '${stream}' order by 1`).trim().split('\n');
  for (const k of ['gateway.started', 'gateway.stopped', 'policy.loaded', 'request', 'completion']) assert.ok(kinds.includes(k), `${k} recorded`);
  await verify(stream);
});

test('kill -9 under load: after a restart the chain verifies and every 2xx has its event', async () => {
  const gw = await gateway();
  const stream = gw.config.audit.stream;
  const l = load(gw);
  // some answers first, however slow the machine is (a fixed wait would be a timing threshold)
  const okNow = () => l.seen.filter((x) => x.status >= 200 && x.status < 300).length;
  for (let i = 0; i < 600 && okNow() <= 20; i++) await sleep(50);
  gw.kill9();
  await sleep(200);
  await l.stop();
  const ok = l.seen.filter((s) => s.status >= 200 && s.status < 300);
  assert.ok(ok.length > 20, `load ran (${ok.length} answers)`);
  // same stream, same key: it resumes the chain where the dead instance left it
  const again = await s.stack.hubgate({
    config: { ...gw.config, listen: undefined, public_url: undefined },
    policy: POLICY,
    files: { 'us.token': `${s.hub.serviceToken}\n`, 'audit-ed25519.pem': fs.readFileSync(path.join(gw.dir, 'audit-ed25519.pem')) },
  });
  assert.equal((await fetch(`${again.url}/api/models/acme/bert`, { headers: { Authorization: `Bearer ${token}` } })).status, 200);
  await again.stop();
  assert.deepEqual(unaudited(stream, ok), [], 'every 2xx the client saw was audited before it was forwarded');
  await verify(stream);
});

test('strict mode, database lost under load: 503s within the write timeout, no 2xx unaudited, recovery without restart', async () => {
  const { gw, stream, l, lostAt } = await outageUnderLoad('strict');
  await sleep(3000);
  const during = l.seen.filter((s) => s.at > lostAt + 1500);
  assert.ok(during.length > 0 && during.every((s) => s.status === 503), `only 503 while the database is away: ${JSON.stringify([...new Set(during.map((s) => s.status))])}`);
  await pg.start();
  let recovered = false;
  for (let i = 0; i < 60 && !recovered; i++) {
    await sleep(250);
    recovered = l.seen.slice(-4).some((s) => s.status === 200 && s.at > lostAt + 3000);
  }
  await l.stop();
  assert.ok(recovered, 'answers turn back to 200 without a restart');
  assert.ok(gw.running(), 'hubgate kept running');
  await gw.stop();
  assert.deepEqual(unaudited(stream, l.seen), [], 'no 2xx lacks its event');
  await verify(stream);
});

test('spool mode, database lost under load: 2xx continue, the spool drains, the chain verifies', async () => {
  const { gw, stream, l, lostAt } = await outageUnderLoad('spool');
  await sleep(2500);
  const during = l.seen.filter((s) => s.at > lostAt + 500);
  assert.ok(during.filter((s) => s.status === 200).length > 10, 'requests keep being served while the database is away');
  await pg.start();
  await sleep(2500);
  await l.stop();
  await gw.stop();
  assert.deepEqual(unaudited(stream, l.seen), [], 'every 2xx reached PostgreSQL after the drain');
  const spooled = pg.psql(`select count(*) from audit_event e join audit_stream s on s.id = e.stream_id where s.name = '${stream}' and e.kind = 'audit.spooled'`).trim();
  assert.ok(Number(spooled) >= 1, 'the episode is recorded');
  await verify(stream);
});

test('a second instance on a live stream refuses to start, with a clear message', async () => {
  const gw = await gateway();
  const second = await runHubgate(['serve', '--config', gw.configFile]);
  assert.notEqual(second.code, 0);
  assert.match(second.stderr, /stream .*(held|in use|live)/i);
  await gw.stop();
});

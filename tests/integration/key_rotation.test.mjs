// Key rotation without a restart (issue 16, part; docs/runbook.md "Rotating keys"): one gateway,
// real PostgreSQL, the Hub fixture and @huggingface/hub as the client. Each step edits the
// config file and sends SIGHUP, as `systemctl reload` does:
//   (a) the audit signing key: the writer signs its head with the old key, registers the new
//       one and signs every later checkpoint with it; `audit verify` passes with both public
//       keys and fails pinned to the old one alone; a keys.rotated event records the key ids;
//   (b) the identity assertion key: the next key published at /-/jwks.json before it signs,
//       then signing with the previous one still published, then the previous one dropped;
//       the assertions the hub receives switch kid at the switch, and verify against the JWKS;
//   (c) the egress key: a link sealed before the rotation still downloads after it (the old
//       key listed as previous), and is refused once the old key is no longer listed;
//   (d) a broken config (or an unfit key file) on SIGHUP changes nothing and says why;
//   (e) with the database away the new audit key cannot be registered: the old key keeps
//       signing, the log says why, and the next reload once it is back rotates.
// The gateway runs two event loops, so two audit streams rotate together. The same keys again
// change nothing and record nothing; `serve --check` checks the new settings. Bounds only end
// a hung test.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as hub from '@huggingface/hub';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { REPO, startStack, runHubgate, mintToken, teardownAll, sleep } from '../lib/harness.mjs';

const POLICY = fs.readFileSync(path.join(REPO, 'tests', 'fixtures', 'policy', 'members.json'), 'utf8');

let s, pg, idp, h, gw, cfg, alice;

const write = (name, text, mode = 0o600) => {
  const file = path.join(gw.dir, name);
  fs.writeFileSync(file, text, { mode });
  fs.chmodSync(file, mode);
  return file;
};
const egressKey = () => `${crypto.randomBytes(32).toString('hex')}\n`;
const p256 = () => crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const pem = (k) => k.export({ type: k.type === 'private' ? 'pkcs8' : 'spki', format: 'pem' });

// The number of "keys reloaded" lines so far: each SIGHUP that got past validation ends with one.
const reloads = () => (gw.stderr().match(/keys reloaded from /g) ?? []).length;
const refusals = () => (gw.stderr().match(/nothing reloaded/g) ?? []).length;

// Writes the config (the current one, edited by `edit`) and sends SIGHUP; resolves once the
// gateway has said it reloaded (or refused, with refused: true).
async function reload(edit = (c) => c, { refused = false, raw = null } = {}) {
  const before = refused ? refusals() : reloads();
  const next = raw === null ? edit(structuredClone(cfg)) : null;
  fs.writeFileSync(gw.configFile, raw ?? JSON.stringify(next, null, 2));
  if (next) cfg = next;
  gw.signal('SIGHUP');
  for (let i = 0; (refused ? refusals() : reloads()) === before; i++) {
    assert.ok(i < 400, `no reload after SIGHUP:\n${gw.stderr().slice(-3000)}`);
    await sleep(50);
  }
}

const rotations = (purpose) => {
  const rows = pg.psql(`select canonical from audit_event where kind = 'keys.rotated' order by ts, seq`);
  return (rows ? rows.split('\n').map((l) => JSON.parse(l)) : []).filter((e) => !purpose || e.details.purpose === purpose);
};
const jwks = async () => (await fetch(`${gw.url}/-/jwks.json`)).json();
const kids = async () => (await jwks()).keys.map((k) => k.kid);
// The RFC 7638 thumbprint hubgate uses as kid (truncated to 128 bits).
const kidOf = (key) => {
  const pub = typeof key === 'object' && key.type === 'public' ? key : crypto.createPublicKey(key);
  const { x, y } = pub.export({ format: 'jwk' });
  return crypto.createHash('sha256').update(`{"crv":"P-256","kty":"EC","x":"${x}","y":"${y}"}`).digest().subarray(0, 16).toString('base64url');
};

// The X-Hubgate-Identity the hub received for one request made by a real client.
async function forwardedAssertion() {
  const mark = h.readLog().length;
  const info = await hub.modelInfo({ name: 'acme/bert', hubUrl: gw.url, accessToken: alice });
  assert.equal(info.name, 'acme/bert');
  const entry = h.readLog().slice(mark).find((e) => e.headers['x-hubgate-identity']);
  assert.ok(entry, 'the hub received an assertion');
  return entry.headers['x-hubgate-identity'];
}

// A sealed download link for model.safetensors (the redirect hubgate answers with).
async function sealedLink() {
  const res = await fetch(`${gw.url}/acme/bert/resolve/main/model.safetensors`, { headers: { authorization: `Bearer ${alice}` }, redirect: 'manual' });
  assert.equal(res.status, 302);
  const link = res.headers.get('location');
  assert.ok(link.startsWith(`${gw.url}/-/egress/`), link);
  return link;
}

// the streams of the two event loops: audit.stream and audit.stream.1
const streams = () => [cfg.audit.stream, `${cfg.audit.stream}.1`];
const streamId = (name) => pg.psql(`select id from audit_stream where name = '${name}'`);
const lastCheckpointKey = (name) => pg.psql(`select key_id from audit_checkpoint where stream_id = ${streamId(name)} order by ts desc limit 1`);
const publicPem = (file) => crypto.createPublicKey(fs.readFileSync(file)).export({ type: 'spki', format: 'pem' });

before(async () => {
  s = await startStack({ gateway: false });
  ({ pg, idp, hub: h } = s);
  const assertionA = p256();
  gw = await s.gateway({
    policy: POLICY,
    storage: true,
    files: { 'egress-1.key': egressKey(), 'assertion-a.pem': pem(assertionA.privateKey) },
    config: {
      egress_key_file: 'egress-1.key',
      identity: { issuers: [{ issuer: idp.issuer, audience: 'hubgate' }], assertion_key: 'assertion-a.pem' },
      audit: { checkpoint_every: 5, checkpoint_seconds: 1, write_timeout_ms: 1000 },
      event_loops: 2,
    },
  });
  cfg = JSON.parse(fs.readFileSync(gw.configFile, 'utf8'));
  // a hubgate token, as the Hub's clients take one
  alice = (await mintToken(gw, await idp.token('alice'), { name: 'rotation', scope: 'read' })).token;
});

after(teardownAll);

test('(a) the audit signing key: the head signed by both, later checkpoints by the new key, verify with both keys', async () => {
  const oldPub = write('audit-old.pub', publicPem(path.join(gw.dir, cfg.audit.signing_key)), 0o644);
  const newKey = path.join(gw.dir, 'audit-new.pem'), newPub = path.join(gw.dir, 'audit-new.pub');
  const k = await runHubgate(['keygen', '--out', newKey, '--pubout', newPub]);
  assert.equal(k.code, 0, k.stderr);
  const newId = k.stdout.match(/key id: ([0-9a-f]{16})/)[1];
  for (let i = 0; i < 3; i++) await forwardedAssertion(); // events under the old key
  for (const name of streams()) {
    for (let i = 0; !lastCheckpointKey(name); i++) {
      assert.ok(i < 100, `${name} has a checkpoint`);
      await sleep(50);
    }
  }
  const oldId = lastCheckpointKey(cfg.audit.stream);
  assert.match(oldId, /^[0-9a-f]{16}$/);
  assert.notEqual(oldId, newId);

  await reload((c) => ({ ...c, audit: { ...c.audit, signing_key: 'audit-new.pem' } }));
  const [ev] = rotations('audit_signing');
  assert.ok(ev, `a keys.rotated event:\n${gw.stderr().slice(-2000)}`);
  assert.deepEqual([ev.details.from, ev.details.to, ev.details.trigger], [[oldId], [newId], 'sighup']);
  assert.ok(!JSON.stringify(ev).includes('PRIVATE'), 'no key material in the event');
  await gw.waitLog(new RegExp(`audit signing key ${newId} in use by 2 streams`));

  for (let i = 0; i < 6; i++) await forwardedAssertion(); // past checkpoint_every: a checkpoint of new events
  for (const name of streams()) {
    const id = streamId(name);
    const registered = pg.psql(`select key_id from audit_stream_key where stream_id = ${id} order by key_id`).split('\n');
    assert.ok(registered.includes(newId), `the new key is registered for ${name}`);
    for (let i = 0; lastCheckpointKey(name) !== newId; i++) {
      assert.ok(i < 100, `${name}: a checkpoint signed with the new key`);
      await sleep(50);
    }
    // the handover head carries a checkpoint under each key
    const both = pg.psql(`select count(distinct key_id) from audit_checkpoint where stream_id = ${id} and seq = (select min(seq) from audit_checkpoint where stream_id = ${id} and key_id = '${newId}')`);
    assert.equal(both, '2', `${name}: the handover point is signed by both keys`);
    // nothing signed by the old key after the new one took over
    const late = pg.psql(`select count(*) from audit_checkpoint where stream_id = ${id} and key_id = '${oldId}' and ts > (select min(ts) from audit_checkpoint where stream_id = ${id} and key_id = '${newId}')`);
    assert.equal(late, '0', `${name}: the old key signs nothing after the handover`);
  }

  const cpFile = path.join(gw.dir, 'spool', `${cfg.audit.stream}.checkpoints`);
  const ok = await runHubgate(['audit', 'verify', '--database', pg.url, '--pubkey', oldPub, '--pubkey', newPub]);
  assert.equal(ok.code, 0, `${ok.stdout}${ok.stderr}`);
  const withFile = await runHubgate(['audit', 'verify', '--database', pg.url, '--stream', cfg.audit.stream, '--pubkey', oldPub, '--pubkey', newPub, '--checkpoint', cpFile]);
  assert.equal(withFile.code, 0, `the checkpoint file holds both keys' checkpoints:\n${withFile.stdout}${withFile.stderr}`);
  const pinned = await runHubgate(['audit', 'verify', '--database', pg.url, '--stream', cfg.audit.stream, '--pubkey', oldPub]);
  assert.equal(pinned.code, 1, `verify pinned to the old key must fail on the new checkpoints:\n${pinned.stdout}${pinned.stderr}`);
  assert.match(`${pinned.stdout}${pinned.stderr}`, new RegExp(newId));
});

test('(b) the identity assertion key: publish next, switch, drop previous; the hub sees the new kid after the switch', async () => {
  const a = fs.readFileSync(path.join(gw.dir, 'assertion-a.pem'), 'utf8');
  const kidA = kidOf(a);
  const b = p256();
  const kidB = kidOf(b.publicKey);
  write('assertion-b.pem', pem(b.privateKey));
  write('assertion-b.pub', pem(b.publicKey), 0o644);
  assert.deepEqual(await kids(), [kidA]);
  assert.equal(decodeProtectedHeader(await forwardedAssertion()).kid, kidA);

  // 1. publish the next key: relying parties can fetch it before anything is signed with it
  await reload((c) => ({ ...c, identity: { ...c.identity, assertion_published_keys: ['assertion-b.pub'] } }));
  assert.deepEqual(await kids(), [kidA, kidB]);
  const stillA = await forwardedAssertion();
  assert.equal(decodeProtectedHeader(stillA).kid, kidA, 'the published key never signs');
  const overlap = createLocalJWKSet(await jwks());

  // 2. sign with it, the previous key still published (here its private key file, mode 0600)
  await reload((c) => ({ ...c, identity: { ...c.identity, assertion_key: 'assertion-b.pem', assertion_published_keys: ['assertion-a.pem'] } }));
  assert.deepEqual(await kids(), [kidB, kidA]);
  const withB = await forwardedAssertion();
  assert.equal(decodeProtectedHeader(withB).kid, kidB, 'the first request after the switch carries the new kid (the reuse cache starts empty)');
  const { payload } = await jwtVerify(withB, createLocalJWKSet(await jwks()), { issuer: gw.url });
  assert.equal(payload.sub, 'alice');
  // a relying party that cached the JWKS during the overlap verifies both old and new assertions
  await jwtVerify(withB, overlap, { issuer: gw.url });
  await jwtVerify(stillA, createLocalJWKSet(await jwks()), { issuer: gw.url });

  // 3. once what A signed has expired, drop it
  await reload((c) => ({ ...c, identity: { issuers: c.identity.issuers, assertion_key: 'assertion-b.pem' } }));
  assert.deepEqual(await kids(), [kidB]);
  await assert.rejects(jwtVerify(stillA, createLocalJWKSet(await jwks()), { issuer: gw.url }), 'an assertion of the dropped key no longer verifies');

  const evs = rotations('identity_assertion');
  assert.deepEqual(evs.map((e) => [e.details.from, e.details.to]), [
    [[kidA], [kidA, kidB]],
    [[kidA, kidB], [kidB, kidA]],
    [[kidB, kidA], [kidB]],
  ]);

  // the same keys again: nothing happens, nothing is recorded
  const n = rotations().length;
  await reload();
  assert.equal(rotations().length, n);
  assert.match(gw.stderr(), /keys reloaded from .*: none changed/);
  assert.deepEqual(await kids(), [kidB]);
});

test('(c) the egress key: a link sealed before the rotation downloads after it, until its key is no longer listed', async () => {
  const before = await sealedLink();
  const first = await fetch(before);
  assert.equal(first.status, 200);
  const bytes = Buffer.from(await first.arrayBuffer());

  write('egress-2.key', egressKey());
  await reload((c) => ({ ...c, egress_key_file: 'egress-2.key', egress_previous_key_files: ['egress-1.key'] }));
  const [ev] = rotations('egress');
  assert.equal(ev.details.to.length, 2);
  assert.equal(ev.details.from.length, 1);
  assert.equal(ev.details.to[1], ev.details.from[0], 'the old key is now the previous one');
  assert.ok(ev.details.to.every((id) => /^[0-9a-f]{16}$/.test(id)), 'key ids only');

  const again = await fetch(before);
  assert.equal(again.status, 200, 'a link sealed under the previous key still downloads');
  assert.deepEqual(Buffer.from(await again.arrayBuffer()), bytes);
  const after = await sealedLink();
  assert.notEqual(after, before);
  // a real client, redirected through a link sealed under the new key
  const blob = await hub.downloadFile({ repo: 'acme/bert', path: 'model.safetensors', hubUrl: gw.url, accessToken: alice });
  assert.deepEqual(Buffer.from(await blob.arrayBuffer()), bytes);

  // the previous key dropped: its links are refused, the new ones still work
  await reload((c) => {
    const { egress_previous_key_files: _, ...rest } = c;
    return rest;
  });
  const refused = await fetch(before);
  assert.equal(refused.status, 404, 'a link sealed under a key no longer listed is refused');
  assert.match(await refused.text(), /did not issue this link/);
  assert.equal((await fetch(after)).status, 200);
  assert.equal(rotations('egress').length, 2);
});

test('(d) a broken config or an unfit key file on SIGHUP changes nothing and says why', async () => {
  const kidsBefore = await kids();
  const link = await sealedLink();
  const n = rotations().length;
  const good = JSON.stringify(cfg, null, 2);

  // not JSON at all, with a key change that must not be applied either
  write('egress-3.key', egressKey());
  await reload(undefined, { refused: true, raw: good.replace('"egress-2.key"', '"egress-3.key"').replace(/\}\s*$/, ',}') });
  assert.match(gw.stderr(), /the config .*hubgate\.json is invalid, nothing reloaded: .*hubgate\.json:\d+:\d+/);

  // valid JSON, but the next assertion key readable by everyone: refused as at start
  const c = p256();
  write('assertion-c.pem', pem(c.privateKey), 0o644);
  await reload((x) => ({ ...x, egress_key_file: 'egress-3.key', identity: { issuers: x.identity.issuers, assertion_key: 'assertion-c.pem' } }), { refused: true });
  assert.match(gw.stderr(), /identity\.assertion_key: .*assertion-c\.pem/);
  assert.match(gw.stderr(), /a key file of .* is unfit \(above\), nothing reloaded/);

  assert.equal(rotations().length, n, 'no keys.rotated event');
  assert.deepEqual(await kids(), kidsBefore);
  assert.equal((await fetch(link)).status, 200, 'links sealed under the key in use still open');
  assert.equal(decodeProtectedHeader(await forwardedAssertion()).kid, kidsBefore[0]);
  assert.ok(gw.running(), 'still serving');

  // fixed: the key file made private, the reload goes through
  fs.chmodSync(path.join(gw.dir, 'assertion-c.pem'), 0o600);
  await reload();
  assert.deepEqual(await kids(), [kidOf(c.privateKey)]);
  assert.equal(rotations().length, n + 2, 'the egress and the assertion key, once each');
});

test('other settings differing from the running config are named, for the next start', async () => {
  await reload((c) => ({ ...c, timeouts: { client_idle_seconds: 30 } }));
  assert.match(gw.stderr(), /changed in .*hubgate\.json, taking effect at the next start: timeouts/);
});

test('serve --check checks the previous egress keys and the published assertion keys', async () => {
  write('egress-open.key', egressKey(), 0o644);
  write('not-a-key.pub', 'not a key\n', 0o644);
  const file = path.join(gw.dir, 'check.json');
  fs.writeFileSync(file, JSON.stringify({
    ...cfg,
    egress_previous_key_files: ['egress-open.key'],
    identity: { ...cfg.identity, assertion_published_keys: ['not-a-key.pub'] },
  }));
  const r = await runHubgate(['serve', '--config', file, '--check']);
  assert.equal(r.code, 1, `${r.stdout}${r.stderr}`);
  assert.match(r.stderr, /egress_previous_key_files: .*egress-open\.key is readable or writable by group or others .*chmod 600/);
  assert.match(r.stderr, /identity\.assertion_published_keys: no P-256 key in .*not-a-key\.pub/);
  fs.chmodSync(path.join(gw.dir, 'egress-open.key'), 0o600);
  fs.writeFileSync(file, JSON.stringify({ ...cfg, egress_previous_key_files: ['egress-open.key'], identity: { ...cfg.identity, assertion_published_keys: ['assertion-b.pub'] } }));
  const fine = await runHubgate(['serve', '--config', file, '--check']);
  assert.equal(fine.code, 0, `${fine.stdout}${fine.stderr}`);
});

test('the evidence report counts keys.rotated among privileged actions', async () => {
  const out = path.join(gw.dir, 'report');
  const from = new Date(Date.now() - 3600e3).toISOString().replace(/\.\d+Z$/, 'Z');
  const to = new Date(Date.now() + 60e3).toISOString().replace(/\.\d+Z$/, 'Z');
  const r = await runHubgate(['report', 'soc2', '--database', pg.url, '--from', from, '--to', to, '--out', out]);
  assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
  const report = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
  const find = (o) => (o && typeof o === 'object' ? (o.privileged_actions ?? Object.values(o).map(find).find(Boolean)) : undefined);
  const privileged = find(report);
  const row = privileged.by_kind.find((k) => k.kind === 'keys.rotated');
  assert.equal(row?.count, rotations().length, JSON.stringify(privileged.by_kind));
  assert.equal(gw.running(), true);
});

test('(e) the database away: the new audit key is not registered, the old one keeps signing; the next reload rotates', async () => {
  const current = lastCheckpointKey(cfg.audit.stream);
  const third = path.join(gw.dir, 'audit-third.pem'), thirdPub = path.join(gw.dir, 'audit-third.pub');
  const k = await runHubgate(['keygen', '--out', third, '--pubout', thirdPub]);
  assert.equal(k.code, 0, k.stderr);
  const thirdId = k.stdout.match(/key id: ([0-9a-f]{16})/)[1];
  const n = rotations('audit_signing').length;
  await pg.stop();
  await reload((c) => ({ ...c, audit: { ...c.audit, signing_key: 'audit-third.pem' } }));
  assert.match(gw.stderr(), /audit: stream .*: key [0-9a-f]{16} not taken, the old key still signs|the writer did not take the new key within \d+ ms \(.*\): the old key still signs/);
  assert.match(gw.stderr(), /keys reloaded from .*: none changed/);
  await pg.start();
  for (let i = 0; !/database back after/.test(gw.stderr()); i++) {
    assert.ok(i < 400, 'the writers reconnect');
    await sleep(50);
  }
  assert.equal(rotations('audit_signing').length, n, 'no rotation recorded');
  assert.equal(lastCheckpointKey(cfg.audit.stream), current, 'the old key still signs');
  await reload();
  const last = rotations('audit_signing').at(-1);
  assert.deepEqual([last.details.from, last.details.to], [[current], [thirdId]]);
  for (const name of streams()) {
    for (let i = 0; lastCheckpointKey(name) !== thirdId; i++) {
      assert.ok(i < 100, `${name}: a checkpoint signed with the third key`);
      await sleep(50);
    }
  }
  const pubs = ['audit-old.pub', 'audit-new.pub', 'audit-third.pub'].flatMap((f) => ['--pubkey', path.join(gw.dir, f)]);
  const ok = await runHubgate(['audit', 'verify', '--database', pg.url, ...pubs]);
  assert.equal(ok.code, 0, `${ok.stdout}${ok.stderr}`);
});

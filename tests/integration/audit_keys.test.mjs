// The audit log's keys and checkpoints over years (docs/audit.md, "Keys and checkpoints"):
// - `hubgate audit keys` lists every key a stream may sign with — the one it was created with
//   and one registered when the gateway came back with a new audit.signing_key — with what each
//   signed; --pubout writes them for pinning; the old checkpoints keep verifying with the old key;
// - `hubgate audit checkpoints export` copies the signed checkpoints into a file an auditor keeps:
//   whole or absent, never over an existing file without --force, nothing written when a
//   signature does not verify; the export later proves a removed tail;
// - SIGUSR1 makes the gateway reopen its checkpoint file (log rotation): the renamed file stops
//   growing, the new one gets every later checkpoint, and together they hold every checkpoint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startStack, runHubgate, makeTempDir, sleep } from '../lib/harness.mjs';

const POLICY = fs.readFileSync(new URL('../fixtures/policy/members.json', import.meta.url), 'utf8');
const lines = (f) => fs.readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));

async function keygen(dir, name) {
  const key = path.join(dir, `${name}.pem`);
  const r = await runHubgate(['keygen', '--out', key, '--pubout', `${key}.pub`]);
  assert.equal(r.code, 0, r.stderr);
  return { key, pub: `${key}.pub`, id: /key id: ([0-9a-f]{16})/.exec(r.stdout)[1] };
}

async function traffic(gw, token, n) {
  for (let i = 0; i < n; i++) {
    const r = await fetch(`${gw.url}/api/models/acme/bert`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(r.status, 200);
  }
}

test('a stream keeps its old keys: audit keys lists them, old and new checkpoints verify, exports prove the tail', async (t) => {
  const s = await startStack({ t, gateway: false });
  const { pg, idp } = s;
  const dir = makeTempDir('audit-keys');
  const a = await keygen(dir, 'first');
  const b = await keygen(dir, 'second');
  const alice = await idp.token('alice');
  const audit = (key) => ({ stream: 'gw-keys', signing_key: key, checkpoint_every: 3, checkpoint_seconds: 1 });

  let gw = await s.gateway({ policy: POLICY, config: { audit: audit(a.key) } });
  await traffic(gw, alice, 4);
  assert.equal(await gw.stop(), 0);
  gw = await s.gateway({ policy: POLICY, config: { audit: audit(b.key) }, migrate: false });
  await traffic(gw, alice, 4);
  await sleep(1300);
  assert.equal(await gw.stop(), 0); // no checkpoint signed while the counts are compared

  const listed = await runHubgate(['audit', 'keys', '--database', pg.url]);
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, new RegExp(`^stream gw-keys\\n  key ${a.id}  created with the stream \\S+  [1-9]\\d* checkpoints?, \\S+ \\.\\. \\S+\\n  key ${b.id}  registered \\S+  [1-9]\\d* checkpoints?, `, 'm'));
  console.log(`# audit keys:\n${listed.stdout.replace(/^/gm, '#   ')}`);
  const pubs = path.join(dir, 'pinned');
  fs.mkdirSync(pubs);
  const json = await runHubgate(['audit', 'keys', '--database', pg.url, '--stream', 'gw-keys', '--json', '--pubout', pubs]);
  assert.equal(json.code, 0, json.stderr);
  const keys = JSON.parse(json.stdout).streams[0].keys;
  assert.deepEqual(keys.map((k) => [k.key_id, k.first]), [[a.id, true], [b.id, false]]);
  assert.ok(keys.every((k) => k.checkpoints > 0 && k.first_checkpoint <= k.last_checkpoint && !k.problem));
  assert.deepEqual(fs.readdirSync(pubs).sort(), [`${a.id}.pub`, `${b.id}.pub`].sort());
  assert.equal(fs.readFileSync(path.join(pubs, `${a.id}.pub`), 'utf8'), fs.readFileSync(a.pub, 'utf8'));
  // again into the same folder: the same files are kept, not an error
  assert.equal((await runHubgate(['audit', 'keys', '--database', pg.url, '--pubout', pubs])).code, 0);

  // both keys pinned: everything verifies; the old key alone does not cover the new checkpoints
  const both = await runHubgate(['audit', 'verify', '--database', pg.url, '--stream', 'gw-keys', '--pubkey', a.pub, '--pubkey', b.pub]);
  assert.equal(both.code, 0, both.stdout);
  const oldOnly = await runHubgate(['audit', 'verify', '--database', pg.url, '--stream', 'gw-keys', '--pubkey', a.pub]);
  assert.equal(oldOnly.code, 1);
  assert.match(oldOnly.stdout, /checkpoint_key/);

  // the export: every checkpoint of the stream, in the file format, signatures checked
  const out = path.join(dir, 'kept.checkpoints');
  const ex = await runHubgate(['audit', 'checkpoints', 'export', '--database', pg.url, '--stream', 'gw-keys', '--out', out, '--pubkey', a.pub, '--pubkey', b.pub]);
  assert.equal(ex.code, 0, ex.stderr);
  const n = Number(pg.psql(`select count(*) from audit_checkpoint c join audit_stream s on s.id = c.stream_id where s.name = 'gw-keys'`));
  const kept = lines(out);
  assert.equal(kept.length, n);
  assert.deepEqual(new Set(kept.map((c) => c.key_id)), new Set([a.id, b.id]));
  assert.equal(fs.statSync(out).mode & 0o777, 0o644);
  const sha = /sha256 ([0-9a-f]{64})/.exec(ex.stdout)[1];
  const { createHash } = await import('node:crypto');
  assert.equal(createHash('sha256').update(fs.readFileSync(out)).digest('hex'), sha);
  // never over an existing file without --force; with it, replaced whole
  const again = await runHubgate(['audit', 'checkpoints', 'export', '--database', pg.url, '--out', out]);
  assert.equal(again.code, 3);
  assert.match(again.stderr, /kept\.checkpoints already exists \(pass --force to replace it\)/);
  assert.equal((await runHubgate(['audit', 'checkpoints', 'export', '--database', pg.url, '--out', out, '--force', '--since', '2020-01-01'])).code, 0);
  // pinned to a key that signed none of them: nothing written
  const stranger = await keygen(dir, 'stranger');
  const refused = path.join(dir, 'refused.checkpoints');
  const bad = await runHubgate(['audit', 'checkpoints', 'export', '--database', pg.url, '--out', refused, '--pubkey', stranger.pub]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /do not verify, first stream \S+ seq \d+ .*not signed by a pinned key; nothing written/);
  assert.equal(fs.existsSync(refused), false);
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.includes('.tmp-')), [], 'no temporary file left');

  // bad usage is one line, exit 2
  for (const [args, re] of [
    [['audit', 'keys'], /--database URL is required/],
    [['audit', 'checkpoints', 'export', '--database', pg.url], /--out FILE is required/],
    [['audit', 'checkpoints', 'export', '--database', pg.url, '--out', out, '--since', 'yesterday'], /--since "yesterday": not a date/],
    [['audit', 'checkpoints', 'frob'], /unknown subcommand "frob" \(expected export\)/],
  ]) {
    const r = await runHubgate(args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, re);
  }

  // a removed tail: the kept export proves it
  const last = pg.psql(`select max(seq) from audit_event e join audit_stream s on s.id = e.stream_id where s.name = 'gw-keys'`);
  pg.psql(`alter table audit_event disable trigger user;
    delete from audit_event where stream_id = (select id from audit_stream where name = 'gw-keys') and seq > ${Number(last) - 3};
    alter table audit_event enable trigger user;
    alter table audit_checkpoint disable trigger user;
    delete from audit_checkpoint where stream_id = (select id from audit_stream where name = 'gw-keys') and seq > ${Number(last) - 3};
    alter table audit_checkpoint enable trigger user`);
  const plain = await runHubgate(['audit', 'verify', '--database', pg.url, '--stream', 'gw-keys']);
  const proven = await runHubgate(['audit', 'verify', '--database', pg.url, '--stream', 'gw-keys', '--checkpoint', out]);
  assert.equal(proven.code, 1, proven.stdout);
  assert.match(proven.stdout, /truncated|checkpoint_missing/);
  console.log(`# tail of 3 events and their checkpoints removed: verify without the export exits ${plain.code}, with it ${proven.code}`);
});

test('SIGUSR1 reopens the checkpoint file: rotated and new files together hold every checkpoint', async (t) => {
  const { pg, idp, gw } = await startStack({ t, policy: POLICY, config: { audit: { stream: 'gw-rotate', checkpoint_every: 2, checkpoint_seconds: 1 } } });
  const alice = await idp.token('alice');
  const file = path.join(gw.dir, 'spool', 'gw-rotate.checkpoints');
  await traffic(gw, alice, 4);
  await sleep(1200);
  fs.renameSync(file, `${file}.1`);
  gw.signal('SIGUSR1');
  for (let i = 0; i < 100 && !fs.existsSync(file); i++) await sleep(50);
  assert.ok(fs.existsSync(file), 'a new checkpoint file after SIGUSR1');
  const rotated = lines(`${file}.1`).length;
  await traffic(gw, alice, 4);
  await sleep(1200);
  assert.equal(lines(`${file}.1`).length, rotated, 'nothing more went into the rotated file');
  assert.ok(lines(file).length >= 2, 'later checkpoints went into the new file');
  assert.match(gw.stderr(), /SIGUSR1: reopening the audit checkpoint files/);
  assert.equal(await gw.stop(), 0);
  const all = [...lines(`${file}.1`), ...lines(file)];
  const inDb = Number(pg.psql(`select count(*) from audit_checkpoint c join audit_stream s on s.id = c.stream_id where s.name = 'gw-rotate'`));
  assert.equal(all.length, inDb, 'every checkpoint is in one file or the other');
  const merged = path.join(makeTempDir('rotate'), 'all.checkpoints');
  fs.writeFileSync(merged, all.map((c) => JSON.stringify(c)).join('\n') + '\n');
  const v = await runHubgate(['audit', 'verify', '--database', pg.url, '--stream', 'gw-rotate', '--checkpoint', merged]);
  assert.equal(v.code, 0, v.stdout);
});

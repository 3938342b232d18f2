// Retiring an audit stream (schema 009, `hubgate audit retire`; docs/database.md "Retiring a
// stream"). The previous release's database (tests/fixtures/db/at-008.sql, made by it) holds the
// stream gw-008, whose gateway stopped for good: a report over any later period cannot prove it
// complete. After 009 and its retirement — a stream.retired event chained onto its head and a
// checkpoint signed over it — `audit verify` passes and names it, a report over a later period
// is complete and `report verify` accepts it (offline, pinned keys), a gateway refuses to write
// to it, and an event added after it is caught. Refusals: a live stream, a stream that does not
// verify, a second retirement, bad arguments; none writes anything.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import { registeredKeyArgs } from '../lib/evidence.mjs';
import { REPO, startStack, runHubgate, makeTempDir, sleep } from '../lib/harness.mjs';

const AT008 = path.join(REPO, 'tests', 'fixtures', 'db', 'at-008.sql');
const POLICY = fs.readFileSync(path.join(REPO, 'tests', 'fixtures', 'policy', 'members.json'), 'utf8');
const validateReport = new Ajv({ allErrors: true, strict: true }).compile(JSON.parse(fs.readFileSync(path.join(REPO, 'docs', 'report.schema.json'), 'utf8')));
const stamp = (q, sql) => q(`select to_char((${sql}) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`);


test('009 upgrades the previous release\'s database; a stream whose instance is gone is retired, and later reports are complete', async (t) => {
  const { pg, idp, gateway } = await startStack({ t, gateway: false });
  pg.psql('create database prev', { db: 'postgres' });
  pg.psql(fs.readFileSync(AT008, 'utf8'), { db: 'prev' });
  const q = (sql) => pg.psql(sql, { db: 'prev' });
  const url = (user) => pg.url.replace(/\/\/postgres@/, `//${user}@`).replace(/\/hubgate$/, '/prev');
  const dir = makeTempDir('retire');
  assert.equal(q('select max(name) from schema_migration'), '008_audit_partitions.sql');
  const [oldCount, oldMax] = q(`select count(*), max(seq) from audit_event`).split('|');
  assert.ok(Number(oldCount) >= 10, `the fixture holds the previous release's events (${oldCount})`);

  // ---- the migration ----
  const m = await runHubgate(['db', 'migrate', '--database', url('postgres')]);
  assert.equal(m.code, 0, m.stdout + m.stderr);
  assert.match(m.stdout, /^applied 009_stream_retirement\.sql$/m);
  assert.match(m.stdout, /database is up to date: 9 migrations \(1 applied now\)/);
  assert.equal(q(`select pg_get_userbyid(relowner) from pg_class where relname = 'audit_stream_retired'`), 'hubgate_owner');
  assert.equal(q(`select has_table_privilege('hubgate_gateway', 'audit_stream_retired', 'SELECT')::text || has_table_privilege('hubgate_gateway', 'audit_stream_retired', 'INSERT')::text
    || has_table_privilege('hubgate_auditor', 'audit_stream_retired', 'SELECT')::text`), 'truefalsetrue');
  const v0 = await runHubgate(['audit', 'verify', '--database', url('postgres')]);
  assert.equal(v0.code, 0, v0.stdout + v0.stderr);

  // A live gateway on another stream, least-privileged, as deployed: its role passes the check
  // with the new table, and it keeps its stream's lock.
  const role = await runHubgate(['db', 'role', 'create', '--database', url('postgres'), '--kind', 'gateway', '--name', 'gw_live']);
  assert.equal(role.code, 0, role.stdout + role.stderr);
  const live = await gateway({ dbRole: null, migrate: false, policy: POLICY, config: { database: url('gw_live'), audit: { stream: 'gw-live', checkpoint_seconds: 1 } } });
  const alice = await idp.token('alice');
  assert.equal((await fetch(`${live.url}/api/models/acme/bert`, { headers: { authorization: `Bearer ${alice}` } })).status, 200);
  await sleep(1500); // a checkpoint after the period below

  // ---- before: a period after gw-008 stopped cannot be proven complete for it ----
  let from = stamp(q, `select max(ts) + interval '1 millisecond' from audit_checkpoint where stream_id = (select id from audit_stream where name = 'gw-008')`);
  let to = stamp(q, `select now() - interval '1 second'`);
  const reportKey = path.join(dir, 'report.pem');
  assert.equal((await runHubgate(['keygen', '--out', reportKey, '--pubout', `${reportKey}.pub`])).code, 0);
  const report = async (name, ...args) => {
    const out = path.join(dir, name);
    const r = await runHubgate(['report', 'soc2', '--database', url('postgres'), '--from', from, '--to', to, '--out', out, '--key', reportKey, ...args]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const json = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
    assert.ok(validateReport(json), JSON.stringify(validateReport.errors, null, 1));
    const rv = await runHubgate(['report', 'verify', out, ...registeredKeyArgs(q, dir), '--pubkey', `${reportKey}.pub`, '--json']);
    return { out, json, rv, gw008: json.integrity.streams.find((s) => s.stream === 'gw-008') };
  };
  const before = await report('before');
  assert.equal(before.json.integrity.complete, false);
  assert.equal(before.gw008.end, null);
  assert.equal(before.rv.code, 1, 'the period is not proven complete for gw-008');
  assert.match(before.rv.stdout, /"problem":"incomplete"/);

  // ---- refusals: nothing written ----
  const key = path.join(dir, 'audit.pem');
  assert.equal((await runHubgate(['keygen', '--out', key, '--pubout', `${key}.pub`])).code, 0);
  const retire = (...args) => runHubgate(['audit', 'retire', '--database', url('postgres'), '--key', key, ...args]);
  const events = () => q('select count(*) from audit_event');
  const n = events();
  const help = await runHubgate(['audit', 'retire', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: hubgate audit retire --database URL --stream NAME --key FILE/);
  for (const [args, re] of [
    [['audit', 'retire'], /--database URL is required/],
    [['audit', 'retire', '--database', 'x'], /--stream NAME is required/],
    [['audit', 'retire', '--database', 'x', '--stream', 'gw-008'], /--key FILE is required/],
    [['audit', 'retire', '--database', 'x', '--stream', 'gw-008', '--key', key, '--nope'], /unknown argument "--nope"/],
  ]) {
    const r = await runHubgate(args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, re, args.join(' '));
  }
  for (const [args, re] of [
    [['--stream', 'no such/name'], /"no such\/name" is not a stream name/],
    [['--stream', 'gw-nobody'], /the database has no audit stream "gw-nobody"/],
    [['--stream', 'gw-008', '--reason', `Bearer ${alice}`], /--reason must be 1 to 200 printable bytes and look like no credential/],
    [['--stream', 'gw-008', '--reason', 'x'.repeat(201)], /--reason must be/],
    [['--stream', 'gw-live'], /stream gw-live is being written by a live gateway \(.*\): only a stream whose instance is gone for good is retired/],
  ]) {
    const r = await retire(...args);
    assert.equal(r.code, 1, `${args.join(' ')}\n${r.stdout}${r.stderr}`);
    assert.match(r.stderr, re, args.join(' '));
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  const pub = await runHubgate(['audit', 'retire', '--database', url('postgres'), '--key', `${key}.pub`, '--stream', 'gw-008']);
  assert.equal(pub.code, 1);
  assert.match(pub.stderr, /a public key cannot sign: give the audit signing key/);
  // (a stream that does not verify against the keys the auditor pinned)
  const stranger = await retire('--stream', 'gw-008', '--pubkey', `${key}.pub`);
  assert.equal(stranger.code, 1, stranger.stdout + stranger.stderr);
  assert.match(stranger.stderr, /stream gw-008 does not verify \(\d+ problems, the first: .*\): nothing was retired/);
  assert.equal(events(), n, 'nothing written by a refusal');
  assert.equal(q('select count(*) from audit_stream_retired'), '0');
  assert.equal(q(`select count(*) from pg_auth_members where roleid = 'hubgate_owner'::regrole`), '0', 'the owner taken back');

  // ---- the retirement ----
  const cpFile = path.join(dir, 'gw-008.checkpoints');
  const r = await retire('--stream', 'gw-008', '--reason', 'host decommissioned (ticket OPS-1234)', '--checkpoint', cpFile);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const keyId = /checkpoint signed by key ([0-9a-f]{16})$/m.exec(r.stdout)?.[1];
  assert.match(r.stdout, /^verified stream gw-008: \d+ events, \d+ checkpoints \(keys: those the database registered\): ok$/m);
  assert.match(r.stdout, new RegExp(`^retired stream gw-008: event stream.retired at seq ${Number(oldMax) + 1} \\(after seq ${oldMax}\\), checkpoint signed by key [0-9a-f]{16}$`, 'm'));
  assert.match(r.stdout, new RegExp(`^checkpoint: \\{"hash":"[0-9a-f]{64}","key_id":"[0-9a-f]{16}","seq":${Number(oldMax) + 1},`, 'm'));
  assert.match(r.stdout, new RegExp(`^appended the checkpoint to ${cpFile}$`, 'm'));
  assert.equal(fs.readFileSync(cpFile, 'utf8').split('\n').filter(Boolean).length, 1);
  assert.equal(q(`select count(*) from audit_stream_key where key_id = '${keyId}' and stream_id = (select id from audit_stream where name = 'gw-008')`), '1', 'the new key registered for the stream');
  const ev = JSON.parse(q(`select canonical from audit_event where kind = 'stream.retired'`));
  assert.deepEqual([ev.kind, ev.v, ev.details.by, ev.details.reason], ['stream.retired', 2, 'postgres', 'host decommissioned (ticket OPS-1234)']);
  assert.equal(q(`select seq || ' ' || (hash = (select hash from audit_event where kind = 'stream.retired')) || ' ' || retired_by from audit_stream_retired`), `${Number(oldMax) + 1} true postgres`);
  assert.equal(q(`select count(*) from pg_auth_members where roleid = 'hubgate_owner'::regrole`), '0', 'the owner taken back');
  assert.throws(() => q('delete from audit_stream_retired'), /audit_stream_retired is append-only/);
  const again = await retire('--stream', 'gw-008');
  assert.equal(again.code, 1);
  assert.match(again.stderr, new RegExp(`stream gw-008 was retired at seq ${Number(oldMax) + 1} on \\S+ by postgres`));

  // ---- afterwards: verify names it; a later period is complete, offline too ----
  const v1 = await runHubgate(['audit', 'verify', '--database', url('postgres'), '--checkpoint', cpFile]);
  assert.equal(v1.code, 0, v1.stdout + v1.stderr);
  assert.match(v1.stdout, new RegExp(`^stream gw-008: .*, retired at seq ${Number(oldMax) + 1} on \\S+: ok$`, 'm'));
  // (a period that ends after the retirement, and after a checkpoint of the live stream)
  to = stamp(q, `select now()`);
  await sleep(1500);
  const after = await report('after');
  assert.equal(after.rv.code, 0, after.rv.stdout + after.rv.stderr);
  assert.equal(after.json.integrity.complete, true, JSON.stringify(after.json.integrity));
  assert.deepEqual([after.gw008.end.seq, after.gw008.retired.seq, after.gw008.retired.by, after.gw008.complete], [Number(oldMax) + 1, Number(oldMax) + 1, 'postgres', true]);
  assert.ok(after.gw008.start.seq < Number(oldMax) + 1, 'the start is below the retirement, so that its event is listed');
  assert.match(fs.readFileSync(path.join(after.out, 'report.html'), 'utf8'), new RegExp(`the stream's retirement, seq ${Number(oldMax) + 1}, by postgres`));
  assert.doesNotMatch(fs.readFileSync(path.join(before.out, 'report.html'), 'utf8'), /the stream's retirement/);
  const proven = JSON.parse(after.rv.stdout).streams.find((s) => s.stream === 'gw-008');
  assert.deepEqual([proven.retired, proven.end_seq], [true, Number(oldMax) + 1]);
  const plain = await runHubgate(['report', 'verify', after.out, ...registeredKeyArgs(q, dir), '--pubkey', `${reportKey}.pub`]);
  assert.match(plain.stdout, new RegExp(`stream gw-008: .*, retired at seq ${Number(oldMax) + 1}: ok`));
  // The same end without the retirement event listed: not proven.
  const cut = path.join(dir, 'cut');
  fs.cpSync(after.out, cut, { recursive: true });
  const jsonl = fs.readFileSync(path.join(cut, 'events.jsonl'), 'utf8').split('\n').filter((l) => l && !l.includes('"stream.retired'));
  fs.writeFileSync(path.join(cut, 'events.jsonl'), `${jsonl.join('\n')}\n`);
  const rvCut = await runHubgate(['report', 'verify', cut, ...registeredKeyArgs(q, dir), '--pubkey', `${reportKey}.pub`, '--json']);
  assert.equal(rvCut.code, 1);
  const problems = JSON.parse(rvCut.stdout).problems.map((p) => p.problem);
  assert.ok(problems.includes('checkpoint_period') && problems.includes('truncated'), problems.join(','));
  // A period wholly after the retirement, scoped to one org: the stream.retired event (of no
  // org, it concerns every org) is listed whole below the period, and closes the stream.
  from = stamp(q, `select ts + interval '1 millisecond' from audit_checkpoint where seq = ${Number(oldMax) + 1} and stream_id = (select id from audit_stream where name = 'gw-008')`);
  to = stamp(q, 'select now()');
  await sleep(1500);
  const scoped = await report('later-acme', '--org', 'acme');
  assert.equal(scoped.rv.code, 0, scoped.rv.stdout + scoped.rv.stderr);
  assert.deepEqual([scoped.json.integrity.complete, scoped.gw008.events_in_period, scoped.gw008.end.seq], [true, 0, Number(oldMax) + 1]);

  // ---- a gateway refuses the retired stream ----
  await assert.rejects(
    gateway({ dbRole: null, migrate: false, policy: POLICY, config: { database: url('gw_live'), audit: { stream: 'gw-008' } } }),
    new RegExp(`stream gw-008 was retired at seq ${Number(oldMax) + 1} on \\S+ by postgres \\(hubgate audit retire\\): it takes no more events; give this instance another audit.stream`));
  assert.equal(await live.stop(), 0);

  // ---- an event added after the retirement is caught ----
  q(`insert into audit_event (stream_id, seq, ts, prev_hash, hash, canonical, kind)
     select stream_id, seq + 1, now(), hash, hash, canonical, kind from audit_event where kind = 'stream.retired'`);
  const v2 = await runHubgate(['audit', 'verify', '--database', url('postgres'), '--stream', 'gw-008', '--json']);
  assert.equal(v2.code, 1, v2.stdout + v2.stderr);
  assert.ok(JSON.parse(v2.stdout).problems.some((p) => p.problem === 'after_retirement'), v2.stdout);
});

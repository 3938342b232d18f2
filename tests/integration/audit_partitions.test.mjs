// 008_audit_partitions.sql and `hubgate audit archive` (issue 16; docs/database.md "Partitions
// and retention"). The previous release's database (tests/fixtures/db/at-007.sql, made by it)
// is migrated: its events stay where they were, in the table attached whole as
// audit_event_before_008; today's gateway continues its stream into the month's partition;
// `audit verify` passes over both; every partition and the parent refuse UPDATE, DELETE and
// TRUNCATE, under session_replication_role = replica too. Then the natural past partition,
// audit_event_before_008, is archived: exported (report soc2 over its exact range), verified,
// detached and recorded; `audit verify` and a later report take the stream up at the archive's
// anchor and name it, and an event deleted after it still fails. Two more take the month's
// partition away before a gateway starts: in spool mode its inserts fail and are spooled until
// the partition can be made, which the writer's reconnection then does; in strict mode it does
// not start (it cannot record its start) until the partition can be made. Another cuts the
// month's partition short under a running strict gateway: 503, the batch held, and written by
// the reconnection that makes the partition. Another archives every event of a stream and
// starts its gateway again: the chain goes on from the archive, not from the genesis. A last
// one archives the month of a running gateway's policy load: a later report still names the
// policy it had in force, from the archive's record (schema 009).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import { registeredKeyArgs } from '../lib/evidence.mjs';
import { REPO, startStack, mintToken, runHubgate, makeTempDir, sleep, waitForRow } from '../lib/harness.mjs';

const AT007 = path.join(REPO, 'tests', 'fixtures', 'db', 'at-007.sql');
const AT007_INFO = JSON.parse(fs.readFileSync(path.join(REPO, 'tests', 'fixtures', 'db', 'at-007.json'), 'utf8'));
const POLICY = fs.readFileSync(path.join(REPO, 'tests', 'fixtures', 'policy', 'members.json'), 'utf8');
const validateReport = new Ajv({ allErrors: true, strict: true }).compile(JSON.parse(fs.readFileSync(path.join(REPO, 'docs', 'report.schema.json'), 'utf8')));

// audit_event_YYYY_MM of the current month (UTC), shifted by `ahead` months.
function monthPartition(ahead = 0, now = new Date()) {
  const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + ahead, 1));
  return `audit_event_${d.getUTCFullYear()}_${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}
const monthArg = (now = new Date()) => `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, '0')}`;


// UPDATE, DELETE and TRUNCATE on `table` refused by the append-only triggers, for a superuser
// and under session_replication_role = replica. (On a table without rows a row trigger has
// nothing to fire on: only TRUNCATE is tried; the triggers' presence is checked apart.)
function assertAppendOnly(q, table, { empty = false } = {}) {
  for (const replica of ['', 'set session_replication_role = replica; ']) {
    if (!empty) {
      assert.throws(() => q(`${replica}update ${table} set kind = kind`), /audit_event\w* is append-only \(UPDATE ROW\)/, `${replica}UPDATE ${table}`);
      assert.throws(() => q(`${replica}delete from ${table}`), /audit_event\w* is append-only \(DELETE ROW\)/, `${replica}DELETE ${table}`);
    }
    assert.throws(() => q(`${replica}truncate ${table}`), /audit_event\w* is append-only \(TRUNCATE STATEMENT\)/, `${replica}TRUNCATE ${table}`);
  }
}

test('008 upgrades the previous release\'s database; the old events stay in audit_event_before_008, which is archived, detached and still verified', async (t) => {
  const { pg, idp, gateway } = await startStack({ t, gateway: false });
  pg.psql('create database prev', { db: 'postgres' });
  pg.psql(fs.readFileSync(AT007, 'utf8'), { db: 'prev' });
  const q = (sql) => pg.psql(sql, { db: 'prev' });
  const url = (user) => pg.url.replace(/\/\/postgres@/, `//${user}@`).replace(/\/hubgate$/, '/prev');
  const dir = makeTempDir('parts');
  const [oldCount, oldMax] = q('select count(*), max(seq) from audit_event').split('|');
  assert.ok(Number(oldCount) >= 10, `the fixture holds the previous release's events (${oldCount})`);
  assert.equal(q('select max(name) from schema_migration'), '007_sign_in.sql');
  assert.equal(q(`select relkind from pg_class where relname = 'audit_event'`), 'r');

  // ---- the migration: no event copied, the old table attached whole ----
  const m = await runHubgate(['db', 'migrate', '--database', url('postgres')]);
  assert.equal(m.code, 0, m.stdout + m.stderr);
  assert.deepEqual(m.stdout.trim().split('\n'), [
    'applied 008_audit_partitions.sql',
    'applied 009_stream_retirement.sql',
    ...[0, 1, 2, 3].map((i) => `created partition ${monthPartition(i)}`),
    'database is up to date: 9 migrations (2 applied now)',
  ]);
  assert.equal(q(`select relkind from pg_class where relname = 'audit_event'`), 'p');
  assert.equal(q(`select count(*) from audit_event where tableoid = 'audit_event_before_008'::regclass`), oldCount, 'every old event is in the attached table');
  assert.equal(q('select count(*) from audit_event'), oldCount);
  const bound = q(`select pg_get_expr(relpartbound, oid) from pg_class where relname = 'audit_event_before_008'`);
  assert.match(bound, /^FOR VALUES FROM \(MINVALUE\) TO \('/);
  assert.match(q(`select pg_get_expr(relpartbound, oid) from pg_class where relname = '${monthPartition()}'`),
    /^FOR VALUES FROM \('[^']+'\) TO \('[^']+-01 00:00:00\+00'\)$/, 'the month\'s partition starts where audit_event_before_008 ends');
  // every partition: owned by hubgate_owner, no grant of its own, the cloned row trigger and its
  // own TRUNCATE trigger, both ENABLE ALWAYS
  const parts = q(`select c.relname || ':' || pg_get_userbyid(c.relowner) || ':' || coalesce(c.relacl::text, '-')
    from pg_inherits i join pg_class c on c.oid = i.inhrelid where i.inhparent = 'audit_event'::regclass order by 1`).split('\n');
  assert.equal(parts.length, 5, parts.join('\n'));
  for (const line of parts) {
    const [name, owner, acl] = line.split(':');
    assert.equal(owner, 'hubgate_owner', line);
    assert.ok(acl === '-' || acl === '{hubgate_owner=arwdDxt/hubgate_owner}', `${name}: only the owner holds privileges (${acl})`);
    assert.equal(q(`select string_agg(tgname || '=' || tgenabled::text, ',' order by tgname) from pg_trigger where tgrelid = '${name}'::regclass`),
      `${name}_no_truncate=A,audit_event_no_change=A`, name);
  }
  assert.equal(q(`select string_agg(indexname, ',' order by indexname) from pg_indexes where tablename = 'audit_event'`),
    'audit_event_pkey,audit_event_policy_loaded,audit_event_request_id,audit_event_ts_brin');
  assert.equal(q(`select pg_get_constraintdef(oid) from pg_constraint where conname = 'audit_event_pkey'`), 'PRIMARY KEY (stream_id, seq, ts)');
  // the function: SECURITY DEFINER as the owner, search_path pinned, EXECUTE for the gateway only
  assert.equal(q(`select pg_get_userbyid(proowner) || ' ' || prosecdef || ' ' || array_to_string(proconfig, ';') from pg_proc where proname = 'hubgate_audit_partitions'`),
    'hubgate_owner true TimeZone=UTC;lock_timeout=5s;search_path=pg_catalog, public, pg_temp');
  assert.equal(q(`select has_function_privilege('hubgate_gateway', 'hubgate_audit_partitions(integer)', 'EXECUTE')::text
    || has_function_privilege('hubgate_auditor', 'hubgate_audit_partitions(integer)', 'EXECUTE')::text`), 'truefalse');
  assert.equal(q(`select count(*) from aclexplode((select proacl from pg_proc where proname = 'hubgate_audit_partitions')) where grantee = 0`), '0', 'not PUBLIC');

  // ---- today's gateway, least-privileged, continues the old stream into the month ----
  await sleep(1100); // past audit_event_before_008's bound (the migration's second, rounded up)
  const role = await runHubgate(['db', 'role', 'create', '--database', url('postgres'), '--kind', 'gateway', '--name', 'gw_prev']);
  assert.equal(role.code, 0, role.stdout + role.stderr);
  const config = { database: url('gw_prev'), audit: { stream: 'gw-007', checkpoint_every: 5, checkpoint_seconds: 1 } };
  const gw = await gateway({ dbRole: null, migrate: false, policy: POLICY, config });
  q(`update access_token set expires_at = now() + interval '30 days' where id = '${AT007_INFO.laptop.id}'`);
  const alice = await idp.token('alice');
  const bert = (tok) => fetch(`${gw.url}/api/models/acme/bert`, { headers: { authorization: `Bearer ${tok}` } }).then((r) => r.status);
  assert.equal(await bert(alice), 200);
  assert.equal(await bert(AT007_INFO.laptop.token), 200, 'a token the previous release minted');
  await mintToken(gw, alice, { name: 'after-008', scope: 'read' });
  await sleep(1500); // a heartbeat checkpoint after the last request
  assert.equal(await gw.stop(), 0);
  assert.equal(q(`select min(seq) from audit_event where tableoid = '${monthPartition()}'::regclass`), String(Number(oldMax) + 1), 'the stream goes on in the month\'s partition');
  assert.equal(q(`select count(*) from audit_event where tableoid = 'audit_event_before_008'::regclass`), oldCount);
  const total = q('select count(*) from audit_event');

  const v = await runHubgate(['audit', 'verify', '--database', url('postgres'), '--json']);
  assert.equal(v.code, 0, v.stdout + v.stderr);
  assert.equal(JSON.parse(v.stdout).events, Number(total));

  // ---- append-only: the parent and each partition, directly ----
  for (const table of ['audit_event', 'audit_event_before_008', monthPartition()]) assertAppendOnly(q, table);
  assertAppendOnly(q, monthPartition(1), { empty: true });
  assert.equal(q('select count(*) from audit_event'), total);
  q('create role tamper login in role hubgate_gateway');
  const asGw = (sql) => pg.psql(`set role tamper; ${sql}`, { db: 'prev' });
  assert.throws(() => asGw('delete from audit_event'), /permission denied for table audit_event/);
  assert.throws(() => asGw(`insert into audit_event_before_008 select * from audit_event limit 1`), /permission denied for table audit_event_before_008/);
  assert.throws(() => asGw(`select * from ${monthPartition()}`), new RegExp(`permission denied for table ${monthPartition()}`));
  assert.throws(() => asGw(`alter table ${monthPartition()} disable trigger all`), /must be owner/);
  assert.equal(asGw('select count(*) from hubgate_audit_partitions(4)'), '1', 'the gateway may have the next month made');
  assert.throws(() => asGw('select hubgate_audit_partitions(25)'), /months_ahead must be 0 to 24/);
  assert.equal(asGw('select count(*) from audit_archive'), '0');
  assert.throws(() => asGw(`insert into audit_archive (partition, detached_as, range_to, events, manifest_sha256) values ('audit_event_x', 'x', now(), 0, repeat('0', 64))`), /permission denied for table audit_archive/);

  // ---- archiving: the current month is refused, audit_event_before_008 goes whole ----
  const current = await runHubgate(['audit', 'archive', '--database', url('postgres'), '--month', monthArg(), '--out', path.join(dir, 'current')]);
  assert.equal(current.code, 1, current.stdout + current.stderr);
  assert.match(current.stderr, new RegExp(`^hubgate audit archive: ${monthPartition()} runs until .*: a partition is archived once its range is over`));
  assert.ok(!fs.existsSync(path.join(dir, 'current')));
  const later = await runHubgate(['audit', 'archive', '--database', url('postgres'), '--month', monthArg(new Date(Date.now() + 40 * 86400e3)), '--out', path.join(dir, 'later')]);
  assert.equal(later.code, 1);
  assert.match(later.stderr, /runs until/);

  // An administrator who migrates without being a superuser (CREATEROLE, owns the database).
  q('create role arch_admin login createrole');
  q('alter database prev owner to arch_admin');
  const reportKey = path.join(dir, 'export.pem');
  assert.equal((await runHubgate(['keygen', '--out', reportKey, '--pubout', `${reportKey}.pub`])).code, 0);

  const dry = path.join(dir, 'before-008-dry');
  const a1 = await runHubgate(['audit', 'archive', '--database', url('postgres'), '--month', 'before-008', '--out', dry, '--key', reportKey]);
  assert.equal(a1.code, 0, a1.stdout + a1.stderr);
  assert.match(a1.stdout, new RegExp(`^audit_event_before_008 holds \\[MINVALUE, [^)]+\\): ${oldCount} events of 1 streams$`, 'm'));
  assert.match(a1.stdout, new RegExp(`^  stream gw-007: seq 1\\.\\.${oldMax}$`, 'm'));
  assert.match(a1.stdout, /^verified .*: \d+ events of 1 streams in audit_event_before_008/m);
  assert.match(a1.stdout, /^not detached \(without --detach\)/m);
  assert.equal(q(`select count(*) from audit_event where tableoid = 'audit_event_before_008'::regclass`), oldCount, 'still attached');

  // An export that does not verify (here: checked against a key that signed none of it) is
  // refused, and nothing is detached.
  const stranger = path.join(dir, 'stranger.pem');
  assert.equal((await runHubgate(['keygen', '--out', stranger, '--pubout', `${stranger}.pub`])).code, 0);
  const refused = await runHubgate(['audit', 'archive', '--database', url('arch_admin'), '--month', 'before-008', '--out', path.join(dir, 'refused'),
    '--key', reportKey, '--pubkey', `${stranger}.pub`, '--detach']);
  assert.equal(refused.code, 1, refused.stdout + refused.stderr);
  assert.match(refused.stderr, /^hubgate audit archive: the export in .* does not verify: nothing was detached$/m);
  assert.match(refused.stdout, /report verify: FAILED/);
  assert.equal(q(`select count(*) from audit_event where tableoid = 'audit_event_before_008'::regclass`), oldCount, 'still attached');
  assert.equal(q(`select count(*) from pg_auth_members where roleid = 'hubgate_owner'::regrole`), '0', 'the owner taken back after a refusal too');
  assert.equal(q('select count(*) from audit_archive'), '0');

  const out = path.join(dir, 'before-008');
  // (this time against pinned keys: the stream's and the export's own)
  const a2 = await runHubgate(['audit', 'archive', '--database', url('arch_admin'), '--month', 'before-008', '--out', out, '--key', reportKey,
    ...registeredKeyArgs(q, dir), '--pubkey', `${reportKey}.pub`, '--detach']);
  assert.equal(a2.code, 0, a2.stdout + a2.stderr);
  const manifestSha = crypto.createHash('sha256').update(fs.readFileSync(path.join(out, 'manifest.json'))).digest('hex');
  const lines = a2.stdout.trim().split('\n');
  assert.match(lines[0], /^(granted hubgate_migrator to arch_admin \(the roles that migrate\)|lent hubgate_owner)/);
  assert.match(a2.stdout, /^lent hubgate_owner to hubgate_migrator \(arch_admin is a member\) for this run$/m);
  assert.match(a2.stdout, new RegExp(`^verified ${out}: ${Number(oldCount)} events of 1 streams in audit_event_before_008, .*\\(keys: the --pubkey files\\); manifest.json sha256 ${manifestSha}$`, 'm'));
  assert.match(a1.stdout, /\(keys: those the database registered, and the export's own\)/);
  assert.match(a2.stdout, /^detached audit_event_before_008 from audit_event and renamed it audit_event_before_008_archived$/m);
  assert.match(a2.stdout, new RegExp(`^recorded the archival in audit_archive: 1 streams, manifest sha256 ${manifestSha}$`, 'm'));
  assert.match(a2.stdout, /^audit_event_before_008_archived is kept, append-only: .*DROP TABLE audit_event_before_008_archived/m);
  assert.equal(lines.at(-1), 'took hubgate_owner back: it has no member');
  assert.equal(q(`select count(*) from pg_auth_members where roleid = 'hubgate_owner'::regrole`), '0');

  // The export proves seq 1..N offline, tail included (the signed checkpoint after the bound).
  assert.ok(validateReport(JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'))), JSON.stringify(validateReport.errors));
  const rv = await runHubgate(['report', 'verify', out, ...registeredKeyArgs(q, dir), '--pubkey', `${reportKey}.pub`, '--json']);
  assert.equal(rv.code, 0, rv.stdout + rv.stderr);
  const proven = JSON.parse(rv.stdout).streams.find((s) => s.stream === 'gw-007');
  assert.equal(proven.start_seq, 0);
  assert.ok(proven.end_seq >= Number(oldMax), `proven up to ${proven.end_seq}`);

  // What the database keeps: the record, the detached table (append-only), the rest attached.
  assert.equal(q(`select partition || ' ' || detached_as || ' ' || (range_from is null) || ' ' || first_seq || ' ' || last_seq || ' ' || events || ' ' || manifest_sha256 || ' ' || archived_by
    || ' ' || (last_hash = (select hash from audit_event_before_008_archived where seq = ${oldMax})) from audit_archive`),
  `audit_event_before_008 audit_event_before_008_archived true 1 ${oldMax} ${oldCount} ${manifestSha} arch_admin true`);
  assert.equal(q(`select count(*) from pg_inherits where inhrelid = 'audit_event_before_008_archived'::regclass`), '0');
  assert.equal(q('select count(*) from audit_event_before_008_archived'), oldCount);
  assertAppendOnly(q, 'audit_event_before_008_archived');
  assert.equal(q('select count(*) from audit_event'), String(Number(total) - Number(oldCount)));
  assert.throws(() => q('delete from audit_archive'), /audit_archive is append-only/);
  const again = await runHubgate(['audit', 'archive', '--database', url('postgres'), '--month', 'before-008', '--out', path.join(dir, 'again')]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /audit_event_before_008 was archived at .*: it is no longer a partition of audit_event/);

  // ---- verify and a report over the rest take the stream up at the archive ----
  const v2 = await runHubgate(['audit', 'verify', '--database', url('postgres')]);
  assert.equal(v2.code, 0, v2.stdout + v2.stderr);
  assert.match(v2.stdout, new RegExp(`^stream gw-007: \\d+ events \\(seq ${Number(oldMax) + 1}\\.\\.\\d+\\).*, seq 1\\.\\.${oldMax} archived \\S+ \\(export manifest sha256 ${manifestSha}\\): ok$`, 'm'));
  // A report over the time after the archive starts at the checkpoint the previous release's
  // gateway signed at seq N when it stopped; one over a period reaching back into the archived
  // time starts at the archive itself, which report verify names.
  const to = q(`select to_char(max(ts) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') from audit_checkpoint`);
  const periods = {
    after: q(`select to_char(range_to at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') from audit_archive`),
    across: q(`select to_char(min(ts) at time zone 'UTC' - interval '1 second', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') from audit_event_before_008_archived`),
  };
  for (const [name, from] of Object.entries(periods)) {
    const rdir = path.join(dir, name);
    const r = await runHubgate(['report', 'soc2', '--database', url('postgres'), '--from', from, '--to', to, '--out', rdir, '--key', reportKey]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const report = JSON.parse(fs.readFileSync(path.join(rdir, 'report.json'), 'utf8'));
    assert.ok(validateReport(report), `${name}: ${JSON.stringify(validateReport.errors, null, 1)}`);
    const start = report.integrity.streams.find((st) => st.stream === 'gw-007').start;
    const rv2 = await runHubgate(['report', 'verify', rdir, ...registeredKeyArgs(q, dir), '--pubkey', `${reportKey}.pub`]);
    assert.equal(rv2.code, 0, rv2.stdout + rv2.stderr);
    if (name === 'after') {
      assert.deepEqual([start.seq, start.archived, typeof start.signature], [Number(oldMax), undefined, 'string'], JSON.stringify(start));
    } else {
      assert.deepEqual([start.archived, start.seq, start.manifest_sha256], [true, Number(oldMax), manifestSha], JSON.stringify(start));
      assert.match(rv2.stdout, new RegExp(`seq 1\\.\\.${oldMax} archived \\S+ \\(export manifest sha256 ${manifestSha}\\): ok`));
    }
  }

  // ---- a deletion no archive explains still fails ----
  q(`alter table audit_event disable trigger audit_event_no_change`);
  q(`delete from audit_event where stream_id = (select id from audit_stream where name = 'gw-007') and seq = ${Number(oldMax) + 1}`);
  q(`alter table audit_event enable always trigger audit_event_no_change`);
  const v3 = await runHubgate(['audit', 'verify', '--database', url('postgres'), '--json']);
  assert.equal(v3.code, 1, v3.stdout + v3.stderr);
  const bad = JSON.parse(v3.stdout);
  assert.deepEqual([bad.first_problem.problem, bad.first_problem.seq], ['deleted', Number(oldMax) + 1]);
});

for (const mode of ['spool', 'strict']) {
  test(`an insert that finds no partition takes the writer's failure path (${mode}), and goes in once the partition is made`, async (t) => {
    const { pg, idp, gateway } = await startStack({ t, gateway: false });
    pg.psql('create database gone', { db: 'postgres' });
    const q = (sql) => pg.psql(sql, { db: 'gone' });
    const url = pg.url.replace(/\/hubgate$/, '/gone');
    const m = await runHubgate(['db', 'migrate', '--database', url]);
    assert.equal(m.code, 0, m.stdout + m.stderr);
    const month = monthPartition();
    await sleep(1100); // past audit_event_before_008's bound: this month's events need its partition
    // The month's (empty) partition detached and left under its name: hubgate_audit_partitions
    // sees the name taken and makes nothing, so every insert finds no partition.
    q(`alter table audit_event detach partition ${month}`);

    const config = { database: url, audit: { stream: 'gw-gone', mode, write_timeout_ms: 1000 } };
    const alice = await idp.token('alice');
    const request = (gw) => fetch(`${gw.url}/api/models/acme/bert`, { headers: { authorization: `Bearer ${alice}` } });
    if (mode === 'strict') {
      // Strict mode records its start (the policy load) before it serves: a gateway that
      // cannot record does not start, and says why.
      await assert.rejects(gateway({ migrate: false, policy: POLICY, config }), /no partition of relation "audit_event" found for row/);
      assert.equal(q('select count(*) from audit_event'), '0');
      q(`alter table ${month} rename to ${month}_stray`);
      const gw = await gateway({ migrate: false, policy: POLICY, config });
      assert.equal((await request(gw)).status, 200);
      await gw.waitLog(new RegExp(`stream gw-gone: created partition ${month} of audit_event`));
      assert.equal(await gw.stop(), 0);
      const v = await runHubgate(['audit', 'verify', '--database', url]);
      assert.equal(v.code, 0, v.stdout + v.stderr);
      return;
    }
    const gw = await gateway({ migrate: false, policy: POLICY, config });
    const bert = () => request(gw);
    const res = await bert();
    assert.equal(res.status, 200, 'spool mode: the event is on disk, the request goes on');
    const rid = res.headers.get('x-request-id');
    await sleep(300);
    assert.equal(q('select count(*) from audit_event'), '0', 'nothing could be inserted');
    assert.match(gw.stderr(), /no partition of relation "audit_event" found for row/);

    // The operator moves the stray table away: the next reconnection makes the partition, and
    // the spool drains into it.
    q(`alter table ${month} rename to ${month}_stray`);
    let n = '0';
    for (let i = 0; i < 100 && n === '0'; i++) {
      await sleep(100);
      n = q(`select count(*) from audit_event where request_id = '${rid}' and kind = 'request'`);
    }
    assert.equal(n, '1', `the event is in the database\n${gw.stderr().split('\n').slice(-8).join('\n')}`);
    await gw.waitLog(new RegExp(`stream gw-gone: created partition ${month} of audit_event`));
    assert.equal(q(`select count(*) from pg_inherits where inhrelid = '${month}'::regclass`), '1');
    assert.equal((await bert()).status, 200, 'the next request is audited and forwarded');
    assert.equal(await gw.stop(), 0);
    const v = await runHubgate(['audit', 'verify', '--database', url, '--json']);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    assert.equal(JSON.parse(v.stdout).events, Number(q('select count(*) from audit_event')));
    assert.ok(Number(q(`select count(*) from audit_event where kind = 'audit.spooled'`)) >= 1, 'the episode is recorded');
  });
}

test('strict mode, the partition gone under a running gateway: 503, the batch held, and written once the partition is made', async (t) => {
  const { pg, idp, gateway } = await startStack({ t, gateway: false });
  pg.psql('create database cut', { db: 'postgres' });
  const q = (sql) => pg.psql(sql, { db: 'cut' });
  const url = pg.url.replace(/\/hubgate$/, '/cut');
  assert.equal((await runHubgate(['db', 'migrate', '--database', url])).code, 0);
  await sleep(1100);
  const month = monthPartition();
  const gw = await gateway({ migrate: false, policy: POLICY, config: { database: url, audit: { stream: 'gw-cut', write_timeout_ms: 1000 } } });
  const alice = await idp.token('alice');
  const bert = () => fetch(`${gw.url}/api/models/acme/bert`, { headers: { authorization: `Bearer ${alice}` } });
  assert.equal((await bert()).status, 200);
  const written = Number(q('select count(*) from audit_event'));

  // The month's partition made to end now (as an owner could): what follows has no partition,
  // and its name being taken, hubgate_audit_partitions makes none.
  const lo = /^FOR VALUES FROM \('([^']+)'\)/.exec(q(`select pg_get_expr(relpartbound, oid) from pg_class where relname = '${month}'`))[1];
  const cut = q(`select now()`);
  q(`begin; alter table audit_event detach partition ${month}; alter table audit_event attach partition ${month} for values from ('${lo}') to ('${cut}'); commit`);
  const refused = await bert();
  assert.equal(refused.status, 503, 'strict: not committed, not forwarded');
  const rid = refused.headers.get('x-request-id');
  assert.equal(Number(q('select count(*) from audit_event')), written);

  // The owner puts the cut-down partition under another name: the writer's next reconnection
  // makes the month's partition from the cut on, and the held batch goes in.
  q(`begin; alter table audit_event detach partition ${month}; alter table ${month} rename to ${month}_head;
     alter table audit_event attach partition ${month}_head for values from ('${lo}') to ('${cut}'); commit`);
  let n = '0';
  for (let i = 0; i < 100 && n === '0'; i++) {
    await sleep(100);
    n = q(`select count(*) from audit_event where request_id = '${rid}' and kind = 'request'`);
  }
  // (its decision, and the refusal that names the audit failure)
  assert.ok(Number(n) >= 1, `the refused request's events are written once they can be (strict mode drops nothing)\n${gw.stderr().split('\n').slice(-6).join('\n')}`);
  assert.equal(q(`select count(*) from audit_event where request_id = '${rid}' and decision = 'allow'`), '1', 'the decision that timed out');
  await gw.waitLog(new RegExp(`stream gw-cut: created partition ${month} of audit_event`));
  assert.equal((await bert()).status, 200);
  assert.equal(await gw.stop(), 0);
  const v = await runHubgate(['audit', 'verify', '--database', url, '--json']);
  assert.equal(v.code, 0, v.stdout + v.stderr);
  assert.equal(JSON.parse(v.stdout).events, Number(q('select count(*) from audit_event')));
});

test('a stream whose every event was archived goes on after them when its gateway starts again, never from the genesis', async (t) => {
  const { pg, idp, gateway } = await startStack({ t, gateway: false });
  pg.psql('create database whole', { db: 'postgres' });
  const q = (sql) => pg.psql(sql, { db: 'whole' });
  const url = pg.url.replace(/\/hubgate$/, '/whole');
  const dir = makeTempDir('whole');
  assert.equal((await runHubgate(['db', 'migrate', '--database', url])).code, 0);
  await sleep(1100); // past audit_event_before_008's bound
  const month = monthPartition();
  const config = () => ({ database: url, audit: { stream: 'gw-whole', checkpoint_seconds: 1 } });
  const alice = await idp.token('alice');
  const bert = (gw) => fetch(`${gw.url}/api/models/acme/bert`, { headers: { authorization: `Bearer ${alice}` } });
  const first = await gateway({ migrate: false, policy: POLICY, config: config() });
  const res = await bert(first);
  assert.equal(res.status, 200);
  await waitForRow(pg, `select 1 from audit_event where request_id = '${res.headers.get('x-request-id')}' and kind = 'completion'`, { db: 'whole' });

  // The month cut short now (as an owner could) and its part so far named as a past month's
  // partition, so that \`audit archive\` takes it as it takes a month that is over: it holds
  // every event of the stream. The idle gateway signs a checkpoint after the cut, then dies
  // (kill -9: no event after the cut).
  const lo = /^FOR VALUES FROM \('([^']+)'\)/.exec(q(`select pg_get_expr(relpartbound, oid) from pg_class where relname = '${month}'`))[1];
  const cut = q('select now()');
  q(`begin; alter table audit_event detach partition ${month}; alter table ${month} rename to audit_event_2000_01;
     alter table audit_event attach partition audit_event_2000_01 for values from ('${lo}') to ('${cut}'); commit`);
  assert.equal(q('select count(*) from hubgate_audit_partitions(1)'), '1', 'the month from the cut on');
  await waitForRow(pg, `select 1 from audit_checkpoint where ts > '${cut}' having count(*) >= 2`, { db: 'whole' });
  await first.kill9();
  const [last, lastHash] = q(`select seq, encode(hash, 'hex') from audit_event order by seq desc limit 1`).split('|');
  assert.equal(q(`select count(*) from audit_event where ts >= '${cut}'`), '0');

  const key = path.join(dir, 'export.pem');
  assert.equal((await runHubgate(['keygen', '--out', key, '--pubout', `${key}.pub`])).code, 0);
  for (const m of ['before-008', '2000-01']) {
    const a = await runHubgate(['audit', 'archive', '--database', url, '--month', m, '--out', path.join(dir, m), '--key', key, '--detach']);
    assert.equal(a.code, 0, a.stdout + a.stderr);
  }
  assert.equal(q('select count(*) from audit_event'), '0', 'every event archived');
  assert.equal(q(`select last_seq || ' ' || encode(last_hash, 'hex') from audit_archive where stream_id is not null`), `${last} ${lastHash}`);
  // With no event left, verify and a report between two checkpoints of the quiet time after the
  // cut (both at the archived head) find nothing missing.
  const quiet = await runHubgate(['audit', 'verify', '--database', url]);
  assert.equal(quiet.code, 0, quiet.stdout + quiet.stderr);
  const afterCut = q(`select to_char(max(ts) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') from audit_checkpoint`);
  const from = q(`select to_char(min(ts) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') from audit_checkpoint where ts > '${cut}'`);
  const rdir = path.join(dir, 'quiet');
  const rq = await runHubgate(['report', 'soc2', '--database', url, '--from', from, '--to', afterCut, '--out', rdir, '--key', key]);
  assert.equal(rq.code, 0, rq.stdout + rq.stderr);
  const rqv = await runHubgate(['report', 'verify', rdir, ...registeredKeyArgs(q, dir), '--pubkey', `${key}.pub`]);
  assert.equal(rqv.code, 0, rqv.stdout + rqv.stderr);
  const quietReport = JSON.parse(fs.readFileSync(path.join(rdir, 'report.json'), 'utf8')).integrity;
  assert.deepEqual([quietReport.complete, quietReport.streams[0].start.seq, quietReport.streams[0].end.seq, quietReport.streams[0].verification.problems],
    [true, Number(last), Number(last), []], JSON.stringify(quietReport));

  const again = await gateway({ migrate: false, policy: POLICY, config: config() });
  assert.match(again.stderr(), new RegExp(`stream gw-whole: writing at seq ${last} `));
  assert.equal((await bert(again)).status, 200);
  assert.equal(await again.stop(), 0);
  assert.equal(q(`select seq || ' ' || encode(prev_hash, 'hex') from audit_event order by seq limit 1`), `${Number(last) + 1} ${lastHash}`,
    'the chain goes on from the archive\'s last seq and hash');
  const v = await runHubgate(['audit', 'verify', '--database', url]);
  assert.equal(v.code, 0, v.stdout + v.stderr);
  assert.match(v.stdout, new RegExp(`^stream gw-whole: \\d+ events \\(seq ${Number(last) + 1}\\.\\.\\d+\\).*, seq 1\\.\\.${last} archived `, 'm'));
});

test('a gateway that runs on across an archived month: a later report still names the policy it had in force', async (t) => {
  const { pg, idp, gateway } = await startStack({ t, gateway: false });
  pg.psql('create database long', { db: 'postgres' });
  const q = (sql) => pg.psql(sql, { db: 'long' });
  const url = pg.url.replace(/\/hubgate$/, '/long');
  const dir = makeTempDir('long');
  assert.equal((await runHubgate(['db', 'migrate', '--database', url])).code, 0);
  await sleep(1100); // past audit_event_before_008's bound
  const month = monthPartition();
  const gw = await gateway({ migrate: false, policy: POLICY, config: { database: url, audit: { stream: 'gw-long', checkpoint_seconds: 1 } } });
  const alice = await idp.token('alice');
  const bert = async () => {
    const res = await fetch(`${gw.url}/api/models/acme/bert`, { headers: { authorization: `Bearer ${alice}` } });
    assert.equal(res.status, 200);
    await waitForRow(pg, `select 1 from audit_event where request_id = '${res.headers.get('x-request-id')}' and kind = 'completion'`, { db: 'long' });
  };
  await bert();
  const loaded = JSON.parse(q(`select canonical from audit_event where kind = 'policy.loaded'`));

  // The month so far cut off and archived as a past month's partition (as in the test above),
  // with the policy's load in it, while the gateway keeps running and serving.
  const lo = /^FOR VALUES FROM \('([^']+)'\)/.exec(q(`select pg_get_expr(relpartbound, oid) from pg_class where relname = '${month}'`))[1];
  const cut = q('select now()');
  q(`begin; alter table audit_event detach partition ${month}; alter table ${month} rename to audit_event_2000_01;
     alter table audit_event attach partition audit_event_2000_01 for values from ('${lo}') to ('${cut}'); commit`);
  q('select hubgate_audit_partitions(1)');
  await waitForRow(pg, `select 1 from audit_checkpoint where ts > '${cut}'`, { db: 'long' });
  const key = path.join(dir, 'export.pem');
  assert.equal((await runHubgate(['keygen', '--out', key, '--pubout', `${key}.pub`])).code, 0);
  for (const m of ['before-008', '2000-01']) {
    const a = await runHubgate(['audit', 'archive', '--database', url, '--month', m, '--out', path.join(dir, m), '--key', key, '--detach']);
    assert.equal(a.code, 0, a.stdout + a.stderr);
  }
  assert.equal(q(`select count(*) from audit_event where kind = 'policy.loaded'`), '0', 'the load left with the archive');
  assert.equal(q(`select policy_sha256 || ' ' || (policy_loaded_at = '${loaded.ts}'::timestamptz) from audit_archive where stream_id is not null`),
    `${loaded.details.sha256} true`, 'the archive recorded the policy in force');

  const from = q(`select to_char(now() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`);
  await bert();
  const to = q(`select to_char(now() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`);
  await waitForRow(pg, `select 1 from audit_checkpoint where ts > '${to}'`, { db: 'long' });
  const out = path.join(dir, 'after');
  const r = await runHubgate(['report', 'soc2', '--database', url, '--from', from, '--to', to, '--out', out, '--key', key]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const report = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
  assert.ok(validateReport(report), JSON.stringify(validateReport.errors, null, 1));
  const versions = report.criteria['CC8.1'].versions;
  assert.deepEqual(versions.map((v) => [v.sha256, v.in_force_at_start, v.loads_in_period, v.recorded, v.loads_before_period.map((l) => [l.stream, l.ts, l.archived])]),
    [[loaded.details.sha256, true, 0, true, [['gw-long', loaded.ts, true]]]], JSON.stringify(versions));
  const rv = await runHubgate(['report', 'verify', out, ...registeredKeyArgs(q, dir), '--pubkey', `${key}.pub`]);
  assert.equal(rv.code, 0, rv.stdout + rv.stderr);
  assert.equal(await gw.stop(), 0);
});

test('audit archive: help, bad arguments and an unreachable database, each in one line', async () => {
  const help = await runHubgate(['audit', 'archive', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: hubgate audit archive --database URL --month YYYY-MM\|before-008 --out DIR/);
  assert.match((await runHubgate(['audit', '--help'])).stdout, /hubgate audit archive --database URL/);
  for (const [args, re] of [
    [['audit', 'archive'], /--database URL is required/],
    [['audit', 'archive', '--database', 'x'], /--month YYYY-MM\|before-008 is required/],
    [['audit', 'archive', '--database', 'x', '--month', '2027-01'], /--out DIR is required/],
    [['audit', 'archive', '--database', 'x', '--month', '2027-01', '--out', 'd', '--nope'], /unknown argument "--nope"/],
  ]) {
    const r = await runHubgate(args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, re, args.join(' '));
  }
  const month = await runHubgate(['audit', 'archive', '--database', 'x', '--month', '2027-13', '--out', 'd']);
  assert.equal(month.code, 1);
  assert.equal(month.stderr, 'hubgate audit archive: "2027-13" is not a month (expected YYYY-MM or before-008)\n');
  const down = await runHubgate(['audit', 'archive', '--database', 'postgresql://nobody@127.0.0.1:1/x?connect_timeout=2', '--month', 'before-008', '--out', 'd']);
  assert.equal(down.code, 1);
  assert.match(down.stderr, /^hubgate audit archive: cannot connect to the database: /);
  assert.equal(down.stderr.trim().split('\n').length, 1);
});

// hubgate db migrate against a real PostgreSQL: applies schema/NNN_*.sql in order, is
// idempotent and concurrency-safe, refuses databases it does not know, and the schema it
// creates is append-only (docs/database.md). 007_sign_in.sql (issue 15) upgrades the previous
// release's database (tests/fixtures/db/at-006.sql, made by that release). 006_audit_event_indexes.sql (issue 12) upgrades a
// database populated by 0.1 (tests/fixtures/db/legacy-0.1.sql) and one at 005 holding events
// written by this release's gateway: events, `audit verify`, the report and `report verify`
// work after it, and every query hubgate makes on audit_event keeps an index path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { REPO, useStack, startStack, mintToken, runHubgate, makeTempDir, sleep } from '../lib/harness.mjs';

// Every migration in schema/, as the binary embeds them (schema/embed.cmake sorts the same way).
const migrations = fs.readdirSync(path.join(REPO, 'schema')).filter((f) => /^[0-9]{3}_[a-z0-9_]+\.sql$/.test(f)).sort();

// What `db migrate` prints for the monthly partitions of audit_event it creates (schema 008):
// the current month (UTC) and the three after it, when the database has none of them yet.
function partitionLines(now = new Date()) {
  const lines = [];
  for (let i = 0; i <= 3; i++) {
    const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + i, 1));
    lines.push(`created partition audit_event_${d.getUTCFullYear()}_${String(d.getUTCMonth() + 1).padStart(2, '0')}`);
  }
  return lines;
}

async function freshDb(stack, name) {
  const pg = await stack.postgres();
  pg.psql(`create database ${name}`);
  return { pg, url: pg.url.replace(/\/hubgate$/, `/${name}`) };
}

test('migrate applies every migration once, in order, and is idempotent', async (t) => {
  const stack = useStack(t);
  const { pg, url } = await freshDb(stack, 'm1');
  const first = await runHubgate(['db', 'migrate', '--database', url]);
  assert.equal(first.code, 0, first.stderr);
  assert.deepEqual(first.stdout.trim().split('\n'), [
    ...migrations.map((m) => `applied ${m}`),
    ...partitionLines(),
    `database is up to date: ${migrations.length} migrations (${migrations.length} applied now)`,
  ]);
  const again = await runHubgate(['db', 'migrate', `--database=${url}`]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout.trim(), `database is up to date: ${migrations.length} migrations (0 applied now)`);
  const rows = pg.psql('select name from schema_migration order by name', { db: 'm1' }).trim().split('\n');
  assert.deepEqual(rows, migrations);
  const owners = pg.psql(`select tablename || ':' || tableowner from pg_tables where schemaname = 'public' order by 1`, { db: 'm1' });
  for (const line of owners.trim().split('\n')) assert.match(line, /:hubgate_owner$/, `owner of ${line}`);
});

test('two concurrent migrations serialise on the advisory lock', async (t) => {
  const stack = useStack(t);
  const { pg, url } = await freshDb(stack, 'm2');
  const [a, b] = await Promise.all([
    runHubgate(['db', 'migrate', '--database', url]),
    runHubgate(['db', 'migrate', '--database', url]),
  ]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);
  const applied = (a.stdout + b.stdout).match(/^applied /gm)?.length ?? 0;
  assert.equal(applied, migrations.length, 'each migration applied exactly once');
  assert.equal(pg.psql('select count(*) from schema_migration', { db: 'm2' }).trim(), String(migrations.length));
});

test('a database with an unknown or altered migration is refused, untouched', async (t) => {
  const stack = useStack(t);
  const { pg, url } = await freshDb(stack, 'm3');
  assert.equal((await runHubgate(['db', 'migrate', '--database', url])).code, 0);

  pg.psql(`insert into schema_migration (name, sha256) values ('999_future.sql', 'x')`, { db: 'm3' });
  const unknown = await runHubgate(['db', 'migrate', '--database', url]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /^hubgate db migrate: the database has migration 999_future\.sql, which this hubgate does not know/);
  assert.equal(unknown.stderr.trim().split('\n').length, 1, 'one line saying what and where');

  pg.psql(`delete from schema_migration where name = '999_future.sql'`, { db: 'm3' });
  pg.psql(`update schema_migration set sha256 = repeat('0', 64) where name = '002_audit.sql'`, { db: 'm3' });
  const altered = await runHubgate(['db', 'migrate', '--database', url]);
  assert.equal(altered.code, 1);
  assert.match(altered.stderr, /migration 002_audit\.sql in the database \(sha256 000000000000\) differs from this build's/);
});

test('bad arguments and an unreachable database fail with one clear line', async (t) => {
  const none = await runHubgate(['db', 'migrate']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /--database URL is required/);
  const help = await runHubgate(['db', 'migrate', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Usage: hubgate db migrate --database URL/);
  const down = await runHubgate(['db', 'migrate', '--database', 'postgresql://nobody@127.0.0.1:1/x?connect_timeout=2']);
  assert.equal(down.code, 1);
  assert.match(down.stderr, /^hubgate db migrate: cannot connect to the database: /);
  assert.equal(down.stderr.trim().split('\n').length, 1);
});

test('the audit tables are append-only, even for a superuser', async (t) => {
  const stack = useStack(t);
  const { pg, url } = await freshDb(stack, 'm4');
  assert.equal((await runHubgate(['db', 'migrate', '--database', url])).code, 0);
  const q = (sql) => pg.psql(sql, { db: 'm4' });
  q(`insert into audit_stream (name, public_key, key_id) values ('gw-1', 'pk', 'kid')`);
  q(`insert into audit_event (stream_id, seq, ts, prev_hash, hash, canonical, kind)
     values (1, 1, now(), decode(repeat('00', 32), 'hex'), decode(repeat('11', 32), 'hex'), '{}', 'request')`);
  for (const [sql, op] of [
    [`update audit_event set kind = 'x'`, 'UPDATE ROW'],
    [`delete from audit_event`, 'DELETE ROW'],
    [`truncate audit_event`, 'TRUNCATE STATEMENT'],
    [`set session_replication_role = replica; update audit_event set kind = 'x'`, 'UPDATE ROW'],
    [`update audit_stream set name = 'y'`, 'UPDATE ROW'],
  ]) {
    assert.throws(() => q(sql), new RegExp(`is append-only \\(${op}\\)`), sql);
  }
  assert.equal(q('select kind from audit_event').trim(), 'request');

  // The gateway's role: INSERT and SELECT only, refused by permissions before any trigger.
  q(`create role gw login in role hubgate_gateway`);
  const asGw = (sql) => pg.psql(`set role gw; ${sql}`, { db: 'm4' });
  assert.equal(asGw('select count(*) from audit_event').trim(), '1');
  assert.throws(() => asGw(`update audit_event set kind = 'x'`), /permission denied for table audit_event/);
  assert.throws(() => asGw(`delete from audit_event`), /permission denied for table audit_event/);
  assert.throws(() => asGw(`truncate audit_event`), /permission denied for table audit_event/);
  assert.throws(() => asGw(`alter table audit_event disable trigger all`), /must be owner of table audit_event/);
  // Token revocation is the one update the gateway may make.
  q(`insert into access_token (id, hash, name, owner_iss, owner_sub, owner, scope, expires_at)
     values ('tok_12345678', decode(repeat('22', 32), 'hex'), 'laptop', 'https://idp', 'alice', '{}', 'read', now() + interval '1 day')`);
  asGw(`update access_token set revoked_at = now() where id = 'tok_12345678'`);
  assert.throws(() => asGw(`update access_token set scope = 'write'`), /permission denied for table access_token/);
});

// ---- 006_audit_event_indexes.sql ----

const LEGACY = path.join(REPO, 'tests', 'fixtures', 'db', 'legacy-0.1.sql');
const POLICY = fs.readFileSync(path.join(REPO, 'tests', 'fixtures', 'policy', 'members.json'), 'utf8');
const INDEXES_006 = ['audit_event_pkey', 'audit_event_policy_loaded', 'audit_event_request_id', 'audit_event_ts_brin'];

const audIndexes = (pg, db) => pg.psql(`select indexname from pg_indexes where tablename = 'audit_event' order by 1`, { db }).split('\n');
const isoNoMs = (ms) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

// Applies schema/001..last as `hubgate db migrate` does (each file, then its row in
// schema_migration with the file's SHA-256), so that a later `db migrate` finds a database that
// a release shipping only those migrations left.
function migrateUpTo(pg, db, last) {
  pg.psql(`create table if not exists schema_migration (name text primary key, sha256 text not null,
           applied_at timestamptz not null default now())`, { db });
  for (const m of migrations.filter((f) => f <= last)) {
    const sql = fs.readFileSync(path.join(REPO, 'schema', m));
    pg.psql(`begin;\n${sql}\n;insert into schema_migration (name, sha256) values ('${m}', '${crypto.createHash('sha256').update(sql).digest('hex')}');\ncommit;`, { db });
  }
}

// Each query hubgate makes on audit_event (audit/pgwriter_connect.c, verify*.c, report_stream.c,
// report_policy.c; a request id lookup), with sequential scans disabled: a plan that still scans
// audit_event sequentially has no index path, and each names the indexes it needs (on these
// small tables the planner may well prefer the primary key for the rest). The SQL is the C
// code's, with values in place of its parameters.
// (Since 008 the plans name each partition's index, <partition>_pkey and so on.)
const PKEY = /audit_event_\w*pkey/;
function assertIndexPaths(pg, db, { stream, from, to, rid }) {
  const queries = [
    ['chain head', [PKEY], `SELECT coalesce((SELECT seq FROM audit_event WHERE stream_id = ${stream} ORDER BY seq DESC LIMIT 1), 0), (SELECT hash FROM audit_event WHERE stream_id = ${stream} ORDER BY seq DESC LIMIT 1)`],
    ['verify, report pass', [PKEY], `SELECT seq, prev_hash, hash, canonical FROM audit_event WHERE stream_id = ${stream} AND seq BETWEEN 1 AND 100 ORDER BY seq`],
    ['report period', [], `SELECT min(seq), max(seq), count(*) FROM audit_event WHERE stream_id = ${stream} AND ts >= '${from}' AND ts < '${to}'`],
    ['report head', [PKEY], `SELECT max(seq) FROM audit_event WHERE stream_id = ${stream}`],
    // (since 008 the primary key holds ts: on these small tables the planner may read it
    // for the period's streams rather than the BRIN)
    ['policy at the start', [/audit_event_\w*(ts_brin|pkey)/, /audit_event_\w*policy_loaded/], `WITH active AS MATERIALIZED (SELECT DISTINCT stream_id FROM audit_event WHERE ts >= '${from}' AND ts < '${to}') SELECT DISTINCT ON (e.stream_id) s.name, e.canonical FROM audit_event e JOIN audit_stream s ON s.id = e.stream_id WHERE e.kind = 'policy.loaded' AND e.ts < '${from}' AND e.stream_id IN (SELECT stream_id FROM active) ORDER BY e.stream_id, e.ts DESC, e.seq DESC`],
    ['by request id', [/audit_event_\w*request_id/], `SELECT * FROM audit_event WHERE request_id = '${rid}'`],
  ];
  for (const [what, uses, sql] of queries) {
    const plan = pg.psql(`set enable_seqscan = off; explain ${sql}`, { db });
    assert.doesNotMatch(plan, /Seq Scan on audit_event/, `${what}: no index path\n${plan}`);
    for (const index of uses) assert.match(plan, index, `${what}\n${plan}`);
  }
}

// The last checkpoint's time of the stream that stopped first, to the microsecond: a period
// ending there is proven complete for every stream.
const lastCheckpoint = (pg, db) => pg.psql(`select to_char(min(t) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
  from (select max(ts) as t from audit_checkpoint group by stream_id) c`, { db });

// `audit verify` (the database's keys), `report soc2` over [from, to) and `report verify` of it
// (every key the database registered, and the report's own).
async function checkEvidence(pg, db, { from, to, dir, name }) {
  const url = pg.url.replace(/\/hubgate$/, `/${db}`);
  const v = await runHubgate(['audit', 'verify', '--database', url, '--json']);
  assert.equal(v.code, 0, v.stdout + v.stderr);
  const verified = JSON.parse(v.stdout);
  assert.equal(verified.ok, true, v.stdout);
  assert.equal(String(verified.events), pg.psql('select count(*) from audit_event', { db }));

  const out = path.join(dir, name);
  const reportKey = path.join(dir, `${name}-report.pem`);
  const kg = await runHubgate(['keygen', '--out', reportKey, '--pubout', `${reportKey}.pub`]);
  assert.equal(kg.code, 0, kg.stderr);
  const r = await runHubgate(['report', 'soc2', '--database', url, '--from', from, '--to', to, '--out', out, '--key', reportKey]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const report = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
  assert.equal(String(report.totals.events), pg.psql(`select count(*) from audit_event where ts >= '${from}' and ts < '${to}'`, { db }));
  // Every key the streams registered (the database's word is enough here: pinning is tested
  // in tests/integration/evidence/).
  const pems = pg.psql(`select public_key from audit_stream union all select public_key from audit_stream_key`, { db })
    .split(/(?<=-----END PUBLIC KEY-----)\n/).filter(Boolean);
  const keys = pems.map((pem, i) => {
    const f = path.join(dir, `${name}-key${i}.pub`);
    fs.writeFileSync(f, `${pem.trim()}\n`);
    return ['--pubkey', f];
  });
  const rv = await runHubgate(['report', 'verify', out, ...keys.flat(), '--pubkey', `${reportKey}.pub`]);
  assert.equal(rv.code, 0, rv.stdout + rv.stderr);
  return report;
}

test('006 upgrades a database populated by 0.1: events, verify and the report still work', async (t) => {
  const stack = useStack(t);
  const pg = await stack.postgres();
  pg.psql('create database legacy', { db: 'postgres' });
  pg.psql(fs.readFileSync(LEGACY, 'utf8'), { db: 'legacy' });
  const q = (sql) => pg.psql(sql, { db: 'legacy' });
  const before = q('select count(*), min(ts), max(ts) from audit_event').split('|');
  assert.ok(Number(before[0]) >= 10, `the fixture holds 0.1's events (${before[0]})`);
  assert.deepEqual(audIndexes(pg, 'legacy'), ['audit_event_actor_ts', 'audit_event_org_ts', 'audit_event_pkey', 'audit_event_request_id', 'audit_event_ts']);

  const m = await runHubgate(['db', 'migrate', '--database', pg.url.replace(/\/hubgate$/, '/legacy')]);
  assert.equal(m.code, 0, m.stdout + m.stderr);
  assert.match(m.stdout, /^applied 006_audit_event_indexes\.sql$/m);
  assert.deepEqual(audIndexes(pg, 'legacy'), INDEXES_006);
  assert.equal(q(`select string_agg(distinct pg_get_userbyid(relowner), ',') from pg_class where relname like 'audit_event%' and relkind = 'i'`), 'hubgate_owner');
  assert.deepEqual(q('select count(*), min(ts), max(ts) from audit_event').split('|'), before, 'every event is still there');

  const rid = q(`select request_id from audit_event where kind = 'request' and request_id is not null order by seq limit 1`);
  assert.equal(q(`select count(*) from audit_event where request_id = '${rid}' and kind = 'request'`), '1');
  const from = isoNoMs(Date.parse(before[1]) - 1000);
  const to = lastCheckpoint(pg, 'legacy');
  assert.ok(Date.parse(to) > Date.parse(before[2]), 'the last checkpoint follows the last event');
  assertIndexPaths(pg, 'legacy', { stream: q(`select id from audit_stream`), from, to, rid });
  await checkEvidence(pg, 'legacy', { from, to, dir: makeTempDir('m006'), name: 'legacy' });
});

test('006 upgrades a database at 005 holding events this release wrote; writing goes on after it', async (t) => {
  const { pg, idp, gateway } = await startStack({ t, gateway: false });
  pg.psql('create database at005', { db: 'postgres' });
  migrateUpTo(pg, 'at005', '005_least_privilege.sql');
  const q = (sql) => pg.psql(sql, { db: 'at005' });
  const url = pg.url.replace(/\/hubgate$/, '/at005');
  assert.deepEqual(audIndexes(pg, 'at005'), ['audit_event_actor_ts', 'audit_event_org_ts', 'audit_event_pkey', 'audit_event_request_id', 'audit_event_ts']);

  // A gateway of this release writes to the 005 schema: a policy load, requests, a token.
  const config = { database: url, audit: { stream: 'gw-before', checkpoint_every: 5 } };
  const alice = await idp.token('alice');
  const eve = await idp.token('eve');
  // Tokens need the newest schema (007): before the migration only requests are made.
  const traffic = async (gw, mint = true) => {
    const ok = await fetch(`${gw.url}/api/models/acme/bert`, { headers: { authorization: `Bearer ${alice}` } });
    assert.equal(ok.status, 200);
    assert.equal((await fetch(`${gw.url}/api/models/acme/bert`, { headers: { authorization: `Bearer ${eve}` } })).status, 404);
    if (mint) await mintToken(gw, alice, { name: `laptop-${gw.config.audit.stream}`, scope: 'read' });
    return ok.headers.get('x-request-id');
  };
  const gw1 = await gateway({ migrate: false, policy: POLICY, config });
  await sleep(20);
  const t1 = Date.now(); // after gw-before's policy load: the report's period starts here
  await sleep(20);
  const rid1 = await traffic(gw1, false);
  assert.equal(await gw1.stop(), 0);
  const written = q('select count(*) from audit_event');

  const m = await runHubgate(['db', 'migrate', '--database', url]);
  assert.equal(m.code, 0, m.stdout + m.stderr);
  const after005 = migrations.filter((f) => f > '005_least_privilege.sql');
  assert.deepEqual(m.stdout.trim().split('\n'), [...after005.map((f) => `applied ${f}`), ...partitionLines(), `database is up to date: ${migrations.length} migrations (${after005.length} applied now)`]);
  assert.deepEqual(audIndexes(pg, 'at005'), INDEXES_006);
  assert.equal(q('select count(*) from audit_event'), written);

  // The same stream goes on (its chain head read back through the primary key), and a new one
  // beside it.
  const [gw2, gw3] = await Promise.all([
    gateway({ migrate: false, policy: POLICY, config }),
    gateway({ migrate: false, policy: POLICY, config: { ...config, audit: { stream: 'gw-after', checkpoint_every: 5 } } }),
  ]);
  const rid2 = await traffic(gw2);
  const rid3 = await traffic(gw3);
  assert.equal(await gw2.stop(), 0);
  assert.equal(await gw3.stop(), 0);
  for (const rid of [rid1, rid2, rid3]) {
    assert.equal(q(`select count(*) from audit_event where request_id = '${rid}' and kind = 'request'`), '1', rid);
  }
  assert.equal(q(`select count(*) from audit_stream`), '2');

  const from = new Date(t1).toISOString();
  const to = lastCheckpoint(pg, 'at005');
  assertIndexPaths(pg, 'at005', { stream: q(`select id from audit_stream where name = 'gw-before'`), from, to, rid: rid2 });
  const report = await checkEvidence(pg, 'at005', { from, to, dir: makeTempDir('m006'), name: 'at005' });
  // The policy gw-before loaded before the period is named as in force at its start: found
  // through the partial index on policy loads and the period's streams (BRIN on ts).
  const [v] = report.criteria['CC8.1'].versions;
  assert.equal(report.criteria['CC8.1'].versions.length, 1);
  assert.equal(v.sha256, crypto.createHash('sha256').update(POLICY).digest('hex'));
  assert.equal(v.in_force_at_start, true);
});

// ---- 007_sign_in.sql ----

const AT006 = path.join(REPO, 'tests', 'fixtures', 'db', 'at-006.sql');
const AT006_INFO = JSON.parse(fs.readFileSync(path.join(REPO, 'tests', 'fixtures', 'db', 'at-006.json'), 'utf8'));

test('007 upgrades the previous release\'s database (at 006): its tokens keep working and record their use, its chain goes on and verifies', async (t) => {
  const { pg, idp, gateway } = await startStack({ t, gateway: false });
  pg.psql('create database prev', { db: 'postgres' });
  pg.psql(fs.readFileSync(AT006, 'utf8'), { db: 'prev' });
  const q = (sql) => pg.psql(sql, { db: 'prev' });
  const url = (user) => pg.url.replace(/\/\/postgres@/, `//${user}@`).replace(/\/hubgate$/, '/prev');
  const before = q('select count(*), min(ts) from audit_event').split('|');
  assert.ok(Number(before[0]) >= 10, `the fixture holds the previous release's events (${before[0]})`);
  assert.equal(q('select max(name) from schema_migration'), '006_audit_event_indexes.sql');

  const m = await runHubgate(['db', 'migrate', '--database', url('postgres')]);
  assert.equal(m.code, 0, m.stdout + m.stderr);
  const after006 = migrations.filter((f) => f > '006_audit_event_indexes.sql');
  assert.deepEqual(m.stdout.trim().split('\n'), [...after006.map((f) => `applied ${f}`), ...partitionLines(), `database is up to date: ${migrations.length} migrations (${after006.length} applied now)`]);
  assert.equal(q('select count(*) from audit_event'), before[0], 'every event is still there');
  assert.equal(q(`select pg_get_userbyid(relowner) from pg_class where relname = 'login_session'`), 'hubgate_owner');
  assert.equal(q(`select count(*) from access_token where last_used_at is null and grant_id is null`), '2', 'the old tokens, as they were');
  // The fixture was made once; its token was minted for 30 days then. Time moved on, not the token.
  q(`update access_token set expires_at = now() + interval '30 days' where id = '${AT006_INFO.laptop.id}'`);

  // Today's gateway as a least-privileged role of today, continuing the old stream.
  const role = await runHubgate(['db', 'role', 'create', '--database', url('postgres'), '--kind', 'gateway', '--name', 'gw_prev']);
  assert.equal(role.code, 0, role.stdout + role.stderr);
  const gw = await gateway({ dbRole: null, migrate: false, policy: POLICY, config: { database: url('gw_prev'), audit: { stream: 'gw-006', checkpoint_every: 5 } } });
  const bert = (tok) => fetch(`${gw.url}/api/models/acme/bert`, { headers: { authorization: `Bearer ${tok}` } }).then((r) => r.status);
  assert.equal(await bert(AT006_INFO.laptop.token), 200, 'a token the previous release minted');
  assert.equal(q(`select last_used_at > now() - interval '1 minute' from access_token where id = '${AT006_INFO.laptop.id}'`), 't', 'its use is recorded');
  assert.equal(await bert('hf_gw_' + 'x'.repeat(32)), 401);
  // (its owner is the fixture's IdP, another address than this test's: the API lists tokens per
  // issuer, so the database says it)
  assert.equal(q(`select revoked_at is not null from access_token where id = '${AT006_INFO.revoked}'`), 't', 'the revoked one stays revoked');
  await mintToken(gw, await idp.token('alice'), { name: 'after-007', scope: 'read' });
  assert.equal(await gw.stop(), 0);
  assert.ok(Number(q('select count(*) from audit_event')) > Number(before[0]) + 3, 'new events follow the old ones');
  assert.equal(q(`select count(*) from audit_stream where name = 'gw-006'`), '1', 'the old stream was continued');

  await sleep(50);
  const from = isoNoMs(Date.parse(before[1]) - 1000);
  await checkEvidence(pg, 'prev', { from, to: lastCheckpoint(pg, 'prev'), dir: makeTempDir('m007'), name: 'prev' });
});

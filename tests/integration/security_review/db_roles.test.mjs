// Issue 9, item 7: the audit tables' protection no longer depends on who migrates.
// - a non-superuser migrator (CREATEROLE, owner of the database) migrates PostgreSQL 15, and
//   after any migration no role is left a member of hubgate_owner;
// - the gateway's group holds exactly SELECT and INSERT on the audit tables, and on
//   access_token and login_session plus the UPDATE of the columns a gateway changes;
// - `hubgate db role create` makes the gateway's and the auditor's login roles, nothing more;
// - `hubgate serve` refuses a database role that could alter the audit log, naming the fix;
// - a database populated by the previous release (tests/fixtures/db/legacy-0.1.sql) upgrades:
//   roles, grants and owners are put right, the gateway runs on it as a least-privileged role
//   and `hubgate audit verify` passes over the old and the new events.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { useStack, startStack, mintToken, teardownAll, runHubgate, REPO } from '../../lib/harness.mjs';

after(teardownAll);

const POLICY = fs.readFileSync(path.join(REPO, 'tests', 'fixtures', 'policy', 'members.json'), 'utf8');
const LEGACY = path.join(REPO, 'tests', 'fixtures', 'db', 'legacy-0.1.sql');
const AUDIT_TABLES = ['audit_checkpoint', 'audit_event', 'audit_stream', 'audit_stream_key', 'policy_version'];

const urlFor = (pg, user, db = 'hubgate') => `postgresql://${user}@127.0.0.1:${pg.port}/${db}`;

// Every privilege a role holds on the public schema's tables, table- and column-level,
// as "table:PRIVILEGE" and "table.column:PRIVILEGE".
function privileges(pg, role, db) {
  return pg.psql(`
    select c.relname || ':' || a.privilege_type from pg_class c, aclexplode(c.relacl) a
     where c.relnamespace = 'public'::regnamespace and a.grantee = '${role}'::regrole
    union all
    select c.relname || '.' || att.attname || ':' || a.privilege_type
      from pg_class c join pg_attribute att on att.attrelid = c.oid, aclexplode(att.attacl) a
     where c.relnamespace = 'public'::regnamespace and a.grantee = '${role}'::regrole
     order by 1`, { db }).split('\n').filter(Boolean);
}

const GATEWAY_PRIVILEGES = [
  'access_token.last_used_at:UPDATE', 'access_token.revoked_at:UPDATE', 'access_token:INSERT', 'access_token:SELECT',
  'login_session.ended_at:UPDATE', 'login_session.ended_reason:UPDATE', 'login_session.last_seen_at:UPDATE',
  'login_session:INSERT', 'login_session:SELECT',
  ...['decided_at', 'last_poll_at', 'owner', 'owner_iss', 'owner_sub', 'scope', 'status'].map((c) => `device_grant.${c}:UPDATE`),
  'device_grant:INSERT', 'device_grant:SELECT',
  'refresh_token.revoked_at:UPDATE', 'refresh_token.used_at:UPDATE', 'refresh_token:INSERT', 'refresh_token:SELECT',
  ...['active', 'deleted_at', 'display_name', 'email', 'external_id', 'updated_at', 'user_name', 'version'].map((c) => `directory_user.${c}:UPDATE`),
  ...['deleted_at', 'display_name', 'external_id', 'updated_at', 'version'].map((c) => `directory_group.${c}:UPDATE`),
  'directory_user:INSERT', 'directory_user:SELECT', 'directory_group:INSERT', 'directory_group:SELECT',
  'directory_member:DELETE', 'directory_member:INSERT', 'directory_member:SELECT',
  'directory_version:SELECT', 'directory_version:USAGE',
  ...AUDIT_TABLES.flatMap((t) => [`${t}:INSERT`, `${t}:SELECT`]),
  'schema_migration:SELECT',
  'audit_archive:SELECT', // schema 008: read for the reports it serves, written only by an archival
  'audit_stream_retired:SELECT', // schema 009: read (a retired stream is refused), written only by audit retire
].sort();

// The layout every migration must leave: hubgate_owner has no member and owns every table,
// sequence and the trigger function; the gateway's and the auditor's groups hold exactly
// their grants.
function assertLayout(pg, db) {
  assert.equal(pg.psql(`select string_agg(pg_get_userbyid(member), ',') from pg_auth_members where roleid = 'hubgate_owner'::regrole`, { db }), '',
    'nobody is a member of hubgate_owner after a migration');
  assert.equal(pg.psql(`select string_agg(relname || ' ' || pg_get_userbyid(relowner), ', ') from pg_class
    where relnamespace = 'public'::regnamespace and relkind in ('r', 'S') and pg_get_userbyid(relowner) <> 'hubgate_owner'`, { db }), '',
  'every table and sequence belongs to hubgate_owner');
  assert.equal(pg.psql(`select pg_get_userbyid(proowner) from pg_proc where proname = 'hubgate_append_only'`, { db }), 'hubgate_owner');
  assert.deepEqual(privileges(pg, 'hubgate_gateway', db), GATEWAY_PRIVILEGES);
  assert.deepEqual(privileges(pg, 'hubgate_auditor', db),
    [...AUDIT_TABLES, 'access_token', 'login_session', 'device_grant', 'refresh_token', 'directory_user', 'directory_group', 'directory_member', 'schema_migration', 'audit_archive', 'audit_stream_retired'].map((t) => `${t}:SELECT`).sort());
  assert.equal(pg.psql(`select rolcanlogin from pg_roles where rolname = 'hubgate_migrator'`, { db }), 'f', 'hubgate_migrator exists and cannot log in');
}

test('a non-superuser migrator migrates a fresh PostgreSQL 15 database and keeps no owner rights', async (t) => {
  const stack = useStack(t);
  const pg = await stack.postgres();
  pg.psql('CREATE ROLE deployer LOGIN CREATEROLE');
  pg.psql('CREATE DATABASE fresh OWNER deployer', { db: 'postgres' });
  const m = await runHubgate(['db', 'migrate', '--database', urlFor(pg, 'deployer', 'fresh')]);
  assert.equal(m.code, 0, m.stdout + m.stderr);
  assert.match(m.stdout, /applied 005_least_privilege\.sql/);
  assertLayout(pg, 'fresh');
  assert.equal(pg.psql(`select pg_has_role('deployer', 'hubgate_owner', 'MEMBER')`, { db: 'fresh' }), 'f');
  // The audit tables stay closed to the migrator outside a migration: it is not their owner.
  assert.throws(() => pg.psql('set role deployer; alter table audit_event disable trigger all', { db: 'fresh' }), /must be owner of table audit_event/);
  // Running it again changes nothing and still leaves no member.
  const again = await runHubgate(['db', 'migrate', '--database', urlFor(pg, 'deployer', 'fresh')]);
  assert.equal(again.code, 0, again.stdout + again.stderr);
  assert.match(again.stdout, /\(0 applied now\)/);
  assertLayout(pg, 'fresh');

  // A role that can do neither is told what it lacks, in one line.
  pg.psql('CREATE ROLE nobody LOGIN');
  const refused = await runHubgate(['db', 'migrate', '--database', urlFor(pg, 'nobody', 'fresh')]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /^hubgate db migrate: the role "nobody" cannot migrate: it is neither a superuser nor has CREATEROLE/);
  assert.equal(refused.stderr.trim().split('\n').length, 1);
});

test('a superuser migration leaves the same layout', async (t) => {
  const stack = useStack(t);
  const pg = await stack.postgres();
  const m = await runHubgate(['db', 'migrate', '--database', pg.url]);
  assert.equal(m.code, 0, m.stdout + m.stderr);
  assertLayout(pg, 'hubgate');
});

test('db role create makes login roles that are members of one group and nothing else', async (t) => {
  const stack = useStack(t);
  const pg = await stack.postgres();
  assert.equal((await runHubgate(['db', 'migrate', '--database', pg.url])).code, 0);
  const dir = stack.tmpdir('roles');
  const pw = path.join(dir, 'gw.password');
  fs.writeFileSync(pw, 'correct horse battery staple\n', { mode: 0o644 });
  fs.chmodSync(pw, 0o644);
  const open = await runHubgate(['db', 'role', 'create', '--database', pg.url, '--kind', 'gateway', '--name', 'gw_one', '--password-file', pw]);
  assert.equal(open.code, 1, 'a password file others can read is refused');
  assert.match(open.stderr, /gw\.password is readable or writable by group or others \(mode 0644\).*chmod 600/);
  fs.chmodSync(pw, 0o600);

  const gw = await runHubgate(['db', 'role', 'create', '--database', pg.url, '--kind', 'gateway', '--name', 'gw_one', '--password-file', pw]);
  assert.equal(gw.code, 0, gw.stdout + gw.stderr);
  assert.match(gw.stdout, /created login role gw_one, a member of hubgate_gateway and nothing else \(password set\)/);
  const aud = await runHubgate(['db', 'role', 'create', '--database', pg.url, '--kind', 'auditor', '--name', 'audit_alice']);
  assert.equal(aud.code, 0, aud.stdout + aud.stderr);

  for (const [role, group] of [['gw_one', 'hubgate_gateway'], ['audit_alice', 'hubgate_auditor']]) {
    assert.equal(pg.psql(`select rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls, rolinherit from pg_roles where rolname = '${role}'`), 't|f|f|f|f|f|t');
    assert.equal(pg.psql(`select string_agg(pg_get_userbyid(roleid), ',') from pg_auth_members where member = '${role}'::regrole`), group);
    assert.deepEqual(privileges(pg, role, 'hubgate'), [], `${role} holds nothing of its own`);
  }
  // Only the SCRAM verifier reached the server.
  assert.match(pg.psql(`select rolpassword from pg_authid where rolname = 'gw_one'`), /^SCRAM-SHA-256\$/);
  assert.equal(pg.psql(`select rolpassword is null from pg_authid where rolname = 'audit_alice'`), 't');

  // What each may do.
  const as = (role, sql) => pg.psql(`set role ${role}; ${sql}`);
  as('gw_one', `insert into audit_stream (name, public_key, key_id) values ('s1', 'pk', 'kid')`);
  assert.throws(() => as('gw_one', `update audit_stream set name = 'x'`), /permission denied for table audit_stream/);
  assert.throws(() => as('gw_one', `alter table audit_event disable trigger all`), /must be owner of table audit_event/);
  assert.equal(as('audit_alice', 'select count(*) from audit_stream'), '1');
  assert.throws(() => as('audit_alice', `insert into audit_stream (name, public_key, key_id) values ('s2', 'pk', 'kid')`), /permission denied for table audit_stream/);

  // Refusals: an existing role, a bad name, hubgate's own roles, a bad kind.
  const exists = await runHubgate(['db', 'role', 'create', '--database', pg.url, '--kind', 'gateway', '--name', 'gw_one']);
  assert.equal(exists.code, 1);
  assert.match(exists.stderr, /the role "gw_one" already exists/);
  for (const name of ['Robert"; DROP TABLE audit_event; --', 'pg_monitor', 'hubgate_owner', '']) {
    const r = await runHubgate(['db', 'role', 'create', '--database', pg.url, '--kind', 'gateway', '--name', name]);
    assert.equal(r.code, 2, name);
    assert.match(r.stderr, /is not a role name hubgate creates/, name);
  }
  const kind = await runHubgate(['db', 'role', 'create', '--database', pg.url, '--kind', 'owner', '--name', 'x1']);
  assert.equal(kind.code, 2);
  assert.match(kind.stderr, /--kind "owner" is not a kind \(expected gateway or auditor\)/);
  assert.equal(pg.psql(`select count(*) from pg_roles where rolname in ('x1', 'pg_monitor2')`), '0');
});

test('serve refuses a database role that could alter the audit log, and says how to fix it', async (t) => {
  const { pg, idp, gw } = await startStack({ t, policy: POLICY });
  // The harness's own gateway runs as a member of hubgate_gateway only, and works.
  assert.match(gw.config.database, /^postgresql:\/\/hubgate_gw@/);
  const alice = await idp.token('alice');
  assert.equal((await fetch(`${gw.url}/api/models/acme/bert`, { headers: { authorization: `Bearer ${alice}` } })).status, 200);
  assert.equal(await gw.stop(), 0);

  // A database owned by a gateway's role (migrated first: a migration takes hubgate_owner back
  // from every member, so the member below is made after it).
  pg.psql('CREATE ROLE dbowner_gw LOGIN IN ROLE hubgate_gateway');
  pg.psql('CREATE DATABASE owned OWNER dbowner_gw', { db: 'postgres' });
  assert.equal((await runHubgate(['db', 'migrate', '--database', urlFor(pg, 'postgres', 'owned')])).code, 0);
  pg.psql(`
    CREATE ROLE super_gw LOGIN SUPERUSER;
    CREATE ROLE owner_gw LOGIN IN ROLE hubgate_gateway, hubgate_owner;
    CREATE ROLE admin_gw LOGIN CREATEROLE IN ROLE hubgate_gateway;
    CREATE ROLE update_gw LOGIN IN ROLE hubgate_gateway;
    GRANT UPDATE, TRIGGER ON audit_event TO update_gw;
    GRANT UPDATE (scope) ON access_token TO update_gw;
    CREATE ROLE create_gw LOGIN IN ROLE hubgate_gateway;
    GRANT CREATE ON SCHEMA public TO create_gw;
    CREATE ROLE files_gw LOGIN IN ROLE hubgate_gateway, pg_write_server_files;
    CREATE ROLE bare_gw LOGIN;
    CREATE ROLE part_gw LOGIN IN ROLE hubgate_gateway;
    GRANT INSERT, DELETE ON audit_event_before_008 TO part_gw;`);

  const cases = [
    ['superuser', 'super_gw', 'hubgate', [/super_gw is a superuser/]],
    ['member of the owner role', 'owner_gw', 'hubgate', [/owner_gw is a member of hubgate_owner/]],
    ['CREATEROLE', 'admin_gw', 'hubgate', [/admin_gw has CREATEROLE: it could make itself a member of hubgate_owner/]],
    ['extra table privileges', 'update_gw', 'hubgate', [/update_gw may UPDATE audit_event/, /update_gw may TRIGGER audit_event/, /update_gw may UPDATE access_token\.scope/]],
    ['CREATE on the schema', 'create_gw', 'hubgate', [/create_gw may CREATE in schema public/]],
    ['writes server files', 'files_gw', 'hubgate', [/files_gw is a member of pg_write_server_files/]],
    ['owner of the database', 'dbowner_gw', 'owned', [/dbowner_gw owns the database owned/, /dbowner_gw owns the schema public holding the audit tables/]],
    ['not a member of hubgate_gateway', 'bare_gw', 'hubgate', [/bare_gw lacks INSERT on audit_event \(is it a member of hubgate_gateway\?\)/]],
    // schema 008: a partition is written through audit_event only
    ['privileges on a partition', 'part_gw', 'hubgate', [/part_gw may INSERT the partition audit_event_before_008/, /part_gw may DELETE the partition audit_event_before_008/]],
  ];
  const cfg = JSON.parse(fs.readFileSync(gw.configFile, 'utf8'));
  for (const [name, role, db, want] of cases) {
    const before = pg.psql('select count(*) from audit_event', { db });
    const file = path.join(gw.dir, `${role}.json`);
    fs.writeFileSync(file, JSON.stringify({ ...cfg, database: urlFor(pg, role, db) }), { mode: 0o600 });
    let r;
    try {
      r = await runHubgate(['serve', '--config', file], { timeoutMs: 20000 });
    } catch (e) {
      assert.fail(`${name}: serve did not refuse to start (${e.message})`);
    }
    assert.equal(r.code, 1, `${name}: exit status\n${r.stderr}`);
    assert.match(r.stderr, new RegExp(`the database role "${role}" is not fit for a gateway, which must be able to append to the audit log and unable to change what it holds`), name);
    for (const w of want) assert.match(r.stderr, w, name);
    assert.match(r.stderr, /hubgate db role create --database ADMIN_URL --kind gateway --name NAME/, `${name}: the fix is named`);
    assert.equal(pg.psql('select count(*) from audit_event', { db }), before, `${name}: nothing was written`);
  }
});

test('a database populated by the previous release upgrades to the new role layout', async (t) => {
  const { pg, idp, gateway } = await startStack({ t, gateway: false });
  pg.psql('CREATE DATABASE legacy', { db: 'postgres' });
  pg.psql(fs.readFileSync(LEGACY, 'utf8'), { db: 'legacy' });
  const q = (sql) => pg.psql(sql, { db: 'legacy' });
  const oldEvents = Number(q('select count(*) from audit_event'));
  assert.ok(oldEvents >= 10, `the fixture holds the previous release's events (${oldEvents})`);
  assert.equal(q(`select pg_has_role('hubgate_admin', 'hubgate_owner', 'MEMBER')`), 't', 'as the previous release left it');

  const m = await runHubgate(['db', 'migrate', '--database', urlFor(pg, 'postgres', 'legacy')]);
  assert.equal(m.code, 0, m.stdout + m.stderr);
  assert.match(m.stdout, /^applied 005_least_privilege\.sql$/m);
  assert.match(m.stdout, /^revoked hubgate_owner from hubgate_admin: no role keeps the owner's rights$/m);
  assertLayout(pg, 'legacy');
  assert.equal(q('select count(*) from access_token'), '2', 'the tokens minted before are still there');

  const role = await runHubgate(['db', 'role', 'create', '--database', urlFor(pg, 'postgres', 'legacy'), '--kind', 'gateway', '--name', 'gw_legacy']);
  assert.equal(role.code, 0, role.stdout + role.stderr);
  const gw = await gateway({
    dbRole: null,
    migrate: false,
    policy: POLICY,
    config: {
      database: urlFor(pg, 'gw_legacy', 'legacy'),
      audit: { stream: 'gw-legacy', checkpoint_every: 5 }, // the old stream, continued with a new key
    },
  });
  const alice = await idp.token('alice');
  const eve = await idp.token('eve');
  const ok = await fetch(`${gw.url}/api/models/acme/bert`, { headers: { authorization: `Bearer ${alice}` } });
  assert.equal(ok.status, 200);
  assert.equal((await fetch(`${gw.url}/api/models/acme/bert`, { headers: { authorization: `Bearer ${eve}` } })).status, 404);
  await mintToken(gw, alice, { name: 'after-upgrade', scope: 'read' });
  assert.equal(await gw.stop(), 0);

  const rid = ok.headers.get('x-request-id');
  assert.equal(q(`select count(*) from audit_event where request_id = '${rid}' and kind = 'request'`), '1');
  assert.ok(Number(q('select count(*) from audit_event')) > oldEvents + 3, 'new events follow the old ones');
  assert.equal(q(`select count(*) from audit_stream`), '1', 'the old stream was continued');
  assert.equal(q(`select count(*) from audit_stream_key`), '1', 'the new signing key was registered for it');
  assertLayout(pg, 'legacy');

  // The auditor verifies the whole chain, old and new events, as a least-privileged role.
  assert.equal((await runHubgate(['db', 'role', 'create', '--database', urlFor(pg, 'postgres', 'legacy'), '--kind', 'auditor', '--name', 'auditor_legacy'])).code, 0);
  const v = await runHubgate(['audit', 'verify', '--database', urlFor(pg, 'auditor_legacy', 'legacy'), '--json']);
  assert.equal(v.code, 0, v.stdout + v.stderr);
  const report = JSON.parse(v.stdout);
  assert.ok(JSON.stringify(report).includes('gw-legacy'), v.stdout);
});

// hubgate db migrate against a real PostgreSQL: applies schema/NNN_*.sql in order, is
// idempotent and concurrency-safe, refuses databases it does not know, and the schema it
// creates is append-only (docs/database.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { REPO, useStack, runHubgate } from '../lib/harness.mjs';

// Every migration in schema/, as the binary embeds them (schema/embed.cmake sorts the same way).
const migrations = fs.readdirSync(path.join(REPO, 'schema')).filter((f) => /^[0-9]{3}_[a-z0-9_]+\.sql$/.test(f)).sort();

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

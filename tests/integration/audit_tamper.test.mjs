// The audit log against someone who can edit the database (issue 6, "Done when"): as a
// superuser, each kind of tampering is done to a copy of a real log written by the audit writer,
// and `hubgate audit verify` must find it and say where (stream, seq, kind). As the gateway's
// own role, PostgreSQL itself refuses UPDATE, DELETE and TRUNCATE.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startPostgres, runHubgate, hubgateBin, makeTempDir, teardownAll } from '../lib/harness.mjs';
import { run } from '../lib/registry.mjs';
import { chainHash, genesis as genesisOf } from '../lib/evidence.mjs';

after(teardownAll);

const LOAD = path.resolve(path.dirname(hubgateBin()), '..', 'bench', 'bench_audit');
const STREAM = 'gw-tamper';
const EVENTS = 300;

let pg, dir, key, pub, cpfile, gwUrl;

// The URL of database `db` as role `user`.
const urlOf = (db, user = 'postgres') => pg.url.replace(/\/\/postgres@/, `//${user}@`).replace(/\/hubgate$/, `/${db}`);

async function verify(db, extra = []) {
  const r = await runHubgate(['audit', 'verify', '--database', urlOf(db), '--pubkey', pub, '--json', ...extra]);
  let report = null;
  try {
    report = JSON.parse(r.stdout);
  } catch {
    /* reported below */
  }
  assert.ok(report, `verify printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  return { code: r.code, report, stderr: r.stderr };
}

// The chain hash in SQL of text `c` after bytea `prev`, chain 1 or 2 as the text's "v" says.
const CHAIN_SQL = (prev, c) => `case when ${c} like '%"v":2}'
  then sha256(${prev} || int2send(octet_length(coalesce(${c}::json->'decision'->>'org', ''))::int2)
              || convert_to(coalesce(${c}::json->'decision'->>'org', ''), 'UTF8') || sha256(convert_to(${c}, 'UTF8')))
  else sha256(${prev} || convert_to(${c}, 'UTF8')) end`;

let cases = 0;
// A fresh copy of the written log, tampered with by `sql` as the superuser.
function tampered(sql) {
  const db = `case_${++cases}`;
  pg.psql(`create database ${db} template hubgate`, { db: 'postgres' });
  if (sql) pg.psql(sql, { db });
  return db;
}

// `sql` between disabling and re-enabling the no-change triggers of `tables`: what the database's
// owner can do.
const bypassing = (tables, sql) => [
  ...tables.map((t) => `alter table ${t} disable trigger ${t}_no_change;`),
  sql,
  ...tables.map((t) => `alter table ${t} enable always trigger ${t}_no_change;`),
].join('\n');

// verify must fail (exit 1): its report.
async function refused(db, extra) {
  const { code, report } = await verify(db, extra);
  assert.equal(code, 1);
  return report;
}

const kindOf = (seq) => ((seq - 1) % 2 ? 'completion' : 'request'); // the load writes request, completion, ...

before(async () => {
  pg = await startPostgres();
  const m = await runHubgate(['db', 'migrate', '--database', pg.url]);
  assert.equal(m.code, 0, m.stderr);
  pg.psql('create role gw login in role hubgate_gateway');
  gwUrl = urlOf('hubgate', 'gw');
  dir = makeTempDir('audit-tamper');
  key = path.join(dir, 'audit.pem');
  pub = path.join(dir, 'audit.pub');
  const kg = await runHubgate(['keygen', '--out', key, '--pubout', pub]);
  assert.equal(kg.code, 0, kg.stderr);
  // One submitter, so that seq order is submission order: seq k is event k-1 of the load.
  const w = await run(LOAD, ['--database', gwUrl, '--key', key, '--stream', STREAM, '--spool-dir', path.join(dir, 'spool'),
    '--checkpoint-every', '40', '--threads', '1', '--window', '16', '--events', String(EVENTS), 'bulk'], { timeoutMs: 120000 });
  assert.equal(w.code, 0, w.stderr);
  assert.match(w.stdout, new RegExp(`"ok":${EVENTS},`));
  cpfile = path.join(dir, 'spool', `${STREAM}.checkpoints`);
  assert.ok(fs.readFileSync(cpfile, 'utf8').trim().split('\n').length >= 5, 'the writer exported its checkpoints');
});

test('the untouched log verifies, with its checkpoints, and is JCS-canonical', async () => {
  const { code, report } = await verify('hubgate', ['--checkpoint', cpfile]);
  assert.equal(code, 0, JSON.stringify(report));
  assert.equal(report.ok, true);
  assert.equal(report.pinned_keys, true);
  const s = report.streams.find((x) => x.stream === STREAM);
  assert.equal(s.events, EVENTS);
  assert.equal(s.last_seq, EVENTS);
  assert.equal(s.last_signed_seq, EVENTS, 'the writer signs the head when it closes');
  assert.equal(s.unsigned_tail, 0);
  assert.ok(s.checkpoints >= 7 && s.file_checkpoints >= 7, JSON.stringify(s));

  // Independent check of the canonical form: any RFC 8785 implementation reproduces the bytes.
  const jcs = (v) => (v === null || typeof v !== 'object' ? JSON.stringify(v)
    : Array.isArray(v) ? `[${v.map(jcs).join(',')}]`
      : `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${jcs(v[k])}`).join(',')}}`);
  const rows = pg.psql(`select canonical from audit_event order by seq`).split('\n');
  assert.equal(rows.length, EVENTS);
  for (const c of rows) assert.equal(jcs(JSON.parse(c)), c);
  // And the chain by hand (docs/evidence-format.md "Chain v2"): chain 1, hash =
  // SHA-256(prev_hash || canonical), or chain 2 from the event's org and commitment, as each
  // event's "v" says; genesis per stream.
  const genesis = genesisOf(STREAM);
  const chain = pg.psql(`select encode(prev_hash, 'hex') || ' ' || encode(hash, 'hex') || ' ' || canonical from audit_event order by seq`).split('\n');
  let prev = genesis;
  for (const line of chain) {
    const [p, h] = line.split(' ', 2);
    const canonical = line.slice(p.length + h.length + 2);
    assert.equal(p, prev);
    assert.equal(chainHash(p, canonical), h);
    prev = h;
  }
});

test('a modified field is found (triggers disabled for the edit)', async () => {
  const db = tampered(bypassing(['audit_event'], `
    update audit_event set canonical = replace(canonical, '"effect":"allow"', '"effect":"deny"') where seq = 42;`));
  const report = await refused(db);
  assert.deepEqual(pick(report.first_problem), { stream: STREAM, seq: 42, kind: kindOf(42), problem: 'modified' });
});

test('an edited query column is found', async () => {
  const db = tampered(bypassing(['audit_event'], `
    update audit_event set org = 'not-acme' where seq = 43;`));
  const report = await refused(db);
  assert.deepEqual(pick(report.first_problem), { stream: STREAM, seq: 43, kind: kindOf(43), problem: 'column_mismatch' });
  assert.match(report.first_problem.message, /column org is "not-acme" but the event says "acme"/);
});

test('a deleted middle event is found', async () => {
  const db = tampered(bypassing(['audit_event'], `
    delete from audit_event where seq = 100;`));
  const report = await refused(db);
  assert.deepEqual(pick(report.first_problem), { stream: STREAM, seq: 100, kind: null, problem: 'deleted' });
});

test('an inserted forged event is found, even with its hash computed and the seqs renumbered', async () => {
  const db = tampered(bypassing(['audit_event'], `
    update audit_event set seq = seq + 1000000 where seq >= 150;
    update audit_event set seq = seq - 1000000 + 1 where seq > 1000000;
    insert into audit_event (stream_id, seq, ts, prev_hash, hash, canonical, kind, request_id, actor, org, repo,
                             action, decision, rule, status, bytes_in, bytes_out, client_ip)
      select stream_id, 150, ts, hash, ${CHAIN_SQL('hash', 'c')}, c, kind, 'forged', actor, org, repo,
             action, decision, rule, status, bytes_in, bytes_out, client_ip
      from (select *, replace(canonical, '"request_id":"' || request_id || '"', '"request_id":"forged"') as c
            from audit_event where seq = 149) x;`));
  assert.equal(pg.psql(`select count(*) from audit_event where request_id = 'forged'`, { db }), '1');
  const report = await refused(db);
  assert.deepEqual(pick(report.first_problem), { stream: STREAM, seq: 150, kind: kindOf(149), problem: 'inserted' });
});

test('two swapped events are found', async () => {
  const db = tampered(bypassing(['audit_event'], `
    update audit_event set seq = 999999 where seq = 200;
    update audit_event set seq = 200 where seq = 201;
    update audit_event set seq = 201 where seq = 999999;`));
  const report = await refused(db);
  assert.deepEqual(pick(report.first_problem), { stream: STREAM, seq: 200, kind: kindOf(201), problem: 'swapped' });
  assert.equal(report.problems.filter((p) => p.problem !== 'checkpoint_hash').length, 1, JSON.stringify(report.problems));
});

test('two events whose contents were exchanged are found', async () => {
  const db = tampered(bypassing(['audit_event'], `
    create temp table t as select seq, canonical, kind, request_id, actor, org, repo, action, decision, rule, status,
                                  bytes_in, bytes_out, client_ip, ts from audit_event where seq in (210, 211);
    update audit_event e set canonical = t.canonical, kind = t.kind, request_id = t.request_id, actor = t.actor,
                             org = t.org, repo = t.repo, action = t.action, decision = t.decision, rule = t.rule,
                             status = t.status, bytes_in = t.bytes_in, bytes_out = t.bytes_out,
                             client_ip = t.client_ip, ts = t.ts
      from t where (e.seq, t.seq) in ((210, 211), (211, 210));`));
  const report = await refused(db);
  assert.deepEqual(pick(report.first_problem), { stream: STREAM, seq: 210, kind: kindOf(211), problem: 'swapped' });
});

test('a truncated tail is found against the exported checkpoint file, and only with it', async () => {
  const db = tampered(bypassing(['audit_event', 'audit_checkpoint'], `
    delete from audit_event where seq > 250;
    delete from audit_checkpoint where seq > 250;`));
  // What the database alone says: a consistent, signed, shorter log. No Merkle log can tell.
  const alone = await verify(db);
  assert.equal(alone.code, 0, JSON.stringify(alone.report));
  const report = await refused(db, ['--checkpoint', cpfile]);
  assert.deepEqual(pick(report.first_problem), { stream: STREAM, seq: 251, kind: null, problem: 'truncated' });
  assert.match(report.first_problem.message, /ends at seq 250.*events 251\.\.\d+ were removed/);
});

test('a replaced checkpoint signature is found', async () => {
  const seq = Number(pg.psql('select seq from audit_checkpoint where seq > 0 order by seq limit 1 offset 2'));
  const db = tampered(bypassing(['audit_checkpoint'], `
    update audit_checkpoint set signature = (select signature from audit_checkpoint where seq <> ${seq} order by seq limit 1)
      where seq = ${seq};`));
  const report = await refused(db);
  assert.deepEqual(pick(report.first_problem), { stream: STREAM, seq, kind: kindOf(seq), problem: 'checkpoint_signature' });
});

test('a chain rewritten from an event onward, hashes and all, is caught by the signed checkpoints', async () => {
  const db = tampered(null);
  // The "smart" attacker: edit seq 60 and recompute every hash after it, so the chain itself holds.
  const rows = pg.psql(`select seq || ' ' || encode(prev_hash, 'hex') || ' ' || canonical from audit_event where seq >= 60 order by seq`, { db })
    .split('\n').map((l) => { const [s, p] = l.split(' ', 2); return { seq: Number(s), prev: p, canonical: l.slice(s.length + p.length + 2) }; });
  rows[0].canonical = rows[0].canonical.replace('"effect":"allow"', '"effect":"deny"');
  let prev = rows[0].prev;
  const sql = [];
  for (const r of rows) {
    const h = chainHash(prev, r.canonical);
    sql.push(`update audit_event set prev_hash = '\\x${prev}', hash = '\\x${h}', canonical = $c$${r.canonical}$c$,
              decision = ${r.seq === 60 ? `'deny'` : 'decision'} where seq = ${r.seq};`);
    prev = h;
  }
  pg.psql(bypassing(['audit_event'], sql.join('\n')), { db });
  const firstCp = Number(pg.psql('select min(seq) from audit_checkpoint where seq >= 60', { db }));
  const report = await refused(db);
  assert.deepEqual(pick(report.first_problem), { stream: STREAM, seq: firstCp, kind: kindOf(firstCp), problem: 'checkpoint_hash' });
  assert.ok(report.problems.every((p) => p.problem === 'checkpoint_hash'), 'the chain itself holds');
});

test('events under no registered stream, and a stream removed entirely, are found', async () => {
  const db = tampered(`
    insert into audit_event (stream_id, seq, ts, prev_hash, hash, canonical, kind)
      select 999, seq, ts, prev_hash, hash, canonical, kind from audit_event where seq = 1;`);
  const report = await refused(db);
  assert.equal(report.first_problem.problem, 'orphan_events');
  // a database that lost the whole stream, checked against the checkpoint file
  const empty = `case_${++cases}`;
  pg.psql(`create database ${empty}`, { db: 'postgres' });
  assert.equal((await runHubgate(['db', 'migrate', '--database', urlOf(empty)])).code, 0);
  const gone = await verify(empty, ['--checkpoint', cpfile]);
  assert.equal(gone.code, 1);
  assert.equal(gone.report.first_problem.problem, 'stream_missing');
});

test('a checkpoint signed by a key that is not pinned does not count', async () => {
  const other = path.join(dir, 'other.pub');
  assert.equal((await runHubgate(['keygen', '--out', path.join(dir, 'other.pem'), '--pubout', other])).code, 0);
  const r = await runHubgate(['audit', 'verify', '--database', urlOf('hubgate'), '--pubkey', other, '--json']);
  assert.equal(r.code, 1);
  const report = JSON.parse(r.stdout);
  assert.equal(report.first_problem.problem, 'checkpoint_key');
  assert.match(report.first_problem.message, /not one of the --pubkey keys/);
});

test("the gateway's role cannot UPDATE, DELETE or TRUNCATE: PostgreSQL refuses", async () => {
  const asGw = (sql) => pg.psql(`set role gw; ${sql}`);
  assert.equal(asGw('select count(*) from audit_event'), String(EVENTS));
  for (const [table, column] of [['audit_event', 'kind'], ['audit_checkpoint', 'key_id'], ['audit_stream', 'name'], ['audit_stream_key', 'key_id']]) {
    const denied = new RegExp(`permission denied for table ${table}`);
    assert.throws(() => asGw(`update ${table} set ${column} = ${column}`), denied, `UPDATE ${table}`);
    assert.throws(() => asGw(`delete from ${table}`), denied, `DELETE ${table}`);
    assert.throws(() => asGw(`truncate ${table}`), denied, `TRUNCATE ${table}`);
    assert.throws(() => asGw(`alter table ${table} disable trigger all`), new RegExp(`must be owner of table ${table}`));
  }
  // and as a superuser the triggers refuse, ENABLE ALWAYS included
  // (the row trigger fires on the partition holding the row, schema 008, and names it)
  assert.throws(() => pg.psql('set session_replication_role = replica; delete from audit_event'), /audit_event(_\w+)? is append-only \(DELETE ROW\)/);
  assert.throws(() => pg.psql('truncate audit_checkpoint'), /audit_checkpoint is append-only \(TRUNCATE STATEMENT\)/);
  assert.equal(pg.psql('select count(*) from audit_event'), String(EVENTS));
});

function pick(p) {
  assert.ok(p, 'a first problem');
  return { stream: p.stream, seq: p.seq, kind: p.kind, problem: p.problem };
}

// `hubgate audit verify` reads a stream in chunks of 4096 events over several connections that
// share one snapshot (audit/verify_read.h), and walks the results in seq order. Tampering where
// two chunks meet — the last event of one, the first of the next — must be found exactly as
// anywhere else (audit_tamper.test.mjs does the middle of a short stream), and a forged seq far
// beyond the stream must not multiply the chunks.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startPostgres, runHubgate, hubgateBin, makeTempDir, teardownAll } from '../lib/harness.mjs';
import { run } from '../lib/registry.mjs';

after(teardownAll);

const LOAD = path.resolve(path.dirname(hubgateBin()), '..', 'bench', 'bench_audit');
const STREAM = 'gw-chunks';
const CHUNK = 4096; // AUD_VERIFY_CHUNK_EVENTS (audit/limits.h)
const EVENTS = 2 * CHUNK + 300;
const LAST = CHUNK; // the last event of the first chunk
const FIRST = CHUNK + 1; // the first event of the second

let pg, pub;

const urlOf = (db) => pg.url.replace(/\/hubgate$/, `/${db}`);
const kindOf = (seq) => ((seq - 1) % 2 ? 'completion' : 'request'); // the load writes request, completion, ...

async function verify(db) {
  const r = await runHubgate(['audit', 'verify', '--database', urlOf(db), '--pubkey', pub, '--json']);
  let report = null;
  try {
    report = JSON.parse(r.stdout);
  } catch {
    /* reported below */
  }
  assert.ok(report, `verify printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  return { code: r.code, report };
}

let cases = 0;
// A copy of the written log, changed by `sql` as the table's owner can (triggers off meanwhile).
function tampered(sql) {
  const db = `chunks_${++cases}`;
  pg.psql(`create database ${db} template hubgate`, { db: 'postgres' });
  pg.psql(`alter table audit_event disable trigger audit_event_no_change;\n${sql}\n` +
    'alter table audit_event enable always trigger audit_event_no_change;', { db });
  return db;
}

// The problems found, but the checkpoints that name a rewritten hash (they follow from the rest).
async function problems(db) {
  const { code, report } = await verify(db);
  assert.equal(code, 1, JSON.stringify(report));
  return report.problems.filter((p) => p.problem !== 'checkpoint_hash').map((p) => [p.seq, p.kind, p.problem]);
}

before(async () => {
  pg = await startPostgres();
  assert.equal((await runHubgate(['db', 'migrate', '--database', pg.url])).code, 0);
  pg.psql('create role gw login in role hubgate_gateway');
  const dir = makeTempDir('audit-chunks');
  const key = path.join(dir, 'audit.pem');
  pub = path.join(dir, 'audit.pub');
  assert.equal((await runHubgate(['keygen', '--out', key, '--pubout', pub])).code, 0);
  // One submitter: seq k is event k-1 of the load.
  const w = await run(LOAD, ['--database', pg.url.replace('//postgres@', '//gw@'), '--key', key, '--stream', STREAM,
    '--spool-dir', path.join(dir, 'spool'), '--threads', '1', '--window', '256', '--events', String(EVENTS), 'bulk'], { timeoutMs: 120000 });
  assert.equal(w.code, 0, w.stderr);
  assert.match(w.stdout, new RegExp(`"ok":${EVENTS},`));
});

test('a log of three chunks verifies', async () => {
  const { code, report } = await verify('hubgate');
  assert.equal(code, 0, JSON.stringify(report));
  const [s] = report.streams;
  assert.deepEqual([s.events, s.first_seq, s.last_seq, s.last_signed_seq], [EVENTS, 1, EVENTS, EVENTS]);
});

test('the contents of the two events where chunks meet, exchanged', async () => {
  const db = tampered(`
    create temp table t as select seq, canonical, kind, request_id, actor, org, repo, action, decision, rule, status,
                                  bytes_in, bytes_out, client_ip, ts from audit_event where seq in (${LAST}, ${FIRST});
    update audit_event e set canonical = t.canonical, kind = t.kind, request_id = t.request_id, actor = t.actor,
                             org = t.org, repo = t.repo, action = t.action, decision = t.decision, rule = t.rule,
                             status = t.status, bytes_in = t.bytes_in, bytes_out = t.bytes_out,
                             client_ip = t.client_ip, ts = t.ts
      from t where (e.seq, t.seq) in ((${LAST}, ${FIRST}), (${FIRST}, ${LAST}));`);
  assert.deepEqual(await problems(db), [[LAST, kindOf(FIRST), 'swapped']]);
});

test('the two events where chunks meet, in each other\'s place', async () => {
  const db = tampered(`
    update audit_event set seq = 999999 where seq = ${LAST};
    update audit_event set seq = ${LAST} where seq = ${FIRST};
    update audit_event set seq = ${FIRST} where seq = 999999;`);
  assert.deepEqual(await problems(db), [[LAST, kindOf(FIRST), 'swapped']]);
});

test('the first event of a chunk deleted, modified, or a column of it edited', async () => {
  assert.deepEqual(await problems(tampered(`delete from audit_event where seq = ${FIRST};`)), [[FIRST, null, 'deleted']]);
  const edit = (seq) => `update audit_event set canonical = replace(canonical, '"method":"GET"', '"method":"PUT"') where seq = ${seq};`;
  assert.deepEqual(await problems(tampered(edit(FIRST))), [[FIRST, kindOf(FIRST), 'modified']]);
  // The last of a chunk: its neighbour, read by another connection, is not mistaken for its content.
  assert.deepEqual(await problems(tampered(edit(LAST))), [[LAST, kindOf(LAST), 'modified']]);
  assert.deepEqual(await problems(tampered(`update audit_event set repo = 'x/y' where seq = ${FIRST};`)),
    [[FIRST, kindOf(FIRST), 'column_mismatch']]);
});

test('events removed across a whole chunk, and one forged at the end of bigint', async () => {
  const gap = tampered(`delete from audit_event where seq between ${LAST - 10} and ${FIRST + CHUNK};`);
  assert.deepEqual(await problems(gap), [[LAST - 10, null, 'deleted']]);
  const far = tampered(`
    insert into audit_event (stream_id, seq, ts, prev_hash, hash, canonical, kind, request_id, actor, org, repo, action,
                             decision, rule, status, bytes_in, bytes_out, client_ip)
      select stream_id, 9223372036854775807, ts, prev_hash, hash, canonical, kind, request_id, actor, org, repo, action,
             decision, rule, status, bytes_in, bytes_out, client_ip from audit_event where seq = ${EVENTS};`);
  // One chunk more, not 2^63 / 4096 of them (the boundaries are found seq by existing seq).
  assert.deepEqual(await problems(far), [[EVENTS + 1, null, 'deleted']]);
});

// The backup-and-restore drill (docs/database.md, "Backup and restore"): a gateway writes its
// log (requests, a token, checkpoints); the database is dumped with pg_dump (custom format) while
// the gateway still runs, restored with pg_restore into a new database, and on the copy
// `hubgate audit verify` passes — against the database's own keys and against the gateway's
// checkpoint file, which proves the copy holds every event the gateway had signed for when the
// dump was taken. A copy with one event edited fails the same check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO, startStack, mintToken, runHubgate, makeTempDir, sleep } from '../lib/harness.mjs';

const PG_BIN = process.env.HUBGATE_PG_BIN || '/usr/lib/postgresql/15/bin';
const POLICY = fs.readFileSync(path.join(REPO, 'tests', 'fixtures', 'policy', 'members.json'), 'utf8');

test('a dump restored into a new database verifies, against its keys and the checkpoint file', async (t) => {
  const { pg, idp, gw } = await startStack({ t, policy: POLICY, config: { audit: { stream: 'gw-drill', checkpoint_every: 5, checkpoint_seconds: 1 } } });
  const alice = await idp.token('alice');
  for (let i = 0; i < 12; i++) assert.equal((await fetch(`${gw.url}/api/models/acme/bert`, { headers: { authorization: `Bearer ${alice}` } })).status, 200);
  await mintToken(gw, alice, { name: 'before-backup', scope: 'read' });
  await sleep(1500); // a checkpoint after the last event
  const dir = makeTempDir('drill');
  const dump = path.join(dir, 'hubgate.dump');
  const conn = ['-h', '127.0.0.1', '-p', String(pg.port), '-U', 'postgres'];
  execFileSync(path.join(PG_BIN, 'pg_dump'), [...conn, '-Fc', '-f', dump, '-d', 'hubgate']);
  // the checkpoint file as it stood when the dump was taken: what the copy must hold
  const checkpoints = path.join(dir, 'checkpoints.jsonl');
  fs.copyFileSync(path.join(gw.dir, 'spool', 'gw-drill.checkpoints'), checkpoints);
  const signed = fs.readFileSync(checkpoints, 'utf8').trim().split('\n').length;
  assert.ok(signed >= 2, `checkpoints signed: ${signed}`);

  pg.psql('create database restored', { db: 'postgres' });
  execFileSync(path.join(PG_BIN, 'pg_restore'), [...conn, '--exit-on-error', '-d', 'restored', dump]);
  const url = pg.url.replace(/\/hubgate$/, '/restored');
  const q = (sql, db) => pg.psql(sql, { db });
  const v = await runHubgate(['audit', 'verify', '--database', url, '--checkpoint', checkpoints, '--json']);
  assert.equal(v.code, 0, v.stdout + v.stderr);
  const report = JSON.parse(v.stdout);
  assert.equal(report.ok, true);
  assert.ok(Number(q('select count(*) from audit_event', 'restored')) >= 15);
  assert.equal(q(`select count(*) from access_token where name = 'before-backup'`, 'restored'), '1');
  // the append-only guard came along: even the superuser cannot edit the copy's log by UPDATE
  assert.throws(() => q(`update audit_event set canonical = canonical where seq = 1`, 'restored'), /append-only|not allowed|refus/i);

  // a copy tampered with behind the triggers' back is caught
  pg.psql('create database tampered', { db: 'postgres' });
  execFileSync(path.join(PG_BIN, 'pg_restore'), [...conn, '--exit-on-error', '-d', 'tampered', dump]);
  q(`alter table audit_event disable trigger user; update audit_event set canonical = replace(canonical, 'acme/bert', 'acme/xert') where seq = (select min(seq) from audit_event where kind = 'request'); alter table audit_event enable trigger user`, 'tampered');
  const bad = await runHubgate(['audit', 'verify', '--database', pg.url.replace(/\/hubgate$/, '/tampered'), '--checkpoint', checkpoints]);
  assert.notEqual(bad.code, 0, 'an edited copy does not verify');
});

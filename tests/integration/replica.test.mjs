// Reports and verification from a read-only replica (docs/database.md, "Reports from a
// replica"): a PostgreSQL hot standby streams the primary's WAL; `hubgate audit verify`,
// `hubgate report soc2` (then `report verify` offline), `hubgate audit keys` and `hubgate audit
// checkpoints export` run against the standby as a hubgate_auditor login role; the gateway,
// configured with `report_database` = the standby, serves /-/reports/soc2 from it — the report
// still holds its own report.exported event (committed on the primary a moment earlier) — and
// answers 503 when the standby is gone while the primary is up, which shows where it reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startStack, runHubgate, makeTempDir, freePort, sleep, groups } from '../lib/harness.mjs';
import { IS_ROOT, run } from '../lib/registry.mjs';

const PG_BIN = process.env.HUBGATE_PG_BIN || '/usr/lib/postgresql/15/bin';
const asPg = (bin, args, opts = {}) => (IS_ROOT
  ? run('runuser', ['-u', 'postgres', '--', path.join(PG_BIN, bin), ...args], opts)
  : run(path.join(PG_BIN, bin), args, opts));

const POLICY = JSON.stringify({
  version: 1,
  orgs: { acme: { members: groups({ 'acme-ml': 'admin', 'acme-staff': 'read' }) } },
  auditors: [{ email: 'eve@acme.example' }],
});

/** A hot standby of pg on a new port; stopped in t.after. */
async function startStandby(t, pg) {
  fs.appendFileSync(path.join(pg.dataDir, 'pg_hba.conf'), 'host replication all 127.0.0.1/32 trust\n');
  pg.psql('select pg_reload_conf()');
  const dir = makeTempDir('standby');
  if (IS_ROOT) fs.chownSync(dir, ...uidOfPostgres());
  const data = path.join(dir, 'data');
  const bb = await asPg('pg_basebackup', ['-h', '127.0.0.1', '-p', String(pg.port), '-U', 'postgres', '-D', data, '-R', '-X', 'stream', '--no-sync'], { timeoutMs: 120000 });
  assert.equal(bb.code, 0, bb.stderr);
  const port = await freePort();
  const log = path.join(dir, 'standby.log');
  const st = await asPg('pg_ctl', ['start', '-w', '-t', '60', '-D', data, '-l', log, '-o',
    `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${dir} -c hot_standby=on`], { timeoutMs: 90000 });
  assert.equal(st.code, 0, st.stdout + st.stderr + (fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : ''));
  const standby = {
    port,
    url: (user) => `postgresql://${user}@127.0.0.1:${port}/hubgate`,
    stop: () => asPg('pg_ctl', ['stop', '-w', '-m', 'fast', '-D', data], { timeoutMs: 60000 }),
  };
  t.after(() => standby.stop());
  return standby;
}

function uidOfPostgres() {
  const line = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
  const [, , uid, gid] = line.split(':');
  return [Number(uid), Number(gid)];
}

/** Waits until the standby has replayed everything the primary has written so far. */
async function caughtUp(pg, standbyUrl) {
  const lsn = pg.psql('select pg_current_wal_lsn()');
  for (let i = 0; i < 200; i++) {
    const r = await runPsql(standbyUrl, `select pg_last_wal_replay_lsn() >= '${lsn}'::pg_lsn`);
    if (r === 't') return;
    await sleep(50);
  }
  assert.fail(`the standby did not replay up to ${lsn}`);
}

async function runPsql(url, sql) {
  const r = await run(path.join(PG_BIN, 'psql'), ['-X', '-q', '-A', '-t', '-d', url, '-c', sql]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

test('verify, reports, keys and checkpoint exports read a hot standby; the gateway reports from it', async (t) => {
  const s = await startStack({ t, gateway: false });
  const { pg, idp } = s;
  const standby = await startStandby(t, pg);
  const replicaUrl = standby.url('auditor');

  const gw = await s.gateway({
    policy: POLICY,
    config: { report_database: replicaUrl, audit: { stream: 'gw-primary', checkpoint_every: 5, checkpoint_seconds: 1 } },
  });
  // an auditor's login role, made on the primary: the standby gets it by replication
  pg.psql(`create role auditor login in role hubgate_auditor`);
  const alice = await idp.token('alice');
  for (let i = 0; i < 8; i++) {
    assert.equal((await fetch(`${gw.url}/api/models/acme/bert`, { headers: { authorization: `Bearer ${alice}` } })).status, 200);
  }
  // the report's period ends after these requests; a checkpoint signed after its end proves it
  const to = new Date(Math.ceil((Date.now() + 1) / 1000) * 1000).toISOString().replace(/\.000Z$/, 'Z');
  await sleep(2600);
  await caughtUp(pg, standby.url('postgres'));
  assert.equal(await runPsql(standby.url('postgres'), 'select pg_is_in_recovery()'), 't');
  // the standby refuses writes, whoever asks
  const write = await run(path.join(PG_BIN, 'psql'), ['-X', '-d', standby.url('postgres'), '-c', 'create table x (a int)']);
  assert.match(write.stderr, /read-only transaction/);

  const verify = await runHubgate(['audit', 'verify', '--database', replicaUrl, '--json']);
  assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  const v = JSON.parse(verify.stdout);
  assert.equal(v.ok, true);
  const stream = v.streams.find((x) => x.stream === 'gw-primary');
  assert.ok(stream.events >= 9, `events verified on the standby: ${stream.events}`);
  console.log(`# audit verify on the standby: ${stream.events} events, ${stream.checkpoints} checkpoints of gw-primary`);

  const dir = makeTempDir('replica-report');
  const day = (o) => new Date(Date.now() + o * 86400000).toISOString().slice(0, 10);
  const out = path.join(dir, 'report');
  const signer = path.join(dir, 'report.pem');
  assert.equal((await runHubgate(['keygen', '--out', signer, '--pubout', `${signer}.pub`])).code, 0);
  const rep = await runHubgate(['report', 'soc2', '--database', replicaUrl, '--from', day(-1), '--to', to, '--out', out, '--key', signer]);
  assert.equal(rep.code, 0, rep.stdout + rep.stderr);
  const keys = await runHubgate(['audit', 'keys', '--database', replicaUrl, '--stream', 'gw-primary', '--pubout', dir, '--json']);
  assert.equal(keys.code, 0, keys.stderr);
  const [listed] = JSON.parse(keys.stdout).streams;
  assert.equal(listed.name, 'gw-primary');
  const pub = path.join(dir, `${listed.keys[0].key_id}.pub`);
  const rv = await runHubgate(['report', 'verify', out, '--pubkey', pub, '--pubkey', `${signer}.pub`]);
  assert.equal(rv.code, 0, rv.stdout + rv.stderr);

  const cps = path.join(dir, 'checkpoints.jsonl');
  const ex = await runHubgate(['audit', 'checkpoints', 'export', '--database', replicaUrl, '--out', cps, '--pubkey', pub]);
  assert.equal(ex.code, 0, ex.stderr);
  assert.match(ex.stdout, /checkpoints? of 1 stream, signatures checked with the pinned keys\nsha256 [0-9a-f]{64}\n$/);
  // what the standby exported proves the primary's log
  const vp = await runHubgate(['audit', 'verify', '--database', pg.url, '--checkpoint', cps, '--pubkey', pub]);
  assert.equal(vp.code, 0, vp.stdout + vp.stderr);

  // the gateway's report over SSO comes from the standby and still holds its own export event
  const eve = await idp.token('eve');
  const res = await fetch(`${gw.url}/-/reports/soc2?from=${day(-1)}&to=${day(1)}&format=csv`, { headers: { authorization: `Bearer ${eve}` } });
  const csv = await res.text();
  assert.equal(res.status, 200, csv);
  assert.ok(csv.includes(res.headers.get('x-request-id')), 'the report holds its own report.exported event');

  // with the standby gone, the report cannot be made (503) though the primary is up
  await standby.stop();
  const gone = await fetch(`${gw.url}/-/reports/soc2?from=${day(-1)}&to=${day(1)}&format=json`, { headers: { authorization: `Bearer ${eve}` } });
  assert.equal(gone.status, 503);
  assert.match(await gone.text(), /replica/);
  assert.equal((await fetch(`${gw.url}/api/models/acme/bert`, { headers: { authorization: `Bearer ${alice}` } })).status, 200);
});

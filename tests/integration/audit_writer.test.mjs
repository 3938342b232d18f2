// The audit writer (audit/pgwriter.h) against a real PostgreSQL, driven by bench/bench_audit.c
// the way the gateway drives it: concurrent submitters and group commit; strict mode failing
// within the write timeout while the database is stopped (pg_ctl stop -m immediate) and
// recovering without a restart when it returns; spool mode carrying on, then draining, then
// verifying; one live writer per stream; a crashed writer's stream resumed.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { useStack, runHubgate, hubgateBin, teardownAll, sleep, withTimeout } from '../lib/harness.mjs';
import { Capture, register, run } from '../lib/registry.mjs';

after(teardownAll);

const LOAD = path.resolve(path.dirname(hubgateBin()), '..', 'bench', 'bench_audit');

// A database migrated by hubgate, a login role of hubgate_gateway, a signing key.
async function setup(t) {
  const stack = useStack(t);
  const pg = await stack.postgres();
  const m = await runHubgate(['db', 'migrate', '--database', pg.url]);
  assert.equal(m.code, 0, m.stderr);
  pg.psql('create role gw login in role hubgate_gateway');
  const dir = stack.tmpdir('audit-writer');
  const key = path.join(dir, 'audit.pem');
  const pub = path.join(dir, 'audit.pub');
  const kg = await runHubgate(['keygen', '--out', key, '--pubout', pub]);
  assert.equal(kg.code, 0, kg.stderr);
  const gwUrl = pg.url.replace('//postgres@', '//gw@');
  const args = (stream, extra = []) => ['--database', gwUrl, '--key', key, '--stream', stream,
    '--spool-dir', path.join(dir, 'spool'), ...extra];
  const verify = async (stream) => {
    const r = await runHubgate(['audit', 'verify', '--database', pg.url, '--pubkey', pub, '--stream', stream,
      '--checkpoint', path.join(dir, 'spool', `${stream}.checkpoints`), '--json']);
    return { code: r.code, report: r.stdout ? JSON.parse(r.stdout) : null, stderr: r.stderr };
  };
  return { pg, dir, key, pub, gwUrl, args, verify };
}

// Starts the driver in paced mode; stopped (and reaped) with the test. mark() writes a line to
// its stdin and returns its number: the status lines that say "mark" >= that number were printed
// after it (lines printed before may still be in the pipe while the test was busy, e.g. in a
// synchronous psql).
function startPaced(t, args) {
  const child = spawn(LOAD, [...args, 'paced'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const out = new Capture('bench_audit stdout');
  const err = new Capture('bench_audit stderr');
  const lines = [];
  let buf = '';
  const waiters = [];
  child.stdout.on('data', (d) => {
    out.push(d);
    buf += d.toString();
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        const obj = JSON.parse(line);
        lines.push(obj);
        for (const w of [...waiters]) if (w.pred(obj)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(obj); }
      } catch { /* not JSON */ }
    }
  });
  child.stderr.on('data', (d) => err.push(d));
  child.stdin.on('error', () => {});
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  register({
    name: `bench_audit ${child.pid}`,
    pid: () => child.pid,
    stop: async () => { if (child.exitCode === null) child.kill('SIGKILL'); await exited; },
    killSync: () => { if (child.exitCode === null) child.kill('SIGKILL'); },
    logs: () => [out, err],
  });
  const waitFor = (pred, ms, what) => {
    const seen = lines.find(pred);
    if (seen) return Promise.resolve(seen);
    return withTimeout(new Promise((resolve) => waiters.push({ pred, resolve })), ms, `${what}\n${err.tail()}`);
  };
  const stop = async () => {
    child.stdin.end();
    const r = await withTimeout(exited, 30000, 'bench_audit to stop');
    return { ...r, done: lines.find((l) => l.done), stderr: err.text() };
  };
  let marks = 0;
  const mark = () => {
    child.stdin.write('\n');
    return ++marks;
  };
  return { child, lines, waitFor, stop, mark, last: () => lines.filter((l) => l.status).at(-1), stderr: () => err.text() };
}

const okIds = (file) => fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);

const storedIds = (pg) => new Set(pg.psql('select request_id from audit_event where request_id is not null').split('\n'));

// The request ids of the events in a spool file (audit/spool.h: a header line, then
// "<seq> <hash> <canonical event>" per line).
function spooledIds(file) {
  if (!fs.existsSync(file)) return new Set();
  const records = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).slice(1);
  return new Set(records.map((line) => JSON.parse(line.split(' ').slice(2).join(' ')).request_id).filter(Boolean));
}

// Every event acknowledged as durable has its row.
function assertAllStored(pg, acked) {
  const stored = storedIds(pg);
  const missing = acked.filter((id) => !stored.has(id));
  assert.deepEqual(missing, [], `${missing.length} of ${acked.length} acknowledged events are not in the database`);
}

test('concurrent submitters are group-committed, chained and signed', async (t) => {
  const s = await setup(t);
  const before = Number(s.pg.psql(`select xact_commit from pg_stat_database where datname = 'hubgate'`));
  const ids = path.join(s.dir, 'ids');
  const r = await run(LOAD, [...s.args('gw-bulk', ['--threads', '4', '--window', '200', '--events', '20000',
    '--checkpoint-every', '1000', '--ok-ids', ids]), 'bulk'], { timeoutMs: 120000 });
  assert.equal(r.code, 0, r.stderr);
  const sum = JSON.parse(r.stdout.trim().split('\n').at(-1));
  assert.equal(sum.ok, 20000);
  assert.equal(sum.failed, 0);
  // Group commit: many events per transaction, far fewer commits than events.
  assert.ok(sum.events_per_batch >= 20, `events per batch: ${sum.events_per_batch}`);
  const after = Number(s.pg.psql(`select xact_commit from pg_stat_database where datname = 'hubgate'`));
  assert.ok(after - before < 20000 / 10, `commits: ${after - before}`);
  assert.equal(s.pg.psql('select count(*), count(distinct request_id), min(seq), max(seq) from audit_event'), '20000|20000|1|20000');
  assert.equal(okIds(ids).length, 20000);
  const v = await s.verify('gw-bulk');
  assert.equal(v.code, 0, JSON.stringify(v.report) + v.stderr);
  assert.equal(v.report.streams[0].last_signed_seq, 20000);
  assert.ok(v.report.streams[0].checkpoints >= 10);
});

test('strict mode: stopped database → failures within the write timeout, never a hang; back → recovers', async (t) => {
  const s = await setup(t);
  const ids = path.join(s.dir, 'ids');
  const TIMEOUT = 600;
  const load = startPaced(t, s.args('gw-strict', ['--threads', '4', '--rate', '40', '--timeout-ms', String(TIMEOUT),
    '--report-ms', '100', '--ok-ids', ids]));
  await load.waitFor((l) => l.status && l.ok >= 100, 20000, '100 committed events');

  await s.pg.stopImmediate();
  const down = await load.waitFor((l) => l.status && l.timeouts >= 20, 20000, 'requests to fail while the database is away');
  assert.equal(down.connected, 0);
  await sleep(1500); // a while down: still failing, within the timeout, nothing hangs
  const during = load.last();
  assert.ok(during.timeouts > down.timeouts, 'keeps failing while down');
  assert.ok(during.max_fail_ms <= TIMEOUT + 400, `a failure took ${during.max_fail_ms} ms (write timeout ${TIMEOUT})`);
  const okWhileDown = during.ok;

  await s.pg.start();
  await load.waitFor((l) => l.status && l.connected === 1 && l.ok >= okWhileDown + 100, 20000,
    'commits to resume after the database returns');
  const end = await load.stop();
  assert.equal(end.code, 0, end.stderr);
  assert.ok(end.done.max_fail_ms <= TIMEOUT + 400, `worst failure ${end.done.max_fail_ms} ms`);

  // Every event acknowledged as durable is in PostgreSQL; the chain and signatures hold.
  const acked = okIds(ids);
  assert.equal(acked.length, end.done.ok);
  assertAllStored(s.pg, acked);
  const v = await s.verify('gw-strict');
  assert.equal(v.code, 0, JSON.stringify(v.report) + v.stderr);
});

test('spool mode: the database goes away, events go to the spool, then drain in order and verify', async (t) => {
  const s = await setup(t);
  const ids = path.join(s.dir, 'ids');
  const load = startPaced(t, s.args('gw-spool', ['--mode', 'spool', '--threads', '4', '--rate', '40',
    '--timeout-ms', '1000', '--report-ms', '100', '--ok-ids', ids]));
  await load.waitFor((l) => l.status && l.ok >= 100, 20000, '100 committed events');
  await s.pg.stopImmediate();
  const spooling = await load.waitFor((l) => l.status && l.spooling === 1 && l.spooled >= 100, 20000, 'events to be spooled');
  await sleep(1000);
  const during = load.last();
  assert.ok(during.ok > spooling.ok, 'requests keep succeeding while the database is away');
  assert.equal(during.failed, 0, 'no request failed in spool mode');
  assert.ok(fs.statSync(path.join(s.dir, 'spool', 'gw-spool.spool')).size > 0);

  await s.pg.start();
  await load.waitFor((l) => l.status && l.spooling === 0 && l.drained >= during.spooled && l.connected === 1, 30000,
    'the spool to drain');
  const end = await load.stop();
  assert.equal(end.code, 0, end.stderr);
  assert.equal(end.done.failed, 0);
  assert.equal(fs.statSync(path.join(s.dir, 'spool', 'gw-spool.spool')).size, 0, 'the spool is emptied');

  assertAllStored(s.pg, okIds(ids));
  const episode = JSON.parse(s.pg.psql(`select canonical from audit_event where kind = 'audit.spooled'`));
  assert.ok(episode.details.events >= during.spooled, JSON.stringify(episode));
  assert.ok(episode.details.last_seq >= episode.details.first_seq);
  assert.ok(episode.details.reason.length > 0);
  const v = await s.verify('gw-spool');
  assert.equal(v.code, 0, JSON.stringify(v.report) + v.stderr);
});

test('spool mode: a writer killed while spooling leaves a spool the next one drains first', async (t) => {
  const s = await setup(t);
  const load = startPaced(t, s.args('gw-crash', ['--mode', 'spool', '--threads', '2', '--rate', '50', '--report-ms', '100']));
  await load.waitFor((l) => l.status && l.ok >= 50, 20000, 'committed events');
  await s.pg.stopImmediate();
  await load.waitFor((l) => l.status && l.spooled >= 50, 20000, 'spooled events');
  load.child.kill('SIGKILL');
  await s.pg.start();
  const r = await run(LOAD, [...s.args('gw-crash', ['--mode', 'spool', '--events', '100', '--threads', '1']), 'bulk'], { timeoutMs: 60000 });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /spooled events to drain/);
  // the drain finishes in the background of the second run at the latest at its close
  assert.equal(s.pg.psql(`select count(*) from audit_event where kind = 'audit.spooled'`), '1');
  const v = await s.verify('gw-crash');
  assert.equal(v.code, 0, JSON.stringify(v.report) + v.stderr);
});

test('one live writer per stream; a dead one is resumed from its head', async (t) => {
  const s = await setup(t);
  const first = startPaced(t, s.args('gw-one', ['--threads', '1', '--rate', '100', '--report-ms', '100']));
  await first.waitFor((l) => l.status && l.ok >= 20, 20000, 'the first writer to write');
  const second = await run(LOAD, [...s.args('gw-one', ['--events', '10']), 'bulk']);
  assert.equal(second.code, 1);
  assert.match(second.stderr, /stream "gw-one" is held by a live instance \(backend pid \d+, application "hubgate \d+@/);
  assert.equal(second.stderr.trim().split('\n').length, 1, second.stderr);

  first.child.kill('SIGKILL'); // crash: the session ends, its lock with it
  await withTimeout(new Promise((r) => first.child.on('exit', r)), 10000, 'kill');
  const head = Number(s.pg.psql('select max(seq) from audit_event'));
  const third = await run(LOAD, [...s.args('gw-one', ['--events', '10']), 'bulk'], { timeoutMs: 60000 });
  assert.equal(third.code, 0, third.stderr);
  assert.equal(JSON.parse(third.stdout.trim().split('\n').at(-1)).head_seq, head + 10);
  const v = await s.verify('gw-one');
  assert.equal(v.code, 0, JSON.stringify(v.report) + v.stderr);
});

test('an idle stream is still signed every checkpoint_seconds (heartbeats), the empty one included', async (t) => {
  const s = await setup(t);
  // Empty stream: heartbeats sign its genesis at seq 0.
  const idle0 = await run(LOAD, [...s.args('gw-idle', ['--checkpoint-seconds', '1', '--duration', '3']), 'idle'], { timeoutMs: 30000 });
  assert.equal(idle0.code, 0, idle0.stderr);
  const w = await run(LOAD, [...s.args('gw-idle', ['--events', '10', '--threads', '1']), 'bulk'], { timeoutMs: 30000 });
  assert.equal(w.code, 0, w.stderr);
  const idle = await run(LOAD, [...s.args('gw-idle', ['--checkpoint-seconds', '1', '--duration', '3']), 'idle'], { timeoutMs: 30000 });
  assert.equal(idle.code, 0, idle.stderr);
  const rows = s.pg.psql('select seq from audit_checkpoint order by ts').split('\n').map(Number);
  assert.ok(rows.filter((x) => x === 0).length >= 2, `heartbeats of the empty stream: ${rows}`);
  assert.ok(rows.filter((x) => x === 10).length >= 3, `heartbeats at seq 10: ${rows}`);
  const lines = fs.readFileSync(path.join(s.dir, 'spool', 'gw-idle.checkpoints'), 'utf8').trim().split('\n');
  assert.equal(lines.length, rows.length, 'every checkpoint is also in the file');
  const v = await s.verify('gw-idle');
  assert.equal(v.code, 0, JSON.stringify(v.report) + v.stderr);
  assert.equal(v.report.streams[0].last_signed_seq, 10);
});

for (const mode of ['strict', 'spool']) {
  test(`${mode} mode: connections killed mid-commit under load: no fork, no gap, nothing acknowledged lost`, async (t) => {
    const s = await setup(t);
    const ids = path.join(s.dir, 'ids');
    const stream = `gw-kill-${mode}`;
    const spool = path.join(s.dir, 'spool', `${stream}.spool`);
    const load = startPaced(t, s.args(stream, ['--mode', mode, '--threads', '8', '--rate', '400', '--timeout-ms', '1000',
      '--report-ms', '100', '--ok-ids', ids]));
    await load.waitFor((l) => l.status && l.ok >= 200, 20000, 'committed events');
    // The writer's session, killed whatever it is doing: often in the middle of a COPY or its
    // commit. With a timeout, pg_terminate_backend returns once the backend is gone.
    const kill = () => s.pg.psql(`select pg_terminate_backend(pid, 10000) from pg_stat_activity where application_name like 'hubgate %${stream}'`);
    for (let i = 0; i < 10; i++) {
      kill();
      // Recovered: on status lines printed after the kill (the mark), 100 more events
      // acknowledged, the writer connected and (spool mode) its spool drained. A write on the
      // killed session fails, so those 100 needed the next one. (Lines printed before the kill
      // may arrive after it: psql blocks this process while the driver goes on.)
      const m = load.mark();
      const at = await load.waitFor((l) => l.status && l.mark >= m, 20000, `status after kill ${i + 1}`);
      await load.waitFor((l) => l.status && l.mark >= m && l.connected === 1 && l.spooling === 0 && l.ok >= at.ok + 100,
        20000, `recovery ${i + 1}`);
    }
    // A last kill, the writer's role unable to log in again, and the writer closed once it has
    // lost its session (spool mode: spooling). The batch on the killed session and all after it
    // are committed, or in the spool for the next run (spool mode), or not acknowledged (strict
    // mode: failed at their deadline).
    s.pg.psql('alter role gw nologin');
    kill();
    const m = load.mark();
    await load.waitFor((l) => l.status && l.mark >= m && l.connected === 0 && (mode === 'strict' || l.spooling === 1),
      20000, 'the writer to lose its session');
    const end = await load.stop();
    s.pg.psql('alter role gw login');
    assert.equal(end.code, 0, end.stderr);
    assert.equal(load.last().stopped, 0, 'the writer never saw a forked chain');
    const acked = okIds(ids);
    const stored = storedIds(s.pg);
    const spooled = spooledIds(spool);
    const lost = acked.filter((id) => !stored.has(id) && !spooled.has(id));
    assert.deepEqual(lost, [], `${lost.length} of ${acked.length} acknowledged events are neither in the database nor in the spool`);
    assert.equal(spooled.size > 0, mode === 'spool', `events left in the spool: ${spooled.size}`);
    // The next run drains what was left in the spool before it writes anything.
    const next = await run(LOAD, [...s.args(stream, ['--duration', '0']), 'idle'], { timeoutMs: 60000 });
    assert.equal(next.code, 0, next.stderr);
    if (mode === 'spool') assert.match(next.stderr, /spooled events to drain/);
    assert.equal(fs.existsSync(spool) ? fs.statSync(spool).size : 0, 0, 'the spool is drained');
    assertAllStored(s.pg, acked);
    const v = await s.verify(stream);
    assert.equal(v.code, 0, JSON.stringify(v.report) + v.stderr);
    assert.equal(v.report.streams[0].first_seq, 1);
  });
}

test('a signing key rotated on a stream: both keys registered, each checkpoint checked with its own', async (t) => {
  const s = await setup(t);
  const w1 = await run(LOAD, [...s.args('gw-rot', ['--events', '50', '--threads', '1']), 'bulk'], { timeoutMs: 30000 });
  assert.equal(w1.code, 0, w1.stderr);
  const key2 = path.join(s.dir, 'new.pem');
  const pub2 = path.join(s.dir, 'new.pub');
  assert.equal((await runHubgate(['keygen', '--out', key2, '--pubout', pub2])).code, 0);
  const args2 = s.args('gw-rot', ['--events', '50', '--threads', '1']).map((a) => (a === s.key ? key2 : a));
  const w2 = await run(LOAD, [...args2, 'bulk'], { timeoutMs: 30000 });
  assert.equal(w2.code, 0, w2.stderr);
  assert.equal(s.pg.psql('select count(*) from audit_stream_key'), '1', 'the new key is registered for the stream');

  const cpfile = path.join(s.dir, 'spool', 'gw-rot.checkpoints');
  const v = (pubs) => runHubgate(['audit', 'verify', '--database', s.pg.url, '--checkpoint', cpfile, '--json',
    ...pubs.flatMap((p) => ['--pubkey', p])]);
  const dbKeys = await v([]);
  assert.equal(dbKeys.code, 0, dbKeys.stdout);
  assert.equal(JSON.parse(dbKeys.stdout).streams[0].keys.length, 2);
  const both = await v([s.pub, pub2]);
  assert.equal(both.code, 0, both.stdout);
  const onlyNew = await v([pub2]);
  assert.equal(onlyNew.code, 1);
  assert.equal(JSON.parse(onlyNew.stdout).first_problem.problem, 'checkpoint_key');
});

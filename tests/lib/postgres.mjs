// A throwaway PostgreSQL 15 cluster on 127.0.0.1 for one test process.
//
// PostgreSQL refuses to run as root, so when we are root every server-side command (initdb,
// pg_ctl) runs as the `postgres` user through runuser; psql is a client and runs as us.
// initdb takes about a second, so the first cluster of a machine is initialised once into a
// template (with the `hubgate` database already created) and each cluster is a copy of it
// (~0.15 s). HUBGATE_PG_TEMPLATE=0 turns that off.
//
// Clusters live on tmpfs (/dev/shm) unless HUBGATE_TMPFS=0. Measured on this machine kind
// (ext4 mounted with `discard`, ~1000 files per cluster): crash recovery after
// `pg_ctl stop -m immediate` fsyncs every file (4-5 s), and removing a cluster whose files
// reached the disk takes 3-4 s of discards; on tmpfs both take ~0.1 s. fsync stays on, and
// nothing a test can observe changes: an immediate stop kills processes, not the page cache.
// recovery_init_sync_method=syncfs keeps the on-disk mode's restarts at ~0.3 s.
import fs from 'node:fs';
import path from 'node:path';
import {
  Capture, IS_ROOT, SCOPE, isAlive, makeTempDir, register, run, runSync, tmpfsBase,
} from './registry.mjs';
import { freePort } from './net.mjs';

const PG_BIN = process.env.HUBGATE_PG_BIN
  || ['/usr/lib/postgresql/15/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/17/bin'].find((d) => fs.existsSync(`${d}/pg_ctl`))
  || '/usr/lib/postgresql/15/bin';
const RUN_AS = IS_ROOT ? 'postgres' : null;
const USE_TEMPLATE = process.env.HUBGATE_PG_TEMPLATE !== '0';
const TEMPLATE_VERSION = 'v1'; // bump when initdb options or the template's contents change

const HBA = `# written by tests/lib/postgres.mjs: trust, loopback and the private socket only
local all all trust
host  all all 127.0.0.1/32 trust
`;

/** Runs a PostgreSQL server binary as the postgres user when we are root. */
function pgCmd(bin, args, opts = {}) {
  const exe = path.join(PG_BIN, bin);
  return RUN_AS ? run('runuser', ['-u', RUN_AS, '--', exe, ...args], opts) : run(exe, args, opts);
}

/** chown to the postgres user when we are root (not recursive: initdb, pg_ctl and `cp -a`
 *  of the template already create files with the right owner). */
function chownToPg(...paths) {
  if (!RUN_AS) return;
  const r = runSync('chown', [`${RUN_AS}:`, ...paths]);
  if (r.status !== 0) throw new Error(`chown ${paths.join(' ')}: ${r.stderr}`);
}

const shq = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;

function check(res, what) {
  if (res.code !== 0) {
    throw new Error(`${what} failed (exit ${res.code ?? res.signal}):\n${res.stdout}${res.stderr}`);
  }
  return res;
}

async function initdb(dataDir) {
  check(await pgCmd('initdb', ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync'], { timeoutMs: 120000 }), 'initdb');
  fs.writeFileSync(path.join(dataDir, 'pg_hba.conf'), HBA);
  chownToPg(path.join(dataDir, 'pg_hba.conf'));
}

// Creates `hubgate` over the unix socket only (listen_addresses empty), so no TCP port is needed.
async function createHubgateDb(dataDir, sockDir, logFile) {
  const o = `-p 5432 -k ${shq(sockDir)} -c listen_addresses= -c fsync=off`;
  check(await pgCmd('pg_ctl', ['start', '-w', '-t', '60', '-D', dataDir, '-l', logFile, '-o', o], { timeoutMs: 90000 }), 'pg_ctl start (template)');
  try {
    check(await run(path.join(PG_BIN, 'psql'), ['-X', '-q', '-h', sockDir, '-p', '5432', '-U', 'postgres', '-d', 'postgres', '-c', 'CREATE DATABASE hubgate']), 'CREATE DATABASE hubgate');
  } finally {
    check(await pgCmd('pg_ctl', ['stop', '-w', '-m', 'fast', '-D', dataDir]), 'pg_ctl stop (template)');
  }
}

function templateDir() {
  const uid = process.getuid?.() ?? 'u';
  let version = 'x';
  try {
    version = /(\d+(?:\.\d+)+)/.exec(runSync(path.join(PG_BIN, 'postgres'), ['--version']).stdout.toString())?.[1] ?? 'x';
  } catch {
    /* fall back to x */
  }
  return path.join(tmpfsBase(), `hubgate-pgtemplate-${uid}-${version}-${TEMPLATE_VERSION}`);
}

// The template is built in a private dir and renamed into place, so concurrent test
// processes never see half of one; the loser of a race discards its copy.
async function ensureTemplate() {
  const dir = templateDir();
  if (fs.existsSync(path.join(dir, 'ready'))) return dir;
  const build = fs.mkdtempSync(`${dir}.build-`);
  fs.chmodSync(build, 0o755);
  try {
    const sock = path.join(build, 'sock');
    fs.mkdirSync(sock);
    chownToPg(build, sock);
    await initdb(path.join(build, 'data'));
    await createHubgateDb(path.join(build, 'data'), sock, path.join(build, 'template.log'));
    fs.writeFileSync(path.join(build, 'ready'), 'ok\n');
    try {
      fs.renameSync(build, dir);
    } catch (e) {
      if (!fs.existsSync(path.join(dir, 'ready'))) throw e;
      fs.rmSync(build, { recursive: true, force: true });
    }
  } catch (e) {
    fs.rmSync(build, { recursive: true, force: true });
    throw e;
  }
  return dir;
}

/**
 * Runs SQL through psql against a connection URL (any role, any database): resolves stdout
 * without its last newline, rejects with psql's stderr in the message (err.stderr). For the
 * harness's own set-up steps; tests use pg.psql.
 */
export async function psqlUrl(url, sql, { timeoutMs = 60000 } = {}) {
  const args = ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', url, '-f', '-'];
  const r = await run(path.join(PG_BIN, 'psql'), args, { input: sql, timeoutMs, env: { ...process.env, PGCONNECT_TIMEOUT: '10', PGPASSWORD: '' } });
  if (r.code !== 0) {
    const err = new Error(`psql: ${r.stderr.trim() || `exit ${r.code ?? r.signal}`}`);
    err.stderr = r.stderr;
    throw err;
  }
  return r.stdout.replace(/\n$/, '');
}

/**
 * Starts a fresh cluster. Options:
 *   dir       where to keep it (created if missing; an existing cluster there is reused and
 *             the dir is not removed at teardown). Default: a new temp dir, removed at teardown.
 *   port      TCP port on 127.0.0.1 (default: a free one).
 *   settings  extra server settings, e.g. { statement_timeout: '5s' }.
 * Returns { url, port, host, dataDir, sockDir, logFile, psql (sync), ddl (sync, retried on deadlock), psqlAsync, start, stop,
 *           stopImmediate, running(), pid(), log() }.
 */
export async function startPostgres(opts = {}) {
  const { dir, port, settings = {} } = opts;
  const owned = !dir;
  const base = dir ? path.resolve(dir) : makeTempDir('pg', { tmpfs: true });
  fs.mkdirSync(base, { recursive: true });
  const dataDir = path.join(base, 'data');
  const sockDir = path.join(base, 'sock');
  const logFile = path.join(base, 'postgres.log');
  const log = new Capture(`postgres ${base}`);
  fs.mkdirSync(sockDir, { recursive: true });
  chownToPg(base, sockDir);

  let pgPort = port ?? (await freePort());
  let running = false;
  const postmasterPid = () => {
    try {
      return Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]) || null;
    } catch {
      return null;
    }
  };
  const pgCtlStopSync = () => {
    if (!fs.existsSync(path.join(dataDir, 'postmaster.pid'))) return;
    const exe = path.join(PG_BIN, 'pg_ctl');
    const args = ['stop', '-w', '-m', 'immediate', '-D', dataDir];
    if (RUN_AS) runSync('runuser', ['-u', RUN_AS, '--', exe, ...args]);
    else runSync(exe, args);
  };

  // Registered before anything can start, so no failure below leaves a server behind.
  register({
    get name() {
      return `postgres:${pgPort}`;
    },
    scope: opts[SCOPE],
    pid: postmasterPid,
    stop: async () => {
      await stopWith('immediate');
    },
    killSync: () => {
      pgCtlStopSync();
      readLog();
    },
    reaperLines: () => [`pg ${PG_BIN} ${dataDir} ${RUN_AS ?? ''}`],
    logs: () => [log],
    dirs: owned ? [base] : [],
  });

  const readLog = () => log.follow(logFile);

  const options = () => {
    const extra = Object.entries(settings).map(([k, v]) => ` -c ${shq(`${k}=${v}`)}`).join('');
    return `-p ${pgPort} -k ${shq(sockDir)} -c listen_addresses=127.0.0.1 -c fsync=on -c recovery_init_sync_method=syncfs${extra}`;
  };

  const start = async () => {
    if (running) return;
    const res = await pgCmd('pg_ctl', ['start', '-w', '-t', '60', '-D', dataDir, '-l', logFile, '-o', options()], { timeoutMs: 90000 });
    readLog();
    if (res.code !== 0) {
      throw new Error(`pg_ctl start (port ${pgPort}) failed:\n${res.stdout}${res.stderr}\n${log.tail()}`);
    }
    running = true;
  };

  const stopWith = async (mode) => {
    if (!running && !fs.existsSync(path.join(dataDir, 'postmaster.pid'))) return;
    const pid = postmasterPid();
    const res = await pgCmd('pg_ctl', ['stop', '-w', '-t', '60', '-m', mode, '-D', dataDir], { timeoutMs: 90000 });
    // pg_ctl returns once postmaster.pid is gone, which the postmaster removes just before it
    // exits: "stopped" here means the process is gone too.
    for (const deadline = Date.now() + 10000; pid && isAlive(pid) && Date.now() < deadline;)
      await new Promise((r) => setTimeout(r, 20));
    readLog();
    running = false;
    if (res.code !== 0 && !/Is server running\?/.test(res.stderr)) {
      throw new Error(`pg_ctl stop -m ${mode} failed:\n${res.stdout}${res.stderr}`);
    }
  };

  let createDb = false;
  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
    if (USE_TEMPLATE) {
      const tpl = await ensureTemplate();
      check(await run('cp', ['-a', path.join(tpl, 'data'), dataDir]), 'copy the PostgreSQL template');
    } else {
      await initdb(dataDir);
      createDb = true;
    }
  }

  // A free port can be taken between freePort() and the bind: retry on a fresh one.
  for (let attempt = 0; ; attempt++) {
    try {
      await start();
      break;
    } catch (e) {
      if (port !== undefined || attempt >= 2 || !/could not bind|Address already in use/.test(e.message)) throw e;
      pgPort = await freePort();
    }
  }

  const psqlArgs = (db, user) => ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(pgPort), '-U', user, '-d', db, '-f', '-'];
  const psqlEnv = () => ({ ...process.env, PGCONNECT_TIMEOUT: '10', PGPASSWORD: '' });
  const psqlResult = (code, stdout, stderr, what) => {
    if (code !== 0) {
      const err = new Error(`psql: ${stderr.trim() || `exit ${code ?? what}`}`);
      err.stderr = stderr;
      err.stdout = stdout;
      throw err;
    }
    return stdout.replace(/\n$/, '');
  };

  /** Runs SQL through `psql -X -q -A -t -v ON_ERROR_STOP=1 -f -`, synchronously (so
   *  `assert.throws(() => pg.psql(...))` works); returns stdout without its last newline;
   *  throws with psql's stderr in the message (err.stderr, err.stdout). It blocks the event
   *  loop: while an in-process server must keep answering, use psqlAsync. */
  const psql = (sql, { db = 'hubgate', user = 'postgres', timeoutMs = 60000 } = {}) => {
    const r = runSync(path.join(PG_BIN, 'psql'), psqlArgs(db, user), { input: sql, timeout: timeoutMs, env: psqlEnv(), stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
    if (r.error) throw new Error(`psql: ${r.error.message}`);
    return psqlResult(r.status, r.stdout.toString('utf8'), r.stderr.toString('utf8'), r.signal);
  };

  /** psql for DDL on audit_event while a gateway writes to it (a test's simulated outage). Since
   *  schema 008 such DDL locks every partition, in an order that can cross a live connection's,
   *  and PostgreSQL then aborts one of the two with "deadlock detected": the statement is tried
   *  again, at most 20 times, 100 ms apart. */
  const ddl = (sql, opts) => {
    for (let i = 0; ; i++) {
      try {
        return psql(sql, opts);
      } catch (e) {
        if (i >= 20 || !/deadlock detected/.test(e.message)) throw e;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
      }
    }
  };

  /** The same as psql, resolving or rejecting instead. */
  const psqlAsync = async (sql, { db = 'hubgate', user = 'postgres', timeoutMs = 60000 } = {}) => {
    const r = await run(path.join(PG_BIN, 'psql'), psqlArgs(db, user), { input: sql, timeoutMs, env: psqlEnv() });
    return psqlResult(r.code, r.stdout, r.stderr, r.signal);
  };

  if (createDb) await psqlAsync('CREATE DATABASE hubgate', { db: 'postgres' });

  const pg = {
    get port() {
      return pgPort;
    },
    host: '127.0.0.1',
    get url() {
      return `postgresql://postgres@127.0.0.1:${pgPort}/hubgate`;
    },
    dataDir,
    sockDir,
    logFile,
    psql,
    ddl,
    psqlAsync,
    start,
    stop: () => stopWith('fast'),
    stopImmediate: () => stopWith('immediate'),
    running: () => running && isAlive(postmasterPid()),
    pid: postmasterPid,
    log: () => {
      readLog();
      return log.text();
    },
  };

  return pg;
}

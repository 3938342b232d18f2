// Runs the hubgate binary (`hubgate serve --config FILE`) for a test.
import fs from 'node:fs';
import path from 'node:path';
import {
  Capture, REPO, SCOPE, exitStatus, isAlive, makeTempDir, refreshReaper, register, run, sleep,
  spawnCaptured, terminate, withTimeout,
} from './registry.mjs';
import { freePort, httpRequest } from './net.mjs';
import { psqlUrl } from './postgres.mjs';

/** The login role every test gateway connects as: a member of hubgate_gateway and nothing
 *  else, as a production gateway must be (`serve` refuses a role that could alter the audit
 *  log). Roles are cluster-wide: one per cluster, created on first use. */
export const GATEWAY_ROLE = 'hubgate_gw';

// gateway URL → the administrator's URL it was made from, so that a config copied from a
// running gateway (`{ ...gw.config }`) still migrates as the administrator.
const adminUrls = new Map();

/** The administrator's URL behind a database URL the harness handed to a gateway, else url. */
export function adminDatabaseUrl(url) {
  return adminUrls.get(url) ?? url;
}

function withUser(url, user) {
  const u = new URL(url);
  u.username = user;
  u.password = '';
  return u.toString();
}

/** Creates GATEWAY_ROLE in the cluster behind adminUrl if missing (the database must be
 *  migrated: hubgate_gateway must exist); resolves the URL the gateway connects with. */
export async function gatewayDatabaseUrl(adminUrl) {
  const sql = `DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${GATEWAY_ROLE}') THEN
      CREATE ROLE ${GATEWAY_ROLE} LOGIN INHERIT IN ROLE hubgate_gateway;
    END IF;
  END $$;`;
  try {
    await psqlUrl(adminUrl, sql);
  } catch (e) {
    // Two gateways of one test starting at once: the loser of the race finds the role there.
    if (!/already exists|duplicate key/.test(e.message)) throw e;
  }
  const url = withUser(adminUrl, GATEWAY_ROLE);
  adminUrls.set(url, adminUrl);
  return url;
}

/** The gateway binary: $HUBGATE_BIN, else <repo>/build/gateway/hubgate. */
export function hubgateBin() {
  return process.env.HUBGATE_BIN || path.join(REPO, 'build', 'gateway', 'hubgate');
}

export function hubgateAvailable() {
  try {
    fs.accessSync(hubgateBin(), fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Runs `hubgate ARGS...` to completion: resolves { code, signal, stdout, stderr }. */
export function runHubgate(args, { env, input, cwd, timeoutMs = 60000 } = {}) {
  return run(hubgateBin(), args, { env: { ...process.env, ...env }, input, cwd, timeoutMs });
}

function writeFileIn(dir, name, content) {
  const file = path.resolve(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const data = typeof content === 'string' || Buffer.isBuffer(content) ? content : `${JSON.stringify(content, null, 2)}\n`;
  // 0600: the gateway warns about token files readable by others, and none of these need to be.
  fs.writeFileSync(file, data, { mode: 0o600 });
  return file;
}

/** The first sanitizer report (ASan, LSan, UBSan) in `text`, or null. The ASan build's ctest
 *  run drives the gateway as a child process: without this, a leak reported at exit or a
 *  UBSan warning would go unnoticed by a test that only looks at HTTP answers. */
export function sanitizerReport(text) {
  const m = /(==\d+==\s*ERROR: (AddressSanitizer|LeakSanitizer)[^\n]*|[^\n]*runtime error: [^\n]*)/.exec(text);
  if (!m) return null;
  return text.slice(Math.max(0, m.index - 200), m.index + 3000);
}

const LOOPBACK = /^(127\.0\.0\.1|\[::1\]|localhost):\d+$/;

/**
 * Starts the gateway. Options:
 *   config     the config object; `listen` defaults to 127.0.0.1:<free port> and must be
 *              loopback; `public_url` defaults to the resulting http://127.0.0.1:<port>
 *              (pass null to leave it out)
 *   policy     policy object (written as JSON) or string (written verbatim, e.g. a broken file);
 *              saved as config.policy when that is a relative name, else as policy.json (and
 *              config.policy set to it)
 *   files      { 'relative/name': string | Buffer | object } more files beside the config
 *              (region token files, keys, ...)
 *   env        extra environment variables
 *   args       extra arguments after `serve --config FILE`
 *   migrate    run `hubgate db migrate` first when config.database is set (default true)
 *   dbRole     'gateway' (default): after migrating as config.database's role (an
 *              administrator), connect the gateway as GATEWAY_ROLE, a member of hubgate_gateway
 *              only (the config written, and gw.config, carry that URL; tests keep using pg.url
 *              for psql); null: connect as config.database says (tests of the role check)
 *   timeoutMs  how long to wait for GET /-/health = 200 (default 20000)
 */
export async function startHubgate(opts = {}) {
  const { config = {}, policy, files = {}, env = {}, args = [], migrate = true, dbRole = 'gateway', timeoutMs = 20000 } = opts;
  const bin = hubgateBin();
  if (!fs.existsSync(bin)) throw new Error(`hubgate binary not found: ${bin} (build it, or set HUBGATE_BIN)`);
  const dir = makeTempDir('hubgate');
  const cfg = structuredClone(config);
  cfg.listen ??= `127.0.0.1:${await freePort()}`;
  if (!LOOPBACK.test(cfg.listen)) throw new Error(`startHubgate: listen must be a loopback address, got ${cfg.listen}`);
  const scheme = cfg.tls ? 'https' : 'http';
  const url = `${scheme}://${cfg.listen}`;
  // Only the harness knows the port before the start; `public_url: null` leaves it out.
  if (cfg.public_url === undefined) cfg.public_url = url;
  else if (cfg.public_url === null) delete cfg.public_url;
  if (policy !== undefined) {
    const name = typeof cfg.policy === 'string' && !path.isAbsolute(cfg.policy) ? cfg.policy : 'policy.json';
    writeFileIn(dir, name, policy);
    cfg.policy = name;
  }
  for (const [name, content] of Object.entries(files)) writeFileIn(dir, name, content);
  const childEnv = { ...process.env, ...env };
  // Every hubgate records to a signed audit log: give it a key, and a stream of its own (the
  // tests of one file share a database, and one stream has one live writer).
  cfg.audit = { ...(cfg.audit ?? {}) };
  if (!cfg.audit.signing_key) {
    const k = await run(bin, ['keygen', '--out', path.join(dir, 'audit-ed25519.pem')], { env: childEnv, cwd: dir, timeoutMs: 30000 });
    if (k.code !== 0) throw new Error(`hubgate keygen failed (exit ${k.code ?? k.signal}):\n${k.stdout}${k.stderr}`);
    cfg.audit.signing_key = 'audit-ed25519.pem';
  }
  cfg.audit.stream ??= `gw-${cfg.listen.split(':').pop()}`;
  // One event loop unless a test asks for more: then every request's events are in
  // audit.stream, which is what most tests read. With N loops, loop i > 0 writes
  // "<audit.stream>.<i>" (integration.event_loops covers that).
  cfg.event_loops ??= 1;
  const captures = { out: new Capture('hubgate stdout'), err: new Capture('hubgate stderr') };

  const adminUrl = cfg.database ? adminDatabaseUrl(cfg.database) : null;
  if (adminUrl && migrate) {
    const m = await run(bin, ['db', 'migrate', '--database', adminUrl], { env: childEnv, cwd: dir, timeoutMs: 60000 });
    captures.err.push(`$ hubgate db migrate --database ${adminUrl}\n${m.stdout}${m.stderr}`);
    if (m.code !== 0) throw new Error(`hubgate db migrate failed (exit ${m.code ?? m.signal}):\n${m.stdout}${m.stderr}`);
  }
  if (adminUrl && dbRole === 'gateway') {
    try {
      cfg.database = await gatewayDatabaseUrl(adminUrl);
    } catch (e) {
      // Without the migration, a test may point the gateway at a database that is not there
      // or not migrated: it gets the URL as given.
      if (migrate) throw new Error(`startHubgate: cannot create the gateway's login role: ${e.message}`);
      cfg.database = config.database;
    }
  } else if (adminUrl && dbRole !== null) {
    throw new Error(`startHubgate: dbRole must be 'gateway' or null, got ${dbRole}`);
  }
  const configFile = writeFileIn(dir, 'hubgate.json', cfg);

  const proc = spawnCaptured('hubgate', bin, ['serve', '--config', configFile, ...args], { cwd: dir, env: childEnv, captures });
  let result = null; // exit status once it exited
  proc.exited.then((r) => {
    result = r;
  });

  const gw = {
    url,
    /** http://<metrics_listen>/metrics when the config sets metrics_listen, else null */
    metricsUrl: cfg.metrics_listen ? `http://${cfg.metrics_listen}/metrics` : null,
    pid: proc.child.pid,
    configFile,
    dir,
    config: cfg,
    stderr: () => captures.err.text(),
    /** Resolves stderr once it matches `re`; throws after `ms`. Output is read between turns of
     *  the event loop, so a line logged during a synchronous call (psql) is only seen after an
     *  await: assert on a log line through this, not on stderr() right after such a call. */
    async waitLog(re, ms = 10000) {
      for (const end = Date.now() + ms; !re.test(captures.err.text()); await sleep(50)) {
        if (Date.now() > end) throw new Error(`no log line matching ${re} within ${ms} ms\n${captures.err.tail()}`);
      }
      return captures.err.text();
    },
    stdout: () => captures.out.text(),
    output: () => `${captures.err.text()}${captures.out.text()}`,
    exited: proc.exited.then(exitStatus),
    running: () => result === null && isAlive(proc.child.pid),
    signal: (sig) => proc.child.kill(sig),
    /** SIGTERM, wait (10 s, then SIGKILL and throw); resolves the exit code (128+n if killed
     *  by signal n). Throws if the output holds a sanitizer report. */
    async stop({ ms = 10000 } = {}) {
      const r = await terminate(proc, { ms });
      if (r.killed) throw new Error(`hubgate did not exit within ${ms} ms of SIGTERM (killed)\n${captures.err.tail()}`);
      const report = sanitizerReport(gw.output());
      if (report) throw new Error(`hubgate: sanitizer report in its output:\n${report}`);
      return exitStatus(r);
    },
    /** SIGKILL and wait; resolves 137. */
    async kill9() {
      return exitStatus(await terminate(proc, { signal: 'SIGKILL', ms: 5000 }));
    },
    /** Waits for the process to exit by itself; resolves the exit code. */
    waitExit: (ms = 10000) => withTimeout(proc.exited, ms, 'hubgate exit').then(exitStatus),
  };

  register({
    name: `hubgate ${cfg.listen}`,
    scope: opts[SCOPE],
    pid: () => proc.child.pid,
    stop: () => gw.stop(),
    killSync: () => proc.child.kill('SIGKILL'),
    reaperLines: () => [`pid ${proc.child.pid}`],
    logs: () => [captures.err, captures.out],
    dirs: [dir],
  });
  refreshReaper();

  const healthUrl = `${url}/-/health`;
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  for (;;) {
    if (result) {
      throw new Error(`hubgate exited (${exitStatus(result)}) before ${healthUrl} answered 200\n${captures.err.tail()}\n${captures.out.tail()}`);
    }
    try {
      const r = await httpRequest(healthUrl, { timeoutMs: 2000, insecure: true });
      if (r.status === 200) break;
      last = `HTTP ${r.status} ${r.body.slice(0, 200)}`;
    } catch (e) {
      last = e.message;
    }
    if (Date.now() > deadline) {
      proc.child.kill('SIGKILL');
      throw new Error(`hubgate: ${healthUrl} did not answer 200 within ${timeoutMs} ms (last: ${last})\n${captures.err.tail()}\n${captures.out.tail()}`);
    }
    await sleep(50);
  }
  return gw;
}

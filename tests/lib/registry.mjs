// Bookkeeping shared by every part of the harness: temp dirs, child processes, captured
// output, and the teardown that always happens.
//
// Teardown paths, from the most to the least graceful:
//   1. teardownAll() / a scope's teardown(): async, SIGTERM then SIGKILL, pg_ctl stop -m fast.
//   2. process 'exit' (normal end, node:test failures, uncaught exceptions, unhandled
//      rejections) and SIGINT/SIGTERM/SIGHUP: synchronous, SIGKILL children by PID,
//      pg_ctl stop -m immediate, temp dirs removed.
//   3. the harness process itself is SIGKILLed (ctest timeout, OOM killer): a detached reaper
//      shell (reaper.sh) waits for EOF on a pipe this process holds, then does what the
//      registry file lists. PostgreSQL matters most here: pg_ctl daemonizes the postmaster,
//      so nothing else would ever stop it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(HERE, '..', '..');
export const KEEP_TMP = process.env.HUBGATE_KEEP_TMP === '1';
export const VERBOSE = process.env.HUBGATE_VERBOSE === '1';
const LOG_TAIL = Number(process.env.HUBGATE_LOG_TAIL) || 4000;
export const IS_ROOT = process.getuid?.() === 0;

// ---------------------------------------------------------------- captured output

/** Keeps the last `limit` bytes written to it (child stdout/stderr, a server log). */
export class Capture {
  constructor(label, limit = 1 << 20) {
    this.label = label;
    this.limit = limit;
    this.chunks = [];
    this.size = 0;
    this.dropped = 0;
  }

  push(chunk) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    if (VERBOSE) {
      const lines = buf.toString('utf8').replace(/\n$/, '').split('\n');
      process.stderr.write(lines.map((l) => `[${this.label}] ${l}\n`).join(''));
    }
    this.chunks.push(buf);
    this.size += buf.length;
    while (this.size > this.limit && this.chunks.length > 1) {
      const first = this.chunks.shift();
      this.size -= first.length;
      this.dropped += first.length;
    }
  }

  text() {
    const body = Buffer.concat(this.chunks).toString('utf8');
    return this.dropped ? `[... ${this.dropped} earlier bytes dropped ...]\n${body}` : body;
  }

  tail(n = LOG_TAIL) {
    const t = this.text();
    return t.length > n ? `[...]${t.slice(-n)}` : t;
  }

  /** Takes in what `file` (a server's own log) gained since the last call; no file yet is fine. */
  follow(file) {
    try {
      const buf = fs.readFileSync(file);
      if (buf.length > (this.followed ?? 0)) this.push(buf.subarray(this.followed ?? 0));
      this.followed = buf.length;
    } catch {
      /* no log yet */
    }
  }
}

// ---------------------------------------------------------------- temp dirs

let rootDir = null;
let shmRoot = null; // second root on tmpfs, for PostgreSQL data (see makeTempDir)

function makeRoot(base) {
  const dir = fs.mkdtempSync(path.join(base, 'hubgate-test-'));
  fs.chmodSync(dir, 0o711);
  return dir;
}

/** The per-process temp root, /tmp/hubgate-test-XXXXXX (0711 so the postgres user can
 *  traverse it when we run as root). Created on first use. */
export function tempRoot() {
  if (!rootDir) {
    rootDir = makeRoot(os.tmpdir());
    installExitHooks();
  }
  return rootDir;
}

function shmUsable() {
  try {
    fs.accessSync('/dev/shm', fs.constants.W_OK | fs.constants.X_OK);
    return fs.statSync('/dev/shm').isDirectory();
  } catch {
    return false;
  }
}

/** '/dev/shm' when usable and HUBGATE_TMPFS is not 0, else the temp dir. */
export function tmpfsBase() {
  return process.env.HUBGATE_TMPFS !== '0' && shmUsable() ? '/dev/shm' : os.tmpdir();
}

let dirSeq = 0;
/**
 * A fresh directory `<prefix>-<n>` under the temp root, removed by teardown. With
 * { tmpfs: true } it goes under /dev/shm/hubgate-test-XXXXXX instead when /dev/shm is
 * usable and HUBGATE_TMPFS is not 0 (PostgreSQL data: see postgres.mjs for why).
 */
export function makeTempDir(prefix = 'tmp', { tmpfs = false } = {}) {
  let root = tempRoot();
  if (tmpfs && tmpfsBase() === '/dev/shm') {
    shmRoot ??= makeRoot('/dev/shm');
    root = shmRoot;
  }
  const dir = path.join(root, `${prefix}-${++dirSeq}`);
  fs.mkdirSync(dir, { mode: 0o755 });
  return dir;
}

/** The temp roots in use (for HUBGATE_KEEP_TMP messages and tests). */
export function tempRoots() {
  return [rootDir, shmRoot].filter(Boolean);
}

function removeDir(dir) {
  try {
    fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  } catch (e) {
    process.stderr.write(`harness: could not remove ${dir}: ${e.message}\n`);
  }
}

// ---------------------------------------------------------------- resources

/**
 * A resource is anything teardown must stop: {
 *   name, pid() -> number|null (the process to SIGKILL as a last resort),
 *   stop: async () => void    (graceful),
 *   killSync: () => void      (from an exit handler: synchronous only),
 *   reaperLines: () => string[] (what reaper.sh must do if we die: "pid N" / "pg BIN DATA USER"),
 *   logs: () => Capture[],
 *   dirs: string[]            (removed after stop, unless HUBGATE_KEEP_TMP=1),
 *   scope: Scope|null }
 */
const resources = [];
/** Option key by which useStack() hands its scope to the start functions. */
export const SCOPE = Symbol('hubgate.harness.scope');
const everLogs = []; // captures of every resource ever started, for the failure dump
let announced = false;

export function register(res) {
  tempRoot();
  res.dirs ??= [];
  res.scope ??= null;
  res.done = false;
  resources.push(res);
  for (const c of res.logs?.() ?? []) everLogs.push(c);
  syncReaper();
  return res;
}

/** Rewrites the reaper's list; call when a resource's PIDs change (a restart). */
export function refreshReaper() {
  syncReaper();
}

export function unregister(res) {
  const i = resources.indexOf(res);
  if (i >= 0) resources.splice(i, 1);
  syncReaper();
}

export function liveResources() {
  return resources.slice();
}

async function teardownList(list) {
  const errors = [];
  for (const res of list.slice().reverse()) {
    if (res.done) continue;
    res.done = true;
    const t0 = Date.now();
    try {
      await res.stop();
    } catch (e) {
      errors.push(`${res.name}: ${e.message}`);
      try {
        res.killSync();
      } catch {
        /* already gone */
      }
    }
    const t1 = Date.now();
    if (!KEEP_TMP) for (const d of res.dirs) removeDir(d);
    if (process.env.HUBGATE_TIMING === '1') process.stderr.write(`harness: teardown ${res.name}: stop ${t1 - t0} ms, rm ${Date.now() - t1} ms\n`);
    unregister(res);
  }
  return errors;
}

/** Stops everything started in this process (reverse order) and removes the temp root.
 *  Idempotent. Throws after cleaning up if a resource did not stop cleanly. */
export async function teardownAll() {
  const errors = await teardownList(resources);
  finishRoot();
  if (errors.length) throw new Error(`teardown: ${errors.join('; ')}`);
}

function finishRoot() {
  if (!rootDir || resources.length) return;
  stopReaper();
  if (KEEP_TMP) {
    if (!announced) {
      try {
        fs.writeSync(2, `harness: HUBGATE_KEEP_TMP=1, temp files kept in ${tempRoots().join(' and ')}\n`);
      } catch {
        /* stderr closed */
      }
    }
    announced = true;
  } else {
    for (const r of tempRoots()) removeDir(r);
    rootDir = null;
    shmRoot = null;
  }
}

/** Synchronous last-resort teardown for exit and signal handlers. */
export function teardownSync() {
  // Every registered resource, even one an async teardown is stopping right now (a signal
  // can arrive mid-teardown): killSync is harmless on something already stopped.
  for (const res of resources.slice().reverse()) {
    res.done = true;
    try {
      res.killSync();
    } catch {
      /* already gone */
    }
  }
  for (const res of resources.slice()) if (!KEEP_TMP) for (const d of res.dirs) removeDir(d);
  resources.length = 0;
  finishRoot();
}

// ---------------------------------------------------------------- scopes (node:test)

/** Resources started through a scope are torn down with it (t.after when given a TestContext). */
export class Scope {
  constructor(name) {
    this.name = name;
  }

  adopt(res) {
    res.scope = this;
    return res;
  }

  async teardown() {
    const errors = await teardownList(resources.filter((r) => r.scope === this));
    if (errors.length) throw new Error(`teardown of ${this.name}: ${errors.join('; ')}`);
  }
}

// ---------------------------------------------------------------- exit hooks

let hooksInstalled = false;
let signalWaiter = null;

/** Resolves with the signal name on SIGINT/SIGTERM/SIGHUP instead of the default hard exit;
 *  keeps the process alive meanwhile. For long-running scripts such as the quickstart. */
export function untilSignal() {
  installExitHooks();
  const keepAlive = setInterval(() => {}, 1 << 30);
  return new Promise((resolve) => {
    signalWaiter = (sig) => {
      clearInterval(keepAlive);
      signalWaiter = null;
      resolve(sig);
    };
  });
}

function dumpLogs(code) {
  if (!everLogs.length) return;
  const out = [`\nharness: exit code ${code}; last output of the processes this test started:\n`];
  for (const c of everLogs) {
    const t = c.tail();
    if (t.trim()) out.push(`----- ${c.label} -----\n${t}${t.endsWith('\n') ? '' : '\n'}`);
  }
  out.push('----- end -----\n');
  try {
    fs.writeSync(2, out.join(''));
  } catch {
    /* stderr closed */
  }
}

function installExitHooks() {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', (code) => {
    if (code !== 0) dumpLogs(code);
    teardownSync();
  });
  const signals = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 };
  for (const [sig, num] of Object.entries(signals)) {
    process.on(sig, () => {
      if (signalWaiter) {
        signalWaiter(sig);
        return;
      }
      try {
        fs.writeSync(2, `harness: ${sig}, stopping everything\n`);
      } catch {
        /* stderr closed */
      }
      teardownSync();
      process.exit(128 + num);
    });
  }
}

// ---------------------------------------------------------------- reaper

let reaper = null;

function reaperFile() {
  return path.join(tempRoot(), '.reaper');
}

function syncReaper() {
  if (!rootDir) return;
  const lines = [];
  for (const res of resources) for (const l of res.reaperLines?.() ?? []) lines.push(l);
  if (!KEEP_TMP) {
    for (const r of tempRoots()) lines.push(`rm ${r}`);
  }
  const file = reaperFile();
  fs.writeFileSync(`${file}.tmp`, `${lines.join('\n')}\n`);
  fs.renameSync(`${file}.tmp`, file);
  if (!reaper && resources.length) startReaper(file);
}

function startReaper(file) {
  // sh forks the reaper into its own session and exits at once, so the reaper is neither our
  // child (a process-tree kill does not reach it) nor in our process group (no Ctrl-C).
  // It holds fd 3, a pipe whose other end only this process has: EOF means we are gone.
  const child = spawn('sh', ['-c', 'setsid sh "$0" "$1" 3<&3 >/dev/null 2>&1 </dev/null & echo $!', path.join(HERE, 'reaper.sh'), file], {
    stdio: ['ignore', 'pipe', 'ignore', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stdout.on('end', () => {
    if (reaper) reaper.pid = Number(out.trim()) || null;
  });
  child.stdio[3].unref?.();
  child.stdout.unref?.();
  child.unref();
  reaper = { pipe: child.stdio[3], pid: null };
}

function stopReaper() {
  if (!reaper) return;
  // Closing our end makes it look at its file; an empty list means nothing to do.
  try {
    fs.writeFileSync(reaperFile(), '');
  } catch {
    /* root already gone */
  }
  reaper.pipe.destroy();
  reaper = null;
}

// ---------------------------------------------------------------- processes

export function isAlive(pid) {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie still answers kill(0); it is dead for our purposes.
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Spawns a child whose stdout and stderr are captured (into `captures` {out, err} when given,
 * so a restarted process keeps one history). The child and its pipes do not keep
 * the event loop alive (a test that forgets teardown still ends; the exit hook kills it).
 * Returns { child, out: Capture, err: Capture, exited: Promise<{code, signal}> }.
 */
export function spawnCaptured(label, cmd, args, { captures, ...options } = {}) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  const out = captures?.out ?? new Capture(`${label} stdout`);
  const err = captures?.err ?? new Capture(`${label} stderr`);
  child.stdout.on('data', (d) => out.push(d));
  child.stderr.on('data', (d) => err.push(d));
  const exited = new Promise((resolve) => {
    child.on('error', (e) => {
      err.push(`spawn ${cmd}: ${e.message}\n`);
      resolve({ code: null, signal: null, error: e });
    });
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  child.unref();
  child.stdout.unref?.();
  child.stderr.unref?.();
  return { child, out, err, exited };
}

/** Waits for `promise` at most `ms`; a ref'd timer keeps the process alive meanwhile. */
export async function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timeout after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** SIGTERM (or `signal`), wait up to `ms`, then SIGKILL. Resolves to {code, signal, killed}. */
export async function terminate(proc, { signal = 'SIGTERM', ms = 10000 } = {}) {
  const { child, exited } = proc;
  if (child.exitCode !== null || child.signalCode !== null) return { ...(await exited), killed: false };
  child.kill(signal);
  try {
    return { ...(await withTimeout(exited, ms, `${signal} to pid ${child.pid}`)), killed: false };
  } catch {
    child.kill('SIGKILL');
    return { ...(await exited), killed: true };
  }
}

/** Runs a command to completion with a timeout; resolves {code, signal, stdout, stderr}. */
export async function run(cmd, args, { input, timeoutMs = 60000, ...options } = {}) {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], ...options });
  const out = [];
  const err = [];
  child.stdout.on('data', (d) => out.push(d));
  child.stderr.on('data', (d) => err.push(d));
  child.stdin.on('error', () => {}); // EPIPE if it exits without reading
  child.stdin.end(input ?? '');
  const done = new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  let res;
  try {
    res = await withTimeout(done, timeoutMs, `${cmd} ${args.join(' ')}`);
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  return { ...res, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}

/** spawnSync wrapper for the synchronous teardown path. */
export function runSync(cmd, args, options = {}) {
  return spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 15000, ...options });
}

/**
 * Resolves with the first stdout line of `proc` (from spawnCaptured) that is JSON and
 * satisfies `match`; rejects if the process exits first or after `ms`, with its output tail.
 */
export function waitForJsonLine(proc, match, ms, what) {
  const { child, out, err, exited } = proc;
  let buf = '';
  let onData;
  const found = new Promise((resolve) => {
    onData = (d) => {
      buf += d.toString('utf8');
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line.startsWith('{')) continue;
        try {
          const obj = JSON.parse(line);
          if (match(obj)) resolve(obj);
        } catch {
          /* not JSON */
        }
      }
    };
    child.stdout.on('data', onData);
  });
  const died = exited.then((r) => {
    throw new Error(`${what}: process exited (${r.code ?? r.signal}) before it was ready\n${err.tail()}\n${out.tail()}`);
  });
  return withTimeout(Promise.race([found, died]), ms, what)
    .catch((e) => {
      if (e.message.startsWith('timeout')) e.message += `\n${err.tail()}\n${out.tail()}`;
      throw e;
    })
    .finally(() => child.stdout.off('data', onData));
}

/** Exit status as a number: the code, or 128 + the signal number. */
export function exitStatus({ code, signal }) {
  if (code !== null && code !== undefined) return code;
  return 128 + (os.constants.signals[signal] ?? 0);
}

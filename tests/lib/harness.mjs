// The integration harness: real PostgreSQL, the demo IdP, the Hub fixture and the hubgate
// binary, all on 127.0.0.1, all torn down whatever happens. See README.md beside this file.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  Capture, KEEP_TMP, REPO, SCOPE, Scope, isAlive, liveResources, makeTempDir, refreshReaper,
  register, sleep, teardownAll, untilSignal, withTimeout,
} from './registry.mjs';
import { startPostgres, psqlUrl } from './postgres.mjs';
import { startIdp, signWithKeysFile, unsignedToken, decodeJwt, DEFAULT_USERS_FILE } from './idp.mjs';
import {
  startHubgate, runHubgate, hubgateBin, hubgateAvailable, sanitizerReport, GATEWAY_ROLE, gatewayDatabaseUrl,
  adminDatabaseUrl,
} from './hubgate.mjs';
import { freePort, httpRequest } from './net.mjs';

export {
  REPO, KEEP_TMP, freePort, httpRequest, startPostgres, startIdp, startHubgate, runHubgate,
  hubgateBin, hubgateAvailable, teardownAll, untilSignal, makeTempDir, isAlive, liveResources,
  sleep, withTimeout, signWithKeysFile, unsignedToken, decodeJwt, DEFAULT_USERS_FILE,
  sanitizerReport, psqlUrl, GATEWAY_ROLE, gatewayDatabaseUrl, adminDatabaseUrl,
};

/** tests/fixtures/hub/launch.mjs, or $HUBGATE_HUB_LAUNCHER (a module with the same API). */
export const HUB_LAUNCHER = process.env.HUBGATE_HUB_LAUNCHER || path.join(REPO, 'tests', 'fixtures', 'hub', 'launch.mjs');

/** True when the Hub fixture (tests/fixtures/hub/launch.mjs) exists. */
export function hubAvailable() {
  return fs.existsSync(HUB_LAUNCHER);
}

/**
 * Starts the Hub fixture through tests/fixtures/hub/launch.mjs (imported lazily, so the
 * harness works without it): startHub({ dataDir, logFile, serviceToken, seed, env }) →
 * { url, storageUrl, serviceToken, logFile, dataDir, pid, readLog(), stop() }.
 * dataDir and logFile default to a temp dir removed at teardown.
 */
export async function startHub(opts = {}) {
  if (!hubAvailable()) throw new Error(`Hub fixture missing: ${HUB_LAUNCHER}`);
  const mod = await import(pathToFileURL(HUB_LAUNCHER).href);
  const dir = makeTempDir('hub');
  const { [SCOPE]: scope, ...rest } = opts;
  const dataDir = rest.dataDir ?? path.join(dir, 'data');
  fs.mkdirSync(dataDir, { recursive: true });
  const logFile = rest.logFile ?? path.join(dir, 'hub.log');
  const log = new Capture(`hub ${logFile}`);
  let logOffset = 0;
  const snapshotLog = () => {
    try {
      const buf = fs.readFileSync(logFile);
      if (buf.length > logOffset) log.push(buf.subarray(logOffset));
      logOffset = buf.length;
    } catch {
      /* no log */
    }
  };
  let hub = null;
  const res = register({
    name: 'hub',
    scope,
    pid: () => hub?.pid ?? null,
    stop: async () => {
      if (hub) await withTimeout(Promise.resolve(hub.stop()), 15000, 'hub stop');
      snapshotLog();
    },
    killSync: () => {
      if (hub?.pid && isAlive(hub.pid)) process.kill(hub.pid, 'SIGKILL');
      snapshotLog();
    },
    reaperLines: () => (hub?.pid ? [`pid ${hub.pid}`] : []),
    logs: () => [log],
    dirs: [dir],
  });
  hub = await mod.startHub({ ...rest, dataDir, logFile });
  res.name = `hub ${hub.url}`;
  refreshReaper();
  return hub;
}

/**
 * A set of services that is torn down with a test: pass node:test's TestContext and the
 * teardown runs in t.after(); without one, call stack.teardown() yourself (teardownAll()
 * and the exit hooks still catch whatever is left).
 *
 *   test('...', async (t) => {
 *     const stack = useStack(t);
 *     const pg = await stack.postgres();
 *     const idp = await stack.idp();
 *     const gw = await stack.hubgate({ config: {...}, policy: {...} });
 *   });
 */
export function useStack(t) {
  const scope = new Scope(t?.name ?? 'stack');
  if (typeof t?.after === 'function') t.after(() => scope.teardown());
  const scoped = (fn) => (opts = {}) => fn({ ...opts, [SCOPE]: scope });
  return {
    postgres: scoped(startPostgres),
    idp: scoped(startIdp),
    hub: scoped(startHub),
    hubgate: scoped(startHubgate),
    tmpdir: (prefix) => makeTempDir(prefix),
    teardown: () => scope.teardown(),
  };
}

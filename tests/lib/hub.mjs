// Starts the Hub fixture (tests/fixtures/hub) for a test, registered for teardown.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Capture, REPO, SCOPE, isAlive, makeTempDir, refreshReaper, register, withTimeout } from './registry.mjs';

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
  let hub = null;
  const res = register({
    name: 'hub',
    scope,
    pid: () => hub?.pid ?? null,
    stop: async () => {
      if (hub) await withTimeout(Promise.resolve(hub.stop()), 15000, 'hub stop');
      log.follow(logFile);
    },
    killSync: () => {
      if (hub?.pid && isAlive(hub.pid)) process.kill(hub.pid, 'SIGKILL');
      log.follow(logFile);
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

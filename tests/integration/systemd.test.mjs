// hubgate under systemd (deploy/systemd/hubgate.service, README "Deploy"): the unit passes
// `systemd-analyze verify`, and `systemd-analyze security` rates its hardening OK or better;
// and hubgate speaks systemd's readiness protocol (Type=notify) as sd_notify(3) documents it —
// READY=1 with its MAINPID once it serves, RELOADING=1 then READY=1 around a SIGHUP reload,
// STOPPING=1 on SIGTERM — to the socket $NOTIFY_SOCKET names (a test tool plays systemd).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { REPO, startStack, teardownAll, makeTempDir, hubgateBin } from '../lib/harness.mjs';

const UNIT = path.join(REPO, 'deploy', 'systemd', 'hubgate.service');
const LISTEN = process.env.HUBGATE_NOTIFY_LISTEN;
let listener;

after(async () => {
  listener?.kill('SIGKILL');
  await teardownAll();
});

// The unit as installed, its binary at the path this build has (verify checks it is there).
function unitCopy() {
  const dir = makeTempDir('systemd');
  const file = path.join(dir, 'hubgate.service');
  fs.writeFileSync(file, fs.readFileSync(UNIT, 'utf8').replaceAll('/usr/bin/hubgate', path.resolve(hubgateBin())));
  return file;
}

test('the unit verifies, and its hardening rates OK or better', () => {
  const file = unitCopy();
  const verify = execFileSync('systemd-analyze', ['verify', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  assert.equal(verify.trim(), '', 'nothing to say');
  const out = execFileSync('systemd-analyze', ['security', '--offline=true', '--no-pager', file], { encoding: 'utf8' });
  const m = /Overall exposure level for hubgate\.service: ([0-9.]+) (\w+)/.exec(out);
  assert.ok(m, out);
  console.log(`systemd-analyze security: ${m[1]} ${m[2]}`);
  assert.ok(['SAFE', 'OK'].includes(m[2]), `rated ${m[1]} ${m[2]}:\n${out}`);
  for (const directive of ['Type=notify', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'ProtectHome=yes', 'PrivateTmp=yes',
    'ReadWritePaths=/var/lib/hubgate/spool', 'CapabilityBoundingSet=\n', 'RestrictAddressFamilies=', 'SystemCallFilter=@system-service',
    'MemoryDenyWriteExecute=yes', 'User=hubgate', 'ExecReload=/bin/kill -HUP $MAINPID']) {
    assert.ok(fs.readFileSync(UNIT, 'utf8').includes(directive), directive);
  }
});

test('hubgate tells the service manager when it is ready, reloading and stopping', async () => {
  const dir = makeTempDir('notify');
  const sock = path.join(dir, 'notify.sock');
  listener = spawn(LISTEN, [sock], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = [];
  const waiters = [];
  readline.createInterface({ input: listener.stdout }).on('line', (l) => {
    lines.push(l);
    for (const w of waiters.splice(0)) w();
  });
  const next = async (re, what) => {
    for (let i = 0; i < 200; i++) {
      const found = lines.find((l) => re.test(l));
      if (found) {
        lines.splice(lines.indexOf(found), 1);
        return found;
      }
      await new Promise((r) => { waiters.push(r); setTimeout(r, 50); });
    }
    throw new Error(`no ${what} (got ${JSON.stringify(lines)})`);
  };
  await next(/^listening$/, 'listener');
  const policy = fs.readFileSync(path.join(REPO, 'tests', 'fixtures', 'policy', 'members.json'), 'utf8');
  const { gw } = await startStack({ policy, env: { NOTIFY_SOCKET: sock } });
  const ready = await next(/^READY=1/, 'READY=1');
  assert.match(ready, /\tSTATUS=serving /);
  assert.equal(/\tMAINPID=(\d+)/.exec(ready)[1], String(gw.pid), 'the main process');
  assert.equal((await fetch(`${gw.url}/-/health`)).status, 200, 'serving when it says so');

  process.kill(gw.pid, 'SIGHUP');
  const reloading = await next(/^RELOADING=1/, 'RELOADING=1');
  assert.match(reloading, /\tMONOTONIC_USEC=\d+/);
  await next(/^READY=1\tSTATUS=serving \(policy reloaded\)/, 'READY=1 after the reload');

  assert.equal(await gw.stop(), 0);
  await next(/^STOPPING=1$/, 'STOPPING=1');
  assert.deepEqual(lines, [], 'nothing else');
});

// deploy/hubgate.example.json is what operators copy: it must stay a valid configuration that
// shows the keys a deployment needs (storage origins, the gateway's own database role, a
// metrics listener, strict secret files). `hubgate serve --check` judges it with the files it
// names, as an operator would run it before starting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { REPO, makeTempDir, runHubgate } from '../lib/harness.mjs';

function deployCopy() {
  const dir = makeTempDir('example-config');
  for (const f of ['hubgate.example.json', 'policy.example.json'])
    fs.copyFileSync(path.join(REPO, 'deploy', f), path.join(dir, f));
  fs.writeFileSync(path.join(dir, 'us.token'), 'hf_example_service_token\n', { mode: 0o600 });
  fs.writeFileSync(path.join(dir, 'egress.key'), `${crypto.randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  fs.writeFileSync(path.join(dir, 'login.secret'), `${crypto.randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });
  fs.writeFileSync(path.join(dir, 'scim.token'), `${crypto.randomBytes(32).toString('base64url')}\n`, { mode: 0o600 });
  fs.mkdirSync(path.join(dir, 'spool'));
  return dir;
}

test('the example configuration passes serve --check with the files it names', async () => {
  const dir = deployCopy();
  const key = await runHubgate(['keygen', '--out', path.join(dir, 'audit-ed25519.pem')], { cwd: dir });
  assert.equal(key.code, 0, key.stderr);
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'hubgate.example.json'), 'utf8'));
  assert.ok(config.regions.us.storage.length > 0, 'the example lists storage origins');
  assert.ok(config.metrics_listen, 'the example sets a metrics listener');
  assert.doesNotMatch(config.database, /\/\/postgres@/, 'the example never runs the gateway as the superuser');
  assert.ok(config.identity.login && config.scim, 'the example shows sign-in and SCIM');
  const r = await runHubgate(['serve', '--config', path.join(dir, 'hubgate.example.json'), '--check'], { cwd: dir });
  assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
});

test('the same configuration with a token file others may read is refused, naming the fix', async () => {
  const dir = deployCopy();
  await runHubgate(['keygen', '--out', path.join(dir, 'audit-ed25519.pem')], { cwd: dir });
  fs.chmodSync(path.join(dir, 'us.token'), 0o644);
  const r = await runHubgate(['serve', '--config', path.join(dir, 'hubgate.example.json'), '--check'], { cwd: dir });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /us\.token/);
  assert.match(r.stderr, /chmod 600/);
});

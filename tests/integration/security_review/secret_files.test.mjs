// Issue 9, item 14: secret files are read strictly.
// - every key, token or secret file (a region's token_file, egress_key_file, audit.signing_key,
//   identity.assertion_key, tls.key) that group or others may read or write is refused, as ssh
//   refuses such a private key: `serve` does not start and `serve --check` fails, both naming
//   the file and the fix (chmod 600);
// - the egress key is exactly 64 hex digits and an optional newline, nothing else;
// - `hubgate keygen` writes its key with mode 0600 whatever the umask.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { startStack, makeTempDir, teardownAll, runHubgate, hubgateBin, REPO } from '../../lib/harness.mjs';

const POLICY = fs.readFileSync(path.join(REPO, 'tests', 'fixtures', 'policy', 'members.json'), 'utf8');
const EGRESS_KEY = crypto.randomBytes(32).toString('hex');

let gw, dir;

before(async () => {
  const tmp = makeTempDir('tls');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', path.join(tmp, 'tls.key'), '-out', path.join(tmp, 'tls.crt'), '-subj', '/CN=127.0.0.1', '-days', '2'], { stdio: 'ignore' });
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { idp, gateway } = await startStack({ gateway: false });
  gw = await gateway({
    policy: POLICY,
    config: {
      identity: { issuers: [{ issuer: idp.issuer, audience: 'hubgate' }], assertion_key: 'assertion.pem' },
      egress_key_file: 'egress.key',
      tls: { cert: 'tls.crt', key: 'tls.key' },
    },
    files: {
      'egress.key': `${EGRESS_KEY}\n`,
      'assertion.pem': privateKey.export({ type: 'pkcs8', format: 'pem' }),
      'tls.key': fs.readFileSync(path.join(tmp, 'tls.key')),
      'tls.crt': fs.readFileSync(path.join(tmp, 'tls.crt')),
    },
  });
  // Every file private to its owner: it runs.
  const alice = await idp.token('alice');
  const r = await fetch(`${gw.url.replace('https:', 'http:')}/-/health`).catch(() => null);
  assert.equal(r, null, 'the listener speaks TLS only');
  assert.ok(alice);
  assert.equal(await gw.stop(), 0);
  dir = gw.dir;
});

after(teardownAll);

// `serve --check`, then `serve` (which must refuse before it listens): both fail, both say why.
async function refused(what, want) {
  const check = await runHubgate(['serve', '--config', gw.configFile, '--check']);
  assert.equal(check.code, 1, `${what}: serve --check\n${check.stdout}${check.stderr}`);
  for (const w of want) assert.match(check.stderr, w, `${what}: serve --check`);
  let run;
  try {
    run = await runHubgate(['serve', '--config', gw.configFile], { timeoutMs: 20000 });
  } catch (e) {
    assert.fail(`${what}: serve started (${e.message})`);
  }
  assert.notEqual(run.code, 0, `${what}: serve`);
  for (const w of want) assert.match(run.stderr, w, `${what}: serve`);
  assert.doesNotMatch(run.stderr + check.stderr, new RegExp(EGRESS_KEY), 'no secret is echoed');
}

const openModes = [0o644, 0o640, 0o604, 0o620, 0o602];

for (const [key, file] of [
  ['regions.us.token_file', 'us.token'],
  ['egress_key_file', 'egress.key'],
  ['audit.signing_key', 'audit-ed25519.pem'],
  ['identity.assertion_key', 'assertion.pem'],
  ['tls.key', 'tls.key'],
]) {
  test(`${key}: a file group or others may read or write is refused, naming the file and the fix`, async () => {
    const p = path.join(dir, file);
    try {
      for (const mode of openModes) {
        fs.chmodSync(p, mode);
        const octal = `0${mode.toString(8)}`;
        await refused(`${file} ${octal}`, [
          new RegExp(`${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is readable or writable by group or others \\(mode ${octal}\\)`),
          /chmod 600/,
        ]);
      }
    } finally {
      fs.chmodSync(p, 0o600);
    }
    const ok = await runHubgate(['serve', '--config', gw.configFile, '--check']);
    assert.equal(ok.code, 0, `${file} 0600: ${ok.stderr}`);
  });
}

test('serve --check names every bad file at once', async () => {
  const files = ['egress.key', 'audit-ed25519.pem', 'assertion.pem', 'tls.key'];
  try {
    for (const f of files) fs.chmodSync(path.join(dir, f), 0o644);
    const check = await runHubgate(['serve', '--config', gw.configFile, '--check']);
    assert.equal(check.code, 1);
    for (const f of files) assert.match(check.stderr, new RegExp(`${f} is readable or writable by group or others`), f);
  } finally {
    for (const f of files) fs.chmodSync(path.join(dir, f), 0o600);
  }
});

test('the egress key is exactly 64 hex digits and an optional newline', async () => {
  const p = path.join(dir, 'egress.key');
  const bad = [
    ['a digit short', EGRESS_KEY.slice(1)],
    ['a non-digit at the end', `${EGRESS_KEY.slice(0, 63)}g`],
    ['a space inside', `${EGRESS_KEY.slice(0, 10)} ${EGRESS_KEY.slice(11)}`],
    ['a sign', `+${EGRESS_KEY.slice(1)}`],
    ['two newlines', `${EGRESS_KEY}\n\n`],
    ['CR LF', `${EGRESS_KEY}\r\n`],
    ['too long', `${EGRESS_KEY}00`],
    ['base64, not hex', crypto.randomBytes(32).toString('base64')],
    ['empty', ''],
  ];
  try {
    for (const [what, content] of bad) {
      fs.writeFileSync(p, content, { mode: 0o600 });
      await refused(what, [/egress\.key must hold exactly 64 hex digits/]);
    }
    fs.writeFileSync(p, EGRESS_KEY.toUpperCase(), { mode: 0o600 });
    const ok = await runHubgate(['serve', '--config', gw.configFile, '--check']);
    assert.equal(ok.code, 0, `without a newline, upper case: ${ok.stderr}`);
  } finally {
    fs.writeFileSync(p, `${EGRESS_KEY}\n`, { mode: 0o600 });
  }
});

test('hubgate keygen writes its private key with mode 0600, whatever the umask', async () => {
  const out = path.join(makeTempDir('keygen'), 'audit.pem');
  // A shell with umask 000: a careless open(…, 0666) would leave the key world-readable.
  execFileSync('sh', ['-c', `umask 000; exec "$0" keygen --out "$1" --pubout "$1.pub"`, hubgateBin(), out], { stdio: 'ignore' });
  assert.equal(fs.statSync(out).mode & 0o777, 0o600);
  assert.match(fs.readFileSync(out, 'utf8'), /PRIVATE KEY/);
});

// `hubgate keygen` and `hubgate audit verify` as a user meets them: help, bad input, the key
// file's mode and atomic write, an unreachable database, an empty one.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { useStack, runHubgate, makeTempDir, teardownAll } from '../lib/harness.mjs';

after(teardownAll);

test('keygen writes a 0600 private key, prints its id and public key, never overwrites by accident', async () => {
  const dir = makeTempDir('keygen');
  const key = path.join(dir, 'audit.pem');
  const pub = path.join(dir, 'audit.pub');
  const r = await runHubgate(['keygen', '--out', key, '--pubout', pub]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(fs.statSync(key).mode & 0o777, 0o600);
  assert.match(fs.readFileSync(key, 'utf8'), /^-----BEGIN PRIVATE KEY-----\n/);
  assert.match(fs.readFileSync(pub, 'utf8'), /^-----BEGIN PUBLIC KEY-----\n/);
  const id = /key id: ([0-9a-f]{16})\n/.exec(r.stdout)?.[1];
  assert.ok(id, r.stdout);
  assert.ok(r.stdout.includes(fs.readFileSync(pub, 'utf8')), 'the printed public key is the file');
  assert.deepEqual(fs.readdirSync(dir).sort(), ['audit.pem', 'audit.pub'], 'no temporary file left');

  const before = fs.readFileSync(key, 'utf8');
  const again = await runHubgate(['keygen', '--out', key]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /^hubgate keygen: .*audit\.pem already exists \(refusing to replace a key\)\n$/);
  assert.equal(fs.readFileSync(key, 'utf8'), before);
  const forced = await runHubgate(['keygen', '--out', key, '--force']);
  assert.equal(forced.code, 0, forced.stderr);
  assert.notEqual(fs.readFileSync(key, 'utf8'), before);
  assert.equal(fs.statSync(key).mode & 0o777, 0o600);

  const missingDir = await runHubgate(['keygen', '--out', path.join(dir, 'no', 'such', 'k.pem')]);
  assert.equal(missingDir.code, 1);
  assert.equal(missingDir.stderr.trim().split('\n').length, 1);
});

test('help and bad arguments', async () => {
  for (const args of [['keygen', '--help'], ['audit', '--help'], ['audit', 'verify', '--help']]) {
    const r = await runHubgate(args);
    assert.equal(r.code, 0, args.join(' '));
    assert.match(r.stdout, /^Usage: hubgate (keygen|audit verify)/);
  }
  const cases = [
    [['keygen'], /--out FILE is required/],
    [['keygen', '--out'], /--out needs a value/],
    [['keygen', '--bogus'], /unknown argument "--bogus"/],
    [['audit'], /Usage: hubgate audit verify/],
    [['audit', 'frobnicate'], /unknown subcommand "frobnicate" \(expected verify, /],
    [['audit', 'verify'], /--database URL is required/],
    [['audit', 'verify', '--database', 'x', '--nope'], /unknown argument "--nope"/],
  ];
  for (const [args, re] of cases) {
    const r = await runHubgate(args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, re, args.join(' '));
  }
});

test('verify: an unreachable database or unreadable input is "could not verify" (3), in one line', async () => {
  const down = await runHubgate(['audit', 'verify', '--database', 'postgresql://nobody@127.0.0.1:1/x?connect_timeout=2']);
  assert.equal(down.code, 3);
  assert.match(down.stderr, /^hubgate audit verify: cannot connect to the database: /);
  assert.equal(down.stderr.trim().split('\n').length, 1);
  const nokey = await runHubgate(['audit', 'verify', '--database', 'postgresql://nobody@127.0.0.1:1/x', '--pubkey', '/no/such.pub']);
  assert.equal(nokey.code, 3);
  assert.match(nokey.stderr, /--pubkey \/no\/such\.pub: no such file/);
  const dir = makeTempDir('badcp');
  fs.writeFileSync(path.join(dir, 'cp'), '{"v":1}\n');
  const badcp = await runHubgate(['audit', 'verify', '--database', 'postgresql://nobody@127.0.0.1:1/x', '--checkpoint', path.join(dir, 'cp')]);
  assert.equal(badcp.code, 3);
  assert.match(badcp.stderr, /cp:1: not a checkpoint: missing keys/);
});

test('verify: an empty migrated database holds; an unmigrated one cannot be verified', async (t) => {
  const stack = useStack(t);
  const pg = await stack.postgres();
  const bare = await runHubgate(['audit', 'verify', '--database', pg.url]);
  assert.equal(bare.code, 3);
  assert.match(bare.stderr, /is the database migrated\?/);
  assert.equal((await runHubgate(['db', 'migrate', '--database', pg.url])).code, 0);
  const r = await runHubgate(['audit', 'verify', '--database', pg.url, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.ok, true);
  assert.equal(report.events, 0);
  assert.equal(report.first_problem, null);
  const text = await runHubgate(['audit', 'verify', '--database', pg.url]);
  assert.match(text.stdout, /^note: signatures were checked with the keys stored in the database/m);
  assert.match(text.stdout, /^verify: OK: 0 streams, 0 events, 0 checkpoints/m);
  const one = await runHubgate(['audit', 'verify', '--database', pg.url, '--stream', 'gw-9']);
  assert.equal(one.code, 1);
  assert.match(one.stdout, /stream gw-9 is not in the database/);
});

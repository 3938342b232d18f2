// hubgate's container image (deploy/container, issue 16). The Containerfile cannot be built
// here (its debian:12-slim base comes from a registry this machine cannot reach), so check.sh
// judges it statically: two stages, a runtime stage without compilers or -dev packages, a
// non-root USER, a HEALTHCHECK, the spool VOLUME, an ENTRYPOINT — and each broken copy is
// refused naming its problem. Where podman runs (as root; not in the sanitizer build, whose
// binary needs the ASan runtime and its environment), scratch-image.sh builds an image FROM
// scratch with this build's binary and exactly the libraries ldd names, and hubgate runs in it:
// --version, and serve --check of a small valid config as uid 10001 on a read-only root.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO, makeTempDir, hubgateBin, hubgateAvailable, teardownAll } from '../lib/harness.mjs';

const DIR = path.join(REPO, 'deploy', 'container');
const CONTAINERFILE = path.join(DIR, 'Containerfile');
const CHECK = path.join(DIR, 'check.sh');
const SCRATCH = path.join(DIR, 'scratch-image.sh');
const TAG = `localhost/hubgate-scratch-test:${process.pid}`;

after(async () => {
  if (podmanSkip() === false) spawnSync('podman', ['rmi', '--force', TAG], { stdio: 'ignore' });
  await teardownAll();
});

function check(file) {
  const r = spawnSync('bash', [CHECK, file], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout + r.stderr };
}

// The Containerfile with one edit, in a folder of its own.
function brokenCopy(name, edit) {
  const file = path.join(makeTempDir('container'), `Containerfile.${name}`);
  const text = fs.readFileSync(CONTAINERFILE, 'utf8');
  const changed = edit(text);
  assert.notEqual(changed, text, `the edit "${name}" changed nothing`);
  fs.writeFileSync(file, changed);
  return file;
}

// The runtime stage: everything after the last FROM.
function finalStageStart(text) {
  const at = text.lastIndexOf('\nFROM ');
  assert.ok(at > 0, 'a second FROM');
  return at;
}

let podmanState;
function podmanSkip() {
  if (podmanState !== undefined) return podmanState;
  if (process.env.HUBGATE_SANITIZED === '1') podmanState = 'the sanitizer build is not put in an image (HUBGATE_SANITIZED=1)';
  else if (!hubgateAvailable()) podmanState = `${hubgateBin()} is not built`;
  else if (process.getuid() !== 0) podmanState = 'podman is tried as root only';
  else if (spawnSync('podman', ['info'], { stdio: 'ignore' }).status !== 0) podmanState = 'podman is not installed or cannot run here (podman info)';
  else podmanState = false;
  return podmanState;
}

test('check.sh passes the real Containerfile', () => {
  const r = check(CONTAINERFILE);
  assert.equal(r.code, 0, r.out);
  assert.equal(r.out, '');
  const text = fs.readFileSync(CONTAINERFILE, 'utf8');
  for (const line of ['FROM docker.io/library/debian:12-slim AS build', '-DHUBGATE_TESTS=OFF', 'USER 10001',
    'WORKDIR /etc/hubgate', 'EXPOSE 8443', 'VOLUME ["/var/lib/hubgate/spool"]', 'ENTRYPOINT ["/usr/bin/hubgate"]',
    'CMD ["serve", "--config", "/etc/hubgate/hubgate.json"]', 'CMD ["/usr/libexec/hubgate/ready"']) {
    assert.ok(text.includes(line), line);
  }
});

test('check.sh refuses a runtime stage that installs a compiler or a -dev package', () => {
  const file = brokenCopy('gcc', (t) => {
    const at = finalStageStart(t);
    return t.slice(0, at) + t.slice(at).replace('libpq5 ca-certificates git', 'libpq5 ca-certificates git gcc libpq-dev');
  });
  const r = check(file);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /final stage: RUN mentions the build package or tool "gcc"/);
  assert.match(r.out, /final stage: RUN mentions the build package or tool "libpq-dev"/);
  assert.equal(r.out.trim().split('\n').length, 2, r.out);
});

test('check.sh refuses a runtime stage without USER, and one with USER root', () => {
  const none = check(brokenCopy('no-user', (t) => t.replace(/^USER .*\n/m, '')));
  assert.equal(none.code, 1, none.out);
  assert.match(none.out, /^\S+: final stage: no USER \(it would run as root\)$/m);
  assert.equal(none.out.trim().split('\n').length, 1, none.out);
  for (const user of ['root', '0', '0:0']) {
    const r = check(brokenCopy(`user-${user}`, (t) => t.replace(/^USER .*$/m, `USER ${user}`)));
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, new RegExp(`final stage: USER ${user} runs it as root`));
  }
});

test('check.sh refuses one stage, no HEALTHCHECK, no spool VOLUME, no ENTRYPOINT: one line each', () => {
  const file = brokenCopy('bare', (t) => {
    const at = finalStageStart(t);
    return t.slice(at + 1).replace(/^HEALTHCHECK [^\n]*\\\n[^\n]*\n/m, '').replace(/^VOLUME .*\n/m, '').replace(/^ENTRYPOINT .*\n/m, '');
  });
  const r = check(file);
  assert.equal(r.code, 1, r.out);
  const lines = r.out.trim().split('\n');
  assert.equal(lines.length, 4, r.out);
  assert.match(lines[0], /1 FROM stage\(s\)/);
  assert.match(lines[1], /no HEALTHCHECK/);
  assert.match(lines[2], /no VOLUME for the spool/);
  assert.match(lines[3], /no ENTRYPOINT/);
  const missing = check(path.join(makeTempDir('container'), 'absent'));
  assert.equal(missing.code, 1);
  assert.match(missing.out, /cannot read it/);
});

test('a FROM scratch image with the binary and its ldd libraries runs --version and serve --check', { skip: podmanSkip() }, () => {
  const started = Date.now();
  const r = spawnSync('bash', [SCRATCH, hubgateBin(), TAG], { encoding: 'utf8', timeout: 300000 });
  console.log(`scratch-image.sh: ${((Date.now() - started) / 1000).toFixed(1)} s; ${r.stderr.trim()}`);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const version = spawnSync(hubgateBin(), ['--version'], { encoding: 'utf8' }).stdout.trim();
  assert.match(version, /^hubgate \d+\.\d+\.\d+ \(\S+\)$/);
  const lines = r.stdout.trim().split('\n');
  assert.deepEqual(lines, [version, '/etc/hubgate/hubgate.json: configuration is valid']);
});

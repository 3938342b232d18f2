// Proves the integration harness (tests/lib) works: PostgreSQL survives an immediate stop,
// the demo IdP issues RS256/ES256 RFC 9068 tokens that verify against its published JWKS and
// rotates its keys, the gateway and Hub fixture start when present, and teardown leaves no
// process and no temp dir behind — after a normal end, an uncaught exception, SIGTERM and
// SIGKILL alike.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import { spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { createRemoteJWKSet, jwtVerify, decodeProtectedHeader, errors as joseErrors } from 'jose';
import {
  useStack, teardownAll, isAlive, liveResources, hubAvailable, hubgateAvailable, hubgateBin,
  HUB_LAUNCHER, REPO, sleep, httpRequest,
} from '../lib/harness.mjs';

after(teardownAll);

/** Ports on which something listens on an address other than 127.0.0.1 (from /proc/net). */
function nonLoopbackListeners(ports) {
  const bad = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let rows;
    try {
      rows = fs.readFileSync(file, 'utf8').trim().split('\n').slice(1);
    } catch {
      continue;
    }
    for (const row of rows) {
      const [, local, , state] = row.trim().split(/\s+/);
      if (state !== '0A') continue; // LISTEN
      const [addr, portHex] = local.split(':');
      const port = parseInt(portHex, 16);
      if (ports.includes(port) && addr !== '0100007F') bad.push(`${file} ${addr}:${port}`);
    }
  }
  return bad;
}

/** PIDs whose command line mentions `needle` (a temp root): what teardown must have ended. */
function processesMentioning(needle) {
  const found = [];
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    if (Number(pid) === process.pid) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(needle) && isAlive(Number(pid))) found.push(`${pid}: ${cmd}`);
    } catch {
      /* exited meanwhile */
    }
  }
  return found;
}

async function eventually(what, check, ms = 8000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const problem = check();
    if (!problem) return;
    if (Date.now() > deadline) assert.fail(`${what}: ${problem}`);
    await sleep(50);
  }
}

test('postgres: starts on loopback, answers psql, survives an immediate stop', async (t) => {
  const stack = useStack(t);
  const pg = await stack.postgres();
  assert.equal(pg.psql('select 1'), '1');
  assert.equal(pg.url, `postgresql://postgres@127.0.0.1:${pg.port}/hubgate`);
  assert.equal(pg.psql('select current_database()'), 'hubgate');
  assert.equal(pg.psql("select current_setting('server_encoding')"), 'UTF8');
  assert.equal(pg.psql('show listen_addresses'), '127.0.0.1');
  assert.equal(pg.psql('show fsync'), 'on');
  assert.deepEqual(nonLoopbackListeners([pg.port]), []);

  pg.psql("create table survivor(id int primary key, note text); insert into survivor values (1, 'committed before the crash')");
  const pid = pg.pid();
  assert.ok(isAlive(pid), 'postmaster running');
  await pg.stopImmediate();
  assert.equal(pg.running(), false);
  assert.ok(!isAlive(pid), 'postmaster gone after stopImmediate');
  assert.throws(() => pg.psql('select 1'), /psql: .*(refused|could not connect|No such file)/s);
  await assert.rejects(pg.psqlAsync('select 1'), /psql: .*(refused|could not connect|No such file)/s);

  const port = pg.port;
  await pg.start();
  assert.equal(pg.port, port, 'same port after restart');
  assert.equal(pg.psql('select note from survivor where id = 1'), 'committed before the crash');

  await pg.stop(); // fast shutdown, then start again: the pair used by "database loss" tests
  await pg.start();
  assert.equal(pg.psql('select count(*) from survivor'), '1');
  assert.throws(() => pg.psql('select * from no_such_table'), (e) => /relation "no_such_table" does not exist/.test(e.stderr));
  assert.equal(await pg.psqlAsync('select 2; select 3'), '2\n3');
});

test('idp: RS256 and ES256 at+jwt tokens verify against the discovery jwks_uri', async (t) => {
  const stack = useStack(t);
  const idp = await stack.idp();
  assert.match(idp.issuer, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.deepEqual(nonLoopbackListeners([idp.port]), []);
  const disc = await idp.discovery();
  assert.equal(disc.issuer, idp.issuer);
  assert.equal(disc.jwks_uri, `${idp.issuer}/jwks`);
  const jwks = createRemoteJWKSet(new URL(disc.jwks_uri));
  const published = await idp.jwks();
  assert.deepEqual(published.keys.map((k) => k.alg).sort(), ['ES256', 'RS256']);
  for (const k of published.keys) assert.equal(k.d, undefined, 'no private member published');

  const cases = [
    { user: 'alice', alg: 'RS256', groups: ['acme-ml'], amr: ['pwd', 'mfa'] },
    { user: 'carol', alg: 'ES256', groups: ['acme-admins'], amr: ['pwd', 'mfa'] },
    { user: 'bob', alg: 'RS256', groups: ['acme-staff'], amr: ['pwd'] },
    { user: 'audrey', alg: 'ES256', groups: ['acme-audit'], amr: ['pwd', 'mfa'] }, // client_secret_post
  ];
  for (const c of cases) {
    const token = await idp.token(c.user);
    const { payload, protectedHeader } = await jwtVerify(token, jwks, { issuer: idp.issuer, audience: 'hubgate', typ: 'at+jwt' });
    assert.equal(protectedHeader.alg, c.alg, c.user);
    assert.equal(protectedHeader.typ, 'at+jwt', c.user);
    assert.equal(payload.sub, c.user);
    assert.equal(payload.client_id, c.user);
    assert.deepEqual(payload.groups, c.groups, c.user);
    assert.deepEqual(payload.amr, c.amr, c.user);
    assert.equal(payload.email, idp.users[c.user].claims.email);
    assert.ok(payload.exp - payload.iat === 300, `${c.user}: ttl 300`);
    assert.ok(payload.jti, `${c.user}: jti`);
  }

  const bad = await idp.tokenResponse('alice', { secret: 'wrong-secret' });
  assert.equal(bad.status, 401);
  assert.equal(bad.body.error, 'invalid_client');
  const unknownAud = await idp.tokenResponse('alice', { resource: 'urn:audience:elsewhere' });
  assert.equal(unknownAud.status, 400);
  assert.equal(unknownAud.body.error, 'invalid_target');

  // Forgeries signed with the keys file: a real signature, claims chosen by the test.
  const expired = await idp.forge({ user: 'alice', claims: { iat: 1000, exp: 2000 } });
  await assert.rejects(jwtVerify(expired, jwks, { issuer: idp.issuer, audience: 'hubgate' }), joseErrors.JWTExpired);
  const wrongAud = await idp.forge({ user: 'carol', claims: { aud: 'someone-else' } });
  assert.equal(decodeProtectedHeader(wrongAud).alg, 'ES256');
  await assert.rejects(jwtVerify(wrongAud, jwks, { issuer: idp.issuer, audience: 'hubgate' }), joseErrors.JWTClaimValidationFailed);
  const fine = await idp.forge({ user: 'bob' });
  await jwtVerify(fine, jwks, { issuer: idp.issuer, audience: 'hubgate', typ: 'at+jwt' });
});

test('idp: rotate() changes the kids; old tokens stop verifying (unless kept)', async (t) => {
  const stack = useStack(t);
  const idp = await stack.idp({ ttl: 120, audience: ['hubgate', 'https://other.example/api'] });
  const verify = (token) => jwtVerify(token, createRemoteJWKSet(new URL(`${idp.issuer}/jwks`)), { issuer: idp.issuer, audience: ['hubgate', 'https://other.example/api'], typ: 'at+jwt' });

  const oldKids = await idp.kids();
  const oldRs = await idp.token('alice');
  const oldEs = await idp.token('carol');
  assert.equal((await verify(oldRs)).payload.exp - (await verify(oldRs)).payload.iat, 120);
  const other = await verify(await idp.token('alice', { audience: 'https://other.example/api' }));
  assert.equal(other.payload.aud, 'https://other.example/api');

  const newKids = await idp.rotate();
  assert.equal(newKids.length, 2);
  for (const k of newKids) assert.ok(!oldKids.includes(k), `kid ${k} is new`);
  const onDisk = JSON.parse(fs.readFileSync(idp.keysFile, 'utf8')).keys.map((k) => k.kid);
  assert.deepEqual(onDisk, newKids, 'keys file rewritten');
  await assert.rejects(verify(oldRs), joseErrors.JWKSNoMatchingKey);
  await assert.rejects(verify(oldEs), joseErrors.JWKSNoMatchingKey);
  const fresh = await idp.token('carol');
  assert.ok(newKids.includes(decodeProtectedHeader(fresh).kid));
  await verify(fresh);

  // Rollover: fresh keys sign, the previous ones stay published.
  const rolled = await idp.rotate({ keepPrevious: true });
  assert.equal(rolled.length, 4);
  await verify(fresh);
  const newest = await idp.token('carol');
  assert.equal(decodeProtectedHeader(newest).kid, rolled.find((k) => k.startsWith('es-')));

  // Restart on the same port with the same keys file: same issuer, same kids.
  const issuer = idp.issuer;
  const pid = idp.pid;
  await idp.stop();
  assert.ok(!isAlive(pid));
  await idp.start();
  assert.equal(idp.issuer, issuer);
  assert.deepEqual(await idp.kids(), rolled);
  await verify(newest);
  await idp.stop();
  await idp.start({ freshKeys: true });
  assert.ok((await idp.kids()).every((k) => !rolled.includes(k)));
});

test('hub fixture: starts through tests/fixtures/hub/launch.mjs', async (t) => {
  if (!hubAvailable()) {
    t.skip(`${HUB_LAUNCHER} does not exist yet`);
    return;
  }
  const stack = useStack(t);
  const hub = await stack.hub();
  assert.match(hub.url, /^http:\/\/127\.0\.0\.1:\d+/);
  assert.ok(isAlive(hub.pid));
  const r = await httpRequest(`${hub.url}/api/whoami-v2`, { headers: { authorization: `Bearer ${hub.serviceToken}` } });
  assert.ok(r.status < 500, `hub answers (HTTP ${r.status})`);
  assert.deepEqual(nonLoopbackListeners([Number(new URL(hub.url).port)]), []);
});

test('hubgate: migrates, serves /-/health, stops on SIGTERM', async (t) => {
  if (!hubgateAvailable()) {
    t.skip(`${hubgateBin()} is not built (or not executable)`);
    return;
  }
  const stack = useStack(t);
  const [pg, idp] = await Promise.all([stack.postgres(), stack.idp()]);
  const upstream = http.createServer((req, res) => res.writeHead(404, { 'x-error-code': 'RepoNotFound' }).end('{"error":"Repository not found"}'));
  await new Promise((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  t.after(() => upstream.close());
  const gw = await stack.hubgate({
    config: {
      database: pg.url,
      policy: 'policy.json',
      regions: { us: { upstream: `http://127.0.0.1:${upstream.address().port}`, token_file: 'us.token' } },
      default_region: 'us',
      identity: { issuers: [{ issuer: idp.issuer, audience: 'hubgate' }] },
    },
    policy: JSON.parse(fs.readFileSync(`${REPO}/deploy/policy.example.json`, 'utf8')),
    files: { 'us.token': 'hf_fixture_service_token\n' },
  });
  assert.match(gw.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.ok(fs.existsSync(gw.configFile));
  assert.deepEqual(nonLoopbackListeners([Number(new URL(gw.url).port)]), []);
  const health = await httpRequest(`${gw.url}/-/health`);
  assert.equal(health.status, 200);
  assert.equal(pg.psql("select count(*) > 0 from information_schema.tables where table_name = 'schema_migration'"), 't');
  assert.equal(typeof gw.stderr(), 'string');
  const pid = gw.pid;
  assert.equal(await gw.stop(), 0, `exit status 0 on SIGTERM\n${gw.output()}`);
  assert.ok(!isAlive(pid));
});

test('teardown: a stack leaves no process and no temp dir behind', async () => {
  const stack = useStack();
  const [pg, idp] = await Promise.all([stack.postgres(), stack.idp()]);
  const pids = [pg.pid(), idp.pid];
  const dirs = [pg.dataDir, idp.dir];
  for (const pid of pids) assert.ok(isAlive(pid));
  await stack.teardown();
  for (const pid of pids) assert.ok(!isAlive(pid), `pid ${pid} gone`);
  for (const d of dirs) assert.ok(!fs.existsSync(d), `${d} removed`);
  assert.deepEqual(processesMentioning(pg.dataDir), []);
});

// A child process starts PostgreSQL and the IdP through the harness, reports their PIDs and
// temp roots, then ends badly. Whatever the ending, nothing may survive it.
const CHILD = `
import { startPostgres, startIdp } from ${JSON.stringify(pathToFileURL(`${REPO}/tests/lib/harness.mjs`).href)};
import { tempRoots } from ${JSON.stringify(pathToFileURL(`${REPO}/tests/lib/registry.mjs`).href)};
const [pg, idp] = await Promise.all([startPostgres(), startIdp()]);
console.log(JSON.stringify({ pids: [pg.pid(), idp.pid], roots: tempRoots() }));
const mode = process.argv[1];
if (mode === 'throw') setTimeout(() => { throw new Error('deliberate uncaught exception'); }, 10);
else setInterval(() => {}, 1000);
`;

async function childEndingWith(mode) {
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => {
    err += d;
  });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const info = await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve(JSON.parse(line));
    });
    exited.then((r) => reject(new Error(`child (${mode}) exited early ${JSON.stringify(r)}:\n${err}`)));
  });
  for (const pid of info.pids) assert.ok(isAlive(pid), `${mode}: pid ${pid} running`);
  if (mode === 'sigterm') child.kill('SIGTERM');
  if (mode === 'sigkill') child.kill('SIGKILL');
  const status = await exited;
  if (mode === 'throw') {
    assert.equal(status.code, 1);
    assert.match(err, /last output of the processes/, 'failure dump printed');
    assert.match(err, /----- idp stdout -----\n\{"ready":true/);
  }
  if (mode === 'sigterm') assert.equal(status.code, 143);
  if (mode === 'sigkill') assert.equal(status.signal, 'SIGKILL');
  await eventually(`${mode}: processes gone`, () => {
    const alive = info.pids.filter(isAlive);
    return alive.length ? `still alive: ${alive.join(', ')}` : null;
  });
  await eventually(`${mode}: temp roots removed`, () => {
    const left = info.roots.filter((r) => fs.existsSync(r));
    return left.length ? `left: ${left.join(', ')}` : null;
  });
  // The reaper is the last to go: it exits right after it has cleaned up, so wait for it too.
  for (const root of info.roots) {
    await eventually(`${mode}: nothing mentions ${root}`, () => {
      const left = processesMentioning(root);
      return left.length ? `still running: ${left.join('; ')}` : null;
    });
  }
}

test('teardown: after an uncaught exception, SIGTERM and SIGKILL of the test process', async () => {
  await Promise.all(['throw', 'sigterm', 'sigkill'].map(childEndingWith));
});

test('teardown: nothing left registered', async () => {
  await teardownAll();
  assert.deepEqual(liveResources().map((r) => r.name), []);
});

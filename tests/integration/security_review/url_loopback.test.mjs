// Issue 9, finding 13: the plain-http loopback exception was a string prefix, so a discovery
// document's `jwks_uri` such as `http://localhost@host/` or `http://[::1]:80@host/` passed, and
// the configuration accepted the name `localhost` (resolved by whoever answers for it).
// Now every URL hubgate connects to is parsed by libcurl's URL API: plain http only when the
// host it will connect to is a loopback literal (127.0.0.0/8, [::1]), and never credentials.
// (The table of tricky URLs is the unit test tests/unit/gateway/test_url.c.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { startStack, teardownAll, runHubgate, makeTempDir } from '../../lib/harness.mjs';

const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
const key = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });

// One server, several issuers (one per path): each discovery document names a jwks_uri of
// the shape under test, all of which really lead back to this server's /jwks.
const ISSUERS = {
  good: (p) => `http://127.0.0.1:${p}/jwks?for=good`,
  userinfo: (p) => `http://localhost@127.0.0.1:${p}/jwks?for=userinfo`,
  v6userinfo: (p) => `http://[::1]:${p}@127.0.0.1:${p}/jwks?for=v6userinfo`,
  name: (p) => `http://localhost:${p}/jwks?for=name`,
};
const jwksFetches = [];
let server, port, gw;

function sign(issuer) {
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: 'RS256', typ: 'at+jwt', kid: 'k1' };
  const claims = { iss: issuer, sub: 'alice', aud: 'hubgate', iat: now, exp: now + 300, groups: [] };
  const input = `${b64(header)}.${b64(claims)}`;
  return `${input}.${crypto.sign('sha256', Buffer.from(input), key.privateKey).toString('base64url')}`;
}

before(async () => {
  server = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://x');
    const m = u.pathname.match(/^\/(\w+)\/\.well-known\/openid-configuration$/);
    if (m && ISSUERS[m[1]]) {
      res.end(JSON.stringify({ issuer: `http://127.0.0.1:${port}/${m[1]}`, jwks_uri: ISSUERS[m[1]](port) }));
    } else if (u.pathname === '/jwks') {
      jwksFetches.push(u.searchParams.get('for'));
      res.end(JSON.stringify({ keys: [{ ...key.publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256', use: 'sig' }] }));
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  port = server.address().port;
  ({ gw } = await startStack({
    idp: false,
    policy: { version: 1, orgs: {} },
    config: {
      identity: {
        issuers: Object.keys(ISSUERS).map((name) => ({ issuer: `http://127.0.0.1:${port}/${name}`, audience: 'hubgate', algorithms: ['RS256'] })),
      },
    },
  }));
});

after(async () => {
  server?.closeAllConnections();
  server?.close();
  await teardownAll();
});

const whoami = (token) => fetch(`${gw.url}/api/whoami-v2`, { headers: { Authorization: `Bearer ${token}` } });

test('a jwks_uri that merely starts like loopback is refused; the keys are never fetched', async () => {
  // The control issuer works: its keys come from a loopback literal.
  let ok;
  for (let i = 0; i < 50; i++) {
    ok = await whoami(sign(`http://127.0.0.1:${port}/good`));
    if (ok.status === 200) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(ok.status, 200, gw.stderr());
  for (const name of ['userinfo', 'v6userinfo', 'name']) {
    const res = await whoami(sign(`http://127.0.0.1:${port}/${name}`));
    assert.equal(res.status, 503, `${name}: keys from ${ISSUERS[name](port)} must not be trusted`);
    assert.match(res.headers.get('x-error-message') ?? '', /keys are not available/);
  }
  assert.deepEqual([...new Set(jwksFetches)], ['good'], 'hubgate fetched keys through a refused jwks_uri');
  // The operator learns why, without the credentials part of the URL.
  const log = gw.stderr();
  assert.match(log, /userinfo: cannot fetch keys: discovery document's jwks_uri \(host "127\.0\.0\.1"\) must not carry credentials/);
  assert.match(log, /name: cannot fetch keys: discovery document's jwks_uri \(host "localhost"\) uses plain http to a host that is not a loopback address/);
  // readiness says the keys are missing
  const ready = await fetch(`${gw.url}/-/ready`);
  assert.equal(ready.status, 503);
  assert.equal((await ready.json()).checks.identity_keys, false);
});

test('the configuration takes plain http only to a loopback literal, wherever it names a URL', async () => {
  const dir = makeTempDir('url-config');
  fs.writeFileSync(path.join(dir, 'policy.json'), JSON.stringify({ version: 1, orgs: {} }));
  fs.writeFileSync(path.join(dir, 'us.token'), 'hf_service\n', { mode: 0o600 });
  const base = {
    public_url: 'https://hub.corp.example',
    database: 'postgresql://hubgate@127.0.0.1/hubgate',
    policy: 'policy.json',
    regions: { us: { upstream: 'https://huggingface.co', token_file: 'us.token' } },
  };
  const places = {
    issuer: (url) => ({ ...base, identity: { issuers: [{ issuer: url, audience: 'hubgate' }] } }),
    upstream: (url) => ({ ...base, regions: { us: { upstream: url, token_file: 'us.token' } } }),
    public_url: (url) => ({ ...base, public_url: url }),
  };
  const cases = [
    ['http://127.0.0.1:9400', 0],
    ['http://127.0.0.2:9400', 0],
    ['http://[::1]:9400', 0],
    ['http://localhost:9400', /found host "localhost"/],
    ['http://LOCALHOST:9400', /found host "LOCALHOST"/],
    ['http://127.0.0.1.evil.example', /found host "127\.0\.0\.1\.evil\.example"/],
    ['http://127.evil.example', /found host "127\.evil\.example"/],
    ['http://localhost@evil.example', /must not carry credentials/],
    ['http://[::1]:80@evil.example', /must not carry credentials/],
    ['http://[::ffff:127.0.0.1]:9400', /plain http is accepted only on loopback/],
    ['http://127.0.0.1.:9400', /plain http is accepted only on loopback/],
  ];
  for (const [where, build] of Object.entries(places)) {
    for (const [url, want] of cases) {
      fs.writeFileSync(path.join(dir, 'hubgate.json'), JSON.stringify(build(url)));
      const r = await runHubgate(['serve', '--check', '--config', path.join(dir, 'hubgate.json')]);
      if (want === 0) {
        assert.equal(r.code, 0, `${where} ${url}: refused:\n${r.stderr}`);
      } else {
        assert.notEqual(r.code, 0, `${where} ${url}: accepted`);
        assert.match(r.stderr, want, `${where} ${url}`);
        assert.doesNotMatch(r.stderr, /hf_service/);
      }
    }
  }
});

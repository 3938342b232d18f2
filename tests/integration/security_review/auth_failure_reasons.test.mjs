// Issue 9, finding 11 (the authentication half, with findings 3 and 12's identity work):
// authentication failures are counted by reason — hubgate_auth_failures_total{reason=…} — the
// live signal an operator watches (a spike of bad_signature is an attack, of expired a clock
// or client problem, of idp_unavailable an outage), while every client still gets the Hub's
// own answer.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startStack, mintToken, freePort, teardownAll } from '../../lib/harness.mjs';

let pg, idp, h, gw, down;
const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');

before(async () => {
  const s = await startStack({ gateway: false });
  ({ pg, idp, hub: h } = s);
  // An issuer whose IdP answers nothing useful: its tokens meet idp_unavailable.
  down = http.createServer((req, res) => {
    res.statusCode = 500;
    res.end();
  });
  await new Promise((r) => down.listen(0, '127.0.0.1', r));
  gw = await s.gateway({
    policy: { version: 1, orgs: { acme: { members: [{ group: 'acme-staff', role: 'read' }] } } },
    config: {
      metrics_listen: `127.0.0.1:${await freePort()}`,
      identity: {
        issuers: [
          { issuer: idp.issuer, audience: 'hubgate', algorithms: ['RS256', 'ES256'] },
          { issuer: `http://127.0.0.1:${down.address().port}`, audience: 'hubgate' },
        ],
      },
    },
  });
});

after(async () => {
  down?.closeAllConnections();
  down?.close();
  await teardownAll();
});

// The metrics listener (a separate one once metrics leave the public listener).
async function failures() {
  const text = await (await fetch(gw.metricsUrl)).text();
  const out = {};
  for (const m of text.matchAll(/^hubgate_auth_failures_total\{reason="([a-z_]+)"\} (\d+)$/gm)) out[m[1]] = Number(m[2]);
  return out;
}

const call = (authorization) => fetch(`${gw.url}/api/models/acme/bert`, { headers: authorization ? { Authorization: authorization } : {} });

test('each refused credential is counted under its reason; clients get the Hub\'s answer', async () => {
  const now = Math.floor(Date.now() / 1000);
  const sso = await idp.token('bob');
  const [head, body] = sso.split('.');
  const revoked = await mintToken(gw, sso, { name: 'metrics', scope: 'read' });
  assert.equal((await fetch(`${gw.url}/-/tokens/${revoked.id}`, { method: 'DELETE', headers: { Authorization: `Bearer ${sso}` } })).status, 200);
  const mint2 = await mintToken(gw, sso, { name: 'to expire', scope: 'read' });
  pg.psql(`update access_token set created_at = now() - interval '2 days', expires_at = now() - interval '1 minute' where id = '${mint2.id}'`);

  const cases = [
    ['expired', `Bearer ${await idp.forge({ user: 'bob', claims: { iat: now - 7200, exp: now - 3600 } })}`, 401],
    ['not_yet_valid', `Bearer ${await idp.forge({ user: 'bob', claims: { nbf: now + 3600 } })}`, 401],
    ['bad_signature', `Bearer ${head}.${body}.${Buffer.alloc(256, 7).toString('base64url')}`, 401],
    ['unknown_key', `Bearer ${await idp.forge({ user: 'bob', header: { kid: 'not-published' } })}`, 401],
    ['wrong_issuer', `Bearer ${await idp.forge({ user: 'bob', claims: { iss: 'https://elsewhere.example' } })}`, 401],
    ['wrong_audience', `Bearer ${await idp.forge({ user: 'bob', claims: { aud: 'another-api' } })}`, 401],
    ['malformed', 'Bearer not.a.jwt', 401],
    ['algorithm', `Bearer ${b64({ ...JSON.parse(Buffer.from(head, 'base64url')), alg: 'HS256' })}.${body}.${sso.split('.')[2]}`, 401],
    ['too_many_groups', `Bearer ${await idp.forge({ user: 'bob', claims: { groups: Array.from({ length: 300 }, (_, i) => `g${i}`) } })}`, 401],
    ['unknown_token', 'Bearer hf_gw_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 401],
    ['revoked', `Bearer ${revoked.token}`, 401],
    ['token_expired', `Bearer ${mint2.token}`, 401],
    ['unsupported', 'Digest username="bob"', 401],
    ['idp_unavailable', `Bearer ${await idp.forge({ user: 'bob', claims: { iss: `http://127.0.0.1:${down.address().port}` } })}`, 503],
  ];
  const before = await failures();
  const logBefore = h.readLog().length;
  for (const [reason, authorization, status] of cases) {
    const res = await call(authorization);
    assert.equal(res.status, status, reason);
    if (status === 401 && reason !== 'too_many_groups') {
      // the Hub's exact words, so huggingface_hub raises its usual error
      assert.equal(res.headers.get('x-error-message'), 'Invalid credentials in Authorization header', reason);
    }
  }
  const after = await failures();
  for (const [reason] of cases) {
    assert.equal((after[reason] ?? 0) - (before[reason] ?? 0), 1, `hubgate_auth_failures_total{reason="${reason}"}`);
  }
  assert.equal(h.readLog().length, logBefore, 'no refused credential reached the hub');
  // an anonymous request is no failed authentication
  assert.equal((await call(null)).status, 401);
  assert.deepEqual(await failures(), after);
});

// The test IdP's browser sign-in (tests/fixtures/idp, --login-*), driven with a plain HTTP
// client: hubgate's confidential client gets a code (with state and iss) for a person who
// signs in with the users file's password, redeems it with HTTP Basic and the PKCE verifier
// for an ID token (aud = the client) and a `hubgate` access token; PKCE S256 is required,
// redirect URIs are any loopback port's /-/login/callback and nothing else, no consent page
// is shown, a key rotation keeps sign-ins, and the users' client_credentials grant is
// unchanged. No gateway runs: the redirect is never followed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { createRemoteJWKSet, jwtVerify, decodeProtectedHeader } from 'jose';
import { startIdp, teardownAll, httpRequest } from '../lib/harness.mjs';

after(teardownAll);

const CLIENT_ID = 'hubgate-web';
const CLIENT_SECRET = 'hubgate-web-secret-3e9a';
// What a gateway on 127.0.0.1 would use; nothing listens there.
const REDIRECT = 'http://127.0.0.1:41234/-/login/callback';

let idp;
let jwks;
before(async () => {
  idp = await startIdp({ login: { clientId: CLIENT_ID, secret: CLIENT_SECRET } });
  jwks = createRemoteJWKSet(new URL(idp.endpoints.jwks));
});

function pkce() {
  const verifier = crypto.randomBytes(32).toString('base64url');
  return { verifier, challenge: crypto.createHash('sha256').update(verifier).digest('base64url') };
}

/** The client's /auth request; a parameter set to undefined is left out. */
function authorizeUrl(params) {
  const url = new URL(idp.endpoints.authorization);
  const all = {
    client_id: CLIENT_ID, response_type: 'code', redirect_uri: REDIRECT, scope: 'openid email profile', ...params,
  };
  for (const [k, v] of Object.entries(all)) if (v !== undefined) url.searchParams.set(k, v);
  return url;
}

/** A complete request (PKCE S256, state, nonce) signed in as `login`: { redirect, verifier, state, nonce }. */
async function signIn(login, { redirectUri = REDIRECT } = {}) {
  const { verifier, challenge } = pkce();
  const state = crypto.randomBytes(12).toString('base64url');
  const nonce = crypto.randomBytes(12).toString('base64url');
  const url = authorizeUrl({
    redirect_uri: redirectUri, state, nonce, code_challenge: challenge, code_challenge_method: 'S256',
  });
  const redirect = await idp.authorize(url, { login, password: idp.users[login].password });
  return { redirect, verifier, state, nonce };
}

/** POST /token (authorization_code) with HTTP Basic: { status, body (parsed) }. */
async function redeem(code, verifier, { redirectUri = REDIRECT } = {}) {
  const basic = Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64');
  const form = { grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier };
  const r = await httpRequest(idp.endpoints.token, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
  return { status: r.status, body: JSON.parse(r.body) };
}

test('discovery: PKCE S256 only, iss in the authorization response, RP-initiated logout', async () => {
  const disc = await idp.discovery();
  assert.deepEqual(disc.code_challenge_methods_supported, ['S256']);
  assert.equal(disc.authorization_response_iss_parameter_supported, true);
  assert.equal(idp.endpoints.authorization, `${idp.issuer}/auth`);
  assert.equal(idp.endpoints.token, `${idp.issuer}/token`);
  assert.equal(idp.endpoints.endSession, `${idp.issuer}/session/end`);
  for (const claim of ['groups', 'amr', 'email', 'preferred_username', 'auth_time']) {
    assert.ok(disc.claims_supported.includes(claim), claim);
  }
  assert.deepEqual(idp.login, { clientId: CLIENT_ID, secret: CLIENT_SECRET, redirectPrefixes: ['http://127.0.0.1:'] });
});

test('alice signs in: the code redeems for her ID token and a hubgate access token', async () => {
  const started = Math.floor(Date.now() / 1000);
  const { redirect, verifier, state, nonce } = await signIn('alice');
  assert.equal(`${redirect.origin}${redirect.pathname}`, REDIRECT);
  assert.equal(redirect.searchParams.get('error'), null, redirect.href);
  assert.equal(redirect.searchParams.get('state'), state);
  assert.equal(redirect.searchParams.get('iss'), idp.issuer);
  const code = redirect.searchParams.get('code');
  assert.ok(code, redirect.href);

  const r = await redeem(code, verifier);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.token_type, 'Bearer');

  const { payload: id } = await jwtVerify(r.body.id_token, jwks, { issuer: idp.issuer, audience: CLIENT_ID });
  const alice = idp.users.alice.claims;
  assert.equal(id.sub, 'alice');
  assert.equal(id.nonce, nonce);
  assert.equal(id.email, alice.email);
  assert.equal(id.email_verified, true);
  assert.equal(id.name, alice.name);
  assert.equal(id.preferred_username, 'alice');
  assert.deepEqual(id.groups, ['acme-ml']);
  assert.deepEqual(id.amr, ['pwd', 'mfa']);
  assert.ok(Number.isInteger(id.auth_time) && id.auth_time >= started - 1 && id.auth_time <= id.iat, `auth_time ${id.auth_time}`);

  const { payload: at, protectedHeader } = await jwtVerify(r.body.access_token, jwks, {
    issuer: idp.issuer, audience: 'hubgate', typ: 'at+jwt',
  });
  assert.equal(protectedHeader.alg, 'RS256');
  assert.equal(at.sub, 'alice');
  assert.equal(at.client_id, CLIENT_ID);
  assert.equal(at.email, alice.email);
  assert.deepEqual(at.groups, ['acme-ml']);
  assert.equal(at.exp - at.iat, idp.ttl);

  const again = await redeem(code, verifier);
  assert.equal(again.status, 400, 'a code is good once');
  assert.equal(again.body.error, 'invalid_grant');
});

test('each person gets their own claims: carol, and eve with no groups', async () => {
  for (const [login, groups] of [['carol', ['acme-admins']], ['eve', []]]) {
    const { redirect, verifier, nonce } = await signIn(login);
    const r = await redeem(redirect.searchParams.get('code'), verifier);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const { payload } = await jwtVerify(r.body.id_token, jwks, { issuer: idp.issuer, audience: CLIENT_ID });
    assert.equal(payload.sub, login);
    assert.equal(payload.nonce, nonce);
    assert.equal(payload.email, idp.users[login].claims.email);
    assert.deepEqual(payload.groups, groups, login);
  }
});

test('a wrong code_verifier, or another redirect_uri, does not redeem the code', async () => {
  const first = await signIn('bob');
  const wrong = await redeem(first.redirect.searchParams.get('code'), pkce().verifier);
  assert.equal(wrong.status, 400);
  assert.equal(wrong.body.error, 'invalid_grant');
  assert.equal(wrong.body.access_token, undefined);

  const second = await signIn('bob');
  const elsewhere = await redeem(second.redirect.searchParams.get('code'), second.verifier, {
    redirectUri: 'http://127.0.0.1:41235/-/login/callback',
  });
  assert.equal(elsewhere.status, 400);
  assert.equal(elsewhere.body.error, 'invalid_grant');
});

test('PKCE is required: no code_challenge, or the plain method, is refused', async () => {
  for (const params of [{}, { code_challenge: pkce().verifier, code_challenge_method: 'plain' }]) {
    const redirect = await idp.authorize(authorizeUrl({ state: 's', nonce: 'n', ...params }), {
      login: 'alice', password: idp.users.alice.password,
    });
    assert.equal(redirect.searchParams.get('code'), null, redirect.href);
    assert.equal(redirect.searchParams.get('error'), 'invalid_request', redirect.href);
    assert.equal(redirect.searchParams.get('state'), 's');
  }
});

test('an unknown login or a wrong password gets no code: the form again, 403', async () => {
  const { challenge } = pkce();
  const url = authorizeUrl({ state: 's', nonce: 'n', code_challenge: challenge, code_challenge_method: 'S256' });
  const tries = [
    { login: 'mallory', password: 'anything-at-all' },
    { login: 'alice', password: 'wrong-password' },
    { login: 'alice', password: idp.users.bob.password },
    { login: 'constructor', password: 'anything-at-all' }, // a property of every object
    { login: 'alice', password: '' },
  ];
  for (const t of tries) {
    await assert.rejects(idp.authorize(url, t), /HTTP 403 for POST \/interaction\/.*Unknown login or wrong password/s, JSON.stringify(t));
  }
  // The same request signs in with the right password.
  const ok = await idp.authorize(url, { login: 'alice', password: idp.users.alice.password });
  assert.ok(ok.searchParams.get('code'), ok.href);
  // A sign-in form without its interaction (cookie) is no way in either.
  const stray = await httpRequest(`${idp.issuer}/interaction/not-started`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ login: 'alice', password: idp.users.alice.password }).toString(),
  });
  assert.equal(stray.status, 400);
  assert.equal(stray.headers.location, undefined);
});

test('consent is never asked: prompt=consent comes back as access_denied', async () => {
  const redirect = await idp.authorize(authorizeUrl({
    state: 's', nonce: 'n', code_challenge: pkce().challenge, code_challenge_method: 'S256', prompt: 'consent',
  }), { login: 'alice', password: idp.users.alice.password });
  assert.equal(redirect.searchParams.get('code'), null, redirect.href);
  assert.equal(redirect.searchParams.get('error'), 'access_denied', redirect.href);
  assert.equal(redirect.searchParams.get('iss'), idp.issuer);
});

test('redirect_uri: a loopback origin of any port, then exactly /-/login/callback', async () => {
  const other = await signIn('alice', { redirectUri: 'http://127.0.0.1:9/-/login/callback' });
  assert.ok(other.redirect.searchParams.get('code'), other.redirect.href);
  assert.equal(`${other.redirect.origin}${other.redirect.pathname}`, 'http://127.0.0.1:9/-/login/callback');

  const refused = [
    'http://127.0.0.1:41234/-/login/callback/',
    'http://127.0.0.1:41234/-/login/callback?next=/',
    'http://127.0.0.1:41234/-/login',
    'http://127.0.0.1/-/login/callback', // no port: not under http://127.0.0.1:
    'http://localhost:41234/-/login/callback',
    'https://127.0.0.1:41234/-/login/callback',
    'http://127.0.0.1:41234@evil.example/-/login/callback',
    'http://evil.example:41234/-/login/callback',
    'http://login-redirect-prefix.invalid/-/login/callback', // the one URI registered (oidc-provider needs one), which the rule refuses
    undefined,
  ];
  for (const uri of refused) {
    const r = await httpRequest(authorizeUrl({
      redirect_uri: uri, state: 's', nonce: 'n', code_challenge: pkce().challenge, code_challenge_method: 'S256',
    }));
    assert.equal(r.status, 400, `${uri}: ${r.status} ${r.headers.location ?? ''}`);
    assert.equal(r.headers.location, undefined, uri);
    assert.match(r.body, /redirect_uri/, uri);
  }
});

test('RP-initiated logout: post_logout_redirect_uri on a loopback origin only', async () => {
  const { redirect, verifier } = await signIn('dave');
  const { body } = await redeem(redirect.searchParams.get('code'), verifier);
  const endSession = (uri) => {
    const url = new URL(idp.endpoints.endSession);
    url.searchParams.set('id_token_hint', body.id_token);
    url.searchParams.set('post_logout_redirect_uri', uri);
    return httpRequest(url);
  };
  const ok = await endSession('http://127.0.0.1:41234/');
  assert.equal(ok.status, 200, ok.body);
  for (const uri of ['http://evil.example:41234/', 'http://127.0.0.1:41234/?x=1']) {
    const r = await endSession(uri);
    assert.equal(r.status, 400, uri);
    assert.match(r.body, /post_logout_redirect_uri not registered/, uri);
  }
});

test('client_credentials is unchanged; users get no code, the login client no client_credentials', async () => {
  for (const [user, alg] of [['alice', 'RS256'], ['carol', 'ES256']]) {
    const token = await idp.token(user);
    assert.equal(decodeProtectedHeader(token).alg, alg);
    const { payload } = await jwtVerify(token, jwks, { issuer: idp.issuer, audience: 'hubgate', typ: 'at+jwt' });
    assert.equal(payload.sub, user);
    assert.equal(payload.client_id, user);
    assert.deepEqual(payload.groups, idp.users[user].claims.groups);
  }

  const asUser = await httpRequest(authorizeUrl({
    client_id: 'alice', state: 's', nonce: 'n', code_challenge: pkce().challenge, code_challenge_method: 'S256',
  }));
  assert.equal(asUser.status, 400);
  assert.equal(asUser.headers.location, undefined);

  const basic = Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64');
  const r = await httpRequest(idp.endpoints.token, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  assert.equal(r.status, 400, r.body);
  assert.deepEqual(JSON.parse(r.body), {
    error: 'invalid_request', error_description: 'requested grant type is not allowed for this client',
  });
});

test('a key rotation keeps sign-ins: a code from before redeems after, signed with the new key', async () => {
  const { redirect, verifier, nonce } = await signIn('alice');
  const kids = await idp.rotate();
  const r = await redeem(redirect.searchParams.get('code'), verifier);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.ok(kids.includes(decodeProtectedHeader(r.body.id_token).kid));
  const fresh = createRemoteJWKSet(new URL(idp.endpoints.jwks)); // `jwks` would wait 30 s to refetch
  const { payload } = await jwtVerify(r.body.id_token, fresh, { issuer: idp.issuer, audience: CLIENT_ID });
  assert.equal(payload.sub, 'alice');
  assert.equal(payload.nonce, nonce);
});

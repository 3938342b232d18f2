// Runs tests/fixtures/idp/idp.mjs (oidc-provider 9, RFC 9068 at+jwt access tokens) for a test.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { SignJWT, importJWK, decodeJwt } from 'jose';
import {
  Capture, REPO, SCOPE, makeTempDir, refreshReaper, register, sleep, spawnCaptured, terminate,
  waitForJsonLine, withTimeout,
} from './registry.mjs';
import { httpRequest } from './net.mjs';

export const IDP_SCRIPT = path.join(REPO, 'tests', 'fixtures', 'idp', 'idp.mjs');
export const DEFAULT_USERS_FILE = path.join(REPO, 'tests', 'fixtures', 'idp', 'users.json');

/**
 * Starts the IdP on a free port (or `port`). Options:
 *   usersFile  default tests/fixtures/idp/users.json
 *   keysFile   private JWKs; default a new file in the IdP's temp dir (created by the IdP)
 *   ttl        access and ID token lifetime in seconds (default 300)
 *   audience   string or array (default 'hubgate'); the first is the default audience
 *   port       default: a free one
 *   login      { clientId = 'hubgate-login', secret = random, redirectPrefix = 'http://127.0.0.1:' }:
 *              hubgate's browser sign-in client (--login-*); redirectPrefix a string or array
 */
export async function startIdp(opts = {}) {
  const dir = makeTempDir('idp');
  const usersFile = path.resolve(opts.usersFile ?? DEFAULT_USERS_FILE);
  const users = JSON.parse(fs.readFileSync(usersFile, 'utf8'));
  const audiences = [].concat(opts.audience ?? 'hubgate');
  const ttl = opts.ttl ?? 300;
  const captures = { out: new Capture('idp stdout'), err: new Capture('idp stderr') };
  let keysFile = path.resolve(opts.keysFile ?? path.join(dir, 'keys.json'));
  let port = opts.port ?? 0;
  let proc = null;
  let issuer = null;
  let jwksUri = null;
  let endpoints = null;
  // Fixed at the first start, so a restarted IdP knows the same client.
  const login = opts.login && {
    clientId: opts.login.clientId ?? 'hubgate-login',
    secret: opts.login.secret ?? crypto.randomBytes(16).toString('hex'),
    redirectPrefixes: [].concat(opts.login.redirectPrefix ?? 'http://127.0.0.1:'),
  };

  const launch = async () => {
    const args = [IDP_SCRIPT, '--port', String(port), '--keys', keysFile, '--users', usersFile, '--ttl', String(ttl)];
    for (const a of audiences) args.push('--audience', a);
    if (login) {
      args.push('--login-client', login.clientId, '--login-secret', login.secret);
      for (const p of login.redirectPrefixes) args.push('--login-redirect-prefix', p);
    }
    if (proc) captures.err.push('--- restarted ---\n');
    proc = spawnCaptured('idp', process.execPath, args, { cwd: dir, captures });
    refreshReaper();
    const ready = await waitForJsonLine(proc, (o) => o.ready === true, 15000, 'idp start');
    issuer = ready.issuer;
    port = Number(new URL(issuer).port);
    const disc = await idp.discovery();
    jwksUri = disc.jwks_uri;
    endpoints = {
      authorization: disc.authorization_endpoint,
      token: disc.token_endpoint,
      userinfo: disc.userinfo_endpoint,
      jwks: disc.jwks_uri,
      endSession: disc.end_session_endpoint,
    };
  };

  const idp = {
    get issuer() {
      return issuer;
    },
    get port() {
      return port;
    },
    get keysFile() {
      return keysFile;
    },
    get pid() {
      return proc?.child.pid ?? null;
    },
    /** { authorization, token, userinfo, jwks, endSession }: URLs from the discovery document. */
    get endpoints() {
      return endpoints;
    },
    /** { clientId, secret, redirectPrefixes } of the browser sign-in client, or null. */
    login: login || null,
    usersFile,
    users,
    audience: audiences[0],
    ttl,
    dir,
    output: () => `${captures.err.text()}${captures.out.text()}`,

    /** GET /.well-known/openid-configuration (parsed). */
    async discovery() {
      const r = await httpRequest(`${issuer}/.well-known/openid-configuration`);
      if (r.status !== 200) throw new Error(`discovery: HTTP ${r.status}: ${r.body}`);
      return JSON.parse(r.body);
    },

    /** The published JWK set (parsed), fetched from the discovery document's jwks_uri. */
    async jwks() {
      jwksUri ??= (await idp.discovery()).jwks_uri;
      const r = await httpRequest(jwksUri);
      if (r.status !== 200) throw new Error(`jwks: HTTP ${r.status}: ${r.body}`);
      return JSON.parse(r.body);
    },

    async kids() {
      return (await idp.jwks()).keys.map((k) => k.kid);
    },

    /**
     * POST /token (client_credentials) as `user`; resolves { status, body (parsed JSON) }
     * whatever the outcome. Options: secret (default from the users file), scope,
     * resource (raw resource indicator), audience (one of the IdP's audiences),
     * authMethod ('client_secret_basic' | 'client_secret_post', default from the users file).
     */
    async tokenResponse(user, { secret, scope, resource, audience, authMethod } = {}) {
      const u = users[user] ?? {};
      const pass = secret ?? u.secret ?? '';
      const form = new URLSearchParams({ grant_type: 'client_credentials' });
      if (scope) form.set('scope', scope);
      if (audience) resource ??= /^[a-z][a-z0-9+.-]*:/i.test(audience) ? audience : `urn:audience:${audience}`;
      if (resource) form.set('resource', resource);
      const headers = { 'content-type': 'application/x-www-form-urlencoded' };
      if ((authMethod ?? u.auth_method ?? 'client_secret_basic') === 'client_secret_post') {
        form.set('client_id', user);
        form.set('client_secret', pass);
      } else {
        const enc = (s) => encodeURIComponent(s); // RFC 6749 §2.3.1: form-encode, then Basic
        headers.authorization = `Basic ${Buffer.from(`${enc(user)}:${enc(pass)}`).toString('base64')}`;
      }
      const r = await httpRequest(`${issuer}/token`, { method: 'POST', headers, body: form.toString() });
      let body;
      try {
        body = JSON.parse(r.body);
      } catch {
        body = r.body;
      }
      return { status: r.status, body };
    },

    /** An access token (string) for `user`; throws with the IdP's error otherwise. */
    async token(user, opts2 = {}) {
      const r = await idp.tokenResponse(user, opts2);
      if (r.status !== 200 || !r.body?.access_token) {
        throw new Error(`idp token for ${user}: HTTP ${r.status}: ${JSON.stringify(r.body)}`);
      }
      return r.body.access_token;
    },

    /**
     * Signs a person in the way a browser would, without one: GETs `authorizeUrl` (the
     * client's /auth request, with its redirect_uri), then follows the IdP's redirects with a
     * cookie jar and fills the sign-in form with `login` and `password`. Resolves the URL (a
     * URL object) the IdP redirects to on redirect_uri — code, state, iss, or error and
     * error_description — without fetching it. Throws with the IdP's answer on anything else,
     * e.g. a refused login (HTTP 403, the form again) or a refused redirect_uri (HTTP 400).
     */
    async authorize(authorizeUrl, { login: name, password }) {
      let url = new URL(authorizeUrl);
      const origin = new URL(issuer).origin;
      if (url.origin !== origin) throw new Error(`idp.authorize: ${url.origin} is not the IdP (${origin})`);
      const redirectUri = url.searchParams.get('redirect_uri');
      const jar = new Map();
      let body;
      for (let step = 0; step < 8; step += 1) {
        const method = body === undefined ? 'GET' : 'POST';
        const headers = {};
        if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
        if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
        const r = await httpRequest(url, { method, headers, body });
        // All cookies go back to every path: only the IdP sees them, and it reads each by name.
        for (const c of [].concat(r.headers['set-cookie'] ?? [])) {
          const [pair, ...attrs] = c.split(';');
          const eq = pair.indexOf('=');
          const [k, v] = [pair.slice(0, eq).trim(), pair.slice(eq + 1).trim()];
          const gone = attrs.some((a) => {
            const [ak, av = ''] = a.trim().split('=');
            return (/^expires$/i.test(ak) && Date.parse(av) <= Date.now()) || (/^max-age$/i.test(ak) && Number(av) <= 0);
          });
          if (gone || v === '') jar.delete(k);
          else jar.set(k, v);
        }
        body = undefined;
        if (r.status >= 300 && r.status < 400 && r.headers.location) {
          const next = new URL(r.headers.location, url);
          if (`${next.origin}${next.pathname}` === redirectUri) return next;
          if (next.origin !== origin) throw new Error(`idp.authorize: redirected off the IdP to ${next.href}`);
          url = next;
        } else if (r.status === 200 && method === 'GET' && /<input[^>]*name="password"/.test(r.body)) {
          url = new URL(/<form[^>]*action="([^"]+)"/.exec(r.body)[1], url);
          body = new URLSearchParams({ login: name, password }).toString();
        } else {
          throw new Error(`idp.authorize: HTTP ${r.status} for ${method} ${url.pathname}: ${r.body.slice(0, 500)}`);
        }
      }
      throw new Error('idp.authorize: no redirect to redirect_uri after 8 steps');
    },

    /**
     * Rotates the keys: SIGHUP (fresh keys only) or, with keepPrevious, SIGUSR2 (fresh keys
     * sign, the previous ones stay published). Resolves with the new kids once the served
     * JWKS shows them.
     */
    async rotate({ keepPrevious = false } = {}) {
      const before = new Set(await idp.kids());
      const rotated = waitForJsonLine(proc, (o) => o.rotated === true, 15000, 'idp rotation');
      proc.child.kill(keepPrevious ? 'SIGUSR2' : 'SIGHUP');
      await rotated;
      return withTimeout((async () => {
        for (;;) {
          const kids = await idp.kids();
          if (kids.some((k) => !before.has(k))) return kids;
          await sleep(25);
        }
      })(), 10000, 'idp JWKS change after rotation');
    },

    /**
     * Signs a token with the IdP's private keys file (for negative tests: expired, wrong
     * audience, wrong typ, unknown kid, ...). `claims` are merged over the claims the IdP
     * would issue for `user` (iss, aud, sub, client_id, iat, exp, jti + the user's claims);
     * set a claim to undefined to drop it. `header` is merged over {alg, typ: 'at+jwt', kid}.
     */
    async forge({ user = 'alice', alg, kid, claims = {}, header = {} } = {}) {
      const u = users[user] ?? {};
      const now = Math.floor(Date.now() / 1000);
      const base = {
        ...(u.claims ?? {}),
        jti: `forged-${now}-${Math.random().toString(36).slice(2)}`,
        sub: user,
        iat: now,
        exp: now + ttl,
        client_id: user,
        iss: issuer,
        aud: idp.audience,
      };
      return signWithKeysFile(keysFile, { alg: alg ?? u.alg ?? 'RS256', kid, claims: { ...base, ...claims }, header });
    },

    /** SIGTERM and wait; resolves the exit code. */
    async stop() {
      if (!proc) return null;
      const r = await terminate(proc);
      return r.code ?? r.signal;
    },

    /** Restarts on the same port with the same keys file, or `keysFile`; `freshKeys: true`
     *  deletes the keys file first so new keys (new kids) are generated. */
    async start({ keysFile: kf, freshKeys = false } = {}) {
      if (proc && proc.child.exitCode === null && proc.child.signalCode === null) {
        throw new Error('idp.start(): still running; stop() it first');
      }
      if (kf) keysFile = path.resolve(kf);
      if (freshKeys) fs.rmSync(keysFile, { force: true });
      await launch();
    },
  };

  register({
    name: 'idp',
    scope: opts[SCOPE],
    pid: () => idp.pid,
    stop: () => idp.stop(),
    killSync: () => proc?.child.kill('SIGKILL'),
    reaperLines: () => (proc ? [`pid ${proc.child.pid}`] : []),
    logs: () => [captures.err, captures.out],
    dirs: [dir],
  });
  await launch();
  return idp;
}

/**
 * Signs `claims` with a private key from an IdP keys file ({"keys": [private JWKs]}): the key
 * with `kid`, else the first with `alg`. The header defaults to {alg, typ: 'at+jwt', kid}.
 * Claims whose value is undefined are dropped.
 */
export async function signWithKeysFile(keysFile, { alg = 'RS256', kid, claims, header = {} }) {
  const { keys } = JSON.parse(fs.readFileSync(keysFile, 'utf8'));
  const jwk = kid ? keys.find((k) => k.kid === kid) : keys.find((k) => k.alg === alg);
  if (!jwk) throw new Error(`${keysFile}: no key with ${kid ? `kid ${kid}` : `alg ${alg}`}`);
  const key = await importJWK(jwk, jwk.alg);
  const payload = Object.fromEntries(Object.entries(claims).filter(([, v]) => v !== undefined));
  return new SignJWT(payload).setProtectedHeader({ alg: jwk.alg, typ: 'at+jwt', kid: jwk.kid, ...header }).sign(key);
}

/** An unsigned JWT (`alg: none` by default) with an empty signature, for refusal tests. */
export function unsignedToken(claims, header = { alg: 'none', typ: 'at+jwt' }) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b64(header)}.${b64(claims)}.`;
}

export { decodeJwt };

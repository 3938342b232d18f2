// Runs tests/fixtures/idp/idp.mjs (oidc-provider 9, RFC 9068 at+jwt access tokens) for a test.
import fs from 'node:fs';
import path from 'node:path';
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
 *   ttl        access token lifetime in seconds (default 300)
 *   audience   string or array (default 'hubgate'); the first is the default audience
 *   port       default: a free one
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

  const launch = async () => {
    const args = [IDP_SCRIPT, '--port', String(port), '--keys', keysFile, '--users', usersFile, '--ttl', String(ttl)];
    for (const a of audiences) args.push('--audience', a);
    if (proc) captures.err.push('--- restarted ---\n');
    proc = spawnCaptured('idp', process.execPath, args, { cwd: dir, captures });
    refreshReaper();
    const ready = await waitForJsonLine(proc, (o) => o.ready === true, 15000, 'idp start');
    issuer = ready.issuer;
    port = Number(new URL(issuer).port);
    jwksUri = null;
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

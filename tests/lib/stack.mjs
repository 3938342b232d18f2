// A test's services as one stack: PostgreSQL, the demo IdP, the Hub fixture and hubgate in
// front of them, configured as most integration tests need, torn down with the test.
import assert from 'node:assert/strict';
import { SCOPE, Scope, makeTempDir, sleep } from './registry.mjs';
import { startPostgres } from './postgres.mjs';
import { startIdp } from './idp.mjs';
import { startHubgate } from './hubgate.mjs';
import { startHub } from './hub.mjs';

/**
 * A set of services that is torn down with a test: pass node:test's TestContext and the
 * teardown runs in t.after(); without one, call stack.teardown() yourself (teardownAll()
 * and the exit hooks still catch whatever is left).
 *
 *   test('...', async (t) => {
 *     const stack = useStack(t);
 *     const pg = await stack.postgres();
 *     const idp = await stack.idp();
 *     const gw = await stack.hubgate({ config: {...}, policy: {...} });
 *   });
 */
export function useStack(t) {
  const scope = new Scope(t?.name ?? 'stack');
  if (typeof t?.after === 'function') t.after(() => scope.teardown());
  const scoped = (fn) => (opts = {}) => fn({ ...opts, [SCOPE]: scope });
  return {
    postgres: scoped(startPostgres),
    idp: scoped(startIdp),
    hub: scoped(startHub),
    hubgate: scoped(startHubgate),
    tmpdir: (prefix) => makeTempDir(prefix),
    teardown: () => scope.teardown(),
  };
}

/**
 * The gateway most tests run, as startHubgate options: `database` is pg's URL, region `us`
 * forwards to `hub` with its service token (in us.token), the IdP is the only issuer
 * (audience hubgate). Options:
 *   storage       true: the region lists the hub's storage origin
 *   region        more keys of regions.us, over those (upstream, storage, ...)
 *   issuer        more keys of the issuer (algorithms, ...)
 *   config        more top-level keys, over all of the above (identity, audit, ...)
 *   serviceToken  what us.token holds (default hub.serviceToken)
 *   files         more files beside the config
 *   policy, env, args, dbRole, migrate, timeoutMs: as startHubgate takes them
 */
export function gatewayOptions({ pg, idp, hub }, opts = {}) {
  const { storage = false, region = {}, issuer = {}, config = {}, serviceToken = hub?.serviceToken, files = {}, ...rest } = opts;
  return {
    ...rest,
    config: {
      database: pg?.url,
      regions: { us: { upstream: hub?.url, token_file: 'us.token', ...(storage ? { storage: [hub.storageUrl] } : {}), ...region } },
      identity: { issuers: [{ issuer: idp?.issuer, audience: 'hubgate', ...issuer }] },
      ...config,
    },
    files: { 'us.token': `${serviceToken}\n`, ...files },
  };
}

/**
 * Starts PostgreSQL, the IdP and the Hub fixture at once, then a gateway in front of them.
 *   t         node:test's TestContext: torn down in t.after() (else by teardownAll())
 *   postgres, idp, hub   options for each start function, or false to start none
 *   gateway   false: start no gateway (start them with s.gateway(opts))
 *   the rest  the gateway's options (gatewayOptions above): policy, storage, region, config ...
 * Resolves { stack, pg, idp, hub, gw, gateway(opts) }: gateway(opts) starts another gateway
 * on the same services, with opts in place of the rest (not merged with it).
 */
export async function startStack({ t, postgres = {}, idp = {}, hub = {}, gateway = true, ...rest } = {}) {
  const stack = useStack(t);
  const [pgS, idpS, hubS] = await Promise.all([
    postgres && stack.postgres(postgres),
    idp && stack.idp(idp),
    hub && stack.hub(hub),
  ]);
  const services = { pg: pgS || null, idp: idpS || null, hub: hubS || null };
  const s = {
    stack,
    ...services,
    gw: null,
    gateway: (opts) => stack.hubgate(gatewayOptions(services, opts)),
  };
  if (gateway) s.gw = await s.gateway(rest);
  return s;
}

/**
 * POST /-/tokens with `bearer` (an IdP access token) and `body` as it is: resolves { status,
 * body (parsed) } whatever the answer.
 */
export async function requestToken(gw, bearer, body) {
  const res = await fetch(`${gw.url}/-/tokens`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${bearer}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

/**
 * Mints a hubgate token (scope write and 1 day unless told); asserts the 201 and resolves the
 * answer's body ({ token, id, ... }).
 */
export async function mintToken(gw, bearer, { name, scope = 'write', expires_days = 1, ...more }) {
  const { status, body } = await requestToken(gw, bearer, { name, scope, expires_days, ...more });
  assert.equal(status, 201, JSON.stringify(body));
  return body;
}

/**
 * Runs `sql` on pg (its database `db`, else the default) until it returns something (audit rows of refusals and completions are
 * written after the answer); resolves that. Throws `no <what>` after `tries` × `ms`.
 */
export async function waitForRow(pg, sql, { what = `row for ${sql}`, tries = 100, ms = 50, db } = {}) {
  for (let i = 0; i < tries; i++) {
    const row = pg.psql(sql, db ? { db } : undefined);
    if (row) return row;
    await sleep(ms);
  }
  throw new Error(`no ${what}`);
}

/** The `columns` (SQL) of request `rid`'s `request` audit event, once it is written. */
export function auditRequestRow(pg, rid, columns, opts = {}) {
  return waitForRow(pg, `select ${columns} from audit_event where request_id = '${rid}' and kind = 'request'`, {
    what: `audit event for ${rid}`,
    ...opts,
  });
}

// A policy's member list from { group: role }: groups({ 'acme-ml': 'admin', 'acme-staff': 'read' })
// is [{ group: 'acme-ml', role: 'admin' }, { group: 'acme-staff', role: 'read' }].
export function groups(roles) {
  return Object.entries(roles).map(([group, role]) => ({ group, role }));
}

// Issue 10, "Auditors over SSO": GET /-/reports/soc2?from=…&to=…&org=…&format=json|html|csv on
// the public listener.
// - an org's auditor (a member with role auditor) gets that org's report, with or without
//   org= (their only org), and is refused another org as if it did not exist (404);
// - one of the policy's auditors (top-level `auditors`) gets the report of every org, or of one;
// - anyone else gets nothing: an org admin or member is refused with why (403), an outsider
//   gets 404, nobody 401; every refusal is an audited request;
// - each export is a privileged action: its report.exported event (who, period, scope, format)
//   is committed before anything is served — the report served holds its own export event —
//   and when the audit log cannot record it the answer is 503 and nothing is exported;
// - json, csv and html; report.html opened in headless chromium is not blank, shows every
//   criterion heading and asks for nothing outside the file;
// - bounded: strict parameters (400), one export at a time per instance (429), and the private
//   temporary directory is gone after each export.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startStack, makeTempDir, teardownAll, sleep, groups } from '../../lib/harness.mjs';
import { browserSkip, openFile } from '../../lib/browser.mjs';

const POLICY = {
  version: 1,
  orgs: {
    acme: {
      members: groups({ 'acme-ml': 'admin', 'acme-staff': 'read', 'acme-audit': 'auditor' }),
    },
    beta: { members: [{ group: 'acme-admins', role: 'write' }] },
  },
  auditors: [{ email: 'eve@acme.example' }],
  external: { read: true, namespaces: ['google'] },
  personal_namespaces: { read: true, write: true },
};

let pg, idp, hub, gw, tmp, tok;

const day = (offset) => new Date(Date.now() + offset * 86400000).toISOString().slice(0, 10);
const FROM = day(-1), TO = day(2);
const PERIOD = `from=${FROM}&to=${TO}`;

before(async () => {
  tmp = makeTempDir('report-tmp');
  fs.chmodSync(tmp, 0o700);
  ({ pg, idp, hub, gw } = await startStack({
    policy: POLICY,
    config: { audit: { write_timeout_ms: 1000 } },
    env: { TMPDIR: tmp }, // where the gateway makes its reports: must be empty after each
  }));
  tok = {};
  for (const u of ['alice', 'bob', 'carol', 'audrey', 'eve']) tok[u] = await idp.token(u);
  // Traffic in two orgs: acme (alice, bob) and beta (carol).
  const get = (u, p) => fetch(`${gw.url}${p}`, { headers: { authorization: `Bearer ${tok[u]}` } });
  assert.equal((await get('alice', '/api/models/acme/bert')).status, 200);
  assert.equal((await get('bob', '/api/models/acme/bert')).status, 200);
  assert.equal((await get('bob', '/api/models/beta/secret')).status, 404); // not a member of beta
  await get('carol', '/api/models/beta/model'); // allowed by the policy; the hub has no such repo
});

after(teardownAll);

const report = (user, query) => fetch(`${gw.url}/-/reports/soc2${query === undefined ? '' : `?${query}`}`, {
  headers: user ? { authorization: `Bearer ${tok[user]}` } : {},
});
const rows = (sql) => pg.psql(sql).split('\n').filter(Boolean);
const exportEvent = (rid) => rows(`select canonical from audit_event where kind = 'report.exported' and request_id = '${rid}'`).map((c) => JSON.parse(c));
const requestEvent = (rid) => rows(`select canonical from audit_event where kind = 'request' and request_id = '${rid}'`).map((c) => JSON.parse(c));
const tmpLeft = () => fs.readdirSync(tmp);

// Refusals are queued, not waited for: until the writer has them.
async function untilEvent(fn, rid) {
  for (let i = 0; i < 80; i++) {
    const e = fn(rid);
    if (e.length) return e;
    await sleep(100);
  }
  assert.fail(`no event for request ${rid}`);
}

function assertExported(ev, { sub, org, format }) {
  assert.equal(ev.actor.sub, sub);
  assert.equal(ev.decision.effect, 'allow');
  assert.equal(ev.details.from, `${FROM}T00:00:00.000000Z`);
  assert.equal(ev.details.to, `${TO}T00:00:00.000000Z`);
  assert.equal(ev.details.format, format);
  assert.equal(ev.details.scope, org ? 'org' : 'all');
  assert.equal(ev.details.org, org ?? undefined);
  assert.equal(ev.decision.org, org ?? undefined);
  assert.equal(ev.request.path, '/-/reports/soc2');
}

test('an org auditor gets their org (json), audited before it is served, and no other org', async () => {
  const r = await report('audrey', `org=acme&${PERIOD}&format=json`);
  const body = await r.text();
  assert.equal(r.status, 200, body);
  assert.match(r.headers.get('content-type'), /^application\/json/);
  assert.match(r.headers.get('content-disposition'), /^attachment; filename="soc2-acme-\d{8}T000000Z-\d{8}T000000Z\.json"$/);
  assert.equal(r.headers.get('cache-control'), 'no-store');
  const rid = r.headers.get('x-request-id');
  const json = JSON.parse(body);
  assert.equal(json.scope.org, 'acme');
  // acme's traffic only: alice's and bob's reads (bob's refusal on beta and carol's request are
  // beta's).
  assert.equal(json.totals.requests, 2, JSON.stringify(json.totals));
  assert.equal(json.totals.allowed, 2, JSON.stringify(json.totals));
  assert.deepEqual(json.by_actor.map((a) => a.sub).sort(), ['alice', 'bob'], JSON.stringify(json.by_actor));
  // Committed before the answer: present as soon as the answer is.
  const [ev] = exportEvent(rid);
  assert.ok(ev, 'the report.exported event is committed before the report is served');
  assertExported(ev, { sub: 'audrey', org: 'acme', format: 'json' });
  assert.equal(ev.decision.rule, 'orgs.acme.members[2]');
  assert.deepEqual(tmpLeft(), [], 'the temporary report directory is removed');

  // No org named: their only org.
  const d = await report('audrey', PERIOD);
  assert.equal(d.status, 200, await d.clone().text());
  assert.equal((await d.json()).scope.org, 'acme');
  assertExported(exportEvent(d.headers.get('x-request-id'))[0], { sub: 'audrey', org: 'acme', format: 'json' });

  // Another org: as if it did not exist; audited as a refusal, no export.
  const other = await report('audrey', `org=beta&${PERIOD}`);
  assert.equal(other.status, 404, await other.clone().text());
  assert.deepEqual(await other.json(), { error: 'Not Found' });
  const orid = other.headers.get('x-request-id');
  const [refused] = await untilEvent(requestEvent, orid);
  assert.equal(refused.response.status, 404);
  assert.equal(refused.decision.effect, 'deny');
  assert.equal(refused.actor.sub, 'audrey');
  assert.deepEqual(exportEvent(orid), []);
});

test('one of the policy\'s auditors gets every org (csv) and one org', async () => {
  const r = await report('eve', `${PERIOD}&format=csv`);
  const csv = await r.text();
  assert.equal(r.status, 200, csv);
  assert.match(r.headers.get('content-type'), /^text\/csv/);
  assert.match(r.headers.get('content-disposition'), /filename="soc2-all-orgs-.*\.csv"$/);
  const rid = r.headers.get('x-request-id');
  const [ev] = exportEvent(rid);
  assertExported(ev, { sub: 'eve', org: null, format: 'csv' });
  assert.equal(ev.decision.rule, 'auditors[0]');
  // Every org's events, and the export's own event: it was committed before the report was made.
  assert.match(csv, /acme\/bert/);
  assert.match(csv, /beta\/model/);
  assert.ok(csv.includes(rid), 'the report holds its own report.exported event');

  const one = await report('eve', `org=beta&${PERIOD}&format=csv`);
  const onecsv = await one.text();
  assert.equal(one.status, 200, onecsv);
  assert.match(onecsv, /beta\/model/);
  assert.doesNotMatch(onecsv, /acme\/bert/, 'an org report holds only that org');
  assertExported(exportEvent(one.headers.get('x-request-id'))[0], { sub: 'eve', org: 'beta', format: 'csv' });
  assert.deepEqual(tmpLeft(), []);
});

test('anyone else gets nothing: org admins and members 403 with why, outsiders 404, nobody 401', async () => {
  const cases = [
    ['an org admin', 'alice', 'org=acme', 403, /reports of acme are for its auditors/],
    ['an org admin, no org', 'alice', '', 404, /Not Found/],
    ['a member', 'bob', 'org=acme', 403, /reports of acme are for its auditors/],
    ['a member of another org', 'carol', 'org=acme', 404, /Not Found/],
    ['an unknown org', 'eve', 'org=nowhere', 404, /Not Found/],
    ['nobody', null, 'org=acme', 401, /Invalid credentials/],
  ];
  for (const [what, user, q, status, body] of cases) {
    const r = await report(user, [q, PERIOD].filter(Boolean).join('&'));
    const text = await r.text();
    assert.equal(r.status, status, `${what}: ${text}`);
    assert.match(text, body, what);
    const rid = r.headers.get('x-request-id');
    const [ev] = await untilEvent(requestEvent, rid);
    assert.equal(ev.response.status, status, what);
    assert.equal(ev.decision.effect, 'deny', what);
    assert.deepEqual(exportEvent(rid), [], `${what}: nothing exported`);
  }
});

test('strict parameters: 400 before anything is decided or exported', async () => {
  const cases = [
    ['no period', 'org=acme', /from and to are required/],
    ['not a date', 'org=acme&from=last-week&to=2030-01-01', /expected a date/],
    ['empty period', `org=acme&from=${FROM}&to=${FROM}`, /from must come before to/],
    ['too long', 'org=acme&from=2020-01-01&to=2030-01-01', /longer than 400 days/],
    ['unknown parameter', `org=acme&${PERIOD}&limit=1`, /unknown query parameter "limit"/],
    ['twice', `org=acme&org=beta&${PERIOD}`, /org is given more than once/],
    ['format', `org=acme&${PERIOD}&format=pdf`, /expected json, html or csv/],
  ];
  for (const [what, q, want] of cases) {
    const r = await report('audrey', q);
    const text = await r.text();
    assert.equal(r.status, 400, `${what}: ${text}`);
    assert.match(JSON.parse(text).error, want, what);
    assert.deepEqual(exportEvent(r.headers.get('x-request-id')), [], what);
  }
  const post = await fetch(`${gw.url}/-/reports/soc2?org=acme&${PERIOD}`, { method: 'POST', headers: { authorization: `Bearer ${tok.audrey}` } });
  assert.equal(post.status, 405);
});

test('report.html in a real browser: not blank, every criterion, nothing from outside', { skip: browserSkip() }, async () => {
  const r = await report('eve', `${PERIOD}&format=html`);
  const html = await r.text();
  assert.equal(r.status, 200, html);
  assert.match(r.headers.get('content-type'), /^text\/html; charset=utf-8/);
  assert.match(r.headers.get('content-security-policy'), /default-src 'none'/);
  assertExported(exportEvent(r.headers.get('x-request-id'))[0], { sub: 'eve', org: null, format: 'html' });
  const file = path.join(makeTempDir('browser'), 'report.html');
  fs.writeFileSync(file, html);
  const page = await openFile(file, { screenshotPath: `${file}.png` });
  assert.deepEqual(page.outside, [], 'the page asks for nothing outside the file');
  assert.deepEqual(page.requests, [page.url]);
  assert.ok(page.screenshot.variance > 1 && page.screenshot.distinct > 16,
    `the screenshot is not blank: ${JSON.stringify({ ...page.screenshot, png: undefined })}`);
  for (const criterion of ['CC6.1', 'CC6.2', 'CC6.6', 'CC7.2', 'CC8.1'])
    assert.ok(page.headings.some((h) => h.startsWith(criterion)), `a heading for ${criterion}: ${page.headings.join(' | ')}`);
  assert.match(page.text, /acme/);
});

// A psql session holding a lock until released: the report reads policy_version, which
// nothing else of the gateway touches while no policy is being loaded.
function holdLock(table) {
  const psql = spawn(path.join(process.env.HUBGATE_PG_BIN || '/usr/lib/postgresql/15/bin', 'psql'),
    ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(pg.port), '-U', 'postgres', '-d', 'hubgate'],
    { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  const locked = new Promise((resolve, reject) => {
    psql.stdout.on('data', (d) => { out += d; if (out.includes('locked')) resolve(); });
    psql.on('exit', (code) => reject(new Error(`psql exited ${code}`)));
  });
  psql.stdin.write(`BEGIN; LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE; SELECT 'locked';\n`);
  return {
    locked,
    release: () => new Promise((resolve) => { psql.on('exit', resolve); psql.stdin.end('COMMIT;\n'); }),
  };
}

test('one export at a time per instance: a second one meanwhile is answered 429', async () => {
  const lock = holdLock('policy_version');
  await lock.locked;
  const exports = () => Number(pg.psql(`select count(*) from audit_event where kind = 'report.exported'`));
  let first;
  try {
    const before = exports();
    first = report('audrey', `org=acme&${PERIOD}`);
    // Its event is committed before its report is made: from then on the export holds the
    // instance's slot, and its report waits for the lock.
    for (let i = 0; i < 100 && exports() === before; i++) await sleep(100);
    assert.equal(exports(), before + 1, 'the first export was recorded');
    const second = await report('eve', PERIOD);
    const text = await second.text();
    assert.equal(second.status, 429, text);
    assert.match(text, /another report is being exported/);
    assert.deepEqual(exportEvent(second.headers.get('x-request-id')), [], 'the refused export is not recorded as one');
  } finally {
    await lock.release();
  }
  const r = await first;
  assert.equal(r.status, 200, await r.clone().text());
  assert.equal((await r.json()).scope.org, 'acme');
  assert.deepEqual(tmpLeft(), []);
  // Once it is done, the next one goes through.
  assert.equal((await report('eve', PERIOD)).status, 200);
});

const outage = () => pg.ddl('CREATE TRIGGER test_outage BEFORE INSERT ON audit_event FOR EACH ROW EXECUTE FUNCTION hubgate_append_only()');
const recover = () => pg.ddl('DROP TRIGGER test_outage ON audit_event');

test('no export when the audit log cannot record it: 503, nothing served', async () => {
  outage();
  let rid;
  try {
    const r = await report('audrey', `org=acme&${PERIOD}`);
    const text = await r.text();
    rid = r.headers.get('x-request-id');
    assert.equal(r.status, 503, text);
    assert.deepEqual(JSON.parse(text), { error: 'the audit log cannot record this export now: nothing was exported; try again' });
    assert.equal(r.headers.get('content-disposition'), null);
    assert.deepEqual(tmpLeft(), [], 'no report was even made');
  } finally {
    recover();
  }
  // Once the log writes again, exports work again; the refused one is in the log as what it
  // was: an attempt (its event, written late) answered 503.
  let status = 0;
  for (let i = 0; i < 80 && status !== 200; i++) {
    status = (await report('audrey', `org=acme&${PERIOD}`)).status;
    if (status !== 200) await sleep(250);
  }
  assert.equal(status, 200, 'exports work again once the audit log does');
  const [outcome] = await untilEvent(requestEvent, rid);
  assert.equal(outcome.response.status, 503);
});

// Last: it stops the gateway.
test('stopping the gateway while a report is being made: the auditor still gets the file, then it exits', async () => {
  const exports = () => Number(pg.psql(`select count(*) from audit_event where kind = 'report.exported'`));
  const lock = holdLock('policy_version');
  await lock.locked;
  let pending, status;
  try {
    const before = exports();
    pending = report('eve', `${PERIOD}&format=csv`);
    for (let i = 0; i < 100 && exports() === before; i++) await sleep(100);
    assert.equal(exports(), before + 1, 'the export was recorded');
    gw.signal('SIGTERM');
    // The gateway does not stop under a suspended export: it waits for it.
    status = await Promise.race([gw.exited.then(() => 'exited'), sleep(1500).then(() => 'running')]);
  } finally {
    await lock.release();
  }
  assert.equal(status, 'running', 'the gateway waited for the report being made');
  const r = await pending;
  const csv = await r.text();
  assert.equal(r.status, 200, csv);
  assert.ok(csv.includes(r.headers.get('x-request-id')), 'the whole file, its own export event included');
  assert.equal(await gw.waitExit(20000), 0, gw.stderr());
  assert.deepEqual(tmpLeft(), []);
});

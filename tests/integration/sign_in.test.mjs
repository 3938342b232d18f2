// Browser sign-in (docs/sign-in.md), driven by a real browser: Debian's chromium through
// playwright-core signs in at /-/login on the test IdP's login page, lands on the token page,
// mints a token there that @huggingface/hub then uses, revokes it, and signs out, which ends the
// session in the database. Around it, the checks a browser cannot make: cookie flags, forms from
// elsewhere or without the form token refused, a session cookie worth nothing on a Hub route,
// a callback that is not this browser's sign-in refused before anything is redeemed, and the
// audit events of each step. Screenshots of the pages are taken and checked not blank.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as hub from '@huggingface/hub';
import { startStack, teardownAll, makeTempDir, waitForRow, REPO } from '../lib/harness.mjs';
import { browserSkip, browserContext, pixelStats } from '../lib/browser.mjs';
import { CLI_UA, pollToken, refreshToken, requestDeviceCode } from '../lib/hfcli.mjs';

const POLICY = fs.readFileSync(path.join(REPO, 'tests', 'fixtures', 'policy', 'members.json'), 'utf8');
const PASSWORD = JSON.parse(fs.readFileSync(path.join(REPO, 'tests', 'fixtures', 'idp', 'users.json'), 'utf8')).alice.password;
const skip = browserSkip();

let s, gw, tmp;

before(async () => {
  tmp = makeTempDir('sign-in');
  s = await startStack({ idp: { login: {} }, gateway: false });
  gw = await s.gateway({
    policy: POLICY,
    config: {
      identity: {
        issuers: [{ issuer: s.idp.issuer, audience: 'hubgate' }],
        login: { issuer: s.idp.issuer, client_id: s.idp.login.clientId, client_secret_file: 'login.secret' },
      },
    },
    files: { 'login.secret': `${s.idp.login.secret}\n` },
  });
});

after(teardownAll);

const event = (kind, where) => waitForRow(s.pg, `select canonical from audit_event where kind = '${kind}' and ${where} order by seq desc limit 1`, { what: kind });

async function screenshot(page, name) {
  const png = await page.screenshot({ fullPage: true, type: 'png' });
  fs.writeFileSync(path.join(tmp, `${name}.png`), png);
  // HUBGATE_SCREENSHOTS=DIR keeps them, to look at
  if (process.env.HUBGATE_SCREENSHOTS) fs.writeFileSync(path.join(process.env.HUBGATE_SCREENSHOTS, `${name}.png`), png);
  const st = pixelStats(png);
  assert.ok(st.variance > 10 && st.distinct > 8, `${name}: the screenshot shows something (${JSON.stringify(st)})`);
}

test('a person signs in with the browser, mints a token that a real client uses, revokes it and signs out', { skip }, async () => {
  const b = await browserContext();
  try {
    const { page, context } = b;
    // Not signed in: the token page sends the browser to sign in, and the IdP's login page asks.
    await page.goto(`${gw.url}/-/tokens`);
    assert.ok(page.url().startsWith(s.idp.issuer), `at the IdP: ${page.url()}`);
    await page.fill('input[name=login]', 'alice');
    await page.fill('input[name=password]', PASSWORD);
    await Promise.all([page.waitForURL(`${gw.url}/-/tokens`), page.click('button[type=submit]')]);
    assert.equal(await page.textContent('h1'), 'Your hubgate tokens');
    assert.match(await page.textContent('header'), /Signed in as alice@acme\.example/);
    assert.match(await page.textContent('body'), /You have no live tokens/);

    const [cookie] = (await context.cookies(gw.url)).filter((c) => c.name === 'hubgate-session');
    assert.ok(cookie, 'the session cookie');
    assert.match(cookie.value, /^hgs_[A-Za-z0-9_-]{43}$/);
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Lax');
    assert.equal(cookie.path, '/');
    assert.equal((await context.cookies(gw.url)).some((c) => c.name === 'hubgate-login'), false, 'the pre-login cookie is gone');
    const started = JSON.parse(await event('session.started', `canonical::jsonb #>> '{actor,sub}' = 'alice'`));
    assert.match(started.details.session_id, /^ses_/);
    assert.equal(s.pg.psql(`select count(*) from login_session where id = '${started.details.session_id}' and ended_at is null`), '1');
    await screenshot(page, 'token-page');

    // Mint on the page: shown once, with a copy button (the page works without it).
    await page.fill('#name', 'laptop');
    await page.selectOption('#scope', 'write');
    await page.fill('#days', '7');
    const [answer] = await Promise.all([
      page.waitForResponse((r) => r.url() === `${gw.url}/-/tokens` && r.request().method() === 'POST'),
      page.click('form:has(input[value=mint]) button[type=submit]'),
    ]);
    assert.equal(answer.status(), 201, await answer.text());
    const token = (await page.textContent('#token')).trim();
    assert.match(token, /^hf_gw_[A-Za-z0-9_-]{32}$/);
    assert.match(await page.textContent('#new'), /Token created: laptop/);
    assert.equal(await page.isVisible('#copy'), true, 'a copy button where the clipboard API exists');
    await screenshot(page, 'token-minted');
    const minted = JSON.parse(await event('token.minted', `canonical::jsonb #>> '{details,name}' = 'laptop'`));
    assert.equal(minted.actor.sub, 'alice');
    assert.equal(minted.details.scope, 'write');

    // The token works with a real client, through hubgate.
    const info = await hub.modelInfo({ name: 'acme/bert', hubUrl: gw.url, accessToken: token });
    assert.equal(info.name, 'acme/bert');
    const readme = await hub.downloadFile({ repo: 'acme/bert', path: 'README.md', hubUrl: gw.url, accessToken: token });
    assert.match(await readme.text(), /A tiny BERT/);

    // The page lists it, last used now; revoking it there ends it.
    await page.goto(`${gw.url}/-/tokens`);
    const row = page.locator('tr', { hasText: 'laptop' });
    assert.match(await row.textContent(), /write/);
    assert.doesNotMatch(await row.textContent(), /never/, 'its use is recorded');
    await Promise.all([page.waitForURL(`${gw.url}/-/tokens`), row.locator('button', { hasText: 'Revoke' }).click()]);
    assert.match(await page.textContent('body'), /You have no live tokens/);
    await new Promise((r) => setTimeout(r, 1100)); // past the token cache of other instances
    const gone = await fetch(`${gw.url}/api/models/acme/bert`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(gone.status, 401, 'the revoked token opens nothing');

    // A form from elsewhere, or without the form token, changes nothing; the cookie alone is
    // worth nothing on a Hub route or the bearer API.
    const jar = { cookie: `hubgate-session=${cookie.value}` };
    const formToken = await page.getAttribute('input[name=form_token]', 'value');
    const post = (headers, body) => fetch(`${gw.url}/-/tokens`, {
      method: 'POST', redirect: 'manual',
      headers: { ...jar, 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', ...headers },
      body: new URLSearchParams(body).toString(),
    });
    const mint = { action: 'mint', name: 'csrf', scope: 'write', expires_days: '1' };
    assert.equal((await post({}, mint)).status, 403, 'no form token');
    assert.equal((await post({}, { ...mint, form_token: 'x'.repeat(43) })).status, 403, 'a wrong form token');
    assert.equal((await post({ 'sec-fetch-site': 'cross-site' }, { ...mint, form_token: formToken })).status, 403, 'a cross-site form');
    assert.equal((await post({ origin: 'http://evil.example' }, { ...mint, form_token: formToken })).status, 403, 'another origin');
    assert.equal(s.pg.psql(`select count(*) from access_token where name = 'csrf'`), '0', 'nothing was minted');
    assert.equal((await fetch(`${gw.url}/api/models/acme/bert`, { headers: jar })).status, 401, 'a Hub route ignores the cookie');
    assert.equal((await fetch(`${gw.url}/-/tokens/tok_x`, { method: 'DELETE', headers: jar })).status, 405, 'the bearer API ignores it too');
    assert.equal((await fetch(`${gw.url}/-/logout`, { headers: jar })).status, 200, 'a GET of /-/logout signs nobody out');
    assert.equal(s.pg.psql(`select count(*) from login_session where id = '${started.details.session_id}' and ended_at is null`), '1');

    // Sign out: the session ends in the database; its cookie, replayed, opens nothing.
    await page.click('header button[type=submit]');
    assert.equal(await page.textContent('h1'), 'Signed out');
    assert.equal(s.pg.psql(`select ended_reason from login_session where id = '${started.details.session_id}'`), 'logout');
    const ended = JSON.parse(await event('session.ended', `canonical::jsonb #>> '{details,session_id}' = '${started.details.session_id}'`));
    assert.equal(ended.actor.sub, 'alice');
    const replay = await fetch(`${gw.url}/-/tokens`, { headers: { ...jar, accept: 'text/html' }, redirect: 'manual' });
    assert.equal(replay.status, 303);
    assert.equal(replay.headers.get('location'), '/-/login?return_to=/-/tokens');
  } finally {
    await b.close();
  }
});

test('hf auth login\'s sequence runs while the browser approves its code', { skip }, async () => {
  const b = await browserContext();
  try {
    const { page } = b;
    // The CLI asks and prints verification_uri_complete; its first poll goes out at once.
    const dc = await requestDeviceCode(gw);
    assert.equal((await pollToken(gw, dc.device_code)).body.error, 'authorization_pending');
    // The person opens the link: signs in first, comes back to the code.
    await page.goto(dc.verification_uri_complete);
    await page.fill('input[name=login]', 'alice');
    await page.fill('input[name=password]', PASSWORD);
    await Promise.all([page.waitForURL(dc.verification_uri_complete.replace('-', '')), page.click('button[type=submit]')]);
    assert.equal(await page.textContent('h1'), 'Sign in a device as you?');
    const details = await page.textContent('table');
    assert.match(details, new RegExp(dc.user_code));
    assert.ok(details.includes(CLI_UA), 'which program asks');
    assert.match(details, /127\.0\.0\.1/, 'from where');
    assert.equal(await page.isChecked('input[name=scope][value=read]'), true, 'read unless the person chooses write');
    await screenshot(page, 'device-confirmation');
    // The CLI keeps polling every `interval` while the person decides.
    let polls = 0;
    const polling = (async () => {
      for (;;) {
        await new Promise((r) => setTimeout(r, dc.interval * 1000));
        const p = await pollToken(gw, dc.device_code);
        polls++;
        if (p.body.error !== 'authorization_pending') return p;
      }
    })();
    await page.check('input[name=scope][value=write]');
    await page.click('button[value=approve]');
    assert.equal(await page.textContent('h1'), 'Device signed in');
    await screenshot(page, 'device-approved');
    const done = await polling;
    assert.equal(done.status, 200, JSON.stringify(done.body));
    assert.ok(polls >= 1);
    const who = await (await fetch(`${gw.url}/api/whoami-v2`, { headers: { authorization: `Bearer ${done.body.access_token}` } })).json();
    assert.equal(who.name, 'alice');
    assert.equal(who.auth.accessToken.role, 'write');
    const refreshed = await refreshToken(gw, done.body.refresh_token);
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
    // the token page lists the device's tokens: the person can end them there
    await page.goto(`${gw.url}/-/tokens`);
    assert.match(await page.textContent('body'), /hf auth login \d{4}-\d\d-\d\d/);
  } finally {
    await b.close();
  }
});

test('a callback that is not this browser\'s sign-in is refused before any code is redeemed', async () => {
  // No pre-login cookie
  const none = await fetch(`${gw.url}/-/login/callback?code=abc&state=def&iss=${encodeURIComponent(s.idp.issuer)}`, { redirect: 'manual' });
  assert.equal(none.status, 400);
  assert.match(await none.text(), /expired, or was started in another browser/);

  // A real sign-in started, its state swapped: the pre-login cookie is this browser's, the answer
  // is not.
  const start = await fetch(`${gw.url}/-/login`, { redirect: 'manual' });
  assert.equal(start.status, 303);
  const loginCookie = start.headers.get('set-cookie').split(';')[0];
  assert.match(start.headers.get('set-cookie'), /HttpOnly; SameSite=Lax; Max-Age=600/);
  const authorize = new URL(start.headers.get('location'));
  assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
  assert.equal(authorize.searchParams.get('redirect_uri'), `${gw.url}/-/login/callback`);
  const back = await s.idp.authorize(authorize.href, { login: 'alice', password: PASSWORD });
  const code = back.searchParams.get('code');
  assert.ok(code);
  const call = (q) => fetch(`${gw.url}/-/login/callback?${new URLSearchParams(q)}`, { headers: { cookie: loginCookie }, redirect: 'manual' });
  const wrongState = await call({ code, state: 'x'.repeat(43), iss: back.searchParams.get('iss') });
  assert.equal(wrongState.status, 400);
  assert.match(await wrongState.text(), /not for this sign-in/);
  const wrongIss = await call({ code, state: back.searchParams.get('state'), iss: 'http://127.0.0.1:1' });
  assert.equal(wrongIss.status, 400);
  assert.match(await wrongIss.text(), /does not come from the configured issuer/);
  // The code was never redeemed by those: the right answer still signs in.
  const ok = await call(Object.fromEntries(back.searchParams));
  assert.equal(ok.status, 303, await ok.text());
  assert.equal(ok.headers.get('location'), '/-/tokens');
  assert.match(ok.headers.get('set-cookie'), /hubgate-session=hgs_/);
  // and a code already used signs nobody in
  const again = await call(Object.fromEntries(back.searchParams));
  assert.equal(again.status, 502);
  const refused = JSON.parse(await event('request', `canonical::jsonb #>> '{request,path}' like '/-/login/callback%' and canonical::jsonb #>> '{decision,effect}' = 'deny' and canonical::jsonb #>> '{decision,reason}' like '%not for this sign-in%'`));
  assert.equal(refused.details.refused_by, 'authentication');
});

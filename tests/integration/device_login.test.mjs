// `hf auth login` through hubgate (docs/sign-in.md): huggingface_hub's device-grant sequence,
// replayed byte for byte as its source sends it (its Python client cannot be installed here):
// POST /oauth/device with the default client_id only, a first poll at once, polls every
// `interval`, the `refresh_token` grant; then `whoami-v2` with the token, which a real client
// (@huggingface/hub) also uses. The person approves in a browser session made with plain HTTP
// here (the test IdP's login form and hubgate's pages), so this runs in the sanitizer build too;
// integration.sign_in approves with a real browser. Also: denial, expiry, polling too fast,
// user-code guessing, refresh rotation, a replayed refresh token, and the max_days bound.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as hub from '@huggingface/hub';
import { startStack, teardownAll, waitForRow, REPO } from '../lib/harness.mjs';
import { CLI_UA, DEVICE_GRANT, HF_CLIENT_ID, cliPost, pollToken, requestDeviceCode as cliRequestDeviceCode } from '../lib/hfcli.mjs';

const POLICY = fs.readFileSync(path.join(REPO, 'tests', 'fixtures', 'policy', 'members.json'), 'utf8');
const PASSWORD = JSON.parse(fs.readFileSync(path.join(REPO, 'tests', 'fixtures', 'idp', 'users.json'), 'utf8')).alice.password;
let s, gw;

before(async () => {
  s = await startStack({ idp: { login: {} }, gateway: false });
  gw = await s.gateway({
    policy: POLICY,
    config: {
      identity: {
        issuers: [{ issuer: s.idp.issuer, audience: 'hubgate' }],
        tokens: { max_days: 30 },
        login: { issuer: s.idp.issuer, client_id: s.idp.login.clientId, client_secret_file: 'login.secret' },
      },
    },
    files: { 'login.secret': `${s.idp.login.secret}\n` },
  });
});

after(teardownAll);

const requestDeviceCode = () => cliRequestDeviceCode(gw);
const poll = (code) => pollToken(gw, code);
const form = (p, fields) => cliPost(gw, p, fields);

// A person's browser session at hubgate, by plain HTTP: /-/login → the IdP's form → callback.
async function signIn(login = 'alice', password = PASSWORD) {
  const start = await fetch(`${gw.url}/-/login`, { redirect: 'manual' });
  const pre = start.headers.get('set-cookie').split(';')[0];
  const back = await s.idp.authorize(start.headers.get('location'), { login, password });
  const cb = await fetch(back.href, { headers: { cookie: pre }, redirect: 'manual' });
  assert.equal(cb.status, 303, await cb.text());
  const session = cb.headers.getSetCookie().find((c) => c.startsWith('hubgate-session=')).split(';')[0];
  return { cookie: session };
}

// The person opens verification_uri_complete and answers; resolves the confirmation page.
async function answer(session, complete, decision, scope = 'read') {
  const page = await fetch(complete, { headers: { cookie: session.cookie, accept: 'text/html' } });
  const html = await page.text();
  assert.equal(page.status, 200, html);
  const token = /name="form_token" value="([^"]+)"/.exec(html)[1];
  const code = /name="user_code" value="([^"]+)"/.exec(html)[1];
  const r = await fetch(`${gw.url}/oauth/device/confirm`, {
    method: 'POST',
    headers: { cookie: session.cookie, 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin', origin: gw.url },
    body: new URLSearchParams({ form_token: token, user_code: code, decision, scope }).toString(),
  });
  assert.equal(r.status, 200, await r.text());
  return html;
}

const event = (kind, where) => waitForRow(s.pg, `select canonical from audit_event where kind = '${kind}' and ${where} order by seq desc limit 1`, { what: kind }).then(JSON.parse);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('hf auth login: device code, polls, approval in the browser, the token, whoami-v2, refresh', async () => {
  const dc = await requestDeviceCode();
  assert.match(dc.user_code, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
  assert.equal(dc.verification_uri, `${gw.url}/oauth/device`);
  assert.equal(dc.verification_uri_complete, `${gw.url}/oauth/device?user_code=${dc.user_code}`);
  assert.equal(dc.expires_in, 900);
  assert.equal(dc.interval, 5);
  assert.match(dc.device_code, /^[A-Za-z0-9_-]{43}$/);

  // the first poll at once, as the CLI sends it; one too soon after it is told to slow down
  assert.deepEqual((await poll(dc.device_code)).body.error, 'authorization_pending');
  const fast = await poll(dc.device_code);
  assert.equal(fast.status, 400);
  assert.equal(fast.body.error, 'slow_down');

  const session = await signIn();
  const page = await answer(session, dc.verification_uri_complete, 'approve', 'read');
  assert.match(page, /huggingface_hub\/1\.28\.0/, 'the page shows which program asks');
  assert.match(page, /127\.0\.0\.1/, 'and from where');
  const approved = await event('device.approved', `canonical::jsonb #>> '{actor,sub}' = 'alice'`);
  assert.equal(approved.details.scope, 'read');
  assert.equal(approved.details.device_user_agent, CLI_UA);
  assert.equal(approved.details.client_id, HF_CLIENT_ID);

  await sleep(5000); // the CLI waits `interval` between polls
  const done = await poll(dc.device_code);
  assert.equal(done.status, 200, JSON.stringify(done.body));
  assert.match(done.body.access_token, /^hf_gw_/);
  assert.equal(done.body.token_type, 'bearer');
  assert.ok(done.body.expires_in > 86400 && done.body.expires_in <= 7 * 86400, `expires_in ${done.body.expires_in}: more than the CLI's one-day refresh margin`);
  assert.match(done.body.refresh_token, /^hgr_/);
  assert.equal((await poll(dc.device_code)).body.error, 'invalid_grant', 'issued once');
  const minted = await event('token.minted', `canonical::jsonb #>> '{details,grant}' = 'device_code'`);
  assert.equal(minted.actor.sub, 'alice');

  // what `hf auth login` reads next, and what a real client does with the token
  const who = await (await fetch(`${gw.url}/api/whoami-v2`, { headers: { authorization: `Bearer ${done.body.access_token}` } })).json();
  assert.equal(who.type, 'user');
  assert.equal(who.name, 'alice');
  assert.ok(who.orgs.some((o) => o.name === 'acme'), JSON.stringify(who.orgs));
  assert.match(who.auth.accessToken.displayName, /^hf auth login \d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
  assert.equal(who.auth.accessToken.role, 'read');
  const readme = await hub.downloadFile({ repo: 'acme/bert', path: 'README.md', hubUrl: gw.url, accessToken: done.body.access_token });
  assert.match(await readme.text(), /A tiny BERT/);
  const write = await fetch(`${gw.url}/api/models/acme/bert/commit/main`, {
    method: 'POST', headers: { authorization: `Bearer ${done.body.access_token}`, 'content-type': 'application/x-ndjson' },
    body: `${JSON.stringify({ key: 'header', value: { summary: 'x' } })}\n`,
  });
  assert.equal(write.status, 403, 'read, as the person chose');

  // refresh: a new access token and a new refresh token; the old refresh token, sent again at
  // once (two processes racing), is refused without harm
  const refresh = (rt) => form('/oauth/token', { grant_type: 'refresh_token', refresh_token: rt, client_id: HF_CLIENT_ID });
  const r1 = await refresh(done.body.refresh_token);
  const b1 = await r1.json();
  assert.equal(r1.status, 200, JSON.stringify(b1));
  assert.notEqual(b1.access_token, done.body.access_token);
  assert.notEqual(b1.refresh_token, done.body.refresh_token);
  const again = await refresh(done.body.refresh_token);
  assert.equal(again.status, 400);
  assert.equal((await again.json()).error, 'invalid_grant');
  assert.equal((await fetch(`${gw.url}/api/whoami-v2`, { headers: { authorization: `Bearer ${b1.access_token}` } })).status, 200);

  // the same replay long after the rotation: someone else holds a copy, and the sign-in ends
  s.pg.psql(`update refresh_token set used_at = now() - interval '2 minutes' where used_at is not null`);
  const replay = await refresh(done.body.refresh_token);
  assert.equal((await replay.json()).error, 'invalid_grant');
  await sleep(1100); // the token cache
  assert.equal((await fetch(`${gw.url}/api/whoami-v2`, { headers: { authorization: `Bearer ${b1.access_token}` } })).status, 401, 'every token of the sign-in revoked');
  assert.equal((await (await refresh(b1.refresh_token)).json()).error, 'invalid_grant');
  const revoked = await event('token.revoked', `canonical::jsonb #>> '{details,reason}' = 'refresh_token_replayed'`);
  assert.match(revoked.details.grant_id, /^dev_/);
});

test('a denied, an expired and a guessed code end as the CLI expects', async () => {
  const session = await signIn();
  const denied = await requestDeviceCode();
  await answer(session, denied.verification_uri_complete, 'deny');
  const d = await poll(denied.device_code);
  assert.equal(d.status, 400);
  assert.equal(d.body.error, 'access_denied');
  await event('device.denied', `canonical::jsonb #>> '{actor,sub}' = 'alice'`);

  const expired = await requestDeviceCode();
  s.pg.psql(`update device_grant set created_at = now() - interval '1 hour', expires_at = now() - interval '1 second' where user_code = '${expired.user_code.replace('-', '')}'`);
  assert.equal((await poll(expired.device_code)).body.error, 'expired_token');
  const gone = await fetch(expired.verification_uri_complete, { headers: { cookie: session.cookie, accept: 'text/html' } });
  assert.equal(gone.status, 404, 'an expired code is no longer offered');

  // unknown device code, another client's poll, no grant type
  assert.equal((await poll('x'.repeat(43))).body.error, 'invalid_grant');
  const other = await requestDeviceCode();
  const foreign = await form('/oauth/token', { grant_type: DEVICE_GRANT, device_code: other.device_code, client_id: 'someone-else' });
  assert.equal((await foreign.json()).error, 'invalid_grant');
  assert.equal((await (await form('/oauth/token', { grant_type: 'password' })).json()).error, 'unsupported_grant_type');

  // guessing user codes: ten misses a minute, then the session is told to wait
  const guesser = await signIn();
  const statuses = [];
  for (let i = 0; i < 12; i++) {
    const r = await fetch(`${gw.url}/oauth/device?user_code=BBBB-BBB${'BCDFGHJKLMNP'[i]}`, { headers: { cookie: guesser.cookie, accept: 'text/html' } });
    statuses.push(r.status);
  }
  assert.deepEqual(statuses, [...Array(10).fill(404), 429, 429], 'guesses limited');

  // not signed in: the page sends the browser to sign in, and back to the code
  const anon = await fetch(other.verification_uri_complete, { redirect: 'manual', headers: { accept: 'text/html' } });
  assert.equal(anon.status, 303);
  assert.equal(anon.headers.get('location'), `/-/login?return_to=/oauth/device%3Fuser_code%3D${other.user_code.replace('-', '')}`);
});

test('a refresh never extends access past max_days from the approval', async () => {
  const session = await signIn();
  const dc = await requestDeviceCode();
  await answer(session, dc.verification_uri_complete, 'approve', 'write');
  await sleep(5000);
  const done = await poll(dc.device_code);
  assert.equal(done.status, 200);
  // the approval 30 days ago less 50 seconds: the next token would live under a minute
  s.pg.psql(`update refresh_token set signed_in_at = now() - interval '30 days' + interval '50 seconds' where used_at is null and revoked_at is null`);
  const r = await form('/oauth/token', { grant_type: 'refresh_token', refresh_token: done.body.refresh_token, client_id: HF_CLIENT_ID });
  assert.equal(r.status, 400);
  assert.equal((await r.json()).error, 'invalid_grant', 'run hf auth login again');
});

test('an org admin sees and ends the tokens and sessions of the org\'s people, audited', async () => {
  const bobPassword = JSON.parse(fs.readFileSync(path.join(REPO, 'tests', 'fixtures', 'idp', 'users.json'), 'utf8')).bob.password;
  const admin = await signIn(); // alice: admin of acme
  const bob = await signIn('bob', bobPassword); // bob: reads acme
  const bobToken = (await (await fetch(`${gw.url}/-/tokens`, {
    method: 'POST', headers: { authorization: `Bearer ${await s.idp.token('bob')}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bob-laptop', scope: 'read', expires_days: 1 }),
  })).json());
  const html = (c) => fetch(`${gw.url}/-/tokens`, { headers: { cookie: c.cookie, accept: 'text/html' } }).then((r) => r.text());
  const page = await html(admin);
  assert.match(page, /People of acme \(you administer\)/);
  assert.match(page, /bob@acme\.example/);
  assert.match(page, /bob-laptop/);
  assert.doesNotMatch(await html(bob), /you administer/, 'bob administers nothing');
  const formToken = (h) => /name="form_token" value="([^"]+)"/.exec(h)[1];
  const post = (c, h, fields) => fetch(`${gw.url}/-/tokens`, {
    method: 'POST', redirect: 'manual',
    headers: { cookie: c.cookie, 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin', accept: 'text/html' },
    body: new URLSearchParams({ form_token: formToken(h), ...fields }).toString(),
  });
  // bob may not end alice's things
  const aliceToken = (await (await fetch(`${gw.url}/-/tokens`, {
    method: 'POST', headers: { authorization: `Bearer ${await s.idp.token('alice')}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'alice-ci', scope: 'read', expires_days: 1 }),
  })).json());
  assert.equal((await post(bob, await html(bob), { action: 'member_revoke', id: aliceToken.id })).status, 403);
  assert.equal((await fetch(`${gw.url}/api/whoami-v2`, { headers: { authorization: `Bearer ${aliceToken.token}` } })).status, 200);
  // alice ends bob's token and his session
  const r = await post(admin, page, { action: 'member_revoke', id: bobToken.id });
  assert.equal(r.status, 303);
  await sleep(1100);
  assert.equal((await fetch(`${gw.url}/api/whoami-v2`, { headers: { authorization: `Bearer ${bobToken.token}` } })).status, 401);
  const sid = /name="action" value="member_end"><input type="hidden" name="id" value="([^"]+)"/.exec(await html(admin))[1];
  assert.equal((await post(admin, await html(admin), { action: 'member_end', id: sid })).status, 303);
  const ended = await fetch(`${gw.url}/-/tokens`, { headers: { cookie: bob.cookie, accept: 'text/html' }, redirect: 'manual' });
  assert.equal(ended.status, 303, 'bob is sent to sign in again');
  const ev = await event('token.revoked', `canonical::jsonb #>> '{details,token_id}' = '${bobToken.id}'`);
  assert.equal(ev.actor.sub, 'alice');
  assert.equal(ev.decision.rule, 'org-admin');
  assert.equal(ev.decision.org, 'acme');
  assert.match(ev.details.owner, /\|bob$/);
  const se = await event('session.ended', `canonical::jsonb #>> '{details,session_id}' = '${sid}'`);
  assert.equal(se.details.reason, 'revoked');
});

test('a session ends after its idle time and after its absolute lifetime, whatever happens', async () => {
  const page = (c) => fetch(`${gw.url}/-/tokens`, { headers: { cookie: c.cookie, accept: 'text/html' }, redirect: 'manual' }).then((r) => r.status);
  const idle = await signIn();
  const absolute = await signIn();
  assert.equal(await page(idle), 200);
  assert.equal(await page(absolute), 200);
  const id = (c) => s.pg.psql(`select id from login_session where hash = sha256('${c.cookie.split('=')[1]}'::bytea)`);
  // an hour without a page view (idle_minutes 60 by default), then a view
  s.pg.psql(`update login_session set last_seen_at = now() - interval '61 minutes' where id = '${id(idle)}'`);
  assert.equal(await page(idle), 303, 'idle too long: sign in again');
  // seen a moment ago, but signed in more than session_hours (12) ago
  s.pg.psql(`update login_session set created_at = now() - interval '13 hours', expires_at = now() - interval '1 hour' where id = '${id(absolute)}'`);
  assert.equal(await page(absolute), 303, 'past its absolute lifetime');
});

// Issue 10, "First, events that reconcile" (event format v2, docs/evidence-format.md):
// - one repo is spelled one way in every event: request.repo_type + request.repo "ns/name",
//   in request, completion and egress events alike (egress events said "models/acme/bert");
// - the bytes git-lfs and @huggingface/hub fetch through a sealed egress link are recorded
//   under the principal the link was sealed for, with the org, role, region, rule and policy
//   of the decision that sealed it, whether the link is used with credentials or without;
// - every completion repeats its request's request id, actor and decision, with body bytes
//   both ways;
// - every refusal says its stage (details.refused_by) and, for authentication, its reason code
//   (details.auth_failure: expired, wrong_audience, unknown_key, revoked…) while the client
//   still gets the Hub's generic words — every failure used to read "Invalid credentials in
//   Authorization header";
// - hubgate's own actions say who or what: token.minted / token.revoked the person;
//   policy.loaded / policy.rejected the trigger (start, file_change, sighup), the SHA-256 and,
//   from the git work tree the file lives in, the commit and author, or "modified";
//   gateway.started / gateway.stopped the trigger, the OS user and who sent the signal;
//   keys.changed the issuer and the trigger;
// - events carry "v":2; a database written by the previous release (v1 events) upgrades, the
//   new gateway appends v2 events to the same stream, and `hubgate audit verify` passes over
//   both.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as hub from '@huggingface/hub';
import { startStack, makeTempDir, teardownAll, runHubgate, REPO } from '../../lib/harness.mjs';

after(teardownAll);

const run = promisify(execFile);
const sha256 = (data) => crypto.createHash('sha256').update(data).digest('hex');
const POLICY_TEXT = fs.readFileSync(path.join(REPO, 'tests', 'fixtures', 'policy', 'members.json'), 'utf8');
const LEGACY = path.join(REPO, 'tests', 'fixtures', 'db', 'legacy-0.1.sql');
const GENERIC = 'Invalid credentials in Authorization header';
const REPO_TYPES = ['model', 'dataset', 'space', 'kernel', 'bucket'];
const STAGES = ['framing', 'route', 'authentication', 'authorization', 'request', 'token_store', 'audit', 'forward'];

// Every event of the database, in stream and seq order, parsed.
function allEvents(pg, db = 'hubgate') {
  const rows = pg.psql(`select canonical from audit_event order by stream_id, seq`, { db });
  return rows ? rows.split('\n').map((l) => JSON.parse(l)) : [];
}

// Polls cond until it returns something truthy, and returns that; fails naming what it waited
// for if that never happens.
async function until(what, cond) {
  for (let i = 0; i < 400; i++) {
    const v = await cond();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`never happened: ${what}`);
}

// Polls until pred holds for some event; returns it. Events are written asynchronously.
const waitEvent = (pg, what, pred, db = 'hubgate') => until(`the event: ${what}`, () => allEvents(pg, db).find(pred));

const byRequest = (events, rid) => events.filter((e) => e.request_id === rid);

// The checks every v2 event passes, whatever caused it.
function reconcile(events) {
  const requests = new Map();
  for (const e of events) if (e.kind === 'request') requests.set(e.request_id, e);
  for (const e of events) {
    const where = `${e.kind} ${e.request_id ?? e.id}`;
    assert.equal(e.v, 2, `${where}: format version 2`);
    // One repo identity: type and "ns/name", both or neither.
    assert.equal(e.request?.repo === undefined, e.request?.repo_type === undefined, `${where}: repo and repo_type go together`);
    if (e.request?.repo !== undefined) {
      assert.ok(REPO_TYPES.includes(e.request.repo_type), `${where}: repo_type ${e.request.repo_type}`);
      assert.match(e.request.repo, /^[A-Za-z0-9][\w.-]*(\/[\w.-]+)?$/, `${where}: repo spelled ${e.request.repo}`);
      assert.doesNotMatch(e.request.repo, /^(models|datasets|spaces|kernels|buckets)\//, `${where}: no type prefix`);
    }
    if (e.decision?.effect === 'deny') {
      assert.ok(STAGES.includes(e.details?.refused_by), `${where}: refused_by ${e.details?.refused_by}`);
      assert.ok(e.decision.reason, `${where}: a refusal says why`);
    }
    assert.equal(e.details?.refused_by === 'authentication', e.details?.auth_failure !== undefined,
      `${where}: an authentication refusal, and only one, carries its reason code`);
    if (e.kind === 'completion') {
      // A completion repeats its request: id, actor, decision; and counts body bytes.
      const r = requests.get(e.request_id);
      assert.ok(r, `${where}: its request event`);
      assert.deepEqual(e.actor, r.actor, `${where}: actor`);
      for (const k of ['effect', 'org', 'role', 'region', 'rule', 'policy_sha256'])
        assert.equal(e.decision[k], r.decision[k], `${where}: decision.${k}`);
      assert.deepEqual(e.request, r.request, `${where}: request`);
      assert.ok(Number.isInteger(e.response.bytes_in) && Number.isInteger(e.response.bytes_out), `${where}: bytes both ways`);
    }
    if (e.request?.path === '/-/egress' && e.decision.effect === 'allow') {
      assert.ok(e.actor?.iss && e.actor?.sub, `${where}: an egress event names the sealed principal`);
      for (const k of ['org', 'role', 'region', 'rule', 'policy_sha256'])
        assert.ok(e.decision[k], `${where}: an egress event carries decision.${k}`);
    }
  }
}

function gitEnv(home) {
  return {
    ...process.env, HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0', GIT_LFS_SKIP_SMUDGE: '1', NO_PROXY: '*', no_proxy: '*',
    GIT_COMMITTER_NAME: 'Policy CI', GIT_COMMITTER_EMAIL: 'ci@acme.example',
  };
}

test('every event of real traffic reconciles: repo, actor, decision, bytes, refusal reasons, provenance', async (t) => {
  const { pg, idp, hub: h, gateway } = await startStack({ t, gateway: false });
  const tmp = makeTempDir('evidence-events');
  const home = path.join(tmp, 'home');
  fs.mkdirSync(home, { recursive: true });
  const env = gitEnv(home);
  const git = (args, cwd, extra = {}) => run('git', args, { cwd, env: { ...env, ...extra }, maxBuffer: 16 * 1024 * 1024 });

  // The policy lives in a git work tree, committed by Carol.
  const policyRepo = path.join(tmp, 'policy-repo');
  fs.mkdirSync(path.join(policyRepo, 'policies'), { recursive: true });
  const policyFile = path.join(policyRepo, 'policies', 'policy.json');
  fs.writeFileSync(policyFile, POLICY_TEXT);
  await git(['init', '-q', '-b', 'main', '.'], policyRepo);
  await git(['add', '.'], policyRepo);
  await git(['commit', '-q', '-m', 'policy'], policyRepo, { GIT_AUTHOR_NAME: 'Carol Admin', GIT_AUTHOR_EMAIL: 'carol@acme.example' });
  const carolCommit = (await git(['rev-parse', 'HEAD'], policyRepo)).stdout.trim();
  const sha0 = sha256(POLICY_TEXT);

  const gw = await gateway({ storage: true, config: { policy: policyFile } });
  const secrets = []; // every credential used: none may appear in any event
  const bearer = (tok) => {
    secrets.push(tok);
    return { authorization: `Bearer ${tok}` };
  };
  const call = (auth, p = '/api/models/acme/bert', init = {}) => fetch(`${gw.url}${p}`, { ...init, headers: { ...auth, ...(init.headers ?? {}) } });

  // ---- hubgate's start: the policy's provenance, the process, the keys.
  const loaded0 = await waitEvent(pg, 'policy.loaded at start', (e) => e.kind === 'policy.loaded');
  assert.equal(loaded0.details.trigger, 'start');
  assert.equal(loaded0.details.sha256, sha0);
  assert.equal(loaded0.details.git_state, 'committed');
  assert.equal(loaded0.details.git_commit, carolCommit);
  assert.equal(loaded0.details.git_author, 'Carol Admin <carol@acme.example>');
  const started = await waitEvent(pg, 'gateway.started', (e) => e.kind === 'gateway.started');
  assert.equal(started.details.trigger, 'start');
  assert.equal(started.details.os_user, os.userInfo().username);
  assert.equal(started.details.pid, gw.pid);
  assert.equal(started.details.parent, 'node', 'the process that started it');
  const keys = await waitEvent(pg, 'keys.changed', (e) => e.kind === 'keys.changed');
  assert.equal(keys.details.issuer, idp.issuer);
  assert.equal(keys.details.trigger, 'start');

  // ---- allowed, denied, anonymous.
  const alice = await idp.token('alice');
  const eve = await idp.token('eve');
  const ok = await call(bearer(alice));
  assert.equal(ok.status, 200);
  const okBody = Buffer.from(await ok.arrayBuffer());
  const denied = await call(bearer(eve));
  assert.equal(denied.status, 404);
  // Body bytes both ways: a body sent (paths-info reads with a form body) and a listing
  // hubgate filters before the client sees it.
  const form = 'paths=config.json&paths=model.safetensors&expand=false';
  const paths = await call(bearer(alice), '/api/models/acme/bert/paths-info/main', {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form,
  });
  assert.equal(paths.status, 200);
  const pathsBody = Buffer.from(await paths.arrayBuffer());
  const listing = await call(bearer(eve), '/api/models'); // eve sees no acme repo
  assert.equal(listing.status, 200);
  const listingBody = Buffer.from(await listing.arrayBuffer());
  assert.ok(!listingBody.toString().includes('acme/'), 'the listing was filtered');
  // A request about two repos: a move names its source and its destination.
  const move = await call(bearer(eve), '/api/repos/move', {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ fromRepo: 'acme/bert', toRepo: 'eve/bert', type: 'model' }),
  });
  assert.equal(move.status, 404);
  const anon = await call({});
  assert.equal(anon.status, 401);
  const anonAdmin = await call({}, '/-/whoami');
  assert.equal(anonAdmin.status, 401);
  const rid = (res) => res.headers.get('x-request-id');

  // ---- authentication failures of several reasons; the client always reads the Hub's words.
  const now = Math.floor(Date.now() / 1000);
  const mint = async (name, scope) => {
    const r = await call(bearer(alice), '/-/tokens', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name, scope, expires_days: 1 }),
    });
    assert.equal(r.status, 201);
    const body = await r.json();
    secrets.push(body.token);
    return { ...body, rid: rid(r) };
  };
  const laptop = await mint('laptop', 'write');
  const ci = await mint('ci', 'write');
  const revoke = await call(bearer(alice), `/-/tokens/${ci.id}`, { method: 'DELETE' });
  assert.equal(revoke.status, 200);
  const failures = {
    expired: await idp.forge({ user: 'bob', claims: { iat: now - 7200, exp: now - 3600 } }),
    wrong_audience: await idp.forge({ user: 'bob', claims: { aud: 'another-api' } }),
    unknown_key: await idp.forge({ user: 'bob', header: { kid: 'not-published' } }),
    revoked: ci.token,
  };
  const failed = {};
  for (const [reason, tok] of Object.entries(failures)) {
    const res = await call(bearer(tok));
    assert.equal(res.status, 401, reason);
    assert.equal(res.headers.get('x-error-message'), GENERIC, `${reason}: the client gets the Hub's words`);
    failed[reason] = rid(res);
  }

  // ---- LFS through sealed egress links: git-lfs (Basic auth with the hubgate token),
  // @huggingface/hub (the same token, following the redirect with it), and a link sealed for
  // alice's SSO identity used with no credentials at all.
  const remote = new URL(gw.url);
  remote.username = 'hf_user';
  remote.password = laptop.token;
  remote.pathname = '/acme/bert';
  const clone = path.join(tmp, 'clone');
  await git(['clone', '--quiet', remote.href, clone], tmp);
  await git(['lfs', 'install', '--local'], clone);
  await git(['lfs', 'pull'], clone);
  const weights = fs.readFileSync(path.join(clone, 'model.safetensors'));
  const blob = await hub.downloadFile({ hubUrl: gw.url, accessToken: laptop.token, repo: 'acme/bert', path: 'model.safetensors' });
  assert.equal(Buffer.from(await blob.arrayBuffer()).length, weights.length);
  const sealing = await call(bearer(alice), '/acme/bert/resolve/main/model.safetensors', { redirect: 'manual' });
  assert.equal(sealing.status, 302);
  const bare = await fetch(sealing.headers.get('location')); // no credentials: as redirect followers do
  assert.equal(Buffer.from(await bare.arrayBuffer()).length, weights.length);

  // ---- the policy changes in its work tree: a commit by Dan (file_change), an edit in place
  // (modified), an edit SIGHUP loads, and a broken edit refused.
  const withEve = POLICY_TEXT.replace('{"group": "acme-staff", "role": "read"}', '{"group": "acme-staff", "role": "read"},\n        {"email": "eve@acme.example", "role": "write"}');
  assert.notEqual(withEve, POLICY_TEXT);
  // Committed first (from the index: the work tree's file untouched), then put in place in one
  // rename: the watcher never sees the new bytes before their commit, nor half of them.
  const next = path.join(tmp, 'policy.next');
  fs.writeFileSync(next, withEve);
  const danBlob = (await git(['hash-object', '-w', '--path', 'policies/policy.json', next], policyRepo)).stdout.trim();
  await git(['update-index', '--cacheinfo', `100644,${danBlob},policies/policy.json`], policyRepo);
  await git(['commit', '-q', '-m', 'eve writes'], policyRepo, { GIT_AUTHOR_NAME: 'Dan Ops', GIT_AUTHOR_EMAIL: 'dan@acme.example' });
  const danCommit = (await git(['rev-parse', 'HEAD'], policyRepo)).stdout.trim();
  fs.renameSync(next, policyFile);
  const sha1 = sha256(withEve);
  const loaded1 = await waitEvent(pg, 'policy.loaded of the commit', (e) => e.kind === 'policy.loaded' && e.details.sha256 === sha1);
  assert.equal(loaded1.details.trigger, 'file_change');
  assert.equal(loaded1.details.previous_sha256, sha0);
  assert.equal(loaded1.details.git_state, 'committed');
  assert.equal(loaded1.details.git_commit, danCommit);
  assert.equal(loaded1.details.git_author, 'Dan Ops <dan@acme.example>');
  // A change is recorded first and put in force after: wait until it is.
  await until('the commit in force', () => gw.stderr().includes(`loaded: sha256 ${sha1}`));
  const eveNow = await call(bearer(eve));
  assert.equal(eveNow.status, 200, 'the committed policy is in force');

  // Edited in place (same length, so that the next step can hide its write from the watcher).
  const edited = withEve.replace('"role": "write"}', '"role": "admin"}');
  assert.equal(edited.length, withEve.length);
  const T = 2000000000; // a whole second: exactly representable, so the watcher sees it as is
  const tmpEdit = `${policyFile}.tmp`;
  fs.writeFileSync(tmpEdit, edited);
  fs.utimesSync(tmpEdit, T, T);
  fs.renameSync(tmpEdit, policyFile); // one change the watcher sees whole: new inode, size, mtime
  const sha2 = sha256(edited);
  const loaded2 = await waitEvent(pg, 'policy.loaded of the edit', (e) => e.kind === 'policy.loaded' && e.details.sha256 === sha2);
  assert.equal(loaded2.details.trigger, 'file_change');
  assert.equal(loaded2.details.git_state, 'modified');
  assert.equal(loaded2.details.git_commit, danCommit, 'the commit the file differs from');
  assert.equal(loaded2.details.git_author, 'Dan Ops <dan@acme.example>');

  // Back to Dan's bytes, written in place with the mtime the watcher already knows: only
  // SIGHUP loads it. (A watcher tick between the write and the mtime reset would see it
  // first: then flip again; that cannot happen every time.)
  let sighup = null;
  for (let attempt = 0; attempt < 3 && !sighup; attempt++) {
    const text = attempt % 2 === 0 ? withEve : edited;
    const fd = fs.openSync(policyFile, 'r+');
    fs.writeSync(fd, text, 0);
    fs.futimesSync(fd, T, T);
    fs.closeSync(fd);
    gw.signal('SIGHUP');
    const ev = await waitEvent(pg, 'policy.loaded after SIGHUP', (e) => e.kind === 'policy.loaded' && e.details.sha256 === sha256(text) && e.id !== loaded1.id && e.id !== loaded2.id && e.ts > loaded2.ts);
    if (ev.details.trigger === 'sighup') sighup = { ev, text };
  }
  assert.ok(sighup, 'a SIGHUP reload says so');
  assert.equal(sighup.ev.details.git_state, sighup.text === withEve ? 'committed' : 'modified');
  assert.equal(sighup.ev.details.git_commit, danCommit);

  fs.writeFileSync(tmpEdit, '{"version": 1, "orgs": {');
  fs.renameSync(tmpEdit, policyFile); // never seen half-written
  const rejected = await waitEvent(pg, 'policy.rejected', (e) => e.kind === 'policy.rejected');
  assert.equal(rejected.details.trigger, 'file_change');
  assert.equal(rejected.details.sha256, sha256('{"version": 1, "orgs": {'), 'the refused bytes');
  assert.equal(rejected.details.git_state, 'modified');
  assert.equal(rejected.details.git_commit, danCommit);
  assert.ok(rejected.details.error);

  assert.equal(await gw.stop(), 0);
  const events = allEvents(pg);

  // ---- every event reconciles, and no credential is in any.
  reconcile(events);
  const text = events.map((e) => JSON.stringify(e)).join('\n');
  for (const s of secrets) assert.ok(!text.includes(s), 'no credential in any event');
  assert.ok(!text.includes(sealing.headers.get('location').split('/-/egress/')[1]), 'no sealed link in any event');

  // Allowed: request and completion, one repo spelling, the decision, bytes.
  const [okReq, okDone] = ['request', 'completion'].map((k) => byRequest(events, rid(ok)).find((e) => e.kind === k));
  assert.deepEqual([okReq.request.repo_type, okReq.request.repo], ['model', 'acme/bert']);
  assert.deepEqual(okReq.actor && [okReq.actor.iss, okReq.actor.sub, okReq.actor.email], [idp.issuer, 'alice', 'alice@acme.example']);
  assert.deepEqual([okReq.decision.effect, okReq.decision.org, okReq.decision.role, okReq.decision.region, okReq.decision.rule, okReq.decision.policy_sha256],
    ['allow', 'acme', 'admin', 'us', 'orgs.acme.members[1]', sha0]);
  assert.equal(okDone.response.bytes_out, okBody.length);
  assert.equal(okDone.response.bytes_in, 0);
  assert.equal(okDone.response.status, 200);

  const pathsDone = byRequest(events, rid(paths)).find((e) => e.kind === 'completion');
  assert.deepEqual([pathsDone.response.bytes_in, pathsDone.response.bytes_out], [form.length, pathsBody.length]);
  const listingDone = byRequest(events, rid(listing)).find((e) => e.kind === 'completion');
  assert.equal(listingDone.response.bytes_out, listingBody.length, 'the filtered listing, as the client got it');
  assert.equal(listingDone.request.repo, undefined, 'a listing names no repo');
  assert.equal(listingDone.request.repo_type, undefined);

  // Denied by the policy: who, which org, which rule, which policy; refused by authorization.
  const [den] = byRequest(events, rid(denied));
  assert.deepEqual([den.decision.effect, den.actor.sub, den.decision.org, den.decision.rule, den.decision.policy_sha256, den.details.refused_by],
    ['deny', 'eve', 'acme', 'default-deny', sha0, 'authorization']);
  assert.equal(den.decision.role, undefined, 'no role is no role, not "none"');
  assert.deepEqual([den.request.repo_type, den.request.repo], ['model', 'acme/bert']);

  const [moved] = byRequest(events, rid(move));
  assert.deepEqual([moved.request.repo_type, moved.request.repo, moved.details.other_repos, moved.details.refused_by],
    ['model', 'acme/bert', ['model:eve/bert=create'], 'authorization']);

  // Anonymous: nobody, refused by authorization under the policy's rule for nobody.
  for (const [res, repo] of [[anon, 'acme/bert'], [anonAdmin, undefined]]) {
    const [e] = byRequest(events, rid(res));
    assert.equal(e.actor, undefined);
    assert.deepEqual([e.decision.effect, e.decision.rule, e.details.refused_by], ['deny', 'anonymous', 'authorization']);
    assert.equal(e.request.repo, repo);
  }

  // Authentication failures: the precise reason code and sentence, never the generic words.
  for (const [reason, id] of Object.entries(failed)) {
    const [e] = byRequest(events, id);
    assert.equal(e.details.refused_by, 'authentication', reason);
    assert.equal(e.details.auth_failure, reason, reason);
    assert.notEqual(e.decision.reason, GENERIC, `${reason}: ${e.decision.reason}`);
    assert.equal(e.actor, undefined, `${reason}: unverified claims name nobody`);
    assert.deepEqual([e.request.repo_type, e.request.repo], ['model', 'acme/bert']);
  }

  // Tokens: minted and revoked by the person, named the same way.
  const minted = events.find((e) => e.kind === 'token.minted' && e.details.token_id === ci.id);
  const revoked = events.find((e) => e.kind === 'token.revoked' && e.details.token_id === ci.id);
  for (const e of [minted, revoked]) {
    assert.deepEqual([e.actor.iss, e.actor.sub, e.actor.email], [idp.issuer, 'alice', 'alice@acme.example'], e.kind);
    assert.deepEqual([e.details.name, e.details.scope], ['ci', 'write'], e.kind);
    assert.equal(e.decision.effect, 'allow');
  }

  // Egress: every transfer of model.safetensors is the sealed principal's, under the decision
  // that sealed it, counted whole — by git-lfs and @huggingface/hub (the hubgate token's id
  // follows) and without credentials (alice's SSO identity).
  const egress = events.filter((e) => e.kind === 'completion' && e.request.path === '/-/egress' && e.response.status === 200 && e.response.bytes_out === weights.length);
  assert.ok(egress.length >= 3, `three downloads of the weights through egress links (${egress.length})`);
  assert.ok(egress.filter((e) => e.actor.token_id === laptop.id).length >= 2, 'the git-lfs and @huggingface/hub downloads name the hubgate token the links were sealed for');
  assert.ok(egress.some((e) => e.actor.token_id === undefined), 'the SSO download');
  for (const e of egress) {
    assert.deepEqual([e.actor.iss, e.actor.sub, e.actor.email], [idp.issuer, 'alice', 'alice@acme.example']);
    assert.deepEqual([e.request.repo_type, e.request.repo, e.request.action], ['model', 'acme/bert', 'read']);
    assert.deepEqual([e.decision.org, e.decision.role, e.decision.region, e.decision.rule, e.decision.policy_sha256],
      ['acme', 'admin', 'us', 'orgs.acme.members[1]', sha0]);
  }
  const bareDone = byRequest(events, rid(bare)).find((e) => e.kind === 'completion');
  assert.equal(bareDone.actor.sub, 'alice', 'a link used with no credentials is the sealed principal\'s');
  // The LFS batch that produced git-lfs's links spells the repo the same way.
  const batch = events.find((e) => e.kind === 'request' && e.request.path === '/acme/bert.git/info/lfs/objects/batch');
  assert.deepEqual([batch.request.repo_type, batch.request.repo, batch.actor.token_id], ['model', 'acme/bert', laptop.id]);

  // Stopped by us: the trigger, the OS user, who sent the signal.
  const stopped = events.find((e) => e.kind === 'gateway.stopped');
  assert.equal(stopped.details.trigger, 'sigterm');
  assert.equal(stopped.details.os_user, os.userInfo().username);
  assert.equal(stopped.details.signal_sender_pid, process.pid);
  assert.equal(stopped.details.signal_sender_user, os.userInfo().username);
});

test('a database written by the previous release upgrades: old v1 and new v2 events verify together', async (t) => {
  const { pg, idp, gateway } = await startStack({ t, gateway: false });
  const urlFor = (user, db = 'legacy') => `postgresql://${user}@127.0.0.1:${pg.port}/${db}`;
  pg.psql('CREATE DATABASE legacy', { db: 'postgres' });
  pg.psql(fs.readFileSync(LEGACY, 'utf8'), { db: 'legacy' });
  const old = allEvents(pg, 'legacy');
  assert.ok(old.length >= 15, `the previous release's events (${old.length})`);
  assert.ok(old.every((e) => e.v === 1));

  const m = await runHubgate(['db', 'migrate', '--database', urlFor('postgres')]);
  assert.equal(m.code, 0, m.stdout + m.stderr);
  assert.equal((await runHubgate(['db', 'role', 'create', '--database', urlFor('postgres'), '--kind', 'gateway', '--name', 'gw_v2'])).code, 0);
  const gw = await gateway({
    dbRole: null,
    migrate: false,
    policy: POLICY_TEXT,
    storage: true,
    config: {
      database: urlFor('gw_v2'),
      audit: { stream: 'gw-legacy', checkpoint_every: 5 }, // the old stream, continued
    },
  });
  const alice = await idp.token('alice');
  const bob = await idp.forge({ user: 'bob', claims: { aud: 'another-api' } });
  const ok = await fetch(`${gw.url}/acme/bert/resolve/main/config.json`, { headers: { authorization: `Bearer ${alice}` } });
  assert.equal(ok.status, 200);
  const refused = await fetch(`${gw.url}/api/models/acme/bert`, { headers: { authorization: `Bearer ${bob}` } });
  assert.equal(refused.status, 401);
  assert.equal(await gw.stop(), 0);

  const events = allEvents(pg, 'legacy');
  const added = events.slice(old.length);
  assert.deepEqual(events.slice(0, old.length), old, 'the old events are untouched');
  assert.ok(added.length >= 6, `new events follow (${added.length})`);
  reconcile(added);
  const done = added.find((e) => e.kind === 'completion' && e.request_id === ok.headers.get('x-request-id'));
  assert.deepEqual([done.request.repo_type, done.request.repo, done.actor.sub, done.decision.org], ['model', 'acme/bert', 'alice', 'acme']);
  const bad = added.find((e) => e.request_id === refused.headers.get('x-request-id'));
  assert.equal(bad.details.auth_failure, 'wrong_audience');
  assert.equal(pg.psql(`select count(distinct stream_id) from audit_event`, { db: 'legacy' }), '1', 'one stream, continued');

  assert.equal((await runHubgate(['db', 'role', 'create', '--database', urlFor('postgres'), '--kind', 'auditor', '--name', 'auditor_v2'])).code, 0);
  const v = await runHubgate(['audit', 'verify', '--database', urlFor('auditor_v2'), '--json']);
  assert.equal(v.code, 0, v.stdout + v.stderr);
  const report = JSON.parse(v.stdout);
  assert.equal(report.ok, true, v.stdout);
  assert.equal(report.events, events.length, 'every event was verified, old and new');
  assert.deepEqual(report.streams.map((s) => [s.stream, s.events, s.problems]), [['gw-legacy', events.length, 0]]);
});

// hubgate policy check|test|explain|diff, as an admin runs them: every data-driven decision
// case under tests/unit/policy/cases/ goes through `policy test` (the real route classifier,
// then the engine), errors read file:line:col: path: found (expected), exit statuses follow
// `policy --help`, and nothing leaks or trips a sanitizer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO, runHubgate, hubgateAvailable, sanitizerReport } from '../lib/harness.mjs';

const skip = !hubgateAvailable() && 'hubgate not built';
const CASES = path.join(REPO, 'tests', 'unit', 'policy', 'cases');
const EXAMPLE = path.join(REPO, 'deploy', 'policy.example.json');
const REGIONS = ['--regions', 'us,eu', '--default-region', 'us'];

async function hubgate(args, opts) {
  const r = await runHubgate(['policy', ...args], opts);
  const report = sanitizerReport(r.stderr);
  assert.equal(report, null, `sanitizer report from hubgate policy ${args.join(' ')}:\n${report}`);
  if (/unknown command "policy"/.test(r.stderr))
    assert.fail('hubgate has no `policy` command: gateway/main.c must dispatch "policy" to gw_cli_policy()');
  return r;
}

function tmpdir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hubgate-policy-cli-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function write(dir, name, content) {
  const file = path.join(dir, name);
  fs.writeFileSync(file, typeof content === 'string' ? content : `${JSON.stringify(content, null, 2)}\n`);
  return file;
}

test('every data-driven decision case passes through `policy test`', { skip }, async () => {
  const files = fs.readdirSync(CASES).filter((f) => f.endsWith('.json')).sort();
  assert.ok(files.length >= 8, `case files: ${files}`);
  let total = 0;
  const failures = [];
  for (const f of files) {
    const r = await hubgate(['test', path.join(CASES, f), ...REGIONS]);
    const m = /: (\d+) tests?, (\d+) passed, (\d+) failed\n$/.exec(r.stdout);
    assert.ok(m, `${f}: unexpected output:\n${r.stdout}${r.stderr}`);
    total += Number(m[1]);
    if (r.code !== 0) failures.push(`${f} (exit ${r.code}):\n${r.stdout}${r.stderr}`);
  }
  assert.deepEqual(failures, [], failures.join('\n'));
  assert.ok(total >= 150, `only ${total} decisions in ${CASES}`);
});

test('check: a valid policy prints its SHA-256 and contents', { skip }, async () => {
  const r = await hubgate(['check', EXAMPLE]);
  assert.equal(r.code, 0, r.stderr);
  const sha = crypto.createHash('sha256').update(fs.readFileSync(EXAMPLE)).digest('hex');
  assert.equal(r.stdout, `${EXAMPLE}: valid policy (sha256 ${sha}): 1 org, 5 member entries, 1 resource group, 1 rule, 2 tests, 0 policy auditors\n`);
  assert.equal(r.stderr, '');
});

test('check: one line per problem, each with file:line:col, path, found and expected', { skip }, async (t) => {
  const dir = tmpdir(t);
  const file = write(dir, 'policy.json', [
    '{',
    '  "version": 1,',
    '  "orgs": {',
    '    "acme": {',
    '      "regions": ["ap"],',
    '      "members": [',
    '        {"group": "acme-ml", "role": "writer"},',
    '        {"email": "not an email", "role": "read"}',
    '      ],',
    '      "require": {"admin": {"networks": ["10.0.0.1/8"]}}',
    '    }',
    '  },',
    '  "rules": [{"id": "r", "effect": "deny", "actions": ["delete"], "repos": ["models/acme"]}],',
    '  "rulez": []',
    '}',
    '',
  ].join('\n'));
  const r = await hubgate(['check', file, '--regions', 'us,eu']);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.deepEqual(r.stderr.trimEnd().split('\n'), [
    `${file}:14:3: rulez: unknown key "rulez" (expected one of: version, orgs, external, personal_namespaces, rules, auditors, tests; did you mean "rules"?)`,
    `${file}:5:19: orgs.acme.regions[0]: unknown region "ap" (expected one of the configuration's regions: us, eu)`,
    `${file}:7:38: orgs.acme.members[0].role: unknown role "writer" (expected read, write, admin, auditor; did you mean "write"?)`,
    `${file}:8:19: orgs.acme.members[1].email: "not an email" is not an email address (expected local@domain, no spaces)`,
    `${file}:10:42: orgs.acme.require.admin.networks[0]: "10.0.0.1/8" is not a network (expected CIDR like "10.0.0.0/8" or "2001:db8::/32" with zero host bits)`,
    `${file}:13:76: rules[0].repos[0]: bad repo pattern "models/acme": expected three parts type/namespace/name, e.g. "models/acme/*"`,
  ]);
  // Without --regions the region is not checked; everything else still is.
  const loose = await hubgate(['check', file]);
  assert.equal(loose.code, 1);
  assert.equal(loose.stderr.trimEnd().split('\n').length, 5);

  // --config: the regions (and default region) of the gateway's own configuration
  for (const n of ['us', 'eu']) {
    fs.writeFileSync(path.join(dir, `${n}.token`), 'hf_x\n', { mode: 0o600 });
  }
  const cfg = path.join(dir, 'hubgate.json');
  fs.writeFileSync(cfg, JSON.stringify({
    public_url: 'http://127.0.0.1:1', database: 'postgresql://x@127.0.0.1:1/h', policy: file,
    regions: { us: { upstream: 'http://127.0.0.1:2', token_file: 'us.token' }, eu: { upstream: 'http://127.0.0.1:3', token_file: 'eu.token' } },
    default_region: 'us',
  }));
  const withConfig = await hubgate(['check', file, '--config', cfg]);
  assert.equal(withConfig.code, 1);
  assert.deepEqual(withConfig.stderr, r.stderr, 'the same findings as with --regions us,eu');
  const both = await hubgate(['check', file, '--config', cfg, '--regions', 'us']);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /--config and --regions: give one of them/);
  const missing = await hubgate(['check', file, '--config', path.join(dir, 'nope.json')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--config .*nope\.json does not load:\n.*cannot read/);
});

test('check: duplicate keys are errors with their paths', { skip }, async (t) => {
  const dir = tmpdir(t);
  const file = write(dir, 'dup.json', '{"version": 1,\n "orgs": {"acme": {}, "acme": {}}}\n');
  const r = await hubgate(['check', file]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `${file}:2:23: orgs.acme: duplicate key "acme" (first at line 2, column 11; each key may appear once)\n`);
});

test('usage: --help everywhere, exit 2 on bad usage or an unreadable file', { skip }, async () => {
  for (const args of [['--help'], ['check', '--help'], ['test', '--help'], ['explain', '--help'], ['diff', '--help']]) {
    const r = await hubgate(args);
    assert.equal(r.code, 0, `${args}: ${r.stderr}`);
    assert.match(r.stdout, /^Usage:/, args.join(' '));
  }
  const cases = [
    [[], /^Usage:/],
    [['frobnicate'], /^hubgate policy: unknown subcommand "frobnicate" \(expected check, test, explain, diff\)\n$/],
    [['check'], /^hubgate policy check: expected a policy FILE \(see hubgate policy check --help\)\n$/],
    [['check', 'a.json', 'b.json'], /^hubgate policy check: unexpected argument "b.json"/],
    [['check', EXAMPLE, '--strict'], /^hubgate policy check: unknown option "--strict"/],
    [['check', EXAMPLE, '--regions'], /^hubgate policy: --regions needs a value\n$/],
    [['check', EXAMPLE, '--regions', 'us', '--default-region', 'eu'], /--default-region "eu" is not among --regions/],
    [['diff', EXAMPLE], /^hubgate policy diff: expected two files, OLD and NEW/],
    [['check', '/nonexistent/policy.json'], /^\/nonexistent\/policy.json: cannot read: no such file\n$/],
    [['explain', EXAMPLE, '--request', 'GET /x'], /--subject JSON and --request "METHOD \/path" are required/],
  ];
  for (const [args, re] of cases) {
    const r = await hubgate(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, re, args.join(' '));
  }
});

test('test: failures name the test, its position, the decision and the determining rule', { skip }, async (t) => {
  const dir = tmpdir(t);
  const file = write(dir, 'policy.json', {
    version: 1,
    orgs: { acme: { members: [{ group: 'acme-staff', role: 'read' }] } },
    tests: [
      { name: 'staff read', subject: { sub: 's', groups: ['acme-staff'] }, request: 'GET /acme/m/resolve/main/x', expect: 'allow' },
      { name: 'staff push (wrong on purpose)', subject: { sub: 's', groups: ['acme-staff'] }, request: 'POST /acme/m.git/git-receive-pack', expect: 'allow' },
      { name: 'wrong rule', subject: { sub: 's', groups: ['acme-staff'] }, request: 'GET /acme/m/resolve/main/x', expect: 'allow', rule: 'external' },
      { name: 'body missing', subject: { sub: 's' }, request: 'POST /api/repos/create', expect: 'deny' },
      { name: 'hubgate route', subject: { sub: 's' }, request: 'GET /-/health', expect: 'allow' },
    ],
  });
  const r = await hubgate(['test', file]);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stdout, [
    `${file}:25:5: tests[1] "staff push (wrong on purpose)": expected allow, got deny by orgs.acme.members[0] (role read (orgs.acme.members[0]) does not allow write on model acme/m)`,
    `${file}:36:5: tests[2] "wrong rule": expected allow by external, got allow by orgs.acme.members[0] (role read allows read on model acme/m)`,
    `${file}:48:5: tests[3] "body missing": request "POST /api/repos/create" cannot be decided: the gateway answers 400 before any policy: request body does not name its target`,
    `${file}:56:5: tests[4] "hubgate route": request "GET /-/health" cannot be decided: hubgate's own /-/ routes are answered by the gateway, not decided by the policy`,
    `${file}: 5 tests, 1 passed, 4 failed`,
    '',
  ].join('\n'));
  const verbose = await hubgate(['test', file, '--verbose']);
  assert.match(verbose.stdout, /^ok staff read: allow by orgs.acme.members\[0\]\n/);
});

test('explain: the considered rules and the determining one', { skip }, async () => {
  const r = await hubgate(['explain', EXAMPLE, '--subject', '{"sub": "ann", "groups": ["acme-admins"], "mfa": true}',
    '--request', 'DELETE /api/models/acme/bert', '--ip', '192.0.2.1']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^policy: .*policy\.example\.json \(sha256 [0-9a-f]{64}\)\n/);
  assert.match(r.stdout, /\nsubject: sub ann, groups \[acme-admins\], MFA\n/);
  assert.match(r.stdout, /\nrequest: DELETE \/api\/models\/acme\/bert -> route repo_delete, action delete\n/);
  assert.match(r.stdout, /\n {4}orgs\.acme\.members\[0\]: group acme-admins, role admin: names the subject\n/);
  assert.match(r.stdout, /\n {4}rules\[no-deletes-from-outside\]: covers it \(\*\/\*\/\*\) → deny\n/);
  assert.match(r.stdout, /\ndecision: deny \(answer 403\) by rules\[no-deletes-from-outside\]: delete on model acme\/bert is denied by rule no-deletes-from-outside except from 127\.0\.0\.0\/8, 10\.0\.0\.0\/8\n/);
  assert.match(r.stdout, /\norg: acme, role: admin, region: us\n$/);

  const inside = await hubgate(['explain', EXAMPLE, '--subject', '{"sub": "ann", "groups": ["acme-admins"], "mfa": true}',
    '--request', 'DELETE /api/models/acme/bert', '--ip', '10.1.2.3', ...REGIONS]);
  assert.match(inside.stdout, /\ndecision: allow \(forward\) by orgs\.acme\.members\[0\]: role admin allows delete on model acme\/bert\n/);
  assert.match(inside.stdout, /\norg: acme, role: admin, region: us\n$/);

  const body = await hubgate(['explain', EXAMPLE, '--subject', '{"sub": "c", "groups": ["acme-contractors"], "mfa": true}',
    '--request', 'POST /api/repos/create', '--body', '{"name": "ft-new", "organization": "acme"}']);
  assert.match(body.stdout, /\ndecision: allow \(forward\) by orgs\.acme\.resource_groups\[0\]\.members\[0\]/);

  const anon = await hubgate(['explain', EXAMPLE, '--subject', '{"anonymous": true}', '--request', 'GET /acme/bert/resolve/main/x']);
  assert.match(anon.stdout, /\ndecision: deny \(answer 401\) by anonymous: authentication required\n/);

  const outsider = await hubgate(['explain', EXAMPLE, '--subject', '{"sub": "o"}', '--request', 'GET /acme/bert/resolve/main/x']);
  assert.match(outsider.stdout, /\ndecision: deny \(answer 404 RepoNotFound\) by default-deny/);
});

test('explain: a report export names each auditor entry and condition considered', { skip }, async () => {
  const cases = path.join(CASES, 'reports.json');
  const denied = await hubgate(['explain', cases, '--subject', '{"sub": "ann", "email": "audit@acme.example"}',
    '--request', 'GET /-/reports/soc2?org=acme&from=2024-01-01&to=2024-02-01']);
  assert.equal(denied.code, 0, denied.stderr);
  assert.match(denied.stdout, /\nrequest: GET \/-\/reports\/soc2\?org=acme&from=2024-01-01&to=2024-02-01 -> evidence report export of acme\n/);
  assert.match(denied.stdout, /\n {2}auditors\[0\]: group corp-audit: not the subject\n/);
  assert.match(denied.stdout, /\n {4}orgs\.acme\.members\[2\]: email audit@acme\.example, role auditor: names the subject\n/);
  assert.match(denied.stdout, /\ndecision: deny \(answer 403\) by orgs\.acme\.require\.auditor: exporting the reports of acme requires MFA\n/);

  const all = await hubgate(['explain', cases, '--subject', '{"sub": "pat", "groups": ["corp-audit"], "mfa": true}',
    '--request', 'GET /-/reports/soc2?format=csv']);
  assert.match(all.stdout, /\n {2}auditors\[0\]: group corp-audit: names the subject\n/);
  assert.match(all.stdout, /\ndecision: allow \(export the report\) by auditors\[0\]: one of the policy's auditors \(auditors\[0\]\) may export the reports of every org\n/);
  assert.match(all.stdout, /\norg: -, role: auditor, region: -\n$/);

  const bad = await hubgate(['explain', cases, '--subject', '{"sub": "pat"}', '--request', 'GET /-/reports/soc2?org=a&org=b']);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr, 'hubgate policy explain: --request "GET /-/reports/soc2?org=a&org=b": the gateway answers 400: org is given more than once\n');

  const check = await hubgate(['check', cases]);
  assert.match(check.stdout, /: valid policy \(sha256 [0-9a-f]{64}\): 3 orgs, 7 member entries, 0 resource groups, 0 rules, 17 tests, 2 policy auditors\n$/);
});

test('explain: bad input says what and where', { skip }, async () => {
  const cases = [
    [['--subject', '{"sub": "a", "group": []}', '--request', 'GET /x'],
      'hubgate policy explain: --subject: group: unknown key "group" (expected one of: iss, sub, email, preferred_username, groups, mfa, read_only_token, anonymous, email_verified; did you mean "groups"?)\n'],
    [['--subject', '{"sub": ', '--request', 'GET /x'], 'hubgate policy explain: --subject: line 1, column 8: unexpected token near end of file\n'],
    [['--subject', '{"sub": "a"}', '--request', 'GET'], 'hubgate policy explain: --request "GET": expected "METHOD /path", e.g. "GET /acme/bert/resolve/main/config.json"\n'],
    [['--subject', '{"sub": "a"}', '--request', 'GET /a/../b/resolve/main/x'], 'hubgate policy explain: --request "GET /a/../b/resolve/main/x": the gateway answers 400 before any policy: \'.\' or \'..\' segment in request path\n'],
    [['--subject', '{"sub": "a"}', '--request', 'GET /x', '--ip', 'localhost'], 'hubgate policy explain: --ip "localhost" is not an IPv4 or IPv6 address\n'],
  ];
  for (const [args, want] of cases) {
    const r = await hubgate(['explain', EXAMPLE, ...args]);
    assert.equal(r.code, 2, args.join(' '));
    assert.equal(r.stderr, want);
  }
});

test('diff: where repos live, when regions move (repo_regions)', { skip }, async (t) => {
  const dir = tmpdir(t);
  const members = [{ group: 'g', role: 'read' }];
  const a = write(dir, 'a.json', { version: 1, orgs: { acme: { regions: ['eu', 'us'], members } } });
  const b = write(dir, 'b.json', { version: 1, orgs: { acme: { regions: ['eu', 'us'], members, repo_regions: [{ repos: ['models/acme/us-*'], region: 'us' }] } } });
  const r = await hubgate(['diff', a, b, '--regions', 'eu,us']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /\nrepo regions \(where requests go, where data may come from\):\n {2}~ models\/acme\/us-\*: eu -> us\n1 region change\n/);
  assert.match(r.stdout, /no access changes/);
  const j = JSON.parse((await hubgate(['diff', a, b, '--regions', 'eu,us', '--json'])).stdout);
  assert.deepEqual(j.region_changes, [{ repo: 'models/acme/us-*', old: 'eu', new: 'us' }]);
  // the org moving as a whole: its namespace and every kind of repo
  const c = write(dir, 'c.json', { version: 1, orgs: { acme: { regions: ['us', 'eu'], members } } });
  const whole = JSON.parse((await hubgate(['diff', a, c, '--regions', 'eu,us', '--json'])).stdout);
  assert.ok(whole.region_changes.length >= 6, JSON.stringify(whole.region_changes));
  assert.ok(whole.region_changes.every((x) => x.old === 'eu' && x.new === 'us'));
});

test('diff: who gains or loses what, text and JSON, exit 1 on changes', { skip }, async (t) => {
  const dir = tmpdir(t);
  const example = JSON.parse(fs.readFileSync(EXAMPLE, 'utf8'));
  const changed = structuredClone(example);
  changed.orgs.acme.members.push({ email: 'lead@acme.example', role: 'admin' });
  changed.orgs.acme.require.write = { mfa: true, networks: ['10.0.0.0/8'] };
  changed.external.read = false;
  const oldFile = write(dir, 'old.json', example);
  const newFile = write(dir, 'new.json', changed);

  const same = await hubgate(['diff', oldFile, oldFile]);
  assert.equal(same.code, 0, same.stderr);
  assert.match(same.stdout, /\nno access changes over \d+ subjects and \d+ repo patterns\n$/);

  const r = await hubgate(['diff', oldFile, newFile]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /^policy diff: .*old\.json \(sha256 [0-9a-f]{12}\) -> .*new\.json \(sha256 [0-9a-f]{12}\)\n/);
  assert.match(r.stdout, /\nany authenticated user:\n {2}- loses read on \*\/google\/\* and google itself \(was always\)\n/);
  assert.match(r.stdout, /\nemail lead@acme\.example:\n {2}\+ gains read on \*\/acme\/\* and acme itself \(always\)\n/);
  assert.match(r.stdout, /\ngroup acme-ml:\n {2}~ narrowed write, create on \*\/acme\/\* and acme itself: with MFA -> with MFA, only from 10\.0\.0\.0\/8\n/);

  const j = await hubgate(['diff', oldFile, newFile, '--json']);
  assert.equal(j.code, 1, j.stderr);
  const doc = JSON.parse(j.stdout);
  const sha = (f) => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');
  assert.deepEqual(doc.old, { file: oldFile, sha256: sha(oldFile) });
  assert.deepEqual(doc.new, { file: newFile, sha256: sha(newFile) });
  assert.ok(doc.changes.length >= 3);
  assert.ok(doc.changes.some((c) => c.subject.kind === 'email' && c.subject.value === 'lead@acme.example' && c.change === 'gained'));
  assert.ok(doc.changes.every((c) => ['gained', 'lost', 'narrowed', 'widened', 'changed'].includes(c.change)));

  const invalid = write(dir, 'invalid.json', '{"version": 2}');
  const bad = await hubgate(['diff', oldFile, invalid]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /invalid\.json:1:13: version: found 2, expected 1/);
});

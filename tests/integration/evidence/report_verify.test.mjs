// Issue 10, "Completeness, offline" and "Tampering": `hubgate report verify DIR --pubkey FILE…
// [--checkpoint FILE…]`, with no database, checks a report directory: the manifest and its
// signature, each stream's chain from the signed checkpoint at or before the period to the one
// at or after it (events shown whole or hidden), canonical events, in_period, the org scope, and
// the auditor's checkpoint files. An event removed, added, altered or reordered fails even when
// the manifest was recomputed and re-signed with the same key; every failure names the file and
// the event (stream, seq, line).
//
// The report directories here are written from a real gateway's database by
// tests/lib/evidence.mjs, from docs/evidence-format.md alone, so that report verify is checked
// independently of `hubgate report soc2`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startStack, teardownAll, runHubgate, sleep, makeTempDir } from '../../lib/harness.mjs';
import {
  chainHash, commitment, isoMicro, jsonl, publicPem, reportData, signManifest, writeReportDir,
} from '../../lib/evidence.mjs';

const POLICY = {
  version: 1,
  orgs: {
    acme: { members: [{ group: 'acme-ml', role: 'admin' }, { group: 'acme-staff', role: 'read' }] },
    globex: { members: [{ group: 'acme-contractors', role: 'write' }, { group: 'acme-ml', role: 'read' }] },
  },
};

let pg, gw, dir, auditPub, reportKey, reportPub, cpFile, stream, from, to;
const CALLS = [
  ['alice', '/api/models/acme/bert'], ['bob', '/api/models/acme/bert'], ['dave', '/api/models/globex/widget'],
  ['alice', '/api/models/globex/widget'], ['eve', '/api/models/acme/bert'], ['bob', '/api/models/globex/widget'],
];

before(async () => {
  let idp;
  ({ pg, idp, gw } = await startStack({ policy: POLICY, config: { audit: { checkpoint_every: 4, checkpoint_seconds: 1 } } }));
  stream = gw.config.audit.stream;
  const tokens = Object.fromEntries(await Promise.all(['alice', 'bob', 'dave', 'eve'].map(async (u) => [u, await idp.token(u)])));
  const traffic = async () => {
    for (const [u, p] of CALLS) {
      const r = await fetch(`${gw.url}${p}`, { headers: { authorization: `Bearer ${tokens[u]}` } });
      await r.arrayBuffer();
    }
  };
  // before the period, in it, after it; idle seconds between them give signed checkpoints
  // at or before its start and at or after its end
  await traffic();
  await sleep(1500);
  from = isoMicro(new Date());
  await traffic();
  await traffic();
  await sleep(1500);
  to = isoMicro(new Date());
  await traffic();
  assert.equal(await gw.stop(), 0);

  dir = makeTempDir('report-verify');
  auditPub = path.join(dir, 'audit.pub');
  fs.writeFileSync(auditPub, publicPem(fs.readFileSync(path.join(gw.dir, 'audit-ed25519.pem'), 'utf8')));
  reportKey = path.join(dir, 'report.pem');
  reportPub = path.join(dir, 'report.pub');
  const kg = await runHubgate(['keygen', '--out', reportKey, '--pubout', reportPub]);
  assert.equal(kg.code, 0, kg.stderr);
  cpFile = path.join(gw.dir, 'spool', `${stream}.checkpoints`);
  assert.ok(fs.existsSync(cpFile), 'the gateway exported its checkpoints');
});

after(teardownAll);

let n = 0;
const counts = new Map();
// report.json's counts for the period and scope, as `hubgate report soc2` computed them (what
// report verify recounts from the events); the rest of each directory is written here.
async function countsFor(org) {
  if (!counts.has(org)) {
    const out = path.join(dir, `soc2-${org ?? 'all'}`);
    const r = await runHubgate(['report', 'soc2', '--database', pg.url, '--from', from, '--to', to, ...(org ? ['--org', org] : []), '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    const { period, scope, integrity, ...rest } = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
    counts.set(org, rest);
  }
  return counts.get(org);
}

// A report directory for the period (optionally scoped), as the contract says to write it.
async function report(opts = {}) {
  const out = path.join(dir, `r${++n}`);
  const data = reportData(pg, { from, to, ...opts });
  writeReportDir(out, data, reportKey, await countsFor(opts.org ?? null));
  return { out, data };
}

async function verify(out, extra = [], keys = [auditPub, reportPub]) {
  const r = await runHubgate(['report', 'verify', out, ...keys.flatMap((k) => ['--pubkey', k]), '--json', ...extra]);
  let json = null;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    /* asserted below */
  }
  assert.ok(json, `report verify printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  return { code: r.code, json, stdout: r.stdout, stderr: r.stderr };
}

const problem = (json, code) => json.problems.find((p) => p.problem === code);

// Chains lines[from..] again after `prev`, as a forger would: each line renumbered by
// seqOf(line, index), its prev_hash and hash recomputed.
function relink(lines, from, prev, seqOf) {
  for (let i = from; i < lines.length; i++) {
    const l = lines[i];
    l.seq = seqOf(l, i);
    l.prev_hash = prev;
    l.hash = chainHash(prev, l.canonical);
    prev = l.hash;
  }
}

// Re-writes events.jsonl from lines and re-signs the manifest with the same key: what an
// exporter who holds the report key can do after the fact.
function rewrite(out, streams) {
  fs.writeFileSync(path.join(out, 'events.jsonl'), streams.map((s) => jsonl(s.lines)).join(''));
  signManifest(out, reportKey);
}

// The 1-based line of events.jsonl holding stream/seq in the original data.
const lineOf = (data, seq) => {
  let k = 0;
  for (const s of data.streams) for (const l of s.lines) { k++; if (s.name === stream && l.seq === seq) return k; }
  return -1;
};

test('a report of every org verifies, its chain from the start checkpoint to the end one', async () => {
  const { out, data } = await report();
  const { code, json, stdout } = await verify(out);
  assert.equal(code, 0, stdout);
  assert.equal(json.ok, true);
  const s = json.streams.find((x) => x.stream === stream);
  const d = data.streams.find((x) => x.name === stream);
  assert.ok(d.start.seq > 0 && !d.start.genesis, 'the stream began before the period: a signed start');
  assert.ok(d.end && d.end.seq > d.start.seq);
  assert.equal(s.start_seq, d.start.seq);
  assert.equal(s.end_seq, d.end.seq);
  assert.equal(s.events, d.end.seq - d.start.seq);
  // the events of the period, counted by the database
  const inPeriod = Number(pg.psql(`select count(*) from audit_event where ts >= '${from}' and ts < '${to}'`));
  assert.ok(inPeriod >= 2 * CALLS.length, `the period's requests were audited (${inPeriod})`);
  assert.equal(s.in_period, inPeriod);
  assert.ok(s.events > s.in_period, 'margins outside the period are included');
  assert.equal(s.hidden, 0);
  // the text form says the same
  const text = await runHubgate(['report', 'verify', out, '--pubkey', auditPub, '--pubkey', reportPub]);
  assert.equal(text.code, 0, text.stdout + text.stderr);
  assert.match(text.stdout, /^report verify: OK: 1 streams, \d+ events/m);
});

test('the gateway writes chain-2 events, and an org report hides the other orgs', async () => {
  const versions = pg.psql(`select distinct canonical::json->>'v' from audit_event order by 1`);
  assert.equal(versions, '2', 'this release writes format v2 events');
  const { out, data } = await report({ org: 'acme' });
  const { code, json, stdout } = await verify(out);
  assert.equal(code, 0, stdout);
  const lines = data.streams.find((x) => x.name === stream).lines;
  const hidden = lines.filter((l) => l.hidden);
  assert.ok(hidden.some((l) => l.org === 'globex'), 'globex events are hidden');
  assert.ok(lines.some((l) => !l.hidden && JSON.parse(l.canonical).decision?.org === 'acme'), 'acme events are whole');
  assert.equal(json.streams.find((x) => x.stream === stream).hidden, hidden.length);
  assert.equal(json.org, 'acme');
  // nothing of another org's events but their org and commitment
  const file = fs.readFileSync(path.join(out, 'events.jsonl'), 'utf8');
  assert.ok(!file.includes('widget'), 'no globex request is disclosed');
});

test('a report of every org may hide the margins outside the period', async () => {
  const { out, data } = await report({ hideMargins: true });
  const lines = data.streams.find((x) => x.name === stream).lines;
  assert.ok(lines.some((l) => l.hidden), 'margin events hidden');
  const { code, stdout } = await verify(out);
  assert.equal(code, 0, stdout);
});

test('one byte changed in any file fails and names the file', async () => {
  const { out } = await report();
  for (const [file, code] of [['report.json', 'file_hash'], ['report.html', 'file_hash'], ['events.csv', 'file_hash'],
    ['events.jsonl', 'file_hash'], ['manifest.json', 'manifest_signature'], ['manifest.sig', 'manifest_signature']]) {
    const copy = path.join(dir, `byte-${file}`);
    fs.cpSync(out, copy, { recursive: true });
    const p = path.join(copy, file);
    const b = fs.readFileSync(p);
    // a byte inside the content (for manifest.sig: in the base64, not its newline)
    const at = Math.floor(b.length / 3);
    b[at] = b[at] === 0x41 ? 0x42 : 0x41;
    fs.writeFileSync(p, b);
    const { code: exit, json } = await verify(copy);
    assert.equal(exit, 1, `${file}: ${JSON.stringify(json)}`);
    const pr = problem(json, code);
    assert.ok(pr, `${file}: ${code} expected in ${JSON.stringify(json.problems)}`);
    // a signature that does not verify cannot tell which of the two was changed: it names both
    assert.ok(pr.file === file || (pr.file === 'manifest.json' && pr.message.includes(file)), JSON.stringify(pr));
  }
});

test('an event removed from events.jsonl fails, manifest recomputed and re-signed, naming stream and seq', async () => {
  const { out, data } = await report();
  const s = data.streams.find((x) => x.name === stream);
  const victim = s.lines.find((l) => l.in_period);
  const line = lineOf(data, victim.seq);
  s.lines = s.lines.filter((l) => l !== victim);
  rewrite(out, data.streams);
  const { code, json } = await verify(out);
  assert.equal(code, 1);
  assert.ok(!problem(json, 'file_hash') && !problem(json, 'manifest_signature'), 'the manifest itself holds');
  const p = problem(json, 'deleted');
  assert.deepEqual([p.file, p.stream, p.seq, p.line], ['events.jsonl', stream, victim.seq, line], JSON.stringify(p));
  assert.match(p.message, new RegExp(`event seq ${victim.seq} is missing`));
});

test('the removal hidden by renumbering and rehashing the rest still fails at the end checkpoint', async () => {
  const { out, data } = await report();
  const s = data.streams.find((x) => x.name === stream);
  const k = s.lines.findIndex((l) => l.in_period);
  const removed = s.lines[k].seq;
  s.lines.splice(k, 1);
  relink(s.lines, k, s.lines[k - 1]?.hash ?? s.start.hash, (l) => l.seq - 1);
  rewrite(out, data.streams);
  const { code, json } = await verify(out);
  assert.equal(code, 1);
  const p = problem(json, 'truncated');
  assert.equal(p.stream, stream);
  assert.equal(p.seq, s.end.seq, 'the last seq is missing before the end checkpoint');
  // with the gateway's checkpoint file, the first checkpoint after the removal names it
  const withFile = await verify(out, ['--checkpoint', cpFile]);
  const c = problem(withFile.json, 'checkpoint_hash');
  assert.ok(c && c.stream === stream && c.seq >= removed, JSON.stringify(withFile.json.problems));
});

test('an event altered fails, naming stream, seq and line', async () => {
  const { out, data } = await report();
  const s = data.streams.find((x) => x.name === stream);
  const victim = s.lines.find((l) => l.in_period && l.canonical.includes('"effect":"deny"'));
  assert.ok(victim, 'a denied request in the period');
  victim.canonical = victim.canonical.replace('"effect":"deny"', '"effect":"allow"');
  rewrite(out, data.streams);
  const { code, json } = await verify(out);
  assert.equal(code, 1);
  const p = problem(json, 'modified');
  assert.deepEqual([p.file, p.stream, p.seq, p.line], ['events.jsonl', stream, victim.seq, lineOf(data, victim.seq)]);
});

test('two events swapped fail, naming stream and seq', async () => {
  const { out, data } = await report();
  const s = data.streams.find((x) => x.name === stream);
  const k = s.lines.findIndex((l) => l.in_period);
  const [first, line] = [s.lines[k].seq, lineOf(data, s.lines[k].seq)];
  [s.lines[k], s.lines[k + 1]] = [s.lines[k + 1], s.lines[k]];
  rewrite(out, data.streams);
  const { code, json } = await verify(out);
  assert.equal(code, 1);
  // one problem where it is, and report.json's counts no longer match the events shown
  assert.deepEqual(json.problems.map((x) => x.problem).sort(), [json.first_problem.problem, 'count'].sort(), JSON.stringify(json.problems));
  const p = json.first_problem;
  // named where the first of the two now is
  assert.deepEqual([p.problem, p.stream, p.seq, p.line], ['swapped', stream, first, line + 1]);
  // the swap hidden by exchanging the contents in place instead: the chain breaks there
  const again = await report();
  const t = again.data.streams.find((x) => x.name === stream);
  const j = t.lines.findIndex((l) => l.in_period);
  [t.lines[j].canonical, t.lines[j + 1].canonical] = [t.lines[j + 1].canonical, t.lines[j].canonical];
  rewrite(again.out, again.data.streams);
  const r2 = await verify(again.out);
  assert.equal(r2.code, 1);
  assert.deepEqual([r2.json.first_problem.problem, r2.json.first_problem.seq], ['modified', t.lines[j].seq]);
});

test('an event added fails, naming stream and seq', async () => {
  const { out, data } = await report();
  const s = data.streams.find((x) => x.name === stream);
  const k = s.lines.findIndex((l) => l.in_period);
  // a forged event, chained properly after seq k, the rest renumbered and rehashed
  const forged = { ...s.lines[k], canonical: s.lines[k].canonical.replace(/"id":"[0-9a-f-]+"/, '"id":"01900000-0000-7000-8000-000000000000"') };
  s.lines.splice(k + 1, 0, forged);
  relink(s.lines, k + 1, s.lines[k].hash, (l, i) => s.lines[i - 1].seq + 1);
  rewrite(out, data.streams);
  const { code, json } = await verify(out);
  assert.equal(code, 1);
  const p = problem(json, 'beyond_end');
  assert.equal(p.stream, stream);
  assert.equal(p.seq, s.end.seq + 1, 'the event pushed past the end checkpoint');
  assert.ok(problem(json, 'end_hash'), 'and the chain no longer ends at the signed hash');
  // a duplicated line is named where it repeats
  const dup = await report();
  const t = dup.data.streams.find((x) => x.name === stream);
  const j = t.lines.findIndex((l) => l.in_period);
  t.lines.splice(j + 1, 0, t.lines[j]);
  rewrite(dup.out, dup.data.streams);
  const r2 = await verify(dup.out);
  assert.deepEqual([r2.json.first_problem.problem, r2.json.first_problem.seq, r2.json.first_problem.line],
    ['out_of_order', t.lines[j].seq, lineOf(dup.data, t.lines[j].seq) + 1]);
});

test("an event of the report's own org hidden fails, though its chain holds", async () => {
  const { out, data } = await report({ org: 'acme' });
  const s = data.streams.find((x) => x.name === stream);
  const k = s.lines.findIndex((l) => !l.hidden && l.in_period && JSON.parse(l.canonical).decision?.org === 'acme');
  const l = s.lines[k];
  s.lines[k] = { chain: 2, commitment: commitment(l.canonical), hash: l.hash, hidden: true, org: 'acme', prev_hash: l.prev_hash, seq: l.seq, stream };
  rewrite(out, data.streams);
  const { code, json } = await verify(out);
  assert.equal(code, 1);
  // one problem where it is, and report.json's counts no longer match the events shown
  assert.deepEqual(json.problems.map((x) => x.problem).sort(), [json.first_problem.problem, 'count'].sort(), JSON.stringify(json.problems));
  assert.deepEqual([json.first_problem.problem, json.first_problem.seq, json.first_problem.line], ['hidden_own_org', l.seq, lineOf(data, l.seq)]);
  // and another org's event shown whole in acme's report discloses it
  const again = await report({ org: 'acme' });
  const t = again.data.streams.find((x) => x.name === stream);
  const j = t.lines.findIndex((x) => x.hidden && x.org === 'globex');
  const whole = reportData(pg, { from, to }).streams.find((x) => x.name === stream).lines.find((x) => x.seq === t.lines[j].seq);
  t.lines[j] = whole;
  rewrite(again.out, again.data.streams);
  const r2 = await verify(again.out);
  assert.deepEqual([r2.json.first_problem.problem, r2.json.first_problem.seq], ['disclosed', whole.seq]);
});

test('a hidden event among the period of a report of every org fails', async () => {
  const { out, data } = await report();
  const s = data.streams.find((x) => x.name === stream);
  const inp = s.lines.filter((l) => l.in_period);
  const l = inp[Math.floor(inp.length / 2)];
  const k = s.lines.indexOf(l);
  s.lines[k] = { chain: 2, commitment: commitment(l.canonical), hash: l.hash, hidden: true, org: JSON.parse(l.canonical).decision?.org ?? '', prev_hash: l.prev_hash, seq: l.seq, stream };
  rewrite(out, data.streams);
  const { code, json } = await verify(out);
  assert.equal(code, 1);
  assert.deepEqual([json.first_problem.problem, json.first_problem.seq], ['hidden_in_period', l.seq]);
});

test('a wrong in_period fails, naming the event', async () => {
  const { out, data } = await report();
  const s = data.streams.find((x) => x.name === stream);
  const l = s.lines.find((x) => !x.in_period);
  l.in_period = true;
  rewrite(out, data.streams);
  const { code, json } = await verify(out);
  assert.equal(code, 1);
  assert.deepEqual([json.first_problem.problem, json.first_problem.seq, json.first_problem.line], ['in_period', l.seq, lineOf(data, l.seq)]);
});

test('checkpoints count only when a pinned key signed them, and must bracket the period', async () => {
  const { out, data } = await report();
  // the audit key not pinned: nothing proves the chain
  const unpinned = await verify(out, [], [reportPub]);
  assert.equal(unpinned.code, 1);
  assert.equal(problem(unpinned.json, 'checkpoint_key').stream, stream);
  // the manifest key not pinned
  const noManifestKey = await verify(out, [], [auditPub]);
  assert.equal(noManifestKey.code, 1);
  assert.equal(problem(noManifestKey.json, 'manifest_key').file, 'manifest.json');
  // a start checkpoint inside the period (the events before it dropped): refused
  const s = data.streams.find((x) => x.name === stream);
  const later = pg.psql(`select json_build_array(c.seq, encode(c.hash, 'hex'), to_char(c.ts at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), c.key_id, encode(c.signature, 'hex'))
      from audit_checkpoint c join audit_stream t on t.id = c.stream_id
     where t.name = '${stream}' and c.ts > '${from}' and c.ts < '${to}' and c.seq > ${s.start.seq} order by c.seq limit 1`);
  assert.ok(later, 'a checkpoint signed inside the period');
  const [seq, hash, ts, key_id, sig] = JSON.parse(later);
  const rj = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
  rj.integrity.streams[0].start = { seq, hash, ts, key_id, signature: Buffer.from(sig, 'hex').toString('base64') };
  fs.writeFileSync(path.join(out, 'report.json'), JSON.stringify(rj));
  s.lines = s.lines.filter((l) => l.seq > seq);
  rewrite(out, data.streams);
  const late = await verify(out);
  assert.equal(late.code, 1);
  assert.deepEqual([late.json.first_problem.problem, late.json.first_problem.seq], ['checkpoint_period', seq], JSON.stringify(late.json.problems));
  // a forged end checkpoint signature
  const forged = await report();
  const rj2 = JSON.parse(fs.readFileSync(path.join(forged.out, 'report.json'), 'utf8'));
  const sigb = Buffer.from(rj2.integrity.streams[0].end.signature, 'base64');
  sigb[5] ^= 1;
  rj2.integrity.streams[0].end.signature = sigb.toString('base64');
  fs.writeFileSync(path.join(forged.out, 'report.json'), JSON.stringify(rj2));
  signManifest(forged.out, reportKey);
  const bad = await verify(forged.out);
  assert.deepEqual([bad.json.first_problem.problem, bad.json.first_problem.file], ['checkpoint_signature', 'report.json']);
});

test("the auditor's checkpoint file: matched in range, and a stream left out is found", async () => {
  const { out, data } = await report();
  const ok = await verify(out, ['--checkpoint', cpFile]);
  assert.equal(ok.code, 0, ok.stdout);
  assert.ok(ok.json.streams[0].file_checkpoints >= 2, 'checkpoints of the file fall in the range and match');
  // the whole stream removed from the report, its counts those of no event (as report soc2
  // counts an empty database), manifest re-signed: only the file can tell
  pg.psql('create database empty', { db: 'postgres' });
  const emptyUrl = pg.url.replace(/\/hubgate$/, '/empty');
  assert.equal((await runHubgate(['db', 'migrate', '--database', emptyUrl])).code, 0);
  const none = path.join(dir, 'soc2-empty');
  assert.equal((await runHubgate(['report', 'soc2', '--database', emptyUrl, '--from', from, '--to', to, '--out', none])).code, 0);
  const { period, scope, integrity, ...zero } = JSON.parse(fs.readFileSync(path.join(none, 'report.json'), 'utf8'));
  const rj = { ...JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8')), ...zero };
  rj.integrity.streams = [];
  fs.writeFileSync(path.join(out, 'report.json'), JSON.stringify(rj));
  rewrite(out, data.streams.map((s) => ({ ...s, lines: [] })));
  const alone = await verify(out);
  assert.equal(alone.code, 0, 'without the checkpoint file, an empty report is consistent');
  const withFile = await verify(out, ['--checkpoint', cpFile]);
  assert.equal(withFile.code, 1);
  assert.deepEqual([withFile.json.first_problem.problem, withFile.json.first_problem.stream], ['stream_missing', stream]);
});

test("report.json's counts are recounted from the events: one changed fails, naming it", async () => {
  const { out } = await report({ org: 'acme' });
  const rj = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
  assert.ok(rj.totals.denied > 0, 'acme had denials in the period');
  rj.totals.denied -= 1;
  fs.writeFileSync(path.join(out, 'report.json'), JSON.stringify(rj));
  signManifest(out, reportKey);
  const { code, json } = await verify(out);
  assert.equal(code, 1);
  assert.equal(json.problems.length, 1, JSON.stringify(json.problems));
  assert.equal(json.first_problem.problem, 'count');
  assert.equal(json.first_problem.file, 'report.json');
  assert.match(json.first_problem.message, /report\.json's totals\.denied is \d+, but the events of events\.jsonl in scope count \d+/);
});

test('what `hubgate report soc2` writes verifies, whole or for one org, with the checkpoint file', async () => {
  for (const org of [null, 'acme', 'globex']) {
    const out = path.join(dir, `soc2-signed-${org ?? 'all'}`);
    const r = await runHubgate(['report', 'soc2', '--database', pg.url, '--from', from, '--to', to, ...(org ? ['--org', org] : []), '--out', out, '--key', reportKey]);
    assert.equal(r.code, 0, r.stderr);
    const v = await verify(out, ['--checkpoint', cpFile]);
    assert.equal(v.code, 0, `${org}: ${v.stdout}`);
    assert.equal(v.json.org, org);
  }
});

test('a file the manifest does not list, and a missing signature, fail', async () => {
  const { out } = await report();
  fs.writeFileSync(path.join(out, 'extra.txt'), 'unvouched\n');
  const extra = await verify(out);
  assert.equal(extra.code, 1);
  assert.equal(problem(extra.json, 'file_unlisted').file, 'extra.txt');
  fs.rmSync(path.join(out, 'extra.txt'));
  fs.rmSync(path.join(out, 'manifest.sig'));
  const unsigned = await verify(out);
  assert.equal(unsigned.code, 1);
  assert.equal(problem(unsigned.json, 'manifest_unsigned').file, 'manifest.sig');
  // exported without --key: no key in the manifest, no signature; all else holds
  const plain = path.join(dir, 'soc2-unsigned');
  assert.equal((await runHubgate(['report', 'soc2', '--database', pg.url, '--from', from, '--to', to, '--out', plain])).code, 0);
  const nokey = await verify(plain);
  assert.equal(nokey.code, 1);
  assert.deepEqual(nokey.json.problems.map((x) => [x.problem, x.file]), [['manifest_unsigned', 'manifest.json']]);
  // usage errors and unreadable inputs are told apart from a failed verification
  assert.equal((await runHubgate(['report', 'verify', out])).code, 2);
  assert.equal((await runHubgate(['report', 'verify', path.join(out, 'nope'), '--pubkey', auditPub])).code, 3);
});

// Issue 10, "Events carry a format version; events already written keep verifying, and a test
// upgrades a database populated by today's release", and the versioned chain: a database written
// by the previous release (tests/fixtures/db/legacy-0.1.sql, chain 1) is upgraded, this release's
// gateway continues its stream with format v2 events (chain 2: org and commitment), and
// - `hubgate audit verify` passes over the mixed stream, each event under its own chain, and
//   still finds an edited event of either version;
// - the chain recomputed here from docs/evidence-format.md alone matches every stored hash;
// - an org-scoped report over both shows the v1 events whole (they cannot be hidden) and hides
//   the other orgs' v2 events, and `hubgate report verify` passes over it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startStack, teardownAll, runHubgate, sleep, makeTempDir, REPO } from '../../lib/harness.mjs';
import { chainHash, chainVersion, genesis, isoMicro, reportData, writeReportDir } from '../../lib/evidence.mjs';

after(teardownAll);

const LEGACY = path.join(REPO, 'tests', 'fixtures', 'db', 'legacy-0.1.sql');
const POLICY = {
  version: 1,
  orgs: {
    acme: { members: [{ group: 'acme-ml', role: 'admin' }, { group: 'acme-staff', role: 'read' }] },
    globex: { members: [{ group: 'acme-contractors', role: 'write' }] },
  },
};

const urlFor = (pg, db) => `postgresql://postgres@127.0.0.1:${pg.port}/${db}`;

test('a stream of the previous release continued with v2 events verifies, offline too', async (t) => {
  const { pg, idp, gateway } = await startStack({ t, gateway: false });
  pg.psql('CREATE DATABASE legacy', { db: 'postgres' });
  pg.psql(fs.readFileSync(LEGACY, 'utf8'), { db: 'legacy' });
  const q = (sql, db = 'legacy') => pg.psql(sql, { db });
  const oldEvents = Number(q('select count(*) from audit_event'));
  assert.ok(oldEvents >= 10, `the fixture holds the previous release's events (${oldEvents})`);
  const from = isoMicro(new Date(Date.parse(q(`select min(canonical::json->>'ts') from audit_event`)) - 1000));

  const gw = await gateway({
    policy: POLICY,
    config: {
      database: urlFor(pg, 'legacy'),
      audit: { stream: 'gw-legacy', checkpoint_every: 5, checkpoint_seconds: 1 }, // the old stream, continued
    },
  });
  for (const [u, p] of [['alice', 'acme/bert'], ['dave', 'globex/widget'], ['eve', 'acme/bert'], ['alice', 'globex/widget']]) {
    const r = await fetch(`${gw.url}/api/models/${p}`, { headers: { authorization: `Bearer ${await idp.token(u)}` } });
    await r.arrayBuffer();
  }
  await sleep(1200);
  const to = isoMicro(new Date());
  assert.equal(await gw.stop(), 0);

  // one stream, v1 then v2
  assert.equal(q('select count(*) from audit_stream'), '1', 'the old stream was continued');
  const rows = q(`select json_build_array(seq, encode(prev_hash, 'hex'), encode(hash, 'hex'), canonical) from audit_event order by seq`)
    .split('\n').map((l) => JSON.parse(l));
  const versions = rows.map(([, , , c]) => chainVersion(c));
  assert.ok(versions.slice(0, oldEvents).every((x) => x === 1), 'the old events are v1');
  assert.ok(versions.slice(oldEvents).every((x) => x === 2), 'the new events are v2');
  assert.ok(rows.length > oldEvents + 4);
  assert.ok(rows.slice(oldEvents).some(([, , , c]) => JSON.parse(c).decision?.org === 'globex'), 'an event of another org');
  // the chain by hand, across the change of version
  let prev = genesis('gw-legacy');
  for (const [seq, p, h, c] of rows) {
    assert.equal(p, prev, `seq ${seq} links`);
    assert.equal(chainHash(p, c), h, `seq ${seq} hashes under chain ${chainVersion(c)}`);
    prev = h;
  }

  // both keys pinned: the previous release's and the new instance's
  const dir = makeTempDir('chain-v2');
  const keys = q(`select public_key from audit_stream union select public_key from audit_stream_key`)
    .split(/(?<=-----END PUBLIC KEY-----)\n?/).filter((k) => k.trim()).map((pem, i) => {
      const f = path.join(dir, `k${i}.pub`);
      fs.writeFileSync(f, `${pem.trim()}\n`);
      return f;
    });
  assert.equal(keys.length, 2, 'the old key and the new one');
  const verify = (db) => runHubgate(['audit', 'verify', '--database', urlFor(pg, db), ...keys.flatMap((k) => ['--pubkey', k]), '--json']);
  const v = await verify('legacy');
  assert.equal(v.code, 0, v.stdout + v.stderr);
  const s = JSON.parse(v.stdout).streams[0];
  assert.equal(s.events, rows.length);
  assert.equal(s.unsigned_tail, 0);

  // an edited event of either version is found
  const allowV2 = rows.find(([seq, , , c]) => seq > oldEvents && c.includes('"effect":"allow"'))[0];
  for (const [seq, from_, to_] of [[allowV2, '"effect":"allow"', '"effect":"deny"'], [3, '"kind":"keys.changed"', '"kind":"keys.changes"']]) {
    const db = `tampered_${seq}`;
    q(`create database ${db} template legacy`, 'postgres');
    const canonical = rows[seq - 1][3];
    assert.ok(canonical.includes(from_), `seq ${seq} holds ${from_}: ${canonical}`);
    q(`alter table audit_event disable trigger audit_event_no_change;
       update audit_event set canonical = replace(canonical, '${from_}', '${to_}') where seq = ${seq};
       alter table audit_event enable always trigger audit_event_no_change;`, db);
    const r = await verify(db);
    assert.equal(r.code, 1, r.stdout);
    const first = JSON.parse(r.stdout).first_problem;
    assert.deepEqual([first.seq, first.problem], [seq, 'modified'], r.stdout);
  }

  // offline: acme's report over the old and the new events
  const reportKey = path.join(dir, 'report.pem');
  const reportPub = path.join(dir, 'report.pub');
  assert.equal((await runHubgate(['keygen', '--out', reportKey, '--pubout', reportPub])).code, 0);
  const data = reportData(pg, { from, to, org: 'acme', db: 'legacy' });
  const lines = data.streams[0].lines;
  assert.ok(data.streams[0].start.genesis, 'the stream began in the period: from its genesis');
  assert.ok(lines.filter((l) => l.chain === 1).every((l) => !l.hidden), 'v1 events are shown whole');
  assert.ok(lines.some((l) => l.hidden && l.org === 'globex'), "globex's v2 events are hidden");
  // the counts as report soc2 made them (report verify recounts them from the events)
  const soc2 = path.join(dir, 'soc2');
  const g = await runHubgate(['report', 'soc2', '--database', urlFor(pg, 'legacy'), '--from', from, '--to', to, '--org', 'acme', '--out', soc2, '--key', reportKey]);
  assert.equal(g.code, 0, g.stderr);
  const { period, scope, integrity, ...counts } = JSON.parse(fs.readFileSync(path.join(soc2, 'report.json'), 'utf8'));
  const out = path.join(dir, 'report');
  writeReportDir(out, data, reportKey, counts);
  const rv = await runHubgate(['report', 'verify', out, '--pubkey', reportPub, ...keys.flatMap((k) => ['--pubkey', k]), '--json']);
  assert.equal(rv.code, 0, rv.stdout + rv.stderr);
  const js = JSON.parse(rv.stdout).streams[0];
  assert.equal(js.events, lines.length);
  assert.equal(js.hidden, lines.filter((l) => l.hidden).length);
  // and the generator's own directory
  const own = await runHubgate(['report', 'verify', soc2, '--pubkey', reportPub, ...keys.flatMap((k) => ['--pubkey', k])]);
  assert.equal(own.code, 0, own.stdout + own.stderr);
});

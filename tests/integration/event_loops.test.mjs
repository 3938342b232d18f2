// One event loop per core (issue 12): several loops serve one listener (SO_REUSEPORT), each
// with its own connections, upstream transfers and audit stream. Proven with two loops: real
// requests spread over both, every 2xx has its decision
// event in the stream of the loop that served it, loop 0's stream (audit.stream itself) also
// holds the process's own events, and `hubgate audit verify` holds for both chains.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startStack, teardownAll, runHubgate, REPO } from '../lib/harness.mjs';

const POLICY = fs.readFileSync(path.join(REPO, 'tests', 'fixtures', 'policy', 'members.json'), 'utf8');

let pg, gw, token, stream;

before(async () => {
  let idp;
  ({ pg, idp, gw } = await startStack({ policy: POLICY, storage: true, config: { event_loops: 2 } }));
  token = await idp.token('alice');
  stream = gw.config.audit.stream;
});

after(teardownAll);

const auth = () => ({ Authorization: `Bearer ${token}` });

test('requests on many connections are served by both loops, each audited in its own stream', async () => {
  // Fresh connections (no keep-alive reuse across requests), so the kernel spreads them.
  const rids = [];
  await Promise.all(Array.from({ length: 40 }, async () => {
    const res = await fetch(`${gw.url}/api/models/acme/bert`, { headers: { ...auth(), Connection: 'close' } });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    rids.push(res.headers.get('x-request-id'));
  }));
  await gw.stop();
  const rows = pg.psql(`select s.name || '|' || e.request_id from audit_event e join audit_stream s on s.id = e.stream_id where e.kind = 'request' and e.request_id is not null`)
    .trim().split('\n').filter(Boolean).map((l) => l.split('|'));
  const streamOf = new Map(rows.map(([s, rid]) => [rid, s]));
  for (const rid of rids)
    assert.ok([stream, `${stream}.1`].includes(streamOf.get(rid)), `request ${rid} audited in a loop's stream (got ${streamOf.get(rid)})`);
  const used = new Set(rids.map((rid) => streamOf.get(rid)));
  assert.deepEqual([...used].sort(), [stream, `${stream}.1`], 'both loops served requests');

  // The process's own events are in loop 0's stream, audit.stream itself.
  const process = pg.psql(`select distinct s.name from audit_event e join audit_stream s on s.id = e.stream_id where e.kind in ('gateway.started', 'gateway.stopped', 'policy.loaded')`)
    .trim().split('\n').filter(Boolean);
  assert.deepEqual(process, [stream]);

  for (const name of [stream, `${stream}.1`]) {
    const r = await runHubgate(['audit', 'verify', '--database', pg.url, '--stream', name, '--json']);
    assert.equal(r.code, 0, `audit verify ${name}: ${r.stdout}${r.stderr}`);
    assert.equal(JSON.parse(r.stdout).ok, true);
  }
});

// Issue 9, item 11: /-/metrics is no longer public. Metrics are served on a listener of their
// own (`metrics_listen`, as Prometheus exporters do); the public listener answers /-/metrics with
// 404, and without metrics_listen there are no metrics anywhere. The denial counter by reason
// shows on the metrics listener.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startStack, teardownAll, freePort, httpRequest, sleep, REPO } from '../../lib/harness.mjs';

const POLICY = fs.readFileSync(path.join(REPO, 'tests', 'fixtures', 'policy', 'members.json'), 'utf8');

let s, idp;

before(async () => {
  s = await startStack({ gateway: false });
  idp = s.idp;
});

after(teardownAll);

const gateway = (extra = {}) => s.gateway({ policy: POLICY, config: extra });

// The value of one sample line, 0 when the series is absent.
function sample(text, series) {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

test('metrics are served on metrics_listen only, and a denial shows there by reason', async () => {
  const port = await freePort();
  const gw = await gateway({ metrics_listen: `127.0.0.1:${port}` });
  const metricsUrl = `http://127.0.0.1:${port}/metrics`;
  const scrape = async () => {
    const r = await httpRequest(metricsUrl);
    assert.equal(r.status, 200, r.body);
    assert.match(r.headers['content-type'], /^text\/plain; version=0\.0\.4/);
    return r.body;
  };

  // The public listener: 404 in the Hub's shape, with or without credentials, no metric in it.
  const alice = await idp.token('alice');
  for (const headers of [{}, { authorization: `Bearer ${alice}` }]) {
    for (const method of ['GET', 'HEAD']) {
      const pub = await httpRequest(`${gw.url}/-/metrics`, { method, headers });
      assert.equal(pub.status, 404, `${method} /-/metrics on the public listener`);
      assert.doesNotMatch(pub.body, /hubgate_/);
    }
  }

  const before = await scrape();
  assert.match(before, /# TYPE hubgate_requests_total counter/);
  const denied = sample(before, 'hubgate_denials_total{reason="not_member"}');
  const eve = await idp.token('eve');
  const r = await fetch(`${gw.url}/api/models/acme/bert`, { headers: { authorization: `Bearer ${eve}` } });
  assert.equal(r.status, 404);
  // Requests are counted when they complete, just after the answer went out: poll.
  let after = await scrape();
  for (let i = 0; i < 50 && sample(after, 'hubgate_requests_total{action="read",status="404"}') < 1; i++) {
    await sleep(50);
    after = await scrape();
  }
  assert.equal(sample(after, 'hubgate_denials_total{reason="not_member"}'), denied + 1, 'the denial is counted by its reason');
  assert.ok(sample(after, 'hubgate_requests_total{action="read",status="404"}') >= 1);

  // The metrics listener serves nothing else.
  assert.equal((await httpRequest(`http://127.0.0.1:${port}/-/metrics`)).status, 404);
  assert.equal((await httpRequest(`http://127.0.0.1:${port}/api/models/acme/bert`)).status, 404);
  assert.equal((await httpRequest(metricsUrl, { method: 'POST', body: 'x' })).status, 405);
  assert.match(gw.stderr(), new RegExp(`metrics on http://127\\.0\\.0\\.1:${port}/metrics`));
  await gw.stop();
});

test('without metrics_listen there are no metrics anywhere', async () => {
  const gw = await gateway();
  const pub = await httpRequest(`${gw.url}/-/metrics`);
  assert.equal(pub.status, 404);
  assert.doesNotMatch(pub.body, /hubgate_/);
  assert.doesNotMatch(gw.stderr(), /metrics on http/);
  await gw.stop();
});

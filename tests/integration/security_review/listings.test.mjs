// Issue 9, item 10: a listing is filtered whatever its success status.
// A listing hubgate filters is asked for whole: Range and If-Range (and the conditionals) are
// dropped on the way up, so a hub front that honours Range on JSON (HUB_FIXTURE_RANGE_JSON=1)
// still answers 200 and the caller sees only what the policy lets them read. An upstream that
// answers a success other than 200 anyway gets it filtered (203) or refused (206: a part of a
// listing is no listing), never relayed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { startStack, teardownAll, httpRequest, REPO } from '../../lib/harness.mjs';

const POLICY = fs.readFileSync(path.join(REPO, 'tests', 'fixtures', 'policy', 'members.json'), 'utf8');

let s, h, gw, mock, gwMock, eve;
let mockStatus = 200;
const EVERYTHING = [{ id: 'acme/bert', private: true }, { id: 'acme/secret-plans', private: true }, { id: 'google/gemma-mini', private: false }];

const gateway = (upstream, migrate) => s.gateway({ policy: POLICY, region: { upstream }, serviceToken: 'hf_fixture_service_token', migrate });

before(async () => {
  s = await startStack({ hub: { env: { HUB_FIXTURE_RANGE_JSON: '1' } }, gateway: false });
  h = s.hub;
  // An upstream that answers every listing with everything, under the status the test picks.
  mock = http.createServer((req, res) => {
    req.resume();
    const body = JSON.stringify(EVERYTHING);
    const headers = { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) };
    if (mockStatus === 206) headers['Content-Range'] = `bytes 0-${Buffer.byteLength(body) - 1}/${Buffer.byteLength(body)}`;
    res.writeHead(mockStatus, headers);
    res.end(body);
  });
  await new Promise((resolve) => mock.listen(0, '127.0.0.1', resolve));
  gw = await gateway(h.url, true);
  gwMock = await gateway(`http://127.0.0.1:${mock.address().port}`, false);
  eve = await s.idp.token('eve'); // in no org: sees external namespaces (google) only
});

after(async () => {
  mock?.close();
  await teardownAll();
});

const ids = (body) => JSON.parse(body).map((m) => m.id);

test('the fixture honours Range on JSON, as a CDN in front of a Hub does', async () => {
  const res = await httpRequest(`${h.url}/api/models`, { headers: { Authorization: `Bearer ${h.serviceToken}`, Range: 'bytes=0-' } });
  assert.equal(res.status, 206);
  assert.ok(ids(res.body).includes('acme/bert'));
});

for (const [name, headers] of [
  ['Range', { Range: 'bytes=0-' }],
  ['Range and If-Range', { Range: 'bytes=0-100000', 'If-Range': '"x"' }],
  ['a suffix Range', { Range: 'bytes=-1000000' }],
]) {
  test(`a listing asked with ${name} is asked for whole and filtered`, async () => {
    const res = await httpRequest(`${gw.url}/api/models`, { headers: { Authorization: `Bearer ${eve}`, ...headers } });
    assert.equal(res.status, 200, res.body);
    assert.equal(res.headers['content-range'], undefined);
    const names = ids(res.body);
    assert.ok(names.includes('google/gemma-mini'), names.join(' '));
    assert.ok(!names.some((n) => n.startsWith('acme/')), `eve sees only what she may read: ${names.join(' ')}`);
    const got = h.readLog().find((e) => e.headers['x-request-id'] === res.headers['x-request-id']);
    assert.equal(got.headers.range, undefined, 'Range never reaches the hub on a filtered route');
    assert.equal(got.headers['if-range'], undefined);
  });
}

test('datasets and spaces listings too', async () => {
  for (const type of ['datasets', 'spaces']) {
    const res = await httpRequest(`${gw.url}/api/${type}`, { headers: { Authorization: `Bearer ${eve}`, Range: 'bytes=0-' } });
    assert.equal(res.status, 200, `${type}: ${res.body}`);
    assert.ok(!ids(res.body).some((n) => n.startsWith('acme/')), `${type}: ${res.body}`);
  }
});

test('every success is filtered or refused, never relayed as the upstream sent it', async () => {
  const auth = { Authorization: `Bearer ${eve}` };
  for (const [status, want] of [[200, 200], [203, 203], [206, 502]]) {
    mockStatus = status;
    const res = await httpRequest(`${gwMock.url}/api/models`, { headers: { ...auth, Range: 'bytes=0-' } });
    assert.equal(res.status, want, `upstream ${status}: ${res.status} ${res.body}`);
    assert.ok(!res.body.includes('acme/'), `upstream ${status}: ${res.body}`);
    assert.equal(res.headers['content-range'], undefined);
    if (want === 502) assert.match(JSON.parse(res.body).error, /cannot filter/);
    else assert.deepEqual(ids(res.body), ['google/gemma-mini']);
  }
});

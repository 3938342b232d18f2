// Issue 9, item 1: the client address is not spoofable through X-Forwarded-For.
// A gateway trusts the proxies of 127.0.0.0/8 (so every request of this test arrives from a
// trusted proxy) and its policy lets acme's repos and google/gemma-mini be read only from
// 192.168.7.0/24 (an org `require` condition and a deny rule's `unless`). Every X-Forwarded-For
// line counts, walked from the right; `ip`, `ip:port`, `[v6]` and `[v6]:port` are read; any other
// entry makes the address unknown, and an unknown address passes no network condition. The
// audit event records the address (or "unknown", never the proxy's), and the hub receives the
// entries hubgate accepted, then the peer.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, auditRequestRow, teardownAll, httpRequest } from '../../lib/harness.mjs';

const LAB = ['192.168.7.0/24'];
const POLICY = {
  version: 1,
  orgs: {
    acme: {
      members: [{ group: 'acme-ml', role: 'write' }],
      require: { read: { networks: LAB } },
    },
  },
  external: { read: true, namespaces: ['google'] },
  rules: [
    { id: 'gemma-from-the-lab', effect: 'deny', actions: ['read'], repos: ['models/google/gemma-mini'], unless: { networks: LAB } },
  ],
};

let s, pg, h, gw, token;

const gateway = (policy, extra = {}) => s.gateway({ policy, config: { trusted_proxies: ['127.0.0.0/8'] }, ...extra });

before(async () => {
  s = await startStack({ gateway: false });
  ({ pg, hub: h } = s);
  gw = await gateway(POLICY);
  token = await s.idp.token('alice');
});

after(teardownAll);

// `lines`: the X-Forwarded-For lines the request carries, each sent as its own header line.
function get(target, lines) {
  const headers = { Authorization: `Bearer ${token}` };
  if (lines.length) headers['X-Forwarded-For'] = lines;
  return httpRequest(`${gw.url}${target}`, { headers });
}

// The audit row of a request: the client_ip column and the event's client.ip. Refusals are
// recorded without waiting for the database, so poll for the row.
async function auditedClient(rid) {
  const row = await auditRequestRow(pg, rid, "coalesce(host(client_ip), 'NULL') || '|' || (canonical::json->'client'->>'ip')", { tries: 200 });
  const [column, event] = row.split('|');
  return { column, event };
}

function received(rid) {
  const e = h.readLog().find((x) => x.headers['x-request-id'] === rid);
  assert.ok(e, `the hub received request ${rid}`);
  return e;
}

const UNKNOWN = 'unknown';
const cases = [
  // [name, X-Forwarded-For lines, the client hubgate must see, what the hub must receive]
  ['one entry from the lab', ['192.168.7.7'], '192.168.7.7', '192.168.7.7, 127.0.0.1'],
  ['no header: the proxy itself', [], '127.0.0.1', '127.0.0.1'],
  ['a spoofed first line, the proxy\'s own second line', ['192.168.7.7', '203.0.113.9'], '203.0.113.9', '203.0.113.9, 127.0.0.1'],
  ['a spoofed entry left of the real one', ['192.168.7.7, 203.0.113.9'], '203.0.113.9', '203.0.113.9, 127.0.0.1'],
  ['ip:port', ['192.168.7.7:4711'], '192.168.7.7', '192.168.7.7, 127.0.0.1'],
  ['a spoof, then ip:port', ['192.168.7.7', '203.0.113.9:4711'], '203.0.113.9', '203.0.113.9, 127.0.0.1'],
  ['a trusted hop with a port after the client', ['203.0.113.9:1', '127.0.0.2:80'], '203.0.113.9', '203.0.113.9, 127.0.0.2, 127.0.0.1'],
  ['[v6]:port', ['[2001:db8::7]:443'], '2001:db8::7', '2001:db8::7, 127.0.0.1'],
  ['bare v6', ['2001:DB8::7'], '2001:db8::7', '2001:db8::7, 127.0.0.1'],
  ['v4-mapped [v6] from the lab', ['[::ffff:192.168.7.9]'], '192.168.7.9', '192.168.7.9, 127.0.0.1'],
  ['a spoof, then garbage', ['192.168.7.7', 'garbage'], UNKNOWN, '127.0.0.1'],
  ['garbage right of a lab entry', ['192.168.7.7, not-an-address'], UNKNOWN, '127.0.0.1'],
  ['a port that is no port', ['192.168.7.7:http'], UNKNOWN, '127.0.0.1'],
  ['v4 in brackets', ['[192.168.7.7]'], UNKNOWN, '127.0.0.1'],
  ['a zone id', ['fe80::1%eth0'], UNKNOWN, '127.0.0.1'],
  ['RFC 7239 "unknown"', ['unknown'], UNKNOWN, '127.0.0.1'],
];

for (const [name, lines, client, forwarded] of cases) {
  test(`X-Forwarded-For: ${name}`, async () => {
    const inLab = client.startsWith('192.168.7.');
    // an org condition
    const repo = await get('/api/models/acme/bert', lines);
    assert.equal(repo.status, inLab ? 200 : 403, `${repo.status} ${repo.body}`);
    if (!inLab) assert.match(repo.headers['x-error-message'], client === UNKNOWN ? /client address is unknown/ : /192\.168\.7\.0\/24/);
    assert.deepEqual(await auditedClient(repo.headers['x-request-id']),
      { column: client === UNKNOWN ? 'NULL' : client, event: client });
    // a deny rule's exception
    const gemma = await get('/google/gemma-mini/resolve/main/config.json', lines);
    assert.equal(gemma.status, inLab ? 200 : 403, `${gemma.status} ${gemma.body}`);
    // a listing: forwarded whatever the address, filtered by it
    const list = await get('/api/models', lines);
    assert.equal(list.status, 200);
    const names = JSON.parse(list.body).map((m) => m.id);
    assert.equal(names.includes('google/gemma-mini'), inLab, names.join(' '));
    assert.equal(names.includes('acme/bert'), inLab, names.join(' '));
    const got = received(list.headers['x-request-id']);
    assert.equal(got.headers['x-forwarded-for'], forwarded, 'the X-Forwarded-For the hub received');
    assert.deepEqual(await auditedClient(list.headers['x-request-id']),
      { column: client === UNKNOWN ? 'NULL' : client, event: client });
    if (inLab) assert.equal(received(repo.headers['x-request-id']).headers['x-forwarded-for'], forwarded);
  });
}

test('the unknown address is never the proxy\'s own, even when the proxy is in the network', async () => {
  // Trusting the lab's own proxy: a fallback to the peer would now satisfy the condition.
  const gw2 = await gateway(
    { ...POLICY, orgs: { acme: { ...POLICY.orgs.acme, require: { read: { networks: ['127.0.0.0/8'] } } } } },
    { migrate: false });
  const headers = { Authorization: `Bearer ${token}` };
  const direct = await httpRequest(`${gw2.url}/api/models/acme/bert`, { headers });
  assert.equal(direct.status, 200, 'from the proxy itself, the condition holds');
  const spoofed = await httpRequest(`${gw2.url}/api/models/acme/bert`, { headers: { ...headers, 'X-Forwarded-For': ['203.0.113.9:4711:junk'] } });
  assert.equal(spoofed.status, 403, spoofed.body);
  assert.deepEqual(await auditedClient(spoofed.headers['x-request-id']), { column: 'NULL', event: UNKNOWN });
});

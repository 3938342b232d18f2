// Issue 9, item 6 (SSRF through egress): an upstream's redirects, Link headers and LFS hrefs
// may send clients, and through sealed links hubgate itself, only to the region's own upstream
// and the storage origins the region lists (regions.<name>.storage). Here the upstream is
// hostile: it points at an internal service (a loopback server standing for a metadata
// endpoint, and the IdP's discovery URL), through absolute, network-path and credentials-laden
// URLs, through a listed storage that redirects on, and through a listed name whose DNS answer
// is loopback. None of that content comes back through hubgate and the internal service sees
// not even a connection; every refusal is a 502 in the Hub's error shape, audited. Storage
// redirects are not followed server-side: the client gets a new sealed link (judged and
// audited again), and the storage headers sealed in a link reach its own origin only. Egress
// "redirect" mode hands out allowed URLs unchanged and refuses the rest.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { startStack, teardownAll, REPO } from '../../lib/harness.mjs';
import { lfsBatch } from '../../lib/clients.mjs';

const POLICY = fs.readFileSync(path.join(REPO, 'tests', 'fixtures', 'policy', 'members.json'), 'utf8');
const SECRET = 'INTERNAL-ONLY-7f3a'; // what the internal service would leak

let pg, idp, gw, redirectGw, token;
let secret, storage1, storage2, upstream;
const secretSeen = { connections: 0, requests: [] };
const storageSeen = [];

async function listen(handler, onConnection) {
  const server = http.createServer(handler);
  if (onConnection) server.on('connection', onConnection);
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  server.url = `http://127.0.0.1:${server.address().port}`;
  return server;
}

const oid = (c) => c.repeat(64);

before(async () => {
  // The internal service an attacker wants to reach.
  secret = await listen((req, res) => {
    secretSeen.requests.push({ method: req.method, url: req.url, headers: req.headers });
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end(SECRET);
  }, () => { secretSeen.connections++; });
  const dnsOrigin = `https://storage.localhost:${secret.address().port}`; // resolves to loopback

  // Two listed storage origins: the first redirects on, the second serves.
  storage1 = await listen((req, res) => {
    storageSeen.push({ origin: 1, url: req.url, headers: req.headers });
    const to = {
      '/to-secret': `${secret.url}/latest/meta-data/`,
      '/to-idp': `${idp.issuer}/.well-known/openid-configuration`,
      '/relative-hop': '/blob?hop=1',
      '/hop-same': '/blob?same=1',
      '/hop-cross': `${storage2.url}/blob2`,
    }[req.url];
    if (to) {
      res.writeHead(302, { Location: to, 'Content-Length': '0' });
      res.end();
      return;
    }
    if (req.url.startsWith('/blob')) {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      res.end('STORAGE-ONE-BYTES');
      return;
    }
    res.writeHead(404);
    res.end();
  });
  storage2 = await listen((req, res) => {
    storageSeen.push({ origin: 2, url: req.url, headers: req.headers });
    res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
    res.end('STORAGE-TWO-BYTES');
  });

  // The hostile upstream, Hub-shaped for the few routes used here.
  upstream = await listen((req, res) => {
    const file = req.url.match(/^\/acme\/bert\/resolve\/main\/([a-z0-9-]+)$/)?.[1];
    const locations = {
      'to-secret': `${secret.url}/latest/meta-data/`,
      'to-idp': `${idp.issuer}/.well-known/openid-configuration`,
      'network-path': `//127.0.0.1:${secret.address().port}/latest/meta-data/`,
      'with-credentials': `http://127.0.0.1:${storage1.address().port}@127.0.0.1:${secret.address().port}/x`,
      'to-storage': `${storage1.url}/blob`,
      'storage-to-secret': `${storage1.url}/to-secret`,
      'storage-to-idp': `${storage1.url}/to-idp`,
      'storage-relative': `${storage1.url}/relative-hop`,
      'dns-to-loopback': `${dnsOrigin}/latest/meta-data/`,
    };
    if (req.method === 'GET' && file && locations[file]) {
      res.writeHead(302, { Location: locations[file], 'Content-Length': '0', 'X-Linked-Size': '17' });
      res.end();
      return;
    }
    if (req.method === 'GET' && req.url === '/api/models/acme/bert') {
      const body = JSON.stringify({ id: 'acme/bert' });
      res.writeHead(200, { 'Content-Type': 'application/json', Link: `<${secret.url}/page2>; rel="next"` });
      res.end(body);
      return;
    }
    if (req.method === 'POST' && req.url === '/acme/bert.git/info/lfs/objects/batch') {
      let body = '';
      req.on('data', (d) => { body += d; });
      req.on('end', () => {
        const o = JSON.parse(body).objects[0];
        if (o.oid === oid('e')) {
          // Echoes the credential it was called with into a Hub-route action, as a hub that
          // hands clients their own credential for the verify call would.
          const verify = { href: `${upstream.url}/acme/bert.git/info/lfs/objects/verify`, header: { Authorization: req.headers.authorization, Cookie: 'session=svc' } };
          res.writeHead(200, { 'Content-Type': 'application/vnd.git-lfs+json' });
          res.end(JSON.stringify({ transfer: 'basic', objects: [{ oid: o.oid, size: o.size, authenticated: true, actions: { verify } }] }));
          return;
        }
        const action = {
          [oid('a')]: { href: `${secret.url}/latest/meta-data/` },
          [oid('b')]: { href: `${storage1.url}/hop-cross`, header: { 'X-Storage-Claim': 'claim-b' } },
          [oid('c')]: { href: `${storage1.url}/hop-same`, header: { 'X-Storage-Claim': 'claim-c' } },
          [oid('d')]: { href: `${dnsOrigin}/latest/meta-data/` },
        }[o.oid];
        const answer = { transfer: 'basic', objects: [{ oid: o.oid, size: o.size, authenticated: true, actions: { download: action } }] };
        res.writeHead(200, { 'Content-Type': 'application/vnd.git-lfs+json' });
        res.end(JSON.stringify(answer));
      });
      return;
    }
    res.writeHead(404, { 'X-Error-Code': 'EntryNotFound' });
    res.end();
  });

  const s = await startStack({ hub: false, gateway: false });
  ({ pg, idp } = s);
  const options = {
    policy: POLICY,
    region: { upstream: upstream.url, storage: [storage1.url, storage2.url, dnsOrigin] },
    serviceToken: 'hf_upstream_credential',
  };
  gw = await s.gateway(options);
  redirectGw = await s.gateway({ ...options, config: { egress: 'redirect', audit: { stream: 'redirect-mode' } } });
  token = await idp.token('alice');
});

after(async () => {
  for (const s of [secret, storage1, storage2, upstream]) {
    s?.closeAllConnections();
    s?.close();
  }
  await teardownAll();
});

const auth = () => ({ Authorization: `Bearer ${token}` });

function assertSecretUntouched(what) {
  assert.equal(secretSeen.connections, 0, `${what}: the internal service got a connection`);
  assert.deepEqual(secretSeen.requests, [], `${what}: the internal service got a request`);
}

// A refusal in the Hub's error shape, never the internal content.
async function assertRefused(res, what) {
  const text = await res.text();
  assert.equal(res.status, 502, `${what}: ${res.status} ${text}`);
  assert.ok(!text.includes(SECRET) && !text.includes('jwks_uri'), `${what}: leaked ${text}`);
  assert.ok(res.headers.get('x-error-message'), `${what}: X-Error-Message`);
  assert.equal(typeof JSON.parse(text).error, 'string', `${what}: {"error": ...} body`);
  assert.equal(res.headers.get('location'), null, `${what}: no Location handed out`);
  return res.headers.get('x-request-id');
}

function completion(gateway, requestId) {
  const stream = gateway.config.audit?.stream ?? 'default';
  const rows = pg.psql(`select e.canonical from audit_event e join audit_stream s on s.id = e.stream_id
    where e.request_id = '${requestId}' and e.kind = 'completion' and s.name = '${stream}'`);
  return rows ? JSON.parse(rows) : null;
}

async function waitCompletion(gateway, requestId) {
  for (let i = 0; i < 100; i++) {
    const ev = completion(gateway, requestId);
    if (ev) return ev;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`no completion event for ${requestId}`);
}

test('redirects from the upstream to unlisted destinations are refused, not sealed', async () => {
  for (const file of ['to-secret', 'to-idp', 'network-path', 'with-credentials']) {
    const res = await fetch(`${gw.url}/acme/bert/resolve/main/${file}`, { headers: auth(), redirect: 'manual' });
    const rid = await assertRefused(res, file);
    const ev = await waitCompletion(gw, rid);
    assert.equal(ev.response.status, 502, file);
    const want = file === 'with-credentials' ? /^\(not a plain http\(s\) origin/ : /^http:\/\/127\.0\.0\.1:\d+$/;
    assert.match(ev.details?.refused_destination ?? '', want, `${file}: audited with the refused origin`);
  }
  assertSecretUntouched('upstream redirects');
});

test('a Link header or an LFS href to an unlisted destination refuses the answer', async () => {
  const listing = await fetch(`${gw.url}/api/models/acme/bert`, { headers: auth() });
  await assertRefused(listing, 'Link header');
  const batch = await lfsBatch(gw.url, 'acme/bert', auth(), { operation: 'download', transfers: ['basic'], objects: [{ oid: oid('a'), size: 17 }] });
  await assertRefused(batch, 'LFS href');
  assertSecretUntouched('Link and LFS href');
});

test('a listed storage is reached through a sealed link; its redirects are never followed by hubgate', async () => {
  const ok = await fetch(`${gw.url}/acme/bert/resolve/main/to-storage`, { headers: auth(), redirect: 'manual' });
  assert.equal(ok.status, 302);
  const link = ok.headers.get('location');
  assert.ok(link.startsWith(`${gw.url}/-/egress/`), link);
  const bytes = await fetch(link);
  assert.equal(await bytes.text(), 'STORAGE-ONE-BYTES');

  // Listed storage redirecting to the internal service, or to the IdP: 502, nothing fetched.
  for (const file of ['storage-to-secret', 'storage-to-idp']) {
    const first = await fetch(`${gw.url}/acme/bert/resolve/main/${file}`, { headers: auth(), redirect: 'manual' });
    assert.equal(first.status, 302, file);
    const sealed = first.headers.get('location');
    assert.ok(sealed.startsWith(`${gw.url}/-/egress/`), sealed);
    const rid = await assertRefused(await fetch(sealed, { redirect: 'manual' }), file);
    const ev = await waitCompletion(gw, rid);
    assert.equal(ev.request.path, '/-/egress');
    assert.equal(ev.response.status, 502);
    assert.equal(ev.response.upstream_status, 302, `${file}: the storage's redirect, not its target, was fetched`);
  }
  assertSecretUntouched('storage redirects');

  // A relative redirect on the same storage: a new sealed link, which serves the bytes.
  const first = await fetch(`${gw.url}/acme/bert/resolve/main/storage-relative`, { headers: auth(), redirect: 'manual' });
  const hop = await fetch(first.headers.get('location'), { redirect: 'manual' });
  assert.equal(hop.status, 302);
  const next = hop.headers.get('location');
  assert.ok(next.startsWith(`${gw.url}/-/egress/`), `the storage's redirect is a new hubgate link: ${next}`);
  assert.equal(await (await fetch(next)).text(), 'STORAGE-ONE-BYTES');
  assert.ok(storageSeen.some((s) => s.origin === 1 && s.url === '/blob?hop=1'), 'resolved against the storage URL');
});

test('a listed name whose address is loopback is refused at connect time', async () => {
  const first = await fetch(`${gw.url}/acme/bert/resolve/main/dns-to-loopback`, { headers: auth(), redirect: 'manual' });
  assert.equal(first.status, 302, 'the origin is listed, so the link is sealed');
  const rid = await assertRefused(await fetch(first.headers.get('location')), 'DNS to loopback');
  const ev = await waitCompletion(gw, rid);
  assert.equal(ev.response.status, 502);
  assert.match(gw.stderr(), /refused to connect to (127\.0\.0\.1|::1) \(loopback\) for https:\/\/storage\.localhost:\d+/);

  const batch = await lfsBatch(gw.url, 'acme/bert', auth(), { operation: 'download', transfers: ['basic'], objects: [{ oid: oid('d'), size: 17 }] });
  assert.equal(batch.status, 200);
  const href = (await batch.json()).objects[0].actions.download.href;
  await assertRefused(await fetch(href), 'LFS href, DNS to loopback');
  assertSecretUntouched('DNS to loopback');
});

test('storage headers sealed in a link reach its own origin only', async () => {
  const hrefFor = async (o) => {
    const batch = await lfsBatch(gw.url, 'acme/bert', auth(), { operation: 'download', transfers: ['basic'], objects: [{ oid: o, size: 17 }] });
    assert.equal(batch.status, 200);
    const action = (await batch.json()).objects[0].actions.download;
    assert.equal(action.header, undefined, 'the client never sees the storage headers');
    return action.href;
  };
  // Cross-origin: storage1 gets the header, storage2 (where it redirects) does not.
  storageSeen.length = 0;
  const cross = await fetch(await hrefFor(oid('b')), { redirect: 'manual' });
  assert.equal(cross.status, 302);
  assert.equal(await (await fetch(cross.headers.get('location'))).text(), 'STORAGE-TWO-BYTES');
  const one = storageSeen.find((s) => s.origin === 1 && s.url === '/hop-cross');
  const two = storageSeen.find((s) => s.origin === 2 && s.url === '/blob2');
  assert.equal(one.headers['x-storage-claim'], 'claim-b');
  assert.equal(two.headers['x-storage-claim'], undefined, 'the claim header never goes to another origin');

  // Same origin: the header follows the redirect.
  const same = await fetch(await hrefFor(oid('c')), { redirect: 'manual' });
  assert.equal(same.status, 302);
  assert.equal(await (await fetch(same.headers.get('location'))).text(), 'STORAGE-ONE-BYTES');
  const blob = storageSeen.find((s) => s.origin === 1 && s.url === '/blob?same=1');
  assert.equal(blob.headers['x-storage-claim'], 'claim-c');
});

test('a credential the upstream puts in a Hub-route action never reaches the client', async () => {
  const batch = await lfsBatch(gw.url, 'acme/bert', auth(), { operation: 'download', transfers: ['basic'], objects: [{ oid: oid('e'), size: 17 }] });
  assert.equal(batch.status, 200);
  const text = await batch.text();
  assert.ok(!text.includes('hf_upstream_credential') && !text.includes('session=svc'), `the region's credential leaked: ${text}`);
  const verify = JSON.parse(text).objects[0].actions.verify;
  assert.equal(verify.href, `${gw.url}/acme/bert.git/info/lfs/objects/verify`);
  assert.deepEqual(verify.header, auth(), 'the client\'s own credential, for clients that send only these headers');
});

test('egress "redirect" mode hands out listed URLs unchanged and refuses the rest', async () => {
  const ok = await fetch(`${redirectGw.url}/acme/bert/resolve/main/to-storage`, { headers: auth(), redirect: 'manual' });
  assert.equal(ok.status, 302);
  assert.equal(ok.headers.get('location'), `${storage1.url}/blob`);
  for (const file of ['to-secret', 'to-idp', 'network-path']) {
    await assertRefused(await fetch(`${redirectGw.url}/acme/bert/resolve/main/${file}`, { headers: auth(), redirect: 'manual' }), `redirect mode: ${file}`);
  }
  const batch = await lfsBatch(redirectGw.url, 'acme/bert', auth(), { operation: 'download', transfers: ['basic'], objects: [{ oid: oid('b'), size: 17 }] });
  assert.equal(batch.status, 200);
  const action = (await batch.json()).objects[0].actions.download;
  assert.equal(action.href, `${storage1.url}/hop-cross`);
  assert.deepEqual(action.header, { 'X-Storage-Claim': 'claim-b' });
  assertSecretUntouched('redirect mode');
});

test('the internal service never heard from hubgate', () => {
  assertSecretUntouched('whole run');
});

// Issue 9, item 19: hubgate's own TLS listener (libmicrohttpd with GnuTLS), exercised by curl,
// git and @huggingface/hub against a certificate from a throwaway CA. The clients check the
// certificate for real (no "insecure" switch): each is given the CA the way its users would
// (curl --cacert, GIT_SSL_CAINFO, NODE_EXTRA_CA_CERTS). Also: plain HTTP on the TLS port is
// never served, and the hub is told the client came over https.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { startStack, makeTempDir, teardownAll, REPO } from '../../lib/harness.mjs';

const run = promisify(execFile);
const POLICY = fs.readFileSync(path.join(REPO, 'tests', 'fixtures', 'policy', 'members.json'), 'utf8');

let h, gw, pg, tmp, ca, token;

// A CA and a server certificate for 127.0.0.1, made with the openssl CLI.
function makeCertificates(dir) {
  const ossl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  ossl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key',
    '-out', 'ca.crt', '-subj', '/CN=hubgate test CA', '-days', '2');
  ossl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'tls.key',
    '-out', 'tls.csr', '-subj', '/CN=127.0.0.1');
  fs.writeFileSync(path.join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  ossl('x509', '-req', '-in', 'tls.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'tls.crt',
    '-days', '2', '-extfile', 'ext.cnf');
  return {
    ca: path.join(dir, 'ca.crt'),
    cert: fs.readFileSync(path.join(dir, 'tls.crt'), 'utf8'),
    key: fs.readFileSync(path.join(dir, 'tls.key'), 'utf8'),
  };
}

before(async () => {
  tmp = makeTempDir('tls');
  const certs = makeCertificates(tmp);
  ca = certs.ca;
  let idp;
  ({ idp, hub: h, gw, pg } = await startStack({
    policy: POLICY,
    storage: true,
    config: { tls: { cert: 'tls.crt', key: 'tls.key' } },
    files: { 'tls.crt': certs.cert, 'tls.key': certs.key },
  }));
  assert.match(gw.url, /^https:\/\//);
  const sso = await idp.token('alice');
  const res = await run('curl', ['-sS', '--cacert', ca, '-X', 'POST', '-H', `Authorization: Bearer ${sso}`,
    '-H', 'Content-Type: application/json', '--data', JSON.stringify({ name: 'tls tests', scope: 'read', expires_days: 1 }),
    `${gw.url}/-/tokens`]);
  token = JSON.parse(res.stdout).token;
  assert.match(token, /^hf_gw_/);
});

after(teardownAll);

const curl = (...args) => run('curl', ['-sS', '--cacert', ca, ...args], { encoding: 'buffer', maxBuffer: 64 << 20 });

test('curl: health, a download and a ranged download over verified TLS', async () => {
  const health = await curl('-o', '/dev/null', '-w', '%{http_code} %{ssl_verify_result}', `${gw.url}/-/health`);
  assert.equal(health.stdout.toString(), '200 0');
  const auth = ['-H', `Authorization: Bearer ${token}`];
  const whole = (await curl('-f', ...auth, `${gw.url}/acme/bert/resolve/main/config.json`)).stdout;
  assert.equal(JSON.parse(whole.toString('utf8')).model_type, 'bert');
  const part = await curl('-f', '-r', '2-11', '-w', '\n%{http_code}', ...auth, `${gw.url}/acme/bert/resolve/main/config.json`);
  const text = part.stdout.toString('utf8');
  const status = text.slice(text.lastIndexOf('\n') + 1);
  assert.equal(status, '206');
  assert.equal(text.slice(0, text.lastIndexOf('\n')), whole.subarray(2, 12).toString('utf8'));
  // The hub learns that the client spoke https to hubgate.
  const seen = h.readLog().filter((e) => e.target === '/acme/bert/resolve/main/config.json');
  assert.ok(seen.length >= 2);
  for (const e of seen) assert.equal(e.headers['x-forwarded-proto'], 'https');
});

test('a client that does not trust the certificate is refused by its own check; plain HTTP is not served', async () => {
  await assert.rejects(run('curl', ['-sS', '-o', '/dev/null', `${gw.url}/-/health`]), /certificate|SSL/i);
  const plain = gw.url.replace(/^https:/, 'http:');
  const r = await run('curl', ['-sS', '-m', '5', '-o', '/dev/null', '-w', '%{http_code}', `${plain}/-/health`])
    .then((x) => x.stdout, (e) => `error ${e.code}`);
  assert.notEqual(r, '200', 'hubgate answered plain HTTP on its TLS port');
});

test('git clones over TLS with the hubgate token as its password', async () => {
  const dest = path.join(tmp, 'bert');
  const u = new URL(gw.url);
  const remote = `${u.protocol}//user:${token}@${u.host}/acme/bert`;
  await run('git', ['clone', '-q', remote, dest], {
    env: { ...process.env, GIT_SSL_CAINFO: ca, GIT_LFS_SKIP_SMUDGE: '1', GIT_TERMINAL_PROMPT: '0', HOME: tmp },
  });
  const config = JSON.parse(fs.readFileSync(path.join(dest, 'config.json'), 'utf8'));
  assert.equal(config.model_type, 'bert');
});

test('@huggingface/hub lists and downloads over TLS, trusting the CA through NODE_EXTRA_CA_CERTS', async () => {
  // NODE_EXTRA_CA_CERTS is read at process start: the client runs in a child process, as a
  // user's script would.
  const script = `
    import * as hub from '@huggingface/hub';
    const opts = { hubUrl: ${JSON.stringify(gw.url)}, accessToken: ${JSON.stringify(token)}, repo: 'acme/bert' };
    const files = [];
    for await (const f of hub.listFiles(opts)) files.push(f.path);
    const blob = await hub.downloadFile({ ...opts, path: 'config.json' });
    console.log(JSON.stringify({ files, model_type: JSON.parse(await blob.text()).model_type }));
  `;
  const file = path.join(REPO, 'tests', `.tls-client-${process.pid}.mjs`);
  fs.writeFileSync(file, script);
  try {
    const out = await run(process.execPath, [file], { env: { ...process.env, NODE_EXTRA_CA_CERTS: ca } });
    const got = JSON.parse(out.stdout.trim());
    assert.equal(got.model_type, 'bert');
    assert.ok(got.files.includes('config.json'), got.files.join(','));
  } finally {
    fs.rmSync(file, { force: true });
  }
});

test('TLS offloaded at a load balancer: plain HTTP listener, https public_url, and the hub is told https', async (t) => {
  // The common deployment: the balancer terminates TLS and forwards plain HTTP from a trusted
  // address; hubgate's public URL is the https one clients use.
  const { idp, hub: hub2, gw: offload } = await startStack({
    t,
    policy: POLICY,
    storage: true,
    config: { public_url: 'https://hub.corp.example', trusted_proxies: ['127.0.0.0/8'] },
  });
  const sso = await idp.token('alice');
  const r = await fetch(`${offload.url}/acme/bert/resolve/main/config.json`, {
    headers: { Authorization: `Bearer ${sso}`, 'X-Forwarded-For': '203.0.113.7', 'X-Forwarded-Proto': 'http' },
  });
  assert.equal(r.status, 200);
  const seen = hub2.readLog().filter((e) => e.target === '/acme/bert/resolve/main/config.json');
  assert.equal(seen.length, 1);
  assert.equal(seen[0].headers['x-forwarded-proto'], 'https');
  assert.equal(seen[0].headers['x-forwarded-host'], 'hub.corp.example');
  assert.equal(seen[0].headers['x-forwarded-for'], '203.0.113.7, 127.0.0.1');
});

// A renewed certificate (same paths, new files) is presented after SIGHUP, to new connections,
// without a restart; a key that is not the certificate's is refused and the pair in force stays.
test('SIGHUP: a renewed certificate is presented; a mismatched pair is refused and the old one stays', async () => {
  const tls = await import('node:tls');
  const peer = () => new Promise((resolve, reject) => {
    const u = new URL(gw.url);
    const s = tls.connect({ host: u.hostname, port: Number(u.port), ca: fs.readFileSync(ca) }, () => {
      const c = s.getPeerCertificate();
      s.end();
      resolve(c.serialNumber);
    });
    s.on('error', reject);
  });
  const before = await peer();
  const dir = makeTempDir('tls-renewed');
  const ossl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  ossl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'tls.key',
    '-out', 'tls.csr', '-subj', '/CN=127.0.0.1');
  fs.writeFileSync(path.join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  ossl('x509', '-req', '-in', 'tls.csr', '-CA', ca, '-CAkey', path.join(tmp, 'ca.key'), '-CAcreateserial',
    '-out', 'tls.crt', '-days', '2', '-extfile', 'ext.cnf');
  const install = (file, from) => {
    const to = path.join(gw.dir, file);
    fs.writeFileSync(`${to}.new`, fs.readFileSync(path.join(dir, from)), { mode: 0o600 });
    fs.renameSync(`${to}.new`, to);
  };
  const untilLog = async (re) => {
    for (let i = 0; i < 100 && !re.test(gw.stderr()); i++) await new Promise((r) => setTimeout(r, 50));
    assert.match(gw.stderr(), re);
  };
  // the new certificate with the old key: refused, the old pair stays in force
  install('tls.crt', 'tls.crt');
  gw.signal('SIGHUP');
  await untilLog(/tls\.key is not the private key of the certificate .*tls\.crt/);
  assert.equal(await peer(), before);
  // and with its own key: presented from the next connection on
  install('tls.key', 'tls.key');
  gw.signal('SIGHUP');
  await untilLog(/now presenting the certificate CN=127\.0\.0\.1, expires /);
  const after = await peer();
  assert.notEqual(after, before);
  // recorded as a key rotation: the certificates' ids, nothing secret
  const [ev] = pg.psql(`select canonical from audit_event where kind = 'keys.rotated'`).split('\n').filter(Boolean).map((c) => JSON.parse(c));
  assert.equal(ev.details.purpose, 'tls_certificate');
  assert.equal(ev.details.from.length, 1);
  assert.notDeepEqual(ev.details.from, ev.details.to);
  const { stdout } = await curl(`${gw.url}/-/health`);
  assert.equal(stdout.toString().length > 0, true);
});

// A large Xet download through hubgate against the same download straight from the Hub
// fixture's CAS, in one run (bench/xet.sh runs this; options there). The file is written to
// the fixture as xet-core writes one (64 MiB xorbs of raw 64 KiB chunks, one shard, a commit by
// SHA-256); each round then downloads it the way Xet clients do — read token, v2
// reconstruction, the transfer URLs fetched `parallel` at a time with their ranges — once
// directly (the fixture's token and CAS) and once through hubgate (hubgate's token, its CAS, its
// sealed links), alternating, the bytes hashed as they arrive. Prints MB/s of each, their ratio
// (goal: ≥ 0.9), and hubgate's resident memory before and at its peak (VmHWM), which must not
// grow with the file.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { startStack, mintToken, teardownAll, REPO as ROOT } from '../tests/lib/harness.mjs';
import { randomHash, shardOfXorbs } from '../tests/lib/xet.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const MIB = 1024 * 1024;
const sizeMiB = arg('mib', 1024);
const rounds = arg('rounds', 3);
const parallel = arg('parallel', 8);
const XORB_MIB = 64;
const CHUNK = 64 * 1024;
const REPO = 'acme/xet-bench';

const status = (pid) => Object.fromEntries(fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')
  .map((l) => l.split(':')).filter((p) => p.length === 2).map(([k, v]) => [k, parseInt(v, 10)]));

async function must(res, what) {
  if (!res.ok) throw new Error(`${what}: ${res.status} ${await res.text()}`);
  return res;
}

// Writes the file to the fixture as xet-core would; returns its Xet hash and SHA-256.
async function upload(h) {
  const tok = await (await must(await fetch(`${h.url}/api/models/${REPO}/xet-write-token/main`,
    { headers: { Authorization: `Bearer ${h.serviceToken}` } }), 'write token')).json();
  const auth = { Authorization: `Bearer ${tok.accessToken}` };
  const sha = crypto.createHash('sha256');
  const xorbs = [];
  for (let left = sizeMiB; left > 0; left -= XORB_MIB) {
    const n = Math.min(left, XORB_MIB) * MIB / CHUNK;
    const recs = [];
    const sizes = [];
    for (let i = 0; i < n; i++) {
      const c = crypto.randomBytes(CHUNK);
      sha.update(c);
      const hd = Buffer.alloc(8);
      hd.writeUIntLE(c.length, 1, 3);
      hd.writeUIntLE(c.length, 5, 3);
      recs.push(hd, c);
      sizes.push(c.length);
    }
    const body = Buffer.concat(recs);
    const hash = randomHash();
    await must(await fetch(`${tok.casUrl}/v1/xorbs/default/${hash}`, { method: 'POST', headers: auth, body }), 'xorb');
    xorbs.push({ hash, sizes, len: body.length });
  }
  const fileHash = randomHash();
  const sha256 = sha.digest('hex');
  await must(await fetch(`${tok.casUrl}/v1/shards`, { method: 'POST', headers: auth, body: shardOfXorbs({ fileHash, sha256, xorbs }) }), 'shard');
  await must(await fetch(`${h.url}/api/models/${REPO}/commit/main`, {
    method: 'POST', headers: { Authorization: `Bearer ${h.serviceToken}`, 'Content-Type': 'application/x-ndjson' },
    body: [{ key: 'header', value: { summary: 'bench file' } },
      { key: 'lfsFile', value: { path: 'big.bin', algo: 'sha256', oid: sha256, size: sizeMiB * MIB } }].map((x) => JSON.stringify(x)).join('\n'),
  }), 'commit');
  return { fileHash, sha256 };
}

// One download as a Xet client makes it: the read token from `hubUrl` with `token`, the plan,
// the ranges `parallel` at a time. Returns the seconds it took; checks the bytes.
async function download(hubUrl, token, file) {
  const t0 = process.hrtime.bigint();
  const rt = await (await must(await fetch(`${hubUrl}/api/models/${REPO}/xet-read-token/main`,
    { headers: { Authorization: `Bearer ${token}` } }), 'read token')).json();
  const plan = await (await must(await fetch(`${rt.casUrl}/v2/reconstructions/${file.fileHash}`,
    { headers: { Authorization: `Bearer ${rt.accessToken}` } }), 'reconstruction')).json();
  const jobs = plan.terms.map((term) => {
    const f = plan.xorbs[term.hash][0];
    return { url: f.url, range: `bytes=${f.ranges[0].bytes.start}-${f.ranges[0].bytes.end}` };
  });
  const got = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      const res = await must(await fetch(jobs[i].url, { headers: { Range: jobs[i].range } }), 'transfer');
      // raw records: skip each 8-byte header, hash the chunks in order later
      const h = crypto.createHash('sha256');
      let carry = Buffer.alloc(0), want = 0, n = 0;
      for await (const part of res.body) {
        let b = carry.length ? Buffer.concat([carry, part]) : Buffer.from(part);
        carry = Buffer.alloc(0);
        while (b.length) {
          if (want === 0) {
            if (b.length < 8) { carry = b; break; }
            want = b[1] | (b[2] << 8) | (b[3] << 16);
            b = b.subarray(8);
          }
          const take = Math.min(want, b.length);
          h.update(b.subarray(0, take));
          n += take;
          want -= take;
          b = b.subarray(take);
        }
      }
      got[i] = { digest: h, n };
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const total = got.reduce((s, g) => s + g.n, 0);
  if (total !== sizeMiB * MIB) throw new Error(`downloaded ${total} bytes, expected ${sizeMiB * MIB}`);
  return secs;
}

const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
// CPU seconds a process has used (utime + stime from /proc/PID/stat; clock ticks of 1/100 s).
const cpu = (pid) => {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
};

try {
  let idp, h, gw;
  ({ idp, hub: h, gateway: gw } = await startStack({ hub: { xet: true }, gateway: false }));
  const gateway = await gw({
    policy: fs.readFileSync(path.join(ROOT, 'tests', 'fixtures', 'policy', 'members.json'), 'utf8'),
    region: { storage: [h.storageUrl, h.casUrl] },
    env: { HUBGATE_LOG_LEVEL: 'warn' },
  });
  const token = (await mintToken(gateway, await idp.token('alice'), { name: 'bench' })).token;
  await must(await fetch(`${gateway.url}/api/repos/create`, {
    method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'xet-bench', organization: 'acme', type: 'model' }),
  }), 'create');
  console.log(`== Xet download: ${sizeMiB} MiB (${Math.ceil(sizeMiB / XORB_MIB)} xorbs of ${XORB_MIB} MiB), ${parallel} transfers at a time, ${rounds} rounds`);
  const file = await upload(h);
  const pid = gateway.pid;
  const before = status(pid);
  const direct = [], through = [], gwCpu = [], hubCpu = [[], []];
  for (let r = 0; r < rounds; r++) {
    let h0 = cpu(h.pid);
    direct.push(await download(h.url, h.serviceToken, file));
    hubCpu[0].push(cpu(h.pid) - h0);
    const g0 = cpu(pid);
    h0 = cpu(h.pid);
    through.push(await download(gateway.url, token, file));
    gwCpu.push(cpu(pid) - g0);
    hubCpu[1].push(cpu(h.pid) - h0);
    const mbs = (s) => (sizeMiB * MIB / 1e6 / s).toFixed(0);
    console.log(`round ${r + 1}: direct ${mbs(direct[r])} MB/s, through hubgate ${mbs(through[r])} MB/s; ` +
      `CPU s: fixture ${hubCpu[0][r].toFixed(2)} / ${hubCpu[1][r].toFixed(2)}, hubgate ${gwCpu[r].toFixed(2)}`);
  }
  const after = status(pid);
  const d = sizeMiB * MIB / 1e6 / median(direct), t = sizeMiB * MIB / 1e6 / median(through);
  const ratio = t / d;
  console.log(`medians: direct ${d.toFixed(0)} MB/s, through hubgate ${t.toFixed(0)} MB/s: ${ratio.toFixed(2)}x (goal >= 0.9: ${ratio >= 0.9 ? 'met' : 'not met'})`);
  console.log(`hubgate CPU: ${(median(gwCpu) * 1000 / (sizeMiB / 1024)).toFixed(0)} ms per GiB carried (median)`);
  console.log(`hubgate RSS: ${(before.VmRSS / 1024).toFixed(1)} MiB before, peak ${(after.VmHWM / 1024).toFixed(1)} MiB over ${rounds} downloads of ${sizeMiB} MiB`);
} finally {
  await teardownAll();
}

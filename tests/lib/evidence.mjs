// The audit chain and the signed checkpoints, written from docs/evidence-format.md and
// audit/checkpoint.h alone (no hubgate code), so that tests can check what hubgate computes
// and forge what an attacker could.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const sha256 = (...parts) => {
  const h = crypto.createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

// The genesis prev_hash of a stream, hex.
export const genesis = (stream) => sha256(`hubgate-audit-genesis-v1\n${stream}`).toString('hex');

// 2 when the canonical text says "v":2 (its last key), else 1.
export const chainVersion = (canonical) => (canonical.endsWith('"v":2}') ? 2 : 1);

// decision.org of an event ('' when absent).
export function eventOrg(canonical) {
  const d = JSON.parse(canonical).decision;
  return d && typeof d.org === 'string' ? d.org : '';
}

// SHA-256(canonical), hex: a chain-2 event's commitment.
export const commitment = (canonical) => sha256(canonical).toString('hex');

// The chain-2 link from (prev, org, commitment), hex.
export function linkV2(prevHex, org, commitmentHex) {
  const o = Buffer.from(org, 'utf8');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(o.length);
  return sha256(Buffer.from(prevHex, 'hex'), len, o, Buffer.from(commitmentHex, 'hex')).toString('hex');
}

// The hash of `canonical` after prevHex under the chain version the text names, hex.
export function chainHash(prevHex, canonical) {
  if (chainVersion(canonical) === 1) return sha256(Buffer.from(prevHex, 'hex'), canonical).toString('hex');
  return linkV2(prevHex, eventOrg(canonical), commitment(canonical));
}

// The text a checkpoint signs (audit/checkpoint.h).
export const checkpointMessage = ({ stream, seq, hash, ts }) =>
  `hubgate-audit-checkpoint-v1\nstream=${stream}\nseq=${seq}\nhash=${hash}\nts=${ts}\n`;

// Ed25519 signature of a checkpoint with a PEM private key: a Buffer.
export const signCheckpoint = (cp, pemKey) => crypto.sign(null, Buffer.from(checkpointMessage(cp)), pemKey);

// ---- A report directory, written from the database by the contract alone ----
//
// What `hubgate report soc2` writes for the integrity part (docs/evidence-format.md "The report
// directory"): events.jsonl, report.json's period/scope/integrity, manifest.json and
// manifest.sig (signed with `openssl pkeyutl -sign -rawin`). report.html and events.csv are
// small fixed files here, on purpose: report verify only checks their hashes against the
// manifest (their content is the generator's, tested by evidence.report). Tests use this to
// check `hubgate report verify` independently of the generator.

export const GLOBAL_KINDS = ['policy.loaded', 'policy.rejected', 'gateway.started', 'gateway.stopped', 'keys.changed', 'keys.rotated', 'audit.spooled', 'stream.retired'];

// RFC 3339 with six fractional digits, from a Date (millisecond precision).
export const isoMicro = (d) => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

// The key id of a PEM key (public or private): the first 8 bytes of SHA-256(raw public key).
export function keyId(pem) {
  const der = crypto.createPublicKey(pem).export({ type: 'spki', format: 'der' });
  return sha256(der.subarray(der.length - 32)).subarray(0, 8).toString('hex');
}

// The public key PEM of a private key PEM.
export const publicPem = (pem) => crypto.createPublicKey(pem).export({ type: 'spki', format: 'pem' });

/** Every public key the database registered (audit_stream, audit_stream_key), written into dir
 *  as files: the `--pubkey FILE` arguments of `report verify`. q runs SQL on that database. */
export function registeredKeyArgs(q, dir) {
  return q('select public_key from audit_stream union select public_key from audit_stream_key')
    .split(/(?<=-----END PUBLIC KEY-----)\n/).filter(Boolean)
    .flatMap((pem, i) => {
      const f = path.join(dir, `db-key${i}.pub`);
      fs.writeFileSync(f, `${pem.trim()}\n`);
      return ['--pubkey', f];
    });
}

const rows = (pg, sql, db) => {
  const out = pg.psql(sql, { db });
  return out ? out.split('\n').map((l) => JSON.parse(l)) : [];
};

// Reads the database `db` and returns { streams: [{ name, start, end, lines: [line objects] }] }
// for the period [from, to) (RFC 3339 strings with six fractional digits) and scope org|null.
// hideMargins: in a report of every org, hide the v2 events outside the run of in-period ones.
export function reportData(pg, { from, to, org = null, hideMargins = false, db = 'hubgate' }) {
  const streams = [];
  for (const [id, name] of rows(pg, 'select json_build_array(id, name) from audit_stream order by name collate "C"', db)) {
    const cps = rows(pg, `select json_build_array(seq, encode(hash, 'hex'),
        to_char(ts at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), key_id, encode(signature, 'hex'))
        from audit_checkpoint where stream_id = ${id} order by seq, ts`, db)
      .map(([seq, hash, ts, key_id, sig]) => ({ seq, hash, ts, key_id, signature: Buffer.from(sig, 'hex').toString('base64') }));
    let start = { genesis: true, hash: genesis(name), seq: 0 };
    for (const c of cps) if (c.ts <= from && c.seq >= start.seq) start = c;
    const end = cps.find((c) => c.ts >= to) ?? null;
    const upto = end ? `and seq <= ${end.seq}` : '';
    const events = rows(pg, `select json_build_array(seq, encode(prev_hash, 'hex'), encode(hash, 'hex'), canonical)
        from audit_event where stream_id = ${id} and seq > ${start.seq} ${upto} order by seq`, db)
      .map(([seq, prev, hash, canonical]) => {
        const ev = JSON.parse(canonical);
        return { seq, prev, hash, canonical, ev, inPeriod: ev.ts >= from && ev.ts < to, chain: chainVersion(canonical) };
      });
    const inSeqs = events.filter((e) => e.inPeriod).map((e) => e.seq);
    const [lo, hi] = [Math.min(...inSeqs), Math.max(...inSeqs)];
    const lines = events.map((e) => {
      const eorg = e.ev.decision?.org ?? '';
      let hidden = false;
      if (e.chain === 2 && org !== null) hidden = !(eorg === org || (eorg === '' && GLOBAL_KINDS.includes(e.ev.kind)));
      else if (e.chain === 2 && hideMargins) hidden = !e.inPeriod && !(e.seq > lo && e.seq < hi);
      return hidden
        ? { chain: 2, commitment: commitment(e.canonical), hash: e.hash, hidden: true, org: eorg, prev_hash: e.prev, seq: e.seq, stream: name }
        : { canonical: e.canonical, chain: e.chain, hash: e.hash, in_period: e.inPeriod, prev_hash: e.prev, seq: e.seq, stream: name };
    });
    streams.push({ name, start, end, lines, keyIds: [...new Set(cps.map((c) => c.key_id))] });
  }
  return { from, to, org, streams };
}

// report.json for the data above: period, scope and integrity from the data; the counts (what
// `hubgate report verify` recounts from the events) from `base`, a report.json that `hubgate
// report soc2` wrote for the same period and scope, when given.
export function reportJson(data, base = {}) {
  return {
    ...base,
    period: { from: data.from, to: data.to },
    scope: { org: data.org },
    integrity: {
      streams: data.streams.map((s) => {
        const inp = s.lines.filter((l) => l.in_period).map((l) => l.seq);
        return {
          stream: s.name, key_ids: s.keyIds, start: s.start, end: s.end,
          first_seq: inp.length ? Math.min(...inp) : null, last_seq: inp.length ? Math.max(...inp) : null, verified: true,
        };
      }),
    },
  };
}

export const jsonl = (lines) => lines.map((l) => `${JSON.stringify(l)}\n`).join('');

// Writes manifest.json over every other file of dir and signs it into manifest.sig (base64,
// one line) with `openssl pkeyutl -sign -rawin`, as an auditor could check it.
export function signManifest(dir, keyFile) {
  const files = {};
  for (const f of fs.readdirSync(dir).sort()) {
    if (f === 'manifest.json' || f === 'manifest.sig') continue;
    files[f] = sha256(fs.readFileSync(path.join(dir, f))).toString('hex');
  }
  const manifest = JSON.stringify({ files, format: 1, generated: isoMicro(new Date()), key_id: keyId(fs.readFileSync(keyFile, 'utf8')) });
  fs.writeFileSync(path.join(dir, 'manifest.json'), manifest);
  const sig = execFileSync('openssl', ['pkeyutl', '-sign', '-inkey', keyFile, '-rawin', '-in', path.join(dir, 'manifest.json')]);
  fs.writeFileSync(path.join(dir, 'manifest.sig'), `${sig.toString('base64')}\n`);
}

// A whole report directory: events.jsonl (streams in name order), report.json (counts from
// base), a fixed report.html and events.csv (hashed, not read, by verify), the signed manifest.
export function writeReportDir(dir, data, keyFile, base = {}) {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'events.jsonl'), data.streams.map((s) => jsonl(s.lines)).join(''));
  fs.writeFileSync(path.join(dir, 'report.json'), JSON.stringify(reportJson(data, base)));
  fs.writeFileSync(path.join(dir, 'report.html'), '<!doctype html><title>report</title><h1>CC6.1</h1>\n');
  fs.writeFileSync(path.join(dir, 'events.csv'), 'stream,seq,kind\n');
  signManifest(dir, keyFile);
}

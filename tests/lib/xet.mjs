// Xet storage objects built by hand, as xet-core (hf_xet, the client huggingface_hub uses)
// sends them: a xorb of raw chunk records with its XETBLOB footer, and an upload shard without
// footer that defines one file from one xorb. Hashes are random: the Hub fixture takes them as
// given, and hubgate never reads them. For tests that replay a Python client's HTTP sequence.
import crypto from 'node:crypto';

/** The 32 bytes of a Xet hash string (each 8-byte word printed as a little-endian u64). */
export function hashToBytes(str) {
  const out = Buffer.alloc(32);
  for (let w = 0; w < 4; w += 1) {
    for (let i = 0; i < 8; i += 1) out[w * 8 + i] = parseInt(str.slice(w * 16 + (7 - i) * 2, w * 16 + (7 - i) * 2 + 2), 16);
  }
  return out;
}

export const randomHash = () => crypto.randomBytes(32).toString('hex');

/** A xorb of the chunks as raw records (8-byte header each), with xet-core's footer. */
export function xorbOf(chunks) {
  const recs = chunks.map((c) => {
    const hd = Buffer.alloc(8);
    hd.writeUIntLE(c.length, 1, 3);
    hd.writeUIntLE(c.length, 5, 3);
    return Buffer.concat([hd, c]);
  });
  return Buffer.concat([...recs, Buffer.from('XETBLOB'), Buffer.alloc(64, 7)]);
}

const TAG = Buffer.from([...Buffer.from('HFRepoMetaData'), 0, 85, 105, 103, 69, 106, 123, 129, 87, 131, 165, 189, 217, 92, 205, 209, 74, 169]);
const u64 = (n) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(n)); return b; };
const u32s = (...ns) => { const b = Buffer.alloc(4 * ns.length); ns.forEach((n, i) => b.writeUInt32LE(n >>> 0, 4 * i)); return b; };
const BOOKEND = Buffer.concat([Buffer.alloc(32, 0xff), Buffer.alloc(16)]);

/**
 * An upload shard (footer_size 0) defining file `fileHash` as chunks [0, termEnd) of xorb
 * `xorbHash`, with verification and sha256 entries, and the xorb's CAS entry.
 *   chunks   the xorb's chunk contents; xorbLen its serialized length
 */
export function shardOf({ fileHash, xorbHash, chunks, xorbLen, termEnd = chunks.length }) {
  const content = Buffer.concat(chunks.slice(0, termEnd));
  return shardOfXorbs({
    fileHash, sha256: crypto.createHash('sha256').update(content).digest('hex'),
    xorbs: [{ hash: xorbHash, sizes: chunks.map((c) => c.length), len: xorbLen, termEnd, termLen: content.length }],
  });
}

/**
 * An upload shard defining file `fileHash` (SHA-256 `sha256`, hex) as one term per xorb, in
 * order: xorbs [{hash, sizes (its chunks' lengths), len (serialized), termEnd (default all
 * chunks), termLen (default the sum of sizes)}].
 */
export function shardOfXorbs({ fileHash, sha256, xorbs }) {
  const parts = [TAG, u64(2), u64(0), hashToBytes(fileHash), u32s(0x80000000 | 0x40000000, xorbs.length), Buffer.alloc(8)];
  const sum = (a) => a.reduce((n, x) => n + x, 0);
  for (const x of xorbs) {
    const end = x.termEnd ?? x.sizes.length;
    parts.push(hashToBytes(x.hash), u32s(0, x.termLen ?? sum(x.sizes.slice(0, end)), 0, end));
  }
  for (let i = 0; i < xorbs.length; i++) parts.push(crypto.randomBytes(32), Buffer.alloc(16));
  parts.push(hashToBytes(sha256), Buffer.alloc(16), BOOKEND);
  for (const x of xorbs) {
    parts.push(hashToBytes(x.hash), u32s(0, x.sizes.length, sum(x.sizes), x.len));
    let start = 0;
    for (const n of x.sizes) {
      parts.push(crypto.randomBytes(32), u32s(start, n), Buffer.alloc(8));
      start += n;
    }
  }
  parts.push(BOOKEND);
  return Buffer.concat(parts);
}

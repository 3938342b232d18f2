// The audit chain and the signed checkpoints, written from docs/evidence-format.md and
// audit/checkpoint.h alone (no hubgate code), so that tests can check what hubgate computes
// and forge what an attacker could.
import crypto from 'node:crypto';

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

// Completeness of a transcript bundle: the index of heads (creditledger-heads/1, see
// docs/completeness.md), written from the format's text as docs/verify_bundle_standalone.py is.
// A checkpoint commits to the index root by one extension line; each HeadProof folds a leaf (or,
// for an aggregate the ledger does not have, an empty subtree or another aggregate's leaf) up the
// compact sparse Merkle tree to that root.
import { b64, concat, equal, sha256, utf8 } from "./bytes.mjs";
import { Unusable } from "./bytes.mjs";

export const HEADS_LINE = "creditledger-heads/1";
const EMPTY = new Uint8Array(32);
const node = (l, r) => sha256(concat(Uint8Array.of(3), l, r));
const bit = (key, i) => (key[i >> 3] >> (7 - (i & 7))) & 1;

function u64(n) {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n));
  return out;
}

export const indexKey = (originatorId) => sha256(utf8.encode(originatorId));
export const leafHash = (key, version, head) => sha256(concat(Uint8Array.of(2), key, u64(version), head));

/** The index root a checkpoint body's extension lines commit to, or null if it has none. */
export function headsRoot(extensions) {
  const lines = extensions.filter((l) => l.split(" ")[0] === HEADS_LINE);
  if (lines.length === 0) return null;
  if (lines.length > 1) throw new Error("the checkpoint carries more than one heads line");
  let root; // everything after "creditledger-heads/1 ", as Python reads it: nothing may follow
  try {
    root = b64(lines[0].slice(HEADS_LINE.length + 1), "index root");
  } catch {
    root = new Uint8Array(0);
  }
  if (root.length !== 32) throw new Error("the heads line's root is not canonical base64 of 32 bytes");
  return root;
}

const PROOF = ["originator_id", "version", "head", "siblings", "other"];

/** Read one HeadProof of a bundle (``Unusable`` if malformed). */
export function readHeadProof(p) {
  if (p === null || typeof p !== "object" || Array.isArray(p) ||
      JSON.stringify(Object.keys(p).sort()) !== JSON.stringify([...PROOF].sort())) {
    throw new Unusable(`a head proof has the fields ${Object.keys(p ?? {}).sort()}, not ${[...PROOF].sort()}`);
  }
  // an impossible value (a negative version, a wrong length) is not unusable input but a proof
  // that fails (bad-index-proof), as in Python: only the JSON types are checked here
  if (typeof p.originator_id !== "string" || !Number.isSafeInteger(p.version) ||
      !Array.isArray(p.siblings)) {
    throw new Unusable("a head proof's originator_id, version or siblings are malformed");
  }
  const out = { originator_id: p.originator_id, version: p.version, head: b64(p.head, "head"),
    siblings: p.siblings.map((s) => b64(s, "sibling")), other: null };
  if (p.other !== null) {
    const o = p.other;
    if (o === null || typeof o !== "object" || JSON.stringify(Object.keys(o).sort()) !== '["head","key","version"]' ||
        !Number.isSafeInteger(o.version)) {
      throw new Unusable("a head proof's other leaf is malformed");
    }
    out.other = { key: b64(o.key, "other key"), version: o.version, head: b64(o.head, "other head") };
  }
  return out;
}

/** Does ``p`` fold to ``root``? (membership when version > 0, else absence) */
export async function proofHolds(p, root) {
  const key = await indexKey(p.originator_id);
  const d = p.siblings.length;
  if (d > 256 || p.siblings.some((s) => s.length !== 32) || p.version < 0) return false;
  let h;
  if (p.version > 0) {
    if (p.head.length !== 32 || p.other !== null) return false;
    h = await leafHash(key, p.version, p.head);
  } else if (p.head.length !== 0) {
    return false;
  } else if (p.other === null) {
    h = EMPTY;
  } else {
    const o = p.other;
    if (o.key.length !== 32 || o.head.length !== 32 || o.version < 1 || equal(o.key, key)) return false;
    for (let i = 0; i < d; i++) if (bit(o.key, i) !== bit(key, i)) return false;
    h = await leafHash(o.key, o.version, o.head);
  }
  for (let i = d - 1; i >= 0; i--) {
    h = bit(key, i) ? await node(p.siblings[i], h) : await node(h, p.siblings[i]);
  }
  return equal(h, root);
}

// RFC 9162 inclusion proofs (section 2.1.3.2) and C2SP signed-note checkpoints, as
// docs/verify_bundle_standalone.py checks them.
import { b64, concat, ed25519Verify, equal, sha256, text, utf8 } from "./bytes.mjs";

const node = (left, right) => sha256(concat(Uint8Array.of(1), left, right));

export async function verifyInclusion(leaf, index, size, proof, root) {
  if (!(index >= 0 && index < size) || [leaf, root, ...proof].some((h) => h.length !== 32)) {
    throw new Error("malformed inclusion proof");
  }
  // Tree sizes fit in 2^53 but not in 32-bit bit operations: shift with BigInt.
  let fn = BigInt(index), sn = BigInt(size - 1), r = leaf;
  for (const p of proof) {
    if (sn === 0n) throw new Error("inclusion proof too long");
    if (fn & 1n || fn === sn) {
      r = await node(p, r);
      while (fn && !(fn & 1n)) { fn >>= 1n; sn >>= 1n; }
    } else {
      r = await node(r, p);
    }
    fn >>= 1n; sn >>= 1n;
  }
  if (sn !== 0n || !equal(r, root)) {
    throw new Error(`inclusion proof for leaf ${index} of ${size} does not match the root`);
  }
}

/** Verify the root key's signature on a checkpoint note; return [tree size, root, extension lines]. */
export async function openCheckpoint(note, origin, key) {
  const cut = note.lastIndexOf("\n\n");
  if (cut < 0 || !note.endsWith("\n") || /[\x00-\x09\x0b-\x1f]/.test(note)) {
    throw new Error("not a signed note");
  }
  const body = utf8.encode(note.slice(0, cut + 1));
  const keyHash = (await sha256(concat(utf8.encode(origin), Uint8Array.of(10, 1), key))).slice(0, 4);
  let verified = false;
  for (const line of note.slice(cut + 2, -1).split("\n")) {
    const parts = line.split(" ");
    if (parts.length !== 3 || parts[0] !== "\u2014") throw new Error("malformed signature line");
    const blob = b64(parts[2], "signature");
    if (parts[1] === origin && equal(blob.slice(0, 4), keyHash)) {
      if (!(await ed25519Verify(key, blob.slice(4), body))) {
        throw new Error("the root key's signature does not verify");
      }
      verified = true;
    }
  }
  if (!verified) throw new Error("the checkpoint is not signed by the root key");
  const lines = text(body).slice(0, -1).split("\n");
  if (lines.length < 3 || lines[0] !== origin) throw new Error(`the checkpoint's origin is not ${origin}`);
  if (!/^(0|[1-9][0-9]{0,19})$/.test(lines[1])) throw new Error("malformed tree size");
  const root = b64(lines[2], "root hash");
  if (root.length !== 32) throw new Error("malformed root hash");
  return [Number(lines[1]), root, lines.slice(3)];
}

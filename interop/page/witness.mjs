// Witness cosignatures (C2SP tlog-cosignature, cosignature/v1) on a bundle's checkpoint, as
// `creditledger verify-bundle --witness VKEY --quorum K --max-age D` counts them: a trusted
// witness's line that does not verify is an error, one dated more than a minute ahead is refused,
// one older than the maximum age is stale, and K of the trusted witnesses must have cosigned.
import { b64, concat, ed25519Verify, equal, sha256, utf8, Unusable } from "./bytes.mjs";

const LABEL = "cosignature/v1\n";

/** A witness verifier key ``name+hex(key ID)+base64(0x04 || key)`` → { name, key, keyId }. */
export async function parseWitnessKey(vkey) {
  const value = vkey.trim();
  const first = value.indexOf("+"), second = value.indexOf("+", first + 1);
  const name = value.slice(0, first);
  if (first <= 0 || second < 0 || /\s/.test(name)) {
    throw new Unusable(`not a witness verifier key (name+id+key): ${value.slice(0, 80)}`);
  }
  const raw = b64(value.slice(second + 1), `witness key ${name}`);
  if (raw.length !== 33 || raw[0] !== 4) {
    throw new Unusable(`witness key ${name}: not a cosignature/v1 Ed25519 key (type 0x04)`);
  }
  const key = raw.slice(1);
  const keyId = (await sha256(concat(utf8.encode(name), Uint8Array.of(10, 4), key))).slice(0, 4);
  if ([...keyId].map((x) => x.toString(16).padStart(2, "0")).join("") !== value.slice(first + 1, second).toLowerCase()) {
    throw new Unusable(`witness key ${name}: the key ID does not match the key`);
  }
  return { name, key, keyId };
}

/** Seconds in ``7d``, ``24h``, ``90m``, ``1h30m``, ``3600s`` or ``3600`` (as the CLI's --max-age). */
export function duration(text) {
  const value = text.trim();
  if (/^\d+$/.test(value)) return Number(value);
  const m = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(value);
  if (!value || !m) throw new Unusable(`maximum age: ${JSON.stringify(value)} is not a duration like 24h, 7d or 90m`);
  const [d, h, mi, s] = m.slice(1).map((g) => Number(g || 0));
  return ((d * 24 + h) * 60 + mi) * 60 + s;
}

/** The timestamp of ``witness``'s valid cosignature on ``note``, or null; throws if it does not verify. */
async function cosignatureTime(note, witness) {
  const cut = note.lastIndexOf("\n\n");
  const body = utf8.encode(note.slice(0, cut + 1));
  for (const line of note.slice(cut + 2, -1).split("\n")) {
    const [, name, blob64] = line.split(" ");
    const blob = b64(blob64, "signature");
    if (name !== witness.name || !equal(blob.slice(0, 4), witness.keyId)) continue;
    if (blob.length !== 4 + 8 + 64) throw new Error(`the cosignature of ${witness.name} has the wrong length`);
    const stamp = new DataView(blob.buffer, blob.byteOffset + 4, 8).getBigUint64(0);
    const message = concat(utf8.encode(`${LABEL}time ${stamp}\n`), body);
    if (!(await ed25519Verify(witness.key, blob.slice(12), message))) {
      throw new Error(`the cosignature of ${witness.name} does not verify`);
    }
    return Number(stamp);
  }
  return null;
}

/**
 * Demand ``quorum`` of ``witnesses``' cosignatures on ``note``, none older than ``maxAge``
 * seconds (null: any age) at ``now`` (seconds). Returns { name: timestamp } of those counted;
 * throws an Error saying what is missing.
 */
export async function checkQuorum(note, witnesses, quorum, maxAge, now) {
  const cosigned = {}, missing = [], stale = [];
  for (const w of witnesses) {
    const stamp = await cosignatureTime(note, w);
    if (stamp === null) missing.push(w.name);
    else if (stamp > now + 60) throw new Error(`the cosignature of ${w.name} is dated in the future`);
    else if (maxAge !== null && now - stamp > maxAge) stale.push(w.name);
    else cosigned[w.name] = stamp;
  }
  if (Object.keys(cosigned).length < quorum) {
    const why = missing.length ? [`no cosignature from ${missing.join(", ")}`] : [];
    if (stale.length) why.push(`cosignatures older than ${maxAge} s from ${stale.join(", ")}`);
    throw new Error(`${Object.keys(cosigned).length} of the ${quorum} witness cosignatures demanded: ${why.join("; ")}`);
  }
  return cosigned;
}

// Byte helpers and the one cryptography the page uses: WebCrypto's SHA-256, SHA-1 (for UUID
// version 5 only, as RFC 9562 defines it) and Ed25519. Nothing here is home-made crypto.

export const utf8 = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

export class Unusable extends Error {} // the input is not what it claims to be (the CLI's exit 2)

export function text(bytes) {
  return decoder.decode(bytes);
}

export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

export function equal(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function fromHex(value) {
  if (!/^([0-9a-fA-F]{2})*$/.test(value)) throw new Unusable("not hexadecimal");
  return Uint8Array.from(value.match(/../g) || [], (h) => parseInt(h, 16));
}

/** Canonical base64 only, as the Python verifiers insist (a re-encoding must give it back). */
export function b64(value, what) {
  let raw;
  try {
    raw = Uint8Array.from(atob(value), (c) => c.charCodeAt(0));
  } catch {
    throw new Unusable(`${what} is not base64`);
  }
  if (typeof value !== "string" || toB64(raw) !== value) {
    throw new Unusable(`${what} is not canonical base64`);
  }
  return raw;
}

export function toB64(bytes) {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

export async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

export async function ed25519Verify(publicKey, signature, message) {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  try {
    const key = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false,
      ["verify"]);
    return await crypto.subtle.verify({ name: "Ed25519" }, key, signature, message);
  } catch {
    return false;
  }
}

/** RFC 9562 UUID version 5 (name-based, SHA-1), as Python's uuid.uuid5; its 32 hex digits. */
export async function uuid5(namespace, name) {
  const ns = fromHex(namespace.replaceAll("-", ""));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-1", concat(ns, utf8.encode(name))));
  const out = digest.slice(0, 16);
  out[6] = (out[6] & 0x0f) | 0x50;
  out[8] = (out[8] & 0x3f) | 0x80;
  return hex(out);
}

/** A public key as a person pastes it: base64 (32 bytes), 64 hex digits or an Ed25519 PEM. */
export function readPublicKey(pasted) {
  const value = pasted.trim();
  if (value.startsWith("-----BEGIN")) {
    const body = value.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
    const der = b64(body, "the PEM key");
    const prefix = "302a300506032b6570032100"; // SubjectPublicKeyInfo of an Ed25519 key (RFC 8410)
    if (der.length !== 44 || hex(der.slice(0, 12)) !== prefix) {
      throw new Unusable("the PEM key is not an Ed25519 public key");
    }
    return der.slice(12);
  }
  if (/^[0-9a-fA-F]{64}$/.test(value)) return fromHex(value);
  try {
    const raw = b64(value, "the key");
    if (raw.length === 32) return raw;
  } catch { /* fall through to the one message below */ }
  throw new Unusable("expected an Ed25519 public key: PEM, base64 (32 bytes) or hex (64 digits)");
}

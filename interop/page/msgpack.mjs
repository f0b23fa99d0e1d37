// The msgpack bytes creditledger hashes and signs (ints, str, bytes and lists, as msgspec
// writes them: the smallest header that fits). A port of docs/verify_bundle_standalone.py.
import { concat, utf8, Unusable } from "./bytes.mjs";

function int(n) {
  if (!Number.isSafeInteger(n)) throw new Unusable(`integer out of range: ${n}`);
  if (n >= 0 && n <= 0x7f) return Uint8Array.of(n);
  if (n < 0 && n >= -32) return Uint8Array.of(n & 0xff);
  const forms = [[0, 0xff, 0xcc, 1], [0, 0xffff, 0xcd, 2], [0, 0xffffffff, 0xce, 4],
    [0, Infinity, 0xcf, 8], [-128, -1, 0xd0, 1], [-(2 ** 15), -1, 0xd1, 2],
    [-(2 ** 31), -1, 0xd2, 4], [-Infinity, -1, 0xd3, 8]];
  const [, , code, size] = forms.find(([lo, hi]) => lo <= n && n <= hi);
  const out = new DataView(new ArrayBuffer(1 + size));
  out.setUint8(0, code);
  if (size === 8) out.setBigUint64(1, BigInt.asUintN(64, BigInt(n)));
  else if (size === 4) out.setUint32(1, n >>> 0);
  else if (size === 2) out.setUint16(1, n & 0xffff);
  else out.setUint8(1, n & 0xff);
  return new Uint8Array(out.buffer);
}

function length(n, small, [c8, c16, c32]) {
  if (small && n <= small[1]) return Uint8Array.of(small[0] | n);
  if (n <= 0xff && c8) return Uint8Array.of(c8, n);
  if (n <= 0xffff) return Uint8Array.of(c16, n >> 8, n & 0xff);
  return Uint8Array.of(c32, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
}

export function msgpack(value) {
  if (typeof value === "number") return int(value);
  if (typeof value === "string") {
    const raw = utf8.encode(value);
    return concat(length(raw.length, [0xa0, 31], [0xd9, 0xda, 0xdb]), raw);
  }
  if (value instanceof Uint8Array) return concat(length(value.length, null, [0xc4, 0xc5, 0xc6]), value);
  if (Array.isArray(value)) {
    return concat(length(value.length, [0x90, 15], [0, 0xdc, 0xdd]), ...value.map(msgpack));
  }
  throw new Unusable(`cannot encode ${typeof value}`);
}

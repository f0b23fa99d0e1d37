// W3C Data Integrity EdDSA proofs (vc-di-eddsa), eddsa-rdfc-2022 (RDFC-1.0 by jsonld.js and
// rdf-canonize, in safe mode), as creditledger.audit.vc.integrity checks them. Only this suite:
// creditledger signs certificates and CLRs with it, and verify-credential accepts no other for
// them (eddsa-jcs-2022 proofs occur only in version 1 certificates, which the page refuses). The JSON-LD contexts come from the package's
// shipped copies, inlined at build time: the loader refuses every other URL, it never fetches.
import jsonld from "jsonld";
import { decode as b58decode, encode as b58encode } from "base58-universal";
import CONTEXTS from "virtual:contexts";
import { concat, ed25519Verify, equal, hex, sha256, utf8 } from "./bytes.mjs";

export const RDFC = "eddsa-rdfc-2022";
const ED25519_PUB = Uint8Array.of(0xed, 0x01); // multicodec ed25519-pub, as did:key uses it

/** A refusal naming what is wrong (the CLI's InvalidCredentialError). */
export class Invalid extends Error {}

export async function documentLoader(url) {
  if (!Object.hasOwn(CONTEXTS, url)) {
    throw new Invalid(`the context ${url} is not one this verifier knows (it fetches nothing)`);
  }
  return { contextUrl: null, documentUrl: url, document: structuredClone(CONTEXTS[url]) };
}

/** The Ed25519 key of a did:key verification method (did:key:z6Mk…#z6Mk…). */
export function keyOfMethod(method) {
  if (typeof method !== "string" || !method.startsWith("did:key:z")) {
    throw new Invalid(`verificationMethod ${JSON.stringify(method)} is not an Ed25519 did:key`);
  }
  const [did, fragment] = method.split("#", 2);
  const encoded = did.slice("did:key:".length);
  if (fragment !== undefined && fragment !== encoded) {
    throw new Invalid(`verificationMethod ${method}: the fragment is not the key`);
  }
  let raw;
  try {
    raw = b58decode(encoded.slice(1));
  } catch {
    raw = new Uint8Array();
  }
  if (raw.length !== 34 || !equal(raw.slice(0, 2), ED25519_PUB) || b58encode(raw) !== encoded.slice(1)) {
    throw new Invalid(`verificationMethod ${method} is not an Ed25519 key`);
  }
  return raw.slice(2);
}

export const didKey = (raw) => "did:key:z" + b58encode(concat(ED25519_PUB, raw));
export const keyId = async (raw) => "ed25519:" + hex(await sha256(raw)).slice(0, 32);

async function nquads(document) {
  try {
    // safe mode (jsonld.js's default for canonize): a property or type no context defines is
    // an error, never silently dropped, so nothing unsigned can ride along.
    return await jsonld.canonize(document, { algorithm: "RDFC-1.0", format: "application/n-quads",
      documentLoader, safe: true });
  } catch (err) {
    if (err instanceof Invalid) throw err;
    let cause = err;
    while (cause && cause.details && cause.details.cause) cause = cause.details.cause;
    if (cause instanceof Invalid) throw cause;
    throw new Invalid(`not canonical JSON-LD: ${cause.message || err.message}`);
  }
}

async function hashData(unsecured, options) {
  const config = { ...options, "@context": unsecured["@context"] }; // vc-di-eddsa 3.2.5 step 4
  const parts = [await nquads(config), await nquads(unsecured)];
  return concat(...(await Promise.all(parts.map((p) => sha256(utf8.encode(p))))));
}

/** Check one proof over the document without its proofs; return the key that made it. */
export async function verifyProof(unsecured, proof) {
  const suite = proof.cryptosuite;
  if (proof.type !== "DataIntegrityProof" || suite !== RDFC) {
    throw new Invalid(`a ${JSON.stringify(proof.type)} proof with cryptosuite ` +
      `${JSON.stringify(suite)}: expected a DataIntegrityProof, ${RDFC}`);
  }
  const key = keyOfMethod(proof.verificationMethod);
  const value = proof.proofValue;
  if (typeof value !== "string" || !value.startsWith("z")) {
    throw new Invalid("proofValue is not multibase base58btc ('z...')");
  }
  let signature;
  try {
    signature = b58decode(value.slice(1));
  } catch {
    throw new Invalid("proofValue is not base58btc");
  }
  const options = Object.fromEntries(Object.entries(proof).filter(([k]) => k !== "proofValue"));
  if (!(await ed25519Verify(key, signature, await hashData(unsecured, options)))) {
    throw new Invalid(`the ${suite} signature by ${await keyId(key)} does not match: the ` +
      "document was changed after it was signed, or the proof was made with another key");
  }
  return key;
}

export const withoutProof = (document) =>
  Object.fromEntries(Object.entries(document).filter(([k]) => k !== "proof"));

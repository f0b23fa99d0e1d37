// Checking an Open Badges 3.0 course certificate (as `creditledger verify-credential` does)
// and a CLR 2.0 learner record (as creditledger.audit.transcript.verify_clr does), check by
// named check. The first failure names its check; the checks after it are not run.
import { equal } from "./bytes.mjs";
import { Invalid, RDFC, didKey, keyId, verifyProof, withoutProof } from "./integrity.mjs";
import { checkSchemas, schemaResult } from "./schemas.mjs";

const VC_V2 = "https://www.w3.org/ns/credentials/v2";
const OB_V3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json";
const CLR_V2 = "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json";
const EXTENSION = "https://w3id.org/creditledger/contexts/credentials-v1.jsonld";
const EXTENSION_SCHEMA = "https://w3id.org/creditledger/schemas/credentials-v1.json";
// 1EdTech's Open Badges 3.0 AchievementCredential schema (shipped, compiled at build time)
const OB_SCHEMA = "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json";
const CREDENTIAL_SCHEMAS = [OB_SCHEMA, EXTENSION_SCHEMA];
const CLR_SCHEMA = "https://purl.imsglobal.org/spec/clr/v2p0/schema/json/clr_v2p0_clrcredential_schema.json";
const CERTIFICATE_CONTEXT = [VC_V2, OB_V3, EXTENSION];
const CLR_CONTEXT = [VC_V2, CLR_V2, OB_V3];
const OB_TYPE = ["VerifiableCredential", "OpenBadgeCredential"];
const CLR_TYPE = ["VerifiableCredential", "ClrCredential"];

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

// A JSON text with sorted keys, as Python's json.dumps(sort_keys=True) compares nodes.
function sorted(value) {
  if (Array.isArray(value)) return value.map(sorted);
  if (isObject(value)) return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sorted(value[k])]));
  return value;
}
const key = (value) => JSON.stringify(sorted(value));

function* containers(document) {
  const stack = [document];
  while (stack.length) {
    const item = stack.pop();
    yield item;
    for (const v of Object.values(item)) if (v !== null && typeof v === "object") stack.push(v);
  }
}

/** What the signature (over RDF statements) cannot see is refused by shape (audit/vc/shape.py). */
function shapeRules(document) {
  const found = new Map();
  for (const item of containers(document)) {
    if (Array.isArray(item) && new Set(item.map(key)).size !== item.length) {
      throw new Invalid("a list holds the same item twice");
    }
    if (isObject(item) && typeof item.id === "string" && Object.keys(item).length > 1) {
      if (!found.has(item.id)) found.set(item.id, key(item));
      if (found.get(item.id) !== key(item)) throw new Invalid(`the node ${item.id} is written twice, differently`);
    }
  }
}

function urnUuid(value, what) {
  if (typeof value !== "string" || !/^urn:uuid:[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}$/.test(value)) {
    throw new Invalid(`${what} ${JSON.stringify(value)} is not a urn:uuid`);
  }
  return value.slice(9);
}

class Checks {
  constructor(ids) { this.list = ids.map((id) => ({ id, status: "skip", detail: "" })); }
  async run(id, step, result) {
    const check = this.list.find((c) => c.id === id);
    try {
      const value = await step();
      Object.assign(check, { status: "pass", detail: await result(value) });
      return value;
    } catch (err) {
      if (!(err instanceof Invalid)) throw err;
      Object.assign(check, { status: "fail", detail: err.message });
      throw err;
    }
  }
}

async function rdfcProof(document, proof, what = "") {
  const prefix = what ? `${what}: ` : "";
  if (Array.isArray(proof) && proof.length === 1) proof = proof[0]; // a proof set of one, as OB 3.0 writes it
  if (!isObject(proof)) throw new Invalid(`${prefix}no proof (one ${RDFC} proof expected)`);
  if (proof.cryptosuite !== RDFC) {
    throw new Invalid(`${prefix}the proof's cryptosuite is ${JSON.stringify(proof.cryptosuite)}, not ${RDFC}`);
  }
  try {
    return await verifyProof(withoutProof(document), proof);
  } catch (err) {
    if (err instanceof Invalid && prefix) err.message = prefix + err.message;
    throw err;
  }
}

const verified = async (k) => `${RDFC} signature by ${await keyId(k)} verifies`;

async function anchor(role, k, pinned) {
  if (pinned && !equal(pinned, k)) {
    throw new Invalid(`the ${role}'s proof was made with key ${await keyId(k)}, not with the given ` +
      `${role} key ${await keyId(pinned)}`);
  }
  return `${await keyId(k)}: ` + (pinned ? "the given key" : "NOT anchored (no key given; the document's own key was used)");
}

// -- the course certificate ---------------------------------------------------------------------

export const CERTIFICATE_CHECKS = ["shape", "schema", "proof-issuer", "proof-seal", "issuer-binding",
  "key-issuer", "key-seal", "status"];

function certificateShape(d) {
  if (!same(d["@context"], CERTIFICATE_CONTEXT)) {
    throw new Invalid(`not an Open Badges 3.0 course certificate: @context must be ${JSON.stringify(CERTIFICATE_CONTEXT)}`);
  }
  if (!same(d.type, OB_TYPE)) throw new Invalid("not an OpenBadgeCredential (type)");
  const subject = d.credentialSubject;
  if (!isObject(subject)) throw new Invalid("not a course certificate: no credentialSubject object");
  if (!isObject(subject.achievement) || subject.achievement.achievementType !== "Course") {
    throw new Invalid("not a course certificate: credentialSubject.achievement.achievementType must be Course");
  }
  shapeRules(d);
  if (!(same(subject.achievement.creator, subject.source) && same(subject.source, d.issuer))) {
    throw new Invalid("the achievement's creator and the subject's source must be the issuer, written the same");
  }
  return urnUuid(d.id, "the credential id");
}

function proofSet(d) {
  const found = d.proof;
  if (found === undefined || found === null) throw new Invalid("no proof: the certificate is not signed");
  if (!Array.isArray(found) || found.length !== 2 || !found.every(isObject)) {
    throw new Invalid("expected a proof set of two proofs, the offering school's and the alliance secretariat's seal");
  }
  if (found.some((p) => "previousProof" in p)) throw new Invalid("the proofs of a proof set chain to no other");
  const issuer = isObject(d.issuer) ? d.issuer.id : undefined;
  let [first, second] = found;
  if (String(second.verificationMethod ?? "").startsWith(`${issuer}#`)) [first, second] = [second, first];
  return [first, second];
}

/** The result of a refused credential: its checks (the failed one, then those not run). */
async function refused(kind, checks, step) {
  try {
    return await step();
  } catch (err) {
    if (!(err instanceof Invalid)) throw err;
    return { kind, checks: checks.list, anchored: false, summary: null };
  }
}

export function verifyCertificate(d, schoolKey, sealKey) {
  const checks = new Checks(CERTIFICATE_CHECKS);
  return refused("certificate", checks, () => certificateChecks(checks, d, schoolKey, sealKey));
}

async function certificateChecks(checks, d, schoolKey, sealKey) {
  let proofs;
  await checks.run("shape", () => certificateShape(d), () => "an Open Badges 3.0 course credential, document version 2");
  await checks.run("schema", () => checkSchemas(d, CREDENTIAL_SCHEMAS), schemaResult);
  const keys = [];
  keys[0] = await checks.run("proof-issuer", async () => {
    proofs = proofSet(d);
    return rdfcProof(d, proofs[0]);
  }, verified);
  keys[1] = await checks.run("proof-seal", () => rdfcProof(d, proofs[1]), verified);
  await checks.run("issuer-binding", () => {
    const issuer = isObject(d.issuer) ? d.issuer.id : d.issuer;
    if (issuer !== didKey(keys[0])) {
      throw new Invalid(`the issuer ${JSON.stringify(issuer)} is not the did:key of the key that made the first proof`);
    }
    if (equal(keys[0], keys[1])) {
      throw new Invalid("both proofs were made with the same key: the seal must be the secretariat's own");
    }
    return issuer;
  }, (issuer) => `the issuer ${issuer} is the key of the first proof`);
  await checks.run("key-issuer", () => anchor("offering school", keys[0], schoolKey), (t) => t);
  await checks.run("key-seal", () => anchor("alliance secretariat", keys[1], sealKey), (t) => t);
  await checks.run("status", () => "not checked (offline: give the ledger, or the issuer's status list, to check it)", (t) => t);
  const subject = d.credentialSubject, achievement = subject.achievement;
  return { kind: "certificate", checks: checks.list, anchored: !!(schoolKey && sealKey),
    summary: { id: d.id, course: achievement.name, code: achievement.humanCode ?? "",
      school: d.issuer?.name, alliance: d.alliance?.name, credits: subject.creditsEarned,
      hours: achievement.courseHours, score: subject.result?.[0]?.value, term: subject.term ?? "",
      learner: subject.identifier?.[0]?.identityHash } };
}

// -- the CLR -----------------------------------------------------------------------------------

export const CLR_CHECKS = ["shape", "schema", "proof-issuer", "issuer-binding", "key-issuer",
  "credentials-proofs", "credentials-issuer", "credentials-schemas", "credentials-learner",
  "lineage"];

function clrShape(d) {
  if (!Array.isArray(d["@context"]) || !same(d["@context"].slice(0, 3), CLR_CONTEXT)) {
    throw new Invalid(`@context must start ${JSON.stringify(CLR_CONTEXT)}`);
  }
  if (!same(d.type, CLR_TYPE)) throw new Invalid(`not a ClrCredential: type must be ${JSON.stringify(CLR_TYPE)}`);
  const subject = d.credentialSubject;
  if (!isObject(subject) || !same(subject.type, ["ClrSubject"])) throw new Invalid("credentialSubject must be a ClrSubject");
  if (!isObject(d.issuer)) throw new Invalid("the issuer must be a Profile");
  const found = subject.verifiableCredential;
  if (!Array.isArray(found) || !found.length || !found.every((c) => isObject(c) && same(c.type, OB_TYPE) &&
      isObject(c.credentialSubject) && isObject(c.credentialSubject.achievement))) {
    throw new Invalid("verifiableCredential must list OpenBadgeCredentials (one at least), each of one achievement");
  }
  shapeRules(d);
  urnUuid(d.id, "the CLR's id");
  return found;
}

export function verifyClr(d, schoolKey) {
  const checks = new Checks(CLR_CHECKS);
  return refused("clr", checks, () => clrChecks(checks, d, schoolKey));
}

async function clrChecks(checks, d, schoolKey) {
  const credentials = await checks.run("shape", () => clrShape(d), (found) =>
    `a CLR 2.0 ClrCredential of ${found.length} OpenBadgeCredentials`);
  await checks.run("schema", () => checkSchemas(d, [CLR_SCHEMA]), schemaResult);
  const k = await checks.run("proof-issuer", () => rdfcProof(d, d.proof), verified);
  await checks.run("issuer-binding", () => {
    if (d.issuer.id !== didKey(k)) {
      throw new Invalid(`the issuer ${JSON.stringify(d.issuer.id)} is not the did:key of the key that signed the CLR`);
    }
    return d.issuer.id;
  }, (issuer) => `the issuer ${issuer} is the did:key of the proof's key`);
  await checks.run("key-issuer", () => anchor("school", k, schoolKey), (t) => t);
  const keys = await checks.run("credentials-proofs", async () => {
    const out = [];
    for (const c of credentials) out.push(await rdfcProof(c, c.proof, `credential ${c.id}`));
    return out;
  }, (found) => `the ${RDFC} signatures of all ${found.length} credentials verify`);
  await checks.run("credentials-issuer", () => credentials.forEach((c, i) => {
    if (!same(c.issuer, d.issuer)) throw new Invalid(`credential ${c.id} is issued by ${JSON.stringify(c.issuer)}, not by the CLR's issuer`);
    if (!equal(keys[i], k)) throw new Invalid(`credential ${c.id} was signed with another key than the CLR`);
  }), () => "every credential is issued by the CLR's issuer, with its key");
  await checks.run("credentials-schemas", () => {
    const checked = new Set(), missing = new Set();
    for (const c of credentials) {
      if (!same(c["@context"], CERTIFICATE_CONTEXT)) {
        throw new Invalid(`credential ${c.id}: @context must be ${JSON.stringify(CERTIFICATE_CONTEXT)}`);
      }
      try {
        const [shipped, notShipped] = checkSchemas(c, CREDENTIAL_SCHEMAS);
        shipped.forEach((u) => checked.add(u));
        notShipped.forEach((u) => missing.add(u));
      } catch (err) {
        if (err instanceof Invalid) err.message = `credential ${c.id}: ${err.message}`;
        throw err;
      }
    }
    return [[...checked], [...missing]];
  }, schemaResult);
  await checks.run("credentials-learner", () => {
    const learner = d.credentialSubject.identifier;
    if (!Array.isArray(learner) || learner.length !== 1) throw new Invalid("the ClrSubject must name the learner by one identifier");
    for (const c of credentials) {
      if (!same(c.credentialSubject.identifier, learner)) throw new Invalid(`credential ${c.id} names another learner than the CLR`);
    }
  }, () => "every credential names the CLR's learner");
  await checks.run("lineage", () => {
    const held = new Set(credentials.map((c) => c.credentialSubject.achievement.id));
    let n = 0;
    for (const c of credentials) {
      const steps = c.credentialSubject.achievement.lineage ?? [];
      if (!Array.isArray(steps) || !steps.every(isObject)) throw new Invalid(`credential ${c.id}: lineage is not a list of LineageSteps`);
      for (const s of steps.flatMap((step) => step.sources ?? [])) {
        if (!held.has(s)) throw new Invalid(`converted credits name the source ${JSON.stringify(s)}, which is no achievement in the CLR`);
        n += 1;
      }
    }
    return n;
  }, (n) => `the ${n} sources of converted credits are achievements in the CLR`);
  return { kind: "clr", checks: checks.list, anchored: !!schoolKey,
    summary: { id: d.id, name: d.name, school: d.issuer.name, issuer: d.issuer.id,
      learner: d.credentialSubject.identifier[0]?.identityHash },
    credentials };
}

// Checking a transcript bundle (formats creditledger-bundle/1 and /2): a port of
// docs/verify_bundle_standalone.py, check for check, with the same fault names. Its module
// docstring says what each check means; the comments here say only where JavaScript differs.
import { b64, ed25519Verify, equal, hex, sha256, concat, text, utf8, uuid5, Unusable }
  from "./bytes.mjs";
import { msgpack } from "./msgpack.mjs";
import { openCheckpoint, verifyInclusion } from "./merkle.mjs";
import { headsRoot, proofHolds, readHeadProof } from "./heads.mjs";
import { checkQuorum } from "./witness.mjs";

export const BUNDLE_FORMATS = ["creditledger-bundle/1", "creditledger-bundle/2"];
const ORIGIN_PREFIX = "creditledger.example/";
const COMMIT_DOMAIN = utf8.encode("creditledger/commit/v1\0");
const COMMIT_DOMAIN_V2 = utf8.encode("creditledger/commit/v2\0");
const FORMATS = ["creditledger/1", "creditledger/2"];
const ZERO = new Uint8Array(32);
const LEDGER_NS = "ff83e6db-a30d-5e7a-916d-2c201cad7203";
const REGISTRY_NS = "6f1d3d52-8a55-4f0e-9a43-3c4d1f2b9e10";
const REG = "creditledger.registry:KeyRegistry.";
const GENESIS = REG + "Genesis", REGISTERED = REG + "KeyRegistered";
const REVOKED_KEY = REG + "KeyRevoked", POLICY = REG + "PolicyDeclared";
export const ACCOUNT = "creditledger.domain.learner:LearnerAccount.";
export const ACHIEVEMENT = "creditledger.domain.achievement:Achievement.";
const CERTIFICATE = "creditledger.domain.alliance.certificate:";
const CERTIFICATE_RECOGNISED = CERTIFICATE + "CertificateRecognition.Recognised";
const CERTIFICATE_ISSUED = CERTIFICATE + "CourseCertificate.Issued";
const ROLES = ["account", "achievement", "transfers", "evidence"];
const STAFF_ROLES = ["registrar", "assessor", "secretariat_officer", "auditor"];
const REGISTRARS = ["administrator", "registrar"];
const ASSESSORS = ["administrator", "registrar", "assessor"];

/** The bundle fails verification: ``kind`` is the CLI's fault name. */
export class Fault extends Error {
  constructor(kind, detail, position = null) {
    super(`${kind}${position !== null ? ` at position ${position}` : ""}: ${detail}`);
    this.kind = kind;
  }
}

/** The named checks the page shows, in order, and the fault names each one raises. */
export const BUNDLE_CHECKS = [
  ["root-key", ["root-key-mismatch"]],
  ["checkpoint", ["bad-checkpoint", "stale-checkpoint"]],
  ["event-hashes", ["hash-mismatch"]],
  ["inclusion", ["not-covered-by-checkpoint", "bad-inclusion-proof"]],
  ["commit-lists", ["missing-commit", "not-in-commit"]],
  ["signatures", ["bad-genesis", "registry-violation", "unknown-key", "key-not-yet-valid",
    "key-revoked", "bad-signature"]],
  ["chains", ["aggregate-version-gap", "broken-aggregate-link"]],
  ["completeness", ["bad-index-proof", "incomplete-aggregate"]],
  ["transcript", ["wrong-learner", "incomplete-transcript", "unreadable-content"]],
  ["write-policy", ["unauthorised-write"]],
  ["witnesses", ["no-witness-quorum"]],
];

// -- reading the bundle ------------------------------------------------------------------------

const EVENT = { position: "int", commit_seq: "int", originator_id: "str", originator_version: "int",
  topic: "str", state: "bytes", prev_hash: "bytes", prev_aggregate_hash: "bytes", hash: "bytes",
  proof: "list" };
const COMMIT = { seq: "int", first_position: "int", committed_at: "int", key_id: "str",
  event_hashes: "list", signature: "bytes" };

function fields(obj, spec, what, more = []) {
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) {
    throw new Unusable(`${what} is not an object`);
  }
  const want = [...Object.keys(spec), ...more].sort();
  if (JSON.stringify(Object.keys(obj).sort()) !== JSON.stringify(want)) {
    throw new Unusable(`${what} has the fields ${Object.keys(obj).sort()}, not ${want}`);
  }
  const out = {};
  for (const [name, kind] of Object.entries(spec)) {
    const value = obj[name];
    if (kind === "bytes") out[name] = b64(value, `${what}.${name}`);
    else if (kind === "list") {
      if (!Array.isArray(value)) throw new Unusable(`${what}.${name} is not a list`);
      out[name] = value.map((v) => b64(v, `${what}.${name}`));
    } else if (kind === "int" ? !Number.isSafeInteger(value) : typeof value !== "string") {
      throw new Unusable(`${what}.${name} is missing or not a ${kind}`);
    } else out[name] = value;
  }
  return out;
}

export function readBundle(data) {
  const complete = data?.format === BUNDLE_FORMATS[1]; // format 2 proves every head
  const b = fields(data, { ledger_id: "str", learner_id: "str", root_key: "bytes",
    checkpoint: "str" }, "bundle", ["format", "registry", "aggregates", "commits",
    ...(complete ? ["heads"] : [])]);
  if (!BUNDLE_FORMATS.includes(data.format)) throw new Unusable(`bundle: unknown format ${data.format}`);
  if (complete && !Array.isArray(data.heads)) throw new Unusable("bundle: heads must be a list");
  b.heads = complete ? data.heads.map(readHeadProof) : null;
  if (![data.registry, data.aggregates, data.commits].every(Array.isArray)) {
    throw new Unusable("bundle: registry, aggregates and commits must be lists");
  }
  b.registry = data.registry.map((e) => fields(e, EVENT, "event"));
  b.aggregates = data.aggregates.map((a) => {
    const agg = fields(a, { role: "str", originator_id: "str" }, "aggregate", ["events"]);
    if (!ROLES.includes(agg.role) || !Array.isArray(a.events)) {
      throw new Unusable(`bundle: unknown aggregate role ${agg.role} or no event list`);
    }
    agg.events = a.events.map((e) => fields(e, EVENT, "event"));
    return agg;
  });
  b.commits = data.commits.map((c) => fields(c, COMMIT, "commit"));
  if (b.root_key.length !== 32) throw new Unusable("bundle: the root key is not 32 bytes");
  return b;
}

export function state(e) {
  let value;
  try {
    value = JSON.parse(text(e.state));
  } catch {
    throw new Fault("unreadable-content", "the event's content is not plain JSON", e.position);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new Fault("unreadable-content", "the event's content is not a JSON object", e.position);
  }
  return value;
}

// JSON.stringify writes a list of strings exactly as Python's json.dumps(separators=(",", ":"),
// ensure_ascii=False) does, which is what the ledger's natural ids hash.
export const naturalKeyId = (...parts) => uuid5(LEDGER_NS, JSON.stringify(parts));

/** RFC 3339 time (as msgspec writes it) to microseconds since the epoch. */
export function micros(value) {
  const m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/
    .exec(typeof value === "string" ? value : "");
  if (!m) throw new Error(`not an RFC 3339 time: ${JSON.stringify(value)}`);
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number);
  const seconds = Date.UTC(y, mo - 1, d, h, mi, s) / 1000;
  const frac = Number((m[7] || "0").padEnd(6, "0").slice(0, 6));
  const offset = m[8] === "Z" ? 0 :
    (m[8][0] === "+" ? 1 : -1) * (Number(m[8].slice(1, 3)) * 60 + Number(m[8].slice(4)));
  return (seconds - offset * 60) * 1_000_000 + frac;
}

const uuidHex = (value) => {
  const s = String(value ?? "").replaceAll("-", "").replace(/^urn:uuid:/, "").toLowerCase();
  return /^[0-9a-f]{32}$/.test(s) ? s : "";
};

function achievementOf(st) {
  const id = uuidHex(st.achievement_id);
  if (!id) throw new Fault("unreadable-content", "a credit entry names no achievement");
  return id;
}

// -- the checks (steps 1-8 of the standalone verifier's docstring) -----------------------------

async function checkEvent(e, size, root, commits, done) {
  const link = [e.position, e.commit_seq, e.originator_id, e.originator_version, e.topic, e.state,
    e.prev_hash, e.prev_aggregate_hash];
  const pos = e.position;
  if (!equal(await sha256(concat(Uint8Array.of(0), msgpack(link))), e.hash)) {
    throw new Fault("hash-mismatch", "the event's fields do not hash to its hash", pos);
  }
  if (!(pos >= 1 && pos <= size)) {
    throw new Fault("not-covered-by-checkpoint", `the checkpoint covers events 1..${size}`, pos);
  }
  try {
    await verifyInclusion(e.hash, pos - 1, size, e.proof, root);
  } catch (err) {
    throw new Fault("bad-inclusion-proof", err.message, pos);
  }
  const commit = commits.get(e.commit_seq);
  if (!commit) throw new Fault("missing-commit", `commit ${e.commit_seq} is not in the bundle`, pos);
  const i = pos - commit.first_position;
  if (!(i >= 0 && i < commit.event_hashes.length) || !equal(commit.event_hashes[i], e.hash)) {
    throw new Fault("not-in-commit", `commit ${commit.seq} does not list its hash`, pos);
  }
  done.events += 1;
}

async function applyRegistry(keys, e, rid, commits) {
  const { position: pos, topic } = e;
  if (e.originator_id !== rid || ![GENESIS, REGISTERED, REVOKED_KEY, POLICY].includes(topic) ||
      (topic === GENESIS && pos !== 1) || (topic === POLICY && e.commit_seq !== 1)) {
    throw new Fault("registry-violation", "not an event of this ledger's key registry", pos);
  }
  const st = state(e);
  try {
    if (topic === POLICY) return;
    if (topic === REVOKED_KEY) {
      const record = keys.get(st.key_id);
      if (record) record[2] = Math.max(micros(st.effective_at), commits.get(e.commit_seq).committed_at);
      return;
    }
    const entry = st[topic === GENESIS ? "root" : "entry"];
    const raw = b64(entry.public_key, "public key");
    if (raw.length !== 32 || "ed25519:" + hex(await sha256(raw)).slice(0, 32) !== entry.key_id) {
      throw new Error(`key id ${entry.key_id} does not match its public key`);
    }
    const role = topic === GENESIS ? "root" : entry.role || "administrator";
    if (typeof entry.principal !== "string") throw new Error("no principal");
    keys.set(entry.key_id, [raw, micros(entry.valid_from), null, entry.principal, role,
      entry.staff_id || ""]);
  } catch (err) {
    if (err instanceof Fault) throw err;
    throw new Fault("registry-violation", `malformed registry event: ${err.message}`, pos);
  }
}

const describe = (s) => `${s[3]} (${s[4]}${s[5] ? " " + s[5] : ""})`;

function checkRegistryRule(keys, signer, events) {
  for (const e of events) {
    if (signer[4] === "root") continue;
    const st = state(e);
    const entry = e.topic === REGISTERED ? st.entry :
      e.topic === REVOKED_KEY ? keys.get(st.key_id) || null : null;
    const [principal, role] = entry === null ? [null, null] : Array.isArray(entry) ?
      [entry[3], entry[4]] : typeof entry === "object" ? [entry.principal, entry.role] : [null, null];
    if (signer[4] !== "administrator" || !STAFF_ROLES.includes(role) || principal !== signer[3]) {
      throw new Fault("unauthorised-write", `${describe(signer)} may not change the key registry ` +
        "there", e.position);
    }
  }
}

async function checkCommits(b, rootKey, commits) {
  const registry = [...b.registry].sort((x, y) => x.position - y.position);
  const rid = await uuid5(REGISTRY_NS, `${b.ledger_id}/key-registry`);
  const first = registry[0];
  if (!first || first.position !== 1 || first.topic !== GENESIS || first.originator_id !== rid) {
    throw new Fault("bad-genesis", "the bundle lacks the ledger's genesis event");
  }
  let genesis;
  try {
    genesis = JSON.parse(text(first.state));
  } catch {
    throw new Fault("bad-genesis", "undecodable genesis", 1);
  }
  if (!genesis || typeof genesis !== "object" || genesis.ledger_id !== b.ledger_id ||
      !genesis.root || typeof genesis.root !== "object") {
    throw new Fault("bad-genesis", "the genesis names another ledger", 1);
  }
  if (genesis.root.public_key !== btoa(String.fromCharCode(...rootKey))) {
    throw new Fault("root-key-mismatch", "the genesis names another root key", 1);
  }
  if (!FORMATS.includes(genesis.format)) throw new Fault("bad-genesis", `unknown format ${genesis.format}`, 1);
  const keys = new Map(); // key id -> [raw, valid from, revoked at, who, role, staff id]
  const signers = new Map();
  let applied = 0;
  for (const c of [...commits.values()].sort((x, y) => x.seq - y.seq)) {
    const end = c.first_position + c.event_hashes.length;
    const upto = c.seq === 1 ? end : c.first_position;
    while (applied < registry.length && registry[applied].position < upto) {
      await applyRegistry(keys, registry[applied], rid, commits);
      applied += 1;
    }
    const record = keys.get(c.key_id), at = c.committed_at;
    const problem = !record ? "unknown-key" : at < record[1] ? "key-not-yet-valid" :
      record[2] !== null && at >= record[2] ? "key-revoked" : null;
    if (problem) {
      throw new Fault(problem, `commit ${c.seq} is signed by ${c.key_id}: ${problem}`, c.first_position);
    }
    checkRegistryRule(keys, record, registry.filter((e) => c.first_position <= e.position &&
      e.position < end));
    const head = [b.ledger_id, c.seq, c.first_position, at, c.key_id];
    const message = genesis.format === FORMATS[0] ?
      concat(COMMIT_DOMAIN, msgpack([...head, c.event_hashes])) :
      concat(COMMIT_DOMAIN_V2, msgpack([...head, record[5], record[4], c.event_hashes]));
    if (!(await ed25519Verify(record[0], c.signature, message))) {
      throw new Fault("bad-signature", `the signature of commit ${c.seq} does not verify`,
        c.first_position);
    }
    signers.set(c.seq, record);
  }
  return signers;
}

function checkLinks(a) {
  let previous = ZERO;
  const oid = a.originator_id;
  if (!a.events.length) throw new Fault("aggregate-version-gap", `aggregate ${oid} has no events`);
  a.events.forEach((e, i) => {
    const number = i + 1;
    if (e.originator_id !== oid || e.originator_version !== number) {
      throw new Fault("aggregate-version-gap", `expected version ${number} of ${oid}`, e.position);
    }
    if (!equal(e.prev_aggregate_hash, previous)) {
      throw new Fault("broken-aggregate-link", `version ${number} of ${oid} does not link to ` +
        `version ${number - 1}`, e.position);
    }
    previous = e.hash;
  });
}

// -- who wrote it (point 7) --------------------------------------------------------------------

const refuse = (e, signer, why) => new Fault("unauthorised-write", `${describe(signer)} may not ` +
  `write ${e.topic.split(".").pop()}: ${why}`, e.position);

function checkAccountEvent(e, signer, home, commit) {
  const name = e.topic.slice(ACCOUNT.length), st = state(e);
  const roles = name === "Credited" ? ASSESSORS : REGISTRARS;
  if (!e.topic.startsWith(ACCOUNT) || !roles.includes(signer[4])) {
    throw refuse(e, signer, `not an account event its role ${signer[4]} may write`);
  }
  if (name === "Opened") {
    const named = st.home_institution ?? null;
    if (named !== null && named !== signer[3]) throw refuse(e, signer, `the account's home school is ${named}`);
    return named || signer[3];
  }
  if (name === "Enrolled") {
    if (st.institution !== signer[3]) throw refuse(e, signer, `it enrols the learner at ${st.institution}`);
    return signer[3];
  }
  const partner = { Credited: "Recognised", Reversed: "Revoked" }[name];
  if (partner !== undefined) {
    achievementOf(st); // a credit entry must name its achievement
    // The standalone's test reduces to this: the commit holds the achievement's partner event.
    if (!commit.some(([t]) => t === ACHIEVEMENT + partner)) {
      throw refuse(e, signer, `not in the commit of the achievement's ${partner}`);
    }
    return home;
  }
  if (home !== signer[3]) throw refuse(e, signer, `the account's home school is ${home}`);
  return home;
}

function checkAchievementEvent(e, signer, certifier, commit, issued) {
  const name = e.topic.slice(ACHIEVEMENT.length), st = state(e);
  if (!(name === "Revoked" ? REGISTRARS : ASSESSORS).includes(signer[4])) {
    throw refuse(e, signer, `its role ${signer[4]} may not`);
  }
  if (name !== "Recognised") {
    if (signer[3] !== certifier) throw refuse(e, signer, `the achievement is ${certifier}'s`);
    return certifier;
  }
  const record = st.record && typeof st.record === "object" ? st.record : {};
  const certifiedBy = record.certified_by;
  if (certifiedBy === signer[3]) return certifiedBy;
  for (const [topic, recognition] of commit) { // the home school, recognising a course certificate
    const certificate = issued.get(uuidHex(recognition.certificate_id));
    if (topic === CERTIFICATE_RECOGNISED && recognition.home_school === signer[3] &&
        uuidHex(recognition.achievement_id) === e.originator_id && certificate &&
        (certificate.facts || {}).school === certifiedBy) return certifiedBy;
  }
  throw refuse(e, signer, `it is certified by ${certifiedBy}, and the commit holds no ` +
    `recognition of a course certificate ${certifiedBy} issued`);
}

async function checkWriters(b, signers) {
  const byCommit = new Map();
  for (const a of b.aggregates) {
    for (const e of a.events) {
      if (!byCommit.has(e.commit_seq)) byCommit.set(e.commit_seq, []);
      byCommit.get(e.commit_seq).push([e.topic, state(e)]);
    }
  }
  const issued = new Map(b.aggregates.filter((a) => a.role === "evidence" &&
    a.events[0].topic === CERTIFICATE_ISSUED).map((a) => [a.originator_id, state(a.events[0])]));
  for (const a of b.aggregates) {
    let owner = null;
    for (const e of a.events) {
      const signer = signers.get(e.commit_seq), commit = byCommit.get(e.commit_seq);
      if (a.role === "account") owner = checkAccountEvent(e, signer, owner, commit);
      else if (a.role === "achievement") owner = checkAchievementEvent(e, signer, owner, commit, issued);
    }
  }
}

// -- the transcript it shows (point 8) ---------------------------------------------------------

async function checkTranscript(b, signers) {
  const learner = b.learner_id;
  const byRole = Object.fromEntries(ROLES.map((r) => [r, b.aggregates.filter((a) => a.role === r)]));
  const accounts = byRole.account, transfers = byRole.transfers;
  if (accounts.length !== 1 || accounts[0].originator_id !== (await naturalKeyId("learner", learner))) {
    throw new Fault("wrong-learner", `the bundle needs the one account of ${learner}`);
  }
  const transfersId = await naturalKeyId("credit-transfers", learner);
  if (transfers.length > 1 || transfers.some((t) => t.originator_id !== transfersId)) {
    throw new Fault("wrong-learner", `a transfer ledger is not ${learner}'s`);
  }
  const account = accounts[0].events.map((e) => [e.topic, state(e)]);
  const opened = account[0][1];
  if (!account[0][0].endsWith(".Opened") || opened.learner_id !== learner) {
    throw new Fault("wrong-learner", `the account is not opened for ${learner}`,
      accounts[0].events[0].position);
  }
  const credited = new Set(account.filter(([t]) => t === ACCOUNT + "Credited").map(([, s]) => achievementOf(s)));
  const reversed = new Set(account.filter(([t]) => t === ACCOUNT + "Reversed").map(([, s]) => achievementOf(s)));
  const person = opened.personal_data;
  let name = person && typeof person === "object" ? person.name : "?";
  // sealed under the learner's data key (only the school's key-encryption key opens it)
  if (typeof person === "string" && person.startsWith("sealed:")) name = "personal data sealed · 个人信息已加密";
  if (account.some(([t]) => t === ACCOUNT + "PersonalDataErased")) name = "personal data erased · 个人信息已删除";
  const record = { learner, name,
    home: opened.home_institution ?? null, programme: opened.programme_code ?? null,
    achievements: [], conversions: [] };
  const seen = new Set();
  for (const a of byRole.achievement) {
    const states = a.events.map((e) => [e.topic, state(e)]);
    const r = states[0][1].record && typeof states[0][1].record === "object" ? states[0][1].record : {};
    const oid = a.originator_id;
    if (states[0][0] !== ACHIEVEMENT + "Recognised" || r.learner_id !== learner ||
        !Array.isArray(r.natural_key) || (await naturalKeyId("achievement", ...r.natural_key)) !== oid) {
      throw new Fault("wrong-learner", `achievement ${oid} is not a recognised achievement of ` +
        learner, a.events[0].position);
    }
    const revoked = states.some(([t]) => t === ACHIEVEMENT + "Revoked");
    if (!credited.has(oid) || seen.has(oid) || revoked !== reversed.has(oid)) {
      throw new Fault("incomplete-transcript", `achievement ${oid} does not match the account's ` +
        "credit entries", a.events.at(-1).position);
    }
    seen.add(oid);
    record.achievements.push({ id: oid, title: r.title, credits: r.credits, category: r.category,
      kind: r.kind, certifiedBy: r.certified_by, recognisedOn: r.recognised_on,
      course: r.course, certificate: r.certificate, revoked,
      signedBy: describe(signers.get(a.events[0].commit_seq)) });
  }
  const missing = [...credited].filter((id) => !seen.has(id)).sort();
  if (missing.length) {
    throw new Fault("incomplete-transcript", `credited achievement ${missing[0]} is not in the bundle`);
  }
  for (const t of transfers) {
    for (const e of t.events) {
      const s = state(e);
      if (s.conversion) record.conversions.push({ topic: e.topic.split(".").pop(), ...s.conversion });
    }
  }
  return record;
}

/** The bundle's checkpoint against a newer one the user holds (as audit/bundle_complete.py's
 * check_fresh): older is stale, the same size must be the same checkpoint text. */
async function checkFresh(b, size, key, held) {
  let heldSize;
  try {
    [heldSize] = await openCheckpoint(held, ORIGIN_PREFIX + b.ledger_id, key);
  } catch (err) {
    throw new Unusable(`the checkpoint you hold: ${err.message}`);
  }
  if (heldSize > size) {
    throw new Fault("stale-checkpoint", `proven against size ${size} but you hold a checkpoint ` +
      `of size ${heldSize}; ask for a bundle at ${heldSize}`);
  }
  const body = (note) => note.slice(0, note.lastIndexOf("\n\n"));
  if (heldSize === size && body(held) !== body(b.checkpoint)) {
    throw new Fault("bad-checkpoint", `the bundle's checkpoint and the one you hold both have ${size} ` +
      "events but say different things (another root or index of heads): a split view");
  }
}

// -- completeness: the index of heads (docs/completeness.md) -------------------------------------

const incomplete = (what, detail) => new Fault("incomplete-aggregate", `${what}: ${detail}`);

/** The evidence that held evidence names (a certificate recognition's certificate, a
 * certificate's alliance and status-list entry): [id, why], each to be held as evidence. */
async function namedEvidence(b) {
  const named = [];
  for (const a of b.aggregates) {
    if (a.role !== "evidence" || !a.events.length) continue;
    const first = a.events[0], oid = a.originator_id, st = state(first);
    const unreadable = () => new Fault("unreadable-content",
      "an evidence event names no certificate, alliance or status entry", first.position);
    if (first.topic === CERTIFICATE_RECOGNISED) {
      const id = uuidHex(st.certificate_id);
      if (!id) throw unreadable();
      named.push([id, `the certificate recognition ${oid} names`]);
    } else if (first.topic === CERTIFICATE_ISSUED) {
      const facts = st.facts;
      if (!facts || typeof facts !== "object" || facts.alliance === undefined) throw unreadable();
      named.push([await naturalKeyId("alliance", String(facts.alliance)), `the alliance of certificate ${oid}`]);
      const status = facts.status;
      if (status !== undefined && status !== null) {
        if (typeof status !== "object" || !Number.isInteger(Number(status.list_number)) ||
            !Number.isInteger(Number(status.index)) || status.key_id === undefined) throw unreadable();
        named.push([await naturalKeyId("status-entry", String(status.key_id),
          String(Number(status.list_number)), String(Number(status.index))),
        `the status-list entry of certificate ${oid}`]);
      }
    }
  }
  return named;
}

// Rules 1-5 of docs/completeness.md in their order, as audit/bundle_complete.py applies them.
// Returns the detail line, or null when completeness is not proven (format 1, or no head proof
// against a checkpoint without a heads line).
async function checkComplete(b, extensions, size) {
  if (b.heads === null) return null;
  let root;
  try {
    root = headsRoot(extensions);
  } catch (err) {
    throw new Fault("bad-index-proof", `the checkpoint's heads line: ${err.message}`);
  }
  if (root === null) {
    if (!b.heads.length) return null;
    throw new Fault("bad-index-proof", "the bundle holds head proofs but its checkpoint carries no creditledger-heads/1 line");
  }
  for (const p of b.heads) { // rule 2
    if (!(await proofHolds(p, root))) {
      throw new Fault("bad-index-proof", `the head proof of ${p.originator_id} does not lead to the index root`);
    }
  }
  for (const a of b.aggregates) { // rule 3
    const what = `${a.role} ${a.originator_id}`;
    const members = b.heads.filter((p) => p.originator_id === a.originator_id && p.version > 0);
    if (members.length !== 1) throw incomplete(what, `${members.length} head proofs, not one`);
    const head = members[0], held = a.events.length;
    if (held !== head.version || !equal(a.events[held - 1].hash, head.head)) {
      throw incomplete(what, `holds versions 1..${held}; its head at checkpoint ${size} is version ` +
        `${head.version}${held !== head.version ? "" : " with another hash"}`);
    }
  }
  const held = new Map(b.aggregates.map((a) => [a.originator_id, a.role]));
  for (const a of b.aggregates.filter((x) => x.role === "account")) { // rule 4
    for (const e of a.events) {
      if (e.topic !== ACCOUNT + "Credited") continue;
      const id = achievementOf(state(e));
      if (held.get(id) !== "achievement") {
        throw incomplete(`achievement ${id}`, "credited to the account, is not in the bundle");
      }
    }
  }
  const transfersId = await naturalKeyId("credit-transfers", b.learner_id);
  const absent = b.heads.some((p) => p.originator_id === transfersId && p.version === 0);
  if (held.get(transfersId) !== "transfers" && !absent) {
    throw incomplete(`transfers ${transfersId}`, "the learner's transfer ledger is neither in the bundle nor proven absent");
  }
  for (const [id, why] of await namedEvidence(b)) { // rule 4, evidence: what it names
    if (held.get(id) !== "evidence") throw incomplete(`evidence ${id}`, `${why}, is not in the bundle`);
  }
  const seen = new Set();
  for (const p of b.heads) { // rule 5 (and one proof per aggregate, absence proofs included)
    if (!held.has(p.originator_id) && !(p.originator_id === transfersId && p.version === 0)) {
      throw new Fault("bad-index-proof", `a head proof of ${p.originator_id}, which the bundle does not hold`);
    }
    if (seen.has(p.originator_id)) throw new Fault("bad-index-proof", `two head proofs of ${p.originator_id}`);
    seen.add(p.originator_id);
  }
  return `${b.aggregates.length} aggregates, each up to its head at checkpoint ${size}` +
    (absent ? "; no transfer ledger (proven)" : "");
}

/**
 * Check a parsed bundle. ``pinned`` is the root key the user trusts (32 bytes) or null;
 * ``witnesses`` null, or { keys: [parsed witness keys], quorum, maxAge (seconds or null), now
 * (seconds) } to demand a quorum of cosignatures on the checkpoint; ``held`` null, or the text
 * of a newer checkpoint the user holds (as verify-bundle --checkpoint).
 * Returns { checks: [{id, status: "pass"|"fail"|"skip", detail}], fault, summary, record }.
 */
export async function verifyBundle(data, pinned, witnesses = null, held = null) {
  const b = readBundle(data); // Unusable propagates: not a bundle at all
  const checks = BUNDLE_CHECKS.map(([id]) => ({ id, status: "skip", detail: "" }));
  const mark = (id, status, detail) => Object.assign(checks.find((c) => c.id === id), { status, detail });
  let stage = "root-key";
  const key = b.root_key;
  const keyId = "ed25519:" + hex(await sha256(key)).slice(0, 32);
  try {
    if (pinned && !equal(pinned, key)) {
      throw new Fault("root-key-mismatch", "the bundle names another root key than the pinned one");
    }
    mark("root-key", "pass", pinned ? `${keyId} (pinned)` : `${keyId} (named by the bundle, NOT pinned)`);
    stage = "checkpoint";
    let size, root, extensions;
    try {
      [size, root, extensions] = await openCheckpoint(b.checkpoint, ORIGIN_PREFIX + b.ledger_id, key);
    } catch (err) {
      throw new Fault("bad-checkpoint", err.message);
    }
    if (held) await checkFresh(b, size, key, held);
    mark("checkpoint", "pass", `signed by the root key: ${size} events, root ${hex(root).slice(0, 16)}…`);
    stage = "events";
    const commits = new Map(b.commits.map((c) => [c.seq, c]));
    if (commits.size !== b.commits.length) throw new Unusable("bundle: a commit is listed twice");
    const done = { events: 0 };
    const all = [...b.registry, ...b.aggregates.flatMap((a) => a.events)];
    // a copy of a genuine event adds nothing, but a bundle is the learner's events, each once
    if (new Set(all.map((e) => e.position)).size !== all.length) {
      throw new Unusable("bundle: an event is listed twice");
    }
    for (const e of all) await checkEvent(e, size, root, commits, done);
    mark("event-hashes", "pass", `${all.length} events hash to their hashes`);
    mark("inclusion", "pass", `${all.length} inclusion proofs lead to the checkpoint's root`);
    mark("commit-lists", "pass", `each event is listed in its commit's statement`);
    stage = "signatures";
    const signers = await checkCommits(b, key, commits);
    mark("signatures", "pass", `${signers.size} commits signed by keys valid at the time`);
    stage = "chains";
    b.aggregates.forEach(checkLinks);
    mark("chains", "pass", `${b.aggregates.length} aggregates, versions 1..n, each linked`);
    stage = "completeness";
    const proven = await checkComplete(b, extensions, size);
    const complete = proven !== null;
    if (complete) mark("completeness", "pass", proven);
    else mark("completeness", "skip", "not proven: the bundle or its checkpoint predates the index of heads");
    stage = "transcript";
    const record = await checkTranscript(b, signers);
    mark("transcript", "pass", `the account and its ${record.achievements.length} achievement(s), each credited`);
    stage = "write-policy";
    await checkWriters(b, signers);
    mark("write-policy", "pass", "account and achievements written by those allowed to");
    stage = "witnesses";
    let cosigned = {};
    if (witnesses) {
      try {
        cosigned = await checkQuorum(b.checkpoint, witnesses.keys, witnesses.quorum, witnesses.maxAge, witnesses.now);
      } catch (err) {
        throw new Fault("no-witness-quorum", err.message);
      }
      mark("witnesses", "pass", `cosigned by ${Object.entries(cosigned).map(([n, t]) =>
        `${n} (${new Date(t * 1000).toISOString()})`).join(", ")}`);
    }
    const events = b.aggregates.reduce((n, a) => n + a.events.length, 0);
    return { checks, fault: null, anchored: !!pinned, complete, cosigned, record,
      summary: { ledger: b.ledger_id, learner: b.learner_id, keyId, size, events } };
  } catch (err) {
    if (!(err instanceof Fault)) throw err;
    // Within the per-event stage, the fault's name says which of its three checks failed.
    const id = stage !== "events" ? stage :
      BUNDLE_CHECKS.find(([, kinds]) => kinds.includes(err.kind))[0];
    mark(id, "fail", err.message);
    return { checks, fault: { kind: err.kind, message: err.message }, anchored: false, complete: false, record: null,
      summary: { ledger: b.ledger_id, learner: b.learner_id, keyId } };
  }
}

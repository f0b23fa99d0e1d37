// The page: read a dropped or chosen file, decide what it is, verify it, show every named
// check and the learner's record.
import { Unusable, readPublicKey } from "./bytes.mjs";
import { BUNDLE_FORMATS, verifyBundle } from "./bundle.mjs";
import { CATEGORY_LABELS, CHECK_LABELS, KIND_LABELS, STATUS_LABELS } from "./labels.mjs";
import { renderCredential, verifyAnyCredential } from "./credential-ui.mjs";
import { el } from "./dom.mjs";
import { duration, parseWitnessKey } from "./witness.mjs";

const $ = (id) => document.getElementById(id);
let lastFile = null;
let runs = 0;


function pinnedKey(id) {
  const value = $(id).value.trim();
  return value ? readPublicKey(value) : null;
}

/** The witnesses demanded (as verify-bundle's --witness/--quorum/--max-age), or null. */
async function witnessPolicy() {
  const lines = $("witness-keys").value.split("\n").map((l) => l.trim()).filter(Boolean);
  if (!lines.length) {
    if ($("quorum").value.trim() || $("max-age").value.trim()) {
      throw new Unusable("a quorum and a maximum age need at least one witness key");
    }
    return null;
  }
  const keys = await Promise.all(lines.map(parseWitnessKey));
  const given = $("quorum").value.trim();
  const quorum = given ? Number(given) : keys.length;
  if (!Number.isInteger(quorum) || quorum < 1 || quorum > keys.length) {
    throw new Unusable(`quorum ${given}: choose 1..${keys.length} (the witnesses given)`);
  }
  const age = $("max-age").value.trim();
  return { keys, quorum, maxAge: age ? duration(age) : null, now: Math.floor(Date.now() / 1000) };
}

/** Strict enough JSON: the Python verifiers refuse deeper nesting than 64 levels too. */
function parseJson(bytes) {
  let value;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (err) {
    throw new Unusable(`not JSON (${err.message})`);
  }
  const stack = [[value, 1]];
  while (stack.length) {
    const [item, depth] = stack.pop();
    if (depth > 64) throw new Unusable("nested more than 64 levels deep");
    if (item && typeof item === "object") {
      for (const child of Object.values(item)) stack.push([child, depth + 1]);
    }
  }
  return value;
}

function showVerdict(verdict, fault, zh, en) {
  const box = $("verdict");
  box.replaceChildren(zh, el("br"), el("span", { class: "en" }, en));
  box.dataset.verdict = verdict;
  if (fault) box.dataset.fault = fault; else delete box.dataset.fault;
}

export function showChecks(checks) {
  const body = $("checks").querySelector("tbody");
  body.replaceChildren(...checks.map((c) => {
    const [zh, en, meaning] = CHECK_LABELS[c.id];
    return el("tr", { "data-check": c.id, "data-status": c.status },
      el("td", { title: meaning }, `${zh} `, el("span", { class: "en" }, en)),
      el("td", { class: "status" }, STATUS_LABELS[c.status]),
      el("td", { class: "detail" }, c.detail || (c.status === "skip" ? "—" : "")));
  }));
  $("checks-section").hidden = false;
}

function renderBundle(result) {
  const r = result.record, s = result.summary;
  if (result.fault) {
    showVerdict("tampered", result.fault.kind, `✗ 核验失败：${result.fault.kind}`,
      `TAMPERED: ${result.fault.message}`);
    return;
  }
  const facts = `${s.events} events, each signed and included in the checkpoint of ${s.size}`;
  const unproven = result.complete ? "" : "; NOT proven complete: a bundle made before completeness " +
    "proofs cannot show that no later event (a revocation, a correction) was left out — ask for a new bundle";
  if (!result.complete && result.anchored) {
    showVerdict("unproven", null, `⚠ 完好但未证明完整：文件未被改动，但无法证明没有遗漏后来的记录（如撤销、更正）；请索取新的成绩包`,
      `intact but ${unproven.slice(2)}: transcript of learner ${s.learner} in ledger ${s.ledger}: ${facts}; root key ${s.keyId} (pinned)`);
  } else if (result.anchored) {
    showVerdict("intact", null, `✓ 完好，且根公钥与您固定的一致：学习者 ${s.learner} 的成绩单`,
      `intact: transcript of learner ${s.learner} in ledger ${s.ledger}: ${facts}; root key ${s.keyId} (pinned)`);
  } else {
    showVerdict("unanchored", null, `⚠ 完好但未锚定：文件未被改动，但根公钥取自文件本身；请粘贴学分银行公布的根公钥`,
      `intact but NOT anchored: ${facts}; the root key ${s.keyId} is the one the bundle names — paste the ledger's published root key to know whose ledger this is${unproven}`);
  }
  $("record").replaceChildren(...transcript(r));
}

function transcript(r) {
  const live = r.achievements.filter((a) => !a.revoked);
  const perCategory = new Map();
  for (const a of live) perCategory.set(a.category, (perCategory.get(a.category) || 0) + Number(a.credits));
  const rows = r.achievements.map((a) => el("tr", a.revoked ? { class: "revoked", "data-revoked": "1" } : {},
    el("td", {}, a.title ?? "?"), el("td", {}, KIND_LABELS[a.kind] || a.kind || ""),
    el("td", {}, CATEGORY_LABELS[a.category] || a.category || ""), el("td", {}, a.credits ?? ""),
    el("td", {}, [a.course && `${a.course.course_code} ${a.course.term} score ${a.course.score}`,
      a.certificate && `${a.certificate.certificate_code} ${a.certificate.level} No. ${a.certificate.number}`]
      .filter(Boolean).join("")),
    el("td", {}, `${a.certifiedBy ?? "?"}, ${a.recognisedOn ?? ""}`),
    el("td", {}, a.revoked ? "已撤销 REVOKED" : "有效 in force")));
  const out = [
    el("h2", {}, "成绩单 ", el("span", { class: "en" }, "Transcript")),
    el("p", {}, `学习者 learner ${r.learner}（${r.name ?? "?"}）· 学籍学校 home school ${r.home ?? "?"}` +
      (r.programme ? ` · 专业 programme ${r.programme}` : "")),
    el("table", { id: "achievements" },
      el("thead", {}, el("tr", {}, ...["课程/证书 Course or certificate", "类型 Kind", "类别 Category",
        "学分 Credits", "详情 Details", "认定 Certified by, on", "状态 Status"].map((h) => el("th", {}, h)))),
      el("tbody", {}, ...rows)),
    el("h3", {}, "各类别学分（有效）", el("span", { class: "en" }, " Credits per category (in force)")),
    el("table", { id: "categories" }, el("tbody", {}, ...[...perCategory].map(([c, n]) =>
      el("tr", { "data-category": c }, el("td", {}, CATEGORY_LABELS[c] || c), el("td", {}, n.toFixed(2)))))),
  ];
  if (r.conversions.length) {
    out.push(el("h3", {}, "学分转换与免修 ", el("span", { class: "en" }, "Conversions and exemptions")),
      el("table", { id: "conversions" }, el("tbody", {}, ...r.conversions.map((c) => el("tr", {},
        el("td", {}, `${c.topic}: ${c.target?.institution ?? ""} ${c.target?.kind ?? ""} ${c.target?.code ?? ""}`),
        el("td", {}, c.exemption ? `免修 exempt, ${c.exemption.credits} credits` : "—"),
        el("td", {}, "来源 from: " + (c.sources || []).map((s) =>
          `${s.title} (${s.certified_by}, ${s.credits} credits)`).join("; ")),
        el("td", {}, `rule ${c.rule?.rule_id ?? "?"} v${c.rule?.version ?? "?"}` +
          (c.agreement ? `, agreement ${JSON.stringify(c.agreement)}` : "")))))));
  }
  return out;
}

async function verify() {
  if (!lastFile) return;
  const run = ++runs;
  $("verdict").dataset.done = "";
  $("record").replaceChildren();
  $("checks-section").hidden = true;
  try {
    const data = parseJson(lastFile);
    if (data && BUNDLE_FORMATS.includes(data.format)) {
      const held = $("held-checkpoint").value.trim();
      const result = await verifyBundle(data, pinnedKey("root-key"), await witnessPolicy(),
        held ? held.replace(/\r\n/g, "\n") + "\n" : null);
      showChecks(result.checks);
      renderBundle(result);
    } else {
      const result = await verifyAnyCredential(data, pinnedKey("root-key"), pinnedKey("seal-key"));
      showChecks(result.checks);
      renderCredential(result, showVerdict);
    }
  } catch (err) {
    if (!(err instanceof Unusable)) console.error(err);
    showVerdict("unusable", null, `✗ 无法核验：${err.message}`, `error: ${err.message}`);
  }
  $("verdict").dataset.done = String(run);
}

async function load(file) {
  lastFile = new Uint8Array(await file.arrayBuffer());
  await verify();
}

const drop = $("drop");
drop.addEventListener("click", () => $("file").click());
drop.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") $("file").click(); });
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  if (e.dataTransfer.files.length) load(e.dataTransfer.files[0]);
});
$("file").addEventListener("change", () => { if ($("file").files.length) load($("file").files[0]); });
for (const id of ["root-key", "seal-key", "witness-keys", "quorum", "max-age", "held-checkpoint"]) {
  $(id).addEventListener("change", verify);
}

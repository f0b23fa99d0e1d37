// Which credential a file is, and how its result reads on the page.
import { Unusable } from "./bytes.mjs";
import { verifyCertificate, verifyClr } from "./credential.mjs";
import { el } from "./dom.mjs";

// Version 1 certificates (eddsa-jcs-2022 proofs chained, before 2026-12) have this context.
const VERSION_1 = JSON.stringify(["https://www.w3.org/ns/credentials/v2",
  "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
  { creditledger: "https://creditledger.invalid/ns/alliance/v1#" }]);

export async function verifyAnyCredential(data, rootKey, sealKey) {
  const type = data && typeof data === "object" ? data.type : null;
  if (data && JSON.stringify(data["@context"]) === VERSION_1) {
    throw new Unusable("a version 1 course certificate (eddsa-jcs-2022, issued before 2026-12): " +
      "this page checks version 2; check it with creditledger verify-credential");
  }
  if (Array.isArray(type) && type.includes("ClrCredential")) return verifyClr(data, rootKey);
  if (Array.isArray(type) && type.includes("OpenBadgeCredential")) {
    return verifyCertificate(data, rootKey, sealKey);
  }
  throw new Unusable("not a transcript bundle (creditledger-bundle/1), an Open Badges 3.0 " +
    "course certificate or a CLR 2.0 credential");
}

export function renderCredential(result, showVerdict) {
  const failed = result.checks.find((c) => c.status === "fail");
  const s = result.summary;
  const what = result.kind === "clr" ? "学习记录 CLR" : "课程合格证书 course certificate";
  if (failed) {
    showVerdict("tampered", failed.id, `✗ 无效（${failed.id}）：${what}`, `INVALID: ${failed.detail}`);
    return;
  }
  if (result.anchored) {
    showVerdict("intact", null, `✓ 有效：${what}，签名密钥与您给出的公钥一致`,
      `valid: every proof was made with the key you gave`);
  } else {
    showVerdict("unanchored", null, `⚠ 完好但未锚定：${what}自签名后未被改动，但签名密钥取自文件本身`,
      "UNANCHORED: intact, but not shown to be issued by anyone — paste the issuer's public key" +
      (result.kind === "certificate" ? " and the secretariat's" : ""));
  }
  const record = document.getElementById("record");
  if (result.kind === "certificate") {
    record.replaceChildren(el("h2", {}, "证书内容 ", el("span", { class: "en" }, "Certificate")),
      el("table", { id: "certificate" }, el("tbody", {}, ...[
        ["课程 Course", `${s.course} (${s.code})`], ["学分 Credits", s.credits], ["学时 Hours", s.hours],
        ["成绩 Score", s.score], ["学期 Term", s.term], ["开课学校 Issued by", s.school],
        ["联盟 Sealed by", s.alliance], ["学习者 Learner (hashed)", s.learner], ["证书号 Id", s.id],
      ].map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, v ?? ""))))));
    return;
  }
  record.replaceChildren(
    el("h2", {}, "学习记录 ", el("span", { class: "en" }, "Learner record (CLR 2.0)")),
    el("p", {}, `${s.name ?? ""} · 签发 issued by ${s.school ?? ""} · 学习者 learner ${s.learner ?? ""}`),
    el("table", { id: "clr-entries" },
      el("thead", {}, el("tr", {}, ...["名称 Name", "类型 Type", "学分 Credits", "来源 Sources"]
        .map((h) => el("th", {}, h)))),
      el("tbody", {}, ...result.credentials.map((c) => {
        const a = c.credentialSubject.achievement;
        const names = new Map(result.credentials.map((x) => [x.credentialSubject.achievement.id,
          x.credentialSubject.achievement.name]));
        const sources = (a.lineage || []).map((step) => `${(step.sources || []).map((id) =>
          names.get(id) || id).join(", ")} — rule ${step.ruleId} v${step.ruleVersion}` +
          (step.agreementCode ? `, agreement ${step.agreementCode}` : "")).join("; ");
        return el("tr", { "data-type": a.achievementType }, el("td", {}, a.name),
          el("td", {}, { "ext:Exemption": "免修 exemption", "ext:CreditTransfer": "学分转换 conversion" }[
            a.achievementType] || a.achievementType),
          el("td", {}, c.credentialSubject.creditsEarned ?? ""), el("td", {}, sources));
      }))));
}

// What each named check is called on the page, in Chinese and English, and what it means.
export const CHECK_LABELS = {
  "root-key": ["根公钥", "Root key", "the root key the bundle names, against the one you pinned"],
  "checkpoint": ["检查点签名", "Checkpoint signature", "the checkpoint (C2SP signed note) is signed by the root key"],
  "event-hashes": ["事件哈希", "Event hashes", "every event's fields hash (SHA-256) to its hash"],
  "inclusion": ["包含证明", "Inclusion proofs", "every event's RFC 9162 proof leads to the checkpoint's root"],
  "commit-lists": ["提交清单", "Commit statements", "every event's hash is at its place in its commit's statement"],
  "signatures": ["密钥与提交签名", "Keys and commit signatures", "the key registry rebuilt; each commit's Ed25519 signature by a key valid then"],
  "chains": ["版本链", "Version chains", "each record's versions run 1..n, each linked to the one before"],
  "completeness": ["记录完整性", "Completeness", "every record is present up to its head at the checkpoint (index of heads)"],
  "transcript": ["成绩单完整性", "Transcript completeness", "the account is the learner's and every credited achievement is present"],
  "write-policy": ["写入权限", "Write policy", "who wrote the account and achievements was allowed to"],
  "witnesses": ["见证方联署", "Witness cosignatures", "a quorum of the witnesses you trust cosigned this checkpoint (no split view)"],
  "shape": ["格式", "Shape", "an Open Badges 3.0 / CLR 2.0 credential of the form creditledger issues"],
  "schema": ["数据模式", "Schema", "valid against the JSON Schemas it names that the package ships"],
  "credentials-schemas": ["各证书的数据模式", "Credentials: schemas", "every credential is valid against the shipped schemas it names"],
  "proof-issuer": ["签发学校的证明", "Proof by the issuer", "the issuing school's Data Integrity proof verifies"],
  "proof-seal": ["联盟秘书处的证明", "Proof by the alliance seal", "the secretariat's Data Integrity proof verifies"],
  "issuer-binding": ["签发者绑定", "Issuer binding", "the issuer is the did:key of the key of the first proof"],
  "key-issuer": ["签发学校的公钥", "Key of the offering school", "the key of the school's proof, against the one you pinned"],
  "key-seal": ["秘书处的公钥", "Key of the secretariat", "the key of the seal, against the one you pinned"],
  "credentials-proofs": ["各证书的证明", "Credentials: proofs", "every credential in the CLR verifies"],
  "credentials-issuer": ["各证书的签发者", "Credentials: issuer", "every credential is the CLR issuer's, with its key"],
  "credentials-learner": ["各证书的学习者", "Credentials: learner", "every credential names the CLR's learner"],
  "lineage": ["学分转换来源", "Lineage", "the sources of converted credits are achievements in the CLR"],
  "status": ["撤销状态", "Status", "revocation: needs the ledger or the issuer's status list, so not checked offline"],
};

export const STATUS_LABELS = { pass: "通过 pass", fail: "失败 FAIL", skip: "未检 not run" };

// As creditledger.domain.values labels them.
export const CATEGORY_LABELS = {
  public_basic: "公共基础 public basic", major_basic: "专业基础 major basic",
  major_core: "专业核心 major core", major_elective: "专业选修 major elective",
};

export const KIND_LABELS = {
  course_result: "课程成绩 course result", x_certificate: "职业技能等级证书 1+X certificate",
  qualification_certificate: "职业资格证书 qualification certificate",
  training_record: "职业培训 training record", online_course: "在线课程 online course",
  diploma: "学历证书 diploma",
};

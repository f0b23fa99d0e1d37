"""The portable certificate: Open Badges 3.0 shape (document version 2: the school's did:key
issues it, a proof set of eddsa-rdfc-2022 proofs, context, schema and status), certificates of
version 1 still verifying, and every way it must fail — a changed byte anywhere, a wrong key, a
missing proof, a revoked certificate — in the library and through ``verify-credential``."""

from __future__ import annotations

import copy
import json
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from creditledger.audit import credential
from creditledger.audit.credential import (
    RoleKeys,
    canonical_json,
    dumps,
    parse_credential,
    verify_credential,
)
from creditledger.audit.vc.certificate import CONTEXT
from creditledger.audit.vc.contexts import EXTENSION_SCHEMA, OB_SCHEMA
from creditledger.cli.app import app
from creditledger.crypto.did import (
    InvalidDidError,
    b58decode,
    b58encode,
    did_key,
    key_of_method,
    verification_method,
)
from creditledger.crypto.keys import SigningKey
from creditledger.errors import InvalidCredentialError, OffSchemaCredentialError
from tests.mutations import one_change

from .world import World, make_world


@dataclass
class Issued:
    world: World
    certificate: Any
    document: dict[str, Any]
    file: Path
    folder: Path

    def key_file(self, principal: str) -> Path:
        path = self.folder / f"{principal}.pub"
        path.write_bytes(self.world.keys[principal].public_key.to_pem())
        return path


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory) -> Issued:
    folder = tmp_path_factory.mktemp("credential")
    world = make_world(folder / "alliance.ledger")
    offering = world.offer()
    certificate = world.passed(offering.id, world.learner("HNAT-2022-0107", "HNAT"), "HNAT")
    document = world.bank.export_course_certificate(certificate)
    file = folder / "certificate.json"
    file.write_bytes(dumps(document))
    return Issued(world, certificate, document, file, folder)


# -- the format ------------------------------------------------------------------------------


def test_the_document_is_an_open_badges_3_course_credential(issued: Issued) -> None:
    d = issued.document
    assert d["@context"] == ["https://www.w3.org/ns/credentials/v2",
                             "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
                             "https://w3id.org/creditledger/contexts/credentials-v1.jsonld"]
    assert d["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert d["id"] == f"urn:uuid:{issued.certificate}"
    school_key = issued.world.keys["CQAT"].public_key
    assert d["issuer"]["id"] == did_key(school_key)  # the key that signed it is the issuer
    assert (d["issuer"]["name"], d["issuer"]["institutionCode"]) == ("重庆安全技术职业学院", "CQAT")
    assert d["alliance"]["name"] == "全国应急安全职业教育联盟"
    subject = d["credentialSubject"]
    achievement = subject["achievement"]
    assert (achievement["achievementType"], achievement["name"]) == ("Course", "安全检测与监控技术")
    assert achievement["creator"] == subject["source"] == d["issuer"]
    assert (subject["creditsEarned"], achievement["courseHours"]) == (2, 32)
    assert (subject["term"], subject["result"][0]["value"]) == ("2022-2023-1", "86")
    (identity,) = subject["identifier"]
    assert identity["hashed"] is True and "HNAT-2022-0107" not in json.dumps(d)
    assert identity["identityHash"] == credential.identity_hash("HNAT-2022-0107",
                                                                identity["salt"])
    assert [p["cryptosuite"] for p in d["proof"]] == ["eddsa-rdfc-2022"] * 2
    assert not any("previousProof" in p or "@context" in p for p in d["proof"])
    assert [s["type"] for s in d["credentialSchema"]] == ["JsonSchema"] * 2
    status = d["credentialStatus"]
    assert status["type"] == "BitstringStatusListEntry" and status["statusPurpose"] == "revocation"
    assert status["id"] == f"{status['statusListCredential']}#{status['statusListIndex']}"
    assert d["ledgerRecord"]["ledger"] == f"urn:uuid:{issued.world.bank.ledger_id}"


def test_the_report_names_every_check(issued: Issued) -> None:
    keys = issued.world.keys
    verified = verify_credential(issued.document, trust=RoleKeys(
        school=keys["CQAT"].public_key, secretariat=keys["ESVEA-SEC"].public_key))
    assert [c.name for c in verified.checks] == [
        "shape", "schema", "proof by the issuer (offering school)", "proof by the alliance seal",
        "issuer binding", "key of the offering school", "key of the alliance secretariat",
        "status"]
    assert verified.document_version == 2


def test_export_is_reproducible_and_the_file_is_canonical(issued: Issued) -> None:
    again = issued.world.bank.export_course_certificate(issued.certificate)
    assert dumps(again) == issued.file.read_bytes()
    assert canonical_json(json.loads(issued.file.read_bytes())) == issued.file.read_bytes()


def test_base58btc_and_did_key() -> None:
    assert b58encode(b"\0\0hello") == "11Cn8eVZg"
    for data in (b"", b"\0", b"\0\x01", bytes(range(64))):
        assert b58decode(b58encode(data)) == data
    with pytest.raises(InvalidDidError):
        b58decode("0OIl")
    key = SigningKey.generate().public_key
    assert key_of_method(verification_method(key)) == key
    assert did_key(key).startswith("did:key:z6Mk")


# -- tampering -------------------------------------------------------------------------------


def reason(data: bytes, **kw: Any) -> str:
    with pytest.raises(InvalidCredentialError) as refused:
        verify_credential(parse_credential(data), **kw)
    return refused.value.reason


def test_a_changed_byte_anywhere_fails(issued: Issued) -> None:
    data = issued.file.read_bytes()
    reasons: set[str] = set()
    for i in range(len(data)):
        changed = bytearray(data)
        changed[i] ^= 0x01
        reasons.add(reason(bytes(changed)).split(":")[0])
    assert len(data) > 2000
    assert {"proof by the issuer (offering school)", "proof by the alliance seal"} <= reasons


def test_a_wrong_key_fails_and_the_right_ones_pass(issued: Issued) -> None:
    keys = issued.world.keys
    school, seal = keys["CQAT"].public_key, keys["ESVEA-SEC"].public_key
    stranger = SigningKey.generate().public_key
    assert "not with the given alliance secretariat key" in reason(
        issued.file.read_bytes(), trust=RoleKeys(school=school, secretariat=stranger))
    verified = verify_credential(issued.document, trust=RoleKeys(school=school,
                                                                  secretariat=seal))
    assert [p.role for p in verified.proofs] == ["offering school", "alliance secretariat"]
    assert verified.anchored


def test_a_key_given_in_the_other_role_is_refused(issued: Issued) -> None:
    keys = issued.world.keys
    school, seal = keys["CQAT"].public_key, keys["ESVEA-SEC"].public_key
    swapped = reason(issued.file.read_bytes(), trust=RoleKeys(school=seal, secretariat=school))
    assert "not with the given offering school key" in swapped


def test_without_a_trust_anchor_a_valid_document_is_not_anchored(issued: Issued) -> None:
    assert not verify_credential(issued.document).anchored
    assert not verify_credential(issued.document, trust=RoleKeys(
        school=issued.world.keys["CQAT"].public_key)).anchored


def test_a_document_re_signed_by_impostors_fails_against_the_ledger(issued: Issued) -> None:
    """Two new keys can make a self-consistent document (offline with embedded keys it
    verifies), but the ledger knows they are not the school's and the secretariat's."""
    school, seal = SigningKey.generate(), SigningKey.generate()
    unsigned = {k: v for k, v in issued.document.items() if k != "proof"}
    unsigned["credentialSubject"] = {**unsigned["credentialSubject"],
                                     "result": [{"type": ["Result"], "value": "99"}]}
    now = datetime.now(UTC)
    impostor = {**unsigned["issuer"], "id": did_key(school.public_key)}
    achievement = {**unsigned["credentialSubject"]["achievement"], "creator": impostor}
    unsigned["issuer"] = impostor
    unsigned["credentialSubject"] = {**unsigned["credentialSubject"], "source": impostor,
                                     "achievement": achievement}
    first = credential.sign_proof(unsigned, school, proof_id="urn:uuid:1", created=now)
    second = credential.sign_proof(unsigned, seal, proof_id="urn:uuid:2", created=now)
    forged = credential.assemble(unsigned, [first, second])
    assert verify_credential(forged).score == "99"                  # integrity only
    with pytest.raises(InvalidCredentialError, match="not registered to CQAT"):
        issued.world.bank.check_course_certificate(forged)


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda d: d.pop("proof"), "no proof"),
    (lambda d: d["proof"].pop(), "a proof set of two proofs"),
    (lambda d: d["proof"].append({**d["proof"][0], "id": "urn:x"}), "a proof set of two proofs"),
    (lambda d: d["proof"].append(dict(d["proof"][0])), "the same item twice"),
    (lambda d: d["credentialSubject"]["source"].update(type=[]), "written twice, differently"),
    (lambda d: d["proof"][1].update(previousProof=d["proof"][0]["id"]), "chain to no other"),
    (lambda d: d["proof"][0].update(cryptosuite="eddsa-jcs-2022"), "cryptosuite"),
    (lambda d: d["proof"][0].update(verificationMethod="did:web:x"), "did:key"),
    (lambda d: d["issuer"].update(id="did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"),
     "written the same"),
    (lambda d: d["credentialSubject"]["achievement"].update(courseHours="32"), "schema"),
    (lambda d: d.update(credentialSchema=[]), "does not name"),
    (lambda d: d["@context"].pop(), "@context must be"),
    (lambda d: d.update(type=["VerifiableCredential"]), "OpenBadgeCredential"),
    (lambda d: d["credentialSubject"]["achievement"].update(achievementType="Badge"),
     "achievementType"),
])
def test_structural_damage_fails_with_a_reason(issued: Issued, mutate: Any,
                                               message: str) -> None:
    damaged = json.loads(issued.file.read_bytes())
    mutate(damaged)
    assert message in reason(json.dumps(damaged).encode())


def test_the_report_says_valid_against_both_schemas(issued: Issued) -> None:
    schema = verify_credential(issued.document).checks[1]
    assert schema.name == "schema"
    assert schema.result == f"valid against {OB_SCHEMA}, {EXTENSION_SCHEMA}"


def _off_ob_schema_status(d: dict[str, Any]) -> None:
    d["credentialSubject"]["result"][0]["status"] = "Passed"  # not in ResultStatusType


def _off_ob_schema_criteria(d: dict[str, Any]) -> None:
    del d["credentialSubject"]["achievement"]["criteria"]  # Open Badges requires it


def _off_ob_schema_valid_from(d: dict[str, Any]) -> None:
    d["validFrom"] = "2023-01-10 00:00"  # not an RFC 3339 date-time


@pytest.mark.parametrize(("mutate", "where"), [
    (_off_ob_schema_status, "credentialSubject/result/0/status"),
    (_off_ob_schema_criteria, "credentialSubject/achievement: 'criteria'"),
    (_off_ob_schema_valid_from, "validFrom"),
])
def test_a_certificate_off_the_open_badges_schema_fails_though_signed(
        issued: Issued, mutate: Any, where: str) -> None:
    """Changed, then signed again with the school's and the secretariat's own keys: the proofs
    verify, creditledger's extension schema has nothing to say, and only 1EdTech's Open Badges
    3.0 schema sees it."""
    keys = issued.world.keys
    unsigned = copy.deepcopy({k: v for k, v in issued.document.items() if k != "proof"})
    mutate(unsigned)
    now = datetime.now(UTC)
    forged = credential.assemble(unsigned, [
        credential.sign_proof(unsigned, keys["CQAT"], proof_id="urn:p:1", created=now),
        credential.sign_proof(unsigned, keys["ESVEA-SEC"], proof_id="urn:p:2", created=now)])
    with pytest.raises(OffSchemaCredentialError) as info:
        verify_credential(forged)
    assert info.value.schema == OB_SCHEMA
    assert info.value.reason.startswith(f"schema: not valid against {OB_SCHEMA}: {where}"), \
        info.value.reason


def test_both_proofs_by_one_key_fail(issued: Issued) -> None:
    key = issued.world.keys["CQAT"]
    unsigned = {k: v for k, v in issued.document.items() if k != "proof"}
    first = credential.sign_proof(unsigned, key, proof_id="urn:p:1", created=datetime.now(UTC))
    second = credential.sign_proof(unsigned, key, proof_id="urn:p:2", created=datetime.now(UTC))
    with pytest.raises(InvalidCredentialError, match="same key"):
        verify_credential(credential.assemble(unsigned, [first, second]))
    assert unsigned["@context"] == CONTEXT


def test_not_json_and_duplicate_keys_are_invalid() -> None:
    for data, message in ((b"\xff", "UTF-8"), (b"{", "not JSON"), (b"[]", "not an object"),
                          (b'{"a":1,"a":2}', "twice"), (b'{"a":NaN}', "NaN")):
        with pytest.raises(InvalidCredentialError, match=message):
            parse_credential(data)


# -- the command line ------------------------------------------------------------------------


def cli(*args: str | Path) -> Any:
    return CliRunner().invoke(app, [str(a) for a in args])


def test_verify_credential_exit_codes(issued: Issued, tmp_path: Path) -> None:
    unanchored = cli("verify-credential", issued.file)
    assert unanchored.exit_code == 3, unanchored.output
    assert "UNANCHORED (intact, but not shown to be issued by anyone" in unanchored.output
    assert "trusted the keys embedded" in unanchored.output
    assert "not checked" in unanchored.output
    keys = ("--school-key", issued.key_file("CQAT"),
            "--secretariat-key", issued.key_file("ESVEA-SEC"))
    ok = cli("verify-credential", issued.file, *keys)
    assert ok.exit_code == 0, ok.output
    assert "valid: 电子课程合格证书 安全检测与监控技术" in ok.output
    swapped = ("--school-key", issued.key_file("ESVEA-SEC"),
               "--secretariat-key", issued.key_file("CQAT"))
    assert cli("verify-credential", issued.file, *swapped).exit_code == 1
    checked = cli("verify-credential", issued.file, "--ledger", issued.world.path, "--json")
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.output)["revocation"] == "checked against the ledger: not revoked"

    changed = tmp_path / "changed.json"
    changed.write_bytes(issued.file.read_bytes().replace(b'"value":"86"', b'"value":"96"'))
    bad = cli("verify-credential", changed)
    assert bad.exit_code == 1 and bad.output.startswith("INVALID: proof by the issuer")
    wrong = cli("verify-credential", issued.file, "--school-key", issued.key_file("HNAT"))
    assert wrong.exit_code == 1 and "not with the given offering school key" in wrong.output
    unsigned = tmp_path / "unsigned.json"
    unsigned.write_bytes(dumps({k: v for k, v in issued.document.items() if k != "proof"}))
    assert "no proof" in cli("verify-credential", unsigned).output

    for args, words in (((tmp_path / "missing.json",), "missing.json"),
                        ((issued.file, "--school-key", tmp_path / "nokey.pem"),
                         "--school-key"),
                        ((issued.file, "--ledger", tmp_path / "none.ledger"), "no such file")):
        unusable = cli("verify-credential", *args)
        assert unusable.exit_code == 2 and words in unusable.output, unusable.output


def test_export_credential_command(issued: Issued, tmp_path: Path) -> None:
    out = tmp_path / "exported.json"
    done = cli("export-credential", issued.world.path, str(issued.certificate), "-o", out)
    assert done.exit_code == 0, done.output
    assert out.read_bytes() == issued.file.read_bytes()
    assert cli("export-credential", issued.world.path, "not-a-uuid").exit_code == 2


def test_a_revoked_certificate_fails_against_the_ledger(tmp_path: Path) -> None:
    world = make_world(tmp_path / "revoked.ledger")
    offering = world.offer()
    certificate = world.passed(offering.id, world.learner("HNAT-9", "HNAT"), "HNAT")
    file = tmp_path / "c.json"
    file.write_bytes(dumps(world.bank.export_course_certificate(certificate)))
    world.bank.revoke_course_certificate(certificate, reason="fraud", note="代考",
                                         signer=world.key("CQAT"))
    offline = cli("verify-credential", file)
    assert offline.exit_code == 3 and "not checked" in offline.output  # offline cannot know
    revoked = cli("verify-credential", file, "--ledger", world.path)
    assert revoked.exit_code == 1
    assert "revoked: by CQAT" in revoked.output and "fraud: 代考" in revoked.output


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(data=st.data())
def test_any_single_change_to_a_credential_is_refused(issued: Issued, data: Any) -> None:
    """Any one change anywhere in the document (a value nudged or replaced, an item or key
    dropped or added) fails, with the keys of both roles given (exit 1, or 2 for a document
    that is no longer one): never valid, never merely unanchored."""
    changed = one_change(json.loads(issued.file.read_bytes()), data)
    with tempfile.TemporaryDirectory() as folder:
        file = Path(folder) / "changed.json"
        file.write_text(json.dumps(changed, ensure_ascii=False), encoding="utf-8")
        result = cli("verify-credential", file, "--school-key", issued.key_file("CQAT"),
                     "--secretariat-key", issued.key_file("ESVEA-SEC"))
    assert result.exit_code in (1, 2), result.output

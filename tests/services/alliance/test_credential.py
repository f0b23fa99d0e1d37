"""The portable certificate: Open Badges 3.0 shape, eddsa-jcs-2022 proofs (checked against the
published test vector), and every way it must fail — a changed byte anywhere, a wrong key, a
missing proof, a revoked certificate — in the library and through ``verify-credential``."""

from __future__ import annotations

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
    b58decode,
    canonical_json,
    dumps,
    key_of_method,
    parse_credential,
    verify_credential,
)
from creditledger.cli.app import app
from creditledger.crypto.did import b58encode, did_key, verification_method
from creditledger.crypto.keys import SigningKey
from creditledger.errors import InvalidCredentialError
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
    assert d["@context"][:2] == ["https://www.w3.org/ns/credentials/v2",
                                 "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]
    assert d["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert d["id"] == f"urn:uuid:{issued.certificate}"
    assert d["issuer"]["name"] == "全国应急安全职业教育联盟"
    subject = d["credentialSubject"]
    achievement = subject["achievement"]
    assert (achievement["achievementType"], achievement["name"]) == ("Course", "安全检测与监控技术")
    assert achievement["creator"] == subject["source"]
    assert subject["source"]["name"] == "重庆安全技术职业学院"
    assert (subject["creditsEarned"], achievement["creditledger:hours"]) == (2, 32)
    assert (subject["term"], subject["result"][0]["value"]) == ("2022-2023-1", "86")
    (identity,) = subject["identifier"]
    assert identity["hashed"] is True and "HNAT-2022-0107" not in json.dumps(d)
    assert identity["identityHash"] == credential.identity_hash("HNAT-2022-0107",
                                                                identity["salt"])
    assert [p["cryptosuite"] for p in d["proof"]] == ["eddsa-jcs-2022"] * 2
    assert d["proof"][1]["previousProof"] == d["proof"][0]["id"]


def test_export_is_reproducible_and_the_file_is_canonical(issued: Issued) -> None:
    again = issued.world.bank.export_course_certificate(issued.certificate)
    assert dumps(again) == issued.file.read_bytes()
    assert canonical_json(json.loads(issued.file.read_bytes())) == issued.file.read_bytes()


@pytest.mark.parametrize(("value", "expected"), [
    ({"b": 1, "a": [True, None, "x"]}, '{"a":[true,null,"x"],"b":1}'),
    ({"€": 1, "\r": 2, "ö": 3, "1": 4}, '{"\\r":2,"1":4,"ö":3,"€":1}'),  # RFC 8785 §3.2.3 order
    ("\u0001\n\"\\é", '"\\u0001\\n\\"\\\\é"'),
    ([2.5, 2.0, 0.1, 59.99, -0.0, 9007199254740991], "[2.5,2,0.1,59.99,0,9007199254740991]"),
])
def test_jcs(value: Any, expected: str) -> None:
    assert canonical_json(value) == expected.encode("utf-8")


@pytest.mark.parametrize("value", [float("nan"), 1e-7, 1e300, 2**53, "\ud800", {1: 2}, b"x"])
def test_jcs_refuses_what_it_cannot_write_exactly(value: Any) -> None:
    with pytest.raises(InvalidCredentialError):
        canonical_json(value)


def test_base58btc_and_did_key() -> None:
    assert b58encode(b"\0\0hello") == "11Cn8eVZg"
    for data in (b"", b"\0", b"\0\x01", bytes(range(64))):
        assert b58decode(b58encode(data)) == data
    with pytest.raises(InvalidCredentialError):
        b58decode("0OIl")
    key = SigningKey.generate().public_key
    assert key_of_method(verification_method(key)) == key
    assert did_key(key).startswith("did:key:z6Mk")


def test_eddsa_jcs_2022_matches_the_published_test_vector() -> None:
    """The eddsa-jcs-2022 test vector of W3C vc-di-eddsa (Digital Bazaar's interop vector):
    our transformation, hashing and did:key decoding verify its proof."""
    context = ["https://www.w3.org/ns/credentials/v2",
               "https://www.w3.org/ns/credentials/examples/v2"]
    document = {
        "@context": context, "id": "urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33",
        "type": ["VerifiableCredential", "AlumniCredential"], "name": "Alumni Credential",
        "description": "A minimum viable example of an Alumni Credential.",
        "issuer": "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
        "validFrom": "2023-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:abcdefgh",
                              "alumniOf": "The School of Examples"}}
    key = "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
    proof = {"type": "DataIntegrityProof", "created": "2023-02-24T23:36:38Z",
             "verificationMethod": f"{key}#{key.removeprefix('did:key:')}",
             "cryptosuite": "eddsa-jcs-2022", "proofPurpose": "assertionMethod",
             "@context": context,
             "proofValue": "z5EhYRJkfPLkoT92FPXN8KK6M9rsBhq3xs19GBSsA6VdNYH4QMKSyNuA2Gfznz9Qth"
                           "VD7Rz3HTAfqxxay23htUpTg"}
    credential.verify_proof(credential.ProofRole.OFFERING_SCHOOL, proof, document,
                            credential.EmbeddedKeys())
    with pytest.raises(InvalidCredentialError, match="does not match"):
        credential.verify_proof(credential.ProofRole.OFFERING_SCHOOL, proof,
                                {**document, "name": "Alumni Credential!"},
                                credential.EmbeddedKeys())


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
    assert {"the offering school's signature does not match",
            "the alliance secretariat's signature does not match"} <= reasons


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
    first = credential.sign_proof(unsigned, school, proof_id="urn:uuid:1", created=now)
    second = credential.sign_proof(unsigned, seal, proof_id="urn:uuid:2", created=now,
                                   previous=(first,))
    forged = credential.assemble(unsigned, [first, second])
    assert verify_credential(forged).score == "99"                  # integrity only
    with pytest.raises(InvalidCredentialError, match="not registered to CQAT"):
        issued.world.bank.check_course_certificate(forged)


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda d: d.pop("proof"), "no proof"),
    (lambda d: d["proof"].pop(), "1 proof"),
    (lambda d: d["proof"].append(dict(d["proof"][0])), "3 proof"),
    (lambda d: d["proof"][1].pop("previousProof"), "one proof without previousProof"),
    (lambda d: d["proof"][0].update(cryptosuite="eddsa-rdfc-2022"), "cryptosuite"),
    (lambda d: d["proof"][0].update(verificationMethod="did:web:x"), "did:key"),
    (lambda d: d.update(type=["VerifiableCredential"]), "OpenBadgeCredential"),
    (lambda d: d["credentialSubject"]["achievement"].update(achievementType="Badge"),
     "achievementType"),
])
def test_structural_damage_fails_with_a_reason(issued: Issued, mutate: Any,
                                               message: str) -> None:
    damaged = json.loads(issued.file.read_bytes())
    mutate(damaged)
    assert message in reason(json.dumps(damaged).encode())


def test_both_proofs_by_one_key_fail() -> None:
    key = SigningKey.generate()
    document = {"@context": list(credential.CONTEXT), "id": "urn:uuid:" + "0" * 32,
                "type": ["VerifiableCredential", "OpenBadgeCredential"],
                "credentialSubject": {"achievement": {"achievementType": "Course"}}}
    first = credential.sign_proof(document, key, proof_id="urn:p:1",
                                  created=datetime.now(UTC))
    second = credential.sign_proof(document, key, proof_id="urn:p:2",
                                   created=datetime.now(UTC),
                                   previous=(first,))
    with pytest.raises(InvalidCredentialError, match="same key"):
        verify_credential(credential.assemble(document, [first, second]))


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
    assert json.loads(checked.output)["revocation"] == "checked: not revoked"

    changed = tmp_path / "changed.json"
    changed.write_bytes(issued.file.read_bytes().replace(b'"value":"86"', b'"value":"96"'))
    bad = cli("verify-credential", changed)
    assert bad.exit_code == 1 and bad.output.startswith("INVALID: the offering school's")
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

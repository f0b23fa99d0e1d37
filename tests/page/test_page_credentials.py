"""The verifier page checks course certificates (Open Badges 3.0) and CLRs in headless Chromium
as ``verify-credential`` and ``verify_clr`` do: the eddsa-rdfc-2022 proofs (RDFC-1.0 by the
bundled jsonld.js, Ed25519 by WebCrypto), the issuer binding and the pinned keys; a tampered
file fails on the same named check as in Python, and nothing but the page is requested."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from creditledger.audit.transcript import verify_clr
from creditledger.audit.vc import clr
from creditledger.audit.vc.contexts import CLR_SCHEMA, EXTENSION_SCHEMA, OB_SCHEMA
from creditledger.crypto.keys import PublicKey, SigningKey
from creditledger.errors import InvalidCredentialError
from tests.audit.helpers import cli
from tests.page.browser import PageSession
from tests.page.conftest import needs_chromium, write_json
from tests.services.alliance.world import SECRETARIAT, make_world
from tests.services.test_clr import make_record

pytestmark = needs_chromium
Document = dict[str, Any]

PYTHON_CHECK = {
    "shape": "shape", "schema": "schema", "proofs": "proof-issuer",
    "proof by the issuer (offering school)": "proof-issuer",
    "proof by the alliance seal": "proof-seal", "issuer binding": "issuer-binding",
    "key of the offering school": "key-issuer", "key of the alliance secretariat": "key-seal",
    # the CLR's
    "proof by the issuer": "proof-issuer", "key": "key-issuer",
    "credentials: proofs": "credentials-proofs", "credentials: issuer": "credentials-issuer",
    "credentials: schemas": "credentials-schemas",
    "credentials: learner": "credentials-learner", "lineage": "lineage",
}
"""The page's name for each check Python names in its refusal ("check: reason")."""


@dataclass
class Certificate:
    document: Document
    school: SigningKey
    secretariat: SigningKey


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Certificate]:
    world = make_world(tmp_path_factory.mktemp("page-alliance") / "alliance.ledger")
    try:
        offering = world.offer()
        issued = world.passed(offering.id, world.learner("HNAT-2022-0107", "HNAT"), "HNAT")
        yield Certificate(world.bank.export_course_certificate(issued), world.key("CQAT"),
                          world.key(SECRETARIAT))
    finally:
        world.bank.close()


def key_file(folder: Path, name: str, key: PublicKey) -> Path:
    path = folder / f"{name}.pub"
    path.write_text(key.to_base64())
    return path


def python_credential(path: Path, *args: str) -> tuple[int, str | None]:
    """verify-credential's exit code and, if it refused, the check it names."""
    result = cli("verify-credential", str(path), "--json", *args)
    verdict = json.loads(result.stdout)
    reason = verdict.get("reason")
    return result.exit_code, PYTHON_CHECK[reason.split(":")[0]] if reason else None


def test_a_good_certificate_is_unanchored_until_both_keys_are_pinned(
    session: PageSession, certificate: Certificate, tmp_path: Path,
) -> None:
    path = write_json(tmp_path / "certificate.json", certificate.document)
    session.requests.clear()
    shown = session.check(path)
    assert python_credential(path) == (3, None)  # the CLI's exit 3: intact, not anchored
    assert shown.verdict == "unanchored" and set(shown.checks.values()) == {"pass"}
    assert "NOT anchored" in shown.details["key-issuer"]
    assert shown.details["schema"] == f"valid against {OB_SCHEMA}, {EXTENSION_SCHEMA}"
    assert "eddsa-rdfc-2022 signature by ed25519:" in shown.details["proof-seal"]
    table = session.page.locator("#certificate").inner_text()
    assert "学分 Credits\t2" in table and "CQ-AQ301" in table
    school = certificate.school.public_key
    secretariat = certificate.secretariat.public_key
    both = ("--school-key", str(key_file(tmp_path, "school", school)),
            "--secretariat-key", str(key_file(tmp_path, "sec", secretariat)))
    assert python_credential(path, *both) == (0, None)
    pinned = session.check(path, school.to_base64(), secretariat.to_base64())
    assert pinned.verdict == "intact" and "the given key" in pinned.details["key-seal"]
    assert set(session.requests) == {session.url}


def _credits(d: Document) -> None:
    d["credentialSubject"]["creditsEarned"] = 40


def _seal_value(d: Document) -> None:
    seal = d["proof"][1]
    seal["proofValue"] = seal["proofValue"][:-4] + ("1111" if seal["proofValue"][-4:] != "1111"
                                                    else "2222")


def _issuer_name(d: Document) -> None:
    d["issuer"] = {**d["issuer"], "name": "另一所学校"}  # not as the achievement's creator says


def _unsigned(d: Document) -> None:
    del d["proof"]


def _swap_proofs_keys(d: Document) -> None:
    d["proof"][0]["verificationMethod"], d["proof"][1]["verificationMethod"] = \
        d["proof"][1]["verificationMethod"], d["proof"][0]["verificationMethod"]


def _hours_as_text(d: Document) -> None:
    d["credentialSubject"]["achievement"]["courseHours"] = "32"  # the schema wants an integer


def _status_not_open_badges(d: Document) -> None:
    d["credentialSubject"]["result"][0]["status"] = "Passed"  # not in 1EdTech's vocabulary


def _valid_from_not_a_date_time(d: Document) -> None:
    d["validFrom"] = "2023-01-10"  # 1EdTech's schema: format date-time


CERTIFICATE_TAMPERS: dict[str, tuple[Callable[[Document], None], str]] = {
    "result status not Open Badges'": (_status_not_open_badges, "schema"),
    "validFrom a bare date": (_valid_from_not_a_date_time, "schema"),
    "credits changed": (_credits, "proof-issuer"),
    "seal's signature changed": (_seal_value, "proof-seal"),
    "issuer rewritten": (_issuer_name, "shape"),
    "hours as text": (_hours_as_text, "schema"),
    "proofs removed": (_unsigned, "proof-issuer"),
    "proofs' keys swapped": (_swap_proofs_keys, "proof-issuer"),
}


@pytest.mark.parametrize("case", sorted(CERTIFICATE_TAMPERS))
def test_each_tampered_certificate_fails_the_check_python_names(
    case: str, session: PageSession, certificate: Certificate, tmp_path: Path,
) -> None:
    tamper, check = CERTIFICATE_TAMPERS[case]
    document = copy.deepcopy(certificate.document)
    tamper(document)
    path = write_json(tmp_path / "tampered.json", document)
    assert python_credential(path) == (1, check)
    session.requests.clear()
    shown = session.check(path)
    assert shown.verdict == "tampered" and shown.failed == [check], shown.details
    assert "INVALID" in shown.text and set(session.requests) == {session.url}


def test_a_version_1_certificate_is_left_to_the_cli(
    session: PageSession, certificate: Certificate, tmp_path: Path,
) -> None:
    document = copy.deepcopy(certificate.document)
    document["@context"] = [*document["@context"][:2],
                            {"creditledger": "https://creditledger.invalid/ns/alliance/v1#"}]
    shown = session.check(write_json(tmp_path / "v1.json", document))
    assert shown.verdict == "unusable" and "creditledger verify-credential" in shown.text


@pytest.mark.parametrize("role", ["school", "secretariat"])
def test_a_wrongly_pinned_certificate_key_fails_that_roles_key_check(
    role: str, session: PageSession, certificate: Certificate, tmp_path: Path,
) -> None:
    path = write_json(tmp_path / "certificate.json", certificate.document)
    stranger = SigningKey.generate().public_key
    keys = {"school": certificate.school.public_key,
            "secretariat": certificate.secretariat.public_key, role: stranger}
    args = ("--school-key", str(key_file(tmp_path, "school", keys["school"])),
            "--secretariat-key", str(key_file(tmp_path, "sec", keys["secretariat"])))
    check = "key-issuer" if role == "school" else "key-seal"
    assert python_credential(path, *args) == (1, check)
    shown = session.check(path, keys["school"].to_base64(), keys["secretariat"].to_base64())
    assert shown.verdict == "tampered" and shown.failed == [check]


# -- the CLR -----------------------------------------------------------------------------------


@dataclass
class Clr:
    document: Document
    school: SigningKey


@pytest.fixture(scope="module")
def record(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clr]:
    made = make_record(tmp_path_factory.mktemp("page-clr") / "bank.ledger")
    try:
        yield Clr(made.document, made.world.gzcc)
    finally:
        made.world.bank.close()


def python_clr(document: Document, key: PublicKey | None = None) -> str | None:
    try:
        verify_clr(document, school_key=key)
    except InvalidCredentialError as e:
        return PYTHON_CHECK[e.reason.split(":")[0] if not e.reason.startswith("credentials: ")
                            else ":".join(e.reason.split(":")[:2])]
    return None


def test_a_good_clr_shows_the_learners_record_with_its_lineage(
    session: PageSession, record: Clr, tmp_path: Path,
) -> None:
    path = write_json(tmp_path / "clr.json", record.document)
    assert python_clr(record.document) is None
    shown = session.check(path)
    assert shown.verdict == "unanchored" and set(shown.checks.values()) == {"pass"}
    assert "of 10 OpenBadgeCredentials" in shown.details["shape"]
    assert shown.details["credentials-schemas"] == \
        f"valid against {OB_SCHEMA}, {EXTENSION_SCHEMA}"
    assert shown.details["schema"] == f"no shipped schema named; not checked (not shipped): " \
        f"{CLR_SCHEMA}"
    entries = session.page.locator("#clr-entries").inner_text()
    assert "免修：基础会计（KJ1101）\t免修 exemption\t4\t基础会计 — rule lnpc/LN-KJ101 v1, " \
        "agreement GZCC-LNPC-2022" in entries
    assert "学分转换 conversion\t3.5\t会计信息化实务培训 — rule ratio v1" in entries
    pinned = session.check(path, record.school.public_key.to_base64())
    assert pinned.verdict == "intact"
    assert python_clr(record.document, record.school.public_key) is None
    assert set(session.requests) == {session.url}


def _clr_name(d: Document, _: SigningKey) -> None:
    d["name"] = d["name"] + "（修改）"


def _credential_resigned(d: Document, school: SigningKey) -> None:
    # an embedded credential's credits changed, and the CLR signed again by its own school: the
    # credential's own proof still catches it
    inner = d["credentialSubject"]["verifiableCredential"][0]
    inner["credentialSubject"]["creditsEarned"] = 40
    resign(d, school)


def _credential_off_schema(d: Document, school: SigningKey) -> None:
    # a credential made invalid against the extension schema, every proof made again with the
    # school's own key: only the schema check can see it
    found = d["credentialSubject"]["verifiableCredential"]
    inner = {k: v for k, v in found[0].items() if k != "proof"}
    inner["credentialSubject"]["achievement"]["courseHours"] = -1
    found[0] = clr.signed(inner, school, datetime(2022, 9, 3, tzinfo=UTC))
    resign(d, school)


def _credential_written_the_old_way(d: Document, school: SigningKey) -> None:
    # a credential as CLRs were written before 1EdTech's Open Badges schema was shipped (one
    # proof object, a bare date): its proofs verify, the Open Badges schema refuses it
    found = d["credentialSubject"]["verifiableCredential"]
    i = next(i for i, c in enumerate(found) if "activityEndDate" in c["credentialSubject"])
    inner = {k: v for k, v in found[i].items() if k != "proof"}
    inner["credentialSubject"]["activityEndDate"] = \
        inner["credentialSubject"]["activityEndDate"][:10]
    (proof,) = clr.signed(inner, school, datetime(2022, 9, 3, tzinfo=UTC))["proof"]
    found[i] = {**inner, "proof": proof}
    resign(d, school)


def _lineage_source_dropped(d: Document, school: SigningKey) -> None:
    found = d["credentialSubject"]["verifiableCredential"]
    sources = {s for c in found for step in c["credentialSubject"]["achievement"].get(
        "lineage", []) for s in step["sources"]}
    d["credentialSubject"]["verifiableCredential"] = [
        c for c in found if c["credentialSubject"]["achievement"]["id"] not in sources]
    resign(d, school)


def resign(d: Document, school: SigningKey) -> None:
    unsigned = {k: v for k, v in d.items() if k != "proof"}
    d["proof"] = clr.signed(unsigned, school, datetime(2022, 9, 3, tzinfo=UTC))["proof"]


CLR_TAMPERS: dict[str, tuple[Callable[[Document, SigningKey], None], str]] = {
    "the CLR's name changed": (_clr_name, "proof-issuer"),
    "a credential changed, the CLR re-signed": (_credential_resigned, "credentials-proofs"),
    "a conversion's sources dropped, re-signed": (_lineage_source_dropped, "lineage"),
    "a credential off its schema, re-signed": (_credential_off_schema, "credentials-schemas"),
    "a credential written the old way, re-signed": (_credential_written_the_old_way,
                                                    "credentials-schemas"),
}


@pytest.mark.parametrize("case", sorted(CLR_TAMPERS))
def test_each_tampered_clr_fails_the_check_python_names(
    case: str, session: PageSession, record: Clr, tmp_path: Path,
) -> None:
    tamper, check = CLR_TAMPERS[case]
    document = copy.deepcopy(record.document)
    tamper(document, record.school)
    assert python_clr(document) == check
    shown = session.check(write_json(tmp_path / "clr.json", document))
    assert shown.verdict == "tampered" and shown.failed == [check], shown.details


def test_a_wrongly_pinned_clr_key_fails_the_key_check(
    session: PageSession, record: Clr, tmp_path: Path,
) -> None:
    stranger = SigningKey.generate().public_key
    assert python_clr(record.document, stranger) == "key-issuer"
    shown = session.check(write_json(tmp_path / "clr.json", record.document),
                          stranger.to_base64())
    assert shown.verdict == "tampered" and shown.failed == ["key-issuer"]

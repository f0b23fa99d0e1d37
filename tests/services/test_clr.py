"""A learner's whole record as one credential: ``export_clr`` and ``verify_clr`` (1EdTech CLR
2.0), and ``creditledger export-clr``.

One learner (S1, enrolled in GZCC's 会计) holds a course result, an X certificate, a training
record, an online course, a qualification certificate and a diploma; the certificate exempts a
course, an LNPC course result exempts another under a bilateral agreement, the training record
is converted into elective credits. A course result and a second certificate were revoked (and
the conversion resting on the certificate reversed): they are left out.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from typer.testing import CliRunner

from creditledger.audit.credential import dumps, parse_credential
from creditledger.audit.transcript import verify_clr
from creditledger.audit.vc import clr
from creditledger.audit.vc.certificate import identity_hash, urn
from creditledger.audit.vc.contexts import CLR_SCHEMA, EXTENSION_SCHEMA, OB_SCHEMA
from creditledger.audit.vc.integrity import RDFC, create_proof, nquads
from creditledger.cli.app import app
from creditledger.crypto.did import did_key
from creditledger.crypto.keys import SigningKey
from creditledger.domain import Achievement, credit_transfers_id
from creditledger.errors import (
    InvalidCredentialError,
    NotAuthorisedError,
    OffSchemaCredentialError,
    ValidationError,
)
from tests.services.transfers.builders import category_rule, certificate_rule, ratio_rule
from tests.services.transfers.world import (
    EVIDENCE,
    RECORD_RULE,
    TODAY,
    World,
    inter_school_rule,
    make_world,
)

AGREEMENT = "GZCC-LNPC-2022"
PASSPHRASE = "transcripts"
VALID_FROM = datetime(2022, 9, 2, 8, 0, tzinfo=UTC)
Document = dict[str, Any]


@dataclass
class Record:
    """The world, the learner's achievements by name, and the exported CLR."""

    world: World
    achievements: dict[str, Achievement]
    document: Document


def learning_record(world: World, kind: str, title: str, reference: str, signer: str,
                    **kw: Any) -> Achievement:
    args: dict[str, Any] = dict(
        kind=kind, learner_id="S1", title=title, reference=reference,
        completed_on=date(2022, 5, 1), method="comparison", credits=Decimal(1),
        category="major_elective", rule=RECORD_RULE, evidence=EVIDENCE,
        signer=world.keys[signer], today=date(2022, 7, 15))
    args.update(kw)
    return world.bank.recognise_learning_record(**args)


def make_record(path: Path) -> Record:
    """S1's record (see the module's note), exported by GZCC at ``VALID_FROM``."""
    world = make_world(path)
    bank, gzcc = world.bank, world.gzcc
    world.publish(certificate_rule(), ratio_rule(), category_rule())
    bank.propose_agreement(code=AGREEMENT, partner="LNPC", valid_from=date(2022, 1, 1),
                           valid_until=date(2022, 12, 31), rules=[inter_school_rule()],
                           signer=gzcc, today=date(2022, 8, 1))
    bank.countersign_agreement(code=AGREEMENT, version=1, signer=world.lnpc,
                               today=date(2022, 8, 2))
    found = {
        "course": world.course("S1", "GG1002"),
        "lnpc course": world.course("S1", "LN-KJ101", owner="LNPC", score=Decimal("78.5")),
        "certificate": world.certificate("S1"),
        "training": world.training("S1"),
        "online": learning_record(world, "online_course", "Python 程序设计", "MOOC-1", "VTC",
                                  score=Decimal("92.5")),
        "qualification": learning_record(world, "qualification_certificate", "会计专业技术资格",
                                         "QC-2022-1", "VTC", method="matching"),
        "diploma": learning_record(world, "diploma", "中等职业学校毕业证书", "DIP-2020-7",
                                   "LNPC", method="matching", credits=Decimal(2)),
        "revoked course": world.course("S1", "KJ2104"),
        "revoked certificate": world.certificate("S1", number="ZNCS-2"),
    }
    convert = bank.convert
    convert(learner_id="S1", source_achievement_ids=[found["certificate"].id], rule_id="cert",
            signer=gzcc, today=TODAY)
    convert(learner_id="S1", source_achievement_ids=[found["training"].id], rule_id="ratio",
            signer=gzcc, today=TODAY)
    convert(learner_id="S1", source_achievement_ids=[found["lnpc course"].id],
            rule_id="lnpc/LN-KJ101", agreement_code=AGREEMENT, signer=gzcc, today=TODAY)
    convert(learner_id="S1", source_achievement_ids=[found["revoked certificate"].id],
            rule_id="elective", signer=gzcc, today=TODAY)
    bank.revoke(found["revoked course"].id, reason="error", note="录入错误", signer=gzcc,
                today=TODAY)
    bank.revoke(found["revoked certificate"].id, reason="fraud", note="证书造假",
                signer=world.keys["ISSUER"], today=TODAY)
    return Record(world, found, bank.export_clr("S1", signer=gzcc, valid_from=VALID_FROM))


@pytest.fixture(scope="module")
def record(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Record]:
    made = make_record(tmp_path_factory.mktemp("clr") / "bank.ledger")
    try:
        yield made
    finally:
        made.world.bank.close()


def credentials(document: Document) -> list[Document]:
    found: list[Document] = document["credentialSubject"]["verifiableCredential"]
    return found


def by_achievement(document: Document) -> dict[str, Document]:
    """The credentials by the id of their achievement."""
    return {c["credentialSubject"]["achievement"]["id"]: c for c in credentials(document)}


def of(record: Record, name: str) -> Document:
    return by_achievement(record.document)[urn(record.achievements[name].id)]


def conversions(document: Document) -> dict[str, Document]:
    """The conversions' achievements, by what they exempt (or credit: ``elective``)."""
    out = {}
    for c in credentials(document):
        achievement = c["credentialSubject"]["achievement"]
        if achievement["achievementType"].startswith("ext:"):
            (step,) = achievement["lineage"]
            out[step.get("exempts", ["elective"])[0]] = achievement
    return out


def stored(world: World, position: int) -> tuple[str, str, str]:
    """The aggregate, topic and hash of the event at ``position``."""
    (oid, topic, hash_), = world.rows(
        "SELECT originator_id, topic, hash FROM stored_events WHERE position = ?", (position,))
    return str(oid), str(topic), bytes(hash_).hex()


# -- the document ---------------------------------------------------------------------------


def test_the_clr_is_a_clr_credential_issued_by_the_home_school(record: Record) -> None:
    document, school = record.document, did_key(record.world.gzcc.public_key)
    assert document["@context"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]
    assert document["type"] == ["VerifiableCredential", "ClrCredential"]
    UUID(document["id"].removeprefix("urn:uuid:"))
    assert document["name"] == "学分银行成绩单：S1"  # by id: no personal data unless asked for
    assert document["issuer"] == {"id": school, "type": ["Profile"], "name": "GZCC 学院"}
    assert document["validFrom"] == "2022-09-02T08:00:00Z"
    assert document["credentialSchema"] == [{"id": CLR_SCHEMA, "type": "JsonSchema"}]
    (proof,) = document["proof"]  # a list of one, as Open Badges' schema writes proofs
    assert proof["cryptosuite"] == RDFC
    assert proof["verificationMethod"].startswith(school + "#")
    subject = document["credentialSubject"]
    assert sorted(subject) == ["identifier", "type", "verifiableCredential"]
    (identity,) = subject["identifier"]
    assert identity["identityHash"] == identity_hash("S1", identity["salt"])
    assert identity["hashed"] is True and len(identity["salt"]) == 32


def test_every_credential_is_an_open_badge_of_the_same_issuer_and_learner(
        record: Record) -> None:
    document = record.document
    for c in credentials(document):
        assert c["@context"] == clr.CREDENTIAL_CONTEXT
        assert c["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
        assert c["issuer"] == document["issuer"] and c["validFrom"] == document["validFrom"]
        assert c["credentialSubject"]["identifier"] == document["credentialSubject"]["identifier"]
        assert c["credentialSchema"] == [{"id": OB_SCHEMA, "type": "JsonSchema"},
                                         {"id": EXTENSION_SCHEMA, "type": "JsonSchema"}]
        assert [p["verificationMethod"] for p in c["proof"]] == \
            [p["verificationMethod"] for p in document["proof"]]
    assert len({c["id"] for c in credentials(document)}) == len(credentials(document)) == 10


def test_every_term_is_defined(record: Record) -> None:
    """Canonicalisation (safe mode) accepts the CLR and every credential in it, and refuses a
    term no context defines."""
    def unsigned(d: Document) -> Document:
        return {k: v for k, v in d.items() if k != "proof"}

    assert nquads(unsigned(record.document))
    for c in credentials(record.document):
        assert nquads(unsigned(c))
    changed = copy.deepcopy(unsigned(record.document))
    changed["credentialSubject"]["verifiableCredential"][0]["credentialSubject"]["mark"] = 1
    with pytest.raises(InvalidCredentialError, match="'mark'"):
        nquads(changed)


# -- what it holds --------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "achievement_type", "credits"), [
    ("course", "Course", 4), ("lnpc course", "Course", 4), ("certificate", "Certificate", 4),
    ("training", "LearningProgram", 4), ("online", "LearningProgram", 1),
    ("qualification", "Certification", 1), ("diploma", "Diploma", 2)])
def test_each_achievement_in_force_is_a_credential_of_its_type(
        record: Record, name: str, achievement_type: str, credits: int) -> None:
    credential = of(record, name)
    subject, achievement = credential["credentialSubject"], \
        credential["credentialSubject"]["achievement"]
    recognised = record.achievements[name]
    assert achievement["achievementType"] == achievement_type
    assert achievement["name"] == recognised.record.title
    assert achievement["creditsAvailable"] == subject["creditsEarned"] == credits
    assert achievement["tag"] == [recognised.category.zh]
    assert achievement["creator"]["institutionCode"] == recognised.record.certified_by


def test_each_credential_names_the_event_that_recognised_it(record: Record) -> None:
    for name, recognised in record.achievements.items():
        if name.startswith("revoked"):
            continue
        ledger = of(record, name)["ledgerRecord"]
        assert ledger["ledger"] == urn(record.world.bank.ledger_id)
        assert ledger["aggregate"] == urn(recognised.id)
        oid, topic, hash_ = stored(record.world, ledger["position"])
        assert oid == recognised.id.hex and topic.endswith("Achievement.Recognised")
        assert ledger["eventHash"] == hash_


def test_scores_terms_numbers_and_hours_are_where_open_badges_puts_them(record: Record) -> None:
    course = of(record, "lnpc course")["credentialSubject"]
    (result,) = course["result"]
    (described,) = course["achievement"]["resultDescription"]
    assert result == {"type": ["Result"], "resultDescription": described["id"], "value": "78.5",
                      "status": "Completed"}
    assert (described["resultType"], described["valueMax"]) == ("RawScore", "100")
    assert course["term"] == "2021-2022-2"
    assert (course["achievement"]["humanCode"], course["achievement"]["courseHours"]) == \
        ("LN-KJ101", 64)
    assert course["achievement"]["assessmentMethod"] == "exam"
    certificate = of(record, "certificate")["credentialSubject"]
    assert (certificate["licenseNumber"], certificate["activityEndDate"]) == \
        ("ZNCS-1", "2022-06-30T00:00:00Z")  # a date-time, as Open Badges requires
    assert "result" not in certificate
    online = of(record, "online")["credentialSubject"]
    assert online["result"][0]["value"] == "92.5"
    assert of(record, "training")["credentialSubject"]["achievement"]["courseHours"] == 72


def test_conversions_and_exemptions_carry_their_lineage(record: Record) -> None:
    found = conversions(record.document)
    assert sorted(found) == ["KJ1101", "KJ2103", "elective"]
    cert, lnpc, training = (record.achievements[n] for n in ("certificate", "lnpc course",
                                                             "training"))
    expected = {"KJ2103": ("ext:Exemption", "cert", None, cert, 4, "专业核心"),
                "KJ1101": ("ext:Exemption", "lnpc/LN-KJ101", AGREEMENT, lnpc, 4, "专业基础"),
                "elective": ("ext:CreditTransfer", "ratio", None, training, 3.5, "专业选修")}
    for target, (kind, rule, agreement, source, credits, category) in expected.items():
        achievement = found[target]
        (step,) = achievement["lineage"]
        assert achievement["achievementType"] == kind
        assert achievement["creditsAvailable"] == credits and achievement["tag"] == [category]
        assert (step["ruleId"], step["ruleVersion"], step.get("agreementCode")) == \
            (rule, 1, agreement)
        assert step["sources"] == [urn(source.id)]
        assert step["conversion"] == achievement["id"]
        assert step.get("exempts") == (None if target == "elective" else [target])


def test_a_conversion_names_the_event_that_recorded_it(record: Record) -> None:
    transfers = urn(credit_transfers_id("S1"))
    for achievement in conversions(record.document).values():
        (step,) = achievement["lineage"]
        ledger = step["ledgerRecord"]
        assert ledger["aggregate"] == transfers
        oid, topic, hash_ = stored(record.world, ledger["position"])
        assert urn(UUID(oid)) == transfers and topic.endswith("CreditTransfers.Converted")
        assert ledger["eventHash"] == hash_
        credential = by_achievement(record.document)[achievement["id"]]
        assert credential["ledgerRecord"] == ledger


def test_revoked_achievements_and_reversed_conversions_are_left_out(record: Record) -> None:
    held = by_achievement(record.document)
    for name in ("revoked course", "revoked certificate"):
        assert urn(record.achievements[name].id) not in held
    sources = {s for a in conversions(record.document).values()
               for s in a["lineage"][0]["sources"]}
    assert urn(record.achievements["revoked certificate"].id) not in sources
    assert "ZNCS-2" not in json.dumps(record.document)


# -- verification ---------------------------------------------------------------------------


def test_the_home_school_signed_it_and_verify_clr_accepts_it(record: Record) -> None:
    verified = verify_clr(record.document, school_key=record.world.gzcc.public_key)
    assert verified.anchored and verified.issuer == did_key(record.world.gzcc.public_key)
    assert verified.school == "GZCC 学院" and len(verified.entries) == 10
    assert [c.name for c in verified.checks] == [
        "shape", "schema", "proof by the issuer", "issuer binding", "key",
        "credentials: proofs", "credentials: issuer", "credentials: schemas",
        "credentials: learner", "lineage"]
    assert CLR_SCHEMA in verified.checks[1].result  # named, not shipped: not checked
    assert verified.checks[7].result == f"valid against {OB_SCHEMA}, {EXTENSION_SCHEMA}"
    unanchored = verify_clr(record.document)
    assert not unanchored.anchored and "NOT anchored" in unanchored.checks[4].result


def refused(document: Document, check: str, why: str = "", **kw: Any) -> None:
    """``verify_clr`` refuses ``document`` in ``check`` (its reason matching ``why``)."""
    with pytest.raises(InvalidCredentialError) as info:
        verify_clr(document, **kw)
    assert info.value.reason.startswith(f"{check}: "), info.value.reason
    assert why in info.value.reason


def changed_name(d: Document) -> None:
    first = d["credentialSubject"]["verifiableCredential"][0]["credentialSubject"]
    name = first["achievement"]["name"]
    first["achievement"]["name"] = name[:-1] + chr(ord(name[-1]) + 1)


def changed_credits(d: Document) -> None:
    d["credentialSubject"]["verifiableCredential"][1]["credentialSubject"]["creditsEarned"] = 5


def repeated_tag(d: Document) -> None:
    achievement = d["credentialSubject"]["verifiableCredential"][0]["credentialSubject"][
        "achievement"]
    achievement["tag"] = achievement["tag"] * 2


def issuer_copy_without_name(d: Document) -> None:
    """The outer issuer loses its name, which the credentials' copies still state: the same
    RDF statements, so the proof alone would not see it."""
    del d["issuer"]["name"]


def dropped_credential(d: Document) -> None:
    d["credentialSubject"]["verifiableCredential"].pop()


@pytest.mark.parametrize(("change", "check"), [
    (changed_name, "proof by the issuer"), (changed_credits, "proof by the issuer"),
    (repeated_tag, "shape"), (issuer_copy_without_name, "shape"),
    (dropped_credential, "proof by the issuer")])
def test_a_changed_clr_is_refused(record: Record, change: Callable[[Document], None],
                                  check: str) -> None:
    changed = copy.deepcopy(record.document)
    change(changed)
    refused(changed, check)


def test_the_issuer_copy_change_would_pass_the_proof_alone(record: Record) -> None:
    """Why the shape check matters: the proof verifies a CLR whose issuer lost its name."""
    from creditledger.audit.vc.integrity import verify_proof

    changed = copy.deepcopy(record.document)
    issuer_copy_without_name(changed)
    verify_proof({k: v for k, v in changed.items() if k != "proof"}, changed["proof"][0])


def test_a_clr_signed_again_by_another_key_is_refused(record: Record) -> None:
    other = SigningKey.generate()
    unsigned = {k: v for k, v in record.document.items() if k != "proof"}
    forged = {**unsigned, "proof": create_proof(unsigned, other, created=VALID_FROM)}
    refused(forged, "issuer binding")
    unsigned["issuer"] = {**unsigned["issuer"], "id": did_key(other.public_key)}
    forged = {**unsigned, "proof": create_proof(unsigned, other, created=VALID_FROM)}
    refused(forged, "credentials: issuer", "not by the CLR's issuer")
    refused(record.document, "key", school_key=other.public_key)


def test_lineage_must_name_achievements_of_the_clr(record: Record) -> None:
    """A conversion whose source is not in the CLR (here: its credential taken out, the CLR
    signed again by the same school) is refused."""
    key = record.world.gzcc
    unsigned = copy.deepcopy({k: v for k, v in record.document.items() if k != "proof"})
    source = urn(record.achievements["training"].id)
    held = unsigned["credentialSubject"]["verifiableCredential"]
    held[:] = [c for c in held if c["credentialSubject"]["achievement"]["id"] != source]
    signed = {**unsigned, "proof": create_proof(unsigned, key, created=VALID_FROM)}
    refused(signed, "lineage", "is no achievement in the CLR")


def _proof_as_one_object(c: Document, key: SigningKey) -> None:
    """How CLRs were written before 1EdTech's Open Badges schema was shipped: VC 2.0 allows a
    single proof object, the schema wants an array."""
    unsigned = {k: v for k, v in c.items() if k != "proof"}
    c["proof"] = create_proof(unsigned, key, created=VALID_FROM)


def _status_not_in_the_vocabulary(c: Document, key: SigningKey) -> None:
    c["credentialSubject"]["result"][0]["status"] = "Passed"
    c["proof"] = clr.signed({k: v for k, v in c.items() if k != "proof"}, key, VALID_FROM)[
        "proof"]


@pytest.mark.parametrize(("change", "where"), [
    (_proof_as_one_object, "proof: an object is not of type 'array'"),
    (_status_not_in_the_vocabulary, "credentialSubject/result/0/status: 'Passed' is not one of"),
])
def test_a_credential_off_the_open_badges_schema_is_refused_though_signed(
        record: Record, change: Callable[[Document, SigningKey], None], where: str) -> None:
    """A credential of the CLR changed and signed again by the home school, then the CLR
    signed again: every proof verifies, and 1EdTech's Open Badges schema refuses it."""
    key = record.world.gzcc
    unsigned = copy.deepcopy({k: v for k, v in record.document.items() if k != "proof"})
    first = unsigned["credentialSubject"]["verifiableCredential"][0]
    change(first, key)
    signed = clr.signed(unsigned, key, VALID_FROM)
    with pytest.raises(OffSchemaCredentialError) as info:
        verify_clr(signed)
    assert info.value.schema == OB_SCHEMA
    assert info.value.reason.startswith(
        f"credentials: schemas: credential {first['id']}: not valid against {OB_SCHEMA}: "
        f"{where}"), info.value.reason


# -- who may export -------------------------------------------------------------------------


def test_only_the_home_school_may_export_and_exporting_writes_nothing(record: Record) -> None:
    bank = record.world.bank
    before = bank.last_position()
    with pytest.raises(NotAuthorisedError, match=r"home school.*GZCC, not LNPC"):
        bank.export_clr("S1", signer=record.world.lnpc)
    with pytest.raises(NotAuthorisedError, match="enrolled nowhere"):
        bank.export_clr("M1", signer=record.world.gzcc)
    with pytest.raises(ValidationError, match="nothing in force"):
        bank.export_clr("S2", signer=record.world.gzcc)
    bank.export_clr("S1", signer=record.world.gzcc)
    assert bank.last_position() == before


# -- the command line -----------------------------------------------------------------------


def test_export_clr_writes_the_signed_clr_as_canonical_json(record: Record,
                                                            tmp_path: Path) -> None:
    key = record.world.gzcc.save(tmp_path / "gzcc.pem", PASSPHRASE.encode())
    other = record.world.lnpc.save(tmp_path / "lnpc.pem", PASSPHRASE.encode())
    env = {"CREDITLEDGER_PASSPHRASE": PASSPHRASE}
    runner, ledger = CliRunner(), str(record.world.path)
    target = tmp_path / "S1.clr.json"
    done = runner.invoke(app, ["export-clr", ledger, "--learner", "S1", "--key", str(key),
                               "-o", str(target)], env=env)
    assert done.exit_code == 0, done.output
    data = target.read_bytes()
    document = parse_credential(data)
    assert dumps(document) == data
    verified = verify_clr(document, school_key=record.world.gzcc.public_key)
    assert len(verified.entries) == 10
    shown = runner.invoke(app, ["export-clr", ledger, "--learner", "S1", "--key", str(key)],
                          env=env)
    assert shown.exit_code == 0
    assert parse_credential(shown.stdout_bytes)["type"] == clr.TYPE
    refused = tmp_path / "refused.json"
    denied = runner.invoke(app, ["export-clr", ledger, "--learner", "S1", "--key", str(other),
                                 "-o", str(refused)], env=env)
    assert denied.exit_code == 2 and "home school" in denied.output
    assert not refused.exists()


def test_a_course_certificate_recognised_from_the_alliance_is_in_the_record(
        tmp_path: Path) -> None:
    """A course taken at another school of the alliance (not in this ledger's catalog),
    recognised at home and converted into an exemption under the schools' agreement."""
    from tests.services.alliance import world as alliance

    world = alliance.make_world(tmp_path / "alliance.ledger")
    try:
        alliance.agreement(world)
        learner = world.learner("HNAT-2022-0107", "HNAT")
        certificate = world.passed(world.offer().id, learner, "HNAT")
        world.bank.import_course_certificate(
            world.bank.export_course_certificate(certificate), signer=world.key("HNAT"),
            rule_id=alliance.RULE, agreement_code=alliance.AGREEMENT, today=date(2023, 1, 20))
        document = world.bank.export_clr(learner, signer=world.key("HNAT"))
        verify_clr(document, school_key=world.key("HNAT").public_key)
    finally:
        world.bank.close()
    course, exemption = (c["credentialSubject"]["achievement"] for c in credentials(document))
    assert (course["achievementType"], course["humanCode"]) == ("Course", "CQ-AQ301")
    assert course["creator"]["institutionCode"] == "CQAT" and "courseHours" not in course
    assert exemption["achievementType"] == "ext:Exemption"
    assert exemption["lineage"][0]["agreementCode"] == alliance.AGREEMENT
    assert exemption["lineage"][0]["sources"] == [course["id"]]

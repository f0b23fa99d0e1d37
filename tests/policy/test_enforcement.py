"""The write policy at both ends: the writer refuses what a signer may not write, and ``verify``
reports it when it was forced into the file anyway (权限管理, R15).

The exploit of the issue: a training centre's registered key correcting the personal data of
another school's learner. Before the policy, the store checked only *that* a registered key
signed; the name changed and ``verify`` said the ledger was intact.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from creditledger import PersonalData
from creditledger.audit.bundle import build_bundle
from creditledger.audit.bundle_verify import verify_bundle
from creditledger.audit.checkpoints import publish_checkpoint
from creditledger.audit.verify import verify_ledger
from creditledger.cli.app import app
from creditledger.crypto.keys import SigningKey
from creditledger.domain import Achievement
from creditledger.domain.ids import learner_account_id
from creditledger.domain.policy import POLICY_OPEN, POLICY_V2, Role, Signer
from creditledger.errors import NotAuthorisedError
from creditledger.services.core import ledger_of
from creditledger.store.ledger import Ledger
from tests.services.bank.fixtures import EVIDENCE, TODAY, World, make_world
from tests.store.contract import Target, ledger_rows
from tests.store.forge import Forged, forge_commit


def events_in(target: Target) -> int:
    return int(ledger_rows(target, "SELECT COUNT(*) FROM stored_events")[0][0])


def verify_json(target: Target) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(app, ["verify", str(target), "--json"])
    assert "Traceback" not in result.output
    return result.exit_code, json.loads(result.stdout)


def forced(world: World, ledger: Ledger, aggregate: Any, signer: SigningKey) -> int:
    """Write ``aggregate``'s pending events as one validly signed commit with plain SQL (what
    an insider with the key and the tables can do); return its first position."""
    events = [ledger.mapper.to_stored_event(e) for e in aggregate.collect_events()]
    return forge_commit(world.path, signer, [
        Forged(e.originator_id.hex, e.originator_version, e.topic, e.state) for e in events])


def impostor_correction(world: World) -> tuple[Ledger, Any]:
    """S1's account (a GZCC student) with the correction a training centre should not make."""
    ledger = ledger_of(world.bank)
    account = ledger.repository.get(learner_account_id("S1"))
    account.correct_personal_data(PersonalData(name="冒名顶替"))
    return ledger, account


# -- the exploit -------------------------------------------------------------------------------


def test_a_training_centre_correcting_another_schools_learner_is_refused_and_nothing_written(
    ledger_target: Target,
) -> None:
    world = make_world(ledger_target)
    try:
        ledger, account = impostor_correction(world)
        before = events_in(world.path)
        with pytest.raises(NotAuthorisedError) as refused:
            ledger.save(account, signer=world.trainer)
        message = str(refused.value)
        for named in ("VTC (administrator)", "PersonalDataCorrected", account.id.hex,
                      "home is 'GZCC'"):
            assert named in message, message
        assert events_in(world.path) == before
        assert world.bank.account("S1").personal_data.name == "陈晓敏"
        world.bank.correct_personal_data(learner_id="S1", personal_data=PersonalData(
            name="陈晓敏", id_document_number="440101200301011235"), signer=world.gzcc)
    finally:
        world.bank.close()


def test_the_exploit_forced_into_the_file_with_a_valid_signature_fails_verify(
    ledger_target: Target,
) -> None:
    world = make_world(ledger_target)
    try:
        ledger, account = impostor_correction(world)
        at = forced(world, ledger, account, world.trainer)
    finally:
        world.bank.close()
    code, report = verify_json(world.path)
    fault = report["fault"]
    assert code == 1 and fault["kind"] == "unauthorised-write", report
    assert (fault["position"], fault["aggregate"]) == (at, account.id.hex)
    assert "VTC (administrator)" in fault["detail"] and "PersonalDataCorrected" in fault["detail"]


# -- hole 2: an achievement certified by another institution -------------------------------------


def lnpc_course(world: World) -> Any:
    world.bank.define_course(code="HG1001", name="化工原理", category="major_basic",
                             nature="必修", course_type="理论", attribute="A类", theory_hours=48,
                             practice_hours=0, difficulty=Decimal(1), assessment_method="exam",
                             programmes=["460301"], signer=world.lnpc)
    return ledger_of(world.bank).repository.get(world.bank.course("LNPC", "HG1001").id)


def lnpc_result(course: Any) -> Achievement:
    """A course result of S1 that LNPC certifies (LNPC's course), built by the domain."""
    return Achievement.recognise_course_result(
        learner_id="S1", course=course, term="2021-2022-1", score=Decimal(90),
        evidence=EVIDENCE, today=TODAY)


def test_a_school_cannot_record_an_achievement_certified_by_another(ledger_target: Target) -> None:
    world = make_world(ledger_target)
    try:
        course = lnpc_course(world)
        before = events_in(world.path)
        with pytest.raises(NotAuthorisedError, match="certified_by it names is 'LNPC'"):
            ledger_of(world.bank).save(lnpc_result(course), signer=world.gzcc)
        assert events_in(world.path) == before
        at = forced(world, ledger_of(world.bank), lnpc_result(course), world.gzcc)
    finally:
        world.bank.close()
    code, report = verify_json(world.path)
    assert code == 1 and report["fault"]["kind"] == "unauthorised-write", report
    assert report["fault"]["position"] == at


# -- staff keys ----------------------------------------------------------------------------------


def test_staff_keys_sign_in_their_role_and_every_statement_names_staff_and_role(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path / "bank.ledger")
    bank = world.bank
    teacher, reader = SigningKey.generate(), SigningKey.generate()
    try:
        bank.register_staff_key("T-0451", Role.ASSESSOR, teacher.public_key, admin_key=world.gzcc)
        bank.register_staff_key("AU-01", Role.AUDITOR, reader.public_key, admin_key=world.gzcc)
        assert bank.signer_of(teacher) == Signer("GZCC", Role.ASSESSOR, "T-0451")
        result = bank.recognise_course_result(learner_id="S1", course_code="KJ1101",
                                              term="2021-2022-1", score=Decimal(88),
                                              evidence=EVIDENCE, signer=teacher, today=TODAY)
        with pytest.raises(NotAuthorisedError, match="role assessor may not write it"):
            bank.revoke(result.id, reason="error", note="wrong learner", signer=teacher,
                        today=TODAY)
        with pytest.raises(NotAuthorisedError, match="role auditor may not write it"):
            bank.open_account(learner_id="S9", learner_type="student",
                              personal_data=PersonalData(name="审计"), programme_code="530302",
                              signer=reader)
        with pytest.raises(NotAuthorisedError, match="institution is 'GZCC', not 'LNPC'"):
            bank.revoke_staff_key(teacher.key_id, admin_key=world.lnpc)
        bank.revoke_staff_key(teacher.key_id, admin_key=world.gzcc)
        publish_checkpoint(world.path, [world.root])
    finally:
        bank.close()
    report = verify_ledger(str(world.path))  # what the revoked key signed while valid stays
    assert report.fault is None and report.policy == "creditledger-policy/2"
    lines = verify_bundle(build_bundle(world.path, "S1")).lines
    assert any("基础会计" in line and "signed by GZCC (assessor T-0451)" in line for line in lines)


def test_a_policy_is_declared_once_in_the_genesis_commit(tmp_path: Path) -> None:
    world = make_world(tmp_path / "bank.ledger")
    try:
        ledger = ledger_of(world.bank)
        for signer in (world.root, world.gzcc):
            registry = ledger.registry
            registry.declare_policy(POLICY_OPEN)
            with pytest.raises(NotAuthorisedError, match="PolicyDeclared"):
                ledger.save(registry, signer=signer)
        assert ledger.policy == POLICY_V2
    finally:
        world.bank.close()

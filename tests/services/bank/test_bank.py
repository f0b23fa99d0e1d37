"""The CreditBank facade: the rules of issue 3, each on a real signed ledger (a SQLite file and
a PostgreSQL schema)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from creditledger.domain import AchievementKind, Category
from creditledger.errors import (
    AlreadyRevokedError,
    ConflictError,
    DuplicateAchievementError,
    NotAuthorisedError,
    NotFoundError,
    ValidationError,
)
from creditledger.services.bank import CreditBank
from tests.services.bank.fixtures import KEK

from .fixtures import CERT_RULE, EVIDENCE, TODAY, World, world_on


@pytest.fixture()
def world(ledger_target: str | Path, tmp_path: Path) -> Iterator[World]:
    """The world on each backend (``ledger_target``: a SQLite file, then PostgreSQL)."""
    with world_on(ledger_target, tmp_path) as w:
        yield w


def course_result(world: World, **overrides: Any) -> Any:
    args: dict[str, Any] = dict(learner_id="S1", course_code="KJ1101", term="2021-2022-1",
                                score=Decimal(85), evidence=EVIDENCE, signer=world.gzcc,
                                today=TODAY)
    args.update(overrides)
    return world.bank.recognise_course_result(**args)


def certificate(world: World, **overrides: Any) -> Any:
    args: dict[str, Any] = dict(learner_id="S1", certificate_code="finance", number="ZNCS-0001",
                                level="intermediate", issued_on=date(2022, 6, 30),
                                expires_on=date(2025, 6, 30), credits=Decimal(2),
                                category="major_elective", rule=CERT_RULE, evidence=EVIDENCE,
                                signer=world.issuer, today=TODAY)
    args.update(overrides)
    return world.bank.recognise_certificate(**args)


def test_recognising_a_course_result_credits_its_category(world: World) -> None:
    achievement = course_result(world)
    assert achievement.credits == Decimal("4.00")
    assert world.bank.balances("S1")[Category.MAJOR_BASIC] == Decimal("4.00")
    assert world.bank.account("S1").total_balance() == Decimal("4.00")


def test_another_institution_may_not_recognise_a_course_it_does_not_own(world: World) -> None:
    before = world.size()
    with pytest.raises(NotAuthorisedError, match="only 'GZCC'"):
        course_result(world, signer=world.lnpc, course_owner="GZCC")
    assert world.size() == before


def test_only_the_issuer_may_recognise_its_certificate(world: World) -> None:
    before = world.size()
    with pytest.raises(NotAuthorisedError):
        certificate(world, signer=world.gzcc, issuer="ISSUER")
    with pytest.raises(NotAuthorisedError):
        certificate(world, signer=world.trainer, issuer="ISSUER")
    assert world.size() == before


def test_retrying_the_same_recognition_is_idempotent(world: World) -> None:
    first = course_result(world)
    size = world.size()
    again = course_result(world, today=date(2022, 7, 20))
    assert again.id == first.id
    assert world.size() == size
    assert world.bank.balances("S1")[Category.MAJOR_BASIC] == Decimal("4.00")


def test_the_same_certificate_number_and_issuer_cannot_be_recognised_twice(world: World) -> None:
    certificate(world)
    size = world.size()
    with pytest.raises(DuplicateAchievementError) as caught:
        certificate(world, level="advanced")
    assert isinstance(caught.value, ConflictError)
    with pytest.raises(DuplicateAchievementError):
        certificate(world, learner_id="S2")  # another learner, same certificate number
    assert world.size() == size


def test_the_same_learner_course_and_term_with_another_score_is_a_conflict(world: World) -> None:
    course_result(world)
    with pytest.raises(DuplicateAchievementError):
        course_result(world, score=Decimal(95))


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"learner_id": "NOBODY"}, "learner_id"),
        ({"certificate_code": "no-such-cert"}, "certificate_code"),
        ({"level": "expert"}, "level"),
        ({"credits": Decimal(-1)}, "credits"),
        ({"credits": Decimal("NaN")}, "credits"),
        ({"credits": Decimal("Infinity")}, "credits"),
        ({"credits": Decimal("1.005")}, "credits"),
        ({"credits": Decimal(1000)}, "credits"),
        ({"issued_on": date(2030, 1, 1)}, "issued_on"),
        ({"issued_on": date(2018, 1, 1), "expires_on": date(2021, 1, 1)}, "expires_on"),
        ({"category": "hobby"}, "category"),
    ],
)
def test_bad_certificate_input_names_the_field_and_writes_nothing(
    world: World, overrides: dict[str, Any], field: str
) -> None:
    before = world.size()
    with pytest.raises((ValidationError, NotFoundError)) as caught:
        certificate(world, **overrides)
    assert caught.value.field == field  # type: ignore[union-attr]
    assert world.size() == before


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"course_code": "NOPE"}, "course_code"),
        ({"score": Decimal(101)}, "score"),
        ({"score": Decimal(-1)}, "score"),
        ({"score": Decimal(40)}, "score"),  # below the pass mark: no credits
        ({"term": "autumn"}, "term"),
        ({"learner_id": "NOBODY"}, "learner_id"),
    ],
)
def test_bad_course_result_input_names_the_field_and_writes_nothing(
    world: World, overrides: dict[str, Any], field: str
) -> None:
    before = world.size()
    with pytest.raises((ValidationError, NotFoundError)) as caught:
        course_result(world, **overrides)
    assert caught.value.field == field  # type: ignore[union-attr]
    assert world.size() == before


def test_revoking_reverses_the_credit_by_a_compensating_entry(world: World) -> None:
    achievement = course_result(world)
    size = world.size()
    world.bank.revoke(achievement.id, reason="error", note="wrong student", signer=world.gzcc,
                      today=TODAY)
    assert world.bank.balances("S1")[Category.MAJOR_BASIC] == Decimal(0)
    assert world.size() == size + 2  # Revoked + Reversed: history grows, nothing edited
    account = world.bank.account("S1")
    assert achievement.id in account.entries and achievement.id in account.reversals
    with pytest.raises(AlreadyRevokedError):
        world.bank.revoke(achievement.id, reason="error", note="again", signer=world.gzcc,
                          today=TODAY)
    world.verify()


def test_only_the_certifying_institution_may_revoke(world: World) -> None:
    achievement = course_result(world)
    before = world.size()
    with pytest.raises(NotAuthorisedError):
        world.bank.revoke(achievement.id, reason="fraud", note="?", signer=world.lnpc, today=TODAY)
    assert world.size() == before


def test_joint_assessment_yields_two_linked_achievements(world: World) -> None:
    result, cert = world.bank.recognise_joint_assessment(
        learner_id="S1", course_code="KJ2103", term="2021-2022-2", score=Decimal(88),
        issuer="ISSUER", certificate_code="finance", level="intermediate",
        certificate_number="ZNCS-2022-1", issued_on=date(2022, 6, 30), expires_on=None,
        certificate_rule=CERT_RULE, evidence=EVIDENCE, school_signer=world.gzcc,
        issuer_signer=world.issuer, today=TODAY,
    )
    assert cert.id in result.linked_achievement_ids
    assert result.id in cert.linked_achievement_ids
    assert result.kind is AchievementKind.COURSE_RESULT
    assert cert.kind is AchievementKind.X_CERTIFICATE
    assert world.bank.balances("S1")[Category.MAJOR_CORE] == Decimal("4.00")


def test_member_of_society_training_record_is_credited_and_can_enrol_later(world: World) -> None:
    world.bank.recognise_learning_record(
        kind="training_record", learner_id="M1", title="会计信息化培训", reference="VTC-7",
        completed_on=date(2022, 3, 1), method="conversion", credits=Decimal(2),
        category="major_elective", rule=CERT_RULE, evidence=EVIDENCE, signer=world.trainer,
        hours=36, today=TODAY,
    )
    account = world.bank.enrol(learner_id="M1", programme_code="530302", signer=world.gzcc)
    assert account.programme_code == "530302"
    assert world.bank.balances("M1")[Category.MAJOR_ELECTIVE] == Decimal("2.00")


def test_out_of_school_record_needs_an_out_of_school_method(world: World) -> None:
    with pytest.raises(ValidationError) as caught:
        world.bank.recognise_learning_record(
            kind="online_course", learner_id="M1", title="MOOC", reference="M-1",
            completed_on=date(2022, 3, 1), method="exam", credits=Decimal(1),
            category="major_elective", rule=CERT_RULE, evidence=EVIDENCE, signer=world.trainer,
            today=TODAY,
        )
    assert caught.value.field == "method"


def test_only_a_training_organisation_registers_certificates(world: World) -> None:
    with pytest.raises(NotAuthorisedError):
        world.bank.register_certificate(code="x", name="某证书", levels=["elementary"],
                                        signer=world.gzcc)


def test_personal_data_stays_out_of_topics_and_ids(world: World) -> None:
    course_result(world)
    world.bank.close()
    rows = world.rows("SELECT originator_id, topic FROM stored_events")
    text = " ".join(f"{oid} {topic}" for oid, topic in rows)
    for secret in ("陈晓敏", "440101200301011234", "黄志强"):
        assert secret not in text


def test_a_reopened_bank_reproduces_the_same_state(world: World) -> None:
    course_result(world)
    certificate(world)
    world.bank.close()
    again = CreditBank.open(world.path, kek=KEK)
    assert again.balances("S1") == {
        Category.PUBLIC_BASIC: Decimal(0), Category.MAJOR_BASIC: Decimal("4.00"),
        Category.MAJOR_CORE: Decimal(0), Category.MAJOR_ELECTIVE: Decimal("2.00"),
    }
    world.verify()

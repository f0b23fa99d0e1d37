"""1+X pilots (R20): quotas changed once a year; candidates are in-school sittings by 31 Dec."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from creditledger.errors import ConflictError, ValidationError
from creditledger.projections.pilot import certificate_results, quota_completion
from tests.services.bank.fixtures import World, world_on


@pytest.fixture()
def world(ledger_target: str | Path, tmp_path: Path) -> Iterator[World]:
    """The bank's world on each backend, with a pilot approved for 2022."""
    with world_on(ledger_target, tmp_path) as w:
        w.bank.approve_pilot(issuer="ISSUER", certificate_code="finance", level="intermediate",
                             year=2022, quotas={"会计": 2, "财务管理": 1}, signer=w.gzcc)
        yield w


def sit(world: World, learner: str, day: date, passed: bool, major: str = "会计") -> None:
    world.bank.record_exam_sitting(learner_id=learner, issuer="ISSUER", certificate_code="finance",
                                   level="intermediate", sat_on=day, passed=passed, major=major,
                                   signer=world.gzcc, today=date(2023, 6, 1))


def test_quota_counts_in_school_learners_who_sat_by_31_december(world: World) -> None:
    sit(world, "S1", date(2022, 6, 1), True)
    sit(world, "S1", date(2022, 11, 1), True)    # the same learner twice counts once
    sit(world, "S2", date(2023, 1, 2), True)     # after 31 December: not this year's quota
    sit(world, "M1", date(2022, 6, 1), True)     # a member of society: not in school
    projector = world.bank.read_models(world.views)
    projector.catch_up()
    rows = {r.major: r for r in quota_completion(projector.db, 2022)}
    assert (rows["会计"].quota, rows["会计"].sat, rows["会计"].met) == (2, 1, False)
    assert rows["会计"].completion == Decimal("50.0")
    assert (rows["财务管理"].sat, rows["财务管理"].met) == (0, False)


def test_pass_rates_by_certificate_level_and_major(world: World) -> None:
    sit(world, "S1", date(2022, 6, 1), True)
    sit(world, "S2", date(2022, 6, 1), False)
    sit(world, "S2", date(2022, 9, 1), True)
    projector = world.bank.read_models(world.views)
    projector.catch_up()
    (row,) = certificate_results(projector.db)
    assert row.group == ("finance", "intermediate", "会计")
    assert (row.candidates, row.passed, row.pass_rate) == (3, 2, Decimal("66.7"))


def test_a_quota_may_be_changed_once_a_year(world: World) -> None:
    world.bank.change_pilot_quotas(issuer="ISSUER", certificate_code="finance",
                                   level="intermediate", year=2022, quotas={"会计": 3},
                                   reason="学生摸底后调整", signer=world.gzcc)
    with pytest.raises(ConflictError, match="once"):
        world.bank.change_pilot_quotas(issuer="ISSUER", certificate_code="finance",
                                       level="intermediate", year=2022, quotas={"会计": 4},
                                       reason="again", signer=world.gzcc)
    projector = world.bank.read_models(world.views)
    projector.catch_up()
    rows = {r.major: r.quota for r in quota_completion(projector.db, 2022)}
    assert rows == {"会计": 3, "财务管理": 1}


@pytest.mark.parametrize(("quotas", "field"), [({}, "quotas"), ({"会计": -1}, "quotas"),
                                               ({"会计": True}, "quotas")])
def test_bad_quotas_name_the_field(world: World, quotas: dict[str, int], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        world.bank.approve_pilot(issuer="ISSUER", certificate_code="finance", level="advanced",
                                 year=2023, quotas=quotas, signer=world.gzcc)
    assert caught.value.field == field


def test_a_sitting_in_the_future_or_recorded_twice_differently_is_refused(world: World) -> None:
    with pytest.raises(ValidationError) as caught:
        world.bank.record_exam_sitting(learner_id="S1", issuer="ISSUER",
                                       certificate_code="finance", level="intermediate",
                                       sat_on=date(2030, 1, 1), passed=True, signer=world.gzcc,
                                       today=date(2023, 1, 1))
    assert caught.value.field == "sat_on"
    sit(world, "S1", date(2022, 6, 1), True)
    sit(world, "S1", date(2022, 6, 1), True)  # the same again: a no-op
    with pytest.raises(ConflictError):
        sit(world, "S1", date(2022, 6, 1), False)

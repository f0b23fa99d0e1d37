"""The five examples of the issue, from the seeds, on a real signed ledger."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from creditledger.domain import CONVERSION_LOSS, Cap, CapScope, TargetKind, achievement_account
from creditledger.errors import AgreementNotInForceError, CapExceededError

from .builders import category_rule, certificate_rule, ratio_rule
from .world import TODAY, World, between_majors_rule, inter_school_rule

KJ2103 = "requirement/GZCC/530302/course/KJ2103"
ELECTIVE = "requirement/GZCC/530302/category/major_elective"


def test_an_intermediate_finance_certificate_exempts_the_core_course_kj2103(world: World) -> None:
    """R8, R19: 中级 智能财税 → 免修 智能财税实务 (4 credits)."""
    world.publish(certificate_rule())
    cert = world.certificate()
    conversion = world.bank.convert(learner_id="S1", source_achievement_ids=[cert.id],
                                    rule_id="cert", signer=world.gzcc, today=TODAY)
    (exempt,) = world.bank.exemptions("S1")
    assert (exempt.target.kind, exempt.target.code, exempt.credits) == (
        TargetKind.COURSE, "KJ2103", Decimal("4.00"))
    assert exempt.source_achievement_ids == (cert.id,)
    assert world.bank.requirement_balances("S1") == {KJ2103: Decimal("4.00")}
    assert conversion.rule.version == 1 and conversion.agreement is None


def test_a_student_moving_majors_keeps_a_public_basic_course_by_correspondence(
    world: World,
) -> None:
    """R7 between majors of one school: 课程对应 GG2001 (财务管理) → GG1002 (会计)."""
    world.publish(between_majors_rule())
    english = world.course("S2", "GG2001")
    world.bank.enrol(learner_id="S2", programme_code="530302", signer=world.gzcc)
    world.bank.convert(learner_id="S2", source_achievement_ids=[english.id],
                       rule_id="major/GG2001-GG1002", signer=world.gzcc, today=TODAY)
    (exempt,) = world.bank.exemptions("S2")
    assert exempt.target.code == "GG1002" and exempt.credits == Decimal("4.00")


def test_a_member_of_society_gets_elective_credits_by_ratio(world: World) -> None:
    """R21: a training record of 72 hours, 20 hours a credit, rounded down to half credits."""
    world.publish(ratio_rule())
    training = world.training("M1")
    world.bank.enrol(learner_id="M1", programme_code="530302", signer=world.gzcc)
    conversion = world.bank.convert(learner_id="M1", source_achievement_ids=[training.id],
                                    rule_id="ratio", signer=world.gzcc, today=TODAY)
    assert world.bank.requirement_balances("M1") == {ELECTIVE: Decimal("3.50")}  # 3.6 → 3.5
    ledger = world.bank.credit_transfers("M1")
    assert ledger.balance(CONVERSION_LOSS).posted == Decimal("0.50")
    assert ledger.balance(achievement_account(training.id)).posted == Decimal("-4.00")
    assert sum(t.amount for t in conversion.transfers) == Decimal("4.00")


def test_an_agreement_course_is_converted_until_the_agreement_expires(world: World) -> None:
    """R7 between schools: signed by both; after it expires a later course is refused."""
    bank = world.bank
    bank.propose_agreement(code="GZCC-LNPC-2022", partner="LNPC", valid_from=date(2022, 1, 1),
                           valid_until=date(2022, 12, 31), rules=[inter_school_rule()],
                           signer=world.gzcc, today=date(2022, 8, 1))
    bank.countersign_agreement(code="GZCC-LNPC-2022", version=1, signer=world.lnpc,
                               today=date(2022, 8, 2))
    first = world.course("S1", "LN-KJ101", owner="LNPC")
    done = bank.convert(learner_id="S1", source_achievement_ids=[first.id],
                        rule_id="lnpc/LN-KJ101", agreement_code="GZCC-LNPC-2022",
                        signer=world.gzcc, today=TODAY)
    assert done.agreement is not None and done.agreement.version == 1
    assert [e.target.code for e in bank.exemptions("S1")] == ["KJ1101"]
    bank.enrol(learner_id="S2", programme_code="530302", signer=world.gzcc)
    later = world.course("S2", "LN-KJ101", owner="LNPC", term="2022-2023-1",
                         today=date(2023, 1, 20))
    size = world.size()
    with pytest.raises(AgreementNotInForceError, match="expired on 2022-12-31"):
        bank.convert(learner_id="S2", source_achievement_ids=[later.id],
                     rule_id="lnpc/LN-KJ101", agreement_code="GZCC-LNPC-2022",
                     signer=world.gzcc, today=date(2023, 2, 1))
    assert world.size() == size


def test_a_conversion_that_would_break_a_cap_is_refused_saying_which_cap_and_by_how_much(
    world: World,
) -> None:
    world.publish(category_rule(credits="2.50", caps=(Cap(scope=CapScope.YEAR,
                                                          limit=Decimal("6.00")),)))
    certs = [world.certificate(number=f"ZNCS-{i}") for i in range(3)]
    for cert in certs[:2]:
        world.bank.convert(learner_id="S1", source_achievement_ids=[cert.id],
                           rule_id="elective", signer=world.gzcc, today=TODAY)
    size = world.size()
    with pytest.raises(CapExceededError) as refused:
        world.bank.convert(learner_id="S1", source_achievement_ids=[certs[2].id],
                           rule_id="elective", signer=world.gzcc, today=TODAY)
    e = refused.value
    assert str(e).startswith("cap per-year 2022 (6.00 credits) would be exceeded by 1.50")
    assert (e.scope, e.limit, e.current, e.requested, e.excess) == (
        "per-year", Decimal("6.00"), Decimal("5.00"), Decimal("2.50"), Decimal("1.50"))
    assert world.size() == size

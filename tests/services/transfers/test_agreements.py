"""Bilateral agreements (学分互认协议, R7): proposed by one school, countersigned by the other."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from creditledger.domain import agreement_id
from creditledger.errors import (
    AgreementNotInForceError,
    ConflictError,
    NotAuthorisedError,
    ValidationError,
)

from .builders import certificate_rule
from .world import TODAY, World, inter_school_rule

CODE = "GZCC-LNPC-2022"


def propose(world: World, **kw: Any) -> None:
    args: dict[str, Any] = dict(code=CODE, partner="LNPC", valid_from=date(2022, 1, 1),
                                valid_until=date(2022, 12, 31), rules=[inter_school_rule()],
                                signer=world.gzcc, today=date(2022, 8, 1))
    args.update(kw)
    world.bank.propose_agreement(**args)


def convert(world: World, learner: str = "S1", today: date = TODAY) -> Any:
    course = world.course(learner, "LN-KJ101", owner="LNPC")
    return world.bank.convert(learner_id=learner, source_achievement_ids=[course.id],
                              rule_id="lnpc/LN-KJ101", agreement_code=CODE, signer=world.gzcc,
                              today=today)


def signers(world: World) -> list[str]:
    rows = world.rows(
        "SELECT c.key_id FROM stored_events e JOIN ledger_commits c ON c.seq = e.commit_seq "
        "WHERE e.originator_id = ? ORDER BY e.originator_version", (agreement_id(CODE).hex,))
    return [world.bank.principal_of(r[0]) for r in rows]


def test_an_agreement_binds_once_both_schools_have_signed_it(world: World) -> None:
    propose(world)
    course = world.course("S1", "LN-KJ101", owner="LNPC")
    args: dict[str, Any] = dict(learner_id="S1", source_achievement_ids=[course.id],
                                rule_id="lnpc/LN-KJ101", agreement_code=CODE,
                                signer=world.gzcc, today=TODAY)
    with pytest.raises(AgreementNotInForceError, match="no version is countersigned"):
        world.bank.convert(**args)
    world.bank.countersign_agreement(code=CODE, version=1, signer=world.lnpc,
                                     today=date(2022, 8, 2))
    assert signers(world) == ["GZCC", "GZCC", "LNPC"]  # drafted + proposed, countersigned
    done = world.bank.convert(**args)
    assert done.agreement is not None and done.agreement.code == CODE


def test_the_proposer_cannot_countersign_and_outsiders_cannot_sign(world: World) -> None:
    propose(world)
    with pytest.raises(NotAuthorisedError, match="LNPC, must countersign"):
        world.bank.countersign_agreement(code=CODE, version=1, signer=world.gzcc, today=TODAY)
    with pytest.raises(NotAuthorisedError, match="not a party"):
        world.bank.countersign_agreement(code=CODE, version=1, signer=world.keys["VTC"],
                                         today=TODAY)
    with pytest.raises(NotAuthorisedError):  # a training organisation proposes nothing
        propose(world, signer=world.keys["VTC"], code="OTHER")
    world.bank.countersign_agreement(code=CODE, version=1, signer=world.lnpc, today=TODAY)
    with pytest.raises(ConflictError, match="already countersigned"):
        world.bank.countersign_agreement(code=CODE, version=1, signer=world.lnpc, today=TODAY)


def test_a_new_version_extends_the_agreement_and_is_recorded_on_conversions(world: World) -> None:
    propose(world)
    world.bank.countersign_agreement(code=CODE, version=1, signer=world.lnpc, today=TODAY)
    propose(world, valid_until=date(2023, 12, 31), signer=world.lnpc, partner="GZCC")
    with pytest.raises(AgreementNotInForceError, match="expired on 2022-12-31"):
        convert(world, today=date(2023, 2, 1))
    world.bank.countersign_agreement(code=CODE, version=2, signer=world.gzcc,
                                     today=date(2023, 2, 1))
    world.bank.enrol(learner_id="S2", programme_code="530302", signer=world.gzcc)
    done = convert(world, learner="S2", today=date(2023, 2, 2))
    assert done.agreement.version == 2 and done.rule.version == 2


def test_a_version_not_yet_valid_is_refused(world: World) -> None:
    propose(world, valid_from=date(2023, 1, 1), valid_until=date(2023, 12, 31))
    world.bank.countersign_agreement(code=CODE, version=1, signer=world.lnpc, today=TODAY)
    with pytest.raises(AgreementNotInForceError, match="valid only from 2023-01-01"):
        convert(world)


def test_an_agreement_carries_only_rules_between_its_two_schools(world: World) -> None:
    with pytest.raises(ValidationError, match="inter-institution rules"):
        propose(world, rules=[certificate_rule()])
    with pytest.raises(ValidationError, match="before valid_from"):
        propose(world, valid_until=date(2021, 1, 1))
    with pytest.raises(ValidationError, match="two different institutions"):
        propose(world, partner="GZCC")


def test_a_school_cannot_publish_an_inter_school_rule_on_its_own(world: World) -> None:
    size = world.size()
    with pytest.raises(ValidationError, match="publish it in a bilateral agreement"):
        world.publish(inter_school_rule())
    assert world.size() == size


def test_only_a_party_may_convert_under_an_agreement(world: World) -> None:
    propose(world)
    world.bank.countersign_agreement(code=CODE, version=1, signer=world.lnpc, today=TODAY)
    course = world.course("S1", "LN-KJ101", owner="LNPC")
    with pytest.raises(NotAuthorisedError, match="may not convert into"):
        world.bank.convert(learner_id="S1", source_achievement_ids=[course.id],
                           rule_id="lnpc/LN-KJ101", agreement_code=CODE, signer=world.lnpc,
                           today=TODAY)

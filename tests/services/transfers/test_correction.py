"""Grade correction (成绩更正): a score entered as 65 that should be 85 is corrected by the school
that certified it, with a reason. The record keeps its key and credits; the old score and the
reason stay in its history, which `explain` and the transcript show; every conversion resting
on it is reversed in the correction's own commit; a correction below the pass mark, by another
school, of a revoked result, or to the same score is refused and writes nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from creditledger.domain import ConversionStatus
from creditledger.errors import (
    AlreadyRevokedError,
    NotAuthorisedError,
    NotFoundError,
    ValidationError,
)
from creditledger.projections import queries

from .test_agreements import CODE, propose
from .world import TODAY, World

CORRECTED_ON = date(2022, 9, 15)


def test_a_corrected_score_keeps_the_record_and_its_history(world: World) -> None:
    result = world.course("S1", "KJ1101", score=Decimal(65))
    balance = world.bank.balances("S1")
    corrected = world.bank.correct_result(result.id, score=Decimal(85),
                                          reason="登分错误，原始试卷为85分", signer=world.gzcc,
                                          today=CORRECTED_ON)
    assert corrected.id == result.id and corrected.record.course is not None
    assert corrected.record.course.score == Decimal(85)
    (fix,) = corrected.corrections
    assert (fix.previous_score, fix.score, fix.corrected_on) == (Decimal(65), Decimal(85),
                                                                  CORRECTED_ON)
    assert world.bank.balances("S1") == balance                  # credits unchanged
    projector = world.bank.read_models(world.folder / "views.db" if world.folder else None)
    projector.catch_up()
    lines = [(line.entry, line.detail) for line in queries.transcript(projector.db, "S1")]
    assert ("corrected", "score 65 → 85: 登分错误，原始试卷为85分") in lines
    assert any(entry == "recognised" for entry, _ in lines)


def test_a_conversion_resting_on_a_corrected_result_is_reversed_in_the_same_commit(
    world: World,
) -> None:
    propose(world)
    world.bank.countersign_agreement(code=CODE, version=1, signer=world.keys["LNPC"],
                                     today=date(2022, 8, 2))
    source = world.course("S1", "LN-KJ101", owner="LNPC", score=Decimal(70))
    conversion = world.bank.convert(learner_id="S1", source_achievement_ids=[source.id],
                                    rule_id="lnpc/LN-KJ101", agreement_code=CODE,
                                    signer=world.gzcc, today=TODAY)
    assert [e.target.code for e in world.bank.exemptions("S1")] == ["KJ1101"]
    size = world.size()
    world.bank.correct_result(source.id, score=Decimal(90), reason="复核后更正",
                              signer=world.keys["LNPC"], today=CORRECTED_ON)
    assert world.size() == size + 2  # Corrected, SourceReversed: one commit, history grows
    state = world.bank.credit_transfers("S1").conversion(conversion.id)
    assert state.status is ConversionStatus.REVERSED
    assert world.bank.exemptions("S1") == ()
    lineage = world.bank.explain("S1", account="requirement/GZCC/530302/course/KJ1101")
    topics = [e.topic.rsplit(".", 1)[1] for c in lineage.conversions for s in c.sources
              for e in s.events]
    assert "Corrected" in topics  # the source's events, the correction among them


@pytest.mark.parametrize(("score", "signer", "error", "words"), [
    (Decimal(50), "GZCC", ValidationError, "below the pass mark"),
    (Decimal(65), "GZCC", ValidationError, "already 65"),
    (Decimal(101), "GZCC", ValidationError, "outside the scale"),
    (Decimal(85), "LNPC", NotAuthorisedError, "may not correct"),
])
def test_a_correction_that_may_not_be_made_writes_nothing(
    world: World, score: Decimal, signer: str, error: type[Exception], words: str,
) -> None:
    result = world.course("S1", "KJ1101", score=Decimal(65))
    size = world.size()
    with pytest.raises(error, match=words):
        world.bank.correct_result(result.id, score=score, reason="更正", signer=world.keys[signer],
                                  today=CORRECTED_ON)
    assert world.size() == size


def test_a_revoked_result_is_not_corrected(world: World) -> None:
    result = world.course("S1", "KJ1101", score=Decimal(65))
    world.bank.revoke(result.id, reason="error", note="wrong learner", signer=world.gzcc,
                      today=CORRECTED_ON)
    with pytest.raises(AlreadyRevokedError):
        world.bank.correct_result(result.id, score=Decimal(85), reason="更正",
                                  signer=world.gzcc, today=CORRECTED_ON)


def test_the_banks_transcript_is_the_read_models_and_names_an_unknown_learner(
    world: World,
) -> None:
    result = world.course("S1", "KJ1101", score=Decimal(65))
    world.bank.correct_result(result.id, score=Decimal(85), reason="登分错误", signer=world.gzcc,
                              today=CORRECTED_ON)
    views = (world.folder / "bank-views.db") if world.folder else None
    lines = world.bank.transcript("S1", views=views)
    assert [line.entry for line in lines][-1] == "corrected"
    assert lines == sorted(lines, key=lambda line: (line.position, line.entry))
    with pytest.raises(NotFoundError):
        world.bank.transcript("NOPE", views=views)

"""``explain``: the lineage of converted credits and exemptions, down to signed source events."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from creditledger.cli.app import app
from creditledger.cli.transfers import lineage_lines
from creditledger.domain import Lineage
from creditledger.errors import NotFoundError, ValidationError
from tests.store.contract import sqlite_only

from .builders import category_rule, certificate_rule, ratio_rule
from .world import TODAY, World

ELECTIVE = "requirement/GZCC/530302/category/major_elective"


def stored(world: World, position: int) -> tuple[str, bytes, str]:
    (oid, hash_, key), = world.rows(
        "SELECT e.originator_id, e.hash, c.key_id FROM stored_events e JOIN ledger_commits c"
        " ON c.seq = e.commit_seq WHERE e.position = ?", (position,))
    return oid, hash_, key


def electives(world: World) -> tuple[Lineage, list[object]]:
    world.publish(category_rule(credits="1.50"), ratio_rule(), certificate_rule())
    world.bank.enrol(learner_id="M1", programme_code="530302", signer=world.gzcc)
    cert, training = world.certificate("M1"), world.training("M1")
    for source, rule in ((cert, "elective"), (training, "ratio")):
        world.bank.convert(learner_id="M1", source_achievement_ids=[source.id], rule_id=rule,
                           signer=world.gzcc, today=TODAY)
    return world.bank.explain("M1", account=ELECTIVE), [cert, training]


def test_the_amounts_of_an_accounts_lineage_sum_to_its_balance(world: World) -> None:
    lineage, _ = electives(world)
    assert lineage.balance == Decimal("5.00")  # 1.50 fixed + 3.50 by ratio
    assert sum(c.amount for c in lineage.conversions) == lineage.balance
    assert [c.rule.rule_id for c in lineage.conversions] == ["elective", "ratio"]


def test_a_lineage_reaches_the_signed_events_of_its_sources(world: World) -> None:
    lineage, (cert, training) = electives(world)
    issuers = {cert.id: "ISSUER", training.id: "VTC"}  # type: ignore[attr-defined]
    for conversion in lineage.conversions:
        for source in conversion.sources:
            first = source.events[0]
            assert first.topic.endswith("Achievement.Recognised")
            oid, hash_, key = stored(world, first.position)
            assert oid == source.facts.achievement_id.hex and hash_.hex() == first.hash
            assert first.signed_by == issuers[source.facts.achievement_id] == \
                world.bank.principal_of(key)
        (recorded,) = conversion.recorded_in
        assert recorded.topic.endswith("CreditTransfers.Converted")
        assert recorded.signed_by == "GZCC"


def test_explaining_an_exemption_after_revocation_shows_both_sides(world: World) -> None:
    world.publish(certificate_rule())
    cert = world.certificate()
    world.bank.convert(learner_id="S1", source_achievement_ids=[cert.id], rule_id="cert",
                       signer=world.gzcc, today=TODAY)
    assert world.bank.explain("S1", exemption="KJ2103").exemption is not None
    world.bank.revoke(cert.id, reason="fraud", note="forged", signer=world.keys["ISSUER"],
                      today=TODAY)
    lineage = world.bank.explain("S1", exemption="KJ2103")
    assert lineage.exemption is None and lineage.balance == 0
    (conversion,) = lineage.conversions
    assert [t.kind.value for t in conversion.transfers] == ["posted", "reversal"]
    assert conversion.sources[0].revoked
    assert [e.topic.rsplit(".", 1)[1] for e in conversion.sources[0].events] == [
        "Recognised", "Revoked"]
    assert [e.signed_by for e in conversion.recorded_in] == ["GZCC", "ISSUER"]
    assert any("REVOKED" in line for line in lineage_lines(lineage))


def test_explain_needs_exactly_one_subject_that_exists(world: World) -> None:
    with pytest.raises(ValidationError):
        world.bank.explain("S1")
    with pytest.raises(ValidationError):
        world.bank.explain("S1", account="requirement/GZCC")
    with pytest.raises(NotFoundError):
        world.bank.explain("S1", exemption="KJ2103")
    with pytest.raises(NotFoundError):
        world.bank.explain("NOBODY", account="conversion-loss")


@sqlite_only  # the command takes a ledger file
def test_the_explain_command_prints_the_lineage_as_text_or_json(world: World) -> None:
    electives(world)
    world.bank.close()
    runner = CliRunner()
    text = runner.invoke(app, ["explain", str(world.path), "--learner", "M1",
                               "--account", ELECTIVE])
    assert text.exit_code == 0, text.output
    assert "5.00 credits posted" in text.output and "rule ratio v1 (折算)" in text.output
    as_json = runner.invoke(app, ["explain", str(world.path), "--learner", "M1",
                                  "--account", ELECTIVE, "--json"])
    data = json.loads(as_json.output)
    assert data["balance"] == "5.00" and len(data["conversions"]) == 2
    missing = runner.invoke(app, ["explain", str(world.path), "--learner", "NOBODY",
                                  "--account", ELECTIVE])
    assert missing.exit_code == 2 and "unknown learner" in missing.output

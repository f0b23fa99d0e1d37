"""Transfer read models: requirement balances, exemptions held, history with lineage (the demo
on a SQLite file; conversions and revocations on each backend)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from creditledger.cli.demo import run_demo
from creditledger.crypto.sealing import KeyEncryptionKey
from creditledger.projections import queries as q
from creditledger.projections import transfers as t
from creditledger.services.bank import CreditBank
from tests.services.transfers.builders import certificate_rule
from tests.services.transfers.world import TODAY, world_on


def test_demo_conversions_show_in_balances_exemptions_history_and_transcript(
    tmp_path: Path,
) -> None:
    from rich.console import Console

    with open(tmp_path / "out.txt", "w") as out:
        result = run_demo(tmp_path / "demo.ledger", Console(file=out))
    bank = CreditBank.open(result.ledger_path,
                           kek=KeyEncryptionKey.load(result.keys_dir / "kek.key"))
    projector = bank.read_models()
    projector.catch_up()
    learner = "SOC-2022-0031"
    balances = {b.account: b for b in t.requirement_balances(projector.db, learner)}
    course = "requirement/GZCC/530302/course/KJ2103"
    assert balances[course].posted == Decimal("4.00") and balances[course].pending == 0
    (held,) = t.exemptions(projector.db, learner)
    assert held.account == course
    history = t.transfer_history(projector.db, learner)
    assert {line.rule.split()[0] for line in history} >= {"1+X/finance/KJ2103"}
    assert all(line.position > 0 for line in history)
    assert t.total_of_all_accounts(projector.db) == (Decimal(0), Decimal(0))
    entries = [line.entry for line in q.transcript(projector.db, learner)]
    assert "exempted (免修)" in entries and "transfer posted" in entries
    # the read model agrees with the aggregate
    posted = {a: b.posted for a, b in balances.items() if a.startswith("requirement/")}
    assert posted == {a: v for a, v in bank.requirement_balances(learner).items() if v}
    # revoking the certificate takes the exemption away and reverses its credits
    cert = next(e for e in bank.exemptions(learner))
    issuer = result.keys_dir / "placeholder-issuer-4.pem"
    from creditledger.cli.demo import DEMO_PASSPHRASE
    from creditledger.crypto.keys import SigningKey

    signer = SigningKey.load(issuer, DEMO_PASSPHRASE.encode())
    bank.revoke(cert.source_achievement_ids[0], reason="fraud", note="forged certificate",
                signer=signer)
    projector.catch_up()
    assert t.exemptions(projector.db, learner) == []
    after = {b.account: b.posted for b in t.requirement_balances(projector.db, learner)}
    assert after[course] == 0
    assert t.total_of_all_accounts(projector.db) == (Decimal(0), Decimal(0))
    kinds = [line.kind for line in t.transfer_history(projector.db, learner)]
    assert "reversal" in kinds


def test_transfer_views_agree_with_the_bank_through_conversion_and_revocation(
    ledger_target: str | Path, tmp_path: Path
) -> None:
    with world_on(ledger_target, tmp_path) as world:
        world.publish(certificate_rule())
        cert = world.certificate()
        world.bank.convert(learner_id="S1", source_achievement_ids=[cert.id], rule_id="cert",
                           signer=world.gzcc, today=TODAY)
        projector = world.bank.read_models(world.views)
        projector.catch_up()
        posted = {b.account: b.posted for b in t.requirement_balances(projector.db, "S1")}
        expected = {a: v for a, v in world.bank.requirement_balances("S1").items() if v}
        assert expected and {a: v for a, v in posted.items() if v} == expected
        assert [line.kind for line in t.transfer_history(projector.db, "S1")] == ["posted"]
        world.bank.revoke(cert.id, reason="error", note="wrong learner",
                          signer=world.keys["ISSUER"], today=TODAY)
        projector.catch_up()
        assert all(b.posted == 0 for b in t.requirement_balances(projector.db, "S1"))
        assert t.total_of_all_accounts(projector.db) == (Decimal(0), Decimal(0))
        projector.close()

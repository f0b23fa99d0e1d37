"""The invariants through the real facade, on a signed ledger file: random recognitions,
conversions, makeups and revocations; then invariant 6 against the signed chain itself, a
replay from the file, and ``verify_ledger``."""

from __future__ import annotations

import sqlite3
import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from hypothesis import event, given
from hypothesis import strategies as st

from creditledger.audit.verify import verify_ledger
from creditledger.domain import (
    Cap,
    CapScope,
    Conditions,
    ConversionRule,
    ConversionStatus,
    TargetKind,
    source_facts,
)
from creditledger.domain.transfers.policy import selector_matches
from creditledger.errors import CreditLedgerError
from creditledger.services.bank import CreditBank
from tests.services.bank.fixtures import KEK

from .builders import category_rule, certificate_rule, module_rule, ratio_rule, target
from .model import ZERO, check_conservation, columns, fingerprint
from .world import TODAY, World, make_world

RULES: list[ConversionRule] = [
    certificate_rule(), ratio_rule(), module_rule(),
    category_rule("capped", credits="1.50", caps=(Cap(scope=CapScope.YEAR, limit=Decimal(3)),)),
    certificate_rule("makeup", target=target(TargetKind.COURSE, "KJ2104"),
                     conditions=Conditions(makeup_pass_mark=Decimal(60))),
]

cert_cmd = st.tuples(st.just("cert"), st.integers(0, 3),
                     st.sampled_from(["elementary", "intermediate", "advanced"]),
                     st.sampled_from([Decimal(2), Decimal(4), Decimal(6)]))
training_cmd = st.tuples(st.just("training"), st.integers(0, 3), st.integers(10, 120),
                         st.sampled_from([Decimal(2), Decimal(4)]))
convert_cmd = st.tuples(st.just("convert"), st.sampled_from([r.rule_id for r in RULES]),
                        st.integers(0, 5))
settle_cmd = st.tuples(st.sampled_from(["post", "void"]), st.integers(0, 5))
revoke_cmd = st.tuples(st.just("revoke"), st.integers(0, 5))
recognitions = st.lists(st.one_of(cert_cmd, training_cmd), min_size=2, max_size=5)
later = st.lists(st.one_of(convert_cmd, cert_cmd, training_cmd, convert_cmd, settle_cmd,
                           convert_cmd, revoke_cmd), min_size=4, max_size=12)
commands = st.tuples(recognitions, later).map(lambda t: t[0] + t[1])


class Driver:
    def __init__(self, world: World) -> None:
        self.world, self.bank = world, world.bank
        self.recognised: list[UUID] = []
        self.conversions: list[UUID] = []

    def run(self, cmd: tuple[Any, ...]) -> None:
        before = self.world.size()
        try:
            self._run(cmd)
        except CreditLedgerError:
            assert self.world.size() == before, f"refused {cmd} but wrote events"

    def _run(self, cmd: tuple[Any, ...]) -> None:
        w, kind = self.world, cmd[0]
        if kind == "cert":
            a = w.certificate("M1", number=f"N-{len(self.recognised)}", level=cmd[2],
                              credits=cmd[3])
            self.recognised.append(a.id)
        elif kind == "training":
            a = w.training("M1", reference=f"T-{len(self.recognised)}", hours=cmd[2],
                           credits=cmd[3])
            self.recognised.append(a.id)
        elif kind == "convert":
            c = self.bank.convert(learner_id="M1", source_achievement_ids=self._pick(*cmd[1:]),
                                  rule_id=cmd[1], signer=w.gzcc, today=TODAY)
            self.conversions.append(c.id)
        elif kind in ("post", "void") and self.conversions:
            cid = self.conversions[cmd[1] % len(self.conversions)]
            if kind == "post":
                self.bank.post_pending(learner_id="M1", conversion_id=cid,
                                       makeup_score=Decimal(70), signer=w.gzcc, today=TODAY)
            else:
                self.bank.void_pending(learner_id="M1", conversion_id=cid, reason="failed",
                                       signer=w.gzcc, today=TODAY)
        elif kind == "revoke" and self.recognised:
            aid = self.recognised[cmd[1] % len(self.recognised)]
            issuer = self.bank.achievement(aid).record.certified_by
            self.bank.revoke(aid, reason="error", note="property test", signer=w.keys[issuer],
                             today=TODAY)

    def _pick(self, rule_id: str, k: int) -> list[UUID]:
        rule = next(r for r in RULES if r.rule_id == rule_id)
        facts = [f for f in (source_facts(self.bank.achievement(a)) for a in self.recognised)
                 if not f.revoked or k == 5]  # now and then, a revoked one
        chosen: list[UUID] = []
        for selector in rule.sources:
            fits = [f.achievement_id for f in facts
                    if selector_matches(selector, f) and f.achievement_id not in chosen]
            if fits:
                chosen.append(fits[k % len(fits)])
        return chosen or self.recognised[:1]


def chain(path: Path) -> dict[int, tuple[str, bytes, str]]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT e.position, e.originator_id, e.hash, c.key_id FROM "
                            "stored_events e JOIN ledger_commits c ON c.seq = e.commit_seq")
        return {r[0]: (r[1], r[2], r[3]) for r in rows}
    finally:
        conn.close()


def check_lineage_against_the_chain(world: World) -> None:
    """6. Every credit of every balance is explained down to signed source events."""
    bank, rows = world.bank, chain(world.path)
    ledger = bank.credit_transfers("M1")
    for account, balance in ledger.requirement_balances().items():
        lineage = bank.explain("M1", account=account)
        assert sum((c.amount for c in lineage.conversions), ZERO) == balance
        for conversion in lineage.conversions:
            assert conversion.recorded_in[0].topic.endswith("Converted")
            assert conversion.recorded_in[0].signed_by == "GZCC"
            for source in conversion.sources:
                recognised = source.events[0]
                oid, hash_, key = rows[recognised.position]
                assert oid == source.facts.achievement_id.hex and hash_.hex() == recognised.hash
                assert bank.principal_of(key) == source.facts.certified_by
            if conversion.amount:
                assert conversion.status is ConversionStatus.POSTED
                assert not any(s.revoked for s in conversion.sources)


@given(cmds=commands)
def test_the_invariants_hold_on_a_signed_ledger_and_survive_replay(
    cmds: list[tuple[Any, ...]],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        world = make_world(Path(tmp) / "p.ledger")
        world.bank.enrol(learner_id="M1", programme_code="530302", signer=world.gzcc)
        world.bank.publish_rules(rules=RULES, effective_from=date(2022, 1, 1),
                                 signer=world.gzcc, today=TODAY)
        driver = Driver(world)
        for cmd in cmds:
            driver.run(cmd)
        event(f"conversions: {min(len(driver.conversions), 4)}")
        ledger = world.bank.credit_transfers("M1")
        check_conservation(ledger, columns(ledger))
        for aid in driver.recognised:
            facts = source_facts(world.bank.achievement(aid))
            assert ZERO <= facts.credits - ledger.available(facts) <= facts.credits
            if facts.revoked:
                assert ledger.available(facts) == facts.credits
        check_lineage_against_the_chain(world)
        world.bank.close()
        reopened = CreditBank.open(world.path, kek=KEK)
        try:
            assert fingerprint(reopened.credit_transfers("M1")) == fingerprint(ledger)
        finally:
            reopened.close()
        assert verify_ledger(world.path, root_key=world.keys["root"].public_key).intact

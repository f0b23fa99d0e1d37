"""Property tests of the facade: random mixes of valid and invalid commands.

Invariants (issue 3): a learner's balance per category equals recognised minus revoked credits;
reloading every aggregate from the store reproduces the same state; no sequence of valid and
invalid commands leaves the ledger changed by a refused command or unverifiable.
"""

from __future__ import annotations

import tempfile
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from hypothesis import given
from hypothesis import strategies as st

from creditledger.audit.verify import verify_ledger
from creditledger.domain import Category
from creditledger.errors import CreditLedgerError
from creditledger.services.bank import CreditBank
from tests.services.bank.fixtures import KEK

from .fixtures import CERT_RULE, EVIDENCE, TODAY, make_world

LEARNERS = ["S1", "S2", "GHOST"]
COURSES = ["GG1001", "KJ1101", "KJ2103", "NOPE"]

course_cmd = st.tuples(st.just("course"), st.sampled_from(LEARNERS), st.sampled_from(COURSES),
                       st.sampled_from(["2021-2022-1", "2021-2022-2"]),
                       st.sampled_from([Decimal(40), Decimal(75), Decimal(90), Decimal(101)]))
cert_cmd = st.tuples(st.just("cert"), st.sampled_from(LEARNERS),
                     st.sampled_from(["N-1", "N-2", "N-3"]),
                     st.sampled_from(["intermediate", "advanced", "master"]),
                     st.sampled_from([Decimal("1.5"), Decimal(2), Decimal(-1), Decimal("0.001")]))
revoke_cmd = st.tuples(st.just("revoke"), st.integers(0, 20))
commands = st.lists(st.one_of(course_cmd, cert_cmd, revoke_cmd), min_size=1, max_size=25)


def _apply(bank: CreditBank, world: Any, cmd: tuple[Any, ...], known: list[UUID]) -> Any:
    if cmd[0] == "course":
        _, learner, course, term, score = cmd
        return bank.recognise_course_result(learner_id=learner, course_code=course, term=term,
                                            score=score, evidence=EVIDENCE, signer=world.gzcc,
                                            today=TODAY)
    if cmd[0] == "cert":
        _, learner, number, level, credits = cmd
        return bank.recognise_certificate(
            learner_id=learner, certificate_code="finance", number=number, level=level,
            issued_on=date(2022, 1, 1), expires_on=None, credits=credits,
            category="major_elective", rule=CERT_RULE, evidence=EVIDENCE, signer=world.issuer,
            today=TODAY)
    target = known[cmd[1] % len(known)] if known else UUID(int=cmd[1])
    return bank.revoke(target, reason="error", note="property test", signer=world.gzcc,
                       today=TODAY)


@given(cmds=commands)
def test_balances_equal_recognised_minus_revoked_and_survive_reload(
    cmds: list[tuple[Any, ...]],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        world = make_world(Path(tmp) / "p.ledger")
        bank = world.bank
        model: dict[UUID, tuple[str, Category, Decimal]] = {}
        revoked: set[UUID] = set()
        known: list[UUID] = []
        for cmd in cmds:
            before = world.size()
            try:
                result = _apply(bank, world, cmd, known)
            except CreditLedgerError:
                assert world.size() == before, f"refused {cmd} but wrote events"
                continue
            if cmd[0] == "revoke":
                revoked.add(result.id)
            elif result.id not in model:
                model[result.id] = (result.learner_id, result.category, result.credits)
                known.append(result.id)
            else:
                assert world.size() == before, "an idempotent retry wrote events"
        expected: dict[str, dict[Category, Decimal]] = defaultdict(
            lambda: dict.fromkeys(Category, Decimal(0)))
        for aid, (learner, category, credits) in model.items():
            if aid not in revoked:
                expected[learner][category] += credits
        for learner in ("S1", "S2"):
            assert bank.balances(learner) == expected[learner]
        snapshot = {lid: (bank.account(lid).entries, bank.account(lid).reversals)
                    for lid in ("S1", "S2")}
        bank.close()
        reopened = CreditBank.open(world.path, kek=KEK)
        for learner in ("S1", "S2"):
            assert reopened.balances(learner) == expected[learner]
            account = reopened.account(learner)
            assert (account.entries, account.reversals) == snapshot[learner]
        reopened.close()
        verify_ledger(world.path)

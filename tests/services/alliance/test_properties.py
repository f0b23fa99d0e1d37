"""For any sequence of requests, approvals, admissions and cancellations, the bank agrees with a
small model of the rules, and the admitted learners never exceed the capacity."""

from __future__ import annotations

import itertools
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from creditledger.errors import CapacityError, IllegalTransitionError, NotFoundError

from .world import OPENED, SUBMITTED, TERM_DAY, course_info, make_world

LEARNERS = [f"HNAT-P{n}" for n in range(3)] + [f"LYVC-P{n}" for n in range(3)]
OPS = st.lists(st.tuples(st.sampled_from(["request", "approve", "admit", "cancel"]),
                         st.integers(0, len(LEARNERS) - 1)), max_size=14)
NEXT: dict[str, dict[str | None, str]] = {
    "request": {None: "requested"}, "approve": {"requested": "approved"},
    "cancel": {"requested": "cancelled", "approved": "cancelled", "admitted": "cancelled"}}


def test_admitted_learners_never_exceed_the_capacity(tmp_path: Path) -> None:
    world = make_world(tmp_path / "property.ledger")
    for learner in LEARNERS:
        world.learner(learner, learner[:4])
    codes = itertools.count()
    bank = world.bank

    @given(capacity=st.integers(1, 3), ops=OPS)
    def run(capacity: int, ops: list[tuple[str, int]]) -> None:
        course = course_info(code=f"P-{next(codes)}", capacity=capacity)
        offering = bank.submit_offering(alliance="ESVEA", semester="2022-2023-1", course=course,
                                        signer=world.key("CQAT"), today=SUBMITTED)
        bank.publish_offering(offering.id, signer=world.sec, today=OPENED)
        state: dict[str, str | None] = dict.fromkeys(LEARNERS)
        for op, n in ops:
            learner = LEARNERS[n]
            expected = model(op, state[learner], state, capacity)
            home = world.key(learner[:4])
            try:
                if op == "admit":
                    bank.admit_learner(offering.id, learner_id=learner,
                                       signer=world.key("CQAT"), today=TERM_DAY)
                elif op == "request":
                    bank.request_enrolment(offering.id, learner_id=learner, signer=home,
                                           today=OPENED)
                elif op == "approve":
                    bank.approve_enrolment(offering.id, learner_id=learner, signer=home,
                                           today=OPENED)
                else:
                    bank.cancel_enrolment(offering.id, learner_id=learner, reason="退选",
                                          signer=home, today=TERM_DAY)
                outcome: str | type[Exception] = "ok"
            except (CapacityError, IllegalTransitionError, NotFoundError) as e:
                outcome = type(e)
            assert outcome == (expected if isinstance(expected, type) else "ok"), (op, learner)
            if isinstance(expected, str):
                state[learner] = expected
            seats = bank.course_offering(offering.id).seats
            assert len(seats) <= capacity
            assert set(seats) == {k for k, v in state.items() if v == "admitted"}

    run()


def model(op: str, now: str | None, state: dict[str, str | None],
          capacity: int) -> str | type[Exception]:
    """The new state of one learner, or the error the bank must raise."""
    if op == "request":
        return now or "requested"                      # a retry returns the enrolment
    if now is None:
        return NotFoundError
    if op == "admit":
        if now == "admitted":
            return now
        if now != "approved":
            return IllegalTransitionError
        seated = sum(1 for v in state.values() if v == "admitted")
        return "admitted" if seated < capacity else CapacityError
    if op == "approve" and now == "approved":
        return now
    return NEXT[op].get(now, IllegalTransitionError)

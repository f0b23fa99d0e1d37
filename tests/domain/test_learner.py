from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID, uuid5

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from creditledger.domain import Category, LearnerType, PersonalData, learner_account_id
from creditledger.errors import (
    AlreadyReversedError,
    ConflictError,
    CreditLedgerError,
    DuplicateCreditError,
    NotFoundError,
    ValidationError,
)

from .builders import LEARNER, TODAY, make_account, make_course_result, make_x_certificate

ACH_A = uuid5(UUID(int=0), "a")
ACH_B = uuid5(UUID(int=0), "b")


def test_student_account_is_keyed_by_the_opaque_learner_id() -> None:
    account = make_account()
    assert account.id == learner_account_id(LEARNER)
    assert account.learner_type is LearnerType.STUDENT
    assert account.personal_data.name == "张三"


def test_student_needs_a_home_institution_and_programme() -> None:
    with pytest.raises(ValidationError) as caught:
        make_account(home_institution=None)
    assert caught.value.field == "home_institution"
    with pytest.raises(ValidationError) as caught:
        make_account(programme_code=None)
    assert caught.value.field == "programme_code"


def test_member_of_society_may_open_an_account_without_a_school_and_enrol_later() -> None:
    account = make_account(learner_type="社会成员", home_institution=None, programme_code=None)
    assert (account.home_institution, account.programme_code) == (None, None)
    account.enrol(institution="GZCP", programme_code="P-ROBOT")
    assert (account.home_institution, account.programme_code) == ("GZCP", "P-ROBOT")
    with pytest.raises(ConflictError):
        account.enrol(institution="GZCP", programme_code="P-ROBOT")


def test_learner_id_carrying_personal_data_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        make_account(learner_id="110101200001011234")
    assert caught.value.field == "learner_id"
    with pytest.raises(ValidationError):
        make_account(learner_id="张三")


def test_personal_data_needs_a_name() -> None:
    with pytest.raises(ValidationError) as caught:
        make_account(personal_data=PersonalData(name=""))
    assert caught.value.field == "personal_data.name"


def test_personal_data_can_be_corrected_without_changing_the_id() -> None:
    account = make_account()
    account.correct_personal_data(PersonalData(name="张叁"))
    assert account.personal_data.name == "张叁"
    assert account.id == learner_account_id(LEARNER)


def test_balance_is_credited_minus_reversed_per_category() -> None:
    account = make_account()
    account.credit(ACH_A, "major_core", Decimal("3"))
    account.credit(ACH_B, "公共基础", Decimal("1.5"))
    assert account.balance("major_core") == Decimal("3.00")
    account.reverse(ACH_A, "error", "entered twice")
    assert account.balance(Category.MAJOR_CORE) == Decimal("0.00")
    assert account.balances() == {
        Category.PUBLIC_BASIC: Decimal("1.50"),
        Category.MAJOR_BASIC: Decimal(0),
        Category.MAJOR_CORE: Decimal(0),
        Category.MAJOR_ELECTIVE: Decimal(0),
    }
    assert account.total_balance() == Decimal("1.50")
    assert not account.is_credited(ACH_A)
    assert account.is_credited(ACH_B)


def test_negative_credits_are_refused_naming_the_field() -> None:
    account = make_account()
    with pytest.raises(ValidationError) as caught:
        account.credit(ACH_A, "major_core", Decimal(-1))
    assert caught.value.field == "amount"
    assert len(account.pending_events) == 1


def test_unknown_category_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError) as caught:
        make_account().credit(ACH_A, "core", Decimal(1))
    assert caught.value.field == "category"


def test_crediting_an_achievement_twice_is_refused() -> None:
    account = make_account()
    account.credit(ACH_A, "major_core", Decimal(1))
    with pytest.raises(DuplicateCreditError):
        account.credit(ACH_A, "major_core", Decimal(1))


def test_reversing_an_achievement_that_was_not_credited_is_refused() -> None:
    with pytest.raises(NotFoundError) as caught:
        make_account().reverse(ACH_A, "error")
    assert caught.value.field == "achievement_id"


def test_reversing_an_achievement_twice_is_refused() -> None:
    account = make_account()
    account.credit(ACH_A, "major_core", Decimal(1))
    account.reverse(ACH_A, "fraud", "forged")
    with pytest.raises(AlreadyReversedError):
        account.reverse(ACH_A, "fraud", "forged")


def test_recognised_achievement_is_credited_and_revoked_one_reversed() -> None:
    account = make_account()
    result = make_course_result()
    account.credit_achievement(result)
    assert account.balance("major_core") == Decimal("3.00")
    with pytest.raises(ConflictError, match="not revoked"):
        account.reverse_achievement(result)
    result.revoke(reason="appeal_upheld", note="re-marked", today=TODAY)
    account.reverse_achievement(result)
    assert account.balance("major_core") == Decimal("0.00")
    assert account.reversals[result.id].note == "re-marked"


def test_revoked_achievement_cannot_be_credited() -> None:
    achievement = make_x_certificate()
    achievement.revoke(reason="fraud", note="forged", today=TODAY)
    with pytest.raises(ConflictError, match="revoked"):
        make_account().credit_achievement(achievement)


def test_another_learners_achievement_cannot_be_credited() -> None:
    with pytest.raises(ValidationError) as caught:
        make_account().credit_achievement(make_course_result(learner_id="L-999"))
    assert caught.value.field == "achievement"


# Property: balance = credited - reversed; refused commands change nothing --------------------

POOL = [uuid5(UUID(int=1), str(n)) for n in range(5)]
GOOD_AMOUNTS = st.integers(0, 6000).map(lambda n: Decimal(n) / 100)
BAD_AMOUNTS = st.sampled_from(
    [Decimal(-1), Decimal("NaN"), Decimal("Infinity"), Decimal("0.001"), Decimal(61), 1.5]
)
CATEGORIES = st.sampled_from([*Category, "公共基础", "bogus"])


@dataclass(frozen=True)
class Credit:
    achievement_id: UUID
    category: object
    amount: object


@dataclass(frozen=True)
class Reverse:
    achievement_id: UUID


commands = st.lists(
    st.one_of(
        st.builds(Credit, st.sampled_from(POOL), CATEGORIES, st.one_of(GOOD_AMOUNTS, BAD_AMOUNTS)),
        st.builds(Reverse, st.sampled_from(POOL)),
    ),
    max_size=25,
)


def _expected_ok(
    command: Credit | Reverse, credited: Mapping[UUID, object], reversed_: set[UUID]
) -> bool:
    if isinstance(command, Reverse):
        return command.achievement_id in credited and command.achievement_id not in reversed_
    amount = command.amount
    return (
        command.achievement_id not in credited
        and command.category != "bogus"
        and isinstance(amount, Decimal)
        and amount.is_finite()
        and 0 <= amount <= 60
        and amount == amount.quantize(Decimal("0.01"))
    )


@settings(max_examples=50, deadline=None)
@given(commands)
def test_balance_is_credited_minus_reversed_and_refused_commands_change_nothing(
    script: list[Credit | Reverse],
) -> None:
    account = make_account()
    credited: dict[UUID, tuple[Category, Decimal]] = {}
    reversed_: set[UUID] = set()
    for command in script:
        ok = _expected_ok(command, credited, reversed_)
        before = copy.deepcopy(vars(account))
        try:
            if isinstance(command, Credit):
                account.credit(command.achievement_id, command.category, command.amount)  # type: ignore[arg-type]
            else:
                account.reverse(command.achievement_id, "error")
        except CreditLedgerError:
            assert not ok
            assert vars(account) == before  # state and pending events unchanged
            continue
        assert ok
        if isinstance(command, Credit):
            category = Category.parse(command.category, "category")
            assert isinstance(command.amount, Decimal)
            credited[command.achievement_id] = (category, command.amount)
        else:
            reversed_.add(command.achievement_id)
        for category in Category:
            plus = sum((a for c, a in credited.values() if c is category), Decimal(0))
            minus = sum(
                (a for i, (c, a) in credited.items() if c is category and i in reversed_),
                Decimal(0),
            )
            assert account.balance(category) == plus - minus
            assert account.balances()[category] == plus - minus
    assert len(account.collect_events()) == 1 + len(credited) + len(reversed_)

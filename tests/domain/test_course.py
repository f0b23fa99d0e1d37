from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from creditledger.domain import (
    MAX_DIFFICULTY,
    MIN_DIFFICULTY,
    AssessmentMethod,
    Category,
    Course,
    CreditFormula,
    course_id,
    credit_value,
)
from creditledger.errors import ValidationError

from .builders import SCHOOL, make_course

WORKED_EXAMPLES = [
    (48, "1.0", "3.00"),
    (40, "1.2", "3.00"),
    (36, "1.0", "2.00"),
    (54, "1.5", "5.00"),
    (20, "0.8", "1.00"),
    (28, "1.0", "1.50"),
    (6, "1.0", "0.50"),
]


@pytest.mark.parametrize(("hours", "difficulty", "credits"), WORKED_EXAMPLES)
def test_credit_value_follows_the_documented_worked_examples(
    hours: int, difficulty: str, credits: str
) -> None:
    assert str(credit_value(hours, Decimal(difficulty))) == credits


def test_credit_value_of_no_hours_is_zero() -> None:
    assert credit_value(0, Decimal(1)) == 0


def test_credit_value_uses_the_institutions_formula() -> None:
    whole_credits_of_18_hours = CreditFormula(hours_per_credit=18, step=Decimal(1))
    assert credit_value(54, Decimal("1.0"), whole_credits_of_18_hours) == Decimal(3)
    assert credit_value(53, Decimal("1.0"), whole_credits_of_18_hours) == Decimal(2)


def test_course_credit_value_follows_from_hours_and_difficulty() -> None:
    course = make_course(theory_hours=32, practice_hours=16, difficulty=Decimal("1.2"))
    assert course.credits == Decimal("3.50")
    assert course.total_hours == 48
    assert course.category is Category.MAJOR_CORE
    assert course.assessment_method is AssessmentMethod.EXAM
    assert course.pass_mark == Decimal(60)


def test_course_id_is_derived_from_owner_and_code() -> None:
    assert make_course().id == course_id(SCHOOL, "C101") == Course.create_id(SCHOOL, "C101")
    assert make_course(owner="OTHER").id != make_course().id


def test_course_accepts_chinese_category_and_method() -> None:
    course = make_course(category="公共基础", assessment_method="考查")
    assert course.category is Category.PUBLIC_BASIC
    assert course.assessment_method is AssessmentMethod.ASSESSMENT


def test_course_with_no_hours_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        make_course(theory_hours=0, practice_hours=0)
    assert caught.value.field == "theory_hours"


def test_course_with_absurd_credit_value_is_refused() -> None:
    with pytest.raises(ValidationError, match="absurd") as caught:
        make_course(theory_hours=1000, practice_hours=1000, difficulty=Decimal(2))
    assert caught.value.field == "credits"


def test_course_with_difficulty_out_of_bounds_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        make_course(difficulty=Decimal("3"))
    assert caught.value.field == "difficulty"


def test_course_with_float_difficulty_is_refused() -> None:
    with pytest.raises(ValidationError, match="float"):
        make_course(difficulty=1.2)


def test_course_with_pass_mark_above_its_scale_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        make_course(pass_mark=Decimal(6), score_scale=Decimal(5))
    assert caught.value.field == "pass_mark"


def test_course_with_unknown_category_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        make_course(category="core")
    assert caught.value.field == "category"


def test_course_with_unknown_assessment_method_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        make_course(assessment_method="matching")
    assert caught.value.field == "assessment_method"


@pytest.mark.parametrize("field", ["owner", "code", "name", "nature", "course_type", "attribute"])
def test_course_with_empty_code_or_name_is_refused(field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        make_course(**{field: " "})
    assert caught.value.field == field


def test_revising_hours_recomputes_credits_and_records_one_event() -> None:
    course = make_course()
    course.collect_events()
    course.revise_credit_value(theory_hours=48, practice_hours=16, difficulty=Decimal("1.0"))
    (revised,) = course.collect_events()
    assert type(revised).__name__ == "CreditValueRevised"
    assert course.credits == Decimal("4.00")


def test_revising_to_the_same_values_records_nothing() -> None:
    course = make_course()
    course.collect_events()
    course.revise_credit_value(theory_hours=32, practice_hours=16, difficulty=Decimal("1.0"))
    assert course.collect_events() == []


def test_invalid_revision_changes_nothing() -> None:
    course = make_course()
    before = dict(vars(course))
    with pytest.raises(ValidationError):
        course.revise_credit_value(theory_hours=-1, practice_hours=16, difficulty=Decimal(1))
    assert vars(course) == before
    assert len(course.pending_events) == 1


# Property tests of the credit formula -------------------------------------------------------

difficulties = st.integers(int(MIN_DIFFICULTY * 100), int(MAX_DIFFICULTY * 100)).map(
    lambda n: Decimal(n) / 100
)
formulas = st.builds(
    CreditFormula,
    hours_per_credit=st.integers(1, 100),
    step=st.sampled_from([Decimal("0.25"), Decimal("0.5"), Decimal(1), Decimal("0.1")]),
)


@settings(max_examples=50)
@given(hours=st.integers(1, 2000), difficulty=difficulties, formula=formulas)
def test_credit_value_is_a_multiple_of_the_step_and_never_above_the_rule(
    hours: int, difficulty: Decimal, formula: CreditFormula
) -> None:
    credits = credit_value(hours, difficulty, formula)
    raw = Fraction(hours) * Fraction(difficulty) / formula.hours_per_credit
    step = Fraction(formula.step)
    assert Fraction(credits) / step == int(Fraction(credits) / step)  # a multiple of the step
    assert credits.as_tuple().exponent == -2  # recorded with two places
    if raw >= step:
        assert Fraction(credits) <= raw  # rounding never creates credit
        assert raw - Fraction(credits) < step  # and loses less than one step
    else:
        assert Fraction(credits) == step  # the documented minimum of one step


@settings(max_examples=50)
@given(
    hours=st.integers(0, 2000),
    extra=st.integers(0, 500),
    difficulty=difficulties,
    formula=formulas,
)
def test_credit_value_is_monotone_in_hours(
    hours: int, extra: int, difficulty: Decimal, formula: CreditFormula
) -> None:
    assert credit_value(hours, difficulty, formula) <= credit_value(
        hours + extra, difficulty, formula
    )


def test_credit_value_refuses_negative_hours_and_bad_difficulty() -> None:
    with pytest.raises(ValidationError) as caught:
        credit_value(-1, Decimal(1))
    assert caught.value.field == "hours"
    with pytest.raises(ValidationError) as caught:
        credit_value(16, Decimal(0))
    assert caught.value.field == "difficulty"

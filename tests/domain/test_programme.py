from __future__ import annotations

from decimal import Decimal

import pytest

from creditledger.domain import Category, Programme, programme_id
from creditledger.errors import ConflictError, NotFoundError, ValidationError

from .builders import SCHOOL, make_course, make_programme


def test_programme_records_required_credits_per_category() -> None:
    programme = make_programme(
        required_credits={"public_basic": Decimal(30), Category.MAJOR_CORE: Decimal(40)}
    )
    assert programme.required_credits("公共基础") == Decimal("30.00")
    assert programme.required_credits(Category.MAJOR_ELECTIVE) == Decimal("0.00")
    assert programme.total_required_credits() == Decimal("70.00")
    assert programme.id == programme_id(SCHOOL, "P-ROBOT")


def test_programme_with_unknown_category_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        make_programme(required_credits={"core": Decimal(40)})
    assert caught.value.field == "required_credits"


@pytest.mark.parametrize("credits", [Decimal(-1), Decimal("10.001"), Decimal(301), Decimal("NaN")])
def test_programme_with_bad_required_credits_is_refused(credits: Decimal) -> None:
    with pytest.raises(ValidationError) as caught:
        make_programme(required_credits={"major_core": credits})
    assert caught.value.field == "required_credits"


def test_programme_with_empty_name_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        make_programme(name="")
    assert caught.value.field == "name"


def test_curriculum_lists_courses_under_their_category() -> None:
    core, basic = make_course(), make_course(code="C001", category="major_basic")
    programme = make_programme(core, basic)
    assert programme.courses_in("major_core") == ("C101",)
    assert programme.courses_in(Category.MAJOR_BASIC) == ("C001",)
    assert programme.module_courses("M1") == ("C101", "C001")


def test_another_schools_course_is_refused() -> None:
    programme = make_programme()
    with pytest.raises(ValidationError) as caught:
        programme.add_course(make_course(owner="OTHER"))
    assert caught.value.field == "course"


def test_adding_a_course_twice_is_a_conflict() -> None:
    course = make_course()
    programme = make_programme(course)
    with pytest.raises(ConflictError):
        programme.add_course(course)


def test_module_of_unknown_course_is_refused() -> None:
    programme = make_programme(make_course())
    with pytest.raises(NotFoundError) as caught:
        programme.define_module(code="M2", name="x", course_codes=["NOPE"])
    assert caught.value.field == "course_codes"


def test_empty_module_is_refused() -> None:
    programme = make_programme(make_course())
    with pytest.raises(ValidationError, match="at least one"):
        programme.define_module(code="M2", name="x", course_codes=[])


def test_duplicate_module_is_a_conflict() -> None:
    programme = make_programme(make_course())
    with pytest.raises(ConflictError):
        programme.define_module(code="M1", name="again", course_codes=["C101"])


def test_course_used_by_a_module_cannot_be_removed() -> None:
    programme = make_programme(make_course())
    with pytest.raises(ConflictError, match="M1"):
        programme.remove_course("C101")


def test_removing_a_course_not_in_the_curriculum_is_not_found() -> None:
    programme = make_programme()
    with pytest.raises(NotFoundError):
        programme.remove_course("C101")


def test_course_not_in_a_module_can_be_removed() -> None:
    course = make_course()
    programme = Programme.establish(institution=SCHOOL, code="P2", name="x")
    programme.add_course(course)
    programme.remove_course("C101")
    assert programme.courses == {}


def test_requirement_can_be_changed() -> None:
    programme = make_programme()
    programme.set_required_credits("专业选修", Decimal("12.5"))
    assert programme.required_credits("major_elective") == Decimal("12.50")


def test_unknown_module_is_not_found() -> None:
    with pytest.raises(NotFoundError):
        make_programme().module_courses("M9")

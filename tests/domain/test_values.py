from __future__ import annotations

import pytest

from creditledger.domain import (
    AchievementKind,
    AchievementStatus,
    AssessmentMethod,
    Category,
    CertificateLevel,
    CertificationMethod,
    InstitutionKind,
    LearnerType,
    RevocationReason,
)
from creditledger.errors import ValidationError

ENUMS = [
    Category,
    AssessmentMethod,
    CertificationMethod,
    CertificateLevel,
    AchievementKind,
    AchievementStatus,
    RevocationReason,
    InstitutionKind,
    LearnerType,
]


def test_category_parses_member_english_value_and_chinese_term() -> None:
    assert Category.parse(Category.MAJOR_CORE, "category") is Category.MAJOR_CORE
    assert Category.parse("major_core", "category") is Category.MAJOR_CORE
    assert Category.parse("专业核心", "category") is Category.MAJOR_CORE


def test_unknown_category_string_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError) as caught:
        Category.parse("core", "category")
    assert caught.value.field == "category"
    assert "core" in caught.value.problem


def test_non_string_category_is_refused() -> None:
    with pytest.raises(ValidationError, match="category"):
        Category.parse(3, "category")


@pytest.mark.parametrize("enum", ENUMS)
def test_every_member_has_a_chinese_term_that_parses_back(enum: type[Category]) -> None:
    for member in enum:
        assert member.zh
        assert enum.parse(member.zh, "f") is member


def test_levels_are_the_three_1x_levels() -> None:
    assert [lv.zh for lv in CertificateLevel] == ["初级", "中级", "高级"]

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from creditledger.domain import MAX_CREDITS, PersonalData, RuleRef
from creditledger.domain.validation import (
    validate_code,
    validate_credit_formula,
    validate_credits,
    validate_difficulty,
    validate_evidence,
    validate_hours,
    validate_learner_id,
    validate_name,
    validate_not_future,
    validate_rule,
    validate_score,
    validate_sha256,
    validate_term,
)
from creditledger.domain.values import CreditFormula, Evidence
from creditledger.errors import ValidationError

BAD_CREDITS = {
    "negative": Decimal("-1"),
    "NaN": Decimal("NaN"),
    "signalling NaN": Decimal("sNaN"),
    "infinite": Decimal("Infinity"),
    "negative infinite": Decimal("-Infinity"),
    "over-precise": Decimal("1.005"),
    "absurd": MAX_CREDITS + Decimal("0.01"),
    "float": 1.5,
    "string": "1.5",
    "bool": True,
}


@pytest.mark.parametrize("value", BAD_CREDITS.values(), ids=BAD_CREDITS.keys())
def test_bad_credits_are_refused_naming_the_field(value: object) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_credits(value, "amount")
    assert caught.value.field == "amount"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (Decimal("-0.5"), "negative"),
        (Decimal("NaN"), "NaN"),
        (Decimal("Infinity"), "infinite"),
        (Decimal("0.125"), "over-precise"),
        (Decimal("61"), "absurd"),
        (0.5, "float"),
    ],
)
def test_credit_problems_are_named(value: object, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        validate_credits(value)


def test_credits_are_recorded_with_exactly_two_places() -> None:
    assert str(validate_credits(Decimal("1.5"))) == "1.50"
    assert str(validate_credits(3)) == "3.00"
    assert str(validate_credits(Decimal("1.500"))) == "1.50"
    assert str(validate_credits(Decimal("-0"))) == "0.00"
    assert validate_credits(MAX_CREDITS) == MAX_CREDITS


def test_zero_credits_are_refused_where_positive_credits_are_required() -> None:
    with pytest.raises(ValidationError, match="greater than zero"):
        validate_credits(Decimal(0), positive=True)


def test_a_custom_maximum_replaces_the_absurd_limit() -> None:
    assert validate_credits(Decimal(150), maximum=Decimal(300)) == Decimal(150)


@pytest.mark.parametrize("score", [Decimal(-1), Decimal("100.01"), Decimal(101), Decimal("NaN")])
def test_score_outside_0_to_100_is_refused_naming_the_field(score: Decimal) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_score(score)
    assert caught.value.field == "score"


def test_score_is_checked_against_a_custom_scale() -> None:
    assert validate_score(Decimal(5), scale=Decimal(5)) == Decimal(5)
    with pytest.raises(ValidationError, match="0–5"):
        validate_score(Decimal(6), scale=Decimal(5))


def test_over_precise_score_is_refused() -> None:
    with pytest.raises(ValidationError, match="over-precise"):
        validate_score(Decimal("85.125"))


def test_date_in_the_future_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError) as caught:
        validate_not_future(date(2022, 7, 2), date(2022, 7, 1), "issued_on")
    assert caught.value.field == "issued_on"
    assert "future" in caught.value.problem
    assert validate_not_future(date(2022, 7, 1), date(2022, 7, 1), "issued_on")


def test_datetime_is_refused_where_a_date_is_expected() -> None:
    moment = datetime(2022, 1, 1, tzinfo=UTC)
    with pytest.raises(ValidationError, match=r"datetime\.date"):
        validate_not_future(moment, date(2022, 7, 1), "issued_on")


@pytest.mark.parametrize("code", ["", "   ", "C 101", "C\t1", None, "x" * 65])
def test_empty_or_blank_codes_are_refused(code: object) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_code(code, "code")
    assert caught.value.field == "code"


def test_codes_are_stripped() -> None:
    assert validate_code("  C101 ", "code") == "C101"


@pytest.mark.parametrize("name", ["", "  ", "bad\x00name", 5])
def test_empty_names_are_refused(name: object) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_name(name, "name")
    assert caught.value.field == "name"


@pytest.mark.parametrize("term", ["2021-2022-1", "2021-2022-2"])
def test_valid_terms(term: str) -> None:
    assert validate_term(term) == term


@pytest.mark.parametrize("term", ["2021-2023-1", "2021-2022-3", "2021/2022/1", "spring"])
def test_malformed_terms_are_refused(term: str) -> None:
    with pytest.raises(ValidationError, match="term"):
        validate_term(term)


@pytest.mark.parametrize("difficulty", [Decimal("0.49"), Decimal("2.01"), Decimal("1.005"), 1.2])
def test_difficulty_outside_bounds_or_inexact_is_refused(difficulty: object) -> None:
    with pytest.raises(ValidationError, match="difficulty"):
        validate_difficulty(difficulty)


@pytest.mark.parametrize("hours", [-1, 2001, 1.5, True, "16"])
def test_bad_hours_are_refused(hours: object) -> None:
    with pytest.raises(ValidationError, match="theory_hours"):
        validate_hours(hours, "theory_hours")


def test_sha256_is_lowercased_and_checked() -> None:
    digest = "AB" * 32
    assert validate_sha256(digest) == "ab" * 32
    with pytest.raises(ValidationError, match="sha256"):
        validate_sha256("abc")


def test_evidence_with_a_bad_digest_is_refused_naming_the_nested_field() -> None:
    with pytest.raises(ValidationError) as caught:
        validate_evidence(Evidence(description="x", sha256="nothex"))
    assert caught.value.field == "evidence.sha256"


def test_evidence_needs_a_description() -> None:
    with pytest.raises(ValidationError) as caught:
        validate_evidence(Evidence(description=" "))
    assert caught.value.field == "evidence.description"


def test_learner_id_that_is_an_identity_card_number_is_refused() -> None:
    with pytest.raises(ValidationError, match="identity-card"):
        validate_learner_id("11010120000101123X")


def test_learner_id_containing_the_learners_name_or_document_is_refused() -> None:
    person = PersonalData(name="张三", id_document_number="G12345678")
    with pytest.raises(ValidationError, match="personal data"):
        validate_learner_id("张三-01", personal_data=person)
    with pytest.raises(ValidationError, match="personal data"):
        validate_learner_id("P-G12345678", personal_data=person)
    assert validate_learner_id("L-000001", personal_data=person) == "L-000001"


def test_rule_version_must_be_at_least_one() -> None:
    with pytest.raises(ValidationError) as caught:
        validate_rule(RuleRef(rule_id="r", version=0))
    assert caught.value.field == "rule.version"


@pytest.mark.parametrize(
    ("formula", "field"),
    [
        (CreditFormula(hours_per_credit=0), "formula.hours_per_credit"),
        (CreditFormula(hours_per_credit=101), "formula.hours_per_credit"),
        (CreditFormula(step=Decimal(0)), "formula.step"),
        (CreditFormula(step=Decimal(2)), "formula.step"),
        (CreditFormula(step=Decimal("0.125")), "formula.step"),
    ],
)
def test_bad_credit_formula_is_refused_naming_the_field(formula: CreditFormula, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_credit_formula(formula)
    assert caught.value.field == field

"""Courses of the course catalog (课程库), R1, and the rule that gives their credit value."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from math import floor
from uuid import UUID

from eventsourcing.domain import event

from creditledger.domain.base import BankAggregate
from creditledger.domain.ids import course_id
from creditledger.domain.validation import (
    CREDIT_QUANTUM,
    DEFAULT_SCORE_SCALE,
    exact_decimal,
    validate_code,
    validate_credit_formula,
    validate_credits,
    validate_difficulty,
    validate_hours,
    validate_name,
    validate_score,
    validate_score_scale,
)
from creditledger.domain.values import AssessmentMethod, Category, CreditFormula
from creditledger.errors import ValidationError

DEFAULT_PASS_MARK = Decimal(60)


def credit_value(
    total_hours: int, difficulty: Decimal, formula: CreditFormula | None = None
) -> Decimal:
    """Return the credit value (学分值) of a course of ``total_hours`` at ``difficulty``.

    The rule, with ``H`` = hours per credit and ``S`` = step of the formula::

        raw     = total_hours × difficulty ÷ H          (exact, no intermediate rounding)
        credits = 0                                     if total_hours = 0
                = S                                     if 0 < raw < S   (minimum one step)
                = floor(raw ÷ S) × S                    otherwise        (round DOWN to the step)

    Rounding is always down, so a course never earns more than its hours justify; the only
    exception is the documented minimum of one step for a course that has hours at all.
    The result has two decimal places. Worked examples with the default formula (16 hours per
    credit, step 0.5):

    ====================  ==========  =======  =======
    hours                 difficulty  raw      credits
    ====================  ==========  =======  =======
    48 (32 + 16)          1.0         3        3.00
    40                    1.2         3        3.00
    36                    1.0         2.25     2.00
    54                    1.5         5.0625   5.00
    20                    0.8         1        1.00
    28                    1.0         1.75     1.50
    6                     1.0         0.375    0.50 (minimum one step)
    ====================  ==========  =======  =======
    """
    if isinstance(total_hours, bool) or not isinstance(total_hours, int) or total_hours < 0:
        raise ValidationError("hours", f"must be a whole number >= 0 ({total_hours!r})")
    if exact_decimal(difficulty, "difficulty") <= 0:
        raise ValidationError("difficulty", f"must be above 0 ({difficulty})")
    formula = validate_credit_formula(formula or CreditFormula())
    if total_hours == 0:
        return Decimal(0).quantize(CREDIT_QUANTUM)
    step = Fraction(formula.step)
    raw = Fraction(total_hours) * Fraction(difficulty) / formula.hours_per_credit
    steps = max(floor(raw / step), 1)
    return (formula.step * steps).quantize(CREDIT_QUANTUM)


class Course(BankAggregate):
    """A course of an institution's course catalog (课程库), R1.

    A course has a code, a name, one of four categories, its nature (课程性质), type (课程类型)
    and attribute (课程属性), theory and practice hours (理论/实践学时), a difficulty coefficient
    (难度系数), an assessment method (考试/考查/评价) and a pass mark on its score scale. Its
    credit value follows from hours and difficulty by the owner's :class:`CreditFormula`
    (see :func:`credit_value`) and is recorded in the event, so history shows what it was.

    Create with :meth:`define`. Events: ``Defined``, ``CreditValueRevised``.
    """

    @event("Defined")
    def __init__(
        self,
        owner: str,
        code: str,
        name: str,
        category: Category,
        nature: str,
        course_type: str,
        attribute: str,
        theory_hours: int,
        practice_hours: int,
        difficulty: Decimal,
        assessment_method: AssessmentMethod,
        pass_mark: Decimal,
        score_scale: Decimal,
        formula: CreditFormula,
        credits: Decimal,
    ) -> None:
        self.owner = owner
        self.code = code
        self.name = name
        self.category = category
        self.nature = nature
        self.course_type = course_type
        self.attribute = attribute
        self.theory_hours = theory_hours
        self.practice_hours = practice_hours
        self.difficulty = difficulty
        self.assessment_method = assessment_method
        self.pass_mark = pass_mark
        self.score_scale = score_scale
        self.formula = formula
        self.credits = credits

    @classmethod
    def create_id(cls, owner: str, code: str) -> UUID:
        """The course's id, derived from its owner's code and its course code."""
        return course_id(owner, code)

    @classmethod
    def define(
        cls,
        *,
        owner: str,
        code: str,
        name: str,
        category: Category | str,
        nature: str,
        course_type: str,
        attribute: str,
        theory_hours: int,
        practice_hours: int,
        difficulty: Decimal,
        assessment_method: AssessmentMethod | str,
        pass_mark: Decimal = DEFAULT_PASS_MARK,
        score_scale: Decimal = DEFAULT_SCORE_SCALE,
        formula: CreditFormula | None = None,
    ) -> Course:
        """Define a course after validating every field and computing its credit value."""
        theory, practice, coefficient, checked_formula, credits = _credit_inputs(
            theory_hours, practice_hours, difficulty, formula or CreditFormula()
        )
        scale = validate_score_scale(score_scale)
        return cls(
            owner=validate_code(owner, "owner"),
            code=validate_code(code, "code"),
            name=validate_name(name, "name"),
            category=Category.parse(category, "category"),
            nature=validate_name(nature, "nature"),
            course_type=validate_name(course_type, "course_type"),
            attribute=validate_name(attribute, "attribute"),
            theory_hours=theory,
            practice_hours=practice,
            difficulty=coefficient,
            assessment_method=AssessmentMethod.parse(assessment_method, "assessment_method"),
            pass_mark=validate_score(pass_mark, "pass_mark", scale=scale),
            score_scale=scale,
            formula=checked_formula,
            credits=credits,
        )

    @property
    def total_hours(self) -> int:
        """Theory plus practice hours (总学时)."""
        return self.theory_hours + self.practice_hours

    def passes(self, score: Decimal) -> bool:
        """Whether ``score`` reaches the pass mark."""
        return score >= self.pass_mark

    def revise_credit_value(
        self,
        *,
        theory_hours: int,
        practice_hours: int,
        difficulty: Decimal,
        formula: CreditFormula | None = None,
    ) -> None:
        """Revise hours, difficulty or formula and recompute the credit value.

        Achievements already recognised keep the credits they were given. No event is
        recorded if nothing changes.
        """
        theory, practice, coefficient, checked_formula, credits = _credit_inputs(
            theory_hours, practice_hours, difficulty, formula or self.formula
        )
        current = (self.theory_hours, self.practice_hours, self.difficulty, self.formula)
        if (theory, practice, coefficient, checked_formula) != current:
            self._credit_value_revised(
                theory_hours=theory,
                practice_hours=practice,
                difficulty=coefficient,
                formula=checked_formula,
                credits=credits,
            )

    @event("CreditValueRevised")
    def _credit_value_revised(
        self,
        theory_hours: int,
        practice_hours: int,
        difficulty: Decimal,
        formula: CreditFormula,
        credits: Decimal,
    ) -> None:
        self.theory_hours = theory_hours
        self.practice_hours = practice_hours
        self.difficulty = difficulty
        self.formula = formula
        self.credits = credits


def _credit_inputs(
    theory_hours: object, practice_hours: object, difficulty: object, formula: object
) -> tuple[int, int, Decimal, CreditFormula, Decimal]:
    theory = validate_hours(theory_hours, "theory_hours")
    practice = validate_hours(practice_hours, "practice_hours")
    if theory + practice == 0:
        raise ValidationError("theory_hours", "theory and practice hours are both 0")
    coefficient = validate_difficulty(difficulty)
    checked_formula = validate_credit_formula(formula)
    credits = validate_credits(credit_value(theory + practice, coefficient, checked_formula))
    return theory, practice, coefficient, checked_formula, credits

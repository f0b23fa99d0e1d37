"""Validators for the values commands receive (校验).

Each validator takes the raw value and the name of the field it came from, returns the clean
value, or raises :class:`~creditledger.errors.ValidationError` naming that field. Commands call
them *before* triggering any event, so a refused command records nothing.

Numbers must be exact: :class:`~decimal.Decimal` or ``int``. A ``float`` is refused, because
0.1 + 0.2 credits must be 0.3 credits.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from creditledger.domain.values import (
    CreditFormula,
    Evidence,
    PersonalData,
    RuleRef,
)
from creditledger.errors import ValidationError

#: Most credits one course or one achievement may carry; more is surely a typing error.
MAX_CREDITS = Decimal(60)
#: Credits and scores are recorded to two decimal places.
CREDIT_QUANTUM = Decimal("0.01")
#: Bounds of a course's difficulty coefficient (难度系数).
MIN_DIFFICULTY = Decimal("0.5")
MAX_DIFFICULTY = Decimal("2.0")
#: Most hours (学时) one part (theory or practice) of one course may have.
MAX_HOURS = 2000
#: Default score scale (百分制) and the largest scale a course may use.
DEFAULT_SCORE_SCALE = Decimal(100)
MAX_SCORE_SCALE = Decimal(1000)
#: Largest hours-per-credit an institution may configure.
MAX_HOURS_PER_CREDIT = 100
MAX_CODE_LENGTH = 64
MAX_NAME_LENGTH = 200
MAX_TEXT_LENGTH = 2000

_CODE_FORBIDDEN = re.compile(r"[\s\x00-\x1f\x7f]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_TERM = re.compile(r"(\d{4})-(\d{4})-([12])")
# A PRC resident identity card number: 17 digits and a check character.
_RESIDENT_ID = re.compile(r"\d{17}[\dXx]")


def exact_decimal(value: object, field: str) -> Decimal:
    """Return ``value`` as a finite Decimal; refuse floats, bools, strings, NaN and infinities."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        kind = type(value).__name__
        raise ValidationError(field, f"must be an exact decimal.Decimal, not {kind}")
    number = Decimal(value)
    if number.is_nan():
        raise ValidationError(field, "is not a number (NaN)")
    if number.is_infinite():
        raise ValidationError(field, "is infinite")
    return abs(number) if number.is_zero() else number  # no negative zero


def _at_most_two_places(number: Decimal, field: str) -> None:
    if number != number.quantize(CREDIT_QUANTUM):
        raise ValidationError(field, f"is over-precise ({number}): at most 2 decimal places")


def validate_credits(
    value: object,
    field: str = "credits",
    *,
    positive: bool = False,
    maximum: Decimal = MAX_CREDITS,
) -> Decimal:
    """Return credits as a Decimal with exactly two places (``Decimal("1.50")``).

    Refuses negative, NaN, infinite, over-precise (more than 2 places) and absurd (more than
    ``maximum``, by default :data:`MAX_CREDITS`) values; with ``positive=True`` also zero.
    """
    number = exact_decimal(value, field)
    if number < 0:
        raise ValidationError(field, f"is negative ({number})")
    if positive and number == 0:
        raise ValidationError(field, "must be greater than zero")
    if number > maximum:
        raise ValidationError(field, f"is absurd ({number}): more than {maximum}")
    _at_most_two_places(number, field)
    return number.quantize(CREDIT_QUANTUM)


def validate_score_scale(value: object, field: str = "score_scale") -> Decimal:
    """Return the top of a score scale: positive, at most :data:`MAX_SCORE_SCALE`, 2 places."""
    number = exact_decimal(value, field)
    if number <= 0 or number > MAX_SCORE_SCALE:
        raise ValidationError(field, f"must be above 0 and at most {MAX_SCORE_SCALE}")
    _at_most_two_places(number, field)
    return number


def validate_score(
    value: object, field: str = "score", *, scale: Decimal = DEFAULT_SCORE_SCALE
) -> Decimal:
    """Return a score on the scale 0..``scale`` (default 0–100) with at most 2 places."""
    number = exact_decimal(value, field)
    if number < 0 or number > scale:
        raise ValidationError(field, f"is outside the scale 0–{scale} ({number})")
    _at_most_two_places(number, field)
    return number


def validate_difficulty(value: object, field: str = "difficulty") -> Decimal:
    """Return a difficulty coefficient (难度系数) between the named bounds, 2 places at most."""
    number = exact_decimal(value, field)
    if not MIN_DIFFICULTY <= number <= MAX_DIFFICULTY:
        raise ValidationError(
            field, f"must be between {MIN_DIFFICULTY} and {MAX_DIFFICULTY} ({number})"
        )
    _at_most_two_places(number, field)
    return number


def validate_hours(value: object, field: str) -> int:
    """Return a whole number of hours (学时) between 0 and :data:`MAX_HOURS`."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(field, f"must be a whole number of hours, not {type(value).__name__}")
    if not 0 <= value <= MAX_HOURS:
        raise ValidationError(field, f"must be between 0 and {MAX_HOURS} ({value})")
    return value


SEALED_MARK = "sealed:"
"""What every sealed personal-data value starts with (domain.values): no code may, so no id or
code can ever be read as one."""


def validate_code(value: object, field: str, *, max_length: int = MAX_CODE_LENGTH) -> str:
    """Return a code (institution, course, certificate, learner id ...): no blanks inside.

    Surrounding whitespace is stripped, so ``" C01 "`` and ``"C01"`` name the same thing.
    """
    if not isinstance(value, str):
        raise ValidationError(field, f"must be a string, not {type(value).__name__}")
    code = value.strip()
    if not code:
        raise ValidationError(field, "is empty")
    if len(code) > max_length:
        raise ValidationError(field, f"is longer than {max_length} characters")
    if _CODE_FORBIDDEN.search(code):
        raise ValidationError(field, f"contains whitespace or control characters ({code!r})")
    if code.startswith(SEALED_MARK):
        raise ValidationError(field, f"must not start with {SEALED_MARK!r}, the mark of sealed "
                              "personal data")
    return code


def validate_name(value: object, field: str, *, max_length: int = MAX_NAME_LENGTH) -> str:
    """Return a non-empty name or description, stripped, without control characters."""
    if not isinstance(value, str):
        raise ValidationError(field, f"must be a string, not {type(value).__name__}")
    name = value.strip()
    if not name:
        raise ValidationError(field, "is empty")
    if len(name) > max_length:
        raise ValidationError(field, f"is longer than {max_length} characters")
    if _CONTROL.search(name):
        raise ValidationError(field, "contains control characters")
    return name


def validate_note(value: object, field: str = "note") -> str:
    """Return a free-text note; may be empty."""
    if value == "":
        return ""
    return validate_name(value, field, max_length=MAX_TEXT_LENGTH)


def validate_optional_name(value: object, field: str) -> str | None:
    """Return ``None`` or a valid name."""
    return None if value is None else validate_name(value, field)


def validate_date(value: object, field: str) -> date:
    """Return a calendar date; refuse datetimes, which would not round-trip as dates."""
    if isinstance(value, datetime) or not isinstance(value, date):
        raise ValidationError(field, f"must be a datetime.date, not {type(value).__name__}")
    return value


def validate_time_zone(value: object, field: str = "time_zone") -> str:
    """Return an IANA time zone name (``Asia/Shanghai``) that this machine's time zone
    database knows; "today" in a ledger is the date in its time zone."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(field, "must be an IANA time zone name such as Asia/Shanghai")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(field, f"{value!r} is not a time zone name this machine knows "
                                     "(an IANA name such as Asia/Shanghai)") from None
    return value


def validate_not_future(value: object, today: date, field: str) -> date:
    """Return ``value`` if it is a date on or before ``today``; later dates are refused."""
    day = validate_date(value, field)
    if day > validate_date(today, "today"):
        raise ValidationError(field, f"is in the future ({day} is after today, {today})")
    return day


def validate_term(value: object, field: str = "term") -> str:
    """Return an academic term such as ``"2021-2022-1"`` (two consecutive years, term 1 or 2)."""
    term = validate_code(value, field)
    match = _TERM.fullmatch(term)
    if match is None or int(match[2]) != int(match[1]) + 1:
        raise ValidationError(field, f"must look like 2021-2022-1 ({term!r})")
    return term


def validate_sha256(value: object, field: str = "sha256") -> str:
    """Return a SHA-256 hex digest in lowercase."""
    if not isinstance(value, str) or not _SHA256.fullmatch(value.lower()):
        raise ValidationError(field, "must be 64 hexadecimal characters (a SHA-256 digest)")
    return value.lower()


def validate_evidence(value: object, field: str = "evidence") -> Evidence:
    """Return evidence with a description, an optional reference and an optional digest."""
    if not isinstance(value, Evidence):
        raise ValidationError(field, f"must be an Evidence, not {type(value).__name__}")
    return Evidence(
        description=validate_name(value.description, f"{field}.description", max_length=2000),
        reference=None
        if value.reference is None
        else validate_name(value.reference, f"{field}.reference", max_length=MAX_TEXT_LENGTH),
        sha256=None if value.sha256 is None else validate_sha256(value.sha256, f"{field}.sha256"),
    )


def validate_personal_data(value: object, field: str = "personal_data") -> PersonalData:
    """Return personal data with a name and optional identity-document and contact fields."""
    if not isinstance(value, PersonalData):
        raise ValidationError(field, f"must be a PersonalData, not {type(value).__name__}")
    number = value.id_document_number
    return PersonalData(
        name=validate_name(value.name, f"{field}.name"),
        id_document_type=validate_optional_name(
            value.id_document_type, f"{field}.id_document_type"
        ),
        id_document_number=None
        if number is None
        else validate_code(number, f"{field}.id_document_number"),
        contact=validate_optional_name(value.contact, f"{field}.contact"),
    )


def validate_learner_id(
    value: object, field: str = "learner_id", *, personal_data: PersonalData | None = None
) -> str:
    """Return an opaque learner id; refuse ids that carry personal data.

    Learner ids become aggregate ids, which are never erased, so an id that looks like a
    resident identity-card number, or contains the learner's name or document number, is refused.
    """
    learner_id = validate_code(value, field)
    if _RESIDENT_ID.fullmatch(learner_id):
        raise ValidationError(field, "looks like an identity-card number; use an opaque id")
    if personal_data is not None:
        secrets = (personal_data.name, personal_data.id_document_number)
        if any(s and s.replace(" ", "") in learner_id for s in secrets):
            raise ValidationError(field, "contains personal data; use an opaque id")
    return learner_id


def validate_rule(value: object, field: str = "rule") -> RuleRef:
    """Return a rule reference with a code-like id and a version of 1 or more."""
    if not isinstance(value, RuleRef):
        raise ValidationError(field, f"must be a RuleRef, not {type(value).__name__}")
    version = value.version
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValidationError(f"{field}.version", f"must be a whole number >= 1 ({version!r})")
    rule_id = validate_code(value.rule_id, f"{field}.rule_id", max_length=MAX_NAME_LENGTH)
    return RuleRef(rule_id=rule_id, version=version)


def validate_credit_formula(value: object, field: str = "formula") -> CreditFormula:
    """Return a credit formula with 1..100 hours per credit and a step in (0, 1], 2 places."""
    if not isinstance(value, CreditFormula):
        raise ValidationError(field, f"must be a CreditFormula, not {type(value).__name__}")
    hours = value.hours_per_credit
    if isinstance(hours, bool) or not isinstance(hours, int):
        raise ValidationError(f"{field}.hours_per_credit", "must be a whole number")
    if not 1 <= hours <= MAX_HOURS_PER_CREDIT:
        raise ValidationError(
            f"{field}.hours_per_credit", f"must be between 1 and {MAX_HOURS_PER_CREDIT}"
        )
    step = exact_decimal(value.step, f"{field}.step")
    if not 0 < step <= 1:
        raise ValidationError(f"{field}.step", f"must be above 0 and at most 1 ({step})")
    _at_most_two_places(step, f"{field}.step")
    return CreditFormula(hours_per_credit=hours, step=step)

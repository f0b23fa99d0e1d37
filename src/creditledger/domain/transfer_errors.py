"""Why a credit transfer is refused. Each is a typed error of the library's hierarchy.

A refused conversion records nothing: every check runs before any event is triggered.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import UUID

from creditledger.errors import ConflictError, ValidationError

_CENT = Decimal("0.01")


class ConditionNotMetError(ValidationError):
    """A source does not meet a condition of the rule (score, level, validity, age, kind)."""

    def __init__(self, achievement_id: UUID, condition: str, problem: str) -> None:
        super().__init__("source_achievement_ids", f"achievement {achievement_id}: {problem}")
        self.achievement_id = achievement_id
        self.condition = condition


class CapExceededError(ConflictError):
    """A conversion would break a cap (转换上限): which cap, and by how much.

    ``limit``, ``current``, ``requested`` and ``excess`` are credits, or a number of
    certificates for the certificate-count cap.
    """

    def __init__(
        self, *, rule_id: str, scope: str, key: str, limit: Decimal, current: Decimal,
        requested: Decimal, unit: str = "credits",
    ) -> None:
        if unit == "credits":
            limit, current, requested = (v.quantize(_CENT) for v in (limit, current, requested))
        self.rule_id = rule_id
        self.scope = scope
        self.key = key
        self.limit = limit
        self.current = current
        self.requested = requested
        self.excess = current + requested - limit
        keyed = f" {key}" if key else ""
        super().__init__(
            f"cap {scope}{keyed} ({limit} {unit}) would be exceeded by {self.excess}: "
            f"{current} already converted, {requested} requested (rule {rule_id})"
        )


class InsufficientCreditsError(ConflictError):
    """The sources have fewer credits left than the conversion draws (no double counting)."""

    def __init__(self, achievement_ids: tuple[UUID, ...], available: Decimal, needed: Decimal):
        names = ", ".join(str(a) for a in achievement_ids)
        super().__init__(
            f"achievement(s) {names} have {available} credits left to convert; {needed} needed"
        )
        self.achievement_ids = achievement_ids
        self.available = available
        self.needed = needed


class AlreadyExemptError(ConflictError):
    """The course or module is already exempt (or waiting for a makeup to be)."""


class SourceAlreadyUsedError(ConflictError):
    """The achievement already backs an exemption, and the rules do not let it be shared."""

    def __init__(self, achievement_id: UUID, exempted: str) -> None:
        super().__init__(
            f"achievement {achievement_id} already backs the exemption of {exempted}; "
            "only shareable rules let one achievement satisfy two exemptions"
        )
        self.achievement_id = achievement_id
        self.exempted = exempted


class AgreementNotInForceError(ConflictError):
    """No countersigned version of the agreement is valid on the conversion date."""

    def __init__(self, code: str, day: date, detail: str) -> None:
        super().__init__(f"agreement {code} is not in force on {day}: {detail}")
        self.code = code
        self.day = day


class NotPendingError(ConflictError):
    """The conversion is not pending (already posted, voided or reversed)."""

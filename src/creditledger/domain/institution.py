"""Institutions (机构): schools, training & evaluation organisations, the alliance secretariat."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import event

from creditledger.domain.base import BankAggregate
from creditledger.domain.ids import institution_id
from creditledger.domain.validation import validate_code, validate_name
from creditledger.domain.values import InstitutionKind
from creditledger.errors import ValidationError


class Institution(BankAggregate):
    """A member of the credit bank.

    A school (学校) owns courses and programmes; a training & evaluation organisation
    (培训评价组织) issues X certificates; the alliance secretariat (联盟秘书处) coordinates member
    schools. Only a school may run a credit system (学分制); a school without one receives
    mutually recognised courses as grades rather than credits (R14). Signing keys belong to the
    store layer, not here.

    Create with :meth:`register`. Events: ``Registered``, ``Renamed``, ``CreditSystemChanged``.
    """

    @event("Registered")
    def __init__(
        self, code: str, name: str, kind: InstitutionKind, has_credit_system: bool
    ) -> None:
        self.code = code
        self.name = name
        self.kind = kind
        self.has_credit_system = has_credit_system

    @classmethod
    def create_id(cls, code: str) -> UUID:
        """The institution's id, derived from its code."""
        return institution_id(code)

    @classmethod
    def register(
        cls,
        *,
        code: str,
        name: str,
        kind: InstitutionKind | str,
        has_credit_system: bool = False,
    ) -> Institution:
        """Register an institution after validating every field."""
        parsed_kind = InstitutionKind.parse(kind, "kind")
        _check_credit_system(parsed_kind, has_credit_system)
        return cls(
            code=validate_code(code, "code"),
            name=validate_name(name, "name"),
            kind=parsed_kind,
            has_credit_system=has_credit_system,
        )

    def rename(self, name: str) -> None:
        """Record a new name; the code (and so the id) never changes."""
        self._renamed(name=validate_name(name, "name"))

    @event("Renamed")
    def _renamed(self, name: str) -> None:
        self.name = name

    def set_credit_system(self, has_credit_system: bool) -> None:
        """Record that the school adopted or dropped a credit system; no event if unchanged."""
        _check_credit_system(self.kind, has_credit_system)
        if has_credit_system != self.has_credit_system:
            self._credit_system_changed(has_credit_system=has_credit_system)

    @event("CreditSystemChanged")
    def _credit_system_changed(self, has_credit_system: bool) -> None:
        self.has_credit_system = has_credit_system


def _check_credit_system(kind: InstitutionKind, has_credit_system: object) -> None:
    if not isinstance(has_credit_system, bool):
        raise ValidationError("has_credit_system", "must be True or False")
    if has_credit_system and kind is not InstitutionKind.SCHOOL:
        raise ValidationError("has_credit_system", f"only a school can run one, not a {kind.zh}")

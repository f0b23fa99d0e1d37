"""Bilateral credit recognition agreements (学分互认协议), R7: between two institutions.

One school proposes a version (its terms: validity period and the conversion rules between
the two schools); the other countersigns it. Each step is its own signed commit, so the ledger
shows both signatures. Only a countersigned version whose validity covers the conversion date
may be used; when the agreement expires, later conversions under it are refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from uuid import UUID

import msgspec
from eventsourcing.domain import event

from creditledger.domain.base import BankAggregate
from creditledger.domain.ids import natural_key_id
from creditledger.domain.topics import stored_as
from creditledger.domain.transfers.rules import ConversionRule, TransferScope, validate_rules
from creditledger.domain.transfers.values import AgreementRef
from creditledger.domain.validation import validate_code, validate_date
from creditledger.errors import (
    AgreementNotInForceError,
    ConflictError,
    NotAuthorisedError,
    NotFoundError,
    ValidationError,
)


def agreement_id(code: str) -> UUID:
    """Id of the agreement with ``code``."""
    return natural_key_id("agreement", code)


class AgreementVersion(msgspec.Struct, frozen=True, kw_only=True):
    """One version of an agreement's terms, and who signed it when."""

    number: int
    valid_from: date
    valid_until: date
    rules: tuple[ConversionRule, ...]
    proposed_by: str
    proposed_on: date
    countersigned_by: str | None = None
    countersigned_on: date | None = None

    def covers(self, day: date) -> bool:
        return self.valid_from <= day <= self.valid_until


@stored_as("creditledger.domain.agreement")
class Agreement(BankAggregate):
    """A versioned agreement between two institutions (``parties``, sorted).

    Create with :meth:`draft`. Events: ``Drafted``, ``VersionProposed``, ``VersionCountersigned``.
    """

    @event("Drafted")
    def __init__(self, code: str, parties: tuple[str, ...]) -> None:
        self.code = code
        self.parties = parties
        self.versions: list[AgreementVersion] = []

    @classmethod
    def create_id(cls, code: str, parties: tuple[str, ...]) -> UUID:
        return agreement_id(code)

    @classmethod
    def draft(cls, *, code: str, parties: Iterable[str]) -> Agreement:
        names = tuple(sorted({validate_code(p, "parties") for p in parties}))
        if len(names) != 2:
            raise ValidationError("partner", "an agreement binds two different institutions")
        return cls(code=validate_code(code, "code"), parties=names)

    def propose(
        self, *, by: str, valid_from: date, valid_until: date, rules: Iterable[ConversionRule],
        today: date,
    ) -> AgreementVersion:
        """``by`` (a party) proposes the next version; it binds once the other countersigns."""
        self._check_party(by)
        start = validate_date(valid_from, "valid_from")
        end = validate_date(valid_until, "valid_until")
        if end < start:
            raise ValidationError("valid_until", f"is before valid_from ({start})")
        checked = validate_rules(rules)
        for rule in checked:
            self._check_rule(rule)
        version = AgreementVersion(number=len(self.versions) + 1, valid_from=start,
                                   valid_until=end, rules=checked, proposed_by=by,
                                   proposed_on=validate_date(today, "today"))
        self._proposed(version=version)
        return version

    def _check_rule(self, rule: ConversionRule) -> None:
        where = f"rule {rule.rule_id}"
        if rule.scope is not TransferScope.INTER_INSTITUTION:
            raise ValidationError("rules", f"{where}: an agreement carries inter-institution rules")
        if rule.target.institution not in self.parties:
            raise ValidationError("rules", f"{where}: targets {rule.target.institution}, "
                                  "not a party")
        other = self.other(rule.target.institution)
        if any(s.institution != other for s in rule.sources):
            raise ValidationError("rules", f"{where}: its sources must be courses of {other}")

    @event("VersionProposed")
    def _proposed(self, version: AgreementVersion) -> None:
        self.versions.append(version)

    def countersign(self, number: int, *, by: str, today: date) -> AgreementVersion:
        """The other party signs version ``number``: from now on it binds both."""
        self._check_party(by)
        version = self.version_numbered(number)
        if version.countersigned_by is not None:
            raise ConflictError(f"version {number} of {self.code} is already countersigned")
        if by == version.proposed_by:
            raise NotAuthorisedError(f"{by} proposed version {number}; the other party, "
                                     f"{self.other(by)}, must countersign it")
        day = validate_date(today, "today")
        if day < version.proposed_on:
            raise ValidationError("today", f"is before the proposal on {version.proposed_on}")
        self._countersigned(number=number, by=by, on=day)
        return self.versions[number - 1]

    @event("VersionCountersigned")
    def _countersigned(self, number: int, by: str, on: date) -> None:
        signed = msgspec.structs.replace(self.versions[number - 1], countersigned_by=by,
                                         countersigned_on=on)
        self.versions[number - 1] = signed

    def version_numbered(self, number: int) -> AgreementVersion:
        if isinstance(number, bool) or not isinstance(number, int) or not (
                1 <= number <= len(self.versions)):
            raise NotFoundError("agreement version", f"{self.code} v{number}", "version")
        return self.versions[number - 1]

    def other(self, party: str) -> str:
        """The party that is not ``party``."""
        return self.parties[1] if party == self.parties[0] else self.parties[0]

    def in_force(self, day: date) -> AgreementVersion:
        """The latest countersigned version valid on ``day`` (else AgreementNotInForceError)."""
        signed = [v for v in self.versions if v.countersigned_by is not None]
        for version in reversed(signed):
            if version.covers(day):
                return version
        if not signed:
            detail = "no version is countersigned by both parties"
        elif all(v.valid_until < day for v in signed):
            last = max(signed, key=lambda v: v.valid_until)
            detail = f"version {last.number} expired on {last.valid_until}"
        else:
            first = min(signed, key=lambda v: v.valid_from)
            detail = f"version {first.number} is valid only from {first.valid_from}"
        raise AgreementNotInForceError(self.code, day, detail)

    def rule_at(self, rule_id: str, day: date) -> tuple[AgreementRef, ConversionRule]:
        """The rule ``rule_id`` of the version in force on ``day``, and that version's ref."""
        version = self.in_force(day)
        rule = next((r for r in version.rules if r.rule_id == rule_id), None)
        if rule is None:
            raise NotFoundError("conversion rule", f"{rule_id} (agreement {self.code} "
                                f"v{version.number})", "rule_id")
        ref = AgreementRef(agreement_id=self.id, code=self.code, version=version.number,
                           valid_from=version.valid_from, valid_until=version.valid_until)
        return ref, rule

    def _check_party(self, who: str) -> None:
        if who not in self.parties:
            raise NotAuthorisedError(f"{who} is not a party to agreement {self.code}")

"""An institution's conversion rules (学分转换规则), versioned by effective date.

A school publishes its rules for conversions into its own programmes — between its majors
(校内专业间) and from non-degree learning (非学历教育) — as numbered versions, each in force from
its effective date. A conversion records which version applied. Rules between two institutions
belong in a countersigned :class:`~creditledger.domain.transfers.agreement.Agreement` instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from uuid import UUID

from eventsourcing.domain import event

from creditledger.domain.base import BankAggregate
from creditledger.domain.ids import natural_key_id
from creditledger.domain.topics import stored_as
from creditledger.domain.transfers.rules import (
    ConversionRule,
    RuleSetVersion,
    TransferScope,
    validate_rules,
)
from creditledger.domain.validation import validate_code, validate_date
from creditledger.errors import NotFoundError, ValidationError


def rule_set_id(institution: str) -> UUID:
    """Id of the rule set of ``institution``."""
    return natural_key_id("conversion-rule-set", institution)


@stored_as("creditledger.domain.conversion_ruleset")
class ConversionRuleSet(BankAggregate):
    """The versioned conversion rules of one target institution.

    Create with :meth:`create`. Events: ``Established``, ``VersionPublished``.
    """

    @event("Established")
    def __init__(self, institution: str) -> None:
        self.institution = institution
        self.versions: list[RuleSetVersion] = []

    @classmethod
    def create_id(cls, institution: str) -> UUID:
        return rule_set_id(institution)

    @classmethod
    def create(cls, institution: str) -> ConversionRuleSet:
        return cls(institution=validate_code(institution, "institution"))

    def publish(
        self, rules: Iterable[ConversionRule], *, effective_from: date, today: date
    ) -> RuleSetVersion:
        """Publish the next version, in force from ``effective_from`` (not before the last one's).

        Every rule must target one of this institution's programmes and may not be an
        inter-institution rule (those need both schools' signatures: an agreement).
        """
        checked = validate_rules(rules)
        start = validate_date(effective_from, "effective_from")
        for rule in checked:
            if rule.target.institution != self.institution:
                raise ValidationError("rules", f"rule {rule.rule_id} targets "
                                      f"{rule.target.institution}, not {self.institution}")
            if rule.scope is TransferScope.INTER_INSTITUTION:
                raise ValidationError("rules", f"rule {rule.rule_id} is between institutions: "
                                      "publish it in a bilateral agreement")
        last = self.versions[-1] if self.versions else None
        if last is not None and start < last.effective_from:
            raise ValidationError("effective_from", f"is before version {last.version}'s "
                                  f"{last.effective_from}")
        version = RuleSetVersion(version=len(self.versions) + 1, effective_from=start,
                                 published_on=validate_date(today, "today"), rules=checked)
        self._published(version=version)
        return version

    @event("VersionPublished")
    def _published(self, version: RuleSetVersion) -> None:
        self.versions.append(version)

    def rules_at(self, day: date) -> RuleSetVersion:
        """The version in force on ``day``: the latest whose effective date has come."""
        for version in reversed(self.versions):
            if version.effective_from <= day:
                return version
        raise NotFoundError("rule set version", f"{self.institution} on {day}", "today")

    def rule_at(self, rule_id: str, day: date) -> tuple[RuleSetVersion, ConversionRule]:
        """The rule ``rule_id`` of the version in force on ``day``."""
        version = self.rules_at(day)
        rule = version.rule(rule_id)
        if rule is None:
            raise NotFoundError("conversion rule", f"{rule_id} (version {version.version} of "
                                f"{self.institution})", "rule_id")
        return version, rule

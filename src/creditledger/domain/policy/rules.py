"""For every event type: which roles may append it, for which principal.

Each rule names the roles (an institution's administrator may do whatever any of its staff
may) and a *who* check: the principal the event itself names (``named("owner")``), the
aggregate's owner (``owner("home")``), an event of the same commit that carries the authority
(``with_event(...)``), or an owner of another aggregate (``owner_of(...)``). The matrix in
``docs/permissions.md`` is generated from :data:`RULES`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from uuid import UUID

from creditledger.domain.achievement import Achievement
from creditledger.domain.alliance import (
    Alliance,
    CertificateRecognition,
    CourseCertificate,
    CourseOffering,
    Enrolment,
)
from creditledger.domain.alliance.values import alliance_id, enrolment_id
from creditledger.domain.certificate import Certificate
from creditledger.domain.course import Course
from creditledger.domain.credential_status import StatusEntry, status_entry_id
from creditledger.domain.institution import Institution
from creditledger.domain.learner import LearnerAccount
from creditledger.domain.pilot import CertificatePilot, ExamSitting
from creditledger.domain.policy.owners import (
    CHECKPOINT_PUBLISHED,
    CHECKPOINTS_STARTED,
    GENESIS,
    KEY_REGISTERED,
    KEY_REVOKED,
    POLICY_DECLARED,
    Owners,
    topic,
)
from creditledger.domain.policy.roles import STAFF_ROLES, Role
from creditledger.domain.policy.versions import POLICIES
from creditledger.domain.programme import Programme
from creditledger.domain.transfers.agreement import Agreement
from creditledger.domain.transfers.ledger import CreditTransfers
from creditledger.domain.transfers.ruleset import ConversionRuleSet
from creditledger.domain.validation import validate_time_zone
from creditledger.errors import ValidationError

if TYPE_CHECKING:
    from creditledger.domain.policy.check import CommitEvent, Lookup
    from creditledger.domain.policy.roles import Signer


@dataclass
class Context:
    """The commit being checked: its signer, its events, and the owners of aggregates as the
    events before the current one leave them."""

    signer: Signer
    events: Sequence[CommitEvent]
    lookup: Lookup
    overlay: dict[str, Owners | None] = field(default_factory=dict)
    # Indexes of ``events``, built on first use: a rule that asks whether the commit also holds
    # some event would otherwise scan the whole commit for each of its events (quadratic: 2,000
    # results of a batch import, 4,000 events, took 16 million comparisons a commit).
    _pairs: set[tuple[str, str]] | None = field(default=None, init=False, repr=False)
    _recognitions: dict[str, CommitEvent] | None = field(default=None, init=False, repr=False)

    def owners(self, aggregate: str) -> Owners | None:
        if aggregate not in self.overlay:
            self.overlay[aggregate] = self.lookup.owners(aggregate)
        return self.overlay[aggregate]

    def holds(self, event_topic: str, aggregate: str) -> bool:
        """Whether the commit holds an event of ``event_topic`` on ``aggregate``."""
        if self._pairs is None:
            self._pairs = {(o.topic, o.aggregate) for o in self.events}
        return (event_topic, aggregate) in self._pairs

    def recognition_of(self, achievement: str) -> CommitEvent | None:
        """The commit's first certificate recognition naming ``achievement`` (hex id)."""
        if self._recognitions is None:
            found: dict[str, CommitEvent] = {}
            for o in self.events:
                if o.topic == _RECOGNITION and o.state.get("achievement_id") is not None:
                    found.setdefault(_hex(o.state["achievement_id"]), o)
            self._recognitions = found
        return self._recognitions.get(achievement)


Who = Callable[[Context, "CommitEvent"], "str | None"]


@dataclass(frozen=True)
class Rule:
    """The roles that may append an event type, and for which principal (``describe``)."""

    roles: frozenset[Role]
    who: Who
    describe: str


def _path(state: Mapping[str, Any], path: str) -> Any:
    value: Any = state
    for part in path.split("."):
        value = value[part]
    return value


_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _hex(value: Any) -> str:
    # A UUID as msgspec writes it (canonical, lower case) is its hex with dashes: the same
    # answer as UUID(...).hex at a fifth of the cost; anything else is parsed (or refused).
    if type(value) is str and _CANONICAL_UUID.fullmatch(value):
        return value.replace("-", "")
    return UUID(str(value)).hex


def _is(principal: Any, signer: Signer, what: str) -> str | None:
    if principal == signer.principal:
        return None
    return f"{what} is {principal!r}, not {signer.principal!r}"


def _among(principals: Any, signer: Signer, what: str) -> str | None:
    if isinstance(principals, list | tuple) and signer.principal in principals:
        return None
    return f"{what} are {principals!r}; {signer.principal!r} is not one of them"


# -- the checks --------------------------------------------------------------------------------


def named(path: str) -> tuple[Who, str]:
    """The principal the event names at ``path`` must be the signer's."""
    def who(ctx: Context, e: CommitEvent) -> str | None:
        return _is(_path(e.state, path), ctx.signer, f"the {path} it names")
    return who, f"the principal it names ({path})"


def owner(key: str = "owner") -> tuple[Who, str]:
    """The aggregate's owner (``key``: owner, home, offering) must be the signer."""
    def who(ctx: Context, e: CommitEvent) -> str | None:
        owners = ctx.owners(e.aggregate)
        if owners is None:
            return "the aggregate has no owner on record (it was never created)"
        return _is(owners.get(key), ctx.signer, f"the aggregate's {key}")
    return who, f"the aggregate's {key}"


def parties() -> tuple[Who, str]:
    def who(ctx: Context, e: CommitEvent) -> str | None:
        owners = ctx.owners(e.aggregate)
        return _among(None if owners is None else owners.get("parties"), ctx.signer,
                      "the agreement's parties")
    return who, "a party to the agreement"


def with_event(event_topic: str, aggregate_of: Callable[[CommitEvent], str],
               describe: str) -> tuple[Who, str]:
    """The same commit must also hold ``event_topic`` on the aggregate ``aggregate_of`` gives
    (which its own rule checks): the authority is that event's."""
    def who(ctx: Context, e: CommitEvent) -> str | None:
        target = aggregate_of(e)
        if ctx.holds(event_topic, target):
            return None
        return f"only together with {event_topic.rpartition(':')[2]} of {target}"
    return who, describe


def owner_of(aggregate_of: Callable[[Owners], str], key: str, describe: str) -> tuple[Who, str]:
    """The owner ``key`` of another aggregate (found from this one's owners) must be the
    signer: e.g. the secretariat of an offering's alliance."""
    def who(ctx: Context, e: CommitEvent) -> str | None:
        owners = ctx.owners(e.aggregate)
        if owners is None:
            return "the aggregate has no owner on record (it was never created)"
        other = ctx.owners(aggregate_of(owners))
        return _is(None if other is None else other.get(key), ctx.signer, describe)
    return who, describe


def any_of(*checks: tuple[Who, str]) -> tuple[Who, str]:
    def who(ctx: Context, e: CommitEvent) -> str | None:
        reasons = [c[0](ctx, e) for c in checks]
        return None if None in reasons else "; or ".join(r for r in reasons if r)
    return who, " or ".join(c[1] for c in checks)


def all_of(*checks: tuple[Who, str]) -> tuple[Who, str]:
    def who(ctx: Context, e: CommitEvent) -> str | None:
        return next((r for r in (c[0](ctx, e) for c in checks) if r), None)
    return who, ", and ".join(c[1] for c in checks)


def anyone() -> tuple[Who, str]:
    return (lambda ctx, e: None), "any principal"


def _registered(ctx: Context, e: CommitEvent) -> str | None:
    entry = e.state["entry"]
    role = Role.of_entry(entry.get("role", ""))
    if role is None or role is Role.ROOT:
        return f"{entry.get('role')!r} is not a role a key can be registered with"
    if ctx.signer.role is Role.ROOT:
        return None
    if role not in STAFF_ROLES:
        return "only the root registers an institution's own keys"
    return _is(entry["principal"], ctx.signer, "the staff key's institution")


def _revoked(ctx: Context, e: CommitEvent) -> str | None:
    if ctx.signer.role is Role.ROOT:
        return None
    found = ctx.lookup.key(e.state["key_id"])
    if found is None or found[1] not in STAFF_ROLES:
        return "only the root revokes keys other than an institution's staff keys"
    return _is(found[0], ctx.signer, "the staff key's institution")


# -- who writes what ---------------------------------------------------------------------------

ROOT = frozenset({Role.ROOT})
ADMIN = frozenset({Role.ADMINISTRATOR})
REGISTRAR = frozenset({Role.ADMINISTRATOR, Role.REGISTRAR})
ASSESSING = frozenset({Role.ADMINISTRATOR, Role.REGISTRAR, Role.ASSESSOR})
SECRETARIAT = frozenset({Role.ADMINISTRATOR, Role.SECRETARIAT_OFFICER})
KEYS = frozenset({Role.ROOT, Role.ADMINISTRATOR})


def _rule(roles: frozenset[Role], check: tuple[Who, str]) -> Rule:
    return Rule(roles, check[0], check[1])


def _achievement_of(e: CommitEvent) -> str:
    return _hex(e.state["achievement_id"])


def _enrolment_of(e: CommitEvent) -> str:
    return enrolment_id(UUID(e.aggregate), e.state["learner_id"]).hex


_ACHIEVEMENT_RECOGNISED = topic(Achievement, "Recognised")
_ACHIEVEMENT_REVOKED = topic(Achievement, "Revoked")
_ACHIEVEMENT_CORRECTED = topic(Achievement, "Corrected")
_RECOGNITION = topic(CertificateRecognition, "Recognised")
_CERTIFICATE_REVOKED = topic(CourseCertificate, "Revoked")


def _by_certificate(ctx: Context, e: CommitEvent) -> str | None:
    """A home school recognising a course certificate records the course result the offering
    school certified: the certificate's recognition, in the same commit, is the authority."""
    recognition = ctx.recognition_of(e.aggregate)
    if recognition is None:
        return "not together with the recognition of a course certificate"
    certificate = ctx.owners(_hex(recognition.state["certificate_id"]))
    certified_by = e.state["record"]["certified_by"]
    if certificate is None or certificate.get("owner") != certified_by:
        return f"the recognised certificate was not issued by {certified_by!r}"
    return _is(recognition.state["home_school"], ctx.signer, "the recognising home school")


_ISSUED = topic(CourseCertificate, "Issued")
_ALLOCATED = topic(StatusEntry, "Allocated")


def _status_claimed(ctx: Context, e: CommitEvent) -> str | None:
    """A certificate naming a status list entry claims it in the same commit."""
    status = e.state["facts"].get("status")
    if status is None:
        return None
    entry = status_entry_id(status["key_id"], status["list_number"], status["index"]).hex
    if ctx.holds(_ALLOCATED, entry):
        return None
    return "its status list entry is not claimed in the same commit"


def _own_key(ctx: Context, e: CommitEvent) -> str | None:
    """A status entry belongs to a list of one of the signer's institution's keys."""
    found = ctx.lookup.key(e.state["key_id"])
    return _is(None if found is None else found[0], ctx.signer, "the list's key's institution")


def _with_certificate_revocation(ctx: Context, e: CommitEvent) -> str | None:
    owners = ctx.owners(e.aggregate) or {}
    if any(o.topic == _CERTIFICATE_REVOKED and o.aggregate == owners.get("certificate")
           for o in ctx.events):
        return None
    return "only together with the revocation of the certificate it recognised"


def _known_time_zone(ctx: Context, e: CommitEvent) -> str | None:
    zone = e.state.get("time_zone", "")  # absent or "": a ledger from before time zones
    try:
        if zone:
            validate_time_zone(zone)
    except ValidationError as error:
        return str(error)
    return None


RULES: dict[str, Rule] = {
    # institutions and keys
    topic(Institution, "Registered"): _rule(ROOT, anyone()),
    topic(Institution, "Renamed"): _rule(ADMIN, owner()),
    topic(Institution, "CreditSystemChanged"): _rule(REGISTRAR, owner()),
    GENESIS: _rule(ROOT, anyone()),
    POLICY_DECLARED: _rule(ROOT, all_of(
        with_event(GENESIS, lambda e: e.aggregate, "in the genesis commit"),
        (lambda ctx, e: None if e.state["policy"] in POLICIES
         else f"{e.state['policy']!r} is not a policy this library knows", "a known policy"),
        (_known_time_zone, "a time zone name (IANA), if it names one"))),
    KEY_REGISTERED: _rule(KEYS, (_registered, "the root; or an institution's administrator, "
                                              "for its own staff keys")),
    KEY_REVOKED: _rule(KEYS, (_revoked, "the root; or an institution's administrator, for "
                                        "its own staff keys")),
    CHECKPOINTS_STARTED: _rule(ROOT, anyone()),
    CHECKPOINT_PUBLISHED: _rule(ROOT, anyone()),
    # the catalog
    topic(Programme, "Established"): _rule(REGISTRAR, named("institution")),
    **{topic(Programme, n): _rule(REGISTRAR, owner())
       for n in ("CourseAdded", "CourseRemoved", "ModuleDefined", "RequirementSet")},
    topic(Course, "Defined"): _rule(REGISTRAR, named("owner")),
    topic(Course, "CreditValueRevised"): _rule(REGISTRAR, owner()),
    topic(Certificate, "Registered"): _rule(REGISTRAR, named("issuer")),
    topic(Certificate, "LevelAdded"): _rule(REGISTRAR, owner()),
    topic(Certificate, "MajorMapped"): _rule(REGISTRAR, owner()),
    topic(Certificate, "IntegratedWithProgramme"): _rule(REGISTRAR,
                                                         named("integration.institution")),
    # learner accounts
    topic(LearnerAccount, "Opened"): _rule(REGISTRAR, (
        lambda ctx, e: None if e.state.get("home_institution") is None
        else _is(e.state["home_institution"], ctx.signer, "its home school"),
        "its home school (any school, for a member of society with none yet)")),
    topic(LearnerAccount, "Enrolled"): _rule(REGISTRAR, named("institution")),
    topic(LearnerAccount, "PersonalDataCorrected"): _rule(REGISTRAR, owner("home")),
    topic(LearnerAccount, "PersonalDataErased"): _rule(REGISTRAR, all_of(
        owner("home"), named("erasure.erased_by"))),
    topic(LearnerAccount, "Credited"): _rule(ASSESSING, with_event(
        _ACHIEVEMENT_RECOGNISED, _achievement_of, "with the achievement's recognition")),
    topic(LearnerAccount, "Reversed"): _rule(REGISTRAR, with_event(
        _ACHIEVEMENT_REVOKED, _achievement_of, "with the achievement's revocation")),
    # achievements
    _ACHIEVEMENT_RECOGNISED: _rule(ASSESSING, any_of(
        named("record.certified_by"),
        (_by_certificate, "the home school recognising the certifier's course "
                          "certificate, in the same commit"))),
    _ACHIEVEMENT_REVOKED: _rule(REGISTRAR, owner()),
    _ACHIEVEMENT_CORRECTED: _rule(REGISTRAR, owner()),
    topic(Achievement, "Linked"): _rule(ASSESSING, owner()),
    # credit transfers
    topic(CreditTransfers, "Opened"): _rule(REGISTRAR, (
        lambda ctx, e: None if any(o.topic == topic(CreditTransfers, "Converted")
                                   and o.aggregate == e.aggregate for o in ctx.events)
        else "only together with the ledger's first conversion",
        "with its first conversion")),
    topic(CreditTransfers, "Converted"): _rule(REGISTRAR,
                                               named("conversion.target.institution")),
    **{topic(CreditTransfers, n): _rule(REGISTRAR, (
        lambda ctx, e: _is(((ctx.owners(e.aggregate) or {}).get("targets") or {}).get(
            _hex(e.state["conversion_id"])), ctx.signer, "the conversion's target school"),
        "the conversion's target school")) for n in ("PendingPosted", "PendingVoided")},
    topic(CreditTransfers, "SourceReversed"): _rule(REGISTRAR, any_of(
        with_event(_ACHIEVEMENT_REVOKED, _achievement_of, "with the source's revocation"),
        with_event(_ACHIEVEMENT_CORRECTED, _achievement_of, "with the source's correction"),
        (lambda ctx, e: next((r for r in (
            _is(((ctx.owners(e.aggregate) or {}).get("targets") or {}).get(_hex(c)),
                ctx.signer, "the conversion's target school")
            for c in e.state["conversion_ids"]) if r), None),
         "the target school of every conversion reversed"))),
    topic(ConversionRuleSet, "Established"): _rule(REGISTRAR, named("institution")),
    topic(ConversionRuleSet, "VersionPublished"): _rule(REGISTRAR, owner()),
    topic(Agreement, "Drafted"): _rule(REGISTRAR, (
        lambda ctx, e: _among(e.state["parties"], ctx.signer, "the agreement's parties"),
        "a party to the agreement")),
    topic(Agreement, "VersionProposed"): _rule(REGISTRAR, all_of(
        parties(), named("version.proposed_by"))),
    topic(Agreement, "VersionCountersigned"): _rule(REGISTRAR, all_of(parties(), named("by"))),
    # the alliance (课程互选)
    topic(Alliance, "Founded"): _rule(SECRETARIAT, named("secretariat")),
    topic(Alliance, "MemberAdmitted"): _rule(SECRETARIAT, owner()),
    topic(CourseOffering, "Submitted"): _rule(REGISTRAR, named("school")),
    **{topic(CourseOffering, n): _rule(SECRETARIAT, owner_of(
        lambda o: alliance_id(o["alliance"]).hex, "owner", "the alliance's secretariat"))
       for n in ("Published", "Withdrawn")},
    topic(CourseOffering, "SeatTaken"): _rule(ASSESSING, with_event(
        topic(Enrolment, "Admitted"), _enrolment_of, "with the learner's admission")),
    topic(CourseOffering, "SeatReleased"): _rule(REGISTRAR, with_event(
        topic(Enrolment, "Cancelled"), _enrolment_of, "with the enrolment's cancellation")),
    topic(Enrolment, "Requested"): _rule(REGISTRAR, named("home_school")),
    topic(Enrolment, "Approved"): _rule(REGISTRAR, owner("home")),
    topic(Enrolment, "Rejected"): _rule(REGISTRAR, owner("home")),
    topic(Enrolment, "Admitted"): _rule(ASSESSING, owner("offering")),
    topic(Enrolment, "Cancelled"): _rule(REGISTRAR, all_of(
        any_of(owner("home"), owner("offering")), named("by"))),
    **{topic(Enrolment, n): _rule(ASSESSING, owner("offering"))
       for n in ("AbsenceRecorded", "Assessed", "MakeupDecided", "MakeupAssessed")},
    topic(Enrolment, "Rated"): _rule(ASSESSING, all_of(
        any_of(owner("home"), owner("offering")), named("by"))),
    _ISSUED: _rule(ASSESSING, all_of(named("facts.school"), (
        _status_claimed, "claiming its status list entry in the same commit"))),
    _ALLOCATED: _rule(ASSESSING, all_of(
        with_event(_ISSUED, lambda e: _hex(e.state["certificate_id"]),
                   "with the certificate it stands for"),
        (_own_key, "in a list of one of its institution's keys"))),
    topic(CourseCertificate, "Sealed"): _rule(SECRETARIAT, owner_of(
        lambda o: alliance_id(o["alliance"]).hex, "owner", "the alliance's secretariat")),
    _CERTIFICATE_REVOKED: _rule(REGISTRAR, owner()),
    topic(CourseCertificate, "RecognisedAtHome"): _rule(REGISTRAR, named("home_school")),
    _RECOGNITION: _rule(REGISTRAR, named("home_school")),
    topic(CertificateRecognition, "Reversed"): _rule(REGISTRAR, any_of(
        owner("home"), (_with_certificate_revocation, "with the certificate's revocation"))),
    # 1+X pilots
    topic(CertificatePilot, "Approved"): _rule(REGISTRAR, named("school")),
    topic(CertificatePilot, "QuotasChanged"): _rule(REGISTRAR, owner()),
    topic(ExamSitting, "Recorded"): _rule(ASSESSING, named("school")),
}

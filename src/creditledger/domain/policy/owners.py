"""Who owns each aggregate, derived from its own events, and the id each aggregate must have.

An aggregate's *owners* are the principals its events name: a course's owner is the school in
``Course.Defined``, a learner account's home is the school that opened it (or the one it later
enrolled in), an enrolment has a home school and an offering school, a transfer ledger knows
each conversion's target school. :func:`fold` computes them from the events that name them
(:data:`OWNER_TOPICS`), one event at a time, so the writer and the verifier derive the same
owners from the same events.

Every aggregate is created by its creation event at version 1, and only there; and its id is
the one its natural key gives (:func:`expected_id`): nobody can create, under another school's
name, the course, account or certificate that school will need, or restart an aggregate that
exists.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.utils import construct_topic

from creditledger.domain.achievement import Achievement
from creditledger.domain.alliance import (
    Alliance,
    CertificateRecognition,
    CourseCertificate,
    CourseOffering,
    Enrolment,
)
from creditledger.domain.alliance.values import (
    alliance_id,
    course_certificate_id,
    course_offering_id,
    enrolment_id,
    recognition_id,
)
from creditledger.domain.certificate import Certificate
from creditledger.domain.course import Course
from creditledger.domain.credential_status import StatusEntry, status_entry_id
from creditledger.domain.ids import (
    certificate_id,
    course_id,
    institution_id,
    learner_account_id,
    natural_key_id,
    programme_id,
)
from creditledger.domain.institution import Institution
from creditledger.domain.learner import LearnerAccount
from creditledger.domain.pilot import CertificatePilot, ExamSitting, pilot_id, sitting_id
from creditledger.domain.programme import Programme
from creditledger.domain.transfers.agreement import Agreement, agreement_id
from creditledger.domain.transfers.ledger import CreditTransfers, credit_transfers_id
from creditledger.domain.transfers.ruleset import ConversionRuleSet, rule_set_id

Owners = Mapping[str, Any]
"""Who an aggregate's events name: ``{"owner": "GZCC"}``, ``{"home": ..., "offering": ...}``,
``{"parties": [...]}``, ``{"targets": {conversion id: school}}``..."""

State = Mapping[str, Any]


def topic(cls: type, event: str) -> str:
    """The stored topic of ``cls``'s event ``event``."""
    return construct_topic(getattr(cls, event))


# The key registry and the checkpoint log are the store's and the auditor's aggregates: their
# stored names are fixed (creditledger.domain.topics), so they are named here as text.
GENESIS = "creditledger.registry:KeyRegistry.Genesis"
KEY_REGISTERED = "creditledger.registry:KeyRegistry.KeyRegistered"
KEY_REVOKED = "creditledger.registry:KeyRegistry.KeyRevoked"
POLICY_DECLARED = "creditledger.registry:KeyRegistry.PolicyDeclared"
CHECKPOINTS_STARTED = "creditledger.tlog:CheckpointLog.Started"
CHECKPOINT_PUBLISHED = "creditledger.tlog:CheckpointLog.Published"


def _hex(value: Any) -> str:
    return UUID(str(value)).hex


def _conversion_target(s: State) -> tuple[str, str]:
    conversion = s["conversion"]
    return _hex(conversion["id"]), conversion["target"]["institution"]


def _targets(owners: Owners | None, s: State) -> Owners:
    conversion, school = _conversion_target(s)
    targets = dict((owners or {}).get("targets", {}))
    targets[conversion] = school
    return {**(owners or {}), "targets": targets}


_Fold = Callable[[State, str, "Owners | None"], Owners]

_FOLDS: dict[str, _Fold] = {
    topic(Institution, "Registered"): lambda s, by, o: {"owner": s["code"]},
    topic(Programme, "Established"): lambda s, by, o: {"owner": s["institution"]},
    topic(Course, "Defined"): lambda s, by, o: {"owner": s["owner"]},
    topic(Certificate, "Registered"): lambda s, by, o: {"owner": s["issuer"]},
    topic(LearnerAccount, "Opened"): lambda s, by, o: {"home": s["home_institution"] or by},
    topic(LearnerAccount, "Enrolled"): lambda s, by, o: {**(o or {}), "home": s["institution"]},
    topic(Achievement, "Recognised"): lambda s, by, o: {"owner": s["record"]["certified_by"]},
    topic(CreditTransfers, "Opened"): lambda s, by, o: {"targets": {}},
    topic(CreditTransfers, "Converted"): lambda s, by, o: _targets(o, s),
    topic(ConversionRuleSet, "Established"): lambda s, by, o: {"owner": s["institution"]},
    topic(Agreement, "Drafted"): lambda s, by, o: {"parties": list(s["parties"])},
    topic(Alliance, "Founded"): lambda s, by, o: {"owner": s["secretariat"]},
    topic(CourseOffering, "Submitted"): lambda s, by, o: {"owner": s["school"],
                                                          "alliance": s["alliance"]},
    topic(Enrolment, "Requested"): lambda s, by, o: {"home": s["home_school"],
                                                     "offering": s["school"]},
    topic(CourseCertificate, "Issued"): lambda s, by, o: {"owner": s["facts"]["school"],
                                                          "alliance": s["facts"]["alliance"]},
    topic(CertificateRecognition, "Recognised"): lambda s, by, o: {
        "home": s["home_school"], "certificate": _hex(s["certificate_id"])},
    topic(CertificatePilot, "Approved"): lambda s, by, o: {"owner": s["school"]},
    topic(ExamSitting, "Recorded"): lambda s, by, o: {"owner": s["school"]},
    topic(StatusEntry, "Allocated"): lambda s, by, o: {"owner": by},
    CHECKPOINTS_STARTED: lambda s, by, o: {"owner": "root"},
}

OWNER_TOPICS = frozenset(_FOLDS)
"""The topics whose events name owners: all an aggregate's owners are folded from these."""


def fold(event_topic: str, state: State, signer: str, owners: Owners | None) -> Owners | None:
    """The aggregate's owners after this event (``signer``: its commit's principal); the same
    owners if the event names none."""
    step = _FOLDS.get(event_topic)
    return owners if step is None else step(state, signer, owners)


# -- creation, and the id a natural key gives ------------------------------------------------

_IDS: dict[str, Callable[[State], UUID]] = {
    topic(Institution, "Registered"): lambda s: institution_id(s["code"]),
    topic(Programme, "Established"): lambda s: programme_id(s["institution"], s["code"]),
    topic(Course, "Defined"): lambda s: course_id(s["owner"], s["code"]),
    topic(Certificate, "Registered"): lambda s: certificate_id(s["issuer"], s["code"]),
    topic(LearnerAccount, "Opened"): lambda s: learner_account_id(s["learner_id"]),
    topic(Achievement, "Recognised"): lambda s: natural_key_id(
        "achievement", *s["record"]["natural_key"]),
    topic(CreditTransfers, "Opened"): lambda s: credit_transfers_id(s["learner_id"]),
    topic(ConversionRuleSet, "Established"): lambda s: rule_set_id(s["institution"]),
    topic(Agreement, "Drafted"): lambda s: agreement_id(s["code"]),
    topic(Alliance, "Founded"): lambda s: alliance_id(s["code"]),
    topic(CourseOffering, "Submitted"): lambda s: course_offering_id(
        s["school"], s["course"]["course_code"], s["semester"]),
    topic(Enrolment, "Requested"): lambda s: enrolment_id(UUID(s["offering_id"]),
                                                          s["learner_id"]),
    topic(CourseCertificate, "Issued"): lambda s: course_certificate_id(
        UUID(s["facts"]["offering_id"]), s["facts"]["learner_id"]),
    topic(CertificateRecognition, "Recognised"): lambda s: recognition_id(
        UUID(s["certificate_id"])),
    topic(CertificatePilot, "Approved"): lambda s: pilot_id(
        s["school"], s["issuer"], s["certificate_code"], s["level"], s["year"]),
    topic(StatusEntry, "Allocated"): lambda s: status_entry_id(
        s["key_id"], s["list_number"], s["index"]),
    topic(ExamSitting, "Recorded"): lambda s: sitting_id(
        s["learner_id"], s["issuer"], s["certificate_code"], s["level"],
        date.fromisoformat(s["sat_on"])),
}

CREATION_TOPICS = frozenset({*_IDS, GENESIS, CHECKPOINTS_STARTED})
"""The events that create an aggregate: at version 1, and only there."""


def expected_id(event_topic: str, state: State) -> str | None:
    """The id (hex) the creation event's natural key gives its aggregate; None where the
    policy does not derive it (the registry and the checkpoint log are checked by the store)."""
    derive = _IDS.get(event_topic)
    return None if derive is None else derive(state).hex

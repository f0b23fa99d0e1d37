"""Values of inter-school course selection (课程互选) and credit recognition (学分互认).

Seed 002 (R10–R17): an alliance of schools shares online courses; the offering school (开课学校)
teaches and assesses learners of other member schools, issues an electronic course certificate
(电子课程合格证书) on a pass, and the learner's home school (学籍所在学校) recognises it. Every type
here may travel in an event payload, so it is built only from msgspec-exact types.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import UUID

import msgspec

from creditledger.domain.ids import natural_key_id
from creditledger.domain.validation import (
    DEFAULT_SCORE_SCALE,
    MAX_NAME_LENGTH,
    MAX_TEXT_LENGTH,
    validate_code,
    validate_credits,
    validate_hours,
    validate_name,
    validate_score,
    validate_term,
)
from creditledger.domain.values import AssessmentMethod, LabelledEnum
from creditledger.errors import ValidationError

#: Most learners one offering may admit (人数限额); more is surely a typing error.
MAX_CAPACITY = 10_000
#: Scores of alliance courses are on the 百分制 scale.
SCORE_SCALE = DEFAULT_SCORE_SCALE


class AllianceLabelled(LabelledEnum):
    """A labelled enum of the alliance; its Chinese terms live in this module's table."""

    @property
    def zh(self) -> str:
        return _LABELS[type(self).__name__][self.value]


class OfferingStatus(AllianceLabelled):
    """Where a course offering stands in the alliance catalog (准入退出)."""

    SUBMITTED = "submitted"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"


class EnrolmentStatus(AllianceLabelled):
    """Where one learner's enrolment in one offering stands (R12, R13)."""

    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    ADMITTED = "admitted"
    CANCELLED = "cancelled"
    DISQUALIFIED = "disqualified"
    PASSED = "passed"
    FAILED = "failed"
    MAKEUP_ALLOWED = "makeup_allowed"


class CertificateStatus(AllianceLabelled):
    """An electronic course certificate: issued (signed by the offering school), sealed
    (countersigned by the secretariat: the alliance seal 联盟公章), or revoked."""

    ISSUED = "issued"
    SEALED = "sealed"
    REVOKED = "revoked"


class RecognitionMode(AllianceLabelled):
    """How the home school recognised a certificate (R14): as credits (学分制 schools) or as a
    grade (schools without a credit system)."""

    CREDITS = "credits"
    GRADE = "grade"


_LABELS: dict[str, dict[str, str]] = {
    "OfferingStatus": {"submitted": "已申报", "published": "已发布", "withdrawn": "已退出"},
    "EnrolmentStatus": {
        "requested": "已申请", "approved": "资格审查通过", "rejected": "资格审查未通过",
        "admitted": "已录取", "cancelled": "已取消", "disqualified": "取消考核资格",
        "passed": "合格", "failed": "不及格", "makeup_allowed": "准予补考",
    },
    "CertificateStatus": {"issued": "已签发", "sealed": "已盖章", "revoked": "已撤销"},
    "RecognitionMode": {"credits": "认定为学分", "grade": "认定为成绩"},
}


class CourseInfo(msgspec.Struct, frozen=True, kw_only=True):
    """One row of seed 002's Annex 2, 联盟校际互选课程信息表 (the school is the submitter).

    ``hours`` and ``credits`` are the 学时/学分 column; ``capacity`` is 人数限额; ``selection``
    is 选课流程/说明. The assessment method (考核方式) and pass mark are part of the course's basic
    information (§三(一)3).
    """

    course_code: str
    name: str
    lead_teacher: str
    course_type: str
    hours: int
    credits: Decimal
    link: str
    introduction: str
    capacity: int
    selection: str
    assessment_method: AssessmentMethod = AssessmentMethod.EXAM
    pass_mark: Decimal = Decimal(60)

    @property
    def total_hours(self) -> int:
        """Total hours (总学时): absences are measured against these."""
        return self.hours


class CertificateProof(msgspec.Struct, frozen=True, kw_only=True):
    """One Data Integrity proof of a certificate, as signed (see
    :mod:`creditledger.audit.credential`).

    Stored exactly as it appears in the exported document, so export is reproducible.
    """

    id: str
    created: str
    verification_method: str
    proof_value: str
    previous_proof: str | None = None
    cryptosuite: str = "eddsa-jcs-2022"
    """``eddsa-rdfc-2022`` for certificates issued since status lists (a proof set, no
    ``previous_proof``); ``eddsa-jcs-2022`` with a chained seal before."""


class CertificateStatusEntry(msgspec.Struct, frozen=True, kw_only=True):
    """Where a certificate's revocation bit is: entry ``index`` of list ``list_number`` of the
    key ``key_id`` that signed it (see :mod:`creditledger.domain.credential_status`)."""

    key_id: str
    list_number: int
    index: int


class CertificateFacts(msgspec.Struct, frozen=True, kw_only=True):
    """What an electronic course certificate states (R14): the offering school, the course, its
    credits and hours, the score and term, the learner, and the alliance whose seal it carries.

    ``identity_salt`` salts the learner's hashed identifier in the exported credential.
    """

    alliance: str
    alliance_name: str
    alliance_id: UUID
    offering_id: UUID
    school: str
    school_name: str
    course_code: str
    course_name: str
    course_type: str
    introduction: str
    hours: int
    credits: Decimal
    assessment_method: AssessmentMethod
    score: Decimal
    score_scale: Decimal
    pass_mark: Decimal
    by_makeup: bool
    term: str
    learner_id: str
    identity_salt: str
    issued_on: date
    issuer: str = ""
    """The ``did:key`` of the key that signed the certificate, its issuer (empty for a
    certificate issued before: the alliance was then the issuer, by ``urn:uuid``)."""
    ledger_id: str = ""
    status: CertificateStatusEntry | None = None

    @property
    def document_version(self) -> int:
        """1: issued before status lists (``eddsa-jcs-2022``, a chained seal); 2: since."""
        return 2 if self.issuer else 1


class RecognisedGrade(msgspec.Struct, frozen=True, kw_only=True):
    """A certificate recognised as a grade (成绩) by a school without a credit system."""

    course_name: str
    offering_school: str
    term: str
    score: Decimal
    score_scale: Decimal
    hours: int


# Ids -----------------------------------------------------------------------------------------


def alliance_id(code: str) -> UUID:
    """Id of the alliance (联盟) with ``code``."""
    return natural_key_id("alliance", code)


def course_offering_id(school: str, course_code: str, semester: str) -> UUID:
    """Id of ``school``'s offering of ``course_code`` in ``semester`` (e.g. ``2022-2023-1``)."""
    return natural_key_id("course_offering", school, course_code, semester)


def enrolment_id(offering_id: UUID, learner_id: str) -> UUID:
    """Id of one learner's enrolment in one offering."""
    return natural_key_id("alliance_enrolment", str(offering_id), learner_id)


def course_certificate_id(offering_id: UUID, learner_id: str) -> UUID:
    """Id of the electronic course certificate of one learner's pass in one offering."""
    return natural_key_id("course_certificate", str(offering_id), learner_id)


def recognition_id(certificate_id: UUID) -> UUID:
    """Id of the home school's recognition of a certificate (one per certificate)."""
    return natural_key_id("certificate_recognition", str(certificate_id))


# Rules ---------------------------------------------------------------------------------------


def submission_deadline(semester: str) -> date:
    """The day by which an offering plan for ``semester`` must reach the secretariat (R11).

    Seed 002 §三(一)2: plans for *the next semester* are due by 30 June and by 31 December. A
    semester ``Y-(Y+1)-1`` starts in the autumn of ``Y``: its plan is due by 30 June ``Y``. A
    semester ``Y-(Y+1)-2`` starts in the spring of ``Y+1``: its plan is due by 31 December ``Y``
    (Annex 1: the spring 2022 courses were due by 31 December 2021).
    """
    term = validate_term(semester, "semester")
    year, _, part = term.split("-")
    return date(int(year), 6, 30) if part == "1" else date(int(year), 12, 31)


def is_disqualified(absent_hours: int, total_hours: int) -> bool:
    """Whether absences reach a third of the total hours (R13: 缺课累计达到总学时的三分之一者，
    取消参加该课程的考核资格). Exact in integers: ``3 × absent >= total``."""
    return 3 * absent_hours >= total_hours


def validate_course_info(value: object) -> CourseInfo:
    """Return the Annex 2 row with every field checked (errors name ``course.<field>``)."""
    if not isinstance(value, CourseInfo):
        raise ValidationError("course", f"must be a CourseInfo, not {type(value).__name__}")
    hours = validate_hours(value.hours, "course.hours")
    if hours == 0:
        raise ValidationError("course.hours", "a course has at least one hour")
    capacity = value.capacity
    if isinstance(capacity, bool) or not isinstance(capacity, int) or not (
            1 <= capacity <= MAX_CAPACITY):
        raise ValidationError("course.capacity", f"must be a whole number 1–{MAX_CAPACITY}")
    return CourseInfo(
        course_code=validate_code(value.course_code, "course.course_code"),
        name=validate_name(value.name, "course.name"),
        lead_teacher=validate_name(value.lead_teacher, "course.lead_teacher"),
        course_type=validate_name(value.course_type, "course.course_type"),
        hours=hours,
        credits=validate_credits(value.credits, "course.credits", positive=True),
        link=_link(value.link),
        introduction=validate_name(value.introduction, "course.introduction",
                                   max_length=MAX_TEXT_LENGTH),
        capacity=capacity,
        selection=validate_name(value.selection, "course.selection", max_length=MAX_TEXT_LENGTH),
        assessment_method=AssessmentMethod.parse(value.assessment_method,
                                                 "course.assessment_method"),
        pass_mark=validate_score(value.pass_mark, "course.pass_mark"),
    )


def _link(value: object) -> str:
    link = validate_code(value, "course.link", max_length=MAX_NAME_LENGTH * 5)
    if not link.startswith(("https://", "http://")):
        raise ValidationError("course.link", f"must be an http(s) address ({link!r})")
    return link


def validate_rating(value: object) -> int:
    """A satisfaction rating (满意度): a whole number 1 (poor) to 5 (excellent)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        raise ValidationError("rating", f"must be a whole number 1–5 ({value!r})")
    return value


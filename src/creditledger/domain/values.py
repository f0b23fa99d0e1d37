"""Value types of the credit bank: enums and immutable records.

Every type here may travel inside an event payload, so it is built only from types msgspec
encodes exactly: ``str``, ``int``, ``bool``, ``Decimal``, ``date``, ``UUID``, str-valued enums,
``X | None``, ``tuple[X, ...]`` and frozen :class:`msgspec.Struct` types. No floats anywhere.
Structs carry data only; the rules that check them live in :mod:`.validation`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Self, TypeGuard

import msgspec

from creditledger.errors import ValidationError


class LabelledEnum(StrEnum):
    """A str-valued enum whose members also carry their Chinese term (``zh``)."""

    @property
    def zh(self) -> str:
        """The Chinese term a registrar uses for this member."""
        return _ZH_LABELS[type(self)][self.value]

    @classmethod
    def parse(cls, value: object, field: str) -> Self:
        """Return the member named by ``value``: a member, its English value or its Chinese term.

        Raises :class:`ValidationError` naming ``field`` for anything else.
        """
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            for member in cls:
                if value in (member.value, member.zh):
                    return member
        choices = ", ".join(f"{m.value} ({m.zh})" for m in cls)
        raise ValidationError(field, f"unknown {cls.__name__} {value!r}; expected one of {choices}")


class Category(LabelledEnum):
    """Course category (课程类别), R1. Credits are accumulated per category."""

    PUBLIC_BASIC = "public_basic"
    MAJOR_BASIC = "major_basic"
    MAJOR_CORE = "major_core"
    MAJOR_ELECTIVE = "major_elective"


class AssessmentMethod(LabelledEnum):
    """How a course is assessed (考核方式), R3: exam 考试, assessment 考查, evaluation 评价."""

    EXAM = "exam"
    ASSESSMENT = "assessment"
    EVALUATION = "evaluation"


class CertificationMethod(LabelledEnum):
    """How an achievement was certified (认证方式), R3/R4.

    In-school achievements are certified by exam, assessment or evaluation; out-of-school ones
    by matching 对接, comparison 比对 or conversion 折算.
    """

    EXAM = "exam"
    ASSESSMENT = "assessment"
    EVALUATION = "evaluation"
    MATCHING = "matching"
    COMPARISON = "comparison"
    CONVERSION = "conversion"


class CertificateLevel(LabelledEnum):
    """Level of a vocational skill level certificate (职业技能等级), R18."""

    ELEMENTARY = "elementary"
    INTERMEDIATE = "intermediate"
    ADVANCED = "advanced"


class AchievementKind(LabelledEnum):
    """Kind of learning achievement (学习成果), R3–R5."""

    COURSE_RESULT = "course_result"
    X_CERTIFICATE = "x_certificate"
    QUALIFICATION_CERTIFICATE = "qualification_certificate"
    TRAINING_RECORD = "training_record"
    ONLINE_COURSE = "online_course"
    DIPLOMA = "diploma"


class AchievementStatus(LabelledEnum):
    """Whether a recorded achievement still counts."""

    RECOGNISED = "recognised"
    REVOKED = "revoked"


class RevocationReason(LabelledEnum):
    """Why an achievement was revoked (撤销): fraud, a recording error, or an upheld appeal."""

    FRAUD = "fraud"
    ERROR = "error"
    APPEAL_UPHELD = "appeal_upheld"


class InstitutionKind(LabelledEnum):
    """Kind of institution taking part in the credit bank."""

    SCHOOL = "school"
    TRAINING_ORGANISATION = "training_organisation"
    ALLIANCE_SECRETARIAT = "alliance_secretariat"


class LearnerType(LabelledEnum):
    """In-school student (在校生) or member of society (社会成员), R2."""

    STUDENT = "student"
    SOCIETY_MEMBER = "society_member"


_ZH_LABELS: dict[type[LabelledEnum], dict[str, str]] = {
    Category: {
        "public_basic": "公共基础",
        "major_basic": "专业基础",
        "major_core": "专业核心",
        "major_elective": "专业选修",
    },
    AssessmentMethod: {"exam": "考试", "assessment": "考查", "evaluation": "评价"},
    CertificationMethod: {
        "exam": "考试",
        "assessment": "考查",
        "evaluation": "评价",
        "matching": "对接",
        "comparison": "比对",
        "conversion": "折算",
    },
    CertificateLevel: {"elementary": "初级", "intermediate": "中级", "advanced": "高级"},
    AchievementKind: {
        "course_result": "课程成绩",
        "x_certificate": "职业技能等级证书",
        "qualification_certificate": "职业资格证书",
        "training_record": "职业培训",
        "online_course": "在线课程",
        "diploma": "学历证书",
    },
    AchievementStatus: {"recognised": "已认定", "revoked": "已撤销"},
    RevocationReason: {"fraud": "舞弊", "error": "差错", "appeal_upheld": "申诉成立"},
    InstitutionKind: {
        "school": "学校",
        "training_organisation": "培训评价组织",
        "alliance_secretariat": "联盟秘书处",
    },
    LearnerType: {"student": "在校生", "society_member": "社会成员"},
}

#: Methods that certify in-school achievements (R3).
IN_SCHOOL_METHODS = frozenset(
    {CertificationMethod.EXAM, CertificationMethod.ASSESSMENT, CertificationMethod.EVALUATION}
)
#: Methods that certify out-of-school achievements (R4).
OUT_OF_SCHOOL_METHODS = frozenset(
    {CertificationMethod.MATCHING, CertificationMethod.COMPARISON, CertificationMethod.CONVERSION}
)
#: Achievement kinds earned inside a school; every other kind is out-of-school.
IN_SCHOOL_KINDS = frozenset({AchievementKind.COURSE_RESULT})


class Evidence(msgspec.Struct, frozen=True, kw_only=True):
    """What an achievement rests on (佐证材料): a description, where to find it, and a digest.

    ``sha256`` is the lowercase hex digest of the document, so an auditor can check a copy.
    """

    description: str
    reference: str | None = None
    sha256: str | None = None


class PersonalData(msgspec.Struct, frozen=True, kw_only=True):
    """A learner's identity fields. Personal data: never part of any id or natural key.

    In the events of a ledger of policy 2 these fields are stored only *sealed* (encrypted
    under the learner's own data key, see ``docs/privacy.md``): the event holds a string that
    starts with :data:`SEALED_PREFIX` instead.
    """

    name: str
    id_document_type: str | None = None
    id_document_number: str | None = None
    contact: str | None = None


SEALED_PREFIX = "sealed:v2:"
"""How sealed personal data starts in an event's state: then the id of the data key it is sealed
under (32 hex digits), ``:``, and base64 of AES-GCM's nonce, ciphertext and tag. The event that
holds it is what binds that key to its learner."""

SEALED_V1_PREFIX = "sealed:v1:"
"""Sealed personal data as first written (then base64 only): its key is the one the key store
keeps under the learner's account id. Still read, and written for corrections of such a
learner (who keeps their key)."""


def is_sealed(value: object) -> TypeGuard[str]:
    """Whether a value of an event's state is sealed personal data (not plaintext)."""
    return isinstance(value, str) and value.startswith((SEALED_PREFIX, SEALED_V1_PREFIX))


class Erasure(msgspec.Struct, frozen=True, kw_only=True):
    """Why and by whom a learner's personal data was erased (删除个人信息): the receipt the
    ledger keeps. ``legal_basis`` names the rule (e.g. ``PIPL Art. 47``)."""

    reason: str
    legal_basis: str
    erased_by: str
    staff_id: str | None = None


class CreditFormula(msgspec.Struct, frozen=True, kw_only=True):
    """How an institution turns hours and difficulty into a course's credit value (R1).

    See :func:`creditledger.domain.course.credit_value` for the rule. Defaults: 16 hours per
    credit, credits rounded down to half credits.
    """

    hours_per_credit: int = 16
    step: Decimal = Decimal("0.5")


class RuleRef(msgspec.Struct, frozen=True, kw_only=True):
    """The rule (id and version) that gave an achievement its credits."""

    rule_id: str
    version: int


class CreditRequirement(msgspec.Struct, frozen=True, kw_only=True):
    """Credits a programme requires in one category to graduate."""

    category: Category
    credits: Decimal


class CourseResultDetails(msgspec.Struct, frozen=True, kw_only=True):
    """What identifies a course result (课程成绩): where, which course, which term, the score."""

    institution: str
    course_code: str
    term: str
    score: Decimal | None = None
    score_scale: Decimal = Decimal(100)


class CertificateDetails(msgspec.Struct, frozen=True, kw_only=True):
    """A certificate or diploma: issuer, catalog code, serial number, level and dates."""

    issuer: str
    certificate_code: str
    number: str
    issued_on: date
    level: CertificateLevel | None = None
    expires_on: date | None = None


class LearningRecordDetails(msgspec.Struct, frozen=True, kw_only=True):
    """A training record or online course completion from an outside provider."""

    issuer: str
    reference: str
    completed_on: date
    hours: int | None = None
    score: Decimal | None = None


class Revocation(msgspec.Struct, frozen=True, kw_only=True):
    """Why and when an achievement was revoked."""

    reason: RevocationReason
    note: str
    revoked_on: date


class Correction(msgspec.Struct, frozen=True, kw_only=True):
    """A recorded score corrected (成绩更正): the score it replaced, why, and when."""

    previous_score: Decimal
    score: Decimal
    reason: str
    corrected_on: date


class CurriculumModule(msgspec.Struct, frozen=True, kw_only=True):
    """A module (课程模块) of a programme: a named set of course codes."""

    code: str
    name: str
    course_codes: tuple[str, ...]


class CourseIntegration(msgspec.Struct, frozen=True, kw_only=True):
    """Course–certificate integration (课证融合), R19.

    One level of a certificate mapped onto courses and modules of one programme.
    ``covered_course_codes`` is the union of ``course_codes`` and the courses of
    ``module_codes`` at the time of mapping.
    """

    level: CertificateLevel
    institution: str
    programme_code: str
    course_codes: tuple[str, ...]
    module_codes: tuple[str, ...]
    covered_course_codes: tuple[str, ...]

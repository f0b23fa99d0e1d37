"""Inter-school course selection and credit recognition (课程互选、学分互认), seed 002.

Aggregates: :class:`Alliance` (members, secretariat), :class:`CourseOffering` (the Annex 2 row
of one course in one semester, and its seats), :class:`Enrolment` (request, 资格审查, admission,
attendance, assessment, makeup, rating), :class:`CourseCertificate` (电子课程合格证书, signed and
sealed) and :class:`CertificateRecognition` (the home school's recognition). Pure: no I/O,
no clock, no keys.
"""

from creditledger.domain.alliance.certificate import CertificateRecognition, CourseCertificate
from creditledger.domain.alliance.enrolment import Enrolment
from creditledger.domain.alliance.offering import Alliance, CourseOffering
from creditledger.domain.alliance.values import (
    MAX_CAPACITY,
    SCORE_SCALE,
    CertificateFacts,
    CertificateProof,
    CertificateStatus,
    CertificateStatusEntry,
    CourseInfo,
    EnrolmentStatus,
    OfferingStatus,
    RecognisedGrade,
    RecognitionMode,
    alliance_id,
    course_certificate_id,
    course_offering_id,
    enrolment_id,
    is_disqualified,
    recognition_id,
    submission_deadline,
    validate_course_info,
    validate_rating,
)

__all__ = [
    "MAX_CAPACITY",
    "SCORE_SCALE",
    "Alliance",
    "CertificateFacts",
    "CertificateProof",
    "CertificateRecognition",
    "CertificateStatus",
    "CertificateStatusEntry",
    "CourseCertificate",
    "CourseInfo",
    "CourseOffering",
    "Enrolment",
    "EnrolmentStatus",
    "OfferingStatus",
    "RecognisedGrade",
    "RecognitionMode",
    "alliance_id",
    "course_certificate_id",
    "course_offering_id",
    "enrolment_id",
    "is_disqualified",
    "recognition_id",
    "submission_deadline",
    "validate_course_info",
    "validate_rating",
]

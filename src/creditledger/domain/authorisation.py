"""Who may recognise what (权限管理), as pure checks the application layer runs before writing."""

from __future__ import annotations

from creditledger.domain.certificate import Certificate
from creditledger.domain.course import Course
from creditledger.errors import NotAuthorisedError


def check_may_recognise(principal_code: str, subject: Course | Certificate) -> None:
    """Allow only the owner of a course, or the issuer of a certificate, to recognise it.

    Returns ``None`` when allowed and raises :class:`NotAuthorisedError` otherwise; there is
    no boolean to forget to check.
    """
    if isinstance(subject, Course):
        owner, what = subject.owner, f"course {subject.code} ({subject.name})"
        role = "owns"
    else:
        owner, what = subject.issuer, f"certificate {subject.code} ({subject.name})"
        role = "issues"
    if principal_code != owner:
        raise NotAuthorisedError(
            f"{principal_code!r} may not recognise achievements for {what}: "
            f"only {owner!r}, which {role} it, may"
        )

from __future__ import annotations

import pytest

from creditledger.domain import check_may_recognise
from creditledger.errors import NotAuthorisedError

from .builders import ISSUER, SCHOOL, make_certificate, make_course


def test_the_owner_of_a_course_may_recognise_it() -> None:
    check_may_recognise(SCHOOL, make_course())


def test_another_institution_may_not_recognise_a_course() -> None:
    with pytest.raises(NotAuthorisedError, match="only 'GZCP', which owns it, may"):
        check_may_recognise("OTHER", make_course())


def test_the_issuer_of_a_certificate_may_recognise_it() -> None:
    check_may_recognise(ISSUER, make_certificate())


def test_a_school_may_not_recognise_a_certificate_it_does_not_issue() -> None:
    with pytest.raises(NotAuthorisedError, match="issues it"):
        check_may_recognise(SCHOOL, make_certificate())

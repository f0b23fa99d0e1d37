from __future__ import annotations

import pytest

from creditledger.domain import CertificateLevel, certificate_id
from creditledger.errors import ConflictError, NotFoundError, ValidationError

from .builders import ISSUER, make_certificate, make_course, make_programme


def test_certificate_is_registered_with_its_levels_in_order() -> None:
    certificate = make_certificate(levels=["高级", "elementary"])
    assert certificate.levels == (CertificateLevel.ELEMENTARY, CertificateLevel.ADVANCED)
    assert certificate.id == certificate_id(ISSUER, "industrial-robot-application-programming")


def test_invalid_level_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError) as caught:
        make_certificate(levels=["expert"])
    assert caught.value.field == "levels"


def test_certificate_without_levels_is_refused() -> None:
    with pytest.raises(ValidationError, match="at least one level"):
        make_certificate(levels=[])


def test_certificate_with_empty_issuer_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        make_certificate(issuer="")
    assert caught.value.field == "issuer"


def test_integration_maps_a_level_onto_courses_and_modules() -> None:
    core, other = make_course(), make_course(code="C102", name="PLC")
    programme = make_programme(core, other)
    certificate = make_certificate()
    certificate.integrate(level="中级", programme=programme, module_codes=["M1"])
    assert certificate.covered_courses("intermediate", "GZCP", "P-ROBOT") == ("C101", "C102")
    assert certificate.covers("intermediate", "GZCP", "C101")
    assert not certificate.covers("elementary", "GZCP", "C101")
    assert not certificate.covers("intermediate", "OTHER", "C101")


def test_integration_at_a_level_not_offered_is_refused() -> None:
    certificate = make_certificate(levels=["intermediate"])
    programme = make_programme(make_course())
    with pytest.raises(ValidationError) as caught:
        certificate.integrate(level="advanced", programme=programme, course_codes=["C101"])
    assert caught.value.field == "level"


def test_integration_with_an_unknown_course_is_not_found() -> None:
    certificate = make_certificate()
    with pytest.raises(NotFoundError) as caught:
        certificate.integrate(level="intermediate", programme=make_programme(), course_codes=["X"])
    assert caught.value.field == "course_codes"


def test_integration_needs_a_course_or_module() -> None:
    with pytest.raises(ValidationError):
        make_certificate().integrate(level="intermediate", programme=make_programme())


def test_adding_a_level_twice_is_a_conflict() -> None:
    certificate = make_certificate(levels=["intermediate"])
    certificate.add_level("advanced")
    assert certificate.offers("advanced")
    with pytest.raises(ConflictError):
        certificate.add_level("advanced")


def test_mapping_a_major_twice_is_a_conflict() -> None:
    certificate = make_certificate(majors=[])
    certificate.map_major("机电一体化技术")
    assert certificate.majors == ("机电一体化技术",)
    with pytest.raises(ConflictError):
        certificate.map_major("机电一体化技术")

"""Certificate catalog data shipped with the library (证书目录数据).

``data/seed003_certificates.json`` is the annex table of seed 003 (Guangzhou City Polytechnic,
second batch of 1+X pilots): 8 certificates with their levels over 9 majors. The seed names no
issuing organisations, so every issuer in the file is a marked placeholder.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from importlib import resources

import msgspec

from creditledger.domain.certificate import Certificate
from creditledger.domain.values import CertificateLevel

_PACKAGE = "creditledger"
_DATA_DIR = "data"
_SEED003 = "seed003_certificates.json"


class CatalogSource(msgspec.Struct, frozen=True, kw_only=True):
    """Where the catalog data comes from."""

    seed: str
    institution: str
    institution_en: str
    document: str
    document_en: str
    table: str
    dated: date
    note: str


class CatalogMajor(msgspec.Struct, frozen=True, kw_only=True):
    """A pilot major (试点专业)."""

    name: str
    name_en: str


class CatalogIssuer(msgspec.Struct, frozen=True, kw_only=True):
    """The training & evaluation organisation (培训评价组织) that issues a certificate."""

    code: str
    name: str
    name_en: str
    placeholder: bool


class CatalogCertificate(msgspec.Struct, frozen=True, kw_only=True):
    """One row of the annex: a certificate, its levels and the majors it is piloted in."""

    seq: int
    code: str
    name: str
    name_en: str
    annex_text: str
    levels: tuple[CertificateLevel, ...]
    major_count: int
    majors: tuple[str, ...]
    issuer: CatalogIssuer


class CertificateCatalog(msgspec.Struct, frozen=True, kw_only=True):
    """A certificate catalog: its source, majors and certificates."""

    source: CatalogSource
    majors: tuple[CatalogMajor, ...]
    certificates: tuple[CatalogCertificate, ...]

    def certificates_for_major(self, major: str) -> tuple[CatalogCertificate, ...]:
        """Certificates piloted in ``major`` (its Chinese name)."""
        return tuple(c for c in self.certificates if major in c.majors)


@cache
def load_seed003_catalog() -> CertificateCatalog:
    """Load the 1+X certificate catalog of seed 003 from the package data, typed and checked."""
    data = resources.files(_PACKAGE).joinpath(_DATA_DIR).joinpath(_SEED003).read_bytes()
    return msgspec.json.decode(data, type=CertificateCatalog)


def register_certificate(entry: CatalogCertificate) -> Certificate:
    """Build the :class:`Certificate` aggregate for a catalog row (not yet saved)."""
    return Certificate.register(
        issuer=entry.issuer.code,
        code=entry.code,
        name=entry.name,
        name_en=entry.name_en,
        levels=entry.levels,
        majors=entry.majors,
    )

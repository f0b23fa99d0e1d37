from __future__ import annotations

from importlib import resources

from creditledger.domain import (
    CertificateLevel,
    certificate_id,
    load_seed003_catalog,
    register_certificate,
)

ALL = (CertificateLevel.ELEMENTARY, CertificateLevel.INTERMEDIATE, CertificateLevel.ADVANCED)
MID = (CertificateLevel.INTERMEDIATE,)

# The annex of seed 003, row by row: certificate, levels, majors.
ANNEX = [
    ("工业机器人应用编程", ALL, ("机电一体化技术", "工业机器人技术")),
    ("传感网应用开发", MID, ("物联网应用技术",)),
    ("网店运营推广", ALL, ("市场营销",)),
    ("智能财税", ALL, ("会计", "财务管理")),
    ("电子商务数据分析", ALL, ("市场营销",)),
    ("失智老人照护", MID, ("社区管理与服务", "社会工作")),
    ("母婴护理", MID, ("社会工作", "社区管理与服务")),
    ("云计算平台运维与开发", MID, ("计算机网络技术",)),
]


def test_seed003_catalog_holds_the_annex_table() -> None:
    catalog = load_seed003_catalog()
    rows = [(c.name, c.levels, c.majors) for c in catalog.certificates]
    assert rows == ANNEX
    assert [c.seq for c in catalog.certificates] == list(range(1, 9))


def test_seed003_catalog_has_8_certificates_over_9_majors() -> None:
    catalog = load_seed003_catalog()
    assert len(catalog.certificates) == 8
    assert len(catalog.majors) == 9
    named = {m.name for m in catalog.majors}
    used = {m for c in catalog.certificates for m in c.majors}
    assert used == named
    for certificate in catalog.certificates:
        assert certificate.major_count == len(certificate.majors)
        assert certificate.name in certificate.annex_text
        assert certificate.name_en


def test_every_issuer_is_a_marked_placeholder() -> None:
    catalog = load_seed003_catalog()
    assert all(c.issuer.placeholder for c in catalog.certificates)
    assert all("占位" in c.issuer.name for c in catalog.certificates)
    assert "placeholder" in catalog.source.note


def test_certificates_for_a_major() -> None:
    catalog = load_seed003_catalog()
    names = [c.name for c in catalog.certificates_for_major("市场营销")]
    assert names == ["网店运营推广", "电子商务数据分析"]


def test_catalog_rows_become_certificate_aggregates_with_stable_ids() -> None:
    entry = load_seed003_catalog().certificates[1]
    certificate = register_certificate(entry)
    assert certificate.levels == MID
    assert certificate.id == certificate_id(entry.issuer.code, entry.code)
    assert register_certificate(entry).id == certificate.id


def test_catalog_file_is_utf8_with_chinese_names() -> None:
    path = resources.files("creditledger").joinpath("data").joinpath("seed003_certificates.json")
    text = path.read_bytes().decode("utf-8")
    assert "工业机器人应用编程" in text
    assert load_seed003_catalog().source.institution == "广州城市职业学院"

"""Hypothesis strategies: random sources, rule sets and histories for the pure transfer ledger.

The target programme is GZCC/530302 with courses KJ2103 (4 credits), KJ2104 (2), GG1002 (4) and
module M-TAX (6). Rules are drawn from every kind (课程对应, 课程等级, 课程模块, 折算), with
random conditions, makeup, shareability and caps.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from creditledger.domain import (
    AchievementKind,
    Cap,
    CapScope,
    CertificateLevel,
    Conditions,
    ConversionRule,
    RatioBasis,
    SourceFacts,
    TargetKind,
)

from .builders import (
    DAY,
    certificate_rule,
    course_facts,
    facts,
    module_rule,
    ratio_rule,
    target,
    training_facts,
)
from .builders import category_rule as fixed_rule
from .world import between_majors_rule

TARGET_CREDITS = {"KJ2103": "4.00", "KJ2104": "2.00", "GG1002": "4.00", "M-TAX": "6.00"}

credits = st.integers(2, 32).map(lambda n: (Decimal(n) / 4).quantize(Decimal("0.01")))
levels = st.sampled_from(list(CertificateLevel))


@st.composite
def sources(draw: st.DrawFn, name: str, kind: str | None = None) -> SourceFacts:
    """A recognised source of ``kind`` (cert, training or course; random if None)."""
    kind = kind or draw(st.sampled_from(["cert", "training", "course"]))
    common: dict[str, Any] = dict(credits=draw(credits),
                                  achieved_on=DAY - timedelta(days=draw(st.integers(0, 3000))))
    if kind == "cert":
        return facts(name, level=draw(levels), **common,
                     certified_by=draw(st.sampled_from(["ISSUER", "ISSUER-2"])))
    if kind == "training":
        return training_facts(name, hours=draw(st.integers(4, 120)), **common)
    return course_facts(name, "GG2001", score=Decimal(draw(st.integers(40, 100))), **common)


@st.composite
def caps(draw: st.DrawFn) -> tuple[Cap, ...]:
    scopes = draw(st.lists(st.sampled_from(list(CapScope)), max_size=2, unique=True))
    out = []
    for scope in scopes:
        if scope is CapScope.CERTIFICATE_COUNT:
            limit = Decimal(draw(st.integers(1, 3)))
        else:
            limit = Decimal(draw(st.integers(2, 20))) / 2
        out.append(Cap(scope=scope, limit=limit.quantize(Decimal("0.01"))
                       if scope is not CapScope.CERTIFICATE_COUNT else limit))
    return tuple(out)


@st.composite
def rules(draw: st.DrawFn, rule_id: str) -> ConversionRule:
    kind = draw(st.sampled_from(["course", "fixed", "ratio", "module", "correspondence"]))
    capped = draw(caps())
    makeup = draw(st.sampled_from([None, Decimal(60)]))
    shareable = draw(st.booleans())
    if kind == "course":
        code = draw(st.sampled_from(["KJ2103", "KJ2104"]))
        level = draw(st.sampled_from([None, CertificateLevel.INTERMEDIATE]))
        return certificate_rule(rule_id, target=target(TargetKind.COURSE, code), caps=capped,
                                shareable=shareable, conditions=Conditions(
                                    min_level=level, makeup_pass_mark=makeup,
                                    max_age_years=draw(st.sampled_from([None, 5]))))
    if kind == "fixed":
        source_kind = draw(st.sampled_from([AchievementKind.X_CERTIFICATE,
                                            AchievementKind.TRAINING_RECORD]))
        category = draw(st.sampled_from(["major_elective", "major_core"]))
        return fixed_rule(rule_id, credits=str(draw(credits)), kind=source_kind, caps=capped,
                          target=target(TargetKind.CATEGORY, category),
                          conditions=Conditions(makeup_pass_mark=makeup))
    if kind == "ratio":
        basis = draw(st.sampled_from(list(RatioBasis)))
        per, gives = (str(draw(st.integers(8, 24))), "1") if basis is RatioBasis.HOURS else (
            "3", str(draw(st.integers(1, 3))))
        return ratio_rule(rule_id, basis=basis, per=per, gives=gives, caps=capped,
                          step=draw(st.sampled_from(["0.01", "0.25", "0.5", "1"])))
    if kind == "module":
        return module_rule(rule_id, caps=capped, shareable=shareable)
    rule = between_majors_rule()
    return ConversionRule(**{**{f: getattr(rule, f) for f in rule.__struct_fields__},
                             "rule_id": rule_id, "caps": capped, "shareable": shareable})


def rule_sets(min_size: int = 1, max_size: int = 5) -> st.SearchStrategy[list[ConversionRule]]:
    return st.integers(min_size, max_size).flatmap(
        lambda n: st.tuples(*(rules(f"r{i}") for i in range(n))).map(list))


def source_lists(min_size: int = 3, max_size: int = 7) -> st.SearchStrategy[list[SourceFacts]]:
    """Sources of every kind first (so that every rule can apply), then random ones."""
    first = ("cert", "training", "course")
    return st.integers(min_size, max_size).flatmap(
        lambda n: st.tuples(*(sources(f"s{i}", first[i] if i < len(first) else None)
                              for i in range(n))).map(list))


#: ("convert", rule, picks, day offset, pick matching sources?): most conversions pick sources
#: that match the rule's selectors (so that they can succeed), some pick blindly.
convert_op = st.tuples(st.just("convert"), st.integers(0, 9),
                       st.lists(st.integers(0, 9), min_size=1, max_size=2),
                       st.integers(0, 400), st.sampled_from([True, True, True, False]))
post_op = st.tuples(st.just("post"), st.integers(0, 9), st.sampled_from([Decimal(50),
                                                                         Decimal(75)]))
void_op = st.tuples(st.just("void"), st.integers(0, 9))
revoke_op = st.tuples(st.just("revoke"), st.integers(0, 9))
histories = st.lists(st.one_of(convert_op, convert_op, convert_op, post_op, void_op, revoke_op),
                     min_size=1, max_size=14)

#: Rules whose outcome does not depend on arrival order: categories, no caps, no makeup.
order_free_rules = st.lists(
    st.one_of(
        st.builds(lambda c, k: fixed_rule("x", credits=str(c), kind=k), credits,
                  st.sampled_from([AchievementKind.X_CERTIFICATE,
                                   AchievementKind.TRAINING_RECORD])),
        st.builds(lambda p: ratio_rule("x", per=str(p)), st.integers(8, 24)),
    ), min_size=1, max_size=4,
).map(lambda rs: [ConversionRule(**{**{f: getattr(r, f) for f in r.__struct_fields__},
                                    "rule_id": f"r{i}"}) for i, r in enumerate(rs)])


def conversion_day(offset: int) -> date:
    return DAY + timedelta(days=offset)


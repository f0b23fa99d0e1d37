from __future__ import annotations

from typing import Any

import pytest

from creditledger.domain import Institution, InstitutionKind, institution_id
from creditledger.errors import ValidationError


def test_school_is_registered_with_a_deterministic_id() -> None:
    school = Institution.register(
        code="GZCP", name="广州城市职业学院", kind="学校", has_credit_system=True
    )
    assert school.kind is InstitutionKind.SCHOOL
    assert school.has_credit_system
    assert (
        school.id
        == institution_id("GZCP")
        == Institution.register(code=" GZCP ", name="x", kind="school").id
    )


def test_unknown_institution_kind_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        Institution.register(code="X", name="x", kind="university")
    assert caught.value.field == "kind"


@pytest.mark.parametrize("field", ["code", "name"])
def test_empty_code_or_name_is_refused(field: str) -> None:
    fields: dict[str, Any] = {
        "code": "GZCP",
        "name": "广州城市职业学院",
        "kind": "school",
        field: "",
    }
    with pytest.raises(ValidationError) as caught:
        Institution.register(**fields)
    assert caught.value.field == field


def test_only_a_school_runs_a_credit_system() -> None:
    with pytest.raises(ValidationError) as caught:
        Institution.register(
            code="ORG", name="某培训评价组织", kind="training_organisation", has_credit_system=True
        )
    assert caught.value.field == "has_credit_system"


def test_rename_and_credit_system_change_record_events_only_when_something_changes() -> None:
    school = Institution.register(code="GZCP", name="旧名", kind="school")
    school.collect_events()
    school.rename("新名")
    school.set_credit_system(True)
    school.set_credit_system(True)
    names = [type(e).__name__ for e in school.collect_events()]
    assert names == ["Renamed", "CreditSystemChanged"]
    assert school.name == "新名"

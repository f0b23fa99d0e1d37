"""A duplicate of anything is one error class: :class:`AlreadyExistsError` (a
``ConflictError``), naming the kind, the key and, where an argument gave the identity, the field.

Before, institutions raised ``ConflictError`` and programmes, courses and learners
``ValidationError``; a program catching one missed the other. Each case below records a thing
twice through the facade and checks that the second command wrote nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest

import creditledger
from creditledger.crypto.keys import SigningKey
from creditledger.domain import PersonalData
from creditledger.errors import AlreadyExistsError, ConflictError, CreditLedgerError
from creditledger.services.bank import CreditBank

from .fixtures import World, make_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    w = make_world(tmp_path_factory.mktemp("duplicates") / "school.ledger")
    w.bank.define_module(programme_code="530302", code="M1", name="财税模块",
                         course_codes=["KJ2103"], signer=w.gzcc)
    yield w
    w.bank.close()


def _course(bank: CreditBank, signer: SigningKey) -> None:
    bank.define_course(code="KJ1101", name="基础会计", category="major_basic", nature="必修",
                       course_type="理实一体", attribute="B类", theory_hours=32,
                       practice_hours=32, difficulty=Decimal(1), assessment_method="exam",
                       programmes=["530302"], signer=signer)


DUPLICATES: dict[str, tuple[str, Callable[[World], object]]] = {
    "institution": ("code", lambda w: w.bank.register_institution(
        code="GZCC", name="广州城市职业学院", kind="school", has_credit_system=True,
        public_key=SigningKey.generate().public_key, root_key=w.root)),
    "programme": ("code", lambda w: w.bank.define_programme(
        code="530302", name="会计", signer=w.gzcc)),
    "course": ("code", lambda w: _course(w.bank, w.gzcc)),
    "certificate": ("code", lambda w: w.bank.register_certificate(
        code="finance", name="智能财税", levels=["elementary"], majors=[], signer=w.issuer)),
    "learner account": ("learner_id", lambda w: w.bank.open_account(
        learner_id="S1", learner_type="student", personal_data=PersonalData(name="陈晓敏"),
        programme_code="530302", signer=w.gzcc)),
    "key": ("public_key", lambda w: w.bank.register_key(
        "LNPC", w.gzcc.public_key, root_key=w.root)),
    "module": ("module_code", lambda w: w.bank.define_module(
        programme_code="530302", code="M1", name="财税模块", course_codes=["KJ2103"],
        signer=w.gzcc)),
    "enrolment": ("", lambda w: w.bank.enrol(
        learner_id="S1", programme_code="530302", signer=w.gzcc)),
}


@pytest.mark.parametrize("kind", sorted(DUPLICATES))
def test_recording_anything_twice_raises_already_exists_and_writes_nothing(
        world: World, kind: str) -> None:
    field, again = DUPLICATES[kind]
    before = world.bank.last_position()
    with pytest.raises(AlreadyExistsError) as caught:
        again(world)
    error = caught.value
    assert isinstance(error, ConflictError)
    assert error.kind == kind
    assert (error.field or "") == field
    assert "already recorded" in str(error) and (not field or str(error).startswith(field))
    assert world.bank.last_position() == before


def test_every_library_error_is_importable_from_the_package() -> None:
    import creditledger.errors as errors

    defined = {name for name, value in vars(errors).items()
               if isinstance(value, type) and issubclass(value, CreditLedgerError)}
    assert defined <= set(creditledger.__all__)
    assert all(getattr(creditledger, name) is getattr(errors, name) for name in defined)


def test_a_duplicate_in_a_new_ledger_file_is_caught_as_a_conflict(tmp_path: Path) -> None:
    """The documented way to catch a duplicate: ``except ConflictError`` covers it too."""
    world = make_world(tmp_path / "other.ledger")
    with world.bank, pytest.raises(ConflictError, match="programme GZCC/530302"):
        world.bank.define_programme(code="530302", name="会计", signer=world.gzcc)

"""One small credit bank for the CLI tests, built once per test module through the library
(fast), with its keys saved as the files the commands take."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from uuid import UUID

from tests.cli.running import PASSPHRASE
from tests.services.bank.fixtures import EVIDENCE, TODAY, copy_ledger, make_world


@dataclass(frozen=True)
class School:
    """The ledger and its key files: ``keys/NAME.pem`` (private) and ``keys/NAME.pub``."""

    ledger: Path
    keys: Path
    result_id: UUID  # S1's course result in KJ2103

    def key(self, name: str) -> Path:
        return self.keys / f"{name}.pem"

    def pub(self, name: str) -> Path:
        return self.keys / f"{name}.pub"

    def copy(self, folder: Path) -> Path:
        """A copy of the ledger to write to (the module's own stays as built)."""
        target = folder / "copy.ledger"
        copy_ledger(self.ledger, target)
        return target


def build_school(folder: Path) -> School:
    world = make_world(folder / "school.ledger")
    result = world.bank.recognise_course_result(
        learner_id="S1", course_code="KJ2103", term="2021-2022-2", score=Decimal(80),
        evidence=EVIDENCE, signer=world.gzcc, today=TODAY)
    views = world.bank.read_models()  # built once: tests run read commands side by side
    views.catch_up()
    views.close()
    world.bank.close()
    keys = folder / "keys"
    keys.mkdir()
    for name, key in (("root", world.root), ("gzcc", world.gzcc), ("lnpc", world.lnpc),
                      ("issuer", world.issuer), ("vtc", world.trainer)):
        key.save(keys / f"{name}.pem", PASSPHRASE.encode())
        (keys / f"{name}.pub").write_text(key.public_key.to_base64() + "\n")
    return School(folder / "school.ledger", keys, result.id)

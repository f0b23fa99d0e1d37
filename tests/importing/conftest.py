"""The facade world (a real ledger, real keys) for the import tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services.bank.fixtures import World, make_world


@pytest.fixture()
def world(tmp_path: Path) -> Iterator[World]:
    world = make_world(tmp_path / "bank.ledger")
    yield world
    world.bank.close()

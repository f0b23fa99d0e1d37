from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .world import World, world_on


@pytest.fixture()
def world(ledger_target: str | Path, tmp_path: Path) -> Iterator[World]:
    """The world on each backend (``ledger_target``: a SQLite file, then PostgreSQL)."""
    with world_on(ledger_target, tmp_path) as w:
        yield w

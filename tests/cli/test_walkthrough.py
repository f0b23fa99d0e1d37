"""docs/cli.md's walk-through of a school's day runs exactly as written (the page cannot go
stale): every command succeeds (or fails with exit 2 where the page shows an error), prints what
the page shows, and leaves a ledger that verifies."""

from __future__ import annotations

from pathlib import Path

from creditledger.audit.verify import verify_ledger
from tests.cli.session import run_session, steps_of

PAGE = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_the_walk_through_of_docs_cli_runs_as_written(tmp_path: Path) -> None:
    steps = run_session(steps_of(PAGE), tmp_path)
    assert len(steps) >= 12
    for step in steps:
        context = f"$ {step.command}\n--- printed ---\n{step.output}--- page ---\n{step.expected}"
        assert step.code == (2 if step.wants_error() else 0), context
        assert "Traceback" not in step.output, context
        assert step.matches(), context
    assert verify_ledger(tmp_path / "school.ledger").fault is None

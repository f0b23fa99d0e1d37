"""What the worker processes of the robustness tests run (forked by a ``forkserver``).

Each opens the ledger itself (its own connection), loads its key from an encrypted PEM file,
and reports what it saw succeed, so that the test can check every reported success against the
ledger afterwards.
"""

from __future__ import annotations

import multiprocessing
import time
from collections import Counter
from pathlib import Path
from typing import Any
from uuid import UUID

from creditledger.errors import CapacityError
from creditledger.services.bank import CreditBank
from creditledger.services.batch import import_file
from creditledger.services.core import ledger_of
from tests.services.bank.fixtures import KEK

from .ledgers import TODAY, load_key, record_training


def worker_context() -> Any:
    """Worker processes forked from a server that has imported the library once (``spawn``
    would import it again in every process: seconds on a small CI machine)."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["creditledger.services.bank", "tests.robustness.workers"])
    return ctx


MAX_ATTEMPTS = 100
"""A command that still conflicts after this many attempts is reported as starved."""


def error_name(e: BaseException) -> str:
    return f"{type(e).__module__}.{type(e).__qualname__}"


def write_records(target: str, trainer_pem: str, learner: str, prefix: str, seconds: float,
                  go: Any, results: Any) -> None:
    """Record training records for ``learner`` until ``seconds`` have passed.

    A command that conflicts (another writer changed the learner's account every time the
    library ran it) is run again until it succeeds. Reports the references that succeeded,
    each conflict's error type, and anything else that went wrong.
    """
    from eventsourcing.persistence import RecordConflictError

    from creditledger.errors import ConcurrentWriteError

    trainer = load_key(trainer_pem)
    bank = CreditBank.open(target, kek=KEK)
    done: list[tuple[str, str]] = []  # (reference, achievement id)
    conflicts: Counter[str] = Counter()
    retried = 0
    errors: list[str] = []
    try:
        go.wait(60)
        deadline = time.monotonic() + seconds
        n = 0
        while time.monotonic() < deadline and not errors:
            reference = f"{prefix}-{n:05}"
            n += 1
            for attempt in range(1, MAX_ATTEMPTS + 1):
                try:
                    achievement = record_training(bank, trainer, learner, reference)
                except (ConcurrentWriteError, RecordConflictError) as e:  # the test checks which
                    conflicts[error_name(e)] += 1
                    continue
                except Exception as e:  # reported: the test shows it
                    errors.append(f"{reference}: {error_name(e)}: {e}")
                    break
                done.append((reference, str(achievement.id)))
                retried += attempt > 1
                break
            else:
                errors.append(f"{reference}: still conflicting after {MAX_ATTEMPTS} attempts")
    finally:
        bank.close()
        results.put({"prefix": prefix, "learner": learner, "done": done,
                     "conflicts": dict(conflicts), "retried": retried, "errors": errors})


def admit(target: str, offering_pem: str, offering: str, learners: list[str], go: Any,
          results: Any) -> None:
    """The offering school admits these learners into the course, one command each; reports
    each learner's outcome (``admitted``, ``full: ...`` or ``error: ...``)."""
    from tests.services.alliance.world import TERM_DAY

    key = load_key(offering_pem)
    bank = CreditBank.open(target, kek=KEK)
    outcomes: list[tuple[str, str]] = []
    try:
        go.wait(60)
        for learner in learners:
            try:
                bank.admit_learner(UUID(offering), learner_id=learner, signer=key,
                                   today=TERM_DAY)
                outcomes.append((learner, "admitted"))
            except CapacityError as e:
                outcomes.append((learner, f"full: {e}"))
            except Exception as e:  # reported: the test shows it
                outcomes.append((learner, f"error: {error_name(e)}: {e}"))
    finally:
        bank.close()
        results.put(outcomes)


def run_import(target: str, school_pem: str, rows: str, commit_size: int,
               reports: str) -> None:
    """Import a JSON Lines file of achievements; after each commit returns, append a line
    ``ROWS HEAD`` to ``reports``: the rows written so far and the ledger's last position."""
    key = load_key(school_pem)
    bank = CreditBank.open(target, kek=KEK)
    with open(reports, "a", encoding="utf-8", buffering=1) as out:
        out.write(f"started {ledger_of(bank).recorder.max_notification_id()}\n")

        def progress(done: int, total: int) -> None:
            rows = done - total // 2
            if rows > 0:  # the write pass: called after each commit returned
                out.write(f"{rows} {ledger_of(bank).recorder.max_notification_id()}\n")

        report = import_file(bank, Path(rows), signer=key, record_type="achievement",
                             commit_size=commit_size, today=TODAY, progress=progress)
        out.write(f"done {report.written} {report.unchanged} {report.commits}\n")
    bank.close()

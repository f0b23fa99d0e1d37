"""What the benchmark scripts share: settling the machine, timing, the machine's description,
and the markdown and terminal tables the figures are reported in.

Every script runs its baseline and creditledger side by side, alternately, in one process run
(the machines are shared and noisy); these helpers only measure and print.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib.metadata
import os
import platform
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

Row = tuple[str, ...]


def school_bank(path: Path) -> tuple[Any, Any]:
    """A new credit bank at ``path`` with one school, GZCC, and its registrar's staff key:
    ``(bank, registrar key)``, the writer of the policy and command workloads."""
    from creditledger import CreditBank, KeyEncryptionKey, Role, SigningKey

    root, school, registrar = (SigningKey.generate() for _ in range(3))
    # a credit bank seals personal data (policy 2): both sides of a workload seal alike
    bank = CreditBank.create(path, root, kek=KeyEncryptionKey.generate())
    bank.register_institution(code="GZCC", name="广州城市职业学院", kind="school",
                              has_credit_system=True, public_key=school.public_key,
                              root_key=root)
    bank.register_staff_key("T-1", Role.REGISTRAR, registrar.public_key, admin_key=school)
    return bank, registrar


def load_average() -> float:
    """The 1-minute load average (NaN where the system has none)."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def settle() -> None:
    """Start each timed run from the same state: no garbage, no dirty pages being written."""
    gc.collect()
    if hasattr(os, "sync"):
        os.sync()


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (e.g. verify's workers)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def timed(call: Callable[[], Any]) -> tuple[Any, float]:
    """``call()``'s result and its wall time in seconds."""
    t0 = time.perf_counter()
    result = call()
    return result, time.perf_counter() - t0


def median_time(run: Callable[[], Any], reps: int) -> float:
    """The median wall time of ``reps`` runs, each after a garbage collection."""
    times = []
    for _ in range(reps):
        gc.collect()
        times.append(timed(run)[1])
    return statistics.median(times)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``, nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q * len(ordered) + 0.5) - 1))]


def seconds(times: Iterable[float]) -> str:
    """Run times as ``0.123, 0.130, ...``."""
    return ", ".join(f"{t:.3f}" for t in times)


def met(ok: bool) -> str:
    """How a target reads in a table."""
    return "met" if ok else "NOT met"


def machine(packages: Sequence[str], extra: str = "") -> str:
    """CPUs, CPU model, Python, SQLite and the versions of ``packages`` (and ``extra``)."""
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    versions = ", ".join(f"{p} {importlib.metadata.version(p)}" for p in packages)
    return (f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}, "
            f"SQLite {sqlite3.sqlite_version}, {versions}{extra}")


def markdown_table(header: Row, rows: Iterable[Row]) -> list[str]:
    """A markdown table's lines."""
    return ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|",
            *("| " + " | ".join(row) + " |" for row in rows)]


def print_table(title: str, header: Row, rows: Iterable[Row], width: int = 150,
                left: Sequence[str] = ("case",)) -> None:
    """The figures as a table on the terminal."""
    table = Table(title=title)
    for column in header:
        table.add_column(column, justify="left" if column in left else "right")
    for row in rows:
        table.add_row(*row)
    Console(width=max(Console().width, width)).print(table)


def command_line(script: str, argv: Sequence[str] | None) -> str:
    """How the script was run, for the report."""
    return f"python benchmarks/{script}" + " ".join(["", *(argv or sys.argv[1:])])


def parser(doc: str | None) -> argparse.ArgumentParser:
    """An argument parser with the options every script takes."""
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0] if doc else None)
    p.add_argument("--quick", action="store_true", help="10x smaller sizes (a smoke run)")
    p.add_argument("--markdown-out", type=Path, help="also write the markdown report here")
    p.add_argument("--workdir", type=Path, help="directory for the files (default: a temp dir)")
    return p


def publish(text: str, out: Path | None) -> None:
    """Print the markdown report, and write it to ``out`` if given."""
    print(text)
    if out is not None:
        out.write_text(text, encoding="utf-8")

"""Scale run: build a large ledger through the library, then verify it, catch the views up and
measure each phase's time and peak memory (issue 20).

Run from the repository root (it writes a few GB for the full size; ``--workdir`` on a disk with
room, and ``--keep`` to keep the files)::

    python benchmarks/scale.py --full                 # 10,000,000 events (1,000,000 learners)
    python benchmarks/scale.py --events 1000000       # any size (learners = events / 10)
    python benchmarks/scale.py --quick                # 100,000 events, a smoke run
    python benchmarks/scale.py --full --markdown-out /tmp/scale.md

Without ``--full``, ``--events`` or ``--quick`` it refuses to start: the full size takes hours
on two cores. The ledger is the one ``benchmarks/projections.py`` builds, scaled: genesis, one
school and its Ed25519 key, a programme, three courses, ``learners`` student accounts imported
from CSV, then five rounds of course results imported from CSV (4 per learner and a 5th for
every other one; two events each: ``Achievement.Recognised`` and ``LearnerAccount.Credited``),
in signed commits of ``--commit-size`` rows. So events = learners + 9 x learners + 10.

Measured, each phase in a fresh process (so that its peak RSS, ``ru_maxrss``, is its own):

* **build**: the learners import and each results round: rows/s and events/s of ``import_file``
  (validation pass + signed commits), peak RSS of the importing process;
* **verify**: ``verify_ledger(path, workers=--workers)`` of the whole ledger: time, events/s,
  the CPU it used (its process and its worker processes), peak RSS;
* **catch-up**: ``Projector(...).catch_up()`` with the default projections into a fresh views
  database: time, events/s, peak RSS; and the views' size on disk.
"""

from __future__ import annotations

import os
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from rich.console import Console

import projections as P
from _common import command_line, load_average, machine, markdown_table, parser, publish

FULL_EVENTS = 10_000_000
VERIFY_TARGET_S = 120.0  # full verify of 10,000,000 events under 2 minutes on 2 cores


def _child(fn: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """Run ``fn`` in a fresh (spawned) process; its result and its own peak RSS (MiB)."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(_measured, fn, *args).result()


def _measured(fn: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    out = fn(*args)
    self_ru = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    out["peak_rss_mib"] = max(self_ru.ru_maxrss, children.ru_maxrss) / 1024
    out["cpu_s"] = (self_ru.ru_utime + self_ru.ru_stime + children.ru_utime
                    + children.ru_stime)
    return out


def _build_learners(workdir: str, learners: int, commit_size: int) -> dict[str, Any]:
    sizes = P.Sizes(learners=learners, reps=1, commit_size=commit_size, queries=0)
    build = P.build_learners(Path(workdir), sizes, lambda s: None)
    return {"seconds": build.learners_seconds, "rows": learners, "events": learners,
            "setup_events": build.setup_events, "key": str(build.key),
            "results": [str(p) for p in build.results], "ledger": str(build.ledger)}


def _import_round(ledger: str, results: str, key: str, commit_size: int) -> dict[str, Any]:
    out = P.import_ours(ledger, results, key, commit_size)
    return {"seconds": out["seconds"], "rows": out["written"], "events": 2 * out["written"]}


def _verify(ledger: str, workers: int) -> dict[str, Any]:
    from creditledger.audit.verify import verify_ledger

    t0 = time.perf_counter()
    report = verify_ledger(ledger, workers=workers)
    return {"seconds": time.perf_counter() - t0, "events": report.events,
            "commits": report.commits}


def _catch_up(ledger: str, views: str) -> dict[str, Any]:
    from creditledger.services.bank import CreditBank
    from creditledger.services.core import ledger_of

    bank = CreditBank.open(ledger, read_only=True)
    try:
        t0 = time.perf_counter()
        events = P.catch_up(ledger_of(bank).recorder, Path(views))
        seconds = time.perf_counter() - t0
    finally:
        bank.close()
    size = sum(p.stat().st_size for p in Path(views).parent.glob(Path(views).name + "*"))
    return {"seconds": seconds, "events": events, "views_mib": size / 2**20}


@dataclass
class Phase:
    name: str
    out: dict[str, Any]


def run(learners: int, commit_size: int, workers: int, workdir: Path,
        say: Callable[[str], None]) -> list[Phase]:
    phases: list[Phase] = []
    built = _child(_build_learners, str(workdir), learners, commit_size)
    phases.append(Phase(f"build: import {learners:,} learners", built))
    say(f"learners: {built['seconds']:.1f} s, peak RSS {built['peak_rss_mib']:.0f} MiB")
    ledger = built["ledger"]
    for r, results in enumerate(built["results"]):
        out = _child(_import_round, ledger, results, built["key"], commit_size)
        phases.append(Phase(f"build: import results round {r + 1}", out))
        say(f"round {r + 1}: {out['rows']:,} rows in {out['seconds']:.1f} s "
            f"({out['events'] / out['seconds']:,.0f} ev/s), peak RSS "
            f"{out['peak_rss_mib']:.0f} MiB")
    out = _child(_verify, ledger, workers)
    phases.append(Phase(f"verify (workers={workers})", out))
    say(f"verify: {out['events']:,} events in {out['seconds']:.1f} s, "
        f"peak RSS {out['peak_rss_mib']:.0f} MiB")
    out = _child(_catch_up, ledger, str(workdir / "views.db"))
    phases.append(Phase("catch-up (default projections, fresh views)", out))
    say(f"catch-up: {out['events']:,} events in {out['seconds']:.1f} s, "
        f"peak RSS {out['peak_rss_mib']:.0f} MiB")
    return phases


HEADER = ("phase", "time", "rows/s", "events/s", "CPU / wall", "peak RSS", "note")


def rows(phases: list[Phase]) -> list[tuple[str, ...]]:
    out = []
    for p in phases:
        o = p.out
        note = ""
        if p.name.startswith("verify"):
            if o["events"] >= FULL_EVENTS:
                verdict = "met" if o["seconds"] < VERIFY_TARGET_S else "NOT met"
            else:  # the target is for 10M events: say what this rate would take there
                verdict = (f"not judged at this size; {FULL_EVENTS:,} events at this rate: "
                           f"{FULL_EVENTS * o['seconds'] / o['events']:,.0f} s")
            note = f"{o['commits']:,} commits; < {VERIFY_TARGET_S:.0f} s at 10M: {verdict}"
        elif p.name.startswith("catch-up"):
            note = f"views {o['views_mib']:,.0f} MiB"
        out.append((p.name, f"{o['seconds']:.1f} s",
                    f"{o['rows'] / o['seconds']:,.0f}" if "rows" in o else "",
                    f"{o['events'] / o['seconds']:,.0f}",
                    f"{o['cpu_s'] / o['seconds']:.2f}", f"{o['peak_rss_mib']:,.0f} MiB", note))
    return out


def markdown(phases: list[Phase], command: str, load: tuple[float, float]) -> str:
    imports = [p.out for p in phases if p.name.startswith("build: import results")]
    rate = statistics.median(o["events"] / o["seconds"] for o in imports) if imports else 0.0
    lines = [f"Command: `{command}`", "",
             f"Machine: {machine(('eventsourcing', 'msgspec', 'sqlite-utils', 'cryptography'))}.",
             f"Load average (1 min) before / after: {load[0]:.2f} / {load[1]:.2f}. "
             f"Median import rate of the results rounds: {rate:,.0f} events/s.", "",
             *markdown_table(HEADER, rows(phases))]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    options = parser(__doc__)
    options.add_argument("--full", action="store_true",
                         help=f"the full size: {FULL_EVENTS:,} events (hours on two cores)")
    options.add_argument("--events", type=int, help="about this many events (learners = /10)")
    options.add_argument("--commit-size", type=int, default=2000, help="rows per commit")
    options.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                         help="verify's worker count (default: the CPU count)")
    options.add_argument("--keep", action="store_true", help="keep the files in --workdir")
    args = options.parse_args(argv)
    events = FULL_EVENTS if args.full else args.events or (100_000 if args.quick else None)
    if events is None:
        options.error("give --full (10,000,000 events), --events N or --quick")
    learners = max(1, events // 10)
    console = Console(stderr=True)
    command = command_line("scale.py", argv)
    load = load_average()
    if args.keep and args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
        phases = run(learners, args.commit_size, args.workers, args.workdir, console.log)
    else:
        with tempfile.TemporaryDirectory(prefix="scale-bench-", dir=args.workdir) as tmp:
            phases = run(learners, args.commit_size, args.workers, Path(tmp), console.log)
    publish(markdown(phases, command, (load, load_average())), args.markdown_out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

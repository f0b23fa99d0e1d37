"""The bank's command wrapper: what running every command through it costs.

Every public method of ``CreditBank`` runs through ``creditledger.services.core._command``
(issue 16): outermost, it reads one-shot iterators among the arguments once, keeps a per-thread
depth so that nested commands are not retried twice, and runs the command again on fresh state
if another writer changed one of its records first. This script measures that layer's share of
a single-event command, the cheapest write a school makes often.

Run from the repository root::

    python benchmarks/commands.py            # 2,000 commands per run, 5 runs per side
    python benchmarks/commands.py --quick    # 10x smaller, a smoke run

Workload: a credit bank ledger (policy ``creditledger-policy/1``, SQLite file) with 100 learner
accounts of one school; then ``correct_personal_data`` round-robin over them, each a
single-event commit signed by the school's registrar's staff key. Side "wrapped" calls
``bank.correct_personal_data(...)``; side "bare" calls the same method without the wrapper
(``CreditBank.correct_personal_data.__wrapped__(bank, ...)``), with the same policy check,
signature and commit. Both sides alternate in this one process (bare, wrapped, wrapped, bare,
...), each on a new ledger; each figure is the median of ``--reps`` runs. No other writer runs,
so no command is ever retried: this is the price of the layer when nothing goes wrong.

Because a command's wall time on a shared machine swings by more than the layer costs, the
layer is also timed alone: a query of the bank that does no I/O (``time_zone``'s neighbour
``today``) called 100,000 times with and without the wrapper, CPU time, alternating; its
difference per call is the wrapper's own cost, set against a single-event command's CPU time.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from _common import (
    command_line,
    load_average,
    machine,
    markdown_table,
    parser,
    print_table,
    publish,
    school_bank,
    seconds,
    settle,
)
from creditledger.domain import PersonalData
from creditledger.services.bank import CreditBank

ACCOUNTS = 100
TARGET = 0.02
"""The wrapper may add at most 2 % to a single-event command's CPU time, judged on the layer
timed alone (the commands' wall times on a shared machine swing by more than that)."""


def side(directory: Path, wrapped: bool) -> tuple[CreditBank, Callable[[int], None]]:
    """A bank with ACCOUNTS accounts, and the n-th command of the workload."""
    bank: CreditBank
    bank, registrar = school_bank(directory / "bank.ledger")
    for i in range(ACCOUNTS):
        bank.open_account(learner_id=f"P{i}", learner_type="society_member",
                          personal_data=PersonalData(name="学员"), signer=registrar)
    method = CreditBank.correct_personal_data
    call = method if wrapped else method.__wrapped__  # type: ignore[attr-defined]

    def command(n: int) -> None:
        call(bank, learner_id=f"P{n % ACCOUNTS}", personal_data=PersonalData(name=f"学员{n}"),
             signer=registrar)

    return bank, command


def run(commands: int, reps: int, workdir: Path, say: Callable[[str], None]
        ) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"bare": [], "wrapped": [], "bare cpu": [],
                                     "wrapped cpu": []}
    for rep in range(reps):
        for wrapped in ((False, True) if rep % 2 == 0 else (True, False)):
            name = "wrapped" if wrapped else "bare"
            directory = workdir / f"{name}-{rep}"
            directory.mkdir()
            bank, command = side(directory, wrapped)
            settle()
            t0, c0 = time.perf_counter(), time.process_time()
            for n in range(commands):
                command(n)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            bank.close()
            shutil.rmtree(directory)
            times[name].append(wall)
            times[f"{name} cpu"].append(cpu)
            say(f"rep {rep + 1}/{reps} {name:7}: {wall:.3f} s (cpu {cpu:.3f} s)")
    return times


def layer_alone(bank: CreditBank, calls: int, reps: int) -> tuple[float, float]:
    """CPU µs per call of ``bank.today()`` without and with the wrapper (medians)."""
    bare_today = CreditBank.today.__wrapped__  # type: ignore[attr-defined]
    out: dict[bool, list[float]] = {False: [], True: []}
    for rep in range(reps):
        for wrapped in ((False, True) if rep % 2 == 0 else (True, False)):
            call = bank.today if wrapped else (lambda: bare_today(bank))
            c0 = time.process_time()
            for _ in range(calls):
                call()
            out[wrapped].append((time.process_time() - c0) / calls * 1e6)
    return statistics.median(out[False]), statistics.median(out[True])


def report(commands: int, times: dict[str, list[float]], alone: tuple[float, float, int],
           load: tuple[float, float], command: str) -> tuple[tuple[str, ...], str]:
    med = statistics.median
    cpu_bare, cpu_wrapped = (med(times[f"{n} cpu"]) / commands * 1e6 for n in ("bare", "wrapped"))
    layer = alone[1] - alone[0]
    bare, wrapped = med(times["bare"]), med(times["wrapped"])
    ratio = wrapped / bare
    paired = med(w / b for w, b in zip(times["wrapped"], times["bare"], strict=True))
    row = (f"correct_personal_data, {commands:,} single-event commands", f"{bare:.3f} s",
           f"{wrapped:.3f} s", f"{bare / commands * 1e6:.0f}", f"{wrapped / commands * 1e6:.0f}",
           f"{ratio:.3f}x", f"{paired:.3f}x",
           f"layer ≤ {TARGET:.0%}: {layer / cpu_bare:.2%}, "
           f"{'met' if layer / cpu_bare <= TARGET else 'NOT met'}")
    header = ("case", "bare", "wrapped", "µs/command bare", "µs/command wrapped", "ratio",
              "paired", "target")
    text = "\n".join([
        f"Command: `{command}`", "",
        f"Machine: {machine(('eventsourcing', 'msgspec', 'cryptography'))}.",
        f"Median of {len(times['bare'])} alternating runs per side; ratio = wrapped / bare "
        "(ratio of the medians); paired = median of the per-run ratios.",
        f"Load average (1 min) before / after: {load[0]:.2f} / {load[1]:.2f}.", "",
        *markdown_table(header, [row]), "",
        f"CPU time per command: bare {cpu_bare:.0f} µs, wrapped {cpu_wrapped:.0f} µs "
        f"({cpu_wrapped / cpu_bare:.3f}x).",
        f"The layer alone (`today()`, {alone[2]:,} calls, CPU): bare {alone[0]:.2f} µs, wrapped "
        f"{alone[1]:.2f} µs: the wrapper costs {layer:.2f} µs a call, "
        f"{layer / cpu_bare * 100:.2f} % of a single-event command's CPU time.", "",
        f"- bare: {seconds(times['bare'])}", f"- wrapped: {seconds(times['wrapped'])}", "",
    ])
    return row, text


def main(argv: list[str] | None = None) -> int:
    options = parser(__doc__)
    options.add_argument("--reps", type=int, default=None, help="runs per side (default 5, 3)")
    args = options.parse_args(argv)
    commands = 200 if args.quick else 2_000
    reps = args.reps or (3 if args.quick else 5)
    console = Console(stderr=True)
    load_before = load_average()
    with tempfile.TemporaryDirectory(prefix="commands-bench-", dir=args.workdir) as tmp:
        times = run(commands, reps, Path(tmp), lambda s: console.log(s))
        bank, _ = side(Path(tmp), wrapped=True)
        calls = 10_000 if args.quick else 100_000
        alone = (*layer_alone(bank, calls, reps), calls)
        bank.close()
    row, text = report(commands, times, alone, (load_before, load_average()),
                       command_line("commands.py", argv))
    print_table("the bank's command wrapper", ("case", "bare", "wrapped", "µs bare",
                                               "µs wrapped", "ratio", "paired", "target"), [row])
    publish(text, args.markdown_out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Store benchmark: plain eventsourcing on SQLite against creditledger's chained, signed store.

Run from the repository root::

    python benchmarks/store.py            # full sizes (a few minutes on 2 cores)
    python benchmarks/store.py --quick    # 10x smaller, a smoke run
    python benchmarks/store.py --markdown-out docs/benchmarks-store.md

Both sides run in this one process, alternately (plain, ours, ours, plain, ...), so machine
noise hits both; each figure is the median of ``--reps`` runs. Both sides use the same
aggregate class, a file on disk in a temporary directory, eventsourcing's SQLite datastore
(WAL journal) and SQLite's default ``synchronous`` setting, which the script reads back from
each side's own connection and requires to be equal.

* plain: ``eventsourcing.application.Application`` with the default JSON transcoder and
  ``SQLiteApplicationRecorder``;
* ours: ``creditledger.store.ledger.Ledger`` (msgspec mapper, ``ChainedSQLiteApplicationRecorder``:
  hash-linked rows plus one Ed25519-signed commit row per save), every save signed by a
  registered institution key.

Workloads (only the ``save`` calls are timed, wall and CPU; creating the events is the same on
both sides):

* (a) 10,000 commits of one event each: 100 credit accounts are opened by the first 100
  commits, the other 9,900 commits credit them round-robin;
* (b) 100,000 events in 1,000 commits of 100: the first commit opens 100 accounts, each
  further commit credits every account once.

Verification: ``verify_ledger`` over the (a) and (b) ledgers, against the machine's crypto
bound measured in the same run: SHA-256 over the exact bytes the verifier hashes (the
0x00-prefixed msgpack ``EventLink`` of every event, already in memory) plus cryptography's
``Ed25519PublicKey.verify`` of every commit signature over its exact ``CommitStatement``
message, single-threaded. ``cpu`` is the verifier's CPU time (its process and its worker
processes) over its wall time: 2.0 = both cores busy on a 2-core machine.
"""

from __future__ import annotations

import gc
import hashlib
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from rich.console import Console

from _common import (
    command_line,
    cpu_seconds,
    load_average,
    machine,
    markdown_table,
    parser,
    print_table,
    publish,
    seconds,
    settle,
)
from creditledger.audit.verify import verify_ledger
from creditledger.crypto.keys import SigningKey
from creditledger.store.format import CommitStatement, EventLink
from creditledger.store.ledger import Ledger
from creditledger.store.mapper import decode_state
from creditledger.store.registry import GENESIS_TOPIC, REGISTERED_TOPIC, KeyEntry

ACCOUNTS = 100
TERMS = ("2024-1", "2024-2", "2025-1", "2025-2")
COURSES = ("CS101", "NET210", "MECH140", "ACC305", "WELD120", "NURS230", "ENG102")


class CreditAccount(Aggregate):
    """A learner's credit account: the same aggregate class on both sides."""

    @event("Opened")
    def __init__(self, learner_id: str, institution: str) -> None:
        self.learner_id = learner_id
        self.institution = institution
        self.total = Decimal(0)

    @event("Credited")
    def credit(self, course_code: str, credits: Decimal, term: str, score: Decimal) -> None:
        self.total += credits


def _credit(account: CreditAccount, n: int) -> None:
    account.credit(
        COURSES[n % len(COURSES)],
        Decimal(f"{1 + n % 4}.5"),
        TERMS[n % len(TERMS)],
        Decimal(f"{60 + n % 40}.{n % 10}"),
    )


def _open(i: int) -> CreditAccount:
    return CreditAccount(f"L{2024_000_000 + i}", "Ningbo Polytechnic")


# -- the two sides ---------------------------------------------------------------------------


Save = Callable[..., Any]


@dataclass
class Side:
    name: str
    app: Application[UUID]
    save: Save
    path: Path

    def pragmas(self) -> tuple[int, str]:
        with self.app.recorder.datastore.transaction(commit=False) as c:  # type: ignore[attr-defined]
            c.execute("PRAGMA synchronous")
            synchronous = int(c.fetchone()[0])
            c.execute("PRAGMA journal_mode")
            journal = str(c.fetchone()[0])
        return synchronous, journal

    def close(self) -> None:
        self.app.close()


def plain_side(directory: Path) -> Side:
    path = directory / "plain.sqlite"
    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)}
    app: Application[UUID] = Application(env=env)
    return Side("plain", app, app.save, path)


def our_side(directory: Path) -> Side:
    path = directory / "ours.ledger"
    root = SigningKey.generate()
    institution = SigningKey.generate()
    ledger = Ledger.create(path, root)
    ledger.register_key("Ningbo Polytechnic", institution.public_key, root_key=root)

    def save(*aggregates: Aggregate) -> Any:
        return ledger.save(*aggregates, signer=institution)

    return Side("ours", ledger, save, path)


# -- workloads (only save() is timed) ---------------------------------------------------------


class TimedSave:
    """Wraps a side's ``save``: wall time and this process's CPU time spent in it."""

    def __init__(self, save: Save) -> None:
        self._save = save
        self.wall = 0.0
        self.cpu = 0.0

    def __call__(self, *aggregates: Aggregate) -> None:
        c0, t0 = time.process_time(), time.perf_counter()
        self._save(*aggregates)
        self.wall += time.perf_counter() - t0
        self.cpu += time.process_time() - c0


def workload_a(save: TimedSave, commits: int) -> None:
    """``commits`` commits of one event: open ACCOUNTS accounts, then credit round-robin."""
    accounts: list[CreditAccount] = []
    for n in range(commits):
        if n < ACCOUNTS:
            account = _open(n)
            accounts.append(account)
        else:
            account = accounts[n % ACCOUNTS]
            _credit(account, n)
        save(account)


def workload_b(save: TimedSave, commits: int) -> None:
    """``commits`` commits of ACCOUNTS events: open them all, then credit each once a commit."""
    accounts = [_open(i) for i in range(ACCOUNTS)]
    save(*accounts)
    for n in range(1, commits):
        for account in accounts:
            _credit(account, n)
        save(*accounts)


# -- the crypto bound -------------------------------------------------------------------------


@dataclass
class CryptoWork:
    """The exact bytes ``verify_ledger`` hashes and the exact signed messages it checks."""

    leaves: list[bytes] = field(default_factory=list)  # 0x00 || msgpack(EventLink)
    signatures: list[tuple[Ed25519PublicKey, bytes, bytes]] = field(default_factory=list)

    def run(self) -> float:
        sha256 = hashlib.sha256
        t0 = time.perf_counter()
        for leaf in self.leaves:
            sha256(leaf).digest()
        for key, signature, message in self.signatures:
            key.verify(signature, message)
        return time.perf_counter() - t0


def crypto_work(path: Path, ledger_id: str) -> CryptoWork:
    """Read the ledger (untimed) and build what the verifier hashes and verifies."""
    encoder = msgspec.msgpack.Encoder(order="deterministic")
    work = CryptoWork()
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        keys: dict[str, Ed25519PublicKey] = {}
        for topic, state in conn.execute(
            "SELECT topic, state FROM stored_events WHERE topic IN (?, ?)",
            (GENESIS_TOPIC, REGISTERED_TOPIC),
        ):
            decoded = decode_state(topic, state)
            entry: KeyEntry = decoded["root"] if topic == GENESIS_TOPIC else decoded["entry"]
            keys[entry.key_id] = Ed25519PublicKey.from_public_bytes(entry.public_key)
        hashes: dict[int, list[bytes]] = {}
        for row in conn.execute(
            "SELECT position, commit_seq, originator_id, originator_version, topic, state,"
            " prev_hash, prev_aggregate_hash, hash FROM stored_events ORDER BY position"
        ):
            data = encoder.encode(EventLink(*row[:8]))
            leaf = b"\x00" + data
            if hashlib.sha256(leaf).digest() != row[8]:
                raise SystemExit(f"{path}: event {row[0]} does not hash to its stored hash")
            work.leaves.append(leaf)
            hashes.setdefault(row[1], []).append(row[8])
        for seq, first, _count, at, key_id, signature in conn.execute(
            "SELECT seq, first_position, event_count, committed_at, key_id, signature"
            " FROM ledger_commits ORDER BY seq"
        ):
            message = CommitStatement(ledger_id, seq, first, at, key_id, hashes[seq]).message()
            work.signatures.append((keys[key_id], signature, message))
    finally:
        conn.close()
    return work


# -- running ---------------------------------------------------------------------------------


@dataclass
class Sizes:
    a_commits: int
    b_commits: int
    reps: int

    @property
    def a_events(self) -> int:
        return self.a_commits

    @property
    def b_events(self) -> int:
        return self.b_commits * ACCOUNTS


@dataclass
class Results:
    write: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    write_cpu: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    verify: dict[str, list[float]] = field(default_factory=dict)
    verify_cpu: dict[str, list[float]] = field(default_factory=dict)
    bound: dict[str, list[float]] = field(default_factory=dict)
    pragmas: dict[str, tuple[int, str]] = field(default_factory=dict)
    load: tuple[float, float] = (0.0, 0.0)


def run(sizes: Sizes, workdir: Path, say: Callable[[str], None]) -> tuple[Results, list[Path]]:
    results = Results()
    load_before = load_average()
    makers = {"plain": plain_side, "ours": our_side}
    workloads: dict[str, tuple[Callable[[TimedSave, int], None], int]] = {
        "a": (workload_a, sizes.a_commits),
        "b": (workload_b, sizes.b_commits),
    }
    kept: dict[str, tuple[Path, str]] = {}
    for rep in range(sizes.reps):
        order = ("plain", "ours") if rep % 2 == 0 else ("ours", "plain")
        for wl, (workload, commits) in workloads.items():
            for name in order:
                directory = workdir / f"{wl}-{name}-{rep}"
                directory.mkdir()
                side = makers[name](directory)
                results.pragmas[name] = side.pragmas()
                settle()
                timed = TimedSave(side.save)
                workload(timed, commits)
                results.write.setdefault((wl, name), []).append(timed.wall)
                results.write_cpu.setdefault((wl, name), []).append(timed.cpu)
                say(f"rep {rep + 1}/{sizes.reps} ({wl}) {name:5}: {timed.wall:8.3f} s"
                    f" (cpu {timed.cpu:.3f} s)")
                if name == "ours":
                    ledger_id = side.app.ledger_id  # type: ignore[attr-defined]
                    side.close()
                    previous = kept.get(wl)
                    if previous is not None:
                        shutil.rmtree(previous[0].parent)
                    kept[wl] = (side.path, ledger_id)
                else:
                    side.close()
                    shutil.rmtree(directory)
    if results.pragmas["plain"] != results.pragmas["ours"]:
        raise SystemExit(f"the two sides differ in PRAGMAs: {results.pragmas}")
    for wl, (path, ledger_id) in kept.items():
        work = crypto_work(path, ledger_id)
        for rep in range(sizes.reps):
            gc.collect()
            results.bound.setdefault(wl, []).append(work.run())
            gc.collect()
            cpu0, t0 = cpu_seconds(), time.perf_counter()
            report = verify_ledger(path)
            wall = time.perf_counter() - t0
            cpu = cpu_seconds() - cpu0
            if report.events != len(work.leaves):
                raise SystemExit(f"verify saw {report.events} events, not {len(work.leaves)}")
            results.verify.setdefault(wl, []).append(wall)
            results.verify_cpu.setdefault(wl, []).append(cpu / wall)
            say(f"rep {rep + 1}/{sizes.reps} verify ({wl}): {wall:.3f} s, "
                f"bound {results.bound[wl][-1]:.3f} s, cpu {cpu / wall:.2f}")
        del work
    results.load = (load_before, load_average())
    return results, [p for p, _ in kept.values()]


# -- reporting -------------------------------------------------------------------------------


TARGET_A, TARGET_B, TARGET_VERIFY = 1.10, 1.00, 1.50

Row = tuple[str, str, str, str, str, str, str, str, str]
HEADER: Row = ("case", "plain / bound", "ours", "µs/event plain", "µs/event ours", "ratio",
               "paired", "best", "target")


def rows(sizes: Sizes, r: Results) -> list[Row]:
    med = statistics.median
    out: list[Row] = []
    for wl, label, events, target in (
        ("a", f"(a) {sizes.a_commits:,} commits × 1 event", sizes.a_events, TARGET_A),
        ("b", f"(b) {sizes.b_commits:,} commits × {ACCOUNTS} events", sizes.b_events, TARGET_B),
    ):
        plain, ours = med(r.write[(wl, "plain")]), med(r.write[(wl, "ours")])
        ratio = ours / plain
        paired = med(o / p for o, p in zip(r.write[(wl, "ours")], r.write[(wl, "plain")],
                                           strict=True))
        out.append((
            f"write {label}", f"{plain:.3f} s", f"{ours:.3f} s", f"{plain / events * 1e6:.1f}",
            f"{ours / events * 1e6:.1f}", f"{ratio:.2f}x", f"{paired:.2f}x",
            f"{min(r.write[(wl, 'ours')]) / min(r.write[(wl, 'plain')]):.2f}x",
            f"≤ {target:.2f}x: {'met' if ratio <= target else 'NOT met'}",
        ))
    for wl, events in (("a", sizes.a_events), ("b", sizes.b_events)):
        bound, verify = med(r.bound[wl]), med(r.verify[wl])
        ratio = verify / bound
        paired = med(v / b for v, b in zip(r.verify[wl], r.bound[wl], strict=True))
        cpu = med(r.verify_cpu[wl])
        out.append((
            f"verify ({wl}) ledger, cpu {cpu:.2f} cores", f"{bound:.3f} s", f"{verify:.3f} s",
            f"{bound / events * 1e6:.1f}", f"{verify / events * 1e6:.1f}", f"{ratio:.2f}x",
            f"{paired:.2f}x", f"{min(r.verify[wl]) / min(r.bound[wl]):.2f}x",
            f"≤ {TARGET_VERIFY:.2f}x: {'met' if ratio <= TARGET_VERIFY else 'NOT met'}",
        ))
    return out


def markdown(sizes: Sizes, r: Results, command: str) -> str:
    synchronous, journal = r.pragmas["plain"]
    lines = [
        f"Command: `{command}`",
        "",
        f"Machine: {machine(('eventsourcing', 'msgspec', 'cryptography'))}.",
        f"Both sides: journal_mode={journal}, synchronous={synchronous} (read back from each"
        f" side's connection; equal). Median of {sizes.reps} alternating runs; ratio = ours /"
        " plain for writes, verify / crypto bound for verification (ratio of the medians);"
        " paired = median of the per-run ratios (each pair ran back to back); best = fastest"
        " ours / fastest plain (or bound). The target is judged on ratio.",
        f"Load average (1 min) before / after the run: {r.load[0]:.2f} / {r.load[1]:.2f}.",
        "",
        *markdown_table(HEADER, rows(sizes, r)),
    ]
    med = statistics.median
    lines += ["", "CPU time of this process inside ``save`` (median µs/event; the rest of the"
              " wall time is waiting, mostly for fsync):", ""]
    for wl, events in (("a", sizes.a_events), ("b", sizes.b_events)):
        plain, ours = med(r.write_cpu[(wl, "plain")]), med(r.write_cpu[(wl, "ours")])
        lines.append(f"- write ({wl}): plain {plain / events * 1e6:.1f}, ours"
                     f" {ours / events * 1e6:.1f} ({ours / plain:.2f}x)")
    lines += ["", "Every run, in seconds, in the order run:", ""]
    for (wl, name), times in r.write.items():
        lines.append(f"- write ({wl}) {name}: {seconds(times)}")
    for wl, times in r.verify.items():
        lines.append(f"- verify ({wl}): {seconds(times)}; bound: {seconds(r.bound[wl])};"
                     f" cpu: {', '.join(f'{c:.2f}' for c in r.verify_cpu[wl])}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    options = parser(__doc__)
    options.add_argument("--reps", type=int, default=None, help="runs per side (default 5, 3)")
    args = options.parse_args(argv)
    scale = 10 if args.quick else 1
    reps = args.reps or (3 if args.quick else 5)
    sizes = Sizes(a_commits=10_000 // scale, b_commits=1_000 // scale, reps=reps)
    console = Console(stderr=True)
    command = command_line("store.py", argv)
    with tempfile.TemporaryDirectory(prefix="store-bench-", dir=args.workdir) as tmp:
        results, _ = run(sizes, Path(tmp), lambda s: console.log(s))
    print_table("creditledger store vs plain eventsourcing (SQLite)", HEADER, rows(sizes, results))
    publish(markdown(sizes, results, command), args.markdown_out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

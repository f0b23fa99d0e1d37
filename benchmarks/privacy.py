"""Privacy benchmark (issue 17): opening accounts with and without sealed personal data, and
erasing one learner from a large ledger.

Run from the repository root::

    python benchmarks/privacy.py                    # 20,000-event ledger, 100,000-key store
    python benchmarks/privacy.py --quick            # smaller, a smoke run
    python benchmarks/privacy.py --events 1000000   # the 1,000,000-event ledger (long)

* open: ``CreditBank.open_account`` on three ledgers in this one process, alternately (plain,
  sealed, ahead, then the other way round): a ledger of policy 1 (``seal_personal_data=False``:
  personal data in plaintext) and two of policy 2 (sealed under a data key of its own per
  learner, kept in ``NAME.keys.db``, wrapped by a key-file KEK): "sealed" takes each key from
  the bank's pool, which reserves 100 keys at a time in one key-store commit; "ahead" reserves
  the batch's keys first (``reserve``, what batch import does), timed too. Same school,
  programme, personal data shape, SQLite's default ``synchronous``. Target: sealed costs under
  5 % more (ratio of the medians; the median of the per-batch ratios beside it).
* erase: ``CreditBank.erase_personal_data`` of one learner on a policy-2 ledger of
  ``--events`` events (one ``Opened`` per learner, written in units of work of 1,000), whose key
  store holds a key for every learner; then the same erasure step of the key store alone on a
  store of ``--keys`` keys. The erasure is one signed commit (its cost grows with log n of the
  ledger, through the Merkle tree), reading the learner's events for the key ids they name,
  and destroying those rows of the key store and scrubbing it (incremental vacuum and a
  ``TRUNCATE`` checkpoint: no full rewrite). Target: under 1 s.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _common import command_line, machine, markdown_table, parser, publish, settle
from creditledger import CreditBank, KeyEncryptionKey, PersonalData, SigningKey
from creditledger.crypto.sealing import new_data_key, seal
from creditledger.services.core import ledger_of
from creditledger.store.keystore import SQLiteKeyStore
from creditledger.store.personal import PersonalDataKeys

PERSON = PersonalData(name="陈晓敏", id_document_type="居民身份证",
                      id_document_number="X0000000000000000", contact="13800000000")


class School:
    """A ledger with one school (GZCC) and its programme, sealed or not."""

    def __init__(self, path: Path, sealed: bool) -> None:
        self.root, self.key = SigningKey.generate(), SigningKey.generate()
        self.bank = CreditBank.create(path, self.root, kek=KeyEncryptionKey.generate(),
                                      seal_personal_data=sealed)
        self.bank.register_institution(code="GZCC", name="广州城市职业学院", kind="school",
                                       public_key=self.key.public_key, root_key=self.root)
        self.bank.define_programme(code="530302", name="会计", signer=self.key)
        self.opened = 0

    def open_batch(self, n: int, *, ahead: bool = False) -> tuple[float, float]:
        """Seconds (wall clock, and this process's CPU) to open ``n`` more accounts, one
        signed commit each (``ahead``: their data keys reserved first, in one key-store
        commit, as for a cohort; timed too)."""
        settle()
        t0, c0 = time.perf_counter(), time.process_time()
        if ahead:
            _keys(self.bank).reserve(n)
        for _ in range(n):
            self.opened += 1
            self.bank.open_account(learner_id=f"L{self.opened:07d}", learner_type="student",
                                   personal_data=PERSON, programme_code="530302",
                                   signer=self.key)
        return time.perf_counter() - t0, time.process_time() - c0


def bench_open(folder: Path, batches: int, per_batch: int) -> dict[str, object]:
    """Median seconds per account of each side, and the ratios to plaintext: of the medians,
    the median of the per-batch (paired) ratios, and of the medians of CPU time (which the
    shared disk's and neighbours' noise touches less)."""
    sides = {"plain": School(folder / "plain.ledger", False),
             "sealed": School(folder / "sealed.ledger", True),
             "ahead": School(folder / "ahead.ledger", True)}
    for name, school in sides.items():  # warm (imports, statement caches, first pages)
        school.open_batch(20, ahead=name == "ahead")
    times: dict[str, list[float]] = {name: [] for name in sides}
    cpu: dict[str, list[float]] = {name: [] for name in sides}
    for i in range(batches):
        order = list(sides) if i % 2 == 0 else list(reversed(sides))
        for name in order:
            wall, used = sides[name].open_batch(per_batch, ahead=name == "ahead")
            times[name].append(wall)
            cpu[name].append(used)
    for school in sides.values():
        school.bank.close()
    result: dict[str, object] = {"times": times}
    for name in sides:
        result[f"{name} cpu"] = statistics.median(cpu[name]) / statistics.median(cpu["plain"])
        result[name] = statistics.median(times[name]) / per_batch
        result[f"{name} ratio"] = statistics.median(times[name]) / statistics.median(
            times["plain"])
        result[f"{name} paired"] = statistics.median(
            [s / p for p, s in zip(times["plain"], times[name], strict=True)])
    return result


def build_ledger(path: Path, events: int, progress: Callable[[str], None]) -> School:
    """A sealed ledger of ``events`` learners (one Opened each), keys reserved ahead in bulk."""
    school = School(path, True)
    keys = _keys(school.bank)
    step = 1_000
    for start in range(0, events, step):
        ids = [f"E{n:07d}" for n in range(start, min(events, start + step))]
        keys.reserve(len(ids))
        with ledger_of(school.bank).unit_of_work(school.key):
            for learner in ids:
                school.bank.open_account(learner_id=learner, learner_type="student",
                                         personal_data=PERSON, programme_code="530302",
                                         signer=school.key)
        if start % 100_000 == 0:
            progress(f"  {start + len(ids):,} events written")
    return school


def bench_erase(folder: Path, events: int, keys: int, reps: int,
                progress: Callable[[str], None]) -> dict[str, object]:
    school = build_ledger(folder / "large.ledger", events, progress)
    bank = school.bank
    whole = []
    for n in range(reps):
        settle()
        t0 = time.perf_counter()
        bank.erase_personal_data(f"E{n * 7:07d}", reason="consent withdrawn",
                                 legal_basis="PIPL Art. 47", signer=school.key)
        whole.append(time.perf_counter() - t0)
    size = bank.last_position()
    bank.close()
    store_only = bench_key_store(folder / "many.keys.db", keys, reps)
    return {"events": size, "whole": whole, "store": store_only}


def bench_key_store(path: Path, keys: int, reps: int) -> list[float]:
    """Destroying one key and scrubbing a key store of ``keys`` keys (no ledger)."""
    store = SQLiteKeyStore(path)
    wrapping = KeyEncryptionKey.generate().key_for(b"")
    ids: list[str] = []
    for start in range(0, keys, 10_000):
        rows = [(os.urandom(16).hex(), seal(wrapping, new_data_key(), b"benchmark"))
                for _ in range(min(keys, start + 10_000) - start)]
        store.reserve(rows)
        ids += [key_id for key_id, _ in rows[::997]]  # spread over the store
    times = []
    for n in range(reps):
        settle()
        t0 = time.perf_counter()
        store.destroy(f"{n:032x}", [ids[n % len(ids)]])
        store.scrub()
        times.append(time.perf_counter() - t0)
    store.close()
    return times


def _keys(bank: CreditBank) -> PersonalDataKeys:
    keys = ledger_of(bank).personal
    assert keys is not None
    return keys


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__)
    p.add_argument("--events", type=int, default=20_000, help="events of the erasure ledger")
    p.add_argument("--keys", type=int, default=100_000, help="keys of the key-store-only case")
    p.add_argument("--batches", type=int, default=10, help="alternating open batches per side")
    p.add_argument("--reps", type=int, default=5, help="erasures measured")
    args = p.parse_args(argv)
    per_batch = 20 if args.quick else 100
    events = args.events // 10 if args.quick else args.events
    keys = args.keys // 10 if args.quick else args.keys
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        folder = Path(tmp)
        opened = bench_open(folder, args.batches, per_batch)
        erased = bench_erase(folder, events, keys, args.reps, print)
    publish(report(opened, erased, per_batch, keys, argv), args.markdown_out)
    return 0


def report(opened: dict[str, object], erased: dict[str, object], per_batch: int, keys: int,
           argv: list[str] | None) -> str:
    plain = float(opened["plain"])  # type: ignore[arg-type]
    whole: list[float] = erased["whole"]  # type: ignore[assignment]
    store: list[float] = erased["store"]  # type: ignore[assignment]
    rows = [("open_account, plaintext (policy 1)", f"{plain * 1e6:.0f} µs", "", "")]
    for name, what in (("sealed", "sealed (policy 2), each key from the pool (100 at a time)"),
                       ("ahead", f"sealed, keys reserved ahead per {per_batch} accounts")):
        ratio = float(opened[f"{name} ratio"])  # type: ignore[arg-type]
        paired = float(opened[f"{name} paired"])  # type: ignore[arg-type]
        cpu = float(opened[f"{name} cpu"])  # type: ignore[arg-type]
        rows.append((f"open_account, {what}",
                     f"{float(opened[name]) * 1e6:.0f} µs",  # type: ignore[arg-type]
                     f"{ratio:.3f}x (paired {paired:.3f}x, CPU {cpu:.3f}x)",
                     "< 1.05x: " + ("met" if ratio < 1.05 else "**not met**")))
    rows += [
        (f"erase one learner, ledger of {erased['events']:,} events",
         f"{statistics.median(whole) * 1e3:.1f} ms", f"max {max(whole) * 1e3:.1f} ms",
         "< 1 s: " + ("met" if max(whole) < 1 else "**not met**")),
        (f"destroy + scrub one key, store of {keys:,} keys",
         f"{statistics.median(store) * 1e3:.1f} ms", f"max {max(store) * 1e3:.1f} ms",
         "< 1 s: " + ("met" if max(store) < 1 else "**not met**")),
    ]
    times = {k: [round(t, 4) for t in v]
             for k, v in opened["times"].items()}  # type: ignore[attr-defined]
    lines = [f"Command: `{command_line('privacy.py', argv)}`. Machine: "
             f"{machine(['eventsourcing', 'cryptography'])}.", "",
             *markdown_table(("case", "median", "ratio / spread", "target"), rows), "",
             f"Open batches of {per_batch} accounts, seconds: {times}.",
             f"Erasures, seconds: whole {[round(t, 4) for t in whole]}; "
             f"key store only {[round(t, 4) for t in store]}."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())

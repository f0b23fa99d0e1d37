"""The index of heads (issue 18): what it costs a commit, a checkpoint, a proof and a bundle.

(a) Per-commit cost with and without the index: single-event and 100-event commits, on a ledger
    whose index is built (a checkpoint after every 50 commits) and on one that has none; the
    sides alternate, commit by commit, in one process. The index is never written by a commit,
    so the ratio should be 1.
(b) The checkpoint-time index update (``update_index``: the aggregates that moved since the last
    indexed size) after one 100-event commit and after one single-event commit, on a ledger of
    AGGREGATES aggregates, as a ratio to that commit's own time.
(e) The same update after DAY commits of 100 events (a school that checkpoints daily), as a
    share of those commits' time: what the index costs per commit, amortised.
(c) An index proof at 1,000,000 aggregates (the index built directly through store.heads).
(d) A learner with 200 course results: ``prove`` (build_bundle) and ``verify_bundle`` times.

    python benchmarks/heads.py [--quick] [--markdown-out FILE]
"""

from __future__ import annotations

import hashlib
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from eventsourcing.domain import Aggregate, event

from _common import command_line, machine, markdown_table, parser, print_table, publish
from creditledger.audit.bundle import build_bundle
from creditledger.audit.bundle_verify import verify_bundle
from creditledger.audit.checkpoints import publish_checkpoint
from creditledger.crypto.heads import apply_heads, key_of
from creditledger.crypto.keys import SigningKey
from creditledger.store.heads import SQLITE_HEADS_SCHEMA, StoredIndex, update_index
from creditledger.store.ledger import Ledger


class Counter(Aggregate):
    """A toy aggregate: one per learner record."""

    @event("Started")
    def __init__(self, name: str) -> None:
        self.name = name

    @event("Bumped")
    def bump(self, n: int) -> None:
        pass


def _ledger(path: Path) -> tuple[Ledger, SigningKey]:
    root, school = SigningKey.generate(), SigningKey.generate()
    ledger = Ledger.create(path, root)
    ledger.register_key("School", school.public_key, root_key=root)
    return ledger, school


def _timed(call: Callable[..., Any], *args: Any, **kwargs: Any) -> float:
    t0 = time.perf_counter()
    call(*args, **kwargs)
    return time.perf_counter() - t0


def commit_cost(workdir: Path, commits: int, aggregates: int) -> dict[str, float]:
    """(a): median µs per single-event and per 100-event commit, with and without the index."""
    sides = {}
    for name in ("with", "without"):
        ledger, key = _ledger(workdir / f"{name}.ledger")
        pool = [Counter(f"{name}-{i}") for i in range(aggregates)]
        for i in range(0, aggregates, 500):
            ledger.save(*pool[i:i + 500], signer=key)
        sides[name] = (ledger, key, pool)
    built = sides["with"][0]  # its index brought up to the ledger (what a checkpoint does)
    update_index(built.recorder, built.recorder.max_notification_id())
    times: dict[str, list[float]] = {f"{s} {k}": [] for s in sides for k in ("1", "100")}
    for n in range(commits):
        for name, (ledger, key, pool) in sides.items():
            one = pool[n % len(pool)]
            one.bump(n)
            times[f"{name} 1"].append(_timed(ledger.save, one, signer=key))
            batch = [pool[(n * 100 + j) % len(pool)] for j in range(100)]
            for agg in batch:
                agg.bump(n)
            times[f"{name} 100"].append(_timed(ledger.save, *batch, signer=key))
            if name == "with" and n % 50 == 49:
                update_index(ledger.recorder, ledger.recorder.max_notification_id())
    for ledger, _, _ in sides.values():
        ledger.close()
    return {k: statistics.median(v) * 1e6 for k, v in times.items()}


DAY = 50
"""Commits between two checkpoints in (e)."""


def update_cost(workdir: Path, aggregates: int, reps: int) -> dict[str, float]:
    """(b): the index update after one commit, and the commit itself (median µs)."""
    ledger, key = _ledger(workdir / "update.ledger")
    pool = [Counter(f"u-{i}") for i in range(aggregates)]
    for i in range(0, aggregates, 1000):
        ledger.save(*pool[i:i + 1000], signer=key)
    recorder = ledger.recorder
    update_index(recorder, recorder.max_notification_id())
    out: dict[str, list[float]] = {k: [] for k in ("commit 1", "index 1", "commit 100",
                                                   "index 100")}
    for n in range(reps):
        for size in (1, 100):
            batch = [pool[(n * 137 + j * 7919) % aggregates] for j in range(size)]
            for agg in batch:
                agg.bump(n)
            out[f"commit {size}"].append(_timed(ledger.save, *batch, signer=key))
            out[f"index {size}"].append(_timed(update_index, recorder,
                                               recorder.max_notification_id()))
    result = {k: statistics.median(v) * 1e6 for k, v in out.items()}
    # (e) a day's checkpoint: DAY commits of 100 events, then one index update
    for r in range(3):
        commits = 0.0
        for n in range(DAY):
            batch = [pool[(r * 7 + n * 100 + j) * 7919 % aggregates] for j in range(100)]
            for agg in batch:
                agg.bump(n)
            commits += _timed(ledger.save, *batch, signer=key)
        index = _timed(update_index, recorder, recorder.max_notification_id())
        out.setdefault("day ratio", []).append(index / commits)
    result["day ratio"] = statistics.median(out["day ratio"])
    ledger.close()
    return result


def proof_cost(workdir: Path, aggregates: int, proofs: int) -> tuple[float, float, float, int]:
    """(c): build an index of ``aggregates`` heads directly; median and p99 µs per proof."""
    conn = sqlite3.connect(workdir / "million.db", isolation_level=None)
    for statement in SQLITE_HEADS_SCHEMA:
        conn.execute(statement)
    ids = [hashlib.sha256(i.to_bytes(8, "big")).hexdigest()[:32] for i in range(aggregates)]
    t0 = time.perf_counter()
    conn.execute("BEGIN")
    index = StoredIndex(conn.cursor(), 1)
    apply_heads(index, {key_of(a): (1, hashlib.sha256(a.encode()).digest()) for a in ids})
    index.flush(conn.cursor(), 1)
    conn.execute("COMMIT")
    built = time.perf_counter() - t0
    reader = StoredIndex(conn, 1)
    times, depth = [], 0
    for i in range(proofs):
        oid = ids[(i * 7919) % aggregates]
        t0 = time.perf_counter()
        proof = reader.prove(oid)
        times.append(time.perf_counter() - t0)
        depth = max(depth, len(proof.siblings))
    conn.close()
    times.sort()
    return built, statistics.median(times) * 1e6, times[int(len(times) * 0.99)] * 1e6, depth


def bundle_cost(workdir: Path, courses: int, reps: int) -> tuple[float, float, int]:
    """(d): a learner with ``courses`` course results: median s to prove and to verify."""
    from creditledger import CreditBank, Evidence, KeyEncryptionKey, PersonalData

    root, school = SigningKey.generate(), SigningKey.generate()
    path = workdir / "courses.ledger"
    bank = CreditBank.create(path, root, kek=KeyEncryptionKey.generate())
    bank.register_institution(code="GZCC", name="广州城市职业学院", kind="school",
                              has_credit_system=True, public_key=school.public_key,
                              root_key=root)
    bank.define_programme(code="530302", name="会计", signer=school)
    for i in range(courses):
        bank.define_course(code=f"KJ{i:04d}", name=f"课程 {i}", category="major_elective",
                           nature="选修", course_type="理实一体", attribute="B类",
                           theory_hours=16, practice_hours=16, difficulty=Decimal(1),
                           assessment_method="exam", programmes=["530302"], signer=school)
    bank.open_account(learner_id="S1", learner_type="student",
                      personal_data=PersonalData(name="陈晓敏"), programme_code="530302",
                      signer=school)
    evidence = Evidence(description="exam sheet", reference="archive://exam/1")
    for i in range(courses):
        bank.recognise_course_result(learner_id="S1", course_code=f"KJ{i:04d}",
                                     term="2021-2022-1", score=Decimal(80), evidence=evidence,
                                     signer=school, today=date(2022, 7, 15))
    bank.close()
    publish_checkpoint(path, [root])
    build, verify = [], []
    bundle = build_bundle(path, "S1")
    for _ in range(reps):
        build.append(_timed(build_bundle, path, "S1"))
        verify.append(_timed(verify_bundle, bundle))
    assert verify_bundle(bundle).complete
    return statistics.median(build), statistics.median(verify), len(bundle.aggregates)


def main(argv: list[str] | None = None) -> int:
    options = parser(__doc__)
    options.add_argument("--aggregates", type=int, default=None,
                         help="aggregates of the proof index (default 1,000,000)")
    args = options.parse_args(argv)
    quick = args.quick
    million = args.aggregates or (100_000 if quick else 1_000_000)
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        workdir = Path(tmp)
        a = commit_cost(workdir, 40 if quick else 200, 2_000)
        b = update_cost(workdir, 2_000 if quick else 20_000, 10 if quick else 40)
        built, median, p99, depth = proof_cost(workdir, million, 2_000 if quick else 10_000)
        build_s, verify_s, held = bundle_cost(workdir, 20 if quick else 200, 3 if quick else 5)
    rows = [
        ("(a) single-event commit", f"{a['with 1']:.0f} µs with the index",
         f"{a['without 1']:.0f} µs without", f"{a['with 1'] / a['without 1']:.2f}x"),
        ("(a) 100-event commit", f"{a['with 100']:.0f} µs with the index",
         f"{a['without 100']:.0f} µs without", f"{a['with 100'] / a['without 100']:.2f}x"),
        ("(b) index update after a single-event commit", f"{b['index 1']:.0f} µs",
         f"commit {b['commit 1']:.0f} µs", f"{b['index 1'] / b['commit 1']:.1%}"),
        ("(b) index update after a 100-event commit", f"{b['index 100']:.0f} µs",
         f"commit {b['commit 100']:.0f} µs", f"{b['index 100'] / b['commit 100']:.1%}"),
        (f"(e) index update after {DAY} commits of 100 events (a checkpoint a day)",
         f"{b['day ratio']:.1%} of those commits' time", "", ""),
        (f"(c) index proof, {million:,} aggregates", f"{median:.0f} µs median",
         f"p99 {p99:.0f} µs, depth <= {depth}", f"built in {built:.0f} s"),
        (f"(d) bundle of {held} aggregates ({held - 1} courses)", f"prove {build_s:.3f} s",
         f"verify {verify_s:.3f} s", ""),
    ]
    header = ("case", "figure", "against", "ratio")
    print_table("index of heads", header, rows)
    text = "\n".join([f"`{command_line('heads.py', argv)}` — {machine(['eventsourcing'])}", "",
                      *markdown_table(header, rows), ""])
    publish(text, args.markdown_out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Where verify's time goes on the store benchmark's (b) ledger (100 accounts, commits of 100
events of a test aggregate): the parts of the walk timed alone, single-threaded, against
``benchmarks/store.py``'s crypto bound (SHA-256 of every leaf + Ed25519 of every commit).

Run from the repository root::

    python benchmarks/verify_parts.py            # 1,000 commits (100,000 events), 3 runs
    python benchmarks/verify_parts.py --quick    # 100 commits

Parts: reading every row ``verify`` reads into tuples (``sqlite3``, one statement); the link
hashes (msgpack of the row's link columns + SHA-256, ``store.format.link_hash``); the Merkle
tree's inner nodes over those hashes (``MerkleTree.extend_hashes``, commit by commit); the
signature checks alone; then ``verify_ledger`` whole, with one worker and with the default.
"""

from __future__ import annotations

import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import store as S
from _common import command_line, load_average, machine, parser, publish
from creditledger.audit.verify import verify_ledger
from creditledger.audit.walker import _PeaksOnly
from creditledger.crypto.merkle_tree import MerkleTree
from creditledger.store.format import link_hash

ROWS = ("SELECT position, commit_seq, originator_id, originator_version, topic, state,"
        " prev_hash, prev_aggregate_hash, hash FROM stored_events ORDER BY position")


def parts(path: Path, work: S.CryptoWork) -> dict[str, float]:
    clock = time.perf_counter
    out: dict[str, float] = {}
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    t = clock()
    rows = list(conn.execute(ROWS))
    out["read rows"] = clock() - t
    conn.close()
    t = clock()
    hashes = [link_hash(r[:8]) for r in rows]
    out["link hashes"] = clock() - t
    t = clock()
    tree = MerkleTree(_PeaksOnly())
    for start in range(0, len(hashes), S.ACCOUNTS):
        tree.extend_hashes(hashes[start:start + S.ACCOUNTS])
    out["Merkle inner nodes"] = clock() - t
    t = clock()
    for key, signature, message in work.signatures:
        key.verify(signature, message)
    out["signatures alone"] = clock() - t
    out["bound (leaf SHA-256 + signatures)"] = work.run()
    t = clock()
    verify_ledger(path, workers=1)
    out["verify_ledger, workers=1"] = clock() - t
    t = clock()
    verify_ledger(path)
    out["verify_ledger, default workers"] = clock() - t
    return out


def main(argv: list[str] | None = None) -> int:
    options = parser(__doc__)
    options.add_argument("--reps", type=int, default=3)
    args = options.parse_args(argv)
    commits = 100 if args.quick else 1000
    load = load_average()
    with tempfile.TemporaryDirectory(prefix="verify-parts-", dir=args.workdir) as tmp:
        side = S.our_side(Path(tmp))
        S.workload_b(S.TimedSave(side.save), commits)
        ledger_id = side.app.ledger_id  # type: ignore[attr-defined]
        side.close()
        work = S.crypto_work(side.path, ledger_id)
        runs = [parts(side.path, work) for _ in range(args.reps)]
    bound = statistics.median(r["bound (leaf SHA-256 + signatures)"] for r in runs)
    lines = [f"Command: `{command_line('verify_parts.py', argv)}`", "",
             f"Machine: {machine(('msgspec', 'cryptography'))}. Load average (1 min) before /"
             f" after: {load:.2f} / {load_average():.2f}. {commits * S.ACCOUNTS:,} events in "
             f"{commits:,} commits; median of {args.reps} runs.", "",
             "| part | median | / bound |", "|---|---|---|"]
    for name in runs[0]:
        value = statistics.median(r[name] for r in runs)
        lines.append(f"| {name} | {value:.3f} s | {value / bound:.2f}x |")
    publish("\n".join(lines) + "\n", args.markdown_out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""A witness (C2SP ``tlog-witness``): it cosigns a log's checkpoint only if it extends the last
one it cosigned, so a log cannot show two histories to two audiences and get both cosigned.

The witness keeps, per log it follows (origin and log public key), the size, root and note of
the last checkpoint it cosigned, in a small SQLite file. :meth:`Witness.add_checkpoint` checks
the log's signature, that the request's old size is that latest size, and the consistency proof
from the latest root to the new one; it then records the new checkpoint and commits **before**
returning the cosignature: a witness stopped at any point has cosigned nothing it has not
recorded, so after a restart it never cosigns a second root at a size it has passed.

Requests use the spec's ``add-checkpoint`` body (:class:`AddCheckpoint`), so the file a school
hands to a witness is the same bytes an HTTP witness would receive.
"""

from __future__ import annotations

import base64
import binascii
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from creditledger.crypto.cosignature import WitnessKey, cosign
from creditledger.crypto.keys import PublicKey, SigningKey
from creditledger.crypto.merkle import InvalidProof, verify_consistency
from creditledger.crypto.note import SignedNote, verify_note
from creditledger.errors import (
    CheckpointError,
    UnusableLedgerError,
    WitnessConflictError,
    WitnessError,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS witness (name TEXT NOT NULL, public_key BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS logs (
    origin TEXT PRIMARY KEY, log_key BLOB NOT NULL,
    size INTEGER NOT NULL, root BLOB, note TEXT, cosigned_at INTEGER);
"""
MAX_PROOF = 63


@dataclass(frozen=True)
class AddCheckpoint:
    """A tlog-witness ``add-checkpoint`` request: ``old <size>``, the consistency proof lines
    (base64), a blank line, then the signed checkpoint."""

    old_size: int
    proof: tuple[bytes, ...]
    checkpoint: str

    def format(self) -> str:
        lines = [f"old {self.old_size}", *(base64.b64encode(h).decode() for h in self.proof)]
        return "\n".join(lines) + "\n\n" + self.checkpoint

    @classmethod
    def parse(cls, text: str) -> AddCheckpoint:
        head, sep, checkpoint = text.partition("\n\n")
        lines = head.split("\n")
        if not sep or not lines[0].startswith("old ") or len(lines) > MAX_PROOF + 1:
            raise WitnessError("not an add-checkpoint request (old <size>, proof, blank line, "
                               "checkpoint)")
        size = lines[0][4:]
        if not (size.isascii() and size.isdigit()) or (size != "0" and size.startswith("0")):
            raise WitnessError(f"old size is not a canonical decimal: {size!r}")
        try:
            proof = tuple(base64.b64decode(line, validate=True) for line in lines[1:])
        except (binascii.Error, ValueError) as e:
            raise WitnessError("a consistency proof line is not base64") from e
        return cls(int(size), proof, checkpoint)


@dataclass(frozen=True)
class FollowedLog:
    """A log the witness follows and the last checkpoint it cosigned (size 0: none yet)."""

    origin: str
    log_key: PublicKey
    size: int
    root: bytes | None
    cosigned_at: int | None


class Witness:
    """A witness's state file and key. Use :meth:`init` once, then :meth:`open`."""

    def __init__(self, conn: sqlite3.Connection, name: str, key: SigningKey) -> None:
        self._conn, self.name, self._key = conn, name, key
        self.public = WitnessKey(name, key.public_key)

    @classmethod
    def init(cls, state_path: str | Path, name: str, key: SigningKey) -> Witness:
        """Create the state file of witness ``name`` signing with ``key``."""
        if not name or any(c.isspace() or c == "+" for c in name):
            raise WitnessError(f"witness name must have no spaces or '+': {name!r}")
        if Path(state_path).exists():
            raise UnusableLedgerError(f"{state_path} exists already")
        conn = _connect(state_path)
        with conn:
            conn.executescript(_SCHEMA)
            conn.execute("INSERT INTO witness VALUES (?, ?)", (name, key.public_key.raw))
        return cls(conn, name, key)

    @classmethod
    def open(cls, state_path: str | Path, key: SigningKey) -> Witness:
        """Open an existing state file; ``key`` must be the key it was made for."""
        if not Path(state_path).is_file():
            raise UnusableLedgerError(f"{state_path}: no witness state file (witness init)")
        conn = _connect(state_path)
        try:
            row = conn.execute("SELECT name, public_key FROM witness").fetchone()
        except sqlite3.DatabaseError as e:
            conn.close()
            raise UnusableLedgerError(f"{state_path}: not a witness state file ({e})") from e
        if row is None or bytes(row[1]) != key.public_key.raw:
            conn.close()
            raise UnusableLedgerError(f"{state_path}: the key is not this witness's key")
        return cls(conn, str(row[0]), key)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Witness:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def follow(self, origin: str, log_key: PublicKey) -> None:
        """Start following the log ``origin`` signed by ``log_key`` (from size 0)."""
        with self._conn:
            row = self._conn.execute("SELECT log_key FROM logs WHERE origin=?",
                                     (origin,)).fetchone()
            if row is not None and bytes(row[0]) != log_key.raw:
                raise WitnessError(f"already following {origin} with another key", 409)
            self._conn.execute("INSERT OR IGNORE INTO logs (origin, log_key, size) "
                               "VALUES (?, ?, 0)", (origin, log_key.raw))

    def logs(self) -> list[FollowedLog]:
        rows = self._conn.execute(
            "SELECT origin, log_key, size, root, cosigned_at FROM logs ORDER BY origin")
        return [FollowedLog(o, PublicKey(bytes(k)), s, None if r is None else bytes(r), t)
                for o, k, s, r, t in rows]

    def add_checkpoint(self, request: AddCheckpoint, now: int | None = None) -> str:
        """Check ``request`` against the log's latest cosigned checkpoint, record the new one,
        and return the cosignature line. Raises :class:`WitnessError` (or its
        :class:`WitnessConflictError`) naming why the checkpoint is refused."""
        try:
            note = SignedNote.parse(request.checkpoint)
            checkpoint = note.checkpoint()
        except CheckpointError as e:
            raise WitnessError(f"malformed checkpoint: {e}") from e
        origin = checkpoint.origin
        cur = self._conn.cursor()
        cur.execute("BEGIN IMMEDIATE")  # check and record under one write lock
        try:
            row = cur.execute("SELECT log_key, size, root, note FROM logs WHERE origin=?",
                              (origin,)).fetchone()
            if row is None:
                raise WitnessError(f"this witness does not follow the log {origin}", 404)
            log_key, latest, root = PublicKey(bytes(row[0])), int(row[1]), row[2]
            try:
                verify_note(note, origin, [log_key])
            except CheckpointError as e:
                raise WitnessError(f"not signed by the log's key: {e}", 403) from e
            self._check(request, checkpoint.size, checkpoint.root, latest,
                        None if root is None else bytes(root))
            if checkpoint.size == latest and row[3] is not None \
                    and SignedNote.parse(row[3]).text != note.text:
                raise WitnessConflictError(  # e.g. another index of heads (its extension line)
                    f"split view: the witness cosigned another checkpoint body at size {latest} "
                    "(same root, other extension lines)", latest, split_view=True)
            stamp = int(time.time()) if now is None else now
            cur.execute("UPDATE logs SET size=?, root=?, note=?, cosigned_at=? WHERE origin=?",
                        (checkpoint.size, checkpoint.root, request.checkpoint, stamp, origin))
            cur.execute("COMMIT")  # recorded before any cosignature leaves the witness
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        return cosign(note.text, self.name, self._key, stamp).line()

    @staticmethod
    def _check(request: AddCheckpoint, size: int, root: bytes, latest: int,
               latest_root: bytes | None) -> None:
        if request.old_size > size:
            raise WitnessError(f"old size {request.old_size} is beyond the checkpoint's {size}")
        if request.old_size != latest:
            raise WitnessConflictError(
                f"old size {request.old_size} is not this witness's latest size {latest} for "
                "the log", latest)
        if latest == 0 or latest_root is None:
            if request.proof:
                raise WitnessError("a request from size 0 carries no proof")
            return
        if size == latest and root != latest_root:
            raise WitnessConflictError(
                f"split view: the witness cosigned another root at size {size}", latest,
                split_view=True)
        try:
            verify_consistency(latest, size, list(request.proof), latest_root, root)
        except InvalidProof as e:
            raise WitnessError(f"the checkpoint does not extend the one of size {latest} this "
                               f"witness cosigned: {e}", 422) from e


def _connect(path: str | Path) -> sqlite3.Connection:
    # autocommit mode: transactions are explicit (BEGIN IMMEDIATE), never implicit
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    return conn

"""Signing a commit as the writer would, for tests that write rows by hand."""

from __future__ import annotations

from typing import Any

from creditledger.store.format import CommitStatement
from creditledger.store.registry import REGISTRY_EVENTS, key_book, registry_id


def signed_statement(cursor: Any, ledger_id: str, seq: int, first: int, at: int, key_id: str,
                     hashes: list[bytes]) -> CommitStatement:
    """What a commit signs, in the ledger's format, with the key's role and staff id as the
    registry (read through ``cursor``) gives them."""
    rows = cursor.execute(REGISTRY_EVENTS, (registry_id(ledger_id).hex,)).fetchall()
    return key_book(rows).statement(seq, first, at, key_id, hashes)

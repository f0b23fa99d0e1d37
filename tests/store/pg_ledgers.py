"""Real PostgreSQL ledgers for the auditor's tests, and an attacker who owns their tables.

``build_pg_ledger`` writes the same shape of ledger as ``ledgers.build_ledger`` does to a file,
into a schema of the test server: 1 genesis, 2–3 key registrations, 4–6 three accounts opened
(one commit), then single-event commits from position 7 on (``rounds`` of three). ``PgTamper``
is someone with the ledger role's password, i.e. the tables' owner: the append-only triggers
stop plain edits, so it disables them first (``ALTER TABLE ... DISABLE TRIGGER ALL``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import psycopg
from psycopg import sql

from creditledger.crypto.keys import SigningKey
from creditledger.store.ledger import Ledger
from tests.store.ledgers import Account

TABLES = ("stored_events", "ledger_commits", "ledger_info", "merkle_nodes")


@dataclass
class PgBuilt:
    url: str
    root: SigningKey
    school_a: SigningKey
    school_b: SigningKey
    account_ids: list[Any] = field(default_factory=list)


def build_pg_ledger(url: str, *, rounds: int = 4) -> PgBuilt:
    """A ledger whose single-event commits alternate between two schools' keys."""
    root, a, b = SigningKey.generate(), SigningKey.generate(), SigningKey.generate()
    ledger = Ledger.create(url, root)
    try:
        ledger.register_key("school-a", a.public_key, root_key=root)
        ledger.register_key("school-b", b.public_key, root_key=root)
        built = PgBuilt(url, root, a, b)
        accounts = [Account(f"learner-{i}") for i in range(3)]
        ledger.save(*accounts, signer=a)
        for round_ in range(rounds):
            for i, account in enumerate(accounts):
                account.credit(Decimal("1.5") + i, note=f"round {round_} 学分")
                ledger.save(account, signer=a if (round_ + i) % 2 else b)
        built.account_ids = [account.id for account in accounts]
    finally:
        ledger.close()
    return built


def schema_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["schema"][0]


def connect(url: str, **kwargs: Any) -> psycopg.Connection[tuple[Any, ...]]:
    """A plain connection to the ledger's schema (as the ledger's role)."""
    return psycopg.connect(url.split("?", 1)[0], options=f"-c search_path={schema_of(url)}",
                           **kwargs)


class PgTamper:
    """The tables' owner, editing rows with plain SQL after disabling the triggers."""

    def __init__(self, url: str) -> None:
        self.conn = connect(url, autocommit=True)
        for table in TABLES:
            self.conn.execute(sql.SQL("ALTER TABLE {0} DISABLE TRIGGER ALL").format(
                sql.Identifier(table)))

    def __enter__(self) -> PgTamper:
        return self

    def __exit__(self, *exc: object) -> None:
        self.conn.close()

    def event(self, position: int) -> dict[str, Any]:
        cur = self.conn.execute("SELECT * FROM stored_events WHERE position=%s", (position,))
        names = [d.name for d in cur.description or ()]
        return dict(zip(names, cur.fetchone() or (), strict=True))

    def set(self, table: str, key: str, key_value: Any, column: str, value: Any) -> None:
        self.conn.execute(sql.SQL("UPDATE {0} SET {1}=%s WHERE {2}=%s").format(
            sql.Identifier(table), sql.Identifier(column), sql.Identifier(key)),
            (value, key_value))

    def delete(self, table: str, where: str, *params: Any) -> int:
        cur = self.conn.execute(
            sql.SQL("DELETE FROM {0} WHERE ").format(sql.Identifier(table)) + sql.SQL(where),
            params)
        return cur.rowcount

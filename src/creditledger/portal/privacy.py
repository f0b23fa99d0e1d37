"""No personal field on the portal: which columns are personal, and the views served instead of
a table that carries one.

A learner's personal data (:class:`~creditledger.domain.PersonalData`: name, ID document type
and number, contact) is kept out of the read models by default, but a views database built with
personal data asked for (or by an older version) may still carry it. The portal does not trust
that: a table with a personal column is withheld (Datasette refuses it to everyone) and served as
``TABLE_public``, an SQL view of its other columns. Arbitrary SQL is refused as well, so no
query can reach the withheld columns.
"""

from __future__ import annotations

import sqlite_utils

from creditledger.domain import PersonalData

PUBLIC_SUFFIX = "_public"

PERSONAL_BESIDE_A_LEARNER = frozenset({"name", "name_en"})
"""Names that are personal in a table about learners (one with a ``learner_id`` column), and a
course's or an institution's name elsewhere."""

ALWAYS_PERSONAL = frozenset({
    *PersonalData.__struct_fields__, "learner_name", "id_number", "id_document", "phone",
    "mobile", "email", "address", "birth_date", "date_of_birth", "personal_data",
}) - PERSONAL_BESIDE_A_LEARNER
"""Column names that are personal wherever they stand (the fields of ``PersonalData`` but its
name, and the usual names of contact and identity columns)."""


def personal_columns(db: sqlite_utils.Database, table: str) -> list[str]:
    """The personal columns of ``table`` (empty for a table the portal may show as it is)."""
    columns = [c.name for c in db[table].columns]
    about_learners = "learner_id" in columns
    return [c for c in columns if c.lower() in ALWAYS_PERSONAL
            or (about_learners and c.lower() in PERSONAL_BESIDE_A_LEARNER)]


def publish_public_views(db: sqlite_utils.Database) -> dict[str, str]:
    """Withhold every table with a personal column and (re)create its public view in ``db``
    (the views database, opened for writing); return ``{withheld table: its public view}``.

    The views are made afresh on every start, from the tables' columns as they are then, so a
    table whose shape changed (a personal column dropped or added) is served right.
    """
    withheld: dict[str, str] = {}
    with db.atomic():
        for table in db.table_names():
            view = table + PUBLIC_SUFFIX
            db.execute(f"DROP VIEW IF EXISTS [{view}]")
            personal = personal_columns(db, table)
            if not personal:
                continue
            kept = [c.name for c in db[table].columns if c.name not in personal]
            columns = ", ".join(f"[{c}]" for c in kept)
            db.execute(f"CREATE VIEW [{view}] AS SELECT {columns} FROM [{table}]")
            withheld[table] = view
    return withheld

"""Read models (projections) of the ledger, kept in their own SQLite database.

The event log is the truth; everything a person looks at is derived here and can be dropped and
rebuilt. See :mod:`creditledger.projections.runner` for how they are kept (a polling
subscription, exactly-once, resumable) and :mod:`creditledger.projections.queries` for reading.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from eventsourcing.application import Application

from creditledger.errors import ProjectionTimeout, ValidationError
from creditledger.projections.alliance import AllianceProjection
from creditledger.projections.credits import CatalogProjection, CreditsProjection
from creditledger.projections.pilot import PilotProjection
from creditledger.projections.runner import Change, Projection, Projector, views_path_for
from creditledger.projections.transfers import TransfersProjection


def default_projections() -> list[Projection]:
    """The read models the CLI and the docs use."""
    return [CatalogProjection(), CreditsProjection(), PilotProjection(), TransfersProjection(),
            AllianceProjection()]


def open_projector(ledger: Application[Any], views: str | Path | None = None) -> Projector:
    """A projector for ``ledger``'s default read models.

    The views database is a local SQLite file; beside a ledger file it defaults to
    ``LEDGER.views.db``. A ledger on a server has no file to put it beside: give ``views``.
    """
    if views is None:
        db_name = ledger.env.get("SQLITE_DBNAME")
        if ledger.env.get("PERSISTENCE_MODULE") != "eventsourcing.sqlite" or not db_name:
            raise ValidationError(
                "views", "this ledger is not a file: give the views database's path")
        views = views_path_for(db_name)
    return Projector(ledger.recorder, views, default_projections())


__all__ = [
    "AllianceProjection",
    "CatalogProjection",
    "Change",
    "CreditsProjection",
    "PilotProjection",
    "Projection",
    "ProjectionTimeout",
    "Projector",
    "TransfersProjection",
    "default_projections",
    "open_projector",
    "views_path_for",
]

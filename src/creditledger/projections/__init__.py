"""Read models (projections) of the ledger, kept in their own SQLite database.

The event log is the truth; everything a person looks at is derived here and can be dropped and
rebuilt. See :mod:`creditledger.projections.runner` for how they are kept (a polling
subscription, exactly-once, resumable) and :mod:`creditledger.projections.queries` for reading.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from eventsourcing.application import Application

from creditledger.projections.alliance import AllianceProjection
from creditledger.projections.credits import CatalogProjection, CreditsProjection
from creditledger.projections.pilot import PilotProjection
from creditledger.projections.runner import (
    Change,
    Projection,
    ProjectionTimeout,
    Projector,
    views_path_for,
)
from creditledger.projections.transfers import TransfersProjection


def default_projections() -> list[Projection]:
    """The read models the CLI and the docs use."""
    return [CatalogProjection(), CreditsProjection(), PilotProjection(), TransfersProjection(),
            AllianceProjection()]


def open_projector(ledger: Application[Any], views: str | Path | None = None) -> Projector:
    """A projector for ``ledger``'s default read models; views default to ``*.views.db``."""
    if views is None:
        views = views_path_for(ledger.env.get("SQLITE_DBNAME") or "ledger")
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

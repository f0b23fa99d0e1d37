"""The portal's Datasette plugin: the charts page's route (registered by
:func:`creditledger.portal.server.build_app`)."""

from __future__ import annotations

from typing import Any

from datasette import hookimpl

from creditledger.portal.charts import charts_page


def register_routes() -> list[tuple[str, Any]]:
    """``/-/charts``: the 统计图表 page."""
    return [(r"^/-/charts$", charts_page)]


hookimpl(register_routes)  # marks it as Datasette's hook (called, not decorated: untyped)

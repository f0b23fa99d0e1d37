"""Shared test configuration: hypothesis profiles, the ``--soak`` flag, and PostgreSQL.

Profiles: ``ci`` (set when the ``CI`` environment variable is present) keeps the whole suite
within the CI budget; ``dev`` is the default; ``soak`` (``--soak`` or ``HYPOTHESIS_PROFILE=soak``)
runs many more examples and the tests marked ``soak``.

PostgreSQL: tests that need a server take the :func:`pg_url` fixture (a fresh schema on the
server ``CREDITLEDGER_TEST_POSTGRES`` names, dropped afterwards) or :func:`ledger_target`
(each test once per backend). Without that variable they are skipped, except under CI, where
they fail: ``.ci/run`` installs and starts the server, and no backend may be skipped silently.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

_COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
settings.register_profile("ci", max_examples=40, derandomize=True, **_COMMON)  # type: ignore[arg-type]
settings.register_profile("dev", max_examples=25, **_COMMON)  # type: ignore[arg-type]
settings.register_profile("soak", max_examples=1000, **_COMMON)  # type: ignore[arg-type]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--soak", action="store_true", help="run long soak tests and profile")


def pytest_configure(config: pytest.Config) -> None:
    default = "ci" if os.environ.get("CI") else "dev"
    profile = os.environ.get("HYPOTHESIS_PROFILE", default)
    if config.getoption("--soak"):
        profile = "soak"
    settings.load_profile(profile)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--soak"):
        return
    skip = pytest.mark.skip(reason="soak test: run with --soak")
    for item in items:
        if "soak" in item.keywords:
            item.add_marker(skip)


PG_ENV = "CREDITLEDGER_TEST_POSTGRES"
"""``postgresql://USER:PASSWORD@HOST:PORT/DBNAME`` of the test server (no ``?schema=``)."""


def postgres_base_url() -> str:
    """The test server's URL; skip the test without one (fail under CI)."""
    base = os.environ.get(PG_ENV)
    if not base:
        if os.environ.get("CI"):
            pytest.fail(f"{PG_ENV} is not set: CI must run the PostgreSQL tests")
        pytest.skip(f"no PostgreSQL test server: set {PG_ENV}=postgresql://USER:PW@HOST/DB")
    return base


def drop_schema(base: str, schema: str) -> None:
    """Drop a test schema and everything in it."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {0} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture()
def pg_url() -> Iterator[str]:
    """A ``postgresql://...?schema=...`` URL of a fresh, empty schema on the test server."""
    base = postgres_base_url()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    yield f"{base}?schema={schema}"
    drop_schema(base, schema)


@pytest.fixture(params=["sqlite", "postgres"])
def ledger_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | Path]:
    """Where to create a new ledger: a SQLite file, then a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield tmp_path / "test.ledger"
        return
    base = postgres_base_url()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    yield f"{base}?schema={schema}"
    drop_schema(base, schema)

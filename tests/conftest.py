"""Shared test configuration: hypothesis profiles and the ``--soak`` flag.

Profiles: ``ci`` (set when the ``CI`` environment variable is present) keeps the whole suite
within the CI budget; ``dev`` is the default; ``soak`` (``--soak`` or ``HYPOTHESIS_PROFILE=soak``)
runs many more examples and the tests marked ``soak``.
"""

from __future__ import annotations

import os

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

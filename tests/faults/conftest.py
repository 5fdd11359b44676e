"""Fault tests run on private PostgreSQL and Redis servers (services.py), never on the shared ones."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _clean_cache() -> None:
    """Replaces the suite's cache clearing: these tests must not touch the shared Redis."""

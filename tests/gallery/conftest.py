"""Fixtures of the gallery's in-process tests."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["sqlite", "postgresql"])
def services(request, tmp_path):
    """The server's services (no HTTP, no job workers) on each database: SQLite, and the suite's PostgreSQL."""
    from phonecloud.core.settings import Settings
    from phonecloud.server.container import Services

    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    started = Services.start(Settings(data_dir=tmp_path / "data", database_url=url, embedded_workers=0))
    yield started
    started.close()

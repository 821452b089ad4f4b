"""Fixtures shared by unit and integration tests: databases on both backends, a fake clock."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from commands.context import FixedClock
from storage import Database
from tests.databases import PG_MISSING, fresh_postgres, postgres_url

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
async def db(request: pytest.FixtureRequest) -> AsyncIterator[Database]:
    """A migrated, empty database: in-memory SQLite, and PostgreSQL when configured."""
    if request.param == "sqlite":
        database = Database("sqlite+aiosqlite://")
        await database.migrate()
        yield database
        await database.close()
        return
    if postgres_url() is None:
        pytest.skip(PG_MISSING)
    async with fresh_postgres() as url:
        database = Database(url)
        await database.migrate()
        yield database
        await database.close()


@pytest.fixture
async def sqlite_db() -> AsyncIterator[Database]:
    """In-memory SQLite only: for command logic that does not depend on the backend."""
    database = Database("sqlite+aiosqlite://")
    await database.migrate()
    yield database
    await database.close()


@pytest.fixture
def clock() -> FixedClock:
    # Friday 2026-11-27 10:00 in Berlin.
    return FixedClock(datetime(2026, 11, 27, 9, 0, tzinfo=UTC))


def pytest_report_header() -> str:
    if postgres_url():
        return f"database legs: sqlite + postgresql ({postgres_url()})"
    return f"database legs: sqlite only -- {PG_MISSING}"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say plainly which database legs ran, so a missing PostgreSQL leg can't hide."""
    for leg in BACKENDS:
        mark = re.compile(rf"\[{leg}[\]-]")
        passed = [r for r in terminalreporter.stats.get("passed", []) if mark.search(r.nodeid)]
        skipped = [r for r in terminalreporter.stats.get("skipped", []) if mark.search(r.nodeid)]
        terminalreporter.write_line(
            f"database leg {leg}: {len(passed)} passed, {len(skipped)} skipped"
        )

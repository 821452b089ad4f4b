"""Test databases: in-memory SQLite always, and a fresh PostgreSQL database per test when
LABNETZ_TEST_DATABASE_URL points at a server (as .ci/run arranges)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.engine import make_url

PG_ENV = "LABNETZ_TEST_DATABASE_URL"
PG_MISSING = (
    f"POSTGRESQL LEG NOT RUN: set {PG_ENV}=postgresql+asyncpg://postgres@127.0.0.1:5432/test "
    "(.ci/run does this when the server answers)"
)


def postgres_url() -> str | None:
    return os.environ.get(PG_ENV) or None


@asynccontextmanager
async def fresh_postgres() -> AsyncIterator[str]:
    """A new, empty database on the configured server, dropped afterwards."""
    import asyncpg

    base = make_url(postgres_url())
    name = f"labnetz_t_{uuid.uuid4().hex[:12]}"
    admin_dsn = base.set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        conn = await asyncpg.connect(admin_dsn)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


def sqlite_file_url(directory: str) -> str:
    return f"sqlite+aiosqlite:///{directory}/labnetz.db"

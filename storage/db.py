"""Engine, sessions and migrations. SQLite by default, PostgreSQL through the same URL setting."""

from __future__ import annotations

import fcntl
import re
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import IO, Any

from sqlalchemy import event, inspect, select, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import StaticPool

from storage.expert_vocabulary import CACHE_KEY, VocabularyCache
from storage.models import Meta
from storage.repos import Store

MIGRATIONS = Path(__file__).parent / "migrations"
PROCESS_LOCK_KEY = 0x4C61626E65747A  # "Labnetz": one running bot per database (claim_process)
PING_AFTER_IDLE = 1.0  # seconds a pooled PostgreSQL connection may rest before it is pinged at checkout


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _sqlite_reset(dbapi_connection: Any, record: Any, state: Any) -> None:
    """A connection back in the pool is rolled back only when a transaction is open on it
    (the pool's default rolls back every time, one more hop to SQLite's thread per command)."""
    if state.asyncio_safe and not state.transaction_was_reset and record.driver_connection.in_transaction:
        dbapi_connection.rollback()


def _ping_when_idle(engine: Any) -> None:
    """Pessimistic disconnect handling, like `pool_pre_ping`, but a connection that was in use
    less than PING_AFTER_IDLE seconds ago is not pinged: commands in quick succession spare
    a round trip each, and one that waited (a server restart in between) is checked as before.
    A failed ping makes the pool replace the connection."""

    def checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")  # None: a new connection
        if since is None or time.monotonic() - since < PING_AFTER_IDLE:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as err:
            raise DisconnectionError("ping failed") from err

    event.listen(engine, "checkin", checkin)
    event.listen(engine, "checkout", checkout)


class Database:
    """One engine per process; `transaction()` yields a `Store` bound to one transaction."""

    def __init__(self, url: str, echo: bool = False) -> None:
        parsed = make_url(url)
        self.url = url
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            kwargs["pool_reset_on_return"] = None  # see _sqlite_reset
            database = parsed.database or ""
            if database in ("", ":memory:"):
                kwargs["poolclass"] = StaticPool
                kwargs["connect_args"] = {"check_same_thread": False}
            else:
                Path(database).parent.mkdir(parents=True, exist_ok=True)
        self.engine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            event.listen(self.engine.sync_engine, "reset", _sqlite_reset)
        else:
            _ping_when_idle(self.engine.sync_engine)
        # Sessions share what this process caches of the database (see storage/expert_vocabulary.py).
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False,
                                           info={CACHE_KEY: VocabularyCache()})
        self._installation_id: str | None = None
        self._lock_connection: AsyncConnection | None = None  # see claim_process
        self._lock_file: IO[str] | None = None

    async def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (Alembic is only loaded when needed)."""
        async with self.engine.begin() as conn:
            if await conn.run_sync(_current_revisions) != [head_revision()]:
                await conn.run_sync(_upgrade)
        await self._ensure_installation_id()

    async def _ensure_installation_id(self) -> None:
        async with self.sessions.begin() as session:
            row = await session.get(Meta, "installation_id")
            if row is None:
                row = Meta(key="installation_id", value=secrets.token_hex(6))
                session.add(row)
            self._installation_id = row.value

    @property
    def installation_id(self) -> str:
        if self._installation_id is None:
            raise RuntimeError("database not migrated yet")
        return self._installation_id

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Store]:
        """A unit of work: commits when the block ends, rolls back on any exception."""
        async with self.sessions.begin() as session:
            yield Store(session)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session:
            yield session

    async def current_revision(self) -> str | None:
        async with self.engine.connect() as conn:
            try:
                result = await conn.execute(text("SELECT version_num FROM alembic_version"))
            except Exception:
                return None
            return result.scalar_one_or_none()

    async def ping(self) -> bool:
        async with self.engine.connect() as conn:
            await conn.execute(select(1))
        return True

    async def claim_process(self) -> bool:
        """Make this the only process running the bot on this database; False when another one
        already does. PostgreSQL: a session advisory lock on a connection kept for the process's
        life; SQLite: an exclusive lock on `<database file>.lock`. Either ends with the process,
        however it ends (kill -9 too). Two bots on one database could both pick the same
        outbox row, and the second would send it from its own device: a duplicate."""
        if self._lock_connection is not None or self._lock_file is not None:
            return True
        if not self.is_sqlite:
            conn = await self.engine.connect()
            if await conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": PROCESS_LOCK_KEY}):
                await conn.commit()  # the lock is the session's: it outlives the transaction
                self._lock_connection = conn
                return True
            await conn.close()
            return False
        database = make_url(str(self.engine.url)).database or ""
        if database in ("", ":memory:"):
            return True  # a memory database is this process's own
        handle = open(f"{database}.lock", "a")  # noqa: SIM115 - held open for the process's life
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._lock_file = handle
        return True

    async def close(self) -> None:
        if self._lock_connection is not None:
            await self._lock_connection.close()
            self._lock_connection = None
        if self._lock_file is not None:
            self._lock_file.close()  # releases the lock
            self._lock_file = None
        await self.engine.dispose()


_REVISION = re.compile(r"""^revision\s*=\s*["']([^"']+)["']""", re.MULTILINE)
_DOWN_REVISION = re.compile(r"""^down_revision\s*=\s*["']([^"']+)["']""", re.MULTILINE)


def head_revision() -> str | None:
    """The head of the migration chain, read from the files without importing Alembic.

    Importing Alembic costs a good part of a second of start-up; a database already at the head
    does not need it. None when the files are not one plain chain (then Alembic decides).
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        if (found := _REVISION.search(source)) is None:
            return None
        revisions.add(found[1])
        if (parent := _DOWN_REVISION.search(source)) is not None:
            parents.add(parent[1])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _current_revisions(connection: Connection) -> list[str]:
    if not inspect(connection).has_table("alembic_version"):
        return []
    return [row[0] for row in connection.execute(text("SELECT version_num FROM alembic_version"))]


def _upgrade(connection: Connection) -> None:
    from alembic import command
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, "head")

"""Storage on both backends: migrations, outbox bookkeeping, handled events, audit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from sqlalchemy import text

from commands.context import FixedClock
from storage import Database
from storage.db import MIGRATIONS
from tests.databases import PG_MISSING, fresh_postgres, postgres_url


def _head() -> str:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    heads = ScriptDirectory.from_config(cfg).get_heads()
    assert len(heads) == 1, f"migrations must form one chain, found heads {heads}"
    return heads[0]


async def test_migration_reaches_head_and_sets_an_installation_id(db: Database) -> None:
    head = _head()
    assert head == f"{len(list(MIGRATIONS.glob('versions/0*.py'))):04d}"  # numbered without gaps
    assert await db.current_revision() == head
    assert len(db.installation_id) == 12
    await db.migrate()  # a second run is a no-op
    assert await db.current_revision() == head


async def test_outbox_row_is_due_until_sent_and_then_counted_as_sent(
    db: Database, clock: FixedClock
) -> None:
    async with db.transaction() as store:
        row = await store.outbox.add("!r:x", {"msgtype": "m.notice", "body": "hi"}, now=clock.now())
    async with db.transaction() as store:
        due = await store.outbox.due(clock.now())
        assert [r.id for r in due] == [row.id]
        assert due[0].content == {"msgtype": "m.notice", "body": "hi"}
        assert due[0].created_at == clock.now()
        await store.outbox.mark_sent(row.id, "$e", clock.now())
    async with db.transaction() as store:
        assert await store.outbox.due(clock.now()) == []
        assert await store.outbox.counts() == {"pending": 0, "sent": 1, "failed": 0}
        sent = await store.outbox.get(row.id)
        assert sent is not None and sent.event_id == "$e" and sent.attempts == 1


async def test_many_sent_rows_are_recorded_at_once_each_with_its_own_event(
    db: Database, clock: FixedClock
) -> None:
    async with db.transaction() as store:
        rows = [await store.outbox.add("!r:x", {"body": str(k)}, now=clock.now()) for k in range(3)]
    later = clock.now() + timedelta(seconds=1)
    async with db.transaction() as store:
        await store.outbox.mark_sent_many({rows[0].id: ("$a", later), rows[2].id: ("$c", later)})
    async with db.transaction() as store:
        assert [r.id for r in await store.outbox.due(later)] == [rows[1].id]
        first, third = await store.outbox.get(rows[0].id), await store.outbox.get(rows[2].id)
        assert first is not None and (first.event_id, first.attempts, first.sent_at) == ("$a", 1, later)
        assert third is not None and third.event_id == "$c"
        assert await store.outbox.counts() == {"pending": 1, "sent": 2, "failed": 0}


async def test_rolled_back_transaction_leaves_no_outbox_row(db: Database, clock: FixedClock) -> None:
    class Boom(Exception):
        pass

    try:
        async with db.transaction() as store:
            await store.outbox.add("!r:x", {"body": "lost"}, now=clock.now())
            raise Boom
    except Boom:
        pass
    async with db.transaction() as store:
        assert await store.outbox.counts() == {"pending": 0, "sent": 0, "failed": 0}


async def test_retry_moves_the_row_into_the_future(db: Database, clock: FixedClock) -> None:
    async with db.transaction() as store:
        row = await store.outbox.add("!r:x", {"body": "x"}, now=clock.now())
        await store.outbox.mark_retry(row.id, "boom", clock.now() + timedelta(seconds=30))
    async with db.transaction() as store:
        assert await store.outbox.due(clock.now()) == []
        assert await store.outbox.next_due_at() == clock.now() + timedelta(seconds=30)
        assert [r.id for r in await store.outbox.due(clock.now() + timedelta(seconds=31))] == [row.id]
        await store.outbox.mark_failed(row.id, "gave up")
    async with db.transaction() as store:
        assert await store.outbox.counts() == {"pending": 0, "sent": 0, "failed": 1}
        failed = await store.outbox.get(row.id)
        assert failed is not None and failed.attempts == 2 and failed.last_error == "gave up"


async def test_an_event_can_be_claimed_only_once(db: Database, clock: FixedClock) -> None:
    async with db.transaction() as store:
        assert await store.events.claim("$a", "!r:x", clock.now()) is True
    async with db.transaction() as store:
        assert await store.events.claim("$a", "!r:x", clock.now()) is False
        assert await store.events.claim("$b", "!r:x", clock.now()) is True


async def test_old_handled_events_are_pruned(db: Database, clock: FixedClock) -> None:
    async with db.transaction() as store:
        await store.events.claim("$old", "!r:x", clock.now() - timedelta(days=40))
        await store.events.claim("$new", "!r:x", clock.now())
    async with db.transaction() as store:
        assert await store.events.prune(clock.now() - timedelta(days=30)) == 1
        assert await store.events.claim("$new", "!r:x", clock.now()) is False
        assert await store.events.claim("$old", "!r:x", clock.now()) is True


async def test_room_language_and_audit_are_stored(db: Database, clock: FixedClock) -> None:
    async with db.transaction() as store:
        await store.rooms.upsert("!r:x", now=clock.now(), name="OGL Köln", encrypted=True)
        await store.rooms.set_language("!r:x", "en", clock.now())
        await store.audit.record(
            at=clock.now(), actor="@a:x", action="lang", outcome="ok", room_id="!r:x",
            detail={"language": "en"},
        )
    async with db.transaction() as store:
        room = await store.rooms.get("!r:x")
        assert room is not None and room.language == "en" and room.encrypted and room.name == "OGL Köln"
        [entry] = await store.audit.recent()
        assert (entry.actor, entry.action, entry.detail) == ("@a:x", "lang", {"language": "en"})
        assert entry.at == clock.now()


async def test_postgres_connection_lost_while_idle_is_replaced_at_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pooled PostgreSQL connection whose server session ended (a restart, an idle timeout)
    is pinged when it rested, and replaced: the next transaction does not fail."""
    if postgres_url() is None:
        pytest.skip(PG_MISSING)
    import asyncpg
    from sqlalchemy.engine import make_url

    import storage.db

    async with fresh_postgres() as url:
        db = Database(url)
        try:
            async with db.transaction() as store:
                pid = (await store.session.execute(text("SELECT pg_backend_pid()"))).scalar()
            admin = await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False))
            try:
                await admin.execute("SELECT pg_terminate_backend($1)", pid)
            finally:
                await admin.close()
            monkeypatch.setattr(storage.db, "PING_AFTER_IDLE", 0.0)  # it rested long enough
            async with db.transaction() as store:
                assert (await store.session.execute(text("SELECT pg_backend_pid()"))).scalar() != pid
        finally:
            await db.close()


async def test_sqlite_connection_back_in_pool_holds_no_transaction(tmp_path) -> None:  # noqa: ANN001
    """The pool rolls a returned SQLite connection back only when a transaction is open on
    it: an abandoned write is undone and leaves no lock; a committed one stays."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/pool.db")
    await db.migrate()
    try:
        async with db.engine.connect() as conn:
            await conn.execute(text("INSERT INTO meta (key, value) VALUES ('abandoned', 'x')"))
        async with db.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            assert not raw.driver_connection.in_transaction
        async with db.transaction() as store:
            await store.session.execute(text("INSERT INTO meta (key, value) VALUES ('kept', 'y')"))
        async with db.engine.connect() as conn:
            keys = set((await conn.execute(text("SELECT key FROM meta"))).scalars())
        assert "kept" in keys and "abandoned" not in keys
    finally:
        await db.close()


async def test_only_one_process_claims_a_database(db: Database, tmp_path) -> None:  # noqa: ANN001
    """A second bot on the same database is refused until the first one has gone (a memory
    database is the process's own, so SQLite is tried with a file)."""
    url = f"sqlite+aiosqlite:///{tmp_path}/one.db" if db.is_sqlite else db.engine.url.render_as_string(hide_password=False)
    first, second = Database(url), Database(url)
    try:
        assert await first.claim_process()
        assert await first.claim_process()  # asking again is harmless
        assert not await second.claim_process()
        await first.close()
        assert await second.claim_process()
    finally:
        await first.close()
        await second.close()

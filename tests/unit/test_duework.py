"""The due-work engine: fires once, late when late, recurrences in local time, bad handlers isolated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.i18n import translator
from commands.context import FixedClock, NetworkSettings
from commands.crontab import add_recurring, next_occurrence
from commands.duework import (
    LATE_AFTER,
    LATE_VARIANT,
    FireContext,
    due_handler,
    fire_due,
    late_variant,
)
from storage import Database
from storage.models import Base
from storage.models_due import DueItem, DueState
from storage.personal import NO_PERSONAL_DATA, PERSONAL

NETWORK = NetworkSettings(name="Labnetz", language="de", timezone="Europe/Berlin", admins=frozenset())
ROOM = "!lab:example.org"


@due_handler("test_echo")
async def _echo(fire: FireContext, item: DueItem) -> None:
    marker = " (late)" if fire.late else ""
    await fire.send(item.room_id or ROOM, {"msgtype": "m.notice", "body": item.payload["text"] + marker})


@due_handler("test_boom")
async def _boom(fire: FireContext, item: DueItem) -> None:
    await fire.send(ROOM, {"msgtype": "m.notice", "body": "half-sent"})
    raise RuntimeError("broken handler")


async def _fire(db: Database, now: datetime):
    return await fire_due(db, now, NETWORK, translator)


async def _bodies(db: Database) -> list[str]:
    async with db.transaction() as store:
        rows = await store.outbox.due(datetime(2100, 1, 1, tzinfo=UTC), limit=1000)
    return [row.content["body"] for row in rows]


async def _add(db: Database, clock: FixedClock, due_at: datetime | None, text: str, **kw) -> int:
    async with db.transaction() as store:
        kind = kw.pop("kind", "test_echo")
        if due_at is None:  # a recurring item starts at its first occurrence
            item = await add_recurring(store.due, kind, now=clock.now(), payload={"text": text}, room_id=ROOM, **kw)
        else:
            item = await store.due.add(kind, due_at, now=clock.now(), payload={"text": text}, room_id=ROOM, **kw)
    return item.id


async def test_one_off_fires_once_at_its_time(db: Database, clock: FixedClock) -> None:
    due = clock.now() + timedelta(minutes=5)
    item_id = await _add(db, clock, due, "Förderantrag abschicken")
    assert (await _fire(db, clock.now())).items == 0
    assert await _bodies(db) == []
    fired = await _fire(db, due)
    assert fired.items == 1 and [r.content["body"] for r in fired.rows] == ["Förderantrag abschicken"]
    assert (await _fire(db, due + timedelta(minutes=1))).items == 0  # never twice
    assert await _bodies(db) == ["Förderantrag abschicken"]
    async with db.transaction() as store:
        item = await store.due.get(item_id)
        assert item.state == DueState.DONE and item.fired_count == 1
        assert await store.due.next_due_at() is None


async def test_missed_item_is_delivered_once_and_marked_late(db: Database, clock: FixedClock) -> None:
    due = clock.now() + timedelta(minutes=5)
    await _add(db, clock, due, "Test")
    await _fire(db, due + timedelta(hours=3))  # the process was down for three hours
    await _fire(db, due + timedelta(hours=3, seconds=1))
    assert await _bodies(db) == ["Test (late)"]


async def test_recurrence_keeps_local_time_across_dst(db: Database, clock: FixedClock) -> None:
    clock.current = datetime(2027, 3, 20, 12, 0, tzinfo=UTC)
    item_id = await _add(db, clock, None, "Jour fixe", recurrence="0 9 * * 1", timezone="Europe/Berlin")
    async with db.transaction() as store:
        first = (await store.due.get(item_id)).due_at
    assert first == datetime(2027, 3, 22, 8, 0, tzinfo=UTC)  # 09:00 CET
    await _fire(db, first)
    async with db.transaction() as store:
        second = (await store.due.get(item_id)).due_at
    assert second == datetime(2027, 3, 29, 7, 0, tzinfo=UTC)  # 09:00 CEST, after the change
    assert next_occurrence("0 9 * * 1", "Europe/Berlin", datetime(2027, 10, 26, tzinfo=UTC)) == datetime(
        2027, 11, 1, 8, 0, tzinfo=UTC
    )  # back to CET after 2027-10-31


async def test_missed_recurrences_collapse_into_one_late_delivery(db: Database, clock: FixedClock) -> None:
    clock.current = datetime(2027, 1, 1, 12, 0, tzinfo=UTC)
    item_id = await _add(db, clock, None, "Wochenbericht", recurrence="0 9 * * 1", timezone="Europe/Berlin")
    down_until = datetime(2027, 1, 27, 10, 0, tzinfo=UTC)  # three Mondays missed
    fired = await _fire(db, down_until)
    assert fired.items == 1
    assert await _bodies(db) == ["Wochenbericht (late)"]
    async with db.transaction() as store:
        item = await store.due.get(item_id)
    assert item.state == DueState.PENDING and item.due_at == datetime(2027, 2, 1, 8, 0, tzinfo=UTC)


async def test_a_failing_handler_is_isolated_and_leaves_nothing_half_sent(
    db: Database, clock: FixedClock
) -> None:
    due = clock.now()
    boom = await _add(db, clock, due, "x", kind="test_boom")
    orphan = await _add(db, clock, due, "x", kind="no_such_kind")
    await _add(db, clock, due, "ok")
    fired = await _fire(db, due)
    assert (fired.items, fired.failed) == (1, 2)
    assert await _bodies(db) == ["ok"]
    async with db.transaction() as store:
        assert (await store.due.get(boom)).state == DueState.FAILED
        assert "broken handler" in (await store.due.get(boom)).last_error
        assert (await store.due.get(orphan)).state == DueState.FAILED
        assert await store.due.count_pending() == 0


async def test_batches_and_cancel(db: Database, clock: FixedClock) -> None:
    due = clock.now()
    for n in range(5):
        await _add(db, clock, due + timedelta(seconds=n), f"r{n}", subject="milestone:7" if n < 2 else None)
    async with db.transaction() as store:
        assert await store.due.cancel_subject("milestone:7") == 2
        assert await store.due.count_pending() == 3
        assert await store.due.next_due_at() == due + timedelta(seconds=2)
    fired = await fire_due(db, due + timedelta(seconds=10), NETWORK, translator, limit=2)
    assert fired.more and fired.items == 2
    fired = await fire_due(db, due + timedelta(seconds=10), NETWORK, translator, limit=2)
    assert not fired.more and fired.items == 1
    assert await _bodies(db) == ["r2", "r3", "r4"]


def test_every_table_is_classified_for_personal_data() -> None:
    tables = set(Base.metadata.tables)
    registered = set(PERSONAL.tables)
    unclassified = tables - registered - NO_PERSONAL_DATA
    assert not unclassified, f"register these tables in storage/personal.py: {sorted(unclassified)}"
    assert not (registered & NO_PERSONAL_DATA)
    for entry in PERSONAL.entries():
        columns = set(Base.metadata.tables[entry.table].columns.keys())
        named = set(entry.user_columns) | set(entry.name_columns) | set(entry.json_columns)
        assert named <= columns, (entry.table, named - columns)
        assert named, entry.table


@pytest.mark.parametrize("expr", ["0 9 * * 1", "30 8 * * 1-5", "0 10 1 * *"])
def test_crontab_next_is_strictly_after(expr: str) -> None:
    after = next_occurrence(expr, "Europe/Berlin", datetime(2026, 11, 27, 9, tzinfo=UTC))
    assert next_occurrence(expr, "Europe/Berlin", after) > after


@pytest.mark.parametrize(
    ("expr", "expected_local"),
    [
        ("0 9 * * 1", "2026-11-30 09:00 Mon"),  # crontab counts Sunday = 0: 1 is Monday
        ("0 9 * * 0", "2026-11-29 09:00 Sun"),
        ("0 9 * * 7", "2026-11-29 09:00 Sun"),
        ("30 8 * * 1-5", "2026-11-30 08:30 Mon"),  # Friday 10:00 now: the next working day
        ("0 18 * * *", "2026-11-27 18:00 Fri"),
        ("0 10 1 * *", "2026-12-01 10:00 Tue"),
        ("0 9 * * 0-2", "2026-11-29 09:00 Sun"),
        ("0 9 * * sat", "2026-11-28 09:00 Sat"),
    ],
)
def test_crontab_weekdays_follow_crontab_numbering(expr: str, expected_local: str) -> None:
    from zoneinfo import ZoneInfo

    after = datetime(2026, 11, 27, 9, tzinfo=UTC)  # Friday 10:00 in Berlin
    local = next_occurrence(expr, "Europe/Berlin", after).astimezone(ZoneInfo("Europe/Berlin"))
    assert local.strftime("%Y-%m-%d %H:%M %a") == expected_local


def test_a_late_variant_is_chosen_only_after_its_time() -> None:
    """A row fired on time carries its late form; the sender picks one by the time it sends."""
    due = datetime(2026, 11, 27, 9, tzinfo=UTC)
    content = {"body": "⏰ Erinnerung: Test",
               LATE_VARIANT: {"after": (due + LATE_AFTER).isoformat(), "content": {"body": "⏰ Erinnerung (verspätet)"}}}
    on_time, late = late_variant(content, due + timedelta(seconds=59))
    assert (on_time, late) == ({"body": "⏰ Erinnerung: Test"}, False)
    marked, late = late_variant(content, due + timedelta(seconds=61))
    assert (marked, late) == ({"body": "⏰ Erinnerung (verspätet)"}, True)
    assert late_variant({"body": "x"}, due) == ({"body": "x"}, False)

"""Properties of occupancy: random book/cancel sequences through the dispatcher never overbook,
and `peak` agrees with a minute-by-minute count.

The command sequences run on one in-memory SQLite database per test (the lab and its space are
created once through the dispatcher); each example starts by deleting all bookings. A model of
the accepted bookings is kept from the replies and compared with the table after every step.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from commands.availability import peak
from commands.context import FixedClock
from storage import Database
from storage.models import Booking
from tests.unit.commandkit import ADMIN, Chat

ROOM = "!leipzig:example.org"
COORD = "@lea:example.org"
MEMBERS = ("@bob:example.org", "@eve:example.org")
CAPACITY = 6
BERLIN = ZoneInfo("Europe/Berlin")
TODAY = date(2026, 11, 27)  # the `clock` fixture: Friday 10:00 in Berlin


@pytest.fixture
async def space_chat(clock: FixedClock) -> AsyncIterator[Chat]:
    db = Database("sqlite+aiosqlite://")
    await db.migrate()
    chat = Chat(db, clock)
    chat.state.join(ROOM, ADMIN)
    chat.state.join(ROOM, COORD, 50)
    for member in MEMBERS:
        chat.state.join(ROOM, member)
    for text, sender in (
        ('!labor anlegen "OGL Leipzig" --stadt Leipzig --land SN', ADMIN),
        ("!labor verknuepfen ogl-leipzig", ADMIN),
        (f"!raum anlegen Coworking --kapazitaet {CAPACITY}", COORD),
    ):
        assert (await chat.send(text, sender=sender, room=ROOM)).result == "ok", text
    yield chat
    await db.close()


@dataclass(frozen=True)
class Book:
    offset: int  # days after today
    start: int  # local hour
    hours: int
    desks: int
    member: int

    @property
    def day(self) -> date:
        return TODAY + timedelta(days=self.offset)

    def interval(self) -> tuple[datetime, datetime]:
        start = datetime(self.day.year, self.day.month, self.day.day, self.start, tzinfo=BERLIN)
        return start.astimezone(UTC), (start + timedelta(hours=self.hours)).astimezone(UTC)

    def command(self) -> str:
        return (
            f"!buchen Coworking {self.day:%d.%m.%Y} {self.start}-{self.start + self.hours} "
            f"--plaetze {self.desks}"
        )


@dataclass(frozen=True)
class Cancel:
    pick: int  # index into the accepted bookings (modulo); with none, an id that doesn't exist


@st.composite
def bookings(draw: st.DrawFn) -> Book:
    # Half of the starts come from a few even hours, so that bookings often meet end to start.
    start = draw(st.one_of(st.sampled_from([10, 12, 14]), st.integers(8, 20)))
    return Book(
        offset=draw(st.integers(1, 3)),
        start=start,
        hours=draw(st.integers(1, min(4, 22 - start))),
        desks=draw(st.integers(1, 5)),
        member=draw(st.integers(0, len(MEMBERS) - 1)),
    )


operations = st.lists(
    st.one_of(bookings(), bookings(), st.builds(Cancel, st.integers(0, 1000))),
    min_size=1,
    max_size=14,
)

Slot = tuple[datetime, datetime, int]


def occupancy(slots: list[Slot], instant: datetime) -> int:
    return sum(desks for start, end, desks in slots if start <= instant < end)


def model_peak(slots: list[Slot], start: datetime, end: datetime) -> int:
    points = {start} | {s for s, _, _ in slots if start < s < end}
    return max(occupancy(slots, p) for p in points)


async def stored(chat: Chat) -> dict[int, Slot]:
    async with chat.db.transaction() as store:
        rows = await store.session.scalars(select(Booking).where(Booking.cancelled_at.is_(None)))
        return {b.id: (b.start_at, b.end_at, b.desks) for b in rows.all()}


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=operations)
# 10-12 and 12-14 meet but do not overlap: 2 more places fit in 11-13, 3 don't.
@example(
    steps=[
        Book(1, 10, 2, 4, 0),
        Book(1, 12, 2, 4, 1),
        Book(1, 11, 2, 2, 0),
        Book(1, 11, 2, 1, 1),
        Cancel(0),
        Book(1, 11, 2, 1, 1),
        Cancel(5),
    ]
)
async def test_random_bookings_never_exceed_capacity_and_match_the_model(
    space_chat: Chat, steps: list
) -> None:
    chat = space_chat
    async with chat.db.transaction() as store:
        await store.session.execute(delete(Booking))
    model: dict[int, Slot] = {}  # accepted and not cancelled
    owners: dict[int, str] = {}
    accepted: list[int] = []  # every id ever accepted, cancelled or not
    for step in steps:
        before = await stored(chat)
        if isinstance(step, Book):
            start, end = step.interval()
            sender = MEMBERS[step.member]
            expect_refused = model_peak(list(model.values()), start, end) + step.desks > CAPACITY
            outcome = await chat.send(step.command(), sender=sender, room=ROOM)
            text = (await chat.reply_of(outcome))["body"]
            # (c) refused exactly when the model says it would overbook some instant.
            assert outcome.result == ("refused" if expect_refused else "ok"), (step, model, text)
            event("booking refused" if expect_refused else "booking accepted")
            if expect_refused:
                free = CAPACITY - model_peak(list(model.values()), start, end)
                assert f"Nur {free} von {CAPACITY} Plätzen" in text, text
                assert await stored(chat) == before  # a refusal changes nothing
                continue
            booking_id = int(re.search(r"\(#(\d+)\)\.$", text)[1])
            assert booking_id not in before
            model[booking_id] = (start, end, step.desks)
            owners[booking_id] = sender
            accepted.append(booking_id)
        else:
            target = accepted[step.pick % len(accepted)] if accepted else 10_000 + step.pick
            sender = owners.get(target, MEMBERS[0])
            outcome = await chat.send(f"!stornieren #{target}", sender=sender, room=ROOM)
            text = (await chat.reply_of(outcome))["body"]
            if target in model:
                assert outcome.result == "ok" and f"(#{target})" in text, text
                del model[target]
                event("cancelled")
            else:
                assert outcome.result == "refused" and f"keine aktive Buchung #{target}" in text, (
                    text
                )
                assert await stored(chat) == before
        now = await stored(chat)
        # The table holds exactly the model's bookings (so refusals and cancels left no trace).
        assert now == model
        slots = list(now.values())
        for instant in {s for s, _, _ in slots} | {e for _, e, _ in slots}:
            used = occupancy(slots, instant)
            assert used <= CAPACITY, (instant, slots)  # (a)
            assert used == occupancy(list(model.values()), instant)  # (b)
    # The hourly overview agrees with the model as well.
    for offset in (1, 2, 3):
        day = TODAY + timedelta(days=offset)
        outcome = await chat.send(f"!frei Coworking {day:%d.%m.%Y}", sender=MEMBERS[0], room=ROOM)
        lines = re.findall(r"• (\d\d):00–\d\d:00: (\d+)", (await chat.reply_of(outcome))["body"])
        assert len(lines) == 14
        for hour, free in lines:
            start = datetime(day.year, day.month, day.day, int(hour), tzinfo=BERLIN).astimezone(UTC)
            expected = CAPACITY - model_peak(
                list(model.values()), start, start + timedelta(hours=1)
            )
            assert int(free) == expected, (day, hour, free, expected)


BASE = datetime(2026, 11, 30, 7, tzinfo=UTC)
minute_bookings = st.lists(
    st.tuples(st.integers(0, 300), st.integers(0, 120), st.integers(1, 5)), max_size=12
)


@settings(max_examples=400, deadline=None)
@given(raw=minute_bookings, window=st.tuples(st.integers(-30, 330), st.integers(0, 360)))
def test_peak_matches_a_minute_by_minute_count(
    raw: list[tuple[int, int, int]], window: tuple[int, int]
) -> None:
    def at(minute: int) -> datetime:
        return BASE + timedelta(minutes=minute)

    booked = [(at(start), at(start + length), desks) for start, length, desks in raw]
    lo, hi = window[0], window[0] + window[1]
    # Every endpoint is a whole minute, so counting each minute [m, m+1) is exact.
    brute = max((sum(d for s, e, d in raw if s <= m < s + e) for m in range(lo, hi)), default=0)
    assert peak(booked, at(lo), at(hi)) == brute
    assert peak(reversed(booked), at(lo), at(hi)) == brute  # order does not matter


@settings(max_examples=100, deadline=None)
@given(raw=minute_bookings)
def test_back_to_back_bookings_do_not_add_up(raw: list[tuple[int, int, int]]) -> None:
    # A booking ending at t and another starting at t never count together (half-open intervals).
    chained, at = [], 0
    for _, length, desks in raw:
        chained.append(
            (BASE + timedelta(minutes=at), BASE + timedelta(minutes=at + length + 1), desks)
        )
        at += length + 1
    assert peak(chained, BASE, BASE + timedelta(days=1)) == max((d for _, _, d in raw), default=0)

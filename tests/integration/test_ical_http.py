"""The public iCal feed of a space, served by the real bot process."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from icalendar import Calendar

from bot.devbot import BotProcess
from storage import Database

MakeBot = Callable[..., BotProcess]


def fetch(url: str) -> tuple[int, str, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.headers.get_content_type(), dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get_content_type(), dict(err.headers), err.read()


async def test_ical_feed_over_http(make_bot: MakeBot, database_url: str) -> None:
    bot = make_bot(database_url)
    bot.start()  # migrates the database before it answers /health

    now = datetime.now(UTC).replace(microsecond=0)
    start = (now + timedelta(days=2)).replace(hour=10, minute=0, second=0)
    end = start + timedelta(hours=2)
    db = Database(database_url)
    try:
        async with db.transaction() as store:
            lab = await store.labs.create(
                slug="ogl-leipzig", name="OGL Leipzig", city="Leipzig", state="SN",
                level="kommune", host=None, host_legal_form=None, timezone="Europe/Berlin",
                created_by="@admin:localhost", now=now,
            )
            space = await store.spaces.create(
                lab_id=lab.id, name="Coworking", slug="coworking", kind="workspace",
                capacity=10, hours={str(d): [480, 1320] for d in range(7)}, now=now,
            )
            await store.bookings.add(
                space_id=space.id, user_id="@secret:localhost", room_id="!r:localhost",
                start_at=start, end_at=end, desks=3, note="geheim", series_id=None, now=now,
            )
    finally:
        await db.close()

    base = f"http://127.0.0.1:{bot.web_port}/ical"
    status, content_type, headers, body = await asyncio.to_thread(
        fetch, f"{base}/ogl-leipzig/coworking.ics"
    )
    assert status == 200, body
    assert content_type == "text/calendar"
    assert "charset=utf-8" in headers["Content-Type"].lower()
    assert headers.get("Cache-Control") == "max-age=60"
    calendar = Calendar.from_ical(body)
    assert str(calendar["x-wr-calname"]) == "OGL Leipzig – Coworking"
    [event] = calendar.walk("VEVENT")
    assert event.decoded("dtstart") == start and event.decoded("dtend") == end
    assert str(event["summary"]) == "Belegt: 3 von 10 Plätzen"
    for secret in (b"@secret", b"geheim", b"!r:localhost"):
        assert secret not in body

    for path in ("ogl-leipzig/werkstatt.ics", "ogl-nirgendwo/coworking.ics"):
        status, content_type, _, _ = await asyncio.to_thread(fetch, f"{base}/{path}")
        assert status == 404 and content_type == "text/plain"

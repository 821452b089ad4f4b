"""Reminder times as people type them, relative to Friday 2026-11-27 10:00 in Berlin."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from commands.errors import BadArguments
from commands.recurrence import (
    BAD_CRON,
    BAD_INTERVAL,
    IN_THE_PAST,
    NEVER,
    NO_RANGE,
    NO_SEMICOLON,
    NO_TEXT,
    NO_TIME,
    NOT_UNDERSTOOD,
    TOO_FAR,
    next_fire,
    parse_recurrence,
    parse_schedule,
    split_reminder,
)
from commands.when import NO_SUCH_DATE

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=BERLIN)  # a Friday


def _local(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S" if text.count(":") == 2 else "%Y-%m-%d %H:%M").replace(
        tzinfo=BERLIN)


ONE_OFF = [
    ("in 5 Sekunden", "2026-11-27 10:00:05"),
    ("in 5 sek", "2026-11-27 10:00:05"),
    ("in 30 seconds", "2026-11-27 10:00:30"),
    ("in 10 minutes", "2026-11-27 10:10"),
    ("in 10 Minuten", "2026-11-27 10:10"),
    ("in einer Stunde", "2026-11-27 11:00"),
    ("in 1 Stunde und 30 Minuten", "2026-11-27 11:30"),
    ("in 2 hours 15 minutes", "2026-11-27 12:15"),
    ("in 3 Tagen", "2026-11-30 10:00"),
    ("in 2 Wochen", "2026-12-11 10:00"),
    ("in 2 Tagen 9 Uhr", "2026-11-29 09:00"),
    ("morgen 9 Uhr", "2026-11-28 09:00"),
    ("morgen um 14:30", "2026-11-28 14:30"),
    ("morgen", "2026-11-28 09:00"),  # a day alone means 09:00
    ("tomorrow 9am", "2026-11-28 09:00"),
    ("übermorgen halb drei", "2026-11-29 14:30"),
    ("heute 18 Uhr", "2026-11-27 18:00"),
    ("today 6pm", "2026-11-27 18:00"),
    ("16:45", "2026-11-27 16:45"),
    ("Montag 9 Uhr", "2026-11-30 09:00"),
    ("nächsten Dienstag 14 Uhr", "2026-12-01 14:00"),
    ("next friday 10:30", "2026-12-04 10:30"),
    ("Fr 14 Uhr", "2026-11-27 14:00"),
    ("24.12. 8 Uhr", "2026-12-24 08:00"),
    ("1.3.2027 9:00", "2027-03-01 09:00"),
    ("2027-01-15 12:00", "2027-01-15 12:00"),
    ("am 14. um 10", "2026-12-14 10:00"),
    ("1. März 2027 10 Uhr", "2027-03-01 10:00"),
]


@pytest.mark.parametrize(("text", "expected"), ONE_OFF)
def test_one_off(text: str, expected: str) -> None:
    schedule = parse_schedule(text, NOW, BERLIN)
    assert schedule.recurrence is None
    assert schedule.due_at == _local(expected).astimezone(UTC)
    assert schedule.due_at.tzinfo == UTC


RECURRING = [
    ("jeden Montag 9 Uhr", "0 9 * * mon", "2026-11-30 09:00"),
    ("jeden Montag um 9", "0 9 * * mon", "2026-11-30 09:00"),
    ("montags 9 Uhr", "0 9 * * mon", "2026-11-30 09:00"),
    ("every monday 09:00", "0 9 * * mon", "2026-11-30 09:00"),
    ("every Monday at 9am", "0 9 * * mon", "2026-11-30 09:00"),
    ("jeden Freitag 11 Uhr", "0 11 * * fri", "2026-11-27 11:00"),  # later today
    ("jeden Freitag 9 Uhr", "0 9 * * fri", "2026-12-04 09:00"),  # today's is past
    ("jeden Werktag 8:30", "30 8 * * mon,tue,wed,thu,fri", "2026-11-30 08:30"),
    ("werktags 8:30", "30 8 * * mon,tue,wed,thu,fri", "2026-11-30 08:30"),
    ("every weekday at 8:30am", "30 8 * * mon,tue,wed,thu,fri", "2026-11-30 08:30"),
    ("jeden Mo-Fr 7:45", "45 7 * * mon,tue,wed,thu,fri", "2026-11-30 07:45"),
    ("Mo-Fr 7:45", "45 7 * * mon,tue,wed,thu,fri", "2026-11-30 07:45"),
    ("jeden Montag und Donnerstag 9:30", "30 9 * * mon,thu", "2026-11-30 09:30"),
    ("jeden Mo, Mi, Fr 12 Uhr", "0 12 * * mon,wed,fri", "2026-11-27 12:00"),
    ("every saturday and sunday 10:00", "0 10 * * sat,sun", "2026-11-28 10:00"),
    ("jedes Wochenende 10 Uhr", "0 10 * * sat,sun", "2026-11-28 10:00"),
    ("every 1st of month 10:00", "0 10 1 * *", "2026-12-01 10:00"),
    ("every 1st of the month at 10am", "0 10 1 * *", "2026-12-01 10:00"),
    ("jeden 1. des Monats 10 Uhr", "0 10 1 * *", "2026-12-01 10:00"),
    ("jeden ersten des Monats 10 Uhr", "0 10 1 * *", "2026-12-01 10:00"),
    ("monatlich am 15. um 10 Uhr", "0 10 15 * *", "2026-12-15 10:00"),
    ("monthly", "0 9 1 * *", "2026-12-01 09:00"),
    ("jeden letzten Tag des Monats 17 Uhr", "0 17 last * *", "2026-11-30 17:00"),
    ("every last day of the month 17:00", "0 17 last * *", "2026-11-30 17:00"),
    ("every day 18:00", "0 18 * * *", "2026-11-27 18:00"),
    ("täglich 18 Uhr", "0 18 * * *", "2026-11-27 18:00"),
    ("taeglich um 7", "0 7 * * *", "2026-11-28 07:00"),
    ("daily 6pm", "0 18 * * *", "2026-11-27 18:00"),
    ("jeden Tag", "0 9 * * *", "2026-11-28 09:00"),
    ("wöchentlich 16 Uhr", "0 16 * * fri", "2026-11-27 16:00"),
    ("jeden 24.12. 8 Uhr", "0 8 24 12 *", "2026-12-24 08:00"),
    ("stündlich", "0 * * * *", "2026-11-27 11:00"),
    ("alle 15 Minuten", "*/15 * * * *", "2026-11-27 10:15"),
    ("every 2 hours", "0 */2 * * *", "2026-11-27 12:00"),
    ("cron 0 9 * * 1", "0 9 * * mon", "2026-11-30 09:00"),  # standard cron: 1 is Monday
    ("cron 0 9 * * 0", "0 9 * * sun", "2026-11-29 09:00"),
    ("cron 0 9 * * 7", "0 9 * * sun", "2026-11-29 09:00"),
    ("cron 30 8 * * 1-5", "30 8 * * mon,tue,wed,thu,fri", "2026-11-30 08:30"),
    ("cron 0 18 * * 5-7", "0 18 * * fri,sat,sun", "2026-11-27 18:00"),
    ("cron 0 9 1 * *", "0 9 1 * *", "2026-12-01 09:00"),
    ("cron */30 * * * *", "*/30 * * * *", "2026-11-27 10:30"),
    ("cron 0 9 * * mon-fri", "0 9 * * mon,tue,wed,thu,fri", "2026-11-30 09:00"),
]


@pytest.mark.parametrize(("text", "crontab", "first"), RECURRING)
def test_recurring(text: str, crontab: str, first: str) -> None:
    schedule = parse_schedule(text, NOW, BERLIN)
    assert schedule.recurrence == crontab
    assert schedule.due_at == _local(first).astimezone(UTC)


@pytest.mark.parametrize("text", [t for t, _ in ONE_OFF])
def test_one_off_phrases_are_no_recurrence(text: str) -> None:
    assert parse_recurrence(text, NOW, BERLIN) is None


ERRORS = [
    ("31.02.2027", NO_SUCH_DATE),
    ("31.02.2027 9 Uhr", NO_SUCH_DATE),
    ("heute 8 Uhr", IN_THE_PAST),
    ("26.11.2026 12:00", IN_THE_PAST),
    ("in 0 Sekunden", IN_THE_PAST),
    ("in 20 Jahren", NOT_UNDERSTOOD),
    ("2040-01-01 9:00", TOO_FAR),
    ("in 99999999999 Tagen", TOO_FAR),
    ("in 5000 Wochen", TOO_FAR),
    ("morgen 14-16", NO_RANGE),
    ("irgendwann", NOT_UNDERSTOOD),
    ("jeden blauen Mond", NOT_UNDERSTOOD),
    ("every monday 25:00", NOT_UNDERSTOOD),
    ("jeden ersten Montag im Monat", NOT_UNDERSTOOD),
    ("alle 7 Minuten", BAD_INTERVAL),
    ("alle 5 Sekunden", BAD_INTERVAL),
    ("cron 0 9 * *", BAD_CRON),
    ("cron 0 25 * * *", BAD_CRON),
    ("cron 0 9 * * 8", BAD_CRON),
    ("cron 0 9 31 2 *", NEVER),
]


@pytest.mark.parametrize(("text", "error"), ERRORS)
def test_errors(text: str, error: str) -> None:
    with pytest.raises(BadArguments) as raised:
        parse_schedule(text, NOW, BERLIN)
    assert raised.value.message == error


def test_past_error_names_the_local_time() -> None:
    with pytest.raises(BadArguments) as raised:
        parse_schedule("heute 8 Uhr", NOW, BERLIN)
    assert raised.value.params == {"when": "27.11.2026 08:00"}


@pytest.mark.parametrize(("text", "when", "what"), [
    ("in 5 Sekunden; Test", "in 5 Sekunden", "Test"),
    ("morgen 9 Uhr;Förderantrag abschicken; bitte!", "morgen 9 Uhr", "Förderantrag abschicken; bitte!"),
    ("me in 10 minutes; stand-up", "in 10 minutes", "stand-up"),
    ("uns jeden Montag 9 Uhr ; Jour fixe ", "jeden Montag 9 Uhr", "Jour fixe"),
])
def test_split(text: str, when: str, what: str) -> None:
    assert split_reminder(text) == (when, what)


@pytest.mark.parametrize(("text", "error"), [
    ("in 5 Sekunden Test", NO_SEMICOLON),
    ("; Test", NO_TIME),
    ("morgen 9 Uhr;  ", NO_TEXT),
])
def test_split_errors(text: str, error: str) -> None:
    with pytest.raises(BadArguments) as raised:
        split_reminder(text)
    assert raised.value.message == error


def test_english_zone_and_other_zone() -> None:
    """The zone of the lab decides the wall clock: 09:00 in Lisbon is 10:00 in Berlin."""
    lisbon = ZoneInfo("Europe/Lisbon")
    schedule = parse_schedule("every monday 09:00", NOW, lisbon)
    assert schedule.due_at == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("after", "expected"), [
    # 09:00 local stays 09:00 local: UTC 08:00 in winter, 07:00 in summer
    ("2027-03-27 09:30", "2027-03-28 07:00"),
    ("2027-03-28 09:30", "2027-03-29 07:00"),
    ("2027-10-30 09:30", "2027-10-31 08:00"),
    ("2027-10-31 09:30", "2027-11-01 08:00"),
])
def test_next_fire_across_dst(after: str, expected: str) -> None:
    found = next_fire("0 9 * * *", BERLIN, _local(after))
    assert found == datetime.strptime(expected, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


def test_next_fire_is_strictly_after() -> None:
    at_nine = _local("2026-11-30 09:00")
    assert next_fire("0 9 * * mon", BERLIN, at_nine) == (at_nine + timedelta(days=7)).astimezone(UTC)

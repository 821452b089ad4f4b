"""Dates and times as people type them, relative to Friday 2026-11-27 10:00 in Berlin."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commands.errors import BadArguments
from commands.when import (
    BACKWARDS,
    BAD_TIME,
    EMPTY_RANGE,
    EXAMPLES,
    NEED_DAY,
    NO_SUCH_DATE,
    NOT_UNDERSTOOD,
    PERIOD_BACKWARDS,
    When,
    format_minutes,
    local_to_utc,
    parse_date_range,
    parse_when,
)

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=BERLIN)  # a Friday


def _m(clock: str | None) -> int | None:
    if clock is None:
        return None
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def _d(text: str) -> date:
    day, month, year = text.split(".")
    return date(int(year), int(month), int(day))


@pytest.mark.parametrize(
    ("text", "day", "start", "end"),
    [
        # No date: today.
        ("", "27.11.2026", None, None),
        ("14-16", "27.11.2026", "14:00", "16:00"),
        # Relative day words.
        ("heute", "27.11.2026", None, None),
        ("today", "27.11.2026", None, None),
        ("morgen", "28.11.2026", None, None),
        ("Morgen", "28.11.2026", None, None),
        ("tomorrow", "28.11.2026", None, None),
        ("übermorgen", "29.11.2026", None, None),
        ("uebermorgen", "29.11.2026", None, None),
        ("day after tomorrow", "29.11.2026", None, None),
        ("in 3 Tagen", "30.11.2026", None, None),
        ("in 3 days", "30.11.2026", None, None),
        ("in einer Woche", "04.12.2026", None, None),
        ("in 2 Wochen", "11.12.2026", None, None),
        ("in 2 Stunden", "27.11.2026", "12:00", None),
        ("in 90 Minuten", "27.11.2026", "11:30", None),
        # DESIGN.md: what dateparser alone gets wrong.
        ("morgen 14 Uhr", "28.11.2026", "14:00", None),
        ("Fr 14 Uhr", "27.11.2026", "14:00", None),
        ("nächsten Dienstag", "01.12.2026", None, None),
        # Weekdays: today counts for a bare weekday, "nächsten"/"next" skips it.
        ("Freitag", "27.11.2026", None, None),
        ("friday", "27.11.2026", None, None),
        ("naechsten Freitag", "04.12.2026", None, None),
        ("nächste Freitag", "04.12.2026", None, None),
        ("next friday 14-16", "04.12.2026", "14:00", "16:00"),
        ("Next Friday", "04.12.2026", None, None),
        ("kommenden Montag", "30.11.2026", None, None),
        ("Montag", "30.11.2026", None, None),
        ("Mo 14-16", "30.11.2026", "14:00", "16:00"),
        ("MO. 14-16", "30.11.2026", "14:00", "16:00"),
        ("Di 9:30", "01.12.2026", "09:30", None),
        ("Dienstag 9:30", "01.12.2026", "09:30", None),
        ("nächsten Dienstag 9:30-12", "01.12.2026", "09:30", "12:00"),
        ("Mi 8-12:30", "02.12.2026", "08:00", "12:30"),
        ("Do 18 bis 22", "03.12.2026", "18:00", "22:00"),
        ("Sa 10-16", "28.11.2026", "10:00", "16:00"),
        ("So", "29.11.2026", None, None),
        ("sun 10am-2pm", "29.11.2026", "10:00", "14:00"),
        ("Mon 9-17", "30.11.2026", "09:00", "17:00"),
        ("Tue", "01.12.2026", None, None),
        ("Wed 14:30", "02.12.2026", "14:30", None),
        ("thu 2pm", "03.12.2026", "14:00", None),
        ("Fr 14", "27.11.2026", "14:00", None),
        ("Fr, 14-16", "27.11.2026", "14:00", "16:00"),
        ("am Freitag, den 4.12. 14-16", "04.12.2026", "14:00", "16:00"),
        # Ranges and times.
        ("morgen 14-16", "28.11.2026", "14:00", "16:00"),
        ("morgen 14-16 Uhr", "28.11.2026", "14:00", "16:00"),
        ("morgen 14 - 16 Uhr", "28.11.2026", "14:00", "16:00"),
        ("morgen 14-16.", "28.11.2026", "14:00", "16:00"),
        ("Fr 14 bis 16 Uhr", "27.11.2026", "14:00", "16:00"),
        ("Fr. 14–16", "27.11.2026", "14:00", "16:00"),
        ("freitag 14:00—16:30", "27.11.2026", "14:00", "16:30"),
        ("heute 18 bis 22", "27.11.2026", "18:00", "22:00"),
        ("14:30-16", "27.11.2026", "14:30", "16:00"),
        ("14.30-16 Uhr", "27.11.2026", "14:30", "16:00"),
        ("9-12:30", "27.11.2026", "09:00", "12:30"),
        ("von 14 bis 16 Uhr", "27.11.2026", "14:00", "16:00"),
        ("14h-16h", "27.11.2026", "14:00", "16:00"),
        ("14 Uhr bis 16 Uhr", "27.11.2026", "14:00", "16:00"),
        ("ab 14 Uhr", "27.11.2026", "14:00", None),
        ("um 9:30", "27.11.2026", "09:30", None),
        ("14.30", "27.11.2026", "14:30", None),
        ("22-24", "27.11.2026", "22:00", "24:00"),
        ("0-6", "27.11.2026", "00:00", "06:00"),
        ("14 Uhr morgen", "28.11.2026", "14:00", None),
        ("tomorrow 2pm-4pm", "28.11.2026", "14:00", "16:00"),
        ("tomorrow 2-4pm", "28.11.2026", "14:00", "16:00"),
        ("tomorrow 10-2pm", "28.11.2026", "10:00", "14:00"),
        ("tomorrow 12pm-1pm", "28.11.2026", "12:00", "13:00"),
        ("tomorrow from 9 am to 5 pm", "28.11.2026", "09:00", "17:00"),
        ("morgen halb drei", "28.11.2026", "14:30", None),
        ("morgen mittags", "28.11.2026", "12:00", None),
        # Calendar dates; without a year the next one that is not in the past.
        ("25.12.", "25.12.2026", None, None),
        ("25.12. 10-12", "25.12.2026", "10:00", "12:00"),
        ("25.12.2026", "25.12.2026", None, None),
        ("25.12.26", "25.12.2026", None, None),
        ("24.12", "24.12.2026", None, None),
        ("1.1.", "01.01.2027", None, None),
        ("27.11.", "27.11.2026", None, None),
        ("26.11.", "26.11.2027", None, None),
        ("29.02.", "29.02.2028", None, None),
        ("am 14.", "14.12.2026", None, None),
        ("2027-03-01", "01.03.2027", None, None),
        ("2027-03-01 14:00-16:30", "01.03.2027", "14:00", "16:30"),
        ("1. März", "01.03.2027", None, None),
        ("1. März 2028", "01.03.2028", None, None),
        ("1 March", "01.03.2027", None, None),
        ("March 1st, 2027 9-17", "01.03.2027", "09:00", "17:00"),
        ("3. Dez. 14-16", "03.12.2026", "14:00", "16:00"),
        # dateparser as the fallback for what the rules don't cover.
        ("nächste Woche", "04.12.2026", None, None),
        ("next week", "04.12.2026", None, None),
    ],
)
def test_parse_when_understands_real_phrasings(
    text: str, day: str, start: str | None, end: str | None
) -> None:
    assert parse_when(text.split(), NOW, BERLIN) == When(_d(day), _m(start), _m(end))


@pytest.mark.parametrize(
    ("text", "message", "params"),
    [
        ("31.02.2027", NO_SUCH_DATE, {"date": "31.02.2027"}),
        ("31.02.", NO_SUCH_DATE, {"date": "31.02."}),
        ("2027-02-30 14-16", NO_SUCH_DATE, {"date": "2027-02-30"}),
        ("30. Februar", NO_SUCH_DATE, {"date": "30. Februar"}),
        ("Fr 31.11.", NO_SUCH_DATE, {"date": "31.11."}),
        ("morgen 16-14", BACKWARDS, {"range": "16-14"}),
        ("morgen 16 bis 14 Uhr", BACKWARDS, {"range": "16 bis 14 Uhr"}),
        ("14-14", EMPTY_RANGE, {"range": "14-14"}),
        ("25:00", BAD_TIME, {"time": "25:00"}),
        ("morgen 14:75", BAD_TIME, {"time": "14:75"}),
        ("13pm", BAD_TIME, {"time": "13pm"}),
        ("24 Uhr", BAD_TIME, {"time": "24 Uhr"}),
        ("foo", NOT_UNDERSTOOD, {"text": "foo"}),
        ("a", NOT_UNDERSTOOD, {"text": "a"}),
        ("morgen Raum 14-16", NOT_UNDERSTOOD, {"text": "Raum"}),
        ("morgen 14-16 bitte", NOT_UNDERSTOOD, {"text": "bitte"}),
        ("Dienstg 14-16", NOT_UNDERSTOOD, {"text": "Dienstg"}),
        ("morgen Freitag", NOT_UNDERSTOOD, {"text": "Freitag"}),
        ("14-16 18-20", NOT_UNDERSTOOD, {"text": "18-20"}),
        ("14-16x", NOT_UNDERSTOOD, {"text": "14-16x"}),
        ("jeden Montag 9 Uhr", NOT_UNDERSTOOD, {"text": "jeden"}),
        ("bis 16 Uhr", NOT_UNDERSTOOD, {"text": "bis"}),
    ],
)
def test_parse_when_names_what_it_did_not_understand(
    text: str, message: str, params: dict[str, str]
) -> None:
    with pytest.raises(BadArguments) as caught:
        parse_when(text.split(), NOW, BERLIN)
    assert caught.value.message == message
    assert caught.value.params.items() >= params.items()
    if message == NOT_UNDERSTOOD:
        assert caught.value.params["examples"] == EXAMPLES
        for example in EXAMPLES.split(", "):  # the examples we offer must themselves work
            assert parse_when(example.split(), NOW, BERLIN).end_min is not None


@pytest.mark.parametrize("text", ["", "14-16", "ab 14 Uhr"])
def test_parse_when_without_a_day_is_refused_when_a_day_is_required(text: str) -> None:
    with pytest.raises(BadArguments) as caught:
        parse_when(text.split(), NOW, BERLIN, default_today=False)
    assert caught.value.message == NEED_DAY


def test_parse_when_with_a_day_works_when_a_day_is_required() -> None:
    assert parse_when(["morgen", "14-16"], NOW, BERLIN, default_today=False) == When(
        date(2026, 11, 28), 840, 960
    )


def test_today_is_the_lab_s_day_not_utc_s() -> None:
    late = datetime(2026, 11, 27, 23, 30, tzinfo=UTC)  # already Saturday in Berlin
    assert parse_when(["heute"], late, BERLIN).day == date(2026, 11, 28)
    assert parse_when(["Sa"], late, BERLIN).day == date(2026, 11, 28)


def test_quoted_argument_with_spaces_is_read_like_separate_words() -> None:
    assert parse_when(["morgen", "14 bis 16 Uhr"], NOW, BERLIN) == When(
        date(2026, 11, 28), 840, 960
    )


@given(st.integers(0, 1439), st.integers(1, 1440))
def test_formatted_ranges_parse_back(start: int, length: int) -> None:
    end = min(start + length, 1440)
    words = [f"{format_minutes(start)}-{format_minutes(end)}"]
    assert parse_when(words, NOW, BERLIN) == When(date(2026, 11, 27), start, end)


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("2026-12-24..2027-01-01", "24.12.2026", "01.01.2027"),
        ("24.12...1.1.", "24.12.2026", "01.01.2027"),
        ("24.12.-1.1.", "24.12.2026", "01.01.2027"),
        ("24.12.–1.1.", "24.12.2026", "01.01.2027"),
        ("24.12. - 1.1.", "24.12.2026", "01.01.2027"),
        ("24.12. bis 1.1.", "24.12.2026", "01.01.2027"),
        ("vom 24.12. bis 6.1.", "24.12.2026", "06.01.2027"),
        ("28.12.2026..02.01.2027", "28.12.2026", "02.01.2027"),
        ("2027-03-01", "01.03.2027", "01.03.2027"),
        ("24.12.", "24.12.2026", "24.12.2026"),
        ("morgen", "28.11.2026", "28.11.2026"),
        ("morgen..übermorgen", "28.11.2026", "29.11.2026"),
        ("Mo-Fr", "30.11.2026", "04.12.2026"),
        ("1.12.-30.11.", "01.12.2026", "30.11.2027"),
    ],
)
def test_parse_date_range(text: str, first: str, last: str) -> None:
    assert parse_date_range(text, NOW, BERLIN) == (_d(first), _d(last))


@pytest.mark.parametrize(
    ("text", "message", "params"),
    [
        ("1.1.-31.02.", NO_SUCH_DATE, {"date": "31.02."}),
        ("31.02.2027", NO_SUCH_DATE, {"date": "31.02.2027"}),
        ("2027-01-02..2027-01-01", PERIOD_BACKWARDS, {"range": "2027-01-02..2027-01-01"}),
        ("14", NOT_UNDERSTOOD, {"text": "14"}),
        ("morgen 14-16", NOT_UNDERSTOOD, {"text": "14-16"}),
        ("foo..bar", NOT_UNDERSTOOD, {"text": "foo..bar"}),
    ],
)
def test_parse_date_range_refusals_name_the_bad_part(
    text: str, message: str, params: dict[str, str]
) -> None:
    with pytest.raises(BadArguments) as caught:
        parse_date_range(text, NOW, BERLIN)
    assert caught.value.message == message
    assert caught.value.params.items() >= params.items()


@pytest.mark.parametrize(
    ("day", "clock", "utc"),
    [
        # Spring 2027: clocks jump from 02:00 to 03:00 on 28 March.
        ("27.03.2027", "08:00", "2027-03-27T07:00"),
        ("28.03.2027", "08:00", "2027-03-28T06:00"),
        ("28.03.2027", "01:59", "2027-03-28T00:59"),
        ("28.03.2027", "02:30", "2027-03-28T01:30"),  # does not exist: moved forward, 03:30 CEST
        ("28.03.2027", "03:00", "2027-03-28T01:00"),
        ("27.03.2027", "24:00", "2027-03-27T23:00"),
        ("28.03.2027", "24:00", "2027-03-28T22:00"),
        # Autumn 2027: clocks fall back from 03:00 to 02:00 on 31 October.
        ("30.10.2027", "08:00", "2027-10-30T06:00"),
        ("31.10.2027", "08:00", "2027-10-31T07:00"),
        ("31.10.2027", "02:30", "2027-10-31T00:30"),  # happens twice: the first one
        ("31.10.2027", "00:00", "2027-10-30T22:00"),
        ("31.10.2027", "24:00", "2027-10-31T23:00"),
    ],
)
def test_local_to_utc_across_daylight_saving(day: str, clock: str, utc: str) -> None:
    minutes = _m(clock)
    assert minutes is not None
    result = local_to_utc(_d(day), minutes, BERLIN)
    assert result == datetime.fromisoformat(utc).replace(tzinfo=UTC)
    assert result.utcoffset() == timedelta(0)


def test_spring_gap_time_lands_after_the_gap_on_the_local_clock() -> None:
    local = local_to_utc(date(2027, 3, 28), _m("02:30") or 0, BERLIN).astimezone(BERLIN)
    assert (local.hour, local.minute) == (3, 30)


def test_days_are_23_and_25_hours_long_at_the_changes() -> None:
    def length(day: date) -> timedelta:
        return local_to_utc(day, 1440, BERLIN) - local_to_utc(day, 0, BERLIN)

    assert length(date(2027, 3, 28)) == timedelta(hours=23)
    assert length(date(2027, 10, 31)) == timedelta(hours=25)
    assert length(date(2027, 6, 1)) == timedelta(hours=24)


@pytest.mark.parametrize("minutes", [-1, 1441])
def test_local_to_utc_rejects_minutes_outside_the_day(minutes: int) -> None:
    with pytest.raises(ValueError):
        local_to_utc(date(2027, 1, 1), minutes, BERLIN)


@given(st.dates(date(2026, 1, 1), date(2030, 12, 31)), st.integers(0, 1439))
def test_local_to_utc_never_goes_backwards_within_a_day(day: date, minutes: int) -> None:
    assert local_to_utc(day, minutes, BERLIN) <= local_to_utc(day, minutes + 1, BERLIN)


@pytest.mark.parametrize(
    ("minutes", "text"), [(0, "00:00"), (545, "09:05"), (870, "14:30"), (1440, "24:00")]
)
def test_format_minutes(minutes: int, text: str) -> None:
    assert format_minutes(minutes) == text

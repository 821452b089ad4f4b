"""Milestone dates: calendar months with clamped month ends, reminder offsets, notice times in local time."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from commands.errors import BadArguments
from commands.milestone_plan import (
    PROGRAMME,
    add_months,
    next_notice_after,
    parse_offsets,
    planned_notices,
)

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2027, 1, 15), 6, date(2027, 7, 15)),
        (date(2026, 8, 31), 6, date(2027, 2, 28)),  # February has no 31st
        (date(2027, 8, 31), 6, date(2028, 2, 29)),  # leap year
        (date(2027, 3, 31), 1, date(2027, 4, 30)),
        (date(2026, 12, 1), 12, date(2027, 12, 1)),
        (date(2027, 1, 31), 60, date(2032, 1, 31)),
        (date(2027, 10, 31), 54, date(2032, 4, 30)),
    ],
)
def test_calendar_months_clamp_the_month_end(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


def test_the_programme_has_the_steps_of_the_proposal() -> None:
    assert [step.months for step in PROGRAMME] == [6, 12, 30, 54, 60]


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("30d,7d,1d", [30, 7, 1]),
        ("1d, 7d, 30d", [30, 7, 1]),
        ("2w", [14]),
        ("14 Tage", [14]),
        ("3t;3d", [3]),
        ("keine", []),
        ("none", []),
    ],
)
def test_reminder_offsets_are_read_in_both_languages(text: str, days: list[int]) -> None:
    assert parse_offsets(text) == days


@pytest.mark.parametrize("text", ["morgen", "30x", "0d", "400d", "1d,2d,3d,4d,5d,6d,7d,8d,9d"])
def test_bad_reminder_offsets_are_refused(text: str) -> None:
    with pytest.raises(BadArguments):
        parse_offsets(text)


def test_notices_fall_at_nine_local_on_both_sides_of_the_spring_change() -> None:
    now = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
    planned = planned_notices(date(2027, 4, 5), [30, 7, 1], BERLIN, now)
    assert [(at, p["stage"]) for at, p in planned] == [
        (datetime(2027, 3, 6, 8, 0, tzinfo=UTC), "before"),  # 09:00 CET
        (datetime(2027, 3, 29, 7, 0, tzinfo=UTC), "before"),  # 09:00 CEST
        (datetime(2027, 4, 4, 7, 0, tzinfo=UTC), "before"),
        (datetime(2027, 4, 5, 7, 0, tzinfo=UTC), "due"),
    ]


def test_offsets_already_past_are_not_planned() -> None:
    now = datetime(2027, 3, 30, 12, 0, tzinfo=UTC)
    planned = planned_notices(date(2027, 4, 5), [30, 7, 1], BERLIN, now)
    assert [p.get("offset") for _, p in planned] == [1, None]


def test_a_past_due_day_starts_the_daily_overdue_notices_at_the_next_nine() -> None:
    now = datetime(2027, 10, 30, 10, 0, tzinfo=UTC)  # Saturday 12:00 CEST
    assert planned_notices(date(2027, 10, 1), [7], BERLIN, now) == [
        (datetime(2027, 10, 31, 8, 0, tzinfo=UTC), {"stage": "overdue"})  # Sunday 09:00 CET
    ]


def test_the_next_nine_oclock_is_strictly_after_now() -> None:
    nine = datetime(2027, 6, 1, 7, 0, tzinfo=UTC)
    assert next_notice_after(nine, BERLIN) == datetime(2027, 6, 2, 7, 0, tzinfo=UTC)
    assert next_notice_after(datetime(2027, 6, 1, 6, 59, tzinfo=UTC), BERLIN) == nine

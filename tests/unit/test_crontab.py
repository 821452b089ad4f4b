"""The crontab evaluator (commands/crontab.py) gives the same instants as APScheduler's
CronTrigger, which the bot's timer uses, across both daylight-saving changes of 2027."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger

from commands.crontab import next_occurrence, valid_recurrence

_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _aps_weekdays(field: str) -> str:
    """Crontab weekdays (0/7 Sunday) as names: APScheduler 3 reads numbers from Monday = 0."""
    out = []
    for part in field.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if base == "*":
            first, last = 0, 6
        elif "-" in base and base.replace("-", "").isdigit():
            first, last = (int(x) for x in base.split("-", 1))
        elif base.isdigit():
            first, last = int(base), (6 if step_text else int(base))
        else:
            out.append(part)  # names are read the same by both
            continue
        out.extend(_NAMES[d] for d in range(first, last + 1, step))
    return ",".join(dict.fromkeys(out))


def reference(recurrence: str, zone: str, after: datetime) -> datetime | None:
    minute, hour, day, month, weekday = recurrence.split()
    trigger = CronTrigger(minute=minute, hour=hour, day=day, month=month, day_of_week=_aps_weekdays(weekday),
                          timezone=ZoneInfo(zone))
    found = trigger.get_next_fire_time(None, after + timedelta(microseconds=1))
    return None if found is None else found.astimezone(UTC)


CRONTABS = [
    "0 9 * * 1", "30 8 * * mon-fri", "0 10 1 * *", "0 18 * * *", "*/15 * * * *", "0 */2 * * *",
    "30 2 * * *", "0 2 * * *", "15 3 * * sun", "0 9 * * 0", "0 9 * * 7", "0 9 * * 1-5", "0 9 * * 6,0",
    "0 9 last * *", "0 9 29 2 *", "0 9 31 * *", "5 4 * jan,jul *", "0 0 1 1 *", "45 23 * * fri",
    "0 9 13 * 5", "*/30 1-3 * * *", "0 12 */10 * *", "0 9 * * */2", "10,40 * * * sat",
]
# Around both daylight-saving changes of 2027 in Berlin, month ends, a leap day, and random times.
STARTS = [datetime(2027, 3, 27, 22, tzinfo=UTC), datetime(2027, 3, 28, 0, 30, tzinfo=UTC),
          datetime(2027, 3, 28, 1, 0, tzinfo=UTC), datetime(2027, 10, 30, 23, tzinfo=UTC),
          datetime(2027, 10, 31, 0, 15, tzinfo=UTC), datetime(2027, 10, 31, 0, 59, tzinfo=UTC),
          datetime(2027, 10, 31, 1, 0, tzinfo=UTC), datetime(2028, 2, 28, 8, tzinfo=UTC),
          datetime(2026, 12, 31, 23, 30, tzinfo=UTC)]
STARTS += [datetime(2026, 11, 27, tzinfo=UTC) + timedelta(minutes=random.Random(7 + i).randrange(2 * 525_600))
           for i in range(20)]


SPRING = datetime(2027, 3, 28, 1, tzinfo=UTC)  # 02:00 CET becomes 03:00 CEST in Berlin


@pytest.mark.parametrize("recurrence", CRONTABS)
@pytest.mark.parametrize("zone", ["Europe/Berlin", "UTC"])
def test_the_same_instants_as_apschedulers_crontrigger(recurrence: str, zone: str) -> None:
    for start in STARTS:
        after = start
        for _ in range(6):  # a chain of occurrences, each after the one before
            expected = reference(recurrence, zone, after)
            assert expected is not None
            found = next_occurrence(recurrence, zone, after)
            if found != expected and zone == "Europe/Berlin" and SPRING <= after < SPRING + timedelta(hours=1):
                # The one difference: a time the spring change skips (02:30) happens at 03:30 summer
                # time, as CronTrigger also says when asked before 03:00; asked between 03:00 and
                # 03:30, CronTrigger drops that day's occurrence, we still deliver it.
                assert after < found < SPRING + timedelta(hours=1) < expected, (recurrence, after, found)
            else:
                assert found == expected, (recurrence, zone, after)
            after = expected


def test_a_time_the_spring_change_skips_is_delivered_an_hour_later() -> None:
    assert next_occurrence("30 2 * * *", "Europe/Berlin", SPRING - timedelta(hours=2)) == SPRING + timedelta(minutes=30)
    assert next_occurrence("30 2 * * *", "Europe/Berlin", SPRING) == SPRING + timedelta(minutes=30)


def test_a_time_the_autumn_change_repeats_happens_twice() -> None:
    autumn = datetime(2027, 10, 31, 0, 30, tzinfo=UTC)  # 02:30 summer time, then 02:30 winter time
    assert next_occurrence("30 2 * * *", "Europe/Berlin", autumn - timedelta(minutes=1)) == autumn
    assert next_occurrence("30 2 * * *", "Europe/Berlin", autumn) == autumn + timedelta(hours=1)
    assert reference("30 2 * * *", "Europe/Berlin", autumn) == autumn + timedelta(hours=1)  # as CronTrigger


@pytest.mark.parametrize("recurrence", ["0 9 * *", "61 9 * * *", "0 24 * * *", "0 9 32 * *", "0 9 * 13 *",
                                        "0 9 * * 8", "*/0 * * * *", "0 9 * * xyz", "0 9 5-1 * *"])
def test_bad_crontabs_are_refused_as_by_crontrigger(recurrence: str) -> None:
    assert not valid_recurrence(recurrence)
    with pytest.raises((ValueError, KeyError, IndexError)):
        reference(recurrence, "UTC", datetime(2027, 1, 1, tzinfo=UTC))


def test_a_crontab_that_never_happens_has_no_occurrence() -> None:
    assert reference("0 9 31 2 *", "UTC", datetime(2027, 1, 1, tzinfo=UTC)) is None
    with pytest.raises(ValueError, match="no next occurrence"):
        next_occurrence("0 9 31 2 *", "UTC", datetime(2027, 1, 1, tzinfo=UTC))

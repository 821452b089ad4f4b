"""When a reminder fires: "in 5 Sekunden", "morgen 9 Uhr", "jeden Werktag 8:30", "cron 0 9 * * 1".

A one-off time becomes a UTC instant; a recurrence becomes a 5-field crontab ("m h dom mon dow")
that the due-work engine evaluates in the room's time zone (commands/crontab.py, by CronTrigger's
rules), so a 09:00 reminder stays at 09:00 local across daylight-saving changes.

Weekdays are always written as names (mon..sun) in the crontabs we store: APScheduler 3 reads a
numeric day of week as 0 = Monday, standard cron as 0 = Sunday, and names mean the same to both.
A user's `cron … 1` is read as standard cron (1 = Monday) and stored as `mon`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from commands.crontab import next_occurrence, valid_recurrence
from commands.errors import BadArguments
from commands.i18n import N_
from commands.when import NOT_UNDERSTOOD as WHEN_NOT_UNDERSTOOD
from commands.when import local_to_utc, parse_when

NO_SEMICOLON = N_("Please separate the time and the text with “;”.")
NO_TIME = N_("When? Put the time before the “;”.")
NO_TEXT = N_("What should I remind you of? Put the text after the “;”.")
NOT_UNDERSTOOD = N_("I did not understand “{text}” as a time or a recurrence. "
                    "Examples: in 10 minutes, tomorrow 9am, every monday 9:00, every 1st of month 10:00.")
IN_THE_PAST = N_("{when} is already in the past.")
TOO_FAR = N_("A reminder can be at most 10 years ahead.")
NO_RANGE = N_("A reminder needs one point in time, not a range like “{text}”.")
BAD_CRON = N_("“{cron}” is not a crontab with 5 fields like `cron 0 9 * * 1` (minute, hour, day, month, weekday).")
NEVER = N_("“{text}” never happens.")
BAD_INTERVAL = N_("“{text}” does not fit a clock: use every 1–30 minutes (dividing the hour) or every 1–12 hours.")

DEFAULT_MINUTES = 9 * 60  # a day without a time of day means 09:00 local
_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Schedule:
    """The first firing (UTC) and, for a recurring reminder, its crontab."""

    due_at: datetime
    recurrence: str | None = None


def _words(spec: str) -> dict[str, int]:
    return {w: n for n, group in enumerate(spec.split("|")) for w in group.split()}


_WEEKDAYS = _words(
    "mo montag mon monday|di dienstag tue tues tuesday|mi mittwoch wed weds wednesday"
    "|do donnerstag thu thur thurs thursday|fr freitag fri friday"
    "|sa samstag sonnabend sat saturday|so sonntag sun sunday"
)
# "montags", "mondays": recurring on their own
_WEEKDAYS_PLURAL = _words(
    "montags mondays|dienstags tuesdays|mittwochs wednesdays|donnerstags thursdays|freitags fridays"
    "|samstags sonnabends saturdays|sonntags sundays"
)
_EVERY = set("jeden jede jedes jeder every each alle allen".split())
_DAILY = set("täglich taeglich daily tag tage day days".split())
_WORKDAYS = set("werktag werktags werktage arbeitstag arbeitstage weekday weekdays workday workdays".split())
_WEEKEND = set("wochenende weekend weekends".split())
_WEEKLY = set("woche wöchentlich woechentlich week weekly".split())
_MONTHLY = set("monat monatlich month monthly".split())
_HOURLY = set("stunde stündlich stuendlich hour hourly".split())
_ORDINALS = {**_words("erste ersten erster first|zweite zweiten second|dritte dritten third"),
             "letzte": -1, "letzten": -1, "letzter": -1, "last": -1}
_FILLERS = set("am um an den der die des dem im in the on at of and und , monats month tag day".split())
_LIST_JOIN = {"und", "and", ",", "sowie"}
_ME = {"me", "mich", "uns", "us"}

_NUMBERS = _words(
    "ein eins eine einem einer einen one a an|zwei two|drei three|vier four|fünf fuenf five"
    "|sechs six|sieben seven|acht eight|neun nine|zehn ten|elf eleven|zwölf zwoelf twelve"
)
_UNITS = {
    **dict.fromkeys("sekunde sekunden sek s sec secs second seconds".split(), timedelta(seconds=1)),
    **dict.fromkeys("minute minuten min mins minutes".split(), timedelta(minutes=1)),
    **dict.fromkeys("stunde stunden std h hour hours".split(), timedelta(hours=1)),
    **dict.fromkeys("tag tage tagen day days".split(), timedelta(days=1)),
    **dict.fromkeys("woche wochen week weeks".split(), timedelta(weeks=1)),
}
_CLOCK = re.compile(r"(\d{1,2})(?:[:.](\d{2}))?(uhr|h|am|pm)?")
_ORDINAL_DAY = re.compile(r"(\d{1,2})(?:\.|st|nd|rd|th)")
_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.")
_CRON_FIELD = re.compile(r"[0-9*/,\-a-z?]+|last")


_STANDALONE = set(_WEEKDAYS_PLURAL) | set(
    "täglich taeglich daily werktags weekdays wöchentlich woechentlich weekly monatlich monthly"
    " stündlich stuendlich hourly".split()
)


def number(token: str) -> int | None:
    if token.isdigit():
        return int(token)
    return _NUMBERS[token] + 1 if token in _NUMBERS else None


def _tokens(text: str) -> list[str]:
    spaced = re.sub(r",", " , ", text.lower().replace("–", "-"))
    spaced = re.sub(r"(?<=[^\W\d_])-(?=[^\W\d_])", " - ", spaced)  # "Mo-Fr"
    return [t for t in (w.strip(";!?()") for w in spaced.split()) if t]


def split_reminder(text: str) -> tuple[str, str]:
    """("in 5 Sekunden", "Test") from "in 5 Sekunden; Test"; translated errors for the rest."""
    when, sep, what = text.partition(";")
    if not sep:
        raise BadArguments(NO_SEMICOLON)
    words = when.split()
    if words and words[0].lower() in _ME:  # "remind me in 10 minutes; …"
        words = words[1:]
    if not words:
        raise BadArguments(NO_TIME)
    if not what.strip():
        raise BadArguments(NO_TEXT)
    return " ".join(words), what.strip()


def parse_schedule(text: str, now: datetime, tz: ZoneInfo) -> Schedule:
    """The schedule of a reminder from the words before the ";"."""
    tokens = _tokens(text)
    if not tokens:
        raise BadArguments(NO_TIME)
    cron = parse_recurrence(text, now, tz)
    if cron is not None:
        return Schedule(_first_fire(cron, tz, now, text), cron)
    due = _duration(tokens, now)
    if due is None:
        try:
            found = parse_when(text.split(), now, tz, default_today=True)
        except BadArguments as error:
            if error.message == WHEN_NOT_UNDERSTOOD:
                raise BadArguments(NOT_UNDERSTOOD, text=error.params["text"]) from None
            raise
        if found.end_min is not None:
            raise BadArguments(NO_RANGE, text=text)
        minutes = DEFAULT_MINUTES if found.start_min is None else found.start_min
        due = local_to_utc(found.day, minutes, tz)
    if due <= now:
        raise BadArguments(IN_THE_PAST, when=due.astimezone(tz).strftime("%d.%m.%Y %H:%M"))
    if due > now + timedelta(days=3653):
        raise BadArguments(TOO_FAR)
    return Schedule(due.astimezone(UTC))


def _duration(tokens: list[str], now: datetime) -> datetime | None:
    """now + "in 5 Sekunden" / "in 1 Stunde und 30 Minuten"; None if the words say more than that."""
    if tokens[0] != "in" or len(tokens) < 3:
        return None
    total, i = timedelta(0), 1
    while i < len(tokens):
        if tokens[i] in _LIST_JOIN and i > 1:
            i += 1
            continue
        n = number(tokens[i])
        unit = _UNITS.get(tokens[i + 1]) if i + 1 < len(tokens) else None
        if n is None or unit is None:
            return None
        if n > 100_000:  # "in 99999999 Tagen" would overflow a timedelta
            raise BadArguments(TOO_FAR)
        total += unit * n
        i += 2
    return now.astimezone(UTC) + total


def parse_recurrence(text: str, now: datetime, tz: ZoneInfo) -> str | None:
    """A crontab for "jeden Montag 9 Uhr", "every 1st of month 10:00", "cron 0 9 * * 1"; None if
    the words are not a recurrence at all (then they may be a one-off time)."""
    tokens = _tokens(text)
    if not tokens:
        return None
    if tokens[0] == "cron":
        return _crontab(text.split()[1:], text)
    standalone = tokens[0] in _STANDALONE or (  # "Mo-Fr 9 Uhr"
        tokens[0] in _WEEKDAYS and tokens[1:2] in (["-"], ["bis"]) and tokens[2:3] and tokens[2] in _WEEKDAYS)
    if tokens[0] not in _EVERY and not standalone:
        return None
    return _Recurrence(tokens[0 if standalone else 1:], now.astimezone(tz), text).crontab()


class _Recurrence:
    def __init__(self, tokens: list[str], local_now: datetime, text: str) -> None:
        self.toks = tokens
        self.now = local_now
        self.text = text
        self.i = 0
        self.dow: set[int] | None = None
        self.dom: str = "*"
        self.month: str = "*"
        self.minute: int | None = None
        self.hour: int | None = None
        self.interval: str | None = None  # "*/15 * * * *" kinds
        self.monthly = False

    def tok(self, k: int = 0) -> str:
        return self.toks[self.i + k] if self.i + k < len(self.toks) else ""

    def fail(self) -> BadArguments:
        return BadArguments(NOT_UNDERSTOOD, text=self.text)

    def crontab(self) -> str:
        if not self.toks:
            raise self.fail()
        self._what()
        while self.i < len(self.toks):
            if self.minute is None and self._clock():
                continue
            if self.dom == "*" and self.dow is None and self._ordinal():
                continue
            if self.tok() in _FILLERS:
                self.i += 1
                continue
            raise self.fail()
        if self.interval is not None:
            if self.minute is not None:
                raise self.fail()
            return self.interval
        hour, minute = divmod(DEFAULT_MINUTES, 60)
        if self.minute is not None and self.hour is not None:
            hour, minute = self.hour, self.minute
        if self.monthly and self.dom == "*":
            self.dom = "1"
        dow = "*" if self.dow is None else ",".join(_DAY_NAMES[d] for d in sorted(self.dow))
        return f"{minute} {hour} {self.dom} {self.month} {dow}"

    def _what(self) -> None:
        """The first words: which days (or which interval)."""
        t = self.tok()
        if t in _DAILY:
            self.i += 1
        elif t in _WORKDAYS:
            self.dow, self.i = {0, 1, 2, 3, 4}, self.i + 1
        elif t in _WEEKEND:
            self.dow, self.i = {5, 6}, self.i + 1
        elif t in _WEEKLY:
            self.dow, self.i = {self.now.weekday()}, self.i + 1
        elif t in _MONTHLY:
            self.monthly, self.i = True, self.i + 1
        elif t in _HOURLY:
            self.interval, self.i = "0 * * * *", self.i + 1
        elif t in _WEEKDAYS or t in _WEEKDAYS_PLURAL:
            self.dow = set()
            while self.tok() in _WEEKDAYS or self.tok() in _WEEKDAYS_PLURAL:
                day = _WEEKDAYS.get(self.tok(), _WEEKDAYS_PLURAL.get(self.tok()))
                if self.tok(1) in ("-", "bis", "to") and (last := _WEEKDAYS.get(self.tok(2))) is not None:
                    self.dow.update(d % 7 for d in range(day, last + 1 if last >= day else last + 8))
                    self.i += 3
                else:
                    self.dow.add(day)
                    self.i += 1
                if self.tok() in _LIST_JOIN and (self.tok(1) in _WEEKDAYS or self.tok(1) in _WEEKDAYS_PLURAL):
                    self.i += 1
        elif (n := number(t)) is not None and self.tok(1) in _UNITS:
            unit = _UNITS[self.tok(1)]
            if unit == timedelta(minutes=1) and 1 <= n <= 30 and 60 % n == 0:
                self.interval = f"*/{n} * * * *"
            elif unit == timedelta(hours=1) and 1 <= n <= 12 and 24 % n == 0:
                self.interval = f"0 */{n} * * *"
            elif unit == timedelta(days=1) and n == 1:
                pass
            else:
                raise BadArguments(BAD_INTERVAL, text=self.text)
            self.i += 2
        elif m := _DATE.fullmatch(t):  # "jeden 24.12." once a year
            day, month = int(m[1]), int(m[2])
            if not 1 <= month <= 12 or not 1 <= day <= 31:
                raise self.fail()
            self.dom, self.month, self.i = str(day), str(month), self.i + 1
        elif not self._ordinal():
            raise self.fail()

    def _ordinal(self) -> bool:
        """"1.", "1st", "ersten", "letzten" (of the month), with an optional "Tag"/"day"."""
        t = self.tok()
        if (m := _ORDINAL_DAY.fullmatch(t)) and 1 <= int(m[1]) <= 31:
            self.dom = m[1].lstrip("0") or "0"
        elif t in _ORDINALS and _ORDINALS[t] == -1:
            self.dom = "last"
        elif t in _ORDINALS:
            self.dom = str(_ORDINALS[t] + 1)
        else:
            return False
        if self.dom == "0":
            raise self.fail()
        self.i += 1
        return True

    def _clock(self) -> bool:
        k = 1 if self.tok() in ("um", "at", "gegen") else 0
        m = _CLOCK.fullmatch(self.tok(k))
        if not m:
            return False
        hour, minute, suffix, used = int(m[1]), int(m[2] or 0), m[3], k + 1
        if suffix is None and self.tok(k + 1) in ("uhr", "h", "am", "pm"):
            suffix, used = self.tok(k + 1), k + 2
        elif m[2] is None and suffix is None and k == 0:
            return False  # a bare number is no time of day, "um 9" is
        if suffix in ("am", "pm"):
            if not 1 <= hour <= 12:
                raise self.fail()
            hour = hour % 12 + (12 if suffix == "pm" else 0)
        if hour > 23 or minute > 59:
            raise self.fail()
        self.hour, self.minute = hour, minute
        self.i += used
        return True


def _crontab(fields: list[str], text: str) -> str:
    raw = " ".join(fields)
    fields = [f.lower() for f in fields]
    if len(fields) != 5 or not all(_CRON_FIELD.fullmatch(f) for f in fields):
        raise BadArguments(BAD_CRON, cron=raw)
    fields[4] = _dow_names(fields[4], raw)
    crontab = " ".join(fields)
    if not valid_recurrence(crontab):
        raise BadArguments(BAD_CRON, cron=raw)
    return crontab


def _dow_names(field: str, raw: str) -> str:
    """Standard cron weekdays (0 and 7 are Sunday) as names, which APScheduler reads the same way."""
    if field in ("*", "?"):
        return "*"
    days: set[int] = set()
    for part in field.split(","):
        base, _, step = part.partition("/")
        if base == "*":
            first, last = 0, 6
        elif "-" in base:
            a, _, b = base.partition("-")
            first, last = _cron_day(a, raw), _cron_day(b, raw)
        else:
            first = last = _cron_day(base, raw)
        if not step.isdigit() and step:
            raise BadArguments(BAD_CRON, cron=raw)
        days.update(range(first, (last if last >= first else last + 7) + 1, int(step or 1)))
    # cron counts from Sunday = 0; our names from Monday = 0
    return ",".join(_DAY_NAMES[d] for d in sorted({(d - 1) % 7 for d in days}))


def _cron_day(text: str, raw: str) -> int:
    if text.isdigit() and int(text) <= 7:
        return int(text) % 7
    if text[:3] in _DAY_NAMES:
        return (_DAY_NAMES.index(text[:3]) + 1) % 7
    raise BadArguments(BAD_CRON, cron=raw)


def next_fire(crontab: str, tz: ZoneInfo, after: datetime) -> datetime | None:
    """The first firing strictly after `after`, in UTC (None: never); the engine's own rule."""
    try:
        return next_occurrence(crontab, tz.key, after)
    except (ValueError, KeyError):
        return None


def _first_fire(crontab: str, tz: ZoneInfo, now: datetime, text: str) -> datetime:
    found = next_fire(crontab, tz, now)
    if found is None:
        raise BadArguments(NEVER, text=text)
    return found

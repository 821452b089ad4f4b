"""Dates and times as lab members type them: "morgen 14-16", "Fr 9:30-12", "next friday 2pm-4pm".

Our own rules come first, because dateparser gets German chat input wrong ("Fr 14 Uhr" becomes
the 14th). dateparser is only a fallback for date words the rules don't cover, and it only sees
words that no rule has claimed, so it never takes a time for a day. Times are wall-clock minutes
in the lab's zone, and `local_to_utc` turns them into the UTC instants we store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from commands.errors import BadArguments
from commands.i18n import N_

EXAMPLES = "morgen 14-16, Fr 9:30-12"
NOT_UNDERSTOOD = N_("I did not understand “{text}” as a date or time. Examples: {examples}")
NO_SUCH_DATE = N_("The date “{date}” does not exist.")
BAD_TIME = N_("“{time}” is not a time of day. Use 0:00 to 23:59, or 24:00 to end a range.")
BACKWARDS = N_("The time range {range} ends before it starts.")
EMPTY_RANGE = N_("The time range {range} is empty: it starts and ends at the same time.")
NEED_DAY = N_("Which day? Please add a date. Examples: {examples}")
PERIOD_BACKWARDS = N_("The period {range} ends before it starts.")


@dataclass(frozen=True)
class When:
    """A local day with an optional time of day or range.

    Times are minutes after local midnight (0..1440) so that a range may end at 24:00, which a
    `datetime.time` can't express. `end_min` is exclusive and only set together with `start_min`.
    """

    day: date
    start_min: int | None = None
    end_min: int | None = None


def _words(spec: str) -> dict[str, int]:
    """'a b|c d' → {a: 0, b: 0, c: 1, d: 1}: synonyms of one value share a group."""
    return {w: n for n, group in enumerate(spec.split("|")) for w in group.split()}


_WEEKDAYS = _words(
    "mo montag mon monday|di dienstag tue tues tuesday|mi mittwoch wed weds wednesday"
    "|do donnerstag thu thur thurs thursday|fr freitag fri friday"
    "|sa samstag sonnabend sat saturday|so sonntag sun sunday"
)
_MONTHS = {w: n + 1 for w, n in _words(
    "jan januar jänner jaenner january|feb februar february|mär märz maerz mrz mar march"
    "|apr april|mai may|jun juni june|jul juli july|aug august|sep sept september"
    "|okt oktober oct october|nov november|dez dezember dec december"
).items()}
_NUMBERS = _words(
    "null zero|ein eins eine einem einer einen one a an|zwei two|drei three|vier four"
    "|fünf fuenf five|sechs six|sieben seven|acht eight|neun nine|zehn ten|elf eleven"
    "|zwölf zwoelf twelve"
)
_RELATIVE = {"heute": 0, "today": 0, "morgen": 1, "tomorrow": 1, "übermorgen": 2, "uebermorgen": 2}
_NEXT = set("nächste nächsten nächster naechste naechsten naechster kommende kommenden "
            "kommender next coming".split())
_IN_UNITS = {**dict.fromkeys("tag tage tagen day days".split(), timedelta(days=1)),
             **dict.fromkeys("woche wochen week weeks".split(), timedelta(weeks=1)),
             **dict.fromkeys("stunde stunden std h hour hours".split(), timedelta(hours=1)),
             **dict.fromkeys("minute minuten min mins minutes".split(), timedelta(minutes=1))}
_TIME_PREFIX = {"von", "ab", "um", "gegen", "from", "at"}
_RANGE_SEP = {"-", "bis", "to", "until", "till"}
_SUFFIXES = {"uhr", "h", "am", "pm"}
_NOON = {"mittag", "mittags", "noon"}
_FILLERS = set("am um den der the on at diesen diese dieser this vom von from ab".split())

_DASHES = str.maketrans(dict.fromkeys("–—−‐‑", "-"))
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_DOTTED = re.compile(r"(\d{1,2})\.(\d{1,2})(?:(\.)(\d{2}|\d{4})?)?")
_DAY_NUMBER = re.compile(r"(\d{1,2})(?:\.|st|nd|rd|th)?")
_CLOCK = re.compile(r"(\d{1,2})(?:([:.])(\d{2}))?(uhr|h|am|pm)?(\.?)")


def _tokenize(words: list[str]) -> tuple[list[str], list[int]]:
    """Lower-case tokens, with "14-16" split at the dash, and for each the index of its word."""
    tokens: list[str] = []
    owner: list[int] = []
    for k, word in enumerate(words):
        for piece in word.lower().translate(_DASHES).split():
            piece = piece.strip(",;!?()")
            parts = [piece] if _ISO.fullmatch(piece) else re.split(r"(-)", piece)
            for part in parts:
                if part.endswith(".") and part[:-1].isalpha():
                    part = part[:-1]  # "Fr." and "Uhr." at the end of a sentence
                if part:
                    tokens.append(part)
                    owner.append(k)
    return tokens, owner


def _valid(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _make_date(year: int, month: int, day: int, raw: str) -> date:
    if (found := _valid(year, month, day)) is None:
        raise BadArguments(NO_SUCH_DATE, date=raw)
    return found


def _next_yearly(month: int, day: int, not_before: date, raw: str) -> date:
    """The first such day on or after `not_before` (29.02. waits for a leap year)."""
    for year in range(not_before.year, not_before.year + 9):
        if (found := _valid(year, month, day)) and found >= not_before:
            return found
    raise BadArguments(NO_SUCH_DATE, date=raw)


def _number(text: str) -> int | None:
    return int(text) if text.isdigit() else _NUMBERS.get(text)


class _Reader:
    """One pass over the tokens; `raw(i, j)` gives back the words the user typed for tokens i..j."""

    def __init__(self, words: list[str], now: datetime, tz: ZoneInfo, not_before: date | None) -> None:
        self.words = words
        self.toks, self.owner = _tokenize(words)
        self.now = now.astimezone(tz)
        self.today = self.now.date()
        self.not_before = not_before or self.today

    def tok(self, i: int) -> str:
        return self.toks[i] if i < len(self.toks) else ""

    def raw(self, i: int, j: int) -> str:
        return " ".join(self.words[k] for k in sorted(set(self.owner[i:j])))

    def date_at(self, i: int) -> tuple[date, int, int | None] | None:
        """(day, tokens used, start minute for "in 2 Stunden") if a date starts at token i."""
        t, nxt = self.tok(i), self.tok(i + 1)
        if t in _RELATIVE:
            return self.today + timedelta(days=_RELATIVE[t]), 1, None
        if (t, nxt, self.tok(i + 2)) == ("day", "after", "tomorrow"):
            return self.today + timedelta(days=2), 3, None
        base = self.not_before  # today, or the first day of a period: "Mo-Fr"
        if t in _NEXT and nxt in _WEEKDAYS:  # strictly after today
            return base + timedelta(days=(_WEEKDAYS[nxt] - base.weekday() - 1) % 7 + 1), 2, None
        if t in _WEEKDAYS:  # today counts
            return base + timedelta(days=(_WEEKDAYS[t] - base.weekday()) % 7), 1, None
        if t == "in" and (n := _number(nxt)) is not None and self.tok(i + 2) in _IN_UNITS:
            step = _IN_UNITS[self.tok(i + 2)] * n
            if step % timedelta(days=1):
                moment = (self.now.astimezone(UTC) + step).astimezone(self.now.tzinfo)
                return moment.date(), 3, moment.hour * 60 + moment.minute
            return self.today + step, 3, None
        if m := _ISO.fullmatch(t):
            return _make_date(*map(int, m.groups()), self.raw(i, i + 1)), 1, None
        if m := _DOTTED.fullmatch(t):
            day, month, dot, year = m.groups()
            if dot or 1 <= int(month) <= 12:  # "14.30" without a dot is left to the clock
                if year:  # "26" is 2026
                    full = int(year) + (2000 if len(year) == 2 else 0)
                    return _make_date(full, int(month), int(day), self.raw(i, i + 1)), 1, None
                return _next_yearly(int(month), int(day), self.not_before, self.raw(i, i + 1)), 1, None
        if (m := _DAY_NUMBER.fullmatch(t)) and nxt in _MONTHS:  # "1. März", "1st March 2027"
            return self._named(int(m[1]), _MONTHS[nxt], i, 2)
        if t in _MONTHS and (m := _DAY_NUMBER.fullmatch(nxt)) and self.tok(i + 2) not in _RANGE_SEP:
            return self._named(int(m[1]), _MONTHS[t], i, 2)  # "March 1", "März 1 2027"
        if re.fullmatch(r"\d{1,2}\.", t):  # "am 14.": the next 14th of a month
            first = self.not_before
            for k in range(13):
                year, month = divmod(first.month - 1 + k, 12)
                if (found := _valid(first.year + year, month + 1, int(t[:-1]))) and found >= first:
                    return found, 1, None
            raise BadArguments(NO_SUCH_DATE, date=self.raw(i, i + 1))
        return None

    def _named(self, day: int, month: int, i: int, used: int) -> tuple[date, int, None]:
        if re.fullmatch(r"\d{4}", self.tok(i + used)):
            return _make_date(int(self.tok(i + used)), month, day, self.raw(i, i + used + 1)), used + 1, None
        return _next_yearly(month, day, self.not_before, self.raw(i, i + used)), used, None

    def _clock_atom(self, i: int) -> tuple[int, int, str | None, bool, int] | None:
        """(hour, minute, am/pm/uhr, explicit?, tokens used) for "14", "9:30", "2pm", "halb drei"."""
        t, nxt = self.tok(i), self.tok(i + 1)
        if t == "halb" and (n := _number(nxt)) is not None and 1 <= n <= 12:
            hour = n - 1  # "halb drei" is 2:30, and in a lab that means 14:30
            return (hour + 12 if hour < 7 else hour), 30, None, True, 2
        if t in _NOON:
            return 12, 0, None, True, 1
        m = _CLOCK.fullmatch(t)
        if not m or (m[2] == "." and m[5]):  # "24.12." is a date
            return None
        hour, minute, suffix, used = int(m[1]), int(m[3] or 0), m[4], 1
        if suffix is None and nxt in _SUFFIXES and (nxt != "am" or hour <= 12):
            suffix, used = nxt, 2
        return hour, minute, suffix, bool(suffix or m[2] == ":"), used

    def time_at(self, i: int, weak: bool) -> tuple[int, int | None, int] | None:
        """(start, end or None, tokens used) for a time or range starting at token i."""
        j = i + 1 if self.tok(i) in _TIME_PREFIX else i
        a = self._clock_atom(j)
        if a is None:
            return None
        j += a[4]
        b = self._clock_atom(j + 1) if self.tok(j) in _RANGE_SEP else None
        if b:
            j += 1 + b[4]
        elif not (j > i + a[4] or a[3] or (weak and self.tok(j - 1)[:1].isdigit())):
            return None  # a bare "14" is only a time once no date rule wants it
        raw = self.raw(i, j)
        end = None if b is None else _minutes(*b[:3], raw)
        start = _minutes(*a[:3], raw)
        if end is not None and a[2] is None and b and b[2] == "pm" and 1 <= a[0] <= 12:
            if (pm := (a[0] % 12 + 12) * 60 + a[1]) < end:  # "2-4pm" is 14:00-16:00
                start = pm
        if end is None and start == 1440:
            raise BadArguments(BAD_TIME, time=raw)
        if end is not None and end <= start:
            raise BadArguments(BACKWARDS if end < start else EMPTY_RANGE, range=raw)
        return start, end, j - i

    def read(self, allow_time: bool) -> tuple[date | None, int | None, int | None]:
        day: date | None = None
        start: int | None = None
        end: int | None = None
        unknown: list[int] = []
        by_weekday = False  # "Fr, den 4.12." names the day twice; that is fine if they agree
        i = 0
        while i < len(self.toks):
            if allow_time and start is None and (found := self.time_at(i, weak=False)):
                start, end, used = found
            elif day is None and (dated := self.date_at(i)):
                day, used, clock = dated
                by_weekday = self.toks[i] in _WEEKDAYS or self.toks[i] in _NEXT
                if clock is not None and (not allow_time or start is not None):
                    unknown.extend(range(i, i + used))  # "in 2 Stunden" plus another time
                elif clock is not None:
                    start = clock
            elif by_weekday and day and (dated := self.date_at(i)) and dated[0].weekday() == day.weekday():
                day, used, by_weekday = dated[0], dated[1], False
            elif allow_time and start is None and (found := self.time_at(i, weak=True)):
                start, end, used = found
            else:
                if self.toks[i] not in _FILLERS:
                    unknown.append(i)
                used = 1
            i += used
        if unknown:
            text = " ".join(self.words[k] for k in sorted({self.owner[u] for u in unknown}))
            if day is None and (day := self._fallback(text)) is not None:
                return day, start, end
            raise BadArguments(NOT_UNDERSTOOD, text=text, examples=EXAMPLES)
        return day, start, end

    def _fallback(self, text: str) -> date | None:
        """dateparser for the rest ("nächste Woche"), but not for lone letters or number words."""
        words = re.findall(r"[^\W\d_]{3,}", text.lower())
        if not any(w not in _NUMBERS for w in words):
            return None
        import dateparser  # slow to import; most input never gets here

        settings = {"PREFER_DATES_FROM": "future", "RETURN_AS_TIMEZONE_AWARE": False,
                    "RELATIVE_BASE": self.now.replace(tzinfo=None)}
        found = dateparser.parse(text, languages=["de", "en"], settings=settings)
        return found.date() if found else None


def _minutes(hour: int, minute: int, suffix: str | None, raw: str) -> int:
    if suffix in ("am", "pm"):
        if not 1 <= hour <= 12 or minute > 59:
            raise BadArguments(BAD_TIME, time=raw)
        hour = hour % 12 + (12 if suffix == "pm" else 0)
    if hour > 24 or minute > 59 or (hour == 24 and minute):
        raise BadArguments(BAD_TIME, time=raw)
    return hour * 60 + minute


def parse_when(
    words: list[str], now: datetime, tz: ZoneInfo, *, default_today: bool = True
) -> When:
    """A day and an optional time or range from words such as ["Fr", "14", "bis", "16", "Uhr"].

    A bare weekday is today if today is that day, else the next one; "nächsten"/"next" skips today.
    A date without a year is the next such date that is not in the past. Without a date the day is
    today, or an error when `default_today` is false.
    """
    reader = _Reader(words, now, tz, None)
    day, start, end = reader.read(allow_time=True)
    if day is None:
        if not default_today:
            raise BadArguments(NEED_DAY, examples=EXAMPLES)
        day = reader.today
    return When(day, start, end)


def _day_only(text: str, now: datetime, tz: ZoneInfo, not_before: date | None) -> date:
    day = _Reader(text.split(), now, tz, not_before).read(allow_time=False)[0]
    if day is None:
        raise BadArguments(NOT_UNDERSTOOD, text=text.strip(), examples="24.12., 24.12.-1.1.")
    return day


def parse_date_range(text: str, now: datetime, tz: ZoneInfo) -> tuple[date, date]:
    """Inclusive (first, last) from "24.12.", "morgen", "24.12.-1.1.", "24.12. bis 1.1." or
    "2026-12-24..2027-01-01". A last day without a year is the first such day from the first on."""
    text = text.strip().translate(_DASHES)
    try:
        day = _day_only(text, now, tz, None)
        return day, day
    except BadArguments as error:
        failure = error
    lowered = text.lower()
    for sep in ("..", "…", " bis ", " to ", " until ", "-"):
        for m in re.finditer(f"(?={re.escape(sep)})", lowered):
            left, right = text[: m.start()], text[m.start() + len(sep) :]
            try:
                first = _day_only(left, now, tz, None)
            except BadArguments:
                continue
            try:
                last = _day_only(right, now, tz, first)
            except BadArguments as error:
                failure = error  # the first day was fine, so the error about the last is the one
                continue
            if last < first:
                raise BadArguments(PERIOD_BACKWARDS, range=text)
            return first, last
    raise failure


def local_to_utc(day: date, minutes: int, tz: ZoneInfo) -> datetime:
    """The UTC instant of a local wall-clock time; 1440 is the next day's 00:00.

    fold=0: a time in the spring gap (02:30) is read with the winter offset, which lands an hour
    later on the clock (03:30 summer time); an ambiguous autumn time is its first occurrence.
    """
    if not 0 <= minutes <= 1440:
        raise ValueError(f"minutes out of range: {minutes}")
    if minutes == 1440:
        day, minutes = day + timedelta(days=1), 0
    return datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=tz).astimezone(UTC)


def format_minutes(minutes: int) -> str:
    """870 → "14:30", 1440 → "24:00"."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"

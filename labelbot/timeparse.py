"""Read the times, durations and zones members type into aware UTC instants and IANA zone names.

Decisions a caller should know about:

* Wall times are read in the zone named in the text if there is one, else in the ``zone`` argument
  (the member's zone, else the server's).
* A wall time that does not exist in the zone (02:30 on a spring-forward day) is refused with a
  message that names the shifted time to use instead; nothing is shifted silently.
* An ambiguous wall time (01:30 on a fall-back day) means its first occurrence.
* Abbreviations name a region, not an offset: "CET", "CEST" and "MEZ" all mean Europe/Berlin's wall
  clock, so "20:00 CET" in July is 20:00 summer time, because that is what people mean when they
  write it. "IST" is India, "CST" is US Central, "AST" is Atlantic, "BST" is British Summer Time.
* A fixed offset ("+01:00", "UTC+1", "Z") gives the exact instant. The zone reported is the
  member's zone when its offset agrees at that instant, else "UTC" for a zero offset, else
  "Etc/GMT-1"-style names for whole hours (IANA's sign is inverted: Etc/GMT-1 is UTC+01:00), else
  a representative zone for the half-hour offsets (+05:30 is Asia/Kolkata), else "UTC".
* "in 3 days" and "in 1 week" move the calendar and keep the wall-clock time, so they stay at the
  same hour across a DST change; "in 2h" and "in 90 minutes" are exact elapsed time.
* A weekday ("friday 8pm") is the next such day whose time is still ahead, today included;
  "next friday" is the coming Friday, a week away when said on a Friday. A bare time ("18:00")
  is its next occurrence.
* Dotted dates ("4.12.2026") are day-first; slashed dates ("12/04/2026") follow dateparser's
  English default, month-first.
"""

from __future__ import annotations

import difflib
import functools
import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import Any, Final
from zoneinfo import ZoneInfo, available_timezones

import discord
from dateparser.date import DateDataParser
from discord.utils import TimestampStyle

from labelbot.errors import InvalidInput

log = logging.getLogger(__name__)

__all__ = [
    "ParsedTime",
    "TimeParseError",
    "describe",
    "format_dt",
    "parse_duration",
    "parse_when",
    "parse_zone",
    "relative_and_absolute",
    "warm_up",
    "zone_choices",
]

MAX_INPUT_LENGTH: Final = 100
ECHO_LENGTH: Final = 40
DISCORD_STYLES: Final = frozenset("tTdDfFR")

_WEEKDAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# People write the standard and the daylight abbreviation interchangeably, so both name the region.
_ABBREVIATIONS: Final[dict[str, str]] = {
    "UTC": "UTC",
    "GMT": "UTC",
    "Z": "UTC",
    "BST": "Europe/London",
    "WET": "Europe/Lisbon",
    "WEST": "Europe/Lisbon",
    "CET": "Europe/Berlin",
    "CEST": "Europe/Berlin",
    "MEZ": "Europe/Berlin",
    "MESZ": "Europe/Berlin",
    "EET": "Europe/Athens",
    "EEST": "Europe/Athens",
    "MSK": "Europe/Moscow",
    "SAST": "Africa/Johannesburg",
    "WAT": "Africa/Lagos",
    "CAT": "Africa/Maputo",
    "EAT": "Africa/Nairobi",
    "IST": "Asia/Kolkata",
    "PKT": "Asia/Karachi",
    "ICT": "Asia/Bangkok",
    "WIB": "Asia/Jakarta",
    "SGT": "Asia/Singapore",
    "HKT": "Asia/Hong_Kong",
    "PHT": "Asia/Manila",
    "JST": "Asia/Tokyo",
    "KST": "Asia/Seoul",
    "AWST": "Australia/Perth",
    "ACST": "Australia/Adelaide",
    "ACDT": "Australia/Adelaide",
    "AEST": "Australia/Sydney",
    "AEDT": "Australia/Sydney",
    "NZST": "Pacific/Auckland",
    "NZDT": "Pacific/Auckland",
    "HST": "Pacific/Honolulu",
    "AKST": "America/Anchorage",
    "AKDT": "America/Anchorage",
    "PST": "America/Los_Angeles",
    "PDT": "America/Los_Angeles",
    "PT": "America/Los_Angeles",
    "MST": "America/Denver",
    "MDT": "America/Denver",
    "MT": "America/Denver",
    "CST": "America/Chicago",
    "CDT": "America/Chicago",
    "CT": "America/Chicago",
    "EST": "America/New_York",
    "EDT": "America/New_York",
    "ET": "America/New_York",
    "AST": "America/Halifax",
    "ADT": "America/Halifax",
    "NST": "America/St_Johns",
    "NDT": "America/St_Johns",
    "BRT": "America/Sao_Paulo",
    "ART": "America/Argentina/Buenos_Aires",
}

# Only these offsets are not whole hours, so no Etc/GMT name exists for them; first match wins.
_PART_HOUR_ZONES: Final = (
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Asia/Tehran",
    "Asia/Kabul",
    "Asia/Yangon",
    "Australia/Darwin",
    "Australia/Adelaide",
    "Australia/Eucla",
    "America/St_Johns",
    "Pacific/Chatham",
    "Pacific/Marquesas",
    "Australia/Lord_Howe",
)

_GEOGRAPHIC_AREAS: Final = frozenset(
    {"Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe", "Indian", "Pacific"}
)
_NOT_ZONES: Final = frozenset({"localtime", "Factory", "posixrules"})
_POPULAR_ZONES: Final = (
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Paris",
    "Europe/Amsterdam",
    "Europe/Stockholm",
    "Europe/Madrid",
    "Europe/Rome",
    "Europe/Warsaw",
    "Europe/Athens",
    "Europe/Moscow",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Toronto",
    "America/Mexico_City",
    "America/Sao_Paulo",
    "America/Argentina/Buenos_Aires",
    "Africa/Lagos",
    "Africa/Johannesburg",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
)

_UNREADABLE_TIME: Final = 'I couldn\'t read "{echo}" as a time. Try "2026-12-04 18:00", "friday 8pm" or "in 2h".'
_UNREADABLE_DURATION: Final = 'I couldn\'t read "{echo}" as a duration. Try "90m", "1h30m" or "2 hours".'

# Without the timestamp parsers a bare number is never read as seconds since 1970 in the host's
# zone, and without no-spaces-time "20261204" is not read as 2026-01-02 00:04.
_DATEPARSER_SETTINGS: Final[dict[str, Any]] = {
    "PREFER_DATES_FROM": "future",
    "PARSERS": ["relative-time", "custom-formats", "absolute-time"],
}
# "8" and "a" come back as whole months; a time needs at least a day.
_ACCEPTED_PERIODS: Final = frozenset({"day", "week", "time"})

_DISCORD_TIMESTAMP = re.compile(r"<t:(-?\d{1,12})(?::[tTdDfFR])?>")
_UNIX_SECONDS = re.compile(r"\d{10}")
_ISO = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?",
    re.IGNORECASE,
)
_DOTTED_DATE = re.compile(r"(?<![\d.])(\d{1,2})\.(\d{1,2})\.(\d{4})(?![\d.])")
_NAMED_OFFSET = re.compile(r"(?:utc|gmt)([+-])(\d{1,2})(?::?(\d{2}))?", re.IGNORECASE)
_BARE_OFFSET = re.compile(r"([+-])(\d{2}):?(\d{2})")
_WEEKDAY = r"(?:monday|mon|tuesday|tues|tue|wednesday|wed|thursday|thurs|thur|thu|friday|fri|saturday|sat|sunday|sun)"
_HAS_WEEKDAY = re.compile(rf"\b{_WEEKDAY}\b", re.IGNORECASE)
_QUALIFIED_WEEKDAY = re.compile(rf"\b(?:next|last|this|previous)\s+{_WEEKDAY}\b", re.IGNORECASE)
_EXPLICIT_DATE = re.compile(
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\b|\d+[-/]\d+|\b\d{4}\b", re.IGNORECASE
)
_RELATIVE = re.compile(r"(?:in\s+(?P<ahead>.+)|(?P<from_now>.+?)\s+from\s+now|(?P<bare>.+))", re.IGNORECASE)
_CLOCK_DURATION = re.compile(r"(\d{1,6}):([0-5]\d)(?::([0-5]\d))?")
_DURATION_PART = re.compile(
    r"\s*(?:,|and)?\s*"
    r"(?:(?P<number>\d{1,12}(?:\.\d{1,6})?|\.\d{1,6})\s*|(?P<article>an?|one)\s+)"
    r"(?P<unit>weeks?|wks?|w|days?|d|hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s)(?![a-z])",
    re.IGNORECASE,
)
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_UNIT_SECONDS: Final = {"w": 604_800, "d": 86_400, "h": 3_600, "m": 60, "s": 1}
_MENTION_STARTS = re.compile(r"([@<])")


# As an InvalidInput the command tree shows the sentence ephemerally, so cogs can let it propagate.
class TimeParseError(InvalidInput, ValueError):
    """A refused time, duration or zone; `str(error)` is one sentence safe to show the member as is."""


@dataclass(frozen=True)
class ParsedTime:
    """An instant a member asked for, kept in UTC, with the IANA zone they meant."""

    at: datetime
    zone: str
    text: str

    def __post_init__(self) -> None:
        if self.at.utcoffset() is None:
            raise ValueError("ParsedTime.at must be timezone-aware")
        if self.at.tzinfo is not UTC:
            # Frozen, so normalising has to bypass __setattr__; callers may hand in any aware value.
            object.__setattr__(self, "at", self.at.astimezone(UTC))

    def discord(self, style: TimestampStyle = "F") -> str:
        """Return the instant as a Discord timestamp such as ``<t:1767225600:F>``."""
        return format_dt(self.at, style)

    def local(self) -> datetime:
        """Return the instant on the wall clock of the zone the member meant."""
        return self.at.astimezone(ZoneInfo(self.zone))


def format_dt(at: datetime, style: TimestampStyle = "F") -> str:
    """Return ``<t:UNIX:style>`` for an aware datetime: discord.py's `format_dt`, made strict.

    discord.py reads a naive datetime as the host's local time: here a naive one is a bug to see, not a time
    shown hours off. A style Discord doesn't know would reach members as broken markup.
    """
    if at.utcoffset() is None:
        raise ValueError("format_dt needs a timezone-aware datetime")
    if style not in DISCORD_STYLES:
        raise ValueError(f"unknown Discord timestamp style {style!r}")
    # Whole seconds first: discord.py's int() would round an instant before 1970 up to the next second.
    return discord.utils.format_dt(at.replace(microsecond=0), style)


def relative_and_absolute(at: datetime) -> str:
    """Return ``<t:X:F> (<t:X:R>)`` for an aware datetime."""
    return f"{format_dt(at, 'F')} ({format_dt(at, 'R')})"


def describe(parsed: ParsedTime, *, now: datetime | None = None) -> str:
    """Return a plain-text preview such as "Fri 4 Dec 2026 18:00 Europe/Berlin (in 12 days)"."""
    local = parsed.local()
    label = _zone_label(parsed.zone, local)
    relative = _relative_phrase(parsed.at - _aware_now(now))
    text = f"{_day(local)} {local:%H:%M} {label} ({relative})"
    # Autocomplete choice names are capped at 100 characters by Discord.
    return text if len(text) <= MAX_INPUT_LENGTH else text[: MAX_INPUT_LENGTH - 1] + "…"


def parse_when(
    text: str,
    *,
    zone: str = "UTC",
    now: datetime | None = None,
    earliest: timedelta | None = timedelta(0),
    latest: timedelta | None = timedelta(days=730),
) -> ParsedTime:
    """Read a member's time input into the instant they meant, within ``earliest``/``latest`` of now."""
    default_zone = parse_zone(zone)
    current = _aware_now(now)
    cleaned = _clean(text)
    if not cleaned or len(text.strip()) > MAX_INPUT_LENGTH:
        raise _unreadable_time(text)
    try:
        at, meant = _read(cleaned, default_zone, current)
    except TimeParseError:
        raise
    except (OverflowError, ValueError):
        # Dates at the ends of datetime's range (year 1, year 9999) overflow when moved between zones.
        raise _unreadable_time(text) from None
    _check_window(at, current, earliest, latest)
    return ParsedTime(at=at, zone=meant, text=text)


def parse_duration(text: str) -> timedelta:
    """Read a duration such as "90m", "1h30m", "1:30:00", "2 hours" or "45 min"; refuse zero or less."""
    cleaned = _clean(text)
    if cleaned.startswith("-"):
        raise TimeParseError('A duration can\'t be negative; try something like "90m".')
    if not cleaned or len(text.strip()) > MAX_INPUT_LENGTH:
        raise TimeParseError(_UNREADABLE_DURATION.format(echo=_echo(text)))
    try:
        parts = _duration_parts(cleaned)
        total = None if parts is None else timedelta(days=parts[0]) + parts[1]
    except OverflowError:
        raise TimeParseError(f'"{_echo(text)}" is longer than any duration I can work with.') from None
    if total is None:
        raise TimeParseError(_UNREADABLE_DURATION.format(echo=_echo(text)))
    if total <= timedelta(0):
        raise TimeParseError('A duration has to be longer than zero; try something like "90m".')
    return total


def parse_zone(name: str) -> str:
    """Return the canonical IANA name for a zone name (any case) or a common abbreviation."""
    key = " ".join(name.split())
    if key.upper() in _ABBREVIATIONS:
        return _ABBREVIATIONS[key.upper()]
    canonical = _zone_index().get(key.lower().replace(" ", "_"))
    if canonical is not None:
        return canonical
    echo = _echo(name)
    if _NAMED_OFFSET.fullmatch(key) or _BARE_OFFSET.fullmatch(key):
        raise TimeParseError(
            f'"{echo}" is a fixed offset that ignores daylight saving; pick a place such as Europe/Berlin instead.'
        )
    # Past a plausible zone name's length the suggestions would only cost time.
    plausible = 0 < len(key) <= 64
    suggestion = next(iter(zone_choices(key, 1)), None) if plausible else None
    if suggestion is None and plausible:
        close = difflib.get_close_matches(key.lower(), _zone_index().keys(), n=1, cutoff=0.75)
        suggestion = _zone_index()[close[0]] if close else None
    if suggestion is not None:
        raise TimeParseError(f'I don\'t know the time zone "{echo}"; did you mean {suggestion}?')
    raise TimeParseError(f'I don\'t know the time zone "{echo}"; use a name like Europe/Berlin or America/New_York.')


def zone_choices(current: str, limit: int = 25) -> list[str]:
    """Return IANA zones matching what a member has typed so far, best first."""
    if limit <= 0:
        return []
    query = " ".join(current.split()).lower().replace(" ", "_")
    if not query:
        return list(_POPULAR_ZONES[:limit])
    ranked: list[tuple[int, str]] = []
    abbreviated = _ABBREVIATIONS.get(query.upper())
    if abbreviated is not None:
        ranked.append((-1, abbreviated))
    squashed = query.replace("_", "")
    for name in _autocomplete_zones():
        lowered = name.lower()
        parts = lowered.split("/")
        if lowered == query:
            rank = 0
        elif parts[-1].startswith(query):
            rank = 1
        elif lowered.startswith(query):
            rank = 2
        elif any(part.startswith(query) for part in parts):
            rank = 3
        elif query in lowered:
            rank = 4
        elif squashed and squashed in lowered.replace("_", ""):
            rank = 5
        else:
            continue
        ranked.append((rank, name))
    ranked.sort()
    return list(dict.fromkeys(name for _, name in ranked))[:limit]


def warm_up() -> None:
    """Load dateparser's English data and the zone list now, so the first member doesn't wait."""
    _zone_index()
    _dateparse("tomorrow 20:00", datetime(2026, 1, 1))  # noqa: DTZ001 - dateparser works on naive wall times


def _read(cleaned: str, default_zone: str, now: datetime) -> tuple[datetime, str]:
    """Return the instant and the zone meant for whitespace-normalised input."""
    # Members paste Discord timestamps copied from other messages, and sometimes raw Unix seconds.
    stamp = _DISCORD_TIMESTAMP.fullmatch(cleaned)
    seconds = stamp.group(1) if stamp is not None else cleaned if _UNIX_SECONDS.fullmatch(cleaned) else None
    if seconds is not None:
        return _EPOCH + timedelta(seconds=int(seconds)), default_zone

    rest, named, offset = _split_zone(cleaned)
    if not rest:
        raise _unreadable_time(cleaned)
    rest = _DOTTED_DATE.sub(lambda m: f"{m.group(3)}-{int(m.group(2)):02d}-{int(m.group(1)):02d}", rest)
    frame: tzinfo = timezone(offset) if offset is not None else ZoneInfo(named or default_zone)
    label = named or default_zone

    def zone_meant(at: datetime) -> str:
        if named is not None or offset is None:
            return label
        return _zone_for_offset(offset, at, default_zone)

    if _ISO.fullmatch(rest):
        try:
            wall = datetime.fromisoformat(rest.upper().replace("Z", "+00:00"))
        except ValueError:
            raise _unreadable_time(cleaned) from None
        if wall.utcoffset() is not None:
            if offset is not None:
                raise _unreadable_time(cleaned)
            at = wall.astimezone(UTC)
            own_offset = wall.utcoffset()
            assert own_offset is not None
            return at, named or _zone_for_offset(own_offset, at, default_zone)
        at = _localize(wall, frame, label)
        return at, zone_meant(at)

    relative = _relative_move(rest)
    if relative is not None:
        days, exact = relative
        wall = now.astimezone(frame).replace(tzinfo=None) + timedelta(days=days)
        # A calendar move that lands in a DST gap takes the pre-gap offset, i.e. shifts forward,
        # because refusing "in 1 day" over a time the member never typed would be baffling.
        at = wall.replace(tzinfo=frame).astimezone(UTC) + exact
        return at, zone_meant(at)

    local_now = now.astimezone(frame).replace(tzinfo=None)
    found = _dateparse(rest, local_now)
    if found is None:
        raise _unreadable_time(cleaned)
    if found.utcoffset() is not None:
        # dateparser knows abbreviations we don't map; it returns them as fixed offsets.
        found_offset = found.utcoffset()
        assert found_offset is not None
        at = found.astimezone(UTC)
        return at, named or _zone_for_offset(found_offset, at, default_zone)
    found = _this_weekday(rest, found, local_now)
    at = _localize(found, frame, label)
    return at, zone_meant(at)


def _dateparse(text: str, local_now: datetime) -> datetime | None:
    """Return dateparser's reading of ``text`` relative to a naive wall-clock now, or None."""
    parser = DateDataParser(languages=["en"], settings={**_DATEPARSER_SETTINGS, "RELATIVE_BASE": local_now})
    try:
        data = parser.get_date_data(text)
    except Exception:
        # dateparser raises assorted errors on odd input (regex, overflow, index); all mean "unreadable".
        log.debug("dateparser failed on %r", text, exc_info=True)
        return None
    found = data.date_obj
    if not isinstance(found, datetime) or data.period not in _ACCEPTED_PERIODS:
        return None
    return found


def _this_weekday(text: str, found: datetime, local_now: datetime) -> datetime:
    """Move a bare weekday that dateparser put a week out back to today when today's time is still ahead."""
    if not _HAS_WEEKDAY.search(text) or _QUALIFIED_WEEKDAY.search(text) or _EXPLICIT_DATE.search(text):
        return found
    # With PREFER_DATES_FROM=future, dateparser reads "friday 8pm" said on a Friday as next week's.
    today = found - timedelta(days=7)
    if today.date() == local_now.date() and today > local_now:
        return today
    return found


def _localize(wall: datetime, frame: tzinfo, label: str) -> datetime:
    """Return the UTC instant of a naive wall time in ``frame``; refuse times skipped by DST."""
    # fold=0 picks the first occurrence of an ambiguous fall-back time.
    aware = wall.replace(tzinfo=frame, fold=0)
    at = aware.astimezone(UTC)
    shifted = at.astimezone(frame)
    if shifted.replace(tzinfo=None) != wall:
        raise TimeParseError(
            f"There is no {wall:%H:%M} on {_day(wall)} in {label} because the clocks go forward then; "
            f"try {shifted:%H:%M}."
        )
    return at


def _split_zone(text: str) -> tuple[str, str | None, timedelta | None]:
    """Remove a zone word ("CET", "Europe/Berlin", "UTC+2") from the input and return what it named."""
    kept: list[str] = []
    named: str | None = None
    offset: timedelta | None = None
    for word in text.split(" "):
        bare = word.strip(",;()")
        zone = _zone_word(bare)
        word_offset = None if zone is not None else _offset_word(bare)
        if zone is None and word_offset is None:
            kept.append(word)
            continue
        if named is not None or offset is not None:
            raise _unreadable_time(text)
        named, offset = zone, word_offset
        if len(kept) > 1 and kept[-1].lower() == "in":
            kept.pop()  # "20:00 in Europe/Berlin"
    return " ".join(kept), named, offset


def _zone_word(word: str) -> str | None:
    """Return the IANA zone a single word names, if it is an IANA name with a slash or an abbreviation."""
    if "/" in word:
        return _zone_index().get(word.lower())
    return _ABBREVIATIONS.get(word.upper())


def _offset_word(word: str) -> timedelta | None:
    """Return the offset a word such as "UTC+2", "GMT-5:30" or "+01:00" spells, if it spells one."""
    match = _NAMED_OFFSET.fullmatch(word) or _BARE_OFFSET.fullmatch(word)
    if match is None:
        return None
    sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3) or 0)
    if hours > 14 or minutes >= 60:
        return None
    offset = timedelta(hours=hours, minutes=minutes)
    return -offset if sign == "-" else offset


def _zone_for_offset(offset: timedelta, at: datetime, preferred: str) -> str:
    """Return the IANA zone to report for an instant given with a fixed offset."""
    if at.astimezone(ZoneInfo(preferred)).utcoffset() == offset:
        return preferred
    if offset == timedelta(0):
        return "UTC"
    hours, remainder = divmod(offset, timedelta(hours=1))
    if not remainder:
        name = f"Etc/GMT{-hours:+d}"
        if name.lower() in _zone_index():
            return name
    for candidate in _PART_HOUR_ZONES:
        if at.astimezone(ZoneInfo(candidate)).utcoffset() == offset:
            return candidate
    return "UTC"


def _relative_move(text: str) -> tuple[int, timedelta] | None:
    """Return (calendar days, exact time) for "in 2h", "3 days from now" or a bare "90m"."""
    match = _RELATIVE.fullmatch(text)
    assert match is not None  # the last alternative matches anything
    if match.group("bare") is not None:
        # A bare "18:00" is a time of day, so only unit durations ("90m", "2 hours") count without "in".
        return _duration_parts(match.group("bare"), clock=False)
    return _duration_parts(match.group("ahead") or match.group("from_now"))


def _duration_parts(text: str, *, clock: bool = True) -> tuple[int, timedelta] | None:
    """Split a duration into whole calendar days (days, weeks) and exact time, or None if it isn't one."""
    text = text.strip()
    on_clock = _CLOCK_DURATION.fullmatch(text) if clock else None
    if on_clock is not None:
        hours, minutes, seconds = (int(group or 0) for group in on_clock.groups())
        return 0, timedelta(hours=hours, minutes=minutes, seconds=seconds)
    days = 0
    exact = timedelta(0)
    position = 0
    while position < len(text):
        part = _DURATION_PART.match(text, position)
        if part is None or part.end() == position:
            return None
        amount = float(part.group("number")) if part.group("number") else 1.0
        unit_seconds = _UNIT_SECONDS[part.group("unit")[0].lower()]
        if unit_seconds >= _UNIT_SECONDS["d"] and (amount * unit_seconds / _UNIT_SECONDS["d"]).is_integer():
            days += int(amount * unit_seconds / _UNIT_SECONDS["d"])
        else:
            exact += timedelta(seconds=amount * unit_seconds)
        position = part.end()
    if position == 0:
        return None
    # Checked here so that absurd day counts fail as overflow rather than later inside datetime.
    timedelta(days=days)
    return days, exact


def _check_window(at: datetime, now: datetime, earliest: timedelta | None, latest: timedelta | None) -> None:
    """Refuse an instant outside [now + earliest, now + latest], showing it as a Discord timestamp."""
    shown = format_dt(at, "F")
    if earliest is not None:
        floor = _shift(now, earliest)
        if floor is not None and at < floor:
            if earliest < timedelta(0):
                raise TimeParseError(f"That is {shown}, which is more than {_span(-earliest)} ago.")
            if at < now:
                raise TimeParseError(f"That is {shown}, which has already passed.")
            raise TimeParseError(f"That is {shown}, which is too soon; pick a time at least {_span(earliest)} ahead.")
    if latest is not None:
        ceiling = _shift(now, latest)
        if ceiling is not None and at > ceiling:
            raise TimeParseError(f"That is {shown}, which is more than {_span(latest)} away; pick an earlier time.")


def _shift(now: datetime, delta: timedelta) -> datetime | None:
    """Return now + delta, or None when that falls outside datetime's range (no bound there)."""
    try:
        return now + delta
    except OverflowError:
        return None


def _span(delta: timedelta) -> str:
    """Return a timedelta in words, in the largest unit that divides it evenly."""
    seconds = int(delta.total_seconds())
    for unit, size in (("year", 365 * 86_400), ("week", 7 * 86_400), ("day", 86_400), ("hour", 3_600)):
        if seconds >= size and seconds % size == 0:
            return _plural(seconds // size, unit)
    if seconds >= 60 and seconds % 60 == 0:
        return _plural(seconds // 60, "minute")
    return _plural(seconds, "second")


def _relative_phrase(delta: timedelta) -> str:
    """Return "in 12 days", "3 hours ago" or "now" for a signed timedelta."""
    seconds = delta.total_seconds()
    size = abs(seconds)
    if size < 60:
        return "now"
    if size < 90 * 60:
        amount = _plural(round(size / 60), "minute")
    elif size < 36 * 3600:
        amount = _plural(round(size / 3600), "hour")
    else:
        amount = _plural(round(size / 86_400), "day")
    return f"in {amount}" if seconds > 0 else f"{amount} ago"


def _plural(count: int, unit: str) -> str:
    """Return "1 day" or "3 days"."""
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"


def _day(moment: datetime | date) -> str:
    """Return "Fri 4 Dec 2026" in English whatever the process locale."""
    return f"{_WEEKDAYS[moment.weekday()]} {moment.day} {_MONTHS[moment.month - 1]} {moment.year}"


def _zone_label(zone: str, local: datetime) -> str:
    """Return the zone as shown in previews; Etc/GMT names read backwards, so show those as offsets."""
    if not zone.startswith("Etc/GMT"):
        return zone
    offset = local.utcoffset() or timedelta(0)
    hours, minutes = divmod(abs(int(offset.total_seconds())) // 60, 60)
    return f"UTC{'-' if offset < timedelta(0) else '+'}{hours:02d}:{minutes:02d}"


def _aware_now(now: datetime | None) -> datetime:
    """Return ``now`` in UTC, defaulting to the current time; naive values are a caller bug."""
    if now is None:
        return datetime.now(UTC)
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(UTC)


def _clean(text: str) -> str:
    """Collapse whitespace and drop invisible control, format and surrogate characters."""
    visible = "".join(ch for ch in " ".join(text.split()) if unicodedata.category(ch) not in {"Cc", "Cf", "Cs"})
    return " ".join(visible.split())


def _echo(text: str) -> str:
    """Return member input shortened and defused for quoting back: no pings, markdown or bidi tricks."""
    shown = _clean(text)
    if len(shown) > ECHO_LENGTH:
        shown = shown[:ECHO_LENGTH].rstrip() + "…"
    shown = discord.utils.escape_markdown(shown)
    # A zero-width space after "@" and "<" stops @everyone, <@&role>, <#channel> and <t:…> from rendering
    # (discord.utils.escape_mentions defuses only @everyone, @here and user and role ids).
    return _MENTION_STARTS.sub("\\1\u200b", shown)


def _unreadable_time(text: str) -> TimeParseError:
    """Return the error for input that is not a time at all."""
    return TimeParseError(_UNREADABLE_TIME.format(echo=_echo(text)))


@functools.cache
def _zone_index() -> dict[str, str]:
    """Return every IANA zone name keyed by its lower-case form."""
    return {name.lower(): name for name in available_timezones() if name not in _NOT_ZONES}


@functools.cache
def _autocomplete_zones() -> tuple[str, ...]:
    """Return the zones worth offering in autocomplete: UTC and the geographic Area/Location names."""
    names = (name for name in _zone_index().values() if name == "UTC" or name.split("/")[0] in _GEOGRAPHIC_AREAS)
    return tuple(sorted(names))

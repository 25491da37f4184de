"""Go's time.Time and time.Duration as podman's output shows them, for templates and JSON.

Scripts written for podman read times through `--format` (`{{.Created}}` prints Go's
`2024-01-02 15:04:05.123456789 +0000 UTC`, `{{.Created.Format "2006-01-02"}}`, `{{.Created.Unix}}`)
and through JSON (RFC 3339 with nanoseconds). A GoTime prints (str) as Go's String() and encodes
(`__go_json__`, read by pod.format's JSON writer) as Go's MarshalJSON; its exported methods carry
Go's names so templates can call them. Standard library only: this is on the CLI's fast path.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone
from typing import Any

_NANOS = 1_000_000_000
_ZERO_UNIX = -62135596800  # Go's zero time, January 1 of year 1, in Unix seconds
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")  # fmt: skip
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class GoTime:
    """A moment with nanoseconds and a location (UTC or the local zone), printed as Go prints it.

    `nanos` counts from the Unix epoch; None is Go's zero time (`0001-01-01 00:00:00 +0000 UTC`),
    what podman shows for a container that never started or never finished.
    """

    __slots__ = ("nanos", "utc")
    GO_TYPE = "time.Time"  # what Go's errors and printf's %T name

    def __init__(self, nanos: int | None, utc: bool = False) -> None:
        self.nanos = nanos
        self.utc = utc or nanos is None

    @classmethod
    def from_seconds(cls, seconds: float | None, utc: bool = False) -> GoTime:
        """From epoch seconds as pod's records keep them (microseconds survive a float); zero
        or None is Go's zero time."""
        if not seconds:
            return cls(None)
        return cls(round(seconds * 1_000_000) * 1000, utc)

    @classmethod
    def parse(cls, text: str, utc: bool = False) -> GoTime:
        """RFC 3339 with optional nanoseconds (image configs, pod's records); zero if not one."""
        match = re.fullmatch(
            r"(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(?:\.(\d+))?\s*(Z|[+-]\d\d:?\d\d)?", text.strip()
        )
        if match is None:
            return cls(None)
        day, clock, fraction, zone = match.groups()
        if zone in (None, "Z"):
            zone = "+00:00"
        elif ":" not in zone:
            zone = zone[:3] + ":" + zone[3:]
        try:
            moment = datetime.fromisoformat(f"{day}T{clock}{zone}")
        except ValueError:
            return cls(None)
        seconds = (moment - _EPOCH) // timedelta(seconds=1)
        return cls(seconds * _NANOS + int((fraction or "0").ljust(9, "0")[:9]), utc)

    @classmethod
    def now(cls) -> GoTime:
        return cls(time.time_ns())

    # -- Go's exported methods, callable from templates

    def IsZero(self) -> bool:  # noqa: N802 - Go's method names are what templates call
        return self.nanos is None

    def Unix(self) -> int:  # noqa: N802
        return _ZERO_UNIX if self.nanos is None else self.nanos // _NANOS

    def UnixNano(self) -> int:  # noqa: N802
        # Go's result overflows for the zero time; podman never shows it
        return _ZERO_UNIX * _NANOS if self.nanos is None else self.nanos

    def UTC(self) -> GoTime:  # noqa: N802
        return GoTime(self.nanos, utc=True)

    def Local(self) -> GoTime:  # noqa: N802
        return GoTime(self.nanos, utc=False)

    def Year(self) -> int:  # noqa: N802
        return self._moment().year

    def String(self) -> str:  # noqa: N802
        return self.Format("2006-01-02 15:04:05.999999999 -0700 MST")

    def Format(self, layout: str) -> str:  # noqa: N802
        """Go's Time.Format with Go's reference-time layout (`2006-01-02T15:04:05Z07:00`)."""
        moment = self._moment()
        fraction = 0 if self.nanos is None else self.nanos % _NANOS
        return "".join(
            _format_chunk(kind, text, moment, fraction) for kind, text in _layout_chunks(layout)
        )

    # -- how Python sees it

    def rfc3339(self, nano: bool = True) -> str:
        return self.Format(RFC3339_NANO if nano else RFC3339)

    def seconds(self) -> float:
        """Epoch seconds (0 for the zero time): for ages and sorting."""
        return 0.0 if self.nanos is None else self.nanos / _NANOS

    def __go_json__(self) -> str:
        return self.rfc3339()

    def __str__(self) -> str:
        return self.String()

    def __repr__(self) -> str:
        return f"GoTime({self.String()!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GoTime) and self.nanos == other.nanos

    def __hash__(self) -> int:
        return hash(self.nanos)

    def _moment(self) -> datetime:
        if self.nanos is None:
            return datetime(1, 1, 1, tzinfo=timezone.utc)
        moment = _EPOCH + timedelta(microseconds=self.nanos // 1000)
        return moment if self.utc else moment.astimezone()


RFC3339 = "2006-01-02T15:04:05Z07:00"
RFC3339_NANO = "2006-01-02T15:04:05.999999999Z07:00"


def _layout_chunks(layout: str) -> list[tuple[str, str]]:
    """Split a Go layout into (kind, text): kind "" is literal text; else Go's std chunk name."""
    chunks: list[tuple[str, str]] = []
    literal = []
    i = 0
    while i < len(layout):
        kind, width = _std_chunk(layout, i)
        if kind:
            if literal:
                chunks.append(("", "".join(literal)))
                literal = []
            chunks.append((kind, layout[i : i + width]))
            i += width
        else:
            literal.append(layout[i])
            i += 1
    if literal:
        chunks.append(("", "".join(literal)))
    return chunks


_PREFIXED = (  # (text, kind) tried in order at a position, as Go's nextStdChunk does
    ("January", "LongMonth"), ("Monday", "LongWeekDay"), ("MST", "TZ"), ("2006", "LongYear"),
    ("002", "ZeroYearDay"), ("__2", "UnderYearDay"), ("_2", "UnderDay"), ("15", "Hour"),
    ("01", "ZeroMonth"), ("02", "ZeroDay"), ("03", "ZeroHour12"), ("04", "ZeroMinute"),
    ("05", "ZeroSecond"), ("06", "Year"), ("PM", "PM"), ("pm", "pm"),
    ("-07:00:00", "NumColonSecondsTZ"), ("-070000", "NumSecondsTz"), ("-07:00", "NumColonTZ"),
    ("-0700", "NumTZ"), ("-07", "NumShortTZ"),
    ("Z07:00:00", "ISO8601ColonSecondsTZ"), ("Z070000", "ISO8601SecondsTZ"),
    ("Z07:00", "ISO8601ColonTZ"), ("Z0700", "ISO8601TZ"), ("Z07", "ISO8601ShortTZ"),
    ("1", "NumMonth"), ("2", "Day"), ("3", "Hour12"), ("4", "Minute"), ("5", "Second"),
)  # fmt: skip


def _std_chunk(layout: str, i: int) -> tuple[str, int]:
    rest = layout[i:]
    for short, long_, kind in (("Jan", "January", "Month"), ("Mon", "Monday", "WeekDay")):
        if rest.startswith(short) and not rest.startswith(long_):
            followed_by_lower = "a" <= rest[3:4] <= "z"  # `Jane` is text, as in Go
            return ("", 0) if followed_by_lower else (kind, 3)
    if rest.startswith("_2006"):
        return "", 0  # a literal underscore, then the year
    if rest[:1] in (".", ",") and rest[1:2] in ("0", "9"):
        digit = rest[1]
        j = 1
        while j < len(rest) and rest[j] == digit:
            j += 1
        if not rest[j : j + 1].isdigit():
            return ("FracSecond0" if digit == "0" else "FracSecond9"), j
    for text, kind in _PREFIXED:
        if rest.startswith(text):
            return kind, len(text)
    return "", 0


def _zone(moment: datetime, kind: str) -> str:
    offset = int(moment.utcoffset().total_seconds())  # type: ignore[union-attr]
    if kind.startswith("ISO8601") and offset == 0:
        return "Z"
    sign = "-" if offset < 0 else "+"
    hours, rest = divmod(abs(offset), 3600)
    minutes, seconds = divmod(rest, 60)
    colon = ":" if "Colon" in kind else ""
    if kind.endswith("ShortTZ"):
        return f"{sign}{hours:02d}"
    text = f"{sign}{hours:02d}{colon}{minutes:02d}"
    if "Seconds" in kind:
        text += f"{colon}{seconds:02d}"
    return text


def _zone_name(moment: datetime) -> str:
    if moment.utcoffset() == timedelta(0) and moment.tzinfo is timezone.utc:
        return "UTC"
    name = moment.tzname() or ""
    if name and name[0] not in "+-":
        return name
    return _zone(moment, "NumTZ")  # Go prints the numeric offset for a zone with no name


def _format_chunk(kind: str, text: str, moment: datetime, fraction: int) -> str:
    if not kind:
        return text
    hour12 = moment.hour % 12 or 12
    simple: dict[str, Any] = {
        "LongMonth": _MONTHS[moment.month - 1],
        "Month": _MONTHS[moment.month - 1][:3],
        "LongWeekDay": _DAYS[moment.weekday()],
        "WeekDay": _DAYS[moment.weekday()][:3],
        "LongYear": f"{moment.year:04d}",
        "Year": f"{moment.year % 100:02d}",
        "NumMonth": moment.month,
        "ZeroMonth": f"{moment.month:02d}",
        "Day": moment.day,
        "UnderDay": f"{moment.day:2d}",
        "ZeroDay": f"{moment.day:02d}",
        "ZeroYearDay": f"{moment.timetuple().tm_yday:03d}",
        "UnderYearDay": f"{moment.timetuple().tm_yday:3d}",
        "Hour": f"{moment.hour:02d}",
        "Hour12": hour12,
        "ZeroHour12": f"{hour12:02d}",
        "Minute": moment.minute,
        "ZeroMinute": f"{moment.minute:02d}",
        "Second": moment.second,
        "ZeroSecond": f"{moment.second:02d}",
        "PM": "PM" if moment.hour >= 12 else "AM",
        "pm": "pm" if moment.hour >= 12 else "am",
    }
    if kind in simple:
        return str(simple[kind])
    if kind == "TZ":
        return _zone_name(moment)
    if kind.startswith("FracSecond"):
        digits = f"{fraction:09d}"[: len(text) - 1]
        if kind == "FracSecond9":
            digits = digits.rstrip("0")
            return text[0] + digits if digits else ""
        return text[0] + digits
    return _zone(moment, kind)


def duration_string(nanos: int) -> str:
    """Go's time.Duration String(): `0s`, `1.5ms`, `5.846937845s`, `1m2.5s`, `1h2m3s`."""
    if nanos == 0:
        return "0s"
    sign = "-" if nanos < 0 else ""
    nanos = abs(nanos)
    if nanos < _NANOS:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if nanos >= size:
                return sign + _decimal(nanos, size) + unit
    hours, rest = divmod(nanos, 3600 * _NANOS)
    minutes, rest = divmod(rest, 60 * _NANOS)
    text = _decimal(rest, _NANOS) + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{text}"
    if minutes:
        return f"{sign}{minutes}m{text}"
    return sign + text


def _decimal(value: int, size: int) -> str:
    whole, part = divmod(value, size)
    digits = len(str(size)) - 1
    fraction = f"{part:0{digits}d}".rstrip("0") if digits else ""
    return f"{whole}.{fraction}" if fraction else str(whole)


class GoDuration:
    """Go's time.Duration: prints as its String(), encodes in JSON as integer nanoseconds."""

    __slots__ = ("nanos",)
    GO_TYPE = "time.Duration"

    def __init__(self, nanos: int) -> None:
        self.nanos = nanos

    @classmethod
    def from_seconds(cls, seconds: float) -> GoDuration:
        return cls(int(round(seconds * _NANOS)))

    def Seconds(self) -> float:  # noqa: N802 - Go's method names are what templates call
        return self.nanos / _NANOS

    def String(self) -> str:  # noqa: N802
        return duration_string(self.nanos)

    def __go_json__(self) -> int:
        return self.nanos

    def __str__(self) -> str:
        return self.String()

    def __repr__(self) -> str:
        return f"GoDuration({self.String()!r})"

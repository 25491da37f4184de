"""Times as Go writes them (RFC 3339 with nanoseconds) and as podman's `--since`/`--until`
style flags read them: one parser for the log, the network records and their filters.
datetime (~1 ms) is imported by the functions that need it: `pod run` reads DURATION only."""

from __future__ import annotations

import re
import time

from pod.errors import PodError

# Go's time.ParseDuration units, as `10m`, `1h30m`, `250ms` use them.
DURATION = r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)"
UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def parse_time(stamp: str) -> int:
    """RFC 3339 with nanoseconds → ns since the epoch; 0 when `stamp` is not one."""
    match = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", stamp)
    if match is None:
        return 0
    import datetime

    base, fraction, zone = match.groups()
    zone = "+00:00" if zone == "Z" else zone
    moment = datetime.datetime.fromisoformat(base + zone)
    nanos = int((fraction or "0").ljust(9, "0")[:9])
    return int(moment.timestamp()) * 1_000_000_000 + nanos


def go_time(stamp: str) -> str:
    """Go's RFC3339Nano rendering of a written time: trailing zeros trimmed, UTC as Z."""
    match = re.fullmatch(r"([^.]+?)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", stamp)
    if match is None:
        return stamp
    base, fraction, zone = match.groups()
    fraction = (fraction or "").rstrip("0")
    zone = "Z" if zone in ("+00:00", "-00:00") else zone
    return base + (f".{fraction}" if fraction else "") + zone


def go_now() -> str:
    """The current local time as Go marshals time.Now(): RFC 3339, nanoseconds, zeros trimmed."""
    import datetime

    nanos = time.time_ns()
    moment = datetime.datetime.fromtimestamp(nanos // 1_000_000_000).astimezone()
    fraction = f"{nanos % 1_000_000_000:09d}".rstrip("0")
    offset = moment.strftime("%z")
    zone = "Z" if offset in ("+0000", "-0000") else f"{offset[:3]}:{offset[3:]}"
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + zone


def parse_duration(text: str) -> float | None:
    """Go's time.ParseDuration ("1h30m", "250ms", "0"): seconds, or None when it is none."""
    if text == "0":
        return 0.0
    if not re.fullmatch(rf"(?:{DURATION})+", text):
        return None
    return sum(float(n) * UNIT_SECONDS[u] for n, u in re.findall(DURATION, text))


def parse_moment(text: str, now: float | None = None) -> int:
    """--since/--until: RFC 3339 (or a date), unix seconds[.fraction], or a duration ago."""
    now = time.time() if now is None else now
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return int(float(text) * 1_000_000_000)
    seconds = parse_duration(text)
    if seconds is not None:
        return int((now - seconds) * 1_000_000_000)
    stamp = parse_time(text)
    if stamp:
        return stamp
    import datetime

    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise PodError(f'invalid value for --since/--until "{text}": use RFC 3339, unix '
                       "seconds or a duration like 10m") from None  # fmt: skip
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return int(moment.timestamp() * 1_000_000_000)

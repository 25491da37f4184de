"""Sizes and ages the way podman prints them (go-units' HumanSize and HumanDuration)."""

from __future__ import annotations

import time
from datetime import datetime

from pod.util.gotime import GoTime

_UNITS = ("B", "kB", "MB", "GB", "TB", "PB")


def human_size(size: float, precision: int = 3, sep: str = " ") -> str:
    """Decimal units with `precision` significant digits: `4.49 MB` (podman images)."""
    unit = 0
    while size >= 1000 and unit < len(_UNITS) - 1:
        size /= 1000
        unit += 1
    return f"{size:.{precision}g}{sep}{_UNITS[unit]}"


def human_duration(seconds: float) -> str:
    """`About an hour`, `3 days`: go-units' HumanDuration."""
    seconds = max(0.0, seconds)
    minutes, hours, days = seconds / 60, seconds / 3600, seconds / 86400
    if seconds < 1:
        return "Less than a second"
    if seconds < 2:
        return "1 second"
    if minutes < 1:
        return f"{int(seconds)} seconds"
    if int(minutes) == 1:
        return "About a minute"
    if hours < 1:
        return f"{int(minutes)} minutes"
    if round(hours) == 1:
        return "About an hour"
    if hours < 48:
        return f"{round(hours)} hours"
    if days < 14:
        return f"{int(days)} days"
    if days < 60:
        return f"{int(days / 7)} weeks"
    if days < 365 * 2:
        return f"{int(days / 30)} months"
    return f"{int(days / 365)} years"


def since(epoch: float) -> str:
    """`3 seconds ago` (podman's listings: HumanDuration and " ago"); "" for no time."""
    return f"{human_duration(time.time() - epoch)} ago" if epoch else ""


def parse_timestamp(text: str) -> float:
    """RFC 3339 (nanoseconds allowed, as in image configs) → epoch seconds; 0 if absent."""
    if not text:
        return 0.0
    main, _, rest = text.partition(".")
    zone = ""
    if rest:
        digits = "".join(ch for ch in rest if ch.isdigit())
        zone = rest[len(digits) :]
        fraction = float("0." + digits) if digits else 0.0
    else:
        for marker in ("Z", "+", "-"):
            position = main.find(marker, 10)
            if position != -1:
                main, zone = main[:position], main[position:]
                break
        fraction = 0.0
    zone = "+00:00" if zone in ("Z", "") else zone
    try:
        return datetime.fromisoformat(main + zone).timestamp() + fraction
    except ValueError:
        return 0.0


def rfc3339(epoch: float) -> str:
    """Go's time.Time in JSON (RFC 3339 with nanoseconds, UTC); Go's zero time for 0."""
    return GoTime.from_seconds(epoch, utc=True).rfc3339()


def created_time(timestamp: int | None = None) -> str:
    """An image's `created`: now, or exactly `timestamp` (build --timestamp, even 0)."""
    if timestamp is None:
        return rfc3339(time.time())
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))

"""`--filter key=value` as podman's list commands read it: values grouped by key (any value of
a key may match, every key must), Go regexps for names, labels as `key` or `key=value`.
`ps`, `volume ls` and `network ls` share these."""

from __future__ import annotations

import contextlib
import re

from pod.errors import UsageError


def group_filters(items: list[str]) -> dict[str, list[str]]:
    """`key=value` flags → key → values; a flag without `=` is podman's error."""
    grouped: dict[str, list[str]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"filter input must be in the form of filter=value: {item} is invalid")
        grouped.setdefault(key.lower(), []).append(value)
    return grouped


def regex_any(patterns: list[str], text: str) -> bool:
    """Go's regexp.MatchString over the patterns: unanchored; a bad pattern matches nothing."""
    for pattern in patterns:
        with contextlib.suppress(re.error):
            if re.search(pattern, text):
                return True
    return False


def checked_regexps(patterns: list[str]) -> list[str]:
    """The patterns, each compiled once to refuse a bad one as podman does (volume ls)."""
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as err:
            raise UsageError(f"error parsing regexp: {err.msg}: `{pattern}`") from None
    return patterns


def labels_match(wanted: list[str], labels: dict[str, str]) -> bool:
    """Every `key` or `key=value` must be present."""
    for item in wanted:
        key, sep, value = item.partition("=")
        if key not in labels or (sep and labels[key] != value):
            return False
    return True


def parse_bool(text: str) -> bool | None:
    """Go's strconv.ParseBool; None when `text` is none of its spellings."""
    if text in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if text in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    return None

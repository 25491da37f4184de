"""Signals by name or number, read as podman reads them (c/common's ParseSignalNameOrNumber):
`kill -s`, `--stop-signal`, a Containerfile's STOPSIGNAL and the stop annotation share it."""

from __future__ import annotations

import re
import signal

from pod.errors import UsageError

MAX_SIGNAL = 64
_NUMBER = r"[+-]?[0-9]+"
_REALTIME = r"RTM(IN|AX)([+-][0-9]+)?"


def parse_signal(text: str) -> int:
    """`TERM`, `SIGTERM`, `term`, `15`, `RTMIN+3`, each also with one leading `-` (`kill -s -1`,
    `-HUP`, as the shell's kill spells them) → the number; UsageError for anything else."""
    name = text[1:] if text.startswith("-") else text
    if re.fullmatch(_NUMBER, name):
        number = int(name)
        if number == 0:
            raise UsageError(f"invalid signal: {name}")
        if not 0 < number <= MAX_SIGNAL:
            raise UsageError(f"valid signals are 1 through {MAX_SIGNAL}")
        return number
    upper = name.upper().removeprefix("SIG")
    realtime = re.fullmatch(_REALTIME, upper)
    if realtime:
        return _realtime(realtime, name)
    found = signal.Signals.__members__.get("SIG" + upper)
    if found is None or upper in ("RTMIN", "RTMAX"):
        raise UsageError(f"invalid signal: {name}")
    return int(found)


def _realtime(match: re.Match[str], name: str) -> int:
    """RTMIN, RTMIN+1..RTMIN+15, RTMAX-14..RTMAX-1, RTMAX: the names Go's table has."""
    base = signal.SIGRTMIN if match.group(1) == "IN" else signal.SIGRTMAX
    offset = int(match.group(2) or 0)
    if (match.group(1) == "IN" and 0 <= offset <= 15) or (
        match.group(1) == "AX" and -14 <= offset <= 0
    ):
        return int(base) + offset
    raise UsageError(f"invalid signal: {name}")


def signal_name(number: int) -> str:
    """podman's spelling in messages: SIGTERM (the number when it has no name)."""
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)

"""The user's terminal, shared by `attach` (pod.shim.client) and `exec -t`: raw mode, its size,
and the detach keys typed into it."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from pod.errors import UsageError

DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q"
_CTRL_SPECIAL = {"@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31}


@contextlib.contextmanager
def raw_terminal(fd: int, enable: bool) -> Iterator[None]:
    """`fd` in raw mode while the block runs (when enabled and a terminal)."""
    if not (enable and os.isatty(fd)):
        yield
        return
    import termios
    import tty

    saved = termios.tcgetattr(fd)
    tty.setraw(fd)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def window_size() -> tuple[int, int] | None:
    """(rows, columns) of the first of stdin, stdout, stderr that is a terminal."""
    for fd in (0, 1, 2):
        with contextlib.suppress(OSError):
            size = os.get_terminal_size(fd)
            return size.lines, size.columns
    return None


def parse_detach_keys(text: str) -> bytes:
    """podman's --detach-keys: comma-separated `ctrl-<x>` or single characters; "" disables."""
    keys = bytearray()
    for part in filter(None, text.split(",")):
        name = part.removeprefix("ctrl-")
        if len(part) == 1:
            keys.append(ord(part))
        elif len(name) == 1 and name != part and (name.isalpha() or name in _CTRL_SPECIAL):
            keys.append(_CTRL_SPECIAL.get(name, ord(name.lower()) - ord("a") + 1))
        else:
            raise UsageError(
                f"invalid detach keys {text!r}: use a comma-separated list like ctrl-p,ctrl-q"
            )
    return bytes(keys)


class DetachScanner:
    """Finds the detach sequence in typed input; bytes that may start it are held back."""

    def __init__(self, keys: bytes) -> None:
        self.keys = keys
        self.held = bytearray()

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        out = bytearray()
        if not self.keys:
            return data, False
        for byte in data:
            if byte != self.keys[len(self.held)]:
                out += self.held
                self.held.clear()
            if byte == self.keys[len(self.held)]:
                self.held.append(byte)
                if len(self.held) == len(self.keys):
                    return bytes(out), True
            else:
                out.append(byte)
        return bytes(out), False

"""The user's terminal, shared by `attach` (pod.shim.client) and `exec -t`."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator


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

"""Where a command keeps the fds of its own helpers (pod run's early shim and bridge worker):
above the ones a user passes with `--preserve-fds N` (3..N+2), which must find only theirs."""

from __future__ import annotations

import fcntl
import os

OWN_FD_FLOOR = 256


def out_of_the_way(fd: int) -> int:
    """`fd` moved to OWN_FD_FLOOR or above (close-on-exec); `fd` itself when the open-file limit
    allows no such number."""
    try:
        moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, OWN_FD_FLOOR)
    except OSError:
        return fd
    os.close(fd)
    return moved

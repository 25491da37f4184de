"""A command's own fds and its helpers': where the CLI keeps its helpers' (pod run's early shim
and bridge worker), above the ones a user passes with `--preserve-fds N` (3..N+2), which must
find only theirs; and what a forked helper closes, so it holds none of its caller's."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterable

OWN_FD_FLOOR = 256


def close_all_but(keep: Iterable[int]) -> None:
    """Close every fd from 3 up but `keep` (a forked helper must not hold its caller's pipes,
    its stdout or a lock open)."""
    low = 3
    for fd in sorted(set(keep)):
        if fd >= low:
            os.closerange(low, fd)
            low = fd + 1
    os.closerange(low, 1 << 20)


def out_of_the_way(fd: int) -> int:
    """`fd` moved to OWN_FD_FLOOR or above (close-on-exec); `fd` itself when the open-file limit
    allows no such number."""
    try:
        moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, OWN_FD_FLOOR)
    except OSError:
        return fd
    os.close(fd)
    return moved

"""The Linux system calls Python's os module lacks, through ctypes (os.unshare is 3.12+ only).

One small interface: each wrapper raises OSError with the errno, like the os module does, so
callers handle failures the same way whichever module made the call.
"""

from __future__ import annotations

import ctypes
import os

CLONE_NEWUSER = 0x10000000

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> int:
    if result == -1:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")
    return result


def unshare(flags: int) -> None:
    """Move the calling process into new namespaces (CLONE_* flags)."""
    _check(_libc.unshare(ctypes.c_int(flags)), "unshare")

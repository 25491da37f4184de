"""The C library through ctypes, for the namespace calls Python's os module lacks before 3.12
(unshare, setns): the runtime, the shim's helpers and the store's user-namespace workers all
enter namespaces, so the calls live here, below all of them (pod.runtime.syscalls adds the
rest). Each wrapper raises OSError with the errno, as the os module does."""

from __future__ import annotations

import ctypes
import os
import signal

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

PR_SET_PDEATHSIG = 1

libc = ctypes.CDLL(None, use_errno=True)
libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]


SYS_OPENAT2 = 437  # the same number on every architecture that has it (Linux 5.6)
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_NO_SYMLINKS = 0x04  # magic links included
RESOLVE_IN_ROOT = 0x10


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


def check(result: int, what: str) -> int:
    """A libc call's result, or its errno as OSError (`what` names the call)."""
    if result == -1:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")
    return result


def unshare(flags: int) -> None:
    """Move the calling process into new namespaces (CLONE_* flags)."""
    check(libc.unshare(ctypes.c_int(flags)), "unshare")


def setns(fd: int, nstype: int) -> None:
    """Join the namespace `fd` refers to (an open /proc/<pid>/ns/* or bind-mounted ns file)."""
    check(libc.setns(fd, nstype), "setns")


def die_with_parent(parent_pid: int) -> bool:
    """Be killed (SIGKILL) when the thread that started this process ends, as a helper must not
    outlive a `kill -9` of its command; False when the parent `parent_pid` is already gone.

    Set after any change of credentials (entering a user namespace, setuid): those clear it.
    """
    check(libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0), "prctl(PR_SET_PDEATHSIG)")
    return os.getppid() == parent_pid


def openat2(dir_fd: int, path: str, flags: int, resolve: int) -> int:
    """openat2(2): open `path` below `dir_fd` as the RESOLVE_* flags allow (OSError otherwise,
    ENOSYS before Linux 5.6)."""
    how = _OpenHow(flags, 0, resolve)
    result = libc.syscall(
        ctypes.c_long(SYS_OPENAT2), ctypes.c_long(dir_fd), os.fsencode(path), ctypes.byref(how),
        ctypes.c_size_t(ctypes.sizeof(how)),
    )  # fmt: skip
    return check(result, "openat2")

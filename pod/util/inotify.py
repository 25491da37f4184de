"""Waiting for a directory's files to change, with inotify (no polling): `pod events` follows
the event log this way."""

from __future__ import annotations

import ctypes
import os
import select
from pathlib import Path

from pod.util.libc import check, libc

IN_MODIFY = 0x002
IN_MOVED_FROM = 0x040
IN_MOVED_TO = 0x080
IN_CREATE = 0x100
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000
_MASK = IN_MODIFY | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE


class Watcher:
    """Wakes up when a file in `directory` is written, created or renamed."""

    def __init__(self, directory: Path) -> None:
        self.fd = check(libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC), "inotify_init1")
        path = ctypes.c_char_p(os.fsencode(directory))
        try:
            check(libc.inotify_add_watch(self.fd, path, _MASK), "inotify_add_watch")
        except OSError:
            os.close(self.fd)
            raise

    def __enter__(self) -> Watcher:
        return self

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)

    def wait(self, timeout: float | None) -> bool:
        """Block until something changed (True) or `timeout` seconds passed (False)."""
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return False
        while True:  # drain: the caller looks at the files themselves
            try:
                if not os.read(self.fd, 65536):
                    break
            except BlockingIOError:
                break
        return True

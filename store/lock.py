"""fcntl file locks and atomic writes: the two tools that make a daemonless store safe.

Concurrent `pod` processes are normal. Every shared file is replaced by rename after fsync, and
every read-modify-write of shared state happens while holding the matching lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def locked(path: Path, shared: bool = False) -> Iterator[None]:
    """Hold an fcntl lock on `path` (created if missing) for the duration of the block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def lock_if_free(path: Path) -> Iterator[bool]:
    """Take the exclusive lock only if nobody holds it: yields False when another process does.

    Cleaners use this to skip leftovers that a live process is still working on.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(
    path: Path, data: bytes, mode: int = 0o644, *, sync_dir: bool = True, durable: bool = True
) -> None:
    """Write temp file in the same directory, fsync, rename: readers see old or new, never half.

    `sync_dir=False` leaves the rename's durability (the directory's fsync) to the caller: for
    several files of one directory, synced once before the write that commits them (a
    container's bundle, before its state says configured).

    `durable=False` syncs nothing, for a file whose older version is as good after a crash
    (the shim's state while the container starts and stops, a pid file): a start then waits
    for no disk flush (1-4 ms each here). Running processes still see old or new; after a
    crash, ext4 (auto_da_alloc) and btrfs keep old or new for a rename that replaces a file,
    and elsewhere the file may be empty: its readers take that as missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_temp(path)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            if durable:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    if sync_dir and durable:
        fsync_dir(path.parent)


def _create_temp(path: Path) -> tuple[int, str]:
    """A new file beside `path` (mode 0600, O_EXCL: never an existing file or link), as
    tempfile.mkstemp makes one, without its imports (shutil, random, bz2, lzma) on every
    command that writes state."""
    while True:
        tmp = os.path.join(path.parent, f".{path.name}.{os.urandom(6).hex()}")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            return os.open(tmp, flags, 0o600), tmp
        except FileExistsError:
            continue


def atomic_write_json(
    path: Path, value: Any, mode: int = 0o644, *, sync_dir: bool = True, durable: bool = True
) -> None:
    data = json.dumps(value, indent=2, sort_keys=True).encode() + b"\n"
    atomic_write(path, data, mode, sync_dir=sync_dir, durable=durable)


def read_json(path: Path, default: Any = None) -> Any:
    try:
        return json.loads(path.read_bytes())
    except FileNotFoundError:
        return default

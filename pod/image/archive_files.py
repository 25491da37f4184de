"""Reading files out of an untrusted image archive (a tar) or an image directory.

Both are hostile input, exactly as a layer from a registry: names are cleaned lexically (no
`..` above the root, no absolute names), metadata files (manifest.json, index.json, ...) must
be regular files and no larger than a bound, and a layer named through a symlink is followed
only inside the archive, never outside it. A directory is read with store.safepath: no symbolic
link is followed at all. Nothing here writes to the store.

A tar is read in place (random access with pread, so layers can be read in parallel); a
compressed archive or one on stdin is first spooled (decompressed) into a scratch file.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import stat
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Protocol

from pod.errors import PodError, UnsafeContentError
from pod.store import safepath
from pod.store.layers import DEFAULT_MAX_SIZE
from pod.store.tar_reader import TarFormatError, TarReader
from pod.util.archive import (
    MAGIC_BYTES,
    compression_of,
    decode_errors,
    decompressor,
    prepended,
    read_head,
)
from pod.util.records import dataclass

METADATA_LIMIT = 4 << 20  # manifests, configs, index.json: podman's 4 MiB manifest bound
MAX_MEMBERS = 1 << 20
MAX_ARCHIVE_SIZE = 1 << 40
CHUNK = 1 << 20
_MAX_LINKS = 40
_REGULAR = (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE)


@dataclass(frozen=True)
class Member:
    """One regular file of an archive or directory: read it with `chunks`."""

    name: str
    size: int
    fd: int
    offset: int

    def chunks(self) -> Iterator[bytes]:
        """The content in CHUNK-sized pieces (pread: members can be read in parallel)."""
        done = 0
        while done < self.size:
            data = os.pread(self.fd, min(CHUNK, self.size - done), self.offset + done)
            if not data:
                raise UnsafeContentError(f"{self.name} ends early: the archive is truncated")
            done += len(data)
            yield data

    def read(self) -> bytes:
        return b"".join(self.chunks())

    def head(self, size: int) -> bytes:
        return os.pread(self.fd, min(size, self.size), self.offset)

    def copy_to(self, fd: int) -> None:
        """Copy the content to `fd` in the kernel (copy_file_range), unread by Python."""
        done = 0
        with contextlib.suppress(OSError):  # a file system or kernel without it: read below
            while done < self.size:
                copied = os.copy_file_range(self.fd, fd, self.size - done, self.offset + done, done)
                if copied == 0:
                    break
                done += copied
        for data in Member(self.name, self.size - done, self.fd, self.offset + done).chunks():
            os.pwrite(fd, data, done)
            done += len(data)


class Files(Protocol):
    """The files of an archive or an image directory."""

    description: str

    def exists(self, name: str) -> bool: ...

    def metadata(self, name: str, limit: int = METADATA_LIMIT) -> bytes:
        """A small regular file, never through a link (a symlinked manifest is refused)."""
        ...

    def blob(self, name: str) -> Member:
        """A blob or layer file; an archive's links are followed inside the archive only."""
        ...

    def close(self) -> None: ...


def _missing(name: str, where: str) -> PodError:
    return PodError(f"{where} has no file {name!r}")


class TarFiles:
    """The regular files, symlinks and hardlinks of an uncompressed tar, by cleaned name."""

    def __init__(self, path: Path, description: str) -> None:
        self.description = description
        self.fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            self.members = self._index()
        except BaseException:
            os.close(self.fd)
            raise

    def _index(self) -> dict[str, tarfile.TarInfo]:
        members: dict[str, tarfile.TarInfo] = {}
        with open(os.dup(self.fd), "rb") as raw:
            tar = TarReader.of_file(raw)
            try:
                while (info := tar.next()) is not None:
                    self._add(members, info)
            except TarFormatError as err:
                raise UnsafeContentError(
                    f"{self.description} is not a valid tar archive: {err}"
                ) from None
        return members

    def _add(self, members: dict[str, tarfile.TarInfo], info: tarfile.TarInfo) -> None:
        if len(members) >= MAX_MEMBERS:
            raise UnsafeContentError(f"{self.description} has more than {MAX_MEMBERS} entries")
        name = safepath.clean_relpath(info.name)
        if info.isdir():
            return
        if info.type not in (*_REGULAR, tarfile.SYMTYPE, tarfile.LNKTYPE):
            raise UnsafeContentError(
                f"{self.description}: entry {name!r} has unexpected type {info.type!r}"
            )
        if name in members:
            raise UnsafeContentError(f"{self.description} has two entries named {name!r}")
        members[name] = info

    def _entry(self, name: str) -> tarfile.TarInfo | None:
        return self.members.get(safepath.clean_relpath(name))

    def exists(self, name: str) -> bool:
        return self._entry(name) is not None

    def metadata(self, name: str, limit: int = METADATA_LIMIT) -> bytes:
        info = self._entry(name)
        if info is None:
            raise _missing(name, self.description)
        if info.type not in _REGULAR:
            raise UnsafeContentError(f"{self.description}: {name} is a link, not a file")
        if info.size > limit:
            raise UnsafeContentError(f"{self.description}: {name} is larger than {limit} bytes")
        return Member(name, info.size, self.fd, info.offset_data).read()

    def blob(self, name: str) -> Member:
        """Follow symlinks (relative to their directory) and hardlinks (archive paths), each
        resolved lexically inside the archive; a target outside it is refused."""
        current = safepath.clean_relpath(name)
        for _ in range(_MAX_LINKS):
            info = self.members.get(current)
            if info is None:
                raise _missing(current, self.description)
            if info.type in _REGULAR:
                if info.size > DEFAULT_MAX_SIZE:
                    raise UnsafeContentError(f"{self.description}: {current} is too large")
                return Member(current, info.size, self.fd, info.offset_data)
            current = self._link_target(current, info)
        raise UnsafeContentError(f"{self.description}: too many links from {name!r}")

    def _link_target(self, name: str, info: tarfile.TarInfo) -> str:
        target = info.linkname
        if target.startswith("/"):
            raise UnsafeContentError(
                f"{self.description}: {name} links to {target!r}, outside the archive"
            )
        joined = posixpath.join(posixpath.dirname(name), target) if info.issym() else target
        try:
            return safepath.clean_relpath(joined)
        except UnsafeContentError:
            raise UnsafeContentError(
                f"{self.description}: {name} links to {target!r}, outside the archive"
            ) from None

    def close(self) -> None:
        os.close(self.fd)


class DirFiles:
    """The files of an image directory (an OCI layout, a `dir:` image): no link is followed."""

    def __init__(self, path: str | Path, description: str) -> None:
        self.description = description
        try:
            self.root_fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise PodError(f"{description}: no such directory") from None
        except NotADirectoryError:
            raise PodError(f"{description}: not a directory") from None
        self.open_fds: list[int] = []

    def _open(self, name: str) -> tuple[int, int]:
        """(fd, size) of the regular file `name`, reached without following any link."""
        rel = safepath.clean_relpath(name)
        try:
            pfd, last = safepath.open_parent(self.root_fd, rel, symlinks=False)
        except (FileNotFoundError, NotADirectoryError):
            raise _missing(name, self.description) from None
        try:
            fd = os.open(last, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=pfd)
        except FileNotFoundError:
            raise _missing(name, self.description) from None
        except OSError as err:  # ELOOP: a symlink
            raise UnsafeContentError(
                f"{self.description}: {name} cannot be opened: {err.strerror}"
            ) from None
        finally:
            os.close(pfd)
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            raise UnsafeContentError(f"{self.description}: {name} is not a regular file")
        return fd, st.st_size

    def exists(self, name: str) -> bool:
        try:
            fd, _ = self._open(name)
        except PodError:
            return False
        os.close(fd)
        return True

    def metadata(self, name: str, limit: int = METADATA_LIMIT) -> bytes:
        fd, size = self._open(name)
        try:
            if size > limit:
                raise UnsafeContentError(f"{self.description}: {name} is larger than {limit} bytes")
            return Member(name, size, fd, 0).read()
        finally:
            os.close(fd)

    def blob(self, name: str) -> Member:
        fd, size = self._open(name)
        self.open_fds.append(fd)
        if size > DEFAULT_MAX_SIZE:
            raise UnsafeContentError(f"{self.description}: {name} is too large")
        return Member(name, size, fd, 0)

    def close(self) -> None:
        for fd in self.open_fds:
            os.close(fd)
        os.close(self.root_fd)


def _spool(stream: IO[bytes], head: bytes, dest: Path, description: str) -> None:
    """Copy `head` + the rest of `stream` into `dest`, decompressed, bounded."""
    written = 0
    with open(dest, "wb") as out:
        out.write(head)
        written += len(head)
        while True:
            try:
                data = stream.read(CHUNK)
            except decode_errors() as err:
                raise UnsafeContentError(f"{description} cannot be decompressed: {err}") from None
            if not data:
                return
            written += len(data)
            if written > MAX_ARCHIVE_SIZE:
                raise UnsafeContentError(f"{description} is larger than {MAX_ARCHIVE_SIZE} bytes")
            out.write(data)


@contextlib.contextmanager
def plain_archive(source: str, scratch: Path) -> Iterator[Path]:
    """The archive `source` (a path, or "-" for stdin) as an uncompressed file: the file itself
    when it is one, else `scratch` filled with its decompressed content."""
    description = "the archive on stdin" if source == "-" else source
    if source == "-":
        raw = sys.stdin.buffer
        head = read_head(raw, MAGIC_BYTES)
    else:
        try:
            raw = open(source, "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            raise PodError(f"{source}: no such file") from None
        except IsADirectoryError:
            raise PodError(f"{source} is a directory, not an archive") from None
        head = read_head(raw, MAGIC_BYTES)
    try:
        compression = compression_of(head)
        if compression is None and source != "-" and stat.S_ISREG(os.fstat(raw.fileno()).st_mode):
            yield Path(source)  # read in place
            return
        if compression is None:
            _spool(raw, head, scratch, description)
        else:
            _spool(decompressor(prepended(head, raw), compression), b"", scratch, description)
        yield scratch
    finally:
        if raw is not sys.stdin.buffer:
            raw.close()

"""Where saved images go: a tar stream (a file, or stdout) or a directory.

Both writers take the same calls, so the OCI layout is written the same way into an archive
or a directory. Tar entries are written as containers/image writes them (owner 0:0, mtime 0,
no user names), file data straight from the blob with sendfile when it needs no decoding. An
archive written to a file appears only once it is complete; a directory is written with
store.safepath (no symbolic link in it is followed) and each file renamed into place.
"""

from __future__ import annotations

import contextlib
import errno
import os
import posixpath
import tarfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Protocol

from pod.errors import PodError
from pod.store import safepath

BLOCK = 512
_SENDFILE_CHUNK = 1 << 30
_COPY_CHUNK = 1 << 20


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _copy_fd(source: int, target: int, size: int) -> None:
    """`size` bytes from the start of `source` to `target`'s position: sendfile, else read and
    write (an O_APPEND target refuses sendfile)."""
    offset = 0
    try:
        while offset < size:
            sent = os.sendfile(target, source, offset, min(size - offset, _SENDFILE_CHUNK))
            if sent == 0:
                break
            offset += sent
    except OSError as err:
        if err.errno not in (errno.EINVAL, errno.ENOSYS) or offset:
            raise
    while offset < size:
        data = os.pread(source, min(_COPY_CHUNK, size - offset), offset)
        if not data:
            break
        _write_all(target, data)
        offset += len(data)
    if offset != size:
        raise PodError(f"a file shrank while being written ({offset} of {size} bytes)")


class Output(Protocol):
    """What the format writers (docker_archive, oci_layout, dir_image) write through."""

    def add_bytes(self, name: str, data: bytes, mode: int = 0o644) -> None: ...

    def add_chunks(self, name: str, size: int, chunks: Iterable[bytes], mode: int = 0o644) -> None:
        """A file of `size` bytes from `chunks`, which must supply exactly that many."""
        ...

    def add_file(self, name: str, path: Path, mode: int = 0o644) -> None: ...

    def add_symlink(self, name: str, target: str) -> None: ...

    def add_dir(self, name: str) -> None: ...

    def has(self, name: str) -> bool:
        """Whether `name` is already there (a blob need not be written twice)."""
        ...


class TarWriter:
    """Appends tar entries to the file descriptor `fd` (a regular file or a pipe)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.names: set[str] = set()

    def _header(self, name: str, kind: bytes, size: int = 0, mode: int = 0o644, link: str = ""):
        info = tarfile.TarInfo(name)
        info.type, info.size, info.mode, info.linkname = kind, size, mode, link
        info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
        _write_all(self.fd, info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape"))
        self.names.add(name)

    def _pad(self, size: int) -> None:
        if size % BLOCK:
            _write_all(self.fd, bytes(BLOCK - size % BLOCK))

    def has(self, name: str) -> bool:
        return name in self.names

    def add_bytes(self, name: str, data: bytes, mode: int = 0o644) -> None:
        self._header(name, tarfile.REGTYPE, len(data), mode)
        _write_all(self.fd, data)
        self._pad(len(data))

    def add_chunks(self, name: str, size: int, chunks: Iterable[bytes], mode: int = 0o644) -> None:
        self._header(name, tarfile.REGTYPE, size, mode)
        written = 0
        for data in chunks:
            written += len(data)
            if written > size:
                break
            _write_all(self.fd, data)
        if written != size:
            raise PodError(f"{name}: {written} bytes where {size} were announced")
        self._pad(size)

    def add_file(self, name: str, path: Path, mode: int = 0o644) -> None:
        with open(path, "rb") as source:
            size = os.fstat(source.fileno()).st_size
            self._header(name, tarfile.REGTYPE, size, mode)
            _copy_fd(source.fileno(), self.fd, size)
        self._pad(size)

    def add_symlink(self, name: str, target: str) -> None:
        self._header(name, tarfile.SYMTYPE, mode=0o777, link=target)

    def add_dir(self, name: str) -> None:
        self._header(name.rstrip("/") + "/", tarfile.DIRTYPE, mode=0o755)

    def finish(self) -> None:
        """The end-of-archive marker: two zero blocks."""
        _write_all(self.fd, bytes(2 * BLOCK))


class DirWriter:
    """Writes files below the directory `root_fd`; each file appears complete (renamed)."""

    def __init__(self, root_fd: int) -> None:
        self.root_fd = root_fd

    @contextlib.contextmanager
    def _file(self, name: str, mode: int) -> Iterator[int]:
        parent, base = posixpath.split(safepath.clean_relpath(name))
        pfd = safepath.open_dir(self.root_fd, parent, create=0o755, symlinks=False)
        temp = f".{base}.partial-{os.getpid()}"
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
            fd = os.open(temp, flags, mode, dir_fd=pfd)
            try:
                yield fd
                os.fchmod(fd, mode)
            finally:
                os.close(fd)
            os.rename(temp, base, src_dir_fd=pfd, dst_dir_fd=pfd)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp, dir_fd=pfd)
            raise
        finally:
            os.close(pfd)

    def has(self, name: str) -> bool:
        parent, base = posixpath.split(safepath.clean_relpath(name))
        try:
            pfd = safepath.open_dir(self.root_fd, parent, symlinks=False)
        except (OSError, PodError):
            return False
        try:
            os.stat(base, dir_fd=pfd, follow_symlinks=False)
            return True
        except FileNotFoundError:
            return False
        finally:
            os.close(pfd)

    def add_bytes(self, name: str, data: bytes, mode: int = 0o644) -> None:
        with self._file(name, mode) as fd:
            _write_all(fd, data)

    def add_chunks(self, name: str, size: int, chunks: Iterable[bytes], mode: int = 0o644) -> None:
        with self._file(name, mode) as fd:
            written = 0
            for data in chunks:
                written += len(data)
                if written > size:
                    break
                _write_all(fd, data)
            if written != size:
                raise PodError(f"{name}: {written} bytes where {size} were announced")

    def add_file(self, name: str, path: Path, mode: int = 0o644) -> None:
        with open(path, "rb") as source, self._file(name, mode) as fd:
            _copy_fd(source.fileno(), fd, os.fstat(source.fileno()).st_size)

    def add_symlink(self, name: str, target: str) -> None:
        raise PodError(f"{name}: a directory image has no symbolic links")

    def add_dir(self, name: str) -> None:
        os.close(safepath.open_dir(self.root_fd, name, create=0o755, symlinks=False))


@contextlib.contextmanager
def archive_output(destination: str | None) -> Iterator[TarWriter]:
    """A TarWriter to `destination` (None: stdout). A file is written beside its final name and
    renamed over it once the archive is complete; on failure nothing is left."""
    if destination is None:
        writer = TarWriter(1)
        yield writer
        writer.finish()
        return
    target = Path(destination)
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    except OSError as err:
        raise PodError(f"creating {destination}: {err.strerror}") from None
    try:
        writer = TarWriter(fd)
        yield writer
        writer.finish()
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(partial, target)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)
        raise


@contextlib.contextmanager
def directory_output(destination: str) -> Iterator[DirWriter]:
    """A DirWriter into the directory `destination`, made if missing (its parent must exist)."""
    try:
        os.mkdir(destination, 0o755)
    except FileExistsError:
        pass
    except OSError as err:
        raise PodError(f"creating {destination}: {err.strerror}") from None
    try:
        fd = os.open(destination, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as err:
        raise PodError(
            f"{destination}: not a directory pod can write to ({err.strerror})"
        ) from None
    try:
        yield DirWriter(fd)
    finally:
        os.close(fd)

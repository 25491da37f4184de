"""Layer diffs: a container's overlay upper dir written out as an OCI layer blob, reproducibly.

`pod build` and `pod commit` turn what a container changed (its overlayfs upper dir) into a layer.
Headers are filled in here from lstat rather than by tarfile.add (which looks up user names and
has its own ideas about links), so identical trees give byte-identical blobs: entries sorted by
name bytes within each directory, parents first; no atime/ctime, no user names; a gzip header
without a file name or time and a fixed level. With `timestamp` every mtime is that time, in the
tar and in the tree too, since the tree itself may become the unpacked layer (adopt_layer).

Overlay form → OCI form: 0/0 character devices become `.wh.<name>` files, opaque directories get
a `.wh..wh..opq` entry, and overlay's own xattrs never leave the host. Rootless stores run this
inside the user namespace (diff_upper), so owners are the container's ids, not subordinate ones.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import hashlib
import os
import stat
import tarfile
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import IO

from pod.errors import StoreError, UnsafeContentError
from pod.store import layers, safepath, trees
from pod.util.records import dataclass
from pod.util.userns import run_in_userns

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: should the entry have become a fifo since lstat, the open must not hang.
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_GZIP_LEVEL = 6
_CHUNK = 1 << 20
_NS = 1_000_000_000
# A label of this host, not image content (containers/storage leaves it out as well).
_HOST_XATTRS = frozenset({"security.selinux"})
_NO_XATTR_ERRNOS = (errno.ENODATA, errno.ENOTSUP)


@dataclass(frozen=True)
class LayerDiff:
    """The layer written from an upper dir: both digests and sizes the image needs."""

    diff_id: str  # sha256 of the uncompressed tar
    digest: str  # sha256 of the gzip blob
    size: int  # uncompressed tar size
    blob_size: int  # gzip size
    empty: bool  # no entries at all: the caller may skip the layer, like podman


class _Digesting:
    """Passes writes on to `out`, hashing and counting them, so one pass gives digest and size."""

    def __init__(self, out: IO[bytes] | gzip.GzipFile) -> None:
        self._out = out
        self._sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self._out.write(data)
        self._sha.update(data)
        self.size += len(data)
        return len(data)

    def tell(self) -> int:
        """tarfile's seekless "w" mode asks where the archive starts."""
        return self.size

    def flush(self) -> None:
        self._out.flush()

    @property
    def digest(self) -> str:
        return f"sha256:{self._sha.hexdigest()}"


@dataclass
class _Dir:
    """A directory on the walk: its fd and remaining children, and the header of an excluded
    (mount point) directory, held back until something inside it is written."""

    fd: int
    rel: str
    names: Iterator[str]
    pending: tarfile.TarInfo | None = None


def _children(fd: int) -> Iterator[str]:
    return iter(sorted(os.listdir(fd), key=os.fsencode))


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _join(parent: str, name: str) -> str:
    return f"{parent}/{name}" if parent else name


@contextlib.contextmanager
def _entry_errors(rel: str) -> Iterator[None]:
    """OSError → StoreError naming the entry, for the CLI's error boundary."""
    try:
        yield
    except OSError as err:
        raise StoreError(f"writing layer entry {rel or '/'!r}: {err.strerror or err}") from None


class _LayerWriter:
    """Walks an upper dir (one fd per level, nothing followed) and writes its entries to `tar`."""

    def __init__(
        self, tar: tarfile.TarFile, timestamp: int | None, exclude: frozenset[str], opaque: str
    ) -> None:
        self.tar = tar
        self.timestamp = timestamp
        self.exclude = exclude
        self.opaque_xattr = opaque
        # With metacopy or redirect_dir the upper dir alone does not hold the change.
        prefix = opaque.removesuffix("opaque")
        self.unsupported = (f"{prefix}metacopy", f"{prefix}redirect")
        self.entries = 0
        self.links: dict[tuple[int, int], str] = {}
        self.stack: list[_Dir] = []

    def close(self) -> None:
        while self.stack:
            os.close(self.stack.pop().fd)

    def walk(self, root: Path) -> None:
        with _entry_errors(""):
            fd = os.open(root, _DIR_FLAGS)
            self.stack.append(_Dir(fd, "", _children(fd)))
        while self.stack:
            top = self.stack[-1]
            name = next(top.names, None)
            if name is None:
                with _entry_errors(top.rel):
                    self._leave(self.stack.pop())
            else:
                rel = _join(top.rel, name)
                with _entry_errors(rel):
                    self._visit(top.fd, name, rel)

    # -- writing

    def _emit(self, info: tarfile.TarInfo, data: IO[bytes] | None = None) -> None:
        """Write one entry, after the held-back headers of the directories it is in."""
        for frame in self.stack:
            if frame.pending is not None:
                self._add(frame.pending)
                frame.pending = None
        self._add(info, data)

    def _add(self, info: tarfile.TarInfo, data: IO[bytes] | None = None) -> None:
        self.tar.addfile(info, data)
        layers.forget_members(self.tar)
        self.entries += 1

    def _mtime(self, st: os.stat_result) -> int:
        return st.st_mtime_ns // _NS if self.timestamp is None else self.timestamp

    def _header(self, name: str, kind: bytes, st: os.stat_result) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.type = kind
        info.mode = stat.S_IMODE(st.st_mode)
        info.uid, info.gid = st.st_uid, st.st_gid
        info.mtime = self._mtime(st)
        return info

    def _marker(self, name: str, st: os.stat_result) -> tarfile.TarInfo:
        """An empty `.wh.` file: mode 0 and root's, it only carries its name."""
        info = tarfile.TarInfo(name)
        info.mode = 0
        info.mtime = self._mtime(st)
        return info

    def _xattrs(self, target: int | str) -> dict[str, str]:
        """SCHILY.xattr records, sorted; overlay's own xattrs and host labels left out."""
        on_path = isinstance(target, str)  # a path is never followed; an fd cannot be
        try:
            names = os.listxattr(target, follow_symlinks=not on_path)
        except OSError as err:
            if err.errno in _NO_XATTR_ERRNOS:
                return {}
            raise
        records: dict[str, str] = {}
        for name in sorted(names, key=os.fsencode):
            if name in self.unsupported:
                raise StoreError(
                    f"the upper dir has {name} xattrs: it was mounted with metacopy or "
                    "redirect_dir, which pod cannot turn into a layer"
                )
            if name.startswith(layers._FORBIDDEN_XATTR_PREFIXES) or name in _HOST_XATTRS:
                continue
            if not _is_utf8(name):
                continue  # a PAX keyword cannot carry it
            try:
                value = os.getxattr(target, name, follow_symlinks=not on_path)
            except OSError as err:
                if err.errno in _NO_XATTR_ERRNOS:
                    continue  # removed since listing
                raise
            records[f"SCHILY.xattr.{name}"] = value.decode("utf-8", "surrogateescape")
        return records

    def _is_opaque(self, fd: int) -> bool:
        try:
            return os.getxattr(fd, self.opaque_xattr) == b"y"
        except OSError as err:
            if err.errno in _NO_XATTR_ERRNOS:
                return False
            raise

    def _link_target(self, rel: str, st: os.stat_result) -> str | None:
        """The first name written for this inode, if `rel` is a later one."""
        if st.st_nlink < 2:
            return None
        first = self.links.setdefault((st.st_dev, st.st_ino), rel)
        return None if first == rel else first

    # -- the walk

    def _visit(self, pfd: int, name: str, rel: str) -> None:
        st = os.stat(name, dir_fd=pfd, follow_symlinks=False)
        if stat.S_ISDIR(st.st_mode):
            self._enter(pfd, name, rel)
            return  # its time is set when it is left, after its children
        if layers._is_whiteout(st):
            parent, _, base = rel.rpartition("/")
            self._emit(self._marker(_join(parent, layers._WHITEOUT_PREFIX + base), st))
        elif stat.S_ISREG(st.st_mode):
            self._file(pfd, name, rel, st)
        elif not stat.S_ISSOCK(st.st_mode):  # a socket means nothing in an image
            self._other(pfd, name, rel, st)
        if self.timestamp is not None:
            ns = self.timestamp * _NS
            os.utime(name, ns=(ns, ns), dir_fd=pfd, follow_symlinks=False)

    def _enter(self, pfd: int, name: str, rel: str) -> None:
        fd = os.open(name, _DIR_FLAGS, dir_fd=pfd)
        frame = _Dir(fd, rel, iter(()))
        self.stack.append(frame)  # from here on close() owns the fd
        st = os.fstat(fd)
        frame.names = _children(fd)
        info = self._header(f"{rel}/", tarfile.DIRTYPE, st)
        info.pax_headers = self._xattrs(fd)
        if self._is_opaque(fd):
            # The marker hides the lower layers' content: it counts as content, never excluded.
            self._emit(info)
            self._emit(self._marker(f"{rel}/{layers._OPAQUE_MARKER}", st))
        elif rel in self.exclude:
            frame.pending = info
        else:
            self._emit(info)

    def _leave(self, frame: _Dir) -> None:
        """An excluded directory still held back had nothing inside: it is left out."""
        try:
            if self.timestamp is not None:
                ns = self.timestamp * _NS
                os.utime(frame.fd, ns=(ns, ns))
        finally:
            os.close(frame.fd)

    def _file(self, pfd: int, name: str, rel: str, st: os.stat_result) -> None:
        if rel in self.exclude and st.st_size == 0:
            return  # a mount point the runtime made
        first = self._link_target(rel, st)
        if first is not None:
            self._hardlink(rel, first, st)
            return
        with open(os.open(name, _FILE_FLAGS, dir_fd=pfd), "rb") as data:
            fst = os.fstat(data.fileno())
            if (fst.st_dev, fst.st_ino) != (st.st_dev, st.st_ino):
                raise StoreError(f"layer entry {rel!r} was replaced while the layer was written")
            info = self._header(rel, tarfile.REGTYPE, fst)
            info.size = fst.st_size
            info.pax_headers = self._xattrs(data.fileno())
            self._emit(info, data)

    def _hardlink(self, rel: str, first: str, st: os.stat_result) -> None:
        info = self._header(rel, tarfile.LNKTYPE, st)
        info.linkname = first
        self._emit(info)

    def _other(self, pfd: int, name: str, rel: str, st: os.stat_result) -> None:
        """Symlinks, devices, fifos: never opened (a device or fifo open has side effects)."""
        first = self._link_target(rel, st)
        if first is not None:
            self._hardlink(rel, first, st)
            return
        if stat.S_ISLNK(st.st_mode):
            info = self._header(rel, tarfile.SYMTYPE, st)
            info.linkname = os.readlink(name, dir_fd=pfd)
        elif stat.S_ISFIFO(st.st_mode):
            info = self._header(rel, tarfile.FIFOTYPE, st)
        else:
            kind = tarfile.CHRTYPE if stat.S_ISCHR(st.st_mode) else tarfile.BLKTYPE
            info = self._header(rel, kind, st)
            info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
        info.pax_headers = self._xattrs(f"/proc/self/fd/{pfd}/{name}")
        self._emit(info)


@dataclass
class LayerTar:
    """A layer tar being written (layer_tar); `result` once it is closed."""

    tar: tarfile.TarFile
    stream: _Digesting  # the uncompressed tar: the diff id
    blob: _Digesting  # the gzip blob: the digest

    def result(self, entries: int) -> LayerDiff:
        return LayerDiff(
            diff_id=self.stream.digest,
            digest=self.blob.digest,
            size=self.stream.size,
            blob_size=self.blob.size,
            empty=entries == 0,
        )


@contextlib.contextmanager
def layer_tar(blob_out: Path) -> Iterator[LayerTar]:
    """A PAX tar through deterministic gzip (level 6, mtime 0, no name) into `blob_out`, both
    digests taken while writing, in one pass; `blob_out` is removed on failure."""
    try:
        with open(blob_out, "wb") as out:
            blob = _Digesting(out)
            with gzip.GzipFile(
                filename="", mode="wb", compresslevel=_GZIP_LEVEL, fileobj=blob, mtime=0
            ) as zipped:
                stream = _Digesting(zipped)
                # tarfile.open passes copybufsize on to TarFile, and writing needs no read nor
                # seek: typeshed's open knows neither.
                with tarfile.open(  # type: ignore[call-overload]
                    fileobj=stream,
                    mode="w",
                    format=tarfile.PAX_FORMAT,
                    encoding="utf-8",
                    errors="surrogateescape",
                    copybufsize=_CHUNK,
                ) as tar:
                    yield LayerTar(tar, stream, blob)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(blob_out)
        raise


def prune_stubs(upper: Path, excluded: Collection[str], opaque_xattr: str) -> None:
    """Remove the mount-point stubs among `excluded` (empty files, empty non-opaque dirs),
    deepest first, so a layer adopted from `upper` holds exactly what its tar holds."""
    root_fd = os.open(upper, _DIR_FLAGS)
    try:
        for rel in sorted(excluded, key=lambda p: p.count("/"), reverse=True):
            with contextlib.suppress(OSError, UnsafeContentError):
                pfd, name = safepath.open_parent(root_fd, rel, symlinks=False)
                try:
                    st = os.stat(name, dir_fd=pfd, follow_symlinks=False)
                    if stat.S_ISREG(st.st_mode) and st.st_size == 0:
                        os.unlink(name, dir_fd=pfd)
                    elif stat.S_ISDIR(st.st_mode):
                        fd = os.open(name, _DIR_FLAGS, dir_fd=pfd)
                        try:
                            keep = bool(os.listdir(fd)) or _has_xattr(fd, opaque_xattr)
                        finally:
                            os.close(fd)
                        if not keep:
                            os.rmdir(name, dir_fd=pfd)
                finally:
                    os.close(pfd)
    finally:
        os.close(root_fd)


def _has_xattr(fd: int, name: str) -> bool:
    try:
        return os.getxattr(fd, name) == b"y"
    except OSError:
        return False


def write_layer(
    upper: Path,
    blob_out: Path,
    *,
    timestamp: int | None,
    exclude: Collection[str] = (),
    opaque_xattr: str,
    prune: bool = False,
) -> LayerDiff:
    """Write the overlay upper dir `upper` as a gzip layer blob to `blob_out`, in one pass.

    `exclude`: paths (relative to `upper`) the runtime made as mount points; such an entry is
    left out when it is an empty file or a directory with nothing written inside (and with
    `prune` removed from the tree too, for an upper dir that becomes the layer). `timestamp`
    replaces every mtime, in the tar and in the tree. Rootless callers use diff_upper.
    On failure `blob_out` is removed.
    """
    excluded = frozenset("/".join(safepath.split_path(path)) for path in exclude)
    if prune:
        prune_stubs(upper, excluded, opaque_xattr)
    with layer_tar(blob_out) as out:
        writer = _LayerWriter(out.tar, timestamp, excluded, opaque_xattr)
        try:
            writer.walk(upper)
        finally:
            writer.close()
    return out.result(writer.entries)


def diff_upper(
    upper: Path,
    blob_out: Path,
    *,
    timestamp: int | None,
    exclude: Collection[str],
    rootless: bool,
    prune: bool = False,
) -> LayerDiff:
    """write_layer in-process (rootful) or in the user's namespace (rootless), where file
    owners read as the container's ids and subordinate-id files can be read and retimed."""
    opaque = layers.opaque_xattr(rootless)
    if not rootless:
        return write_layer(
            upper, blob_out, timestamp=timestamp, exclude=exclude, opaque_xattr=opaque, prune=prune
        )
    op = {
        "op": "diff",
        "upper": str(upper),
        "blob_out": str(blob_out),
        "timestamp": timestamp,
        "exclude": sorted(exclude),
        "opaque_xattr": opaque,
        "prune": prune,
    }
    answer = run_in_userns(trees.WORKER_MODULE, {"ops": [op]})
    return LayerDiff(**answer.value[0])

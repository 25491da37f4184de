"""Unpacked layers by chain id, and the safe extraction of untrusted layer tarballs.

A layer blob is hostile until proven otherwise: names are normalized lexically (`..` may not
climb out), every parent is opened with store.safepath (a symlink planted by an earlier entry is
resolved inside the layer, never on the host), hardlinks must point inside the layer, whiteouts
may not go through symlinks, and sizes are bounded. tarfile's own extract is never used (the
Python 3.11.7 in use predates its escape fixes): every entry is created here with *at() calls.

On-disk form, for overlayfs with the layers as lowerdirs:
- whiteouts (`.wh.<name>`) become 0:0 character devices named <name>, as overlayfs writes them;
  the kernel allows creating those without CAP_MKNOD, so rootless layers use them too.
- opaque directories (`.wh..wh..opq`) get `trusted.overlay.opaque=y` (rootful) or
  `user.overlay.opaque=y` (rootless: mount with the `userxattr` option). meta.json says which.
- rootless layers are unpacked by a worker inside the user's user namespace (pod.store.unpack) so
  file owners are kept as subordinate ids.

A pull unpacks a layer while its blob downloads: the download hands its bytes to a pipe that an
unpack worker (pod.store.unpack, a process of its own: in the user namespace when rootless)
reads, and the layer is renamed into place only once the blob's digest checked and the diff id
matched, so a bad blob leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import queue
import re
import stat
import sys
import tarfile
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from pod.errors import (
    DigestMismatchError,
    OverwriteError,
    PodError,
    StoreError,
    UnsafeContentError,
)
from pod.store import safepath
from pod.store.layout import LAYER_DIFF, LAYER_META, Layout, root_dir_mode
from pod.store.lock import atomic_write_json, fsync_dir, lock_if_free, locked, read_json
from pod.store.tar_reader import TarFormatError, TarReader
from pod.store.trees import WORKER_MODULE, remove_trees
from pod.util.archive import (
    MAGIC_BYTES,
    compression_of,
    decode_errors,
    decompressor,
    prepended,
    read_head,
)
from pod.util.records import asdict, dataclass, field, fields
from pod.util.userns import Session, run_in_userns, start_session

DEFAULT_MAX_SIZE = 64 << 30
WHITEOUT_FORMAT = "overlay-chardev"
ROOTFUL_OPAQUE_XATTR = "trusted.overlay.opaque"
ROOTLESS_OPAQUE_XATTR = "user.overlay.opaque"

_WHITEOUT_PREFIX = ".wh."
_OPAQUE_MARKER = ".wh..wh..opq"
_AUFS_META_PREFIX = ".wh..wh."
# The engine's own overlay metadata: an image may not forge opaque dirs or redirects with it.
_FORBIDDEN_XATTR_PREFIXES = ("trusted.overlay.", "user.overlay.")
_IGNORED_XATTR_ERRNOS = (errno.EPERM, errno.ENOTSUP, errno.EACCES, errno.EINVAL)
_MAX_ID = 2**32 - 2
_CHUNK = 1 << 20
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_DEFAULT_ACL_XATTR = "system.posix_acl_default"
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_SCRATCH_NAME = r"^([0-9a-f]{64})\.(?:partial|removing)-\d+$"
_FS_IOC_GETFLAGS = 0x80086601  # linux/fs.h: _IOR('f', 1, long), an int in fact
_FS_IOC_SETFLAGS = 0x40086602
_FS_TOPDIR_FL = 0x00020000  # chattr's 'T'

# A blob downloader: feed(write) hands the blob's bytes to `write` in order as they arrive and
# returns once the whole blob is stored with its digest checked (raising if it is not).
Feed = Callable[[Callable[[bytes], None]], None]


def opaque_xattr(rootless: bool) -> str:
    return ROOTLESS_OPAQUE_XATTR if rootless else ROOTFUL_OPAQUE_XATTR


def chain_ids(diff_ids: Sequence[str]) -> list[str]:
    """OCI chain ids: the first is the diff id, then sha256 of "<parent chain> <diff id>"."""
    chains: list[str] = []
    for diff_id in diff_ids:
        if chains:
            digest = hashlib.sha256(f"{chains[-1]} {diff_id}".encode()).hexdigest()
            chains.append(f"sha256:{digest}")
        else:
            chains.append(diff_id)
    return chains


# --- reading the blob -------------------------------------------------------------------------


class _DigestReader:
    """The uncompressed stream, hashed (that hash is the diff id) and bounded while it is read."""

    def __init__(self, raw: IO[bytes], limit: int, errors: tuple[type[BaseException], ...]):
        self._raw = raw
        self._limit = limit
        self._errors = errors
        self._sha = hashlib.sha256()
        self.size = 0

    def read(self, size: int) -> bytes:
        try:
            data = self._raw.read(size)
        except self._errors as err:
            raise UnsafeContentError(f"layer blob cannot be decompressed: {err}") from None
        self.size += len(data)
        if self.size > self._limit:
            raise UnsafeContentError(f"layer is larger than {self._limit} bytes uncompressed")
        self._sha.update(data)
        return data

    def drain(self) -> None:
        """Read to the end: tar padding after the end marker belongs to the diff id too."""
        while self.read(_CHUNK):
            pass

    @property
    def digest(self) -> str:
        return f"sha256:{self._sha.hexdigest()}"


class _ReadAhead:
    """A _DigestReader read in a thread of its own, a few blocks ahead: inflating and hashing
    (C code that leaves the GIL) run beside the tar parsing and file writing of the reader.

    `close` stops the thread (it ends once its read in progress returns); `size` and `digest`
    are final after `drain`."""

    _BLOCKS = 8

    def __init__(self, inner: _DigestReader) -> None:
        self._inner = inner
        self._queue: queue.Queue[bytes | BaseException] = queue.Queue(self._BLOCKS)
        self._stop = threading.Event()
        self._block = b""
        self._offset = 0
        self._ended = False
        self._thread = threading.Thread(target=self._run, name="pod-inflate", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                data = self._inner.read(_CHUNK)
                self._put(data)
                if not data:
                    return
        except BaseException as err:  # handed to the reader
            self._put(err)

    def _put(self, item: bytes | BaseException) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    def read(self, size: int) -> bytes:
        while self._offset >= len(self._block):
            if self._ended:
                return b""
            item = self._queue.get()
            if isinstance(item, BaseException):
                self._ended = True
                raise item
            if not item:
                self._ended = True
                return b""
            self._block, self._offset = item, 0
        data = self._block[self._offset : self._offset + size]
        self._offset += len(data)
        return data

    def drain(self) -> None:
        """Read to the end: tar padding after the end marker belongs to the diff id too."""
        while self.read(_CHUNK):
            pass
        self.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def size(self) -> int:
        return self._inner.size

    @property
    def digest(self) -> str:
        return self._inner.digest


def _decompressed(raw: IO[bytes], limit: int) -> _ReadAhead:
    """`raw` decompressed as its magic bytes say, whatever a manifest claims (as
    containers/storage does: gzip, bzip2, xz, zstd or plain tar). `raw` need not be seekable
    (the pipe a download feeds)."""
    head = read_head(raw, MAGIC_BYTES)
    sniffed = prepended(head, raw, _CHUNK)
    compression = compression_of(head)
    stream = sniffed if compression is None else decompressor(sniffed, compression)
    return _ReadAhead(_DigestReader(stream, limit, decode_errors()))


# --- extraction -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExtractResult:
    """What unpacking a blob found: the diff id, the uncompressed size, and lost owners."""

    diff_id: str
    size: int
    owners_collapsed: bool


def _mtime_ns(member: tarfile.TarInfo) -> int:
    return max(-(2**63), min(int(member.mtime * 1_000_000_000), 2**63 - 1))


def _xattrs(member: tarfile.TarInfo) -> Iterator[tuple[str, bytes]]:
    for key, value in member.pax_headers.items():
        name = key.removeprefix("SCHILY.xattr.")
        if name != key and not name.startswith(_FORBIDDEN_XATTR_PREFIXES):
            yield name, value.encode("utf-8", "surrogateescape")


def _is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _umask() -> int:
    """The process's umask, read without setting it (os.umask would, for every thread)."""
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status") as status:
        for line in status:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    return 0o777  # unknown: every mode is set with fchmod


def _has_default_acl(fd: int) -> bool:
    try:
        os.getxattr(fd, _DEFAULT_ACL_XATTR)
    except OSError:  # ENODATA, or no ACL support at all
        return False
    return True


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


@contextlib.contextmanager
def _store_errors(what: str) -> Iterator[None]:
    """OSError → StoreError with one line saying what failed, for the CLI's error boundary."""
    try:
        yield
    except OSError as err:
        where = f" ({err.filename})" if err.filename else ""
        raise StoreError(f"{what}: {err.strerror or err}{where}") from None


@dataclass(frozen=True)
class PlainRules:
    """How a plain (`pod cp`) tar lands: `.wh.` names are ordinary entries and the archive's
    root entry leaves the destination alone.

    `overwrite` False refuses to replace a directory with a non-directory or the reverse
    (podman's default); `mounts` are bind mounts below the destination (a stopped container's
    volumes); `where` is the destination as the user named it, for messages.
    """

    overwrite: bool = True
    mounts: safepath.Mounts | None = None
    where: str = ""


class _Extractor:
    """Creates the entries of one layer tar inside the directory `root_fd`."""

    def __init__(
        self, root_fd: int, rootless: bool, max_size: int, plain: PlainRules | None = None
    ) -> None:
        self.root_fd = root_fd
        self.rootless = rootless
        self.max_size = max_size
        self.plain = plain
        self.mounts = plain.mounts if plain else None
        self.owners_collapsed = False
        self.dirs: dict[str, safepath.DirMeta] = {}
        # Entries come in tree order: the last parent's directories stay open. Any removal may
        # change what a path resolves to, so it marks them stale (closed on the next lookup).
        self._parents = safepath.DirStack(root_fd, create=0o755, mounts=self.mounts)
        self._parents_stale = False
        # What is made here is ours (no chown needed for our own ids) unless a setgid directory
        # hands its group down: a layer's fresh root has none; `pod cp` targets may.
        self._own_ids: tuple[int, int] | None = None
        if not plain and not os.fstat(root_fd).st_mode & stat.S_ISGID:
            self._own_ids = (os.geteuid(), os.getegid())
        # Files get their mode at creation when nothing but the umask narrows it: no default
        # ACL above (a layer's own directories may bring one: then fchmod for the rest).
        self._umask = _umask()
        self._modes_at_creation = not plain and not _has_default_acl(root_fd)

    def close(self) -> None:
        self._parents.clear()

    def add(self, tar: TarReader, member: tarfile.TarInfo) -> None:
        rel = safepath.clean_relpath(member.name)
        if member.size > self.max_size:
            raise UnsafeContentError(f"layer entry {rel!r} declares {member.size} bytes")
        try:
            self._add(tar, member, rel)
        except OSError as err:
            what = "creating" if self.plain else "unpacking layer entry"
            raise StoreError(f"{what} {rel!r}: {err.strerror or err}") from None
        except TarFormatError as err:  # its data ends early
            raise UnsafeContentError(f"layer entry {rel!r}: {err}") from None

    def _add(self, tar: TarReader, member: tarfile.TarInfo, rel: str) -> None:
        if not self.plain and rel.rpartition("/")[2].startswith(_WHITEOUT_PREFIX):
            self._whiteout(rel)
        elif not rel:
            if not self.plain:
                self._layer_root(member)
        elif (source := safepath.mount_source(self.mounts or {}, rel.split("/"))) is not None:
            pfd, name = safepath.open_mount_parent(source)  # the entry is a mount: its source
            try:
                self._entry(tar, member, rel, pfd, name)
            finally:
                os.close(pfd)
        else:
            parent, _, name = rel.rpartition("/")
            self._entry(tar, member, rel, self._parent_fd(parent), name)

    def _parent_fd(self, parent: str) -> int:
        if self._parents_stale:
            self._parents.clear()
            self._parents_stale = False
        return self._parents.open(parent)

    def _entry(
        self, tar: TarReader, member: tarfile.TarInfo, rel: str, pfd: int, name: str
    ) -> None:
        if member.isdir():
            self._directory(member, rel, pfd, name)
        elif member.isfile():
            self._file(tar, member, rel, pfd, name)
        elif member.issym():
            self._symlink(member, rel, pfd, name)
        elif member.islnk():
            self._hardlink(member, rel, pfd, name)
        elif member.ischr() or member.isblk() or member.isfifo():
            self._node(member, rel, pfd, name)
        else:
            raise UnsafeContentError(f"layer entry {rel!r} has unsupported type {member.type!r}")

    # -- owners, xattrs, times

    def _chown(
        self, member: tarfile.TarInfo, chown: Callable[[int, int], None], new: bool = False
    ) -> None:
        """Keep the owner; an id the namespace cannot map (EINVAL) stays the namespace's root.
        A `new` entry (made here) that should be ours is already."""
        if new and self._own_ids == (member.uid, member.gid):
            return
        if not (0 <= member.uid <= _MAX_ID and 0 <= member.gid <= _MAX_ID):
            self.owners_collapsed = True
            return
        try:
            chown(member.uid, member.gid)
        except OSError as err:
            if err.errno != errno.EINVAL:
                raise
            self.owners_collapsed = True

    def _set_xattrs(self, member: tarfile.TarInfo, target: int | str) -> None:
        """Best effort, like podman: security.* and trusted.* need privileges a layer may lack."""
        on_path = isinstance(target, str)  # a path is never followed; an fd cannot be
        for name, value in _xattrs(member):
            if name == _DEFAULT_ACL_XATTR:
                self._modes_at_creation = False
            try:
                os.setxattr(target, name, value, follow_symlinks=not on_path)
            except OSError as err:
                if err.errno not in _IGNORED_XATTR_ERRNOS:
                    raise

    def _finish_fd(self, member: tarfile.TarInfo, fd: int, *, new: bool, mode_set: bool) -> None:
        """Owner first (chown clears setuid bits and capabilities), then mode (unless the file
        was made with it: `mode_set`), xattrs, times."""
        self._chown(member, lambda uid, gid: os.fchown(fd, uid, gid), new)
        if not mode_set:
            os.fchmod(fd, member.mode & 0o7777)
        self._set_xattrs(member, fd)
        os.utime(fd, ns=(_mtime_ns(member), _mtime_ns(member)))

    def _finish_at(self, member: tarfile.TarInfo, pfd: int, name: str) -> None:
        """_finish_fd for new entries that cannot be opened (symlinks, devices, fifos)."""
        self._chown(
            member,
            lambda uid, gid: os.chown(name, uid, gid, dir_fd=pfd, follow_symlinks=False),
            new=True,
        )
        if not member.issym():
            # Follows a link, but `name` is the node just made in a directory only we write to.
            os.chmod(name, member.mode & 0o7777, dir_fd=pfd)
        self._set_xattrs(member, f"/proc/self/fd/{pfd}/{name}")
        mtime = _mtime_ns(member)
        os.utime(name, ns=(mtime, mtime), dir_fd=pfd, follow_symlinks=False)

    # -- entry kinds

    def _clear(self, pfd: int, name: str, keep_dir: bool, rel: str) -> os.stat_result | None:
        """Make room for a new entry: a later entry replaces an earlier one (dirs merge).

        `keep_dir` says the new entry is a directory; `rel` names it in messages."""
        try:
            st = os.stat(name, dir_fd=pfd, follow_symlinks=False)
        except FileNotFoundError:
            return None
        if self.plain and not self.plain.overwrite and stat.S_ISDIR(st.st_mode) != keep_dir:
            shown = f"{self.plain.where.rstrip('/')}/{rel}"
            if keep_dir:
                raise OverwriteError(f'cannot overwrite non-directory "{shown}" with directory')
            raise OverwriteError(f'cannot overwrite directory "{shown}" with non-directory')
        if not (keep_dir and stat.S_ISDIR(st.st_mode)):
            safepath.remove_entry(pfd, name)
            self._parents_stale = True
        return st

    def _make(self, make: Callable[[], None], pfd: int, name: str, rel: str) -> None:
        """Create `name` with `make`; an earlier entry of that name is replaced (found by the
        creation failing, so a fresh layer pays no stat)."""
        try:
            make()
        except FileExistsError:
            self._clear(pfd, name, keep_dir=False, rel=rel)
            make()

    def _layer_root(self, member: tarfile.TarInfo) -> None:
        if not member.isdir():
            raise UnsafeContentError(f"layer entry {member.name!r} would replace the layer root")
        self._chown(member, lambda uid, gid: os.fchown(self.root_fd, uid, gid))
        self._set_xattrs(member, self.root_fd)
        self._remember_dir("", member, self.root_fd)

    def _remember_dir(self, rel: str, member: tarfile.TarInfo, fd: int) -> None:
        self.dirs[rel] = safepath.DirMeta(
            safepath.identity(fd), member.mode & 0o7777, _mtime_ns(member)
        )

    def _directory(self, member: tarfile.TarInfo, rel: str, pfd: int, name: str) -> None:
        old = None
        try:
            os.mkdir(name, 0o700, dir_fd=pfd)
        except FileExistsError:
            old = self._clear(pfd, name, keep_dir=True, rel=rel)
            if old is None or not stat.S_ISDIR(old.st_mode):
                os.mkdir(name, 0o700, dir_fd=pfd)
        new = old is None or not stat.S_ISDIR(old.st_mode)
        fd = os.open(name, _DIR_FLAGS, dir_fd=pfd)
        try:
            self._chown(member, lambda uid, gid: os.fchown(fd, uid, gid), new)
            self._set_xattrs(member, fd)
            if old is not None and _is_whiteout(old):
                # Deleted below, recreated here: the directory must hide the lower one's content.
                self._set_opaque(fd, rel)
            self._remember_dir(rel, member, fd)
        finally:
            os.close(fd)

    def _file(self, tar: TarReader, member: tarfile.TarInfo, rel: str, pfd: int, name: str) -> None:
        """open, write, (fchown), (fchmod), futimens, close: the mode is given at creation when
        the umask keeps it whole and no setuid/setgid/sticky bit needs setting after chown."""
        mode = member.mode & 0o7777
        made_with_mode = self._modes_at_creation and not mode & (0o7000 | self._umask)
        fd, new = self._new_file(pfd, name, mode if made_with_mode else 0o600, rel)
        try:
            for chunk in tar.data():
                _write_all(fd, chunk)
            self._finish_fd(member, fd, new=new, mode_set=new and made_with_mode)
        finally:
            os.close(fd)

    def _new_file(self, pfd: int, name: str, mode: int, rel: str) -> tuple[int, bool]:
        """`name` created for writing (an earlier entry of that name replaced), and True; or,
        for `pod cp` onto a mount point (a running container's bind-mounted /etc/hosts), that
        file opened to be written in place, and False."""
        try:
            return os.open(name, _NEW_FILE, mode, dir_fd=pfd), True
        except FileExistsError:
            pass
        try:
            self._clear(pfd, name, keep_dir=False, rel=rel)
        except OSError as err:
            if err.errno != errno.EBUSY or self.plain is None:
                raise
            flags = os.O_WRONLY | os.O_TRUNC | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
            fd = os.open(name, flags, dir_fd=pfd)
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                os.close(fd)
                raise StoreError(f"{rel!r} is a mount point but not a regular file") from None
            os.set_blocking(fd, True)
            return fd, False
        return os.open(name, _NEW_FILE, mode, dir_fd=pfd), True

    def _symlink(self, member: tarfile.TarInfo, rel: str, pfd: int, name: str) -> None:
        if len(os.fsencode(member.linkname)) > safepath.MAX_PATH_BYTES:
            raise UnsafeContentError(f"symlink {member.name!r} has a target that is too long")
        self._make(lambda: os.symlink(member.linkname, name, dir_fd=pfd), pfd, name, rel)
        self._finish_at(member, pfd, name)

    def _hardlink(self, member: tarfile.TarInfo, rel: str, pfd: int, name: str) -> None:
        """The target is a path in this layer (an absolute one too, as docker reads it)."""
        target = safepath.clean_relpath(member.linkname)
        outside = UnsafeContentError(
            f"hardlink {rel!r} points to {member.linkname!r}, which is not in this layer"
        )
        try:
            tfd, tname = safepath.open_parent(self.root_fd, target, mounts=self.mounts)
        except (FileNotFoundError, NotADirectoryError, UnsafeContentError):
            raise outside from None
        try:
            tst = os.stat(tname, dir_fd=tfd, follow_symlinks=False)
            if stat.S_ISDIR(tst.st_mode):
                raise outside
            with contextlib.suppress(FileNotFoundError):
                dst = os.stat(name, dir_fd=pfd, follow_symlinks=False)
                if (dst.st_dev, dst.st_ino) == (tst.st_dev, tst.st_ino):
                    return
            self._clear(pfd, name, keep_dir=False, rel=rel)
            os.link(tname, name, src_dir_fd=tfd, dst_dir_fd=pfd, follow_symlinks=False)
        except FileNotFoundError:
            raise outside from None
        finally:
            os.close(tfd)

    def _node(self, member: tarfile.TarInfo, rel: str, pfd: int, name: str) -> None:
        """Fifos always; device nodes only when privileged (skipped silently otherwise)."""
        if member.isfifo():
            kind, device = stat.S_IFIFO, 0
        elif self.rootless:
            return
        else:
            kind = stat.S_IFCHR if member.ischr() else stat.S_IFBLK
            device = os.makedev(member.devmajor, member.devminor)
        try:
            self._make(lambda: os.mknod(name, kind | 0o600, device, dir_fd=pfd), pfd, name, rel)
        except PermissionError:
            return  # no CAP_MKNOD (e.g. pod itself runs in a container): like podman, skip
        self._finish_at(member, pfd, name)

    # -- whiteouts

    def _set_opaque(self, fd: int, rel: str) -> None:
        try:
            os.setxattr(fd, opaque_xattr(self.rootless), b"y")
        except OSError as err:
            raise StoreError(
                f"cannot mark {rel or '/'!r} opaque with {opaque_xattr(self.rootless)}: "
                f"{err.strerror} (the store's filesystem needs xattr support)"
            ) from None

    def _whiteout(self, rel: str) -> None:
        """Record `.wh.<name>` in overlay form; it masks lower layers, never this layer."""
        parent, _, marker = rel.rpartition("/")
        name = marker.removeprefix(_WHITEOUT_PREFIX)
        if marker != _OPAQUE_MARKER and marker.startswith(_AUFS_META_PREFIX):
            return  # aufs bookkeeping (.wh..wh.plnk and the like): meaningless here
        if marker != _OPAQUE_MARKER and name in ("", ".", ".."):
            raise UnsafeContentError(f"whiteout {rel!r} does not name an entry")
        pfd = safepath.open_dir(self.root_fd, parent, create=0o755, symlinks=False)
        try:
            if marker == _OPAQUE_MARKER:
                self._set_opaque(pfd, parent)
            else:
                self._whiteout_entry(pfd, name, rel)
        finally:
            os.close(pfd)

    def _whiteout_entry(self, pfd: int, name: str, rel: str) -> None:
        try:
            st = os.stat(name, dir_fd=pfd, follow_symlinks=False)
        except FileNotFoundError:
            try:
                os.mknod(name, stat.S_IFCHR | 0o600, 0, dir_fd=pfd)
            except PermissionError as err:
                raise StoreError(
                    f"cannot record whiteout {rel!r} as an overlay whiteout device: "
                    f"{err.strerror} (the kernel is too old for unprivileged whiteouts)"
                ) from None
            return
        if stat.S_ISDIR(st.st_mode):
            # This layer's own directory of that name: it replaces the lower one entirely.
            fd = os.open(name, _DIR_FLAGS, dir_fd=pfd)
            try:
                self._set_opaque(fd, rel)
            finally:
                os.close(fd)

    # -- the end

    def apply_dir_metadata(self) -> None:
        """Modes and mtimes of directories, now that their children exist."""
        safepath.restore_dir_metadata(self.root_fd, self.dirs.items(), mounts=self.mounts)


def extract_layer(
    blob: Path,
    dest: Path,
    *,
    rootless: bool,
    max_size: int = DEFAULT_MAX_SIZE,
    stream: IO[bytes] | None = None,
) -> ExtractResult:
    """Unpack a layer blob (gzip, zstd or plain tar) into the existing directory `dest`.

    `rootless` selects the opaque xattr and skips device nodes. The returned diff id is the sha256
    of the uncompressed stream; checking it against the image config is the caller's job. With
    `stream`, the blob's bytes are read from it as they arrive (`blob` names it in messages).
    """
    with _store_errors(f"unpacking layer {blob.name}"):
        root_fd = os.open(dest, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        extractor = _Extractor(root_fd, rootless, max_size)
        try:
            with open(blob, "rb") if stream is None else contextlib.nullcontext(stream) as raw:
                reader = _decompressed(raw, max_size)
                try:
                    _extract_members(reader, extractor)
                    reader.drain()
                finally:
                    reader.close()
            extractor.apply_dir_metadata()
        finally:
            extractor.close()
            os.close(root_fd)
    return ExtractResult(reader.digest, reader.size, extractor.owners_collapsed)


def forget_members(tar: tarfile.TarFile) -> None:
    """Drop the header tarfile keeps of every member written, so that writing a layer of any
    size takes bounded memory."""
    # TarFile.members is that list (getmembers() returns it); typeshed declares only the method.
    tar.members.clear()  # type: ignore[attr-defined]


def next_member(tar: TarReader) -> tarfile.TarInfo | None:
    """The next header of an untrusted tar; malformed: UnsafeContentError."""
    try:
        return tar.next()
    except TarFormatError as err:
        raise UnsafeContentError(f"layer is not a valid tar archive: {err}") from None


def _extract_members(
    reader: _DigestReader | _ReadAhead,
    extractor: _Extractor,
    owner: tuple[int, int] | None = None,
) -> None:
    tar = TarReader(reader)
    while (member := next_member(tar)) is not None:
        if owner is not None:
            member.uid, member.gid = owner
        extractor.add(tar, member)


def extract_tar_stream(
    stream: IO[bytes],
    dest_fd: int,
    *,
    rootless: bool,
    owner: tuple[int, int] | None = None,
    max_size: int = DEFAULT_MAX_SIZE,
    rules: PlainRules | None = None,
) -> bool:
    """Extract an untrusted plain tar stream (`pod cp`, build ADD) into the directory `dest_fd`.

    The same checks as layers (nothing leaves `dest_fd`, symlinks resolved inside it), but no
    whiteout handling and the archive's root entry does not touch `dest_fd` itself. `owner`
    replaces every entry's uid/gid; `rules` as PlainRules says. Returns whether owners had to
    collapse.
    """
    extractor = _Extractor(dest_fd, rootless, max_size, plain=rules or PlainRules())
    try:
        _extract_members(_DigestReader(stream, max_size, ()), extractor, owner)
    except BaseException:
        # What was made stays (as podman leaves it): with its modes, not the 0700 of making.
        with contextlib.suppress(OSError, PodError):
            extractor.apply_dir_metadata()
        raise
    else:
        extractor.apply_dir_metadata()
    finally:
        extractor.close()
    return extractor.owners_collapsed


def unpack_layer(
    blob: Path,
    dest: Path,
    expected_diff_id: str,
    *,
    rootless: bool,
    max_size: int,
    stream: IO[bytes] | None = None,
) -> ExtractResult:
    """extract_layer, then check the diff id; on any failure `dest` is removed entirely."""
    try:
        result = extract_layer(blob, dest, rootless=rootless, max_size=max_size, stream=stream)
        if result.diff_id != expected_diff_id:
            raise DigestMismatchError(
                f"layer {blob.name}: uncompressed content has digest {result.diff_id}, "
                f"but the image config says {expected_diff_id}"
            )
    except BaseException:
        with contextlib.suppress(OSError, PodError):
            safepath.remove_tree(dest)
        raise
    return result


# --- the store --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerInfo:
    """An unpacked layer, as recorded in its meta.json (whose presence means complete)."""

    chain_id: str
    diff_id: str
    parent: str | None
    size: int
    whiteout_format: str
    opaque_xattr: str
    owners_collapsed: bool
    rootless: bool
    # Not stored: set on the call that unpacked the layer when owners collapsed, to show once.
    warning: str = field(default="", compare=False)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        del data["warning"]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LayerInfo:
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name != "warning"})


def layer_exists(layout: Layout, chain_id: str) -> bool:
    return layout.layer_meta(chain_id).exists()


def read_layer_info(layout: Layout, chain_id: str) -> LayerInfo | None:
    path = layout.layer_meta(chain_id)
    try:
        data = read_json(path)
        return None if data is None else LayerInfo.from_json(data)
    except (ValueError, KeyError, TypeError) as err:
        raise StoreError(f"layer record {path} is damaged ({err}): remove the layer") from None


def layer_size(layout: Layout, chain_id: str) -> int:
    """The unpacked size of a layer (0 for one the store does not have, e.g. damaged)."""
    info = read_layer_info(layout, chain_id)
    return info.size if info else 0


def _scratch_dir(layout: Layout, chain_id: str, kind: str) -> Path:
    return layout.layer_scratch_dir(chain_id, kind, os.getpid())


def chown_path(path: Path, uid: int, gid: int, *, rootless: bool) -> None:
    """chown one path; rootless, to the ids the container sees (from the user's namespace)."""
    if not rootless:
        os.chown(path, uid, gid)
        return
    run_in_userns(WORKER_MODULE, {"ops": [{"op": "chown", "path": str(path), "uid": uid,
                                           "gid": gid}]})  # fmt: skip


def _unpack(
    blob: Path, dest: Path, diff_id: str, *, rootless: bool, max_size: int, feed: Feed | None
) -> tuple[ExtractResult, str]:
    """Unpack in-process (rootful) or in the user's namespace (rootless), or from `feed` as it
    downloads; also any warning."""
    if feed is not None:
        return _unpack_fed(feed, blob, dest, diff_id, rootless=rootless, max_size=max_size)
    if not rootless:
        return unpack_layer(blob, dest, diff_id, rootless=False, max_size=max_size), ""
    op = {"op": "unpack", "blob": str(blob), "dest": str(dest), "diff_id": diff_id}
    answer = run_in_userns(WORKER_MODULE, {"ops": [{**op, "max_size": max_size}]})
    result = ExtractResult(**answer.value[0])
    return result, answer.warning if result.owners_collapsed else ""


class _UnpackerGone(Exception):
    """The unpacker stopped reading the pipe (it failed): its own error says why."""


class _Background(threading.Thread):
    """Runs `work` beside the download, keeping its answer or its error for `outcome`."""

    def __init__(self, work: Callable[[], Any]) -> None:
        super().__init__(name="pod-unpack", daemon=True)
        self._work = work
        self._value: Any = None
        self._error: BaseException | None = None

    def run(self) -> None:
        try:
            self._value = self._work()
        except BaseException as err:  # handed to the thread that waits for it
            self._error = err

    def outcome(self) -> Any:
        self.join()
        if self._error is not None:
            raise self._error
        return self._value


class _PipeFeed:
    """The write end of the pipe to the unpacker: `write` for the feed, `close` (once)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        # A larger pipe means fewer switches between download and unpack; the size is capped by
        # fs.pipe-max-size for users, and the default pipe works too.
        with contextlib.suppress(OSError):
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _CHUNK)

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self._fd, view) :]
        except BrokenPipeError:
            raise _UnpackerGone from None

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def _start_unpacker(
    read_end: int, blob: Path, dest: Path, diff_id: str, *, rootless: bool, max_size: int
) -> tuple[_Background, Session]:
    """Start a worker unpacking what arrives on `read_end` (owned from here on): a process of
    its own (inflating and writing files on another core than the download's), in the user's
    namespace when rootless."""
    try:
        session = start_session(WORKER_MODULE, userns=rootless)
    except BaseException:
        os.close(read_end)
        raise
    op = {"op": "unpack", "blob": str(blob), "dest": str(dest), "diff_id": diff_id}
    request = {"ops": [{**op, "max_size": max_size, "rootless": rootless}]}
    thread = _Background(lambda: session.call(request, fds=(read_end,)))
    thread.start()
    return thread, session


def _unpack_fed(
    feed: Feed, blob: Path, dest: Path, diff_id: str, *, rootless: bool, max_size: int
) -> tuple[ExtractResult, str]:
    """Unpack from a pipe while `feed` downloads the blob into it. The download's error wins
    over the unpacker's (a cut stream is its consequence); the feed returning means the blob's
    digest checked."""
    read_end, write_end = os.pipe()
    pipe = _PipeFeed(write_end)
    try:
        unpacker, session = _start_unpacker(
            read_end, blob, dest, diff_id, rootless=rootless, max_size=max_size
        )
    except BaseException:
        pipe.close()
        raise
    try:
        try:
            feed(pipe.write)
        except _UnpackerGone:
            pipe.close()
            unpacker.outcome()  # raises the unpacker's error
            raise StoreError(f"unpacking layer {blob.name}: the unpacker stopped early") from None
        except BaseException:
            pipe.close()  # the unpacker sees the stream end and stops
            with contextlib.suppress(BaseException):
                unpacker.outcome()
            raise
        pipe.close()
        answer = unpacker.outcome()
    finally:
        pipe.close()
        session.close()
    result = ExtractResult(**answer[0])
    warning = session.warning if result.owners_collapsed else ""
    return result, warning


def ensure_layer(
    layout: Layout,
    chain_id: str,
    parent_chain_id: str | None,
    blob_path: Path,
    expected_diff_id: str,
    *,
    rootless: bool,
    max_size: int = DEFAULT_MAX_SIZE,
    feed: Feed | None = None,
) -> LayerInfo:
    """The unpacked layer `chain_id`, unpacking `blob_path` unless the store already has it.

    Under the layer's lock; extraction goes to a scratch dir that gets its meta.json and is then
    renamed into place, so a layer is either complete or absent (a killed writer's scratch dir
    is removed by cleanup_partial_layers). With `feed` the blob is not there yet: it is unpacked
    as feed downloads it into `blob_path`, and the layer is renamed into place only after feed
    returned (the blob's digest checked).
    """
    with locked(layout.layer_lock(chain_id)), _store_errors(f"storing layer {chain_id}"):
        known = read_layer_info(layout, chain_id)
        if known is not None:
            return known
        partial = _fresh_scratch_dir(layout, chain_id, rootless=rootless)
        try:
            diff = partial / LAYER_DIFF
            diff.mkdir()
            # its root starts as the parent's (containers/storage), unless the tar has ./
            diff.chmod(root_dir_mode(layout, parent_chain_id))
            result, warning = _unpack(
                blob_path, diff, expected_diff_id, rootless=rootless, max_size=max_size, feed=feed
            )
            info = LayerInfo(
                chain_id=chain_id,
                diff_id=result.diff_id,
                parent=parent_chain_id,
                size=result.size,
                whiteout_format=WHITEOUT_FORMAT,
                opaque_xattr=opaque_xattr(rootless),
                owners_collapsed=result.owners_collapsed,
                rootless=rootless,
                warning=warning,
            )
            _move_into_place(layout, partial, info)
        except BaseException:
            with contextlib.suppress(OSError, PodError):
                remove_trees([partial], rootless=rootless)
            raise
        return info


def _fresh_scratch_dir(layout: Layout, chain_id: str, *, rootless: bool) -> Path:
    """An empty <chain>.partial-<pid> scratch dir, after removing what an incomplete earlier
    attempt (of an older pod, which renamed before writing meta.json) left."""
    partial = _scratch_dir(layout, chain_id, "partial")
    remove_trees([layout.layer_dir(chain_id), partial], rootless=rootless)
    layout.layers_root.mkdir(parents=True, exist_ok=True)
    partial.parent.mkdir(parents=True, exist_ok=True)
    _mark_top_of_trees(partial.parent)
    partial.mkdir()
    return partial


def _mark_top_of_trees(directory: Path) -> None:
    """Give `directory` ext2/3/4's 'T' attribute (chattr +T): a directory made in it is placed
    like a top-level one, in a block group with many free inodes, not next to its parent.
    Each layer is a tree of its own. Next to the parent, a pull after an rmi lands where the
    removed layer's inodes were freed, and ext4 without a journal passes over inodes freed in
    the last 60 s (300 s while their inode table is unwritten) one at a time, on every create:
    a 20k-file pull took 4.7 s instead of 1.2 s on such a disk. Filesystems without the flag
    (or a store on one that refuses it) simply keep their own placement."""
    try:
        fd = os.open(directory, _DIR_FLAGS)
    except OSError:
        return
    try:
        flags = bytearray(4)
        fcntl.ioctl(fd, _FS_IOC_GETFLAGS, flags)
        value = int.from_bytes(flags, sys.byteorder)
        if not value & _FS_TOPDIR_FL:
            fcntl.ioctl(fd, _FS_IOC_SETFLAGS, (value | _FS_TOPDIR_FL).to_bytes(4, sys.byteorder))
    except OSError:
        pass  # not ext2/3/4, or the flag is refused: a placement hint, nothing is lost
    finally:
        os.close(fd)


def _move_into_place(layout: Layout, partial: Path, info: LayerInfo) -> None:
    """meta.json first, then one rename: a layer dir is complete from the moment it exists."""
    atomic_write_json(partial / LAYER_META, info.to_json())
    os.rename(partial, layout.layer_dir(info.chain_id))
    fsync_dir(layout.layers_root)


def adopt_layer(
    layout: Layout,
    chain_id: str,
    parent_chain_id: str | None,
    upper: Path,
    diff_id: str,
    size: int,
    *,
    rootless: bool,
) -> LayerInfo:
    """Make `upper` (a finished container's upper dir, just written as the layer `diff_id` of
    `size` bytes) the unpacked layer `chain_id` by renaming it: no copy, no unpack of the blob.

    `upper` must be on the store's filesystem. All or nothing like ensure_layer; on failure
    `upper` is put back where it can be. If the store has the layer already, `upper` is removed.
    """
    with locked(layout.layer_lock(chain_id)), _store_errors(f"storing layer {chain_id}"):
        known = read_layer_info(layout, chain_id)
        if known is not None:
            remove_trees([upper], rootless=rootless)
            return known
        info = LayerInfo(
            chain_id=chain_id,
            diff_id=diff_id,
            parent=parent_chain_id,
            size=size,
            whiteout_format=WHITEOUT_FORMAT,
            opaque_xattr=opaque_xattr(rootless),
            owners_collapsed=False,
            rootless=rootless,
        )
        partial = _fresh_scratch_dir(layout, chain_id, rootless=rootless)
        try:
            _move_dir(upper, partial / LAYER_DIFF)
            _move_into_place(layout, partial, info)
        except BaseException:
            with contextlib.suppress(OSError):
                _move_dir(partial / LAYER_DIFF, upper)
            with contextlib.suppress(OSError, PodError):
                remove_trees([partial], rootless=rootless)
            raise
        return info


def remove_layer(layout: Layout, chain_id: str, *, rootless: bool) -> bool:
    """Remove an unpacked layer; False if it was not there. Renamed away first: atomic."""
    with locked(layout.layer_lock(chain_id)), _store_errors(f"removing layer {chain_id}"):
        final = layout.layer_dir(chain_id)
        if not os.path.lexists(final):
            return False
        doomed = _scratch_dir(layout, chain_id, "removing")
        doomed.parent.mkdir(parents=True, exist_ok=True)
        os.rename(final, doomed)
        fsync_dir(layout.layers_root)
        remove_trees([doomed], rootless=rootless)
        return True


def cleanup_partial_layers(layout: Layout, *, rootless: bool | None = None) -> list[str]:
    """Remove extraction and removal leftovers whose writer is gone; return their names.

    A writer holds the layer's lock for as long as its scratch dir exists, so a free lock means a
    dead writer even when its pid (in the name, for people) has been reused since. Leftovers of a
    rootless store may hold subordinate-id files: those are removed from the user namespace
    (`rootless` defaults to "not running as root").
    """
    if rootless is None:
        rootless = os.geteuid() != 0
    try:
        names = sorted(entry.name for entry in os.scandir(layout.layer_scratch_root))
    except FileNotFoundError:
        return []
    removed = []
    for name in names:
        match = re.match(_SCRATCH_NAME, name)
        if match is None:
            continue
        with lock_if_free(layout.layer_lock(match[1])) as free:
            if free:
                with _store_errors(f"removing leftover {name}"):
                    remove_trees([layout.layer_scratch_root / name], rootless=rootless)
                removed.append(name)
    return removed


def _move_dir(source: Path, target: Path) -> None:
    """Rename the directory `source` to `target` under another parent, keeping its mode. Such a
    rename rewrites the directory's `..`, which needs write permission on it for anyone without
    CAP_DAC_OVERRIDE (rootless): a root dir of mode 0555 (the image's) gets u+w for the rename."""
    mode = stat.S_IMODE(os.lstat(source).st_mode)
    if mode & stat.S_IWUSR:
        os.rename(source, target)
        return
    os.chmod(source, mode | stat.S_IWUSR)
    try:
        os.rename(source, target)
    except BaseException:
        os.chmod(source, mode)
        raise
    os.chmod(target, mode)

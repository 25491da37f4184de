"""Resolve paths inside a root without ever following a symlink out of it.

Layer extraction, `cp`, build COPY/ADD and volume set-up all write into trees that untrusted
content controls. Every walk here goes one component at a time with O_NOFOLLOW opens; a symlink is
read and resolved *relative to the root* (an absolute target restarts at the root, `..` stops at
the root), like the kernel's RESOLVE_IN_ROOT. A symlink swapped in during a walk makes the open
fail instead of leading out.

A walk may be given bind mounts (`Mounts`: a path below the root → the host path mounted there),
for a stopped container's tree whose volumes and bind mounts exist only as a table: reaching a
mount's path switches to its source, as the kernel would in the running container. Symlinks
met anywhere are still resolved against the root, and `..` climbs back through the tree, never
into the source's host parent.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path

from pod.errors import UnsafeContentError
from pod.util.records import dataclass

MAX_SYMLINKS = 40
MAX_PATH_BYTES = 4096
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_ODD = ("", ".", "..")  # components a clean path has not: left to the full walk

Mounts = Mapping[str, str]
"""Bind mounts of a tree: a cleaned path below its root ("etc/hosts") → the host path mounted
there. The sources are the engine's own records (volumes, `-v` binds, the files pod writes)."""


def split_path(path: str) -> list[str]:
    """Components of `path` without empty and `.` parts (`..` is kept for the walker)."""
    return [part for part in path.split("/") if part not in ("", ".")]


def clean_relpath(name: str) -> str:
    """Normalize an untrusted archive name lexically: leading `/` stripped, `..` must stay inside.

    Returns "" for the root itself. A `..` that climbs above the root is an error, never clamped:
    such a name can only come from a hostile or broken archive.
    """
    if len(os.fsencode(name)) > MAX_PATH_BYTES:
        raise UnsafeContentError(f"path name longer than {MAX_PATH_BYTES} bytes: {name[:64]!r}...")
    parts: list[str] = []
    for part in split_path(name):
        if part != "..":
            parts.append(part)
        elif parts:
            parts.pop()
        else:
            raise UnsafeContentError(f"path {name!r} points outside its root")
    return "/".join(parts)


class _Walk:
    """Where a walk stands: the directory names below the root and an fd for the last one.

    Only one directory fd is held at a time, so trees of any depth can be walked; `..` re-opens
    the parent from the root by name (names on the walk are real directories, never links).
    """

    def __init__(self, root_fd: int, mounts: Mounts | None = None) -> None:
        self.root_fd = root_fd
        self.mounts = mounts or {}
        self.names: list[str] = []
        self.fd: int | None = os.dup(root_fd)
        self.final_source: str | None = None  # set by _walk: the path ends on a mount

    def _set(self, fd: int | None) -> None:
        if self.fd is not None:
            os.close(self.fd)
        self.fd = fd

    def enter(self, name: str, fd: int | None) -> None:
        """Step into `name`; `fd` None means it does not exist (later steps are then lexical)."""
        self.names.append(name)
        self._set(fd)

    def up(self) -> None:
        """`..`: one level up, but never above the root."""
        if self.names:
            self.names.pop()
            self._set(_open_names(self.root_fd, self.names, self.mounts))

    def mount_source(self, name: str) -> str | None:
        """The host path bind-mounted at `name` in the current directory, if any."""
        return mount_source(self.mounts, [*self.names, name])

    def reset(self) -> None:
        self.names = []
        self._set(os.dup(self.root_fd))

    def close(self) -> None:
        self._set(None)


def _lstat(name: str, dir_fd: int | None) -> os.stat_result | None:
    if dir_fd is None:
        return None
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def _open_child_dir(name: str, dir_fd: int, st: os.stat_result) -> int:
    if not stat.S_ISDIR(st.st_mode):
        raise NotADirectoryError(f"{name}: not a directory")
    return os.open(name, _DIR_FLAGS, dir_fd=dir_fd)


def mount_source(mounts: Mounts, names: list[str]) -> str | None:
    """The host path bind-mounted at the path `names` below the root, if any."""
    return mounts.get("/".join(names)) if mounts else None


def _open_mount_dir(source: str) -> int | None:
    """The source directory of a bind mount met on a walk (None: it is gone)."""
    try:
        return os.open(source, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None


def open_mount_parent(source: str) -> tuple[int, str]:
    """(parent directory fd, name) of a bind mount's source: the entry a mount's path stands for
    (a file bind such as /etc/hosts as much as a directory)."""
    parent, name = os.path.split(os.path.normpath(source))
    return os.open(parent or "/", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC), name


def _open_names(root_fd: int, names: list[str], mounts: Mounts | None = None) -> int | None:
    """Open the directory at `names` below the root, or None if part of it does not exist."""
    fd = os.dup(root_fd)
    for depth, name in enumerate(names, 1):
        try:
            source = mount_source(mounts or {}, names[:depth])
            if source is not None:
                child = _open_mount_dir(source)
            else:
                st = _lstat(name, fd)
                child = None if st is None else _open_child_dir(name, fd, st)
        finally:
            os.close(fd)
        if child is None:
            return None
        fd = child
    return fd


def _follow(walk: _Walk, part: str, relpath: str, symlinks: bool) -> list[str]:
    """The components a symlink at `part` stands for (an absolute target restarts at the root)."""
    if not symlinks:
        raise UnsafeContentError(f"path {relpath!r} goes through a symbolic link")
    assert walk.fd is not None
    target = os.readlink(part, dir_fd=walk.fd)
    if target.startswith("/"):
        walk.reset()
    return split_path(target)


def _walk(
    root_fd: int,
    relpath: str,
    *,
    follow_final: bool,
    create: int | None,
    symlinks: bool = True,
    mounts: Mounts | None = None,
) -> tuple[_Walk, str]:
    """Walk `relpath` below `root_fd`; return the walk and the final component (not opened).

    The final component is "" when the path ends on a directory already walked (the root, or
    after `..`). With `create` set (a mode) missing intermediate directories are made. With
    `symlinks` False any symlink on the way is an error. A final component that is a mount's
    path is reported in `walk.final_source` (the entry is that source, not what lies below).
    """
    walk = _Walk(root_fd, mounts)
    pending = split_path(relpath)
    links = 0
    try:
        while pending:
            part = pending.pop(0)
            if part == "..":
                walk.up()
                continue
            last = not pending
            source = walk.mount_source(part)
            if source is not None:
                if last:
                    walk.final_source = source
                    return walk, part
                walk.enter(part, _open_mount_dir(source))
                continue
            st = _lstat(part, walk.fd)
            if st is not None and stat.S_ISLNK(st.st_mode) and (follow_final or not last):
                links += 1
                if links > MAX_SYMLINKS:
                    raise UnsafeContentError(f"too many levels of symbolic links in {relpath!r}")
                pending[:0] = _follow(walk, part, relpath, symlinks)
                continue
            if last:
                return walk, part
            if st is None and walk.fd is not None and create is not None:
                os.mkdir(part, create, dir_fd=walk.fd)
                st = os.stat(part, dir_fd=walk.fd, follow_symlinks=False)
            if st is None or walk.fd is None:  # missing (no stat is taken without a walk.fd)
                walk.enter(part, None)
            else:
                walk.enter(part, _open_child_dir(part, walk.fd, st))
        return walk, ""
    except BaseException:
        walk.close()
        raise


def resolve_inside(root: Path, relpath: str, follow_final: bool = True) -> Path:
    """The real path `relpath` names inside `root`, every symlink resolved within `root`.

    Missing components are kept as named (so the result is where a new entry would go). With
    `follow_final` False a final symlink is returned itself rather than its target.
    """
    root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        walk, final = _walk(root_fd, relpath, follow_final=follow_final, create=None)
        walk.close()
    finally:
        os.close(root_fd)
    return root.joinpath(*walk.names, *([final] if final else []))


@dataclass(frozen=True)
class Found:
    """Where a path leads inside a root: its components below the root with every symlink
    resolved ("" for the root), and what is there (None: nothing; a new entry would go there)."""

    path: str
    stat: os.stat_result | None


def lookup(
    root_fd: int, relpath: str, *, follow_final: bool = True, mounts: Mounts | None = None
) -> Found:
    """Resolve `relpath` inside the root, through `mounts`, and stat what it names (a final
    symlink is followed unless `follow_final` is False). A path through a non-directory names
    nothing."""
    try:
        walk, final = _walk(root_fd, relpath, follow_final=follow_final, create=None, mounts=mounts)
    except NotADirectoryError:
        return Found(clean_relpath(relpath), None)
    try:
        path = "/".join([*walk.names, *([final] if final else [])])
        if walk.final_source is not None:
            try:
                st: os.stat_result | None = os.stat(walk.final_source)
            except FileNotFoundError:
                st = None
        elif final:
            st = _lstat(final, walk.fd)
        else:
            st = None if walk.fd is None else os.fstat(walk.fd)
    finally:
        walk.close()
    return Found(path, st)


_kernel_walk = [True]  # openat2 answers here (cleared on ENOSYS, or a filter's EPERM)


def open_in_root(
    root_fd: int, relpath: str, flags: int, *, symlinks: bool = True, final_enoent: bool = False
) -> int | None:
    """The kernel's own walk of `relpath` inside the root (openat2 RESOLVE_IN_ROOT: symlinks
    and `..` resolved within it, as the walk here does), one call instead of an open and a
    stat per component (a container's ~150 mount points and masks: ~3 ms). `flags` are
    open's; the final component is followed unless O_NOFOLLOW. None where the kernel cannot
    answer alone: a missing entry, a refused symlink (`symlinks` False), a magic link, an
    older kernel. The caller's own walk then decides, and raises, as it always did. With
    `final_enoent` a missing entry raises FileNotFoundError instead: where nothing is
    there after every symlink was resolved inside the root, the walk would find nothing
    either."""
    if not _kernel_walk[0]:
        return None
    from pod.util import libc  # ctypes: loaded already where containers are set up

    refused = libc.RESOLVE_NO_MAGICLINKS if symlinks else libc.RESOLVE_NO_SYMLINKS
    try:
        return libc.openat2(
            root_fd, relpath or ".", flags | os.O_CLOEXEC, libc.RESOLVE_IN_ROOT | refused
        )
    except OSError as err:
        if err.errno in (errno.ENOSYS, errno.EPERM):
            _kernel_walk[0] = False
        if final_enoent and err.errno == errno.ENOENT:
            raise FileNotFoundError(errno.ENOENT, "no such file or directory", relpath) from None
        return None


def _open_dir_in_root(root_fd: int, relpath: str, create: int | None, symlinks: bool) -> int | None:
    """open_dir by the kernel's walk: the directory, or with `create` a new last component in
    a parent that is there (a mount point in a fresh tmpfs, say); None: the walk decides."""
    fd = open_in_root(root_fd, relpath, os.O_RDONLY | os.O_DIRECTORY, symlinks=symlinks)
    parts = split_path(relpath)
    if fd is not None or create is None or not parts or parts[-1] == "..":
        return fd
    parent = open_in_root(
        root_fd, "/".join(parts[:-1]), os.O_RDONLY | os.O_DIRECTORY, symlinks=symlinks
    )
    if parent is None:
        return None
    try:
        with contextlib.suppress(FileExistsError):  # a dangling symlink, say: the open decides
            os.mkdir(parts[-1], create, dir_fd=parent)
        return os.open(parts[-1], _DIR_FLAGS, dir_fd=parent)
    except OSError:
        return None
    finally:
        os.close(parent)


def open_dir(
    root_fd: int,
    relpath: str,
    *,
    create: int | None = None,
    symlinks: bool = True,
    mounts: Mounts | None = None,
) -> int:
    """An O_DIRECTORY fd for `relpath` inside the root (symlinks resolved within it).

    With `create` (a mode) missing directories on the way, the last included, are made. With
    `symlinks` False a symlink anywhere on the way is an UnsafeContentError. The caller closes
    the fd.
    """
    if not mounts:
        fd = _open_dir_in_root(root_fd, relpath, create, symlinks)
        if fd is not None:
            return fd
    walk, final = _walk(
        root_fd, relpath, follow_final=True, create=create, symlinks=symlinks, mounts=mounts
    )
    try:
        if walk.final_source is not None:
            fd = _open_mount_dir(walk.final_source)
            if fd is None:
                raise FileNotFoundError(f"{relpath}: no such directory")
            return fd
        st = _lstat(final, walk.fd) if final else None
        if final and st is None and walk.fd is not None and create is not None:
            os.mkdir(final, create, dir_fd=walk.fd)
            st = os.stat(final, dir_fd=walk.fd, follow_symlinks=False)
        if walk.fd is None or (final and st is None):
            raise FileNotFoundError(f"{relpath}: no such directory")
        if not final:
            return os.dup(walk.fd)
        assert st is not None
        return _open_child_dir(final, walk.fd, st)
    finally:
        walk.close()


class DirStack:
    """open_dir for many paths in tree order (a tar's entries, its directories' metadata):
    the fds of the last path's directories are kept, so the next path opens only the
    components it does not share with it, one O_NOFOLLOW step each, making missing ones with
    `create` (a mode). A step that meets anything but a directory (a symlink to resolve inside
    the root, a file), a path deeper than MAX_DEPTH, and every path of a tree with mounts go
    through open_dir instead. `clear` after any removal: a kept fd may name a replaced dir.
    """

    MAX_DEPTH = 48  # fds held per stack: three layers unpack at once in one process

    def __init__(self, root_fd: int, *, create: int | None, mounts: Mounts | None = None) -> None:
        self.root_fd = root_fd
        self.create = create
        self.mounts = mounts
        self._names: list[str] = []
        self._fds: list[int] = []
        self._other: int | None = None  # open_dir's answer for a path off the stack

    def open(self, relpath: str) -> int:
        """An fd for the directory `relpath` (a clean_relpath), valid until the next call."""
        self._close_other()
        names = relpath.split("/") if relpath else []
        if self.mounts or len(names) > self.MAX_DEPTH or not all(n not in _ODD for n in names):
            return self._off_stack(relpath)
        shared = 0
        for kept, name in zip(self._names, names, strict=False):
            if kept != name:
                break
            shared += 1
        self._pop_to(shared)
        for name in names[shared:]:
            fd = self._step(name)
            if fd is None:
                self.clear()
                return self._off_stack(relpath)
            self._names.append(name)
            self._fds.append(fd)
        return self._fds[-1] if self._fds else self.root_fd

    def _step(self, name: str) -> int | None:
        """The child directory `name` of the top, made if missing; None if it is no plain dir."""
        top = self._fds[-1] if self._fds else self.root_fd
        try:
            return os.open(name, _DIR_FLAGS, dir_fd=top)
        except FileNotFoundError:
            if self.create is None:
                return None
        except OSError:  # ELOOP (a symlink: open_dir resolves it inside the root), ENOTDIR, ...
            return None
        os.mkdir(name, self.create, dir_fd=top)
        try:
            return os.open(name, _DIR_FLAGS, dir_fd=top)
        except OSError:
            return None

    def _off_stack(self, relpath: str) -> int:
        self._other = open_dir(self.root_fd, relpath, create=self.create, mounts=self.mounts)
        return self._other

    def _pop_to(self, depth: int) -> None:
        while len(self._fds) > depth:
            os.close(self._fds.pop())
            self._names.pop()

    def _close_other(self) -> None:
        if self._other is not None:
            os.close(self._other)
            self._other = None

    def clear(self) -> None:
        self._close_other()
        self._pop_to(0)


def open_parent(
    root_fd: int,
    relpath: str,
    *,
    create: int | None = None,
    symlinks: bool = True,
    mounts: Mounts | None = None,
) -> tuple[int, str]:
    """The parent directory fd of `relpath` and its last component, which is never followed.

    The caller acts on the last component with *at() calls and no-follow flags, then closes the fd.
    When the path is a mount's, the pair names the mount's source.
    """
    parts = split_path(relpath)
    if not parts or parts[-1] == "..":
        raise UnsafeContentError(f"path {relpath!r} does not name an entry")
    if mounts:
        walk, final = _walk(
            root_fd, relpath, follow_final=False, create=create, symlinks=symlinks, mounts=mounts
        )
        try:
            if walk.final_source is not None:
                return open_mount_parent(walk.final_source)
            if walk.fd is None:
                raise FileNotFoundError(f"{relpath}: no such directory")
            return os.dup(walk.fd), final
        finally:
            walk.close()
    fd = open_dir(root_fd, "/".join(parts[:-1]), create=create, symlinks=symlinks)
    return fd, parts[-1]


@dataclass
class _Level:
    """A directory being emptied by remove_entry: its name, subdirectories left, parent's id."""

    name: str
    subdirs: list[str]
    parent_id: tuple[int, int]


def identity(fd: int) -> tuple[int, int]:
    """(device, inode): tells whether a path still names the entry it named before."""
    st = os.fstat(fd)
    return st.st_dev, st.st_ino


@dataclass(frozen=True)
class DirMeta:
    """A directory's mode and mtime, set after its children are written (they change it)."""

    identity: tuple[int, int]
    mode: int
    mtime_ns: int


def restore_dir_metadata(
    root_fd: int, dirs: Iterable[tuple[str, DirMeta]], mounts: Mounts | None = None
) -> None:
    """Set each directory's mode and mtime, skipping one replaced since (by a later entry,
    which carries its own metadata)."""
    stack = DirStack(root_fd, create=None, mounts=mounts)
    try:
        for rel, meta in dirs:
            try:
                fd = stack.open(rel)
            except (OSError, UnsafeContentError):
                continue
            if identity(fd) == meta.identity:
                os.fchmod(fd, meta.mode)
                os.utime(fd, ns=(meta.mtime_ns, meta.mtime_ns))
    finally:
        stack.clear()


def _clear_files(fd: int) -> list[str]:
    """Unlink every non-directory in `fd`; return the subdirectory names."""
    subdirs = []
    with contextlib.closing(os.scandir(fd)) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                subdirs.append(entry.name)
            else:
                os.unlink(entry.name, dir_fd=fd)
    return subdirs


def remove_entry(dir_fd: int, name: str) -> None:
    """Remove `name` in `dir_fd`: a file, a symlink itself, or a tree of any depth.

    Links are never followed and at most two fds are open; going back up is checked against the
    directory's recorded identity so a tree moved meanwhile cannot lead the removal elsewhere.
    """
    st = _lstat(name, dir_fd)
    if st is None:
        return
    if not stat.S_ISDIR(st.st_mode):
        os.unlink(name, dir_fd=dir_fd)
        return
    fd = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    levels = [_Level(name, _clear_files(fd), identity(dir_fd))]
    try:
        while True:
            level = levels[-1]
            if level.subdirs:
                child = level.subdirs.pop()
                parent_id = identity(fd)
                child_fd = os.open(child, _DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = child_fd
                levels.append(_Level(child, _clear_files(fd), parent_id))
                continue
            if len(levels) == 1:
                break
            parent = os.open("..", _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = parent
            if identity(fd) != level.parent_id:
                raise UnsafeContentError(f"directory {level.name!r} moved while being removed")
            levels.pop()
            os.rmdir(level.name, dir_fd=fd)
    finally:
        os.close(fd)
    os.rmdir(name, dir_fd=dir_fd)


def remove_tree(path: Path) -> None:
    """Remove `path` (a tree, a file, or a symlink itself) without following links."""
    try:
        fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except FileNotFoundError:
        return
    try:
        remove_entry(fd, path.name)
    finally:
        os.close(fd)


def chown_tree(path: Path, uid: int, gid: int) -> None:
    """chown `path` and, when it is a directory, everything below it, never following a link
    below it (podman's `-v SRC:DST:U`): each name is changed relative to its directory's fd."""
    st = os.stat(path)
    if not stat.S_ISDIR(st.st_mode):
        os.chown(path, uid, gid)
        return
    fd = os.open(path, _DIR_FLAGS)
    try:
        _chown_below(fd, uid, gid)
        os.fchown(fd, uid, gid)
    finally:
        os.close(fd)


def _chown_below(dir_fd: int, uid: int, gid: int) -> None:
    for entry in os.scandir(dir_fd):
        if entry.is_dir(follow_symlinks=False):
            child = os.open(entry.name, _DIR_FLAGS, dir_fd=dir_fd)
            try:
                _chown_below(child, uid, gid)
                os.fchown(child, uid, gid)
            finally:
                os.close(child)
        else:
            os.chown(entry.name, uid, gid, dir_fd=dir_fd, follow_symlinks=False)

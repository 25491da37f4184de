"""`pod cp`'s two halves of a copy: a tar stream written from a tree, a tar stream put into one.

A tree is a root directory fd plus, for a stopped container, its bind mounts (store.safepath
Mounts): the host is the tree "/", a container the root it sees. Every path is resolved by
store.safepath inside the tree, so a symlink planted in a container (`/x -> /`, `../../..`) never
leads outside its root; files are read through an O_PATH handle checked to be a regular file, so
a FIFO or device swapped in during the walk is never opened. A stream is put into a directory
with the layer extractor (pod.store.layers.extract_tar_stream): nothing in a hostile stream can
be written outside that directory.
"""

from __future__ import annotations

import os
import stat
import tarfile
from collections.abc import Callable
from typing import IO

from pod.store import safepath
from pod.util.records import dataclass

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# A container's kernel file systems: never copied out of a running container's root.
_KERNEL_DIRS = ("proc", "sys", "dev")

IdMap = Callable[[int, int], tuple[int, int]]


@dataclass(frozen=True)
class Tree:
    """Where one side's files are: a directory fd standing for "/", the bind mounts a stopped
    container's table adds, and whether kernel file systems below "/" are left out."""

    root_fd: int
    mounts: safepath.Mounts
    container: bool


@dataclass(frozen=True)
class Source:
    """What to archive: `path` (resolved, below the root) under the name `arcname` ("": its
    entries only); owners all become `owner`, else each is passed through `ids`."""

    path: str
    arcname: str
    owner: tuple[int, int] | None
    ids: IdMap | None = None


class _Writer:
    def __init__(self, tar: tarfile.TarFile, tree: Tree, source: Source) -> None:
        self.tar = tar
        self.tree = tree
        self.source = source
        self.links: dict[tuple[int, int], str] = {}

    def _header(self, arcname: str, st: os.stat_result) -> tarfile.TarInfo:
        info = tarfile.TarInfo(arcname)
        if self.source.owner is not None:
            info.uid, info.gid = self.source.owner
        elif self.source.ids is not None:
            info.uid, info.gid = self.source.ids(st.st_uid, st.st_gid)
        else:
            info.uid, info.gid = st.st_uid, st.st_gid
        info.mode, info.mtime = stat.S_IMODE(st.st_mode), int(st.st_mtime)
        return info

    def add(self, pfd: int, name: str, arcname: str, path: str) -> None:
        """Add `name` in `pfd` (the tree's `path`) as `arcname` ("": a directory's entries)."""
        st = os.stat(name, dir_fd=pfd, follow_symlinks=False)
        info = self._header(arcname, st)
        mode = st.st_mode
        if stat.S_ISDIR(mode):
            fd = os.open(name, _DIR_FLAGS, dir_fd=pfd)
            try:
                if arcname:
                    info.type = tarfile.DIRTYPE
                    self.tar.addfile(info)
                self._children(fd, arcname, path)
            finally:
                os.close(fd)
        elif stat.S_ISREG(mode):
            self._file(pfd, name, info, st)
        elif stat.S_ISLNK(mode):
            info.type, info.linkname = tarfile.SYMTYPE, os.readlink(name, dir_fd=pfd)
            self.tar.addfile(info)
        elif stat.S_ISFIFO(mode):
            info.type = tarfile.FIFOTYPE
            self.tar.addfile(info)
        elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            info.type = tarfile.CHRTYPE if stat.S_ISCHR(mode) else tarfile.BLKTYPE
            info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
            self.tar.addfile(info)
        # sockets are skipped, as tar does

    def _children(self, fd: int, arcname: str, path: str) -> None:
        for child in sorted(os.listdir(fd)):
            if self.tree.container and not path and child in _KERNEL_DIRS:
                continue
            child_path = f"{path}/{child}" if path else child
            child_arcname = f"{arcname}/{child}" if arcname else child
            source = safepath.mount_source(self.tree.mounts, child_path.split("/"))
            if source is None:
                self.add(fd, child, child_arcname, child_path)
                continue
            try:
                mfd, mname = safepath.open_mount_parent(source)
            except FileNotFoundError:
                continue
            try:
                self.add(mfd, mname, child_arcname, child_path)
            except FileNotFoundError:
                pass
            finally:
                os.close(mfd)

    def _file(self, pfd: int, name: str, info: tarfile.TarInfo, st: os.stat_result) -> None:
        key = (st.st_dev, st.st_ino)
        if st.st_nlink > 1 and key in self.links:
            info.type, info.linkname = tarfile.LNKTYPE, self.links[key]
            self.tar.addfile(info)
            return
        handle = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=pfd)
        try:
            if not stat.S_ISREG(os.fstat(handle).st_mode):
                return  # replaced by something else since it was listed: left out
            fd = os.open(f"/proc/self/fd/{handle}", os.O_RDONLY | os.O_CLOEXEC)
        finally:
            os.close(handle)
        with open(fd, "rb") as data:
            info.size = os.fstat(fd).st_size
            self.links[key] = info.name
            self.tar.addfile(info, data)


def write_tar(out: IO[bytes], tree: Tree, source: Source) -> None:
    """Write `source` of `tree` to `out` as a tar stream (PAX, entries in sorted order)."""
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        writer = _Writer(tar, tree, source)
        if not source.path:
            writer._children(tree.root_fd, source.arcname, "")
            return
        pfd, name = safepath.open_parent(tree.root_fd, source.path, mounts=tree.mounts)
        try:
            writer.add(pfd, name, source.arcname, source.path)
        finally:
            os.close(pfd)


@dataclass(frozen=True)
class Target:
    """Where a stream lands: the directory `path` (resolved, below the tree's root), its entries
    owned by `owner` (None: as the archive says), `overwrite` as --overwrite, `devices` whether
    device nodes are made, `where` the directory as the user sees it (for messages)."""

    path: str
    owner: tuple[int, int] | None
    overwrite: bool
    devices: bool
    where: str


def _mounts_below(mounts: safepath.Mounts, path: str) -> dict[str, str]:
    """The mounts below the directory `path`, keyed relative to it."""
    if not path:
        return dict(mounts)
    prefix = path + "/"
    return {key[len(prefix) :]: src for key, src in mounts.items() if key.startswith(prefix)}


def put_tar(stream: IO[bytes], tree: Tree, target: Target) -> None:
    """Extract the untrusted tar `stream` into `target.path` of `tree`."""
    from pod.store.layers import PlainRules, extract_tar_stream

    dest_fd = safepath.open_dir(tree.root_fd, target.path, mounts=tree.mounts)
    try:
        rules = PlainRules(
            overwrite=target.overwrite,
            mounts=_mounts_below(tree.mounts, target.path),
            where=target.where,
        )
        extract_tar_stream(
            stream, dest_fd, rootless=not target.devices, owner=target.owner, rules=rules
        )
    finally:
        os.close(dest_fd)

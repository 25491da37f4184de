"""Squashing layers: several OCI layer blobs written as one (`build --squash`, `commit --squash`).

The layers are applied in order to a tree of tar headers in memory; file data stays in each
blob's decompressed copy (a temporary file next to the output, unlinked as soon as it is made,
so not even `kill -9` leaves it behind) and is read by offset when the result is written, in
exactly layer_diff's format (sorted, PAX, numeric owners, gzip level 6 with mtime 0).

The semantics are those of the layers stacked as overlay lowerdirs, one unpacked dir each, as pod
runs them. On an empty base a deletion simply removes the path. On an unknown base
(`on_top_of_base`) the result must hide exactly what the stack hid: whiteouts are kept for
paths no later layer re-creates, a directory that replaces a deleted path or a non-directory
becomes opaque, and opaque directories stay opaque. A layer with entries under a directory it
has no header for still has that directory (extraction makes it, 0755 and root's), and in the
stack the topmost layer's directory is the one seen: such a directory is written that way.
"""

from __future__ import annotations

import contextlib
import math
import os
import tarfile
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

from pod.errors import UnsafeContentError
from pod.store import layers, safepath
from pod.store.layer_diff import LayerDiff, _is_utf8, _join, layer_tar
from pod.store.tar_reader import TarReader
from pod.util.records import dataclass

_IMPLICIT_DIR_MODE = 0o755  # what extraction gives a directory the layer has no header for


@dataclass(eq=False)
class _Node:
    """One path of the squashed tree. Compared by identity: hardlink groups are keyed by it."""

    member: tarfile.TarInfo | None = None  # entry header (a whiteout's own); None: implicit dir
    layer: int = -1  # the blob `member` comes from; -1 for whiteouts and implicit dirs
    children: dict[str, _Node] | None = None  # set for directories only
    opaque: bool = False  # a directory hiding whatever the base has below it
    whiteout: bool = False  # deletes the base's entry at this path
    source: _Node | None = None  # a hardlink: the entry whose inode (and data) it shares

    @property
    def is_dir(self) -> bool:
        return self.children is not None


def _clean(name: str) -> str:
    """An untrusted member name as "a/b" ("" for the root); any `..` is refused outright."""
    if ".." in safepath.split_path(name):
        raise UnsafeContentError(f"layer entry {name!r} has a '..' component")
    return safepath.clean_relpath(name)  # also bounds the length


def _sorted(children: dict[str, _Node]) -> Iterator[tuple[str, _Node]]:
    """layer_diff's order: name bytes within a directory (a whiteout sorts as its target)."""
    return iter(sorted(children.items(), key=lambda item: os.fsencode(item[0])))


def _xattrs(member: tarfile.TarInfo) -> dict[str, str]:
    """SCHILY.xattr records, sorted; overlay's own (which extraction ignores) left out."""
    records = [
        (key, value)
        for key, value in member.pax_headers.items()
        if key.startswith("SCHILY.xattr.")
        and _is_utf8(key)
        and not key.removeprefix("SCHILY.xattr.").startswith(layers._FORBIDDEN_XATTR_PREFIXES)
    ]
    return dict(sorted(records, key=lambda record: os.fsencode(record[0])))


class _Squash:
    """The tree the layers add up to, and the decompressed blobs its entries' data lives in."""

    def __init__(self, on_top_of_base: bool, max_size: int) -> None:
        self.root = _Node(children={})
        self.on_top_of_base = on_top_of_base
        self.max_size = max_size
        self.plains: list[IO[bytes]] = []  # each layer's decompressed blob

    # -- applying a layer

    def add_layer(self, plain: IO[bytes]) -> None:
        """Whiteouts and opaque markers act on the layers below only, so they go first."""
        layer = len(self.plains)
        self.plains.append(plain)
        tar = TarReader.of_file(plain)
        # Every layer has a root (pod makes it): its header, if any, is this layer's own.
        self.root.member, self.root.layer = None, -1
        whiteouts: list[tuple[str, str, tarfile.TarInfo]] = []
        opaque: list[str] = []
        entries: list[tuple[str, tarfile.TarInfo]] = []
        while (member := layers.next_member(tar)) is not None:
            rel = _clean(member.name)
            if member.size > self.max_size:
                raise UnsafeContentError(f"layer entry {rel!r} declares {member.size} bytes")
            if not math.isfinite(member.mtime):
                raise UnsafeContentError(f"layer entry {rel!r} has mtime {member.mtime}")
            parent, _, name = rel.rpartition("/")
            if name == layers._OPAQUE_MARKER:
                opaque.append(parent)
            elif name.startswith(layers._AUFS_META_PREFIX):
                continue  # aufs bookkeeping, as extraction skips it
            elif name.startswith(layers._WHITEOUT_PREFIX):
                target = name.removeprefix(layers._WHITEOUT_PREFIX)
                if target in ("", ".", ".."):
                    raise UnsafeContentError(f"whiteout {rel!r} does not name an entry")
                whiteouts.append((parent, target, member))
            else:
                entries.append((rel, member))
        for parent, name, member in whiteouts:
            self._whiteout(layer, parent, name, member)
        for rel in opaque:
            node, _ = self._dir(layer, rel)
            node.children = {}
            node.opaque = True
        for rel, member in entries:
            self._entry(layer, rel, member)

    def _dir(self, layer: int, rel: str) -> tuple[_Node, bool]:
        """The directory `rel`, made where missing; and whether the base shows through below it.

        A layer that has something under a path has a directory there, so a deleted path or a
        non-directory of an earlier layer becomes an (opaque) directory, as in the overlay stack;
        an earlier layer's directory header gives way to this layer's implicit directory (until
        this layer's own header for it, which may come later in the tar).
        """
        node = self.root
        visible = self.on_top_of_base and not node.opaque
        for name in rel.split("/") if rel else ():
            assert node.children is not None
            child = node.children.get(name)
            if child is None or not child.is_dir:
                if child is not None and child.layer == layer:
                    raise UnsafeContentError(
                        f"layer entries under {rel!r} go through a non-directory of that layer"
                    )
                child = _Node(children={}, opaque=child is not None and visible)
                node.children[name] = child
            elif child.layer != layer:
                child.member, child.layer = None, -1
            visible = visible and not child.opaque
            node = child
        return node, visible

    def _whiteout(self, layer: int, parent: str, name: str, member: tarfile.TarInfo) -> None:
        node, visible = self._dir(layer, parent)
        assert node.children is not None
        if visible:
            node.children[name] = _Node(member, whiteout=True)
        else:
            node.children.pop(name, None)  # nothing below can show through: just gone

    def _entry(self, layer: int, rel: str, member: tarfile.TarInfo) -> None:
        if not rel:
            if not member.isdir():
                raise UnsafeContentError(f"layer entry {member.name!r} would replace the root")
            self.root.member, self.root.layer = member, layer
            return
        parent_rel, _, name = rel.rpartition("/")
        parent, visible = self._dir(layer, parent_rel)
        assert parent.children is not None
        old = parent.children.get(name)
        if member.isdir():
            if old is not None and old.is_dir:
                old.member, old.layer = member, layer  # directories merge
            else:
                parent.children[name] = _Node(
                    member, layer, children={}, opaque=old is not None and visible
                )
            return
        source = None
        if member.islnk():
            source = self._link_source(layer, rel, member)
        elif not (member.isreg() or member.issym() or member.isdev()):
            raise UnsafeContentError(f"layer entry {rel!r} has unsupported type {member.type!r}")
        parent.children[name] = _Node(member, layer, source=source)

    def _link_source(self, layer: int, rel: str, member: tarfile.TarInfo) -> _Node:
        """A hardlink's target must be a non-directory this same layer has at that moment."""
        node: _Node | None = self.root
        for name in _clean(member.linkname).split("/"):
            node = None if node is None or node.children is None else node.children.get(name)
        if node is None or node.is_dir or node.whiteout or node.layer != layer:
            raise UnsafeContentError(
                f"hardlink {rel!r} points to {member.linkname!r}, which is not in this layer"
            )
        return node.source or node

    # -- writing the result

    def write(self, tar: tarfile.TarFile, timestamp: int | None) -> int:
        """Write the tree depth first in name order; the number of entries written."""
        writer = _Writer(tar, self.plains, timestamp)
        root = self.root
        assert root.children is not None
        if root.member is not None:
            writer.directory("./", root.member)
        if root.opaque and self.on_top_of_base:
            writer.marker(layers._OPAQUE_MARKER, root.member)
        stack = [("", _sorted(root.children), self.on_top_of_base and not root.opaque)]
        while stack:
            rel, children, visible = stack[-1]
            item = next(children, None)
            if item is None:
                stack.pop()
                continue
            name, node = item
            path = _join(rel, name)
            if node.whiteout:
                if visible:
                    writer.marker(_join(rel, layers._WHITEOUT_PREFIX + name), node.member)
            elif node.children is not None:
                writer.directory(f"{path}/", node.member)
                if node.opaque and self.on_top_of_base:
                    writer.marker(f"{path}/{layers._OPAQUE_MARKER}", node.member)
                stack.append((path, _sorted(node.children), visible and not node.opaque))
            else:
                writer.entry(path, node)
        return writer.entries


class _Writer:
    """Headers made the way layer_diff makes them; hardlink groups written data first."""

    def __init__(
        self, tar: tarfile.TarFile, sources: list[IO[bytes]], timestamp: int | None
    ) -> None:
        self.tar = tar
        self.sources = sources
        self.timestamp = timestamp
        self.entries = 0
        self.written: dict[_Node, str] = {}  # inode (source node) → the first name written

    def _add(self, info: tarfile.TarInfo, data: IO[bytes] | None = None) -> None:
        self.tar.addfile(info, data)
        layers.forget_members(self.tar)
        self.entries += 1

    def _mtime(self, member: tarfile.TarInfo | None) -> int:
        if self.timestamp is not None:
            return self.timestamp
        return 0 if member is None else math.floor(member.mtime)

    def _header(self, name: str, kind: bytes, member: tarfile.TarInfo) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.type = kind
        info.mode = member.mode & 0o7777
        info.uid, info.gid = member.uid, member.gid
        info.mtime = self._mtime(member)
        return info

    def directory(self, name: str, member: tarfile.TarInfo | None) -> None:
        """A directory without a header of its own layer gets what extraction gives it."""
        if member is None:
            info = tarfile.TarInfo(name)
            info.type = tarfile.DIRTYPE
            info.mode = _IMPLICIT_DIR_MODE
            info.mtime = self._mtime(None)
        else:
            info = self._header(name, tarfile.DIRTYPE, member)
            info.pax_headers = _xattrs(member)
        self._add(info)

    def marker(self, name: str, member: tarfile.TarInfo | None) -> None:
        """An empty `.wh.` file: mode 0 and root's, it only carries its name."""
        info = tarfile.TarInfo(name)
        info.mode = 0
        info.mtime = self._mtime(member)
        self._add(info)

    def entry(self, path: str, node: _Node) -> None:
        source = node.source or node
        member = source.member
        assert member is not None
        first = self.written.get(source)
        if first is not None:
            info = self._header(path, tarfile.LNKTYPE, member)
            info.linkname = first
            self._add(info)
            return
        self.written[source] = path
        data = None
        if member.isreg():
            info = self._header(path, tarfile.REGTYPE, member)
            info.size = member.size
            data = self.sources[source.layer]
            data.seek(member.offset_data)  # addfile reads the entry's size from here
        elif member.issym():
            info = self._header(path, tarfile.SYMTYPE, member)
            info.linkname = member.linkname
        else:
            info = self._header(path, member.type, member)
            if member.ischr() or member.isblk():
                info.devmajor, info.devminor = member.devmajor, member.devminor
        info.pax_headers = _xattrs(member)
        self._add(info, data)


# --- reading the blobs ------------------------------------------------------------------------


def _plain_copy(blob: Path, directory: Path, max_size: int) -> IO[bytes]:
    """The blob decompressed into an unlinked temporary file in `directory`, for random access."""
    fd, name = tempfile.mkstemp(dir=directory, prefix=".squash-", suffix=".tar")
    os.unlink(name)
    plain = open(fd, "w+b")  # noqa: SIM115 - the caller's ExitStack closes it
    try:
        with open(blob, "rb") as raw:
            reader = layers._decompressed(raw, max_size)
            while chunk := reader.read(layers._CHUNK):
                plain.write(chunk)
        plain.seek(0)
    except BaseException:
        plain.close()
        raise
    return plain


def squash_blobs(
    blobs: Sequence[Path],
    blob_out: Path,
    *,
    timestamp: int | None,
    on_top_of_base: bool,
    max_size: int = layers.DEFAULT_MAX_SIZE,
) -> LayerDiff:
    """Write the layer blobs `blobs` (bottom first; gzip, zstd or plain) as one gzip layer.

    `on_top_of_base`: the result goes on top of the layers below the squashed ones, so what they
    deleted must stay deleted (whiteouts, opaque directories); otherwise it is the whole image.
    `timestamp` replaces every mtime. `max_size` bounds each layer uncompressed. On failure
    `blob_out` is removed.
    """
    try:
        with contextlib.ExitStack() as stack, layers._store_errors("squashing layers"):
            squash = _Squash(on_top_of_base, max_size)
            for blob in blobs:
                plain = stack.enter_context(_plain_copy(blob, blob_out.parent, max_size))
                squash.add_layer(plain)
            with layer_tar(blob_out) as out:
                entries = squash.write(out.tar, timestamp)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(blob_out)
        raise
    return out.result(entries)

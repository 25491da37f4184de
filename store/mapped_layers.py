"""Copies of unpacked layers whose files belong to other ids: rootless --userns=nomap|auto.

A rootless container whose namespace leaves the user out (nomap) or maps another range (auto)
would see its image's files as nobody's: the kernel's idmapped mounts need privilege over the
layers' filesystem and /dev/fuse is root's, so, as containers/storage does without them, each
layer is copied once per mapping with every owner moved through it (an id the mapping leaves
out keeps its owner). The copy is kept beside the layer (layout.layer_mapped), made in a scratch
dir and renamed into place under the layer's lock, so later containers with the same mapping
(auto hands out the lowest free range, nomap always the same one) start at once.

Runs as root of the user's namespace (pod.store.unpack's "map-layer" operation).
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections.abc import Sequence
from pathlib import Path

from pod.store.layout import LAYER_DIFF
from pod.store.safepath import remove_tree
from pod.util.userns import IdMapLine

Lines = Sequence[IdMapLine]
Links = dict[tuple[int, int], Path]  # (device, inode) → the first copy of a hard-linked file


def mapping_key(uids: Lines, gids: Lines) -> str:
    """The name of a mapping's copies: a digest of its lines."""
    import hashlib  # here: a plain run imports this module but needs no mapping

    text = json.dumps([[(m.inside, m.outside, m.count) for m in maps] for maps in (uids, gids)])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def parse_lines(texts: Sequence[str]) -> tuple[IdMapLine, ...]:
    """podman's "container:host:size" strings (a record's idmappings) as map lines."""
    lines = []
    for text in texts:
        inside, outside, count = (int(part) for part in text.split(":"))
        lines.append(IdMapLine(inside, outside, count))
    return tuple(lines)


def _moved(lines: Lines, value: int) -> int:
    for line in lines:
        if line.inside <= value < line.inside + line.count:
            return line.outside + value - line.inside
    return value


def ensure_copy(diff: Path, mapped: Path, uids: Lines, gids: Lines) -> Path:
    """<mapped>/diff: `diff` with its owners moved (made now unless there). The caller holds
    the layer's lock, so a scratch dir of an earlier writer is a leftover."""
    final = mapped / LAYER_DIFF
    if final.is_dir():
        return final
    scratch = mapped.with_name(f"{mapped.name}.partial")
    if os.path.lexists(scratch):
        remove_tree(scratch)
    scratch.mkdir(parents=True)
    _copy_dir(diff, scratch / LAYER_DIFF, uids, gids, {})
    os.rename(scratch, mapped)
    return final


def _copy_dir(src: Path, dest: Path, uids: Lines, gids: Lines, links: Links) -> None:
    os.mkdir(dest, 0o700)
    for entry in os.scandir(src):
        _copy_entry(Path(entry.path), dest / entry.name, entry.stat(follow_symlinks=False),
                    uids, gids, links)  # fmt: skip
    _finish(src, dest, os.lstat(src), uids, gids)


def _copy_entry(
    src: Path, dest: Path, st: os.stat_result, uids: Lines, gids: Lines, links: Links
) -> None:
    mode = st.st_mode
    if stat.S_ISDIR(mode):
        _copy_dir(src, dest, uids, gids, links)
        return
    if st.st_nlink > 1 and not stat.S_ISDIR(mode):
        first = links.get((st.st_dev, st.st_ino))
        if first is not None:
            os.link(first, dest)
            return
        links[(st.st_dev, st.st_ino)] = dest
    if stat.S_ISREG(mode):
        import shutil  # a mapped copy is rare (--uidmap); every start reads this module

        shutil.copyfile(src, dest, follow_symlinks=False)
    elif stat.S_ISLNK(mode):
        os.symlink(os.readlink(src), dest)
    else:  # whiteouts (0/0 character devices), fifos, device nodes
        os.mknod(dest, mode, st.st_rdev)
    _finish(src, dest, st, uids, gids)


def _finish(src: Path, dest: Path, st: os.stat_result, uids: Lines, gids: Lines) -> None:
    """Owner first (chown clears setuid bits and capabilities), then extended attributes
    (overlay's opaque marks, file capabilities), mode and times."""
    os.chown(dest, _moved(uids, st.st_uid), _moved(gids, st.st_gid), follow_symlinks=False)
    link = stat.S_ISLNK(st.st_mode)
    for name in os.listxattr(src, follow_symlinks=False):
        with contextlib.suppress(OSError):  # one the namespace may not set: left out
            value = os.getxattr(src, name, follow_symlinks=False)
            os.setxattr(dest, name, value, follow_symlinks=False)
    if not link:
        os.chmod(dest, stat.S_IMODE(st.st_mode))
    os.utime(dest, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)

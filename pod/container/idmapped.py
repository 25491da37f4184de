"""Layers mounted idmapped: rootful --userns=auto's image files owned by the container's ids.

The kernel shows each lower dir through the container's maps (on-disk 0 as the mapped root),
so no layer is copied or chowned: a user namespace with those maps is made for the purpose (a
child that unshares and waits while the maps are written), each layer is bind-cloned with
MOUNT_ATTR_IDMAP set and moved to <dir>/idmapped/N, overlayfs (5.19+) takes them as lower
dirs, and they are detached at once (the overlay keeps what it uses).

Standard library only: the shim imports this module.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from pod.runtime import syscalls
from pod.runtime.process import write_id_maps
from pod.util.userns import IdMapLine


def _lines(maps: Sequence[IdMapLine]) -> list[dict[str, int]]:
    return [{"containerID": m.inside, "hostID": m.outside, "size": m.count} for m in maps]


@contextlib.contextmanager
def _userns_fd(uids: Sequence[IdMapLine], gids: Sequence[IdMapLine]) -> Iterator[int]:
    """An fd of a new user namespace with these maps (its only process ends at once)."""
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(ready_r)
            os.close(go_w)  # or the read below never sees the parent let go
            syscalls.unshare(syscalls.CLONE_NEWUSER)
            os.write(ready_w, b"1")
            os.read(go_r, 1)
            code = 0
        finally:
            os._exit(code)
    os.close(ready_w)
    os.close(go_r)
    fd = -1
    try:
        if os.read(ready_r, 1) != b"1":
            raise OSError("making a user namespace for idmapped layers failed")
        write_id_maps(pid, {"uidMappings": _lines(uids), "gidMappings": _lines(gids)})
        fd = os.open(f"/proc/{pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
    finally:
        os.close(ready_r)
        os.close(go_w)
        os.waitpid(pid, 0)
    try:
        yield fd
    finally:
        os.close(fd)


@contextlib.contextmanager
def idmapped_lowers(
    lowers: Sequence[Path], directory: Path, uids: Sequence[IdMapLine], gids: Sequence[IdMapLine]
) -> Iterator[list[Path]]:
    """`lowers` mounted idmapped under <directory>/idmapped for the overlay mount made inside
    the block; detached when it ends (the overlay holds on to them)."""
    root = directory / "idmapped"
    targets = [root / str(index) for index in range(len(lowers))]
    mounted: list[Path] = []
    try:
        with _userns_fd(uids, gids) as fd:
            for lower, target in zip(lowers, targets, strict=True):
                target.mkdir(parents=True, exist_ok=True)
                syscalls.idmapped_mount(str(lower), str(target), fd)
                mounted.append(target)
        yield targets
    finally:
        for target in mounted:
            with contextlib.suppress(OSError):
                syscalls.umount2(str(target), syscalls.MNT_DETACH)

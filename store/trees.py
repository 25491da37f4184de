"""Removing directory trees of the store, rootless ones too: the files a container or a build
step made are owned by subordinate ids, which only a process in the user's namespace may
remove (the pod.store.unpack worker does it). Kept apart from pod.store.layers so that `pod rm`
and a volume's removal do not import the layer machinery (tarfile, hashlib, threads)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from pod.store import safepath

WORKER_MODULE = "pod.store.unpack"  # the store's user-namespace worker: unpack, remove, ...


def remove_trees(paths: Sequence[Path], *, rootless: bool) -> None:
    """Remove trees; rootless files owned by subordinate ids are removed from the namespace."""
    paths = [path for path in paths if os.path.lexists(path)]
    try:
        for path in paths:
            safepath.remove_tree(path)
    except PermissionError:
        if not rootless:
            raise
        from pod.util.userns import run_in_userns

        ops = [{"op": "remove", "path": str(path)} for path in paths if os.path.lexists(path)]
        run_in_userns(WORKER_MODULE, {"ops": ops})

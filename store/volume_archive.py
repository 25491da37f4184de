"""`volume export` and `volume import`: a volume's files as a plain tar, as podman writes it.

Export walks the volume's directory without following a symlink and writes its entries with
their owners, modes and times, names relative to the volume (`d/`, `d/f`). Import is untrusted
input: it goes through the layer extractor (every path resolved inside the volume, sizes
bounded). Rootless, both run as root of the user's namespace (pod.store.unpack), where the
files' subordinate owners are the container's ids.
"""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

from pod.store import layers, trees
from pod.util.userns import run_in_userns


def write_tar(data_dir: Path, out_path: Path) -> None:
    """Write the tree under `data_dir` as an uncompressed tar to `out_path`."""
    with open(out_path, "wb") as out, tarfile.open(fileobj=out, mode="w|") as tar:
        for directory, dirs, files in os.walk(data_dir, followlinks=False):
            dirs.sort()
            for name in [*dirs, *sorted(files)]:
                path = Path(directory, name)
                info = tar.gettarinfo(str(path), arcname=str(path.relative_to(data_dir)))
                info.uname = info.gname = ""  # numeric owners only, as podman writes them
                if info.isreg():
                    with open(path, "rb") as handle:
                        tar.addfile(info, handle)
                else:
                    tar.addfile(info)


def export_volume(data_dir: Path, out_path: Path, *, rootless: bool) -> None:
    """The volume's files into the tar file `out_path` (which the caller owns)."""
    if not rootless:
        write_tar(data_dir, out_path)
        return
    op = {"op": "volume-export", "data": str(data_dir), "out": str(out_path)}
    run_in_userns(trees.WORKER_MODULE, {"ops": [op]})


def import_volume(archive: Path, data_dir: Path, *, rootless: bool) -> None:
    """Unpack the tar (plain or compressed) `archive` into the volume's directory."""
    if not rootless:
        layers.extract_layer(archive, data_dir, rootless=False)
        return
    op = {"op": "volume-import", "archive": str(archive), "data": str(data_dir)}
    run_in_userns(trees.WORKER_MODULE, {"ops": [op]})

"""The file-step worker, run as `python -m pod.builder.fs_worker` (rootless: as root of the user's
namespace, so files get container owners): COPY, ADD and WORKDIR write into the stage's rootfs.

It mounts the stage's layers with a fresh upper dir in a mount namespace of its own (gone when
it exits: nothing is left mounted on the host), optionally a second read-only view of another
stage for COPY --from, and copies with pod.builder.copier, which resolves every destination
inside the rootfs. The request (JSON on stdin):
  {"layers": [...top first], "directory": step dir, "rootless": bool,
   "source_layers": [...] or null, "ops": [op, ...]}
  op: {"op": "copy", "context": dir or null (null: the source stage), "ignore": [patterns],
       "sources": [patterns], "dest", "workdir", "owner": [uid, gid] or null, "chmod": int or
       null, "extract": bool (ADD: unpack local archives)}
      {"op": "mkdir", "path", "owner": [uid, gid] or null}
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from pod.builder.context import BuildContext, IgnoreMatcher
from pod.builder.copier import copy_sources, extract_archive, make_dirs
from pod.container import rootfs as rootfs_mount
from pod.errors import PodError
from pod.util.userns import worker_main


def _mounted(layers: list[str], directory: Path, rootless: bool) -> Path:
    directory.mkdir(exist_ok=True)
    driver = rootfs_mount.mount_layers(
        [Path(p) for p in layers], directory, driver=rootfs_mount.OVERLAY, rootless=rootless
    )
    if driver == rootfs_mount.VFS:
        raise PodError("pod build needs overlayfs (native or fuse-overlayfs) for its layers")
    return rootfs_mount.merged_dir(directory)


def _owner(op: dict[str, Any]) -> tuple[int, int] | None:
    return tuple(op["owner"]) if op.get("owner") else None


def _copy(root: Path, source_root: Path | None, op: dict[str, Any]) -> None:
    if op.get("context"):
        context = BuildContext(Path(op["context"]), IgnoreMatcher(op.get("ignore") or []))
    else:
        assert source_root is not None, "copy from a stage without its layers"
        context = BuildContext(source_root, IgnoreMatcher([]))
    sources = [source for pattern in op["sources"] for source in context.sources(pattern)]
    owner = _owner(op)
    if op.get("extract"):
        unpacked = [
            source
            for source in sources
            if source.path.is_file()
            and extract_archive(root, source.path, op["dest"], workdir=op["workdir"], owner=owner)
        ]
        sources = [source for source in sources if source not in unpacked]
        if not sources:
            return
    copy_sources(
        root,
        sources,
        op["dest"],
        workdir=op["workdir"],
        owner=owner,
        chmod=op.get("chmod"),
        matcher=context.matcher,
    )


def handle(request: dict[str, Any]) -> dict[str, Any]:
    rootless = bool(request["rootless"])
    directory = Path(request["directory"])
    rootfs_mount.private_mount_namespace()
    root = _mounted(request["layers"], directory / "target", rootless)
    source_root = None
    if request.get("source_layers") is not None:
        source_root = _mounted(request["source_layers"], directory / "source", rootless)
    for op in request["ops"]:
        if op["op"] == "copy":
            _copy(root, source_root, op)
        elif op["op"] == "mkdir":
            make_dirs(root, op["path"], owner=_owner(op))
        else:
            raise PodError(f"build file worker: unknown operation {op['op']!r}")
    return {}


if __name__ == "__main__":
    worker_main(handle, sys.argv[1:])

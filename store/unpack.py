"""The unpack worker, run as `python -m pod.store.unpack` inside the user's user namespace.

Rootless pod cannot own files as the image's users; as root of a namespace holding the user's
subordinate ids it can. The request (JSON on stdin) is a list of operations:
  {"op": "unpack", "blob", "dest", "diff_id", "max_size"}  → ExtractResult fields
  {"op": "remove", "path"}                                  → {}
  {"op": "chown", "path", "uid", "gid"[, "recursive"]}      → {}
  {"op": "diff", "upper", "blob_out", "timestamp", "exclude", "opaque_xattr", "prune"}
                                                            → LayerDiff fields
  {"op": "volume-export", "data", "out"}                    → {}
  {"op": "volume-import", "archive", "data"}                → {}
  {"op": "map-layer", "diff", "mapped", "uids", "gids"}     → {"path"}  (store.mapped_layers)
As a session worker (`--session`) it answers one "unpack" (with "rootless": rootful pulls use it
too, without a namespace, to unpack on another core) reading the blob from the fd sent with the
request: a pull unpacks a layer while it downloads (store.layers.ensure_layer's feed).
Start-up stays small: the standard library, zstandard (zstd layers only), isal (gzip) and pod's
store modules.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import IO, Any

from pod.errors import PodError
from pod.store.layer_diff import write_layer
from pod.store.layers import extract_layer, unpack_layer
from pod.store.mapped_layers import ensure_copy
from pod.store.safepath import chown_tree, remove_tree
from pod.store.volume_archive import write_tar
from pod.util.records import asdict
from pod.util.userns import SESSION_FLAG, IdMapLine, serve_session, worker_main


def _run(op: dict[str, Any], stream: IO[bytes] | None = None) -> dict[str, Any]:
    if op["op"] == "unpack":
        blob, dest = Path(op["blob"]), Path(op["dest"])
        rootless = op.get("rootless", True)
        result = unpack_layer(
            blob, dest, op["diff_id"], rootless=rootless, max_size=op["max_size"], stream=stream
        )
        return asdict(result)
    if op["op"] == "diff":
        diff = write_layer(
            Path(op["upper"]),
            Path(op["blob_out"]),
            timestamp=op["timestamp"],
            exclude=op["exclude"],
            opaque_xattr=op["opaque_xattr"],
            prune=op.get("prune", False),
        )
        return asdict(diff)
    if op["op"] == "chown":  # a build cache dir, or a -v SRC:DST:U, for a container user
        if op.get("recursive"):
            chown_tree(Path(op["path"]), op["uid"], op["gid"])
        else:
            os.chown(op["path"], op["uid"], op["gid"])
        return {}
    if op["op"] == "remove":
        remove_tree(Path(op["path"]))
        return {}
    if op["op"] == "volume-export":
        write_tar(Path(op["data"]), Path(op["out"]))
        return {}
    if op["op"] == "volume-import":
        extract_layer(Path(op["archive"]), Path(op["data"]), rootless=True)
        return {}
    if op["op"] == "map-layer":
        uids, gids = (tuple(IdMapLine(*line) for line in op[kind]) for kind in ("uids", "gids"))
        path = ensure_copy(Path(op["diff"]), Path(op["mapped"]), uids, gids)
        return {"path": str(path)}
    raise PodError(f"unpack worker: unknown operation {op['op']!r}")


def handle(request: dict[str, Any]) -> list[dict[str, Any]]:
    return [_run(op) for op in request["ops"]]


def handle_streamed(request: dict[str, Any], fds: list[int]) -> list[dict[str, Any]]:
    """A session's request: one unpack reading the blob from the fd sent with it."""
    (op,) = request["ops"]
    (fd,) = fds
    with open(fd, "rb", buffering=1 << 20) as stream:
        return [_run(op, stream)]


if __name__ == "__main__":
    if SESSION_FLAG in sys.argv:
        serve_session(handle_streamed, sys.argv[1:])
    else:
        worker_main(handle, sys.argv[1:])

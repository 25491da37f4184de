"""A container's upper dir becomes an image layer (build steps and `pod commit`).

The upper dir is written once as a reproducible gzip tar into the blob store and then renamed
into place as the unpacked layer, so nothing is copied or unpacked again. Mount points the
runtime created for a step (/etc/hosts, /proc, a RUN --mount target, ...) are left out when
they are all the step left there, as buildah does.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
from collections.abc import Iterable, Sequence
from pathlib import Path

from pod import manifest as mf
from pod.image_writer import ImageLayer
from pod.passwd import LayerView
from pod.store import layers
from pod.store.blobs import BlobStore
from pod.store.layer_diff import diff_upper
from pod.store.layout import Layout
from pod.store.lock import fsync_dir

SCRATCH_PREFIX = "layer-"


def remove_stale_scratch(layout: Layout) -> None:
    """Blobs being written by processes that were killed (`layer-<pid>-...`)."""
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(layout.tmp):
            pid = entry.name.removeprefix(SCRATCH_PREFIX).partition("-")[0]
            mine = entry.name.startswith(SCRATCH_PREFIX) and pid.isdigit()
            if mine and not os.path.exists(f"/proc/{pid}"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)


def created_mount_points(layer_dirs: Sequence[Path], destinations: Iterable[str]) -> list[str]:
    """Mount destinations (and their parents) the image did not have: relative paths."""
    view = LayerView(layer_dirs)
    created: set[str] = set()
    for destination in destinations:
        path = posixpath.normpath("/" + destination)
        while path != "/" and path not in created:
            if view.exists(path):
                break
            created.add(path)
            path = posixpath.dirname(path)
    return sorted(path.lstrip("/") for path in created)


def commit_upper(
    layout: Layout,
    upper: Path,
    parent: Sequence[ImageLayer],
    *,
    rootless: bool,
    timestamp: int | None,
    exclude: Sequence[str] = (),
    keep_upper: bool = False,
) -> ImageLayer | None:
    """The layer `upper` makes on top of `parent`; None when it changes nothing.

    `upper` is consumed (moved into the store as the layer, or removed when empty) unless
    `keep_upper` (`pod commit` of a container that lives on): then the layer is unpacked from
    the blob just written.
    """
    blobs = BlobStore(layout)
    blobs.ensure()
    layout.tmp.mkdir(parents=True, exist_ok=True)
    scratch = layout.tmp / f"{SCRATCH_PREFIX}{os.getpid()}-{os.urandom(4).hex()}.tar.gz"
    try:
        diff = diff_upper(upper, scratch, timestamp=timestamp, exclude=exclude, rootless=rootless)
        if diff.empty:
            if not keep_upper:
                layers.remove_trees([upper], rootless=rootless)
            return None
        target = blobs.path(diff.digest)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(scratch, target)
        fsync_dir(target.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            scratch.unlink()
    chain = layers.chain_ids([*(layer.diff_id for layer in parent), diff.diff_id])[-1]
    parent_chain = parent[-1].chain_id if parent else None
    if keep_upper:
        info = layers.ensure_layer(
            layout, chain, parent_chain, blobs.path(diff.digest), diff.diff_id, rootless=rootless
        )
    else:
        info = layers.adopt_layer(
            layout, chain, parent_chain, upper, diff.diff_id, diff.size, rootless=rootless
        )
    return ImageLayer(
        chain, diff.diff_id, diff.digest, mf.OCI_LAYER_GZIP, diff.blob_size, info.size
    )

"""A container's upper dir becomes an image layer (build steps and `pod commit`).

The upper dir is written once as a reproducible gzip tar into the blob store and then renamed
into place as the unpacked layer, so nothing is copied or unpacked again. Mount points the
runtime created for a step (/etc/hosts, /proc, a RUN --mount target, ...) are left out when
they are all the step left there, as buildah does.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Sequence
from pathlib import Path

from pod.container.user import LayerView
from pod.image import manifest as mf
from pod.image.writer import ImageLayer
from pod.store import layers, trees
from pod.store.blobs import BlobStore
from pod.store.layer_diff import diff_upper
from pod.store.layout import Layout


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
    with blobs.scratch(".tar.gz") as scratch:
        diff = diff_upper(
            upper,
            scratch,
            timestamp=timestamp,
            exclude=exclude,
            rootless=rootless,
            prune=not keep_upper,
        )
        if diff.empty:
            if not keep_upper:
                trees.remove_trees([upper], rootless=rootless)
            return None
        blobs.keep(scratch, diff.digest)
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


def squash(
    layout: Layout,
    image_layers: Sequence[ImageLayer],
    base: Sequence[ImageLayer],
    *,
    rootless: bool,
    timestamp: int | None,
) -> ImageLayer | None:
    """`image_layers` merged into one layer on top of `base` (None when they are none).

    With no base the result is the whole filesystem (`--squash-all`, `commit --squash`); on a
    base it keeps the whiteouts that hide the base's files.
    """
    from pod.store.layer_squash import squash_blobs

    if not image_layers:
        return None
    blobs = BlobStore(layout)
    with blobs.scratch(".tar.gz") as scratch:
        diff = squash_blobs(
            [blobs.path(layer.digest) for layer in image_layers],
            scratch,
            timestamp=timestamp,
            on_top_of_base=bool(base),
        )
        blobs.keep(scratch, diff.digest)
    chain = layers.chain_ids([*(layer.diff_id for layer in base), diff.diff_id])[-1]
    info = layers.ensure_layer(
        layout,
        chain,
        base[-1].chain_id if base else None,
        blobs.path(diff.digest),
        diff.diff_id,
        rootless=rootless,
    )
    return ImageLayer(
        chain, diff.diff_id, diff.digest, mf.OCI_LAYER_GZIP, diff.blob_size, info.size
    )


def squashed_history(history: list[dict], kept: int) -> list[dict]:
    """History after a squash: the first `kept` layer-making entries keep their layers, every
    later one is marked empty except the last, which now carries the squashed layer."""
    result: list[dict] = []
    seen, last = 0, None
    for entry in history:
        entry = dict(entry)
        if not entry.get("empty_layer"):
            seen += 1
            if seen > kept:
                entry["empty_layer"] = True
                last = len(result)
        result.append(entry)
    if last is not None:
        result[last].pop("empty_layer")
    return result

"""A stored image as a writer wants it: its layers kept, decompressed or compressed, and a
manifest that matches (the stored one when nothing changed, so the digest stays).

docker-archive carries uncompressed layers; the OCI formats compress layers unless told not to
(`save --uncompressed`), as podman does; `dir:` and `oci:` pushes keep the blobs as stored. A
Docker schema2 manifest cannot name a zstd layer: those are decompressed for it.
"""

from __future__ import annotations

import contextlib
import hashlib
import zlib
from pathlib import Path

from pod.image import manifest as mf
from pod.image.archive_model import OutImage, OutLayer
from pod.image.writer import ImageLayer, canonical_json, image_layers, manifest_document
from pod.store.blobs import CHUNK, BlobStore
from pod.store.images import ImageRecord
from pod.store.layout import Layout
from pod.util.records import replace

KEEP = "keep"
PLAIN = "plain"
COMPRESSED = "compressed"
OCI = "oci"
DOCKER = "docker"
_PLAIN_TYPES = (mf.OCI_LAYER_TAR, "application/vnd.docker.image.rootfs.diff.tar")
_GZIP_LEVEL = 6


def _is_plain(layer: ImageLayer, path: Path) -> bool:
    if layer.media_type in _PLAIN_TYPES:
        return True
    with open(path, "rb") as handle:
        head = handle.read(4)
    return not (head.startswith(b"\x1f\x8b") or head == b"\x28\xb5\x2f\xfd")


def _is_zstd(layer: ImageLayer) -> bool:
    return layer.media_type == mf.OCI_LAYER_ZSTD


def _gzip(source: Path, target: Path) -> tuple[str, int]:
    """Compress `source` into `target`; (digest, size) of the result."""
    compressor = zlib.compressobj(_GZIP_LEVEL, zlib.DEFLATED, 31)
    hasher, size = hashlib.sha256(), 0
    with open(source, "rb") as src, open(target, "wb") as out:

        def put(data: bytes) -> None:
            nonlocal size
            if data:
                hasher.update(data)
                size += len(data)
                out.write(data)

        while data := src.read(CHUNK):
            put(compressor.compress(data))
        put(compressor.flush())
    return "sha256:" + hasher.hexdigest(), size


def _out_layer(
    blobs: BlobStore,
    layer: ImageLayer,
    encoding: str,
    manifest_format: str | None,
    scratch: contextlib.ExitStack,
) -> OutLayer:
    path = blobs.path(layer.digest)
    kept = OutLayer(layer.digest, layer.blob_size, layer.media_type, layer.diff_id, path)
    plain = _is_plain(layer, path)
    if encoding == PLAIN or (manifest_format == DOCKER and _is_zstd(layer)):
        if plain:
            return replace(kept, media_type=mf.OCI_LAYER_TAR)
        return OutLayer(layer.diff_id, layer.size, mf.OCI_LAYER_TAR, layer.diff_id, path, True)
    if encoding == COMPRESSED and plain:
        target = scratch.enter_context(blobs.scratch(".tar.gz"))
        digest, size = _gzip(path, target)
        return OutLayer(digest, size, mf.OCI_LAYER_GZIP, layer.diff_id, target)
    return kept


def outgoing_image(
    layout: Layout,
    record: ImageRecord,
    scratch: contextlib.ExitStack,
    *,
    encoding: str = KEEP,
    manifest_format: str | None = None,
) -> OutImage:
    """`record` with its layers in `encoding` and its manifest in `manifest_format` (None:
    as stored). Compressed copies are scratch files that live as long as `scratch`."""
    blobs = BlobStore(layout)
    config = blobs.read(record.config_digest)
    stored = image_layers(layout, record)
    layers = [_out_layer(blobs, layer, encoding, manifest_format, scratch) for layer in stored]
    wanted = {OCI: mf.OCI_MANIFEST, DOCKER: mf.DOCKER_MANIFEST}.get(manifest_format or "")
    unchanged = all(out.digest == layer.digest for out, layer in zip(layers, stored, strict=True))
    if unchanged and wanted in (None, record.manifest_media_type):
        manifest = blobs.read(record.manifest_digest)
        media_type = record.manifest_media_type
    else:
        image_format = manifest_format or (
            DOCKER if record.manifest_media_type == mf.DOCKER_MANIFEST else OCI
        )
        described = [
            replace(layer, digest=out.digest, media_type=out.media_type, blob_size=out.size)
            for out, layer in zip(layers, stored, strict=True)
        ]
        document = manifest_document(record.config_digest, len(config), described, image_format)
        manifest, media_type = canonical_json(document), document["mediaType"]
    return OutImage(
        image_id=record.id,
        names=list(record.names),
        config=config,
        config_digest=record.config_digest,
        layers=layers,
        manifest=manifest,
        manifest_media_type=media_type,
        manifest_digest="sha256:" + hashlib.sha256(manifest).hexdigest(),
    )

"""Images pod makes itself (`build`, `commit`): layers + config → config blob, manifest, record.

The config and manifest are serialized once, compactly and with sorted keys, so the same
inputs always give the same bytes, hence the same image ID and manifest digest (what
`build --timestamp` promises). Layer blobs must already be in the store.
"""

from __future__ import annotations

import json
import time

from pod.errors import PodError
from pod.image import manifest as mf
from pod.store import layers
from pod.store.blobs import BlobStore, load_json_blob
from pod.store.images import ImageRecord, ImageStore
from pod.store.layout import Layout
from pod.util.records import dataclass

FORMATS = ("oci", "docker")
_TO_DOCKER = {
    mf.OCI_LAYER_GZIP: mf.DOCKER_LAYER_GZIP,
    mf.OCI_LAYER_TAR: "application/vnd.docker.image.rootfs.diff.tar",
}
_TO_OCI = {docker: oci for oci, docker in _TO_DOCKER.items()}


@dataclass(frozen=True)
class ImageLayer:
    """One layer of an image being written: unpacked as `chain_id`, carried by blob `digest`."""

    chain_id: str
    diff_id: str
    digest: str
    media_type: str
    blob_size: int
    size: int


def canonical_json(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def image_layers(layout: Layout, record: ImageRecord) -> list[ImageLayer]:
    """The layers of a stored image, with media types and sizes from its manifest."""
    blobs = BlobStore(layout)
    manifest = mf.parse_manifest(blobs.read(record.manifest_digest), record.manifest_media_type)
    diff_ids = mf.diff_ids(load_json_blob(blobs, record.config_digest))
    out = []
    for chain_id, diff_id, descriptor in zip(
        record.chain_ids, diff_ids, manifest.layers, strict=True
    ):
        size = layers.layer_size(layout, chain_id)
        out.append(
            ImageLayer(
                chain_id, diff_id, descriptor.digest, descriptor.media_type, descriptor.size, size
            )
        )
    return out


def _media_type(layer: ImageLayer, image_format: str) -> str:
    if image_format == "oci":
        return _TO_OCI.get(layer.media_type, layer.media_type)
    if layer.media_type in _TO_DOCKER.values():
        return layer.media_type
    if layer.media_type not in _TO_DOCKER:
        raise PodError(
            f"the docker image format cannot carry a layer of type {layer.media_type}: "
            "use --format oci"
        )
    return _TO_DOCKER[layer.media_type]


def manifest_document(
    config_digest: str, config_size: int, image_layers: list[ImageLayer], image_format: str
) -> dict:
    docker = image_format == "docker"
    document: dict = {
        "schemaVersion": 2,
        "mediaType": mf.DOCKER_MANIFEST if docker else mf.OCI_MANIFEST,
        "config": {
            "mediaType": mf.DOCKER_CONFIG if docker else mf.OCI_CONFIG,
            "digest": config_digest,
            "size": config_size,
        },
        "layers": [
            {
                "mediaType": _media_type(layer, image_format),
                "digest": layer.digest,
                "size": layer.blob_size,
            }
            for layer in image_layers
        ],
    }
    return document


def write_image(
    layout: Layout,
    image_layers: list[ImageLayer],
    config: dict,
    *,
    names: list[str],
    image_format: str = "oci",
    annotations: dict[str, str] | None = None,
) -> ImageRecord:
    """Store config and manifest blobs and record the image under `names` (moved off others)."""
    if image_format not in FORMATS:
        raise PodError(f'unrecognized image type "{image_format}": use oci or docker')
    blobs = BlobStore(layout)
    blobs.ensure()
    config = {**config, "rootfs": {"type": "layers", "diff_ids": [x.diff_id for x in image_layers]}}
    if image_format == "docker":  # Docker's config also records the build container's config
        config["container_config"] = config.get("config", {})
    config_bytes = canonical_json(config)
    config_digest = blobs.put_bytes(config_bytes)
    document = manifest_document(config_digest, len(config_bytes), image_layers, image_format)
    if annotations and image_format == "oci":
        document["annotations"] = dict(annotations)
    manifest_bytes = canonical_json(document)
    manifest_digest = blobs.put_bytes(manifest_bytes)
    record = ImageRecord(
        id=config_digest.removeprefix("sha256:"),
        manifest_digest=manifest_digest,
        manifest_media_type=document["mediaType"],
        manifest_size=len(manifest_bytes),
        config_digest=config_digest,
        layer_digests=[layer.digest for layer in image_layers],
        chain_ids=[layer.chain_id for layer in image_layers],
        size=sum(layer.size for layer in image_layers),
        created=str(config.get("created") or ""),
        names=list(names),
        added=time.time(),
    )

    def complete() -> bool:
        return blobs.has(config_digest) and all(
            blobs.has(layer.digest) and layers.layer_exists(layout, layer.chain_id)
            for layer in image_layers
        )

    stored = ImageStore(layout).add(record, complete)
    if stored is None:
        raise PodError("a layer of the new image was removed by another process: build again")
    return stored

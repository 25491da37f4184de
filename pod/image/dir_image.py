"""The `dir:` transport (skopeo's directory format, podman's `save --format docker-dir`).

A directory holds `version`, `manifest.json` (kept byte for byte: it names the image's digest)
and every blob as a file named by its hex digest; with a manifest list, each instance manifest
is `<hex>.manifest.json`. Reading checks the config and manifests against their digests; layer
content is verified when stored (pod.image.ingest).
"""

from __future__ import annotations

import hashlib

from pod.errors import PodError, UnsafeContentError
from pod.image import manifest as mf
from pod.image.archive_files import Files
from pod.image.archive_model import OutImage, SourceImage, SourceLayer, diff_ids_of
from pod.image.output import Output

VERSION_FILE = "version"
MANIFEST_FILE = "manifest.json"
VERSION = b"Directory Transport Version: 1.1\n"
_MAX_NESTING = 4


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _blob_name(files: Files, digest: str) -> str:
    """Version 1.1 names blobs by their hex digest; 1.0 gave layers a `.tar` suffix."""
    hexdigest = digest.removeprefix("sha256:")
    return hexdigest if files.exists(hexdigest) else f"{hexdigest}.tar"


def _checked(data: bytes, found: mf.Descriptor, what: str, where: str) -> bytes:
    if _sha256(data) != found.digest or len(data) != found.size:
        raise UnsafeContentError(f"{where}: {what} does not match its digest {found.digest}")
    return data


def read_image(files: Files, platform: mf.Platform) -> SourceImage:
    where = files.description
    version = files.metadata(VERSION_FILE, limit=256)
    if not version.startswith(b"Directory Transport Version: 1."):
        raise PodError(f"{where} is not a dir: image (its version file says {version[:40]!r})")
    data = files.metadata(MANIFEST_FILE)
    media_type = mf.media_type_of(data, None)
    digest = _sha256(data)
    for _ in range(_MAX_NESTING):
        if media_type not in mf.INDEX_TYPES:
            break
        found = mf.select_platform(data, platform)
        name = f"{found.digest.removeprefix('sha256:')}.manifest.json"
        data = _checked(files.metadata(name), found, "instance manifest", where)
        media_type, digest = mf.media_type_of(data, found.media_type), found.digest
    if media_type not in mf.MANIFEST_TYPES:
        raise PodError(f"{where}: unsupported manifest media type {media_type}")
    manifest = mf.parse_manifest(data, media_type)
    config = files.metadata(_blob_name(files, manifest.config.digest))
    _checked(config, manifest.config, "the config", where)
    ids = diff_ids_of(mf.load_document(config, where), len(manifest.layers), where)
    layers = []
    for layer, diff_id in zip(manifest.layers, ids, strict=True):
        member = files.blob(_blob_name(files, layer.digest))
        if member.size != layer.size:
            raise UnsafeContentError(
                f"{where}: layer {layer.digest} has {member.size} bytes, "
                f"the manifest says {layer.size}"
            )
        layers.append(SourceLayer(member, diff_id, layer.digest, layer.media_type))
    return SourceImage([], config, manifest.config.digest, layers, data, media_type, digest)


def write_image(output: Output, image: OutImage) -> None:
    """Blobs first, the manifest last (its presence means the image is complete)."""
    for layer in image.layers:
        name = layer.digest.removeprefix("sha256:")
        if layer.decompress:
            output.add_chunks(name, layer.size, layer.chunks())
        else:
            output.add_file(name, layer.path)
    output.add_bytes(image.config_digest.removeprefix("sha256:"), image.config)
    output.add_bytes(VERSION_FILE, VERSION)
    output.add_bytes(MANIFEST_FILE, image.manifest)

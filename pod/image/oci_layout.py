"""OCI image layouts (`oci:DIR[:REF]`, and in a tar, `oci-archive:FILE[:REF]`).

index.json names manifests (and image indexes, resolved to the wanted platform) by the
`org.opencontainers.image.ref.name` annotation; everything is a blob under blobs/<alg>/<hex>.
Reading checks each manifest and config against its descriptor's digest and size before it is
used; layer content is verified when stored (pod.image.ingest).
"""

from __future__ import annotations

import hashlib
import json

from pod.errors import InvalidReferenceError, PodError, UnsafeContentError
from pod.image import manifest as mf
from pod.image import reference
from pod.image.archive_files import Files
from pod.image.archive_model import (
    MAX_IMAGES,
    OutImage,
    SourceImage,
    SourceLayer,
    diff_ids_of,
)
from pod.image.output import Output

LAYOUT_FILE = "oci-layout"
INDEX_FILE = "index.json"
REF_NAME = "org.opencontainers.image.ref.name"
CONTAINERD_NAME = "io.containerd.image.name"
LAYOUT_VERSION = b'{"imageLayoutVersion":"1.0.0"}'
_MAX_NESTING = 4


def is_layout(files: Files) -> bool:
    return files.exists(LAYOUT_FILE) and files.exists(INDEX_FILE)


def blob_name(digest: str) -> str:
    algorithm, _, hexdigest = digest.partition(":")
    return f"blobs/{algorithm}/{hexdigest}"


def _verified(files: Files, found: mf.Descriptor, what: str) -> bytes:
    """A small blob (manifest, index, config), checked against its descriptor."""
    data = files.metadata(blob_name(found.digest))
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    if digest != found.digest or len(data) != found.size:
        raise UnsafeContentError(
            f"{files.description}: {what} {found.digest} does not match its content "
            f"({digest}, {len(data)} bytes where {found.size} were declared)"
        )
    return data


def _check_layout(files: Files) -> list[dict]:
    """The index's entries (descriptor objects), once oci-layout says this is a layout."""
    try:
        layout = mf.load_document(files.metadata(LAYOUT_FILE), f"{files.description}: oci-layout")
    except PodError:
        raise PodError(f"{files.description} is not an OCI image layout (no oci-layout)") from None
    if layout.get("imageLayoutVersion") != "1.0.0":
        raise UnsafeContentError(f"{files.description}: unsupported OCI layout version")
    index = mf.load_document(files.metadata(INDEX_FILE), f"{files.description}: index.json")
    entries = index.get("manifests")
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise UnsafeContentError(f"{files.description}: index.json has no manifests list")
    if len(entries) > MAX_IMAGES:
        raise UnsafeContentError(f"{files.description}: index.json lists over {MAX_IMAGES} images")
    return entries


def entry_name(entry: dict) -> str:
    """The name an index entry gives its image ("" when none): containerd's, else the OCI one."""
    annotations = entry.get("annotations")
    if not isinstance(annotations, dict):
        return ""
    for key in (CONTAINERD_NAME, REF_NAME):
        value = annotations.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def _ref_name(entry: dict) -> str:
    annotations = entry.get("annotations")
    value = annotations.get(REF_NAME) if isinstance(annotations, dict) else None
    return value if isinstance(value, str) else ""


def read_images(
    files: Files, ref_name: str | None, platform: mf.Platform, *, every: bool = False
) -> list[SourceImage]:
    """The image `ref_name` names in the layout; with no name, the only one (or, with `every`,
    all of them, as `load` takes them). Each image is named by its index annotation."""
    entries = _check_layout(files)
    if ref_name:
        entries = [e for e in entries if _ref_name(e) == ref_name]
        if not entries:
            raise PodError(f"{files.description}: no descriptor found for reference {ref_name!r}")
        entries = entries[:1]
    elif not entries:
        raise PodError(f"{files.description}: the index lists no image")
    elif len(entries) > 1 and not every:
        raise PodError(
            f"{files.description} holds {len(entries)} images: choose one with :REF "
            f"(the ref names: {', '.join(sorted(filter(None, map(_ref_name, entries))))})"
        )
    return [_image(files, entry, platform) for entry in entries]


def _image(files: Files, entry: dict, platform: mf.Platform) -> SourceImage:
    found = mf.descriptor(entry, f"{files.description}: index entry")
    data = _verified(files, found, "manifest")
    media_type = mf.media_type_of(data, found.media_type)
    for _ in range(_MAX_NESTING):
        if media_type not in mf.INDEX_TYPES:
            break
        found = mf.select_platform(data, platform)
        data = _verified(files, found, "manifest")
        media_type = mf.media_type_of(data, found.media_type)
    if media_type not in mf.MANIFEST_TYPES:
        raise PodError(f"{files.description}: unsupported manifest media type {media_type}")
    manifest = mf.parse_manifest(data, media_type)
    config = _verified(files, manifest.config, "config")
    where = f"{files.description}: image {found.digest}"
    diff_ids = diff_ids_of(mf.load_document(config, where), len(manifest.layers), where)
    layers = []
    for layer, diff_id in zip(manifest.layers, diff_ids, strict=True):
        member = files.blob(blob_name(layer.digest))
        if member.size != layer.size:
            raise UnsafeContentError(
                f"{where}: layer {layer.digest} has {member.size} bytes, "
                f"the manifest says {layer.size}"
            )
        layers.append(SourceLayer(member, diff_id, layer.digest, layer.media_type))
    return SourceImage(
        names=_names(entry_name(entry), files.description),
        config=config,
        config_digest=manifest.config.digest,
        layers=layers,
        manifest=data,
        manifest_media_type=media_type,
        manifest_digest=found.digest,
    )


def _names(name: str, where: str) -> list[str]:
    """An annotated name as podman normalizes it (a short name is under localhost/)."""
    if not name:
        return []
    try:
        return [reference.qualify_local(name)]
    except (InvalidReferenceError, PodError) as err:
        raise UnsafeContentError(f"{where}: invalid image name {name!r}: {err}") from None


# --- writing ----------------------------------------------------------------------------------


def write_layout(
    output: Output, images: list[tuple[OutImage, str | None]], index: list[dict] | None = None
) -> None:
    """Blobs, then index.json (the entries of `index` kept unless a new image takes their ref
    name), then oci-layout: a reader never sees an index naming a missing blob."""
    entries = list(index or [])
    output.add_dir("blobs")
    output.add_dir("blobs/sha256")
    for image, ref_name in images:
        for layer in image.layers:
            name = blob_name(layer.digest)
            if output.has(name):
                continue
            if layer.decompress:
                output.add_chunks(name, layer.size, layer.chunks())
            else:
                output.add_file(name, layer.path)
        for digest, data in (
            (image.config_digest, image.config),
            (image.manifest_digest, image.manifest),
        ):
            if not output.has(blob_name(digest)):
                output.add_bytes(blob_name(digest), data)
        entry: dict = {
            "mediaType": image.manifest_media_type,
            "digest": image.manifest_digest,
            "size": len(image.manifest),
        }
        if ref_name:
            entries = [e for e in entries if _ref_name(e) != ref_name]
            entry["annotations"] = {REF_NAME: ref_name}
        entries.append(entry)
    document = {"schemaVersion": 2, "manifests": entries}
    output.add_bytes(INDEX_FILE, json.dumps(document, separators=(",", ":")).encode())
    output.add_bytes(LAYOUT_FILE, LAYOUT_VERSION)


def existing_index(files: Files) -> list[dict]:
    """The entries of a layout being added to (empty for a new one)."""
    if not files.exists(INDEX_FILE):
        return []
    return _check_layout(files)

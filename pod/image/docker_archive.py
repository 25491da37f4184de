"""The docker-archive format (`docker save`, `podman save`): a tar with manifest.json.

manifest.json lists each image's config file, its layer files (uncompressed tars) and its
RepoTags; `repositories` and one legacy directory per layer (VERSION, json, layer.tar as a link
to the layer) are written as docker and podman write them, for older readers. Reading trusts
none of it: paths are resolved inside the archive (archive_files), shapes are checked, and the
layer content is verified against the config's diff ids when it is stored (pod.image.ingest).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pod.errors import InvalidReferenceError, PodError, UnsafeContentError
from pod.image import manifest as mf
from pod.image import transports
from pod.image.archive_files import Files
from pod.image.archive_model import (
    MAX_IMAGES,
    OutImage,
    SourceImage,
    SourceLayer,
    diff_ids_of,
)
from pod.image.output import Output
from pod.util import records
from pod.util.records import dataclass

MANIFEST_FILE = "manifest.json"
REPOSITORIES_FILE = "repositories"
_LEGACY_TOP_FIELDS = (
    "architecture",
    "config",
    "container",
    "container_config",
    "created",
    "docker_version",
    "os",
)


def is_docker_archive(files: Files) -> bool:
    return files.exists(MANIFEST_FILE)


def _entries(files: Files) -> list[dict[str, Any]]:
    where = f"{files.description}: {MANIFEST_FILE}"
    document = mf.load_json(files.metadata(MANIFEST_FILE), where)
    if not isinstance(document, list):
        raise UnsafeContentError(f"{where} is not a JSON list")
    if len(document) > MAX_IMAGES:
        raise UnsafeContentError(f"{where} lists more than {MAX_IMAGES} images")
    entries = []
    for i, item in enumerate(document):
        if not isinstance(item, dict):
            raise UnsafeContentError(f"{where}: entry {i} is not an object")
        config, layers = item.get("Config"), item.get("Layers")
        tags = item.get("RepoTags") or []
        if not isinstance(config, str) or not config:
            raise UnsafeContentError(f"{where}: entry {i} has no Config file")
        if not isinstance(layers, list) or not all(isinstance(x, str) and x for x in layers):
            raise UnsafeContentError(f"{where}: entry {i} has no valid Layers list")
        if not isinstance(tags, list) or not all(isinstance(x, str) for x in tags):
            raise UnsafeContentError(f"{where}: entry {i} has an invalid RepoTags list")
        entries.append({"Config": config, "Layers": layers, "RepoTags": tags})
    if not entries:
        raise UnsafeContentError(f"{where} lists no image")
    return entries


def _names(tags: list[str], where: str) -> list[str]:
    names = []
    for tag in tags:
        try:
            names.append(transports.archive_name(tag))
        except InvalidReferenceError as err:
            raise UnsafeContentError(f"{where}: invalid RepoTag {tag!r}: {err}") from None
    return names


def _image(files: Files, entry: dict[str, Any]) -> SourceImage:
    where = f"{files.description}: image {entry['Config']}"
    config = files.metadata(entry["Config"])
    diff_ids = diff_ids_of(mf.load_document(config, where), len(entry["Layers"]), where)
    layers = [
        SourceLayer(files.blob(path), diff_id)
        for path, diff_id in zip(entry["Layers"], diff_ids, strict=True)
    ]
    return SourceImage(
        names=_names(entry["RepoTags"], where),
        config=config,
        config_digest="sha256:" + hashlib.sha256(config).hexdigest(),
        layers=layers,
    )


def read_images(files: Files, ref: transports.TransportRef | None = None) -> list[SourceImage]:
    """Every image of the archive, or the one `ref` names (`NAME:TAG` or `@INDEX`)."""
    entries = _entries(files)
    if ref is not None and ref.index is not None:
        if ref.index >= len(entries):
            raise PodError(
                f"{files.description}: invalid source index @{ref.index}, "
                f"the archive has {len(entries)} images"
            )
        entries = [entries[ref.index]]
    elif ref is not None and ref.name:
        entries = [e for e in entries if ref.name in _names(e["RepoTags"], files.description)]
        if not entries:
            raise PodError(f"{files.description}: no image tagged {ref.name}")
    elif ref is not None and len(entries) > 1:
        raise PodError(
            f"{files.description} holds {len(entries)} images: "
            "name one as docker-archive:PATH:NAME[:TAG] or docker-archive:PATH:@INDEX"
        )
    images = [_image(files, entry) for entry in entries]
    if ref is not None and ref.name:
        images = [records.replace(image, names=[ref.name]) for image in images]
    return images


# --- writing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Raw:
    """A value Go writes as the raw JSON it read (a RawMessage): its keys keep their order."""

    value: Any


def go_json(value: Any) -> bytes:
    """JSON as Go's encoding/json writes it: compact, `<>&` escaped, a map's keys sorted."""
    if isinstance(value, dict):
        parts = [f"{_text(key)}:{go_json(value[key]).decode()}" for key in sorted(value)]
        return ("{" + ",".join(parts) + "}").encode()
    return _text(value.value if isinstance(value, _Raw) else value).encode()


def _text(value: Any) -> str:
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    for char, escape in _GO_ESCAPES:
        text = text.replace(char, escape)
    return text


_GO_ESCAPES = (
    ("<", "\\u003c"),
    (">", "\\u003e"),
    ("&", "\\u0026"),
    ("\u2028", "\\u2028"),
    ("\u2029", "\\u2029"),
)


def legacy_layers(image: OutImage) -> list[tuple[str, bytes]]:
    """(legacy layer id, its `json` file) for each layer, computed as containers/image does,
    so the ids match podman's for the same image."""
    config = json.loads(image.config)
    out: list[tuple[str, bytes]] = []
    chain, parent = "", ""
    for i, layer in enumerate(image.layers):
        fields: dict[str, Any] = {"parent": parent} if parent else {}
        if i == len(image.layers) - 1:
            fields.update({name: _Raw(config.get(name)) for name in _LEGACY_TOP_FIELDS})
        if chain:
            chain = "sha256:" + hashlib.sha256(f"{chain} {layer.diff_id}".encode()).hexdigest()
        else:
            chain = layer.diff_id
        layer_id = hashlib.sha256(go_json({**fields, "layer_id": chain})).hexdigest()
        parent = layer_id
        out.append((layer_id, go_json({**fields, "id": layer_id})))
    return out


def write_archive(writer: Output, images: list[tuple[OutImage, list[str]]]) -> None:
    """Write `images` (each with the RepoTags it gets) as one docker archive: layers, configs
    and legacy layer directories first, manifest.json and repositories last, as podman does."""
    sent: set[str] = set()
    manifest: list[dict[str, Any]] = []
    repositories: dict[str, dict[str, str]] = {}
    for image, tags in images:
        for layer in image.layers:
            name = _layer_file(layer.diff_id)
            if name not in sent:
                writer.add_chunks(name, layer.size, layer.chunks(), mode=0o444)
                sent.add(name)
        config_name = image.config_digest.removeprefix("sha256:") + ".json"
        if config_name not in sent:
            writer.add_bytes(config_name, image.config, mode=0o444)
            sent.add(config_name)
        top = ""
        for (layer_id, legacy_json), layer in zip(legacy_layers(image), image.layers, strict=True):
            top = layer_id
            if layer_id not in sent:
                sent.add(layer_id)
                writer.add_symlink(f"{layer_id}/layer.tar", f"../{_layer_file(layer.diff_id)}")
                writer.add_bytes(f"{layer_id}/VERSION", b"1.0", mode=0o444)
                writer.add_bytes(f"{layer_id}/json", legacy_json, mode=0o444)
        entry = next((e for e in manifest if e["Config"] == config_name), None)
        if entry is None:
            layer_files = [_layer_file(layer.diff_id) for layer in image.layers]
            entry = {"Config": config_name, "RepoTags": [], "Layers": layer_files}
            manifest.append(entry)
        for tag in tags:
            if tag not in entry["RepoTags"]:
                entry["RepoTags"].append(tag)
            repository, _, tag_name = tag.rpartition(":")
            if top:
                repositories.setdefault(repository, {})[tag_name] = top
    writer.add_bytes(MANIFEST_FILE, _manifest_json(manifest), mode=0o444)
    writer.add_bytes(REPOSITORIES_FILE, go_json(repositories), mode=0o444)


def _manifest_json(entries: list[dict[str, Any]]) -> bytes:
    """manifest.json as containers/image writes it: its struct's field order, compact."""
    objects = [
        "{" + ",".join(f"{_text(key)}:{_text(value)}" for key, value in entry.items()) + "}"
        for entry in entries
    ]
    return ("[" + ",".join(objects) + "]").encode()


def _layer_file(diff_id: str) -> str:
    return diff_id.removeprefix("sha256:") + ".tar"

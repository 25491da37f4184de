"""Image archives for the tests, built from image_builder's images: docker archives laid out as
`docker save` writes them, OCI archives, and hostile variants of both (each a list of tar
entries a test can change before writing)."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import zstandard
from image_builder import MT_OCI_INDEX, BuiltImage, Dir, Entry, File, build_tar, canonical_json


def plain_layer(data: bytes) -> bytes:
    """A layer blob uncompressed, as docker archives carry it."""
    if data.startswith(b"\x1f\x8b"):
        return gzip.decompress(data)
    if data.startswith(b"\x28\xb5\x2f\xfd"):
        return zstandard.ZstdDecompressor().decompress(data, max_output_size=1 << 30)
    return data


def docker_entries(images: list[tuple[BuiltImage, list[str]]]) -> list[Entry]:
    """`docker save` of `images` (each with its RepoTags): layers as <id>/layer.tar."""
    entries: list[Entry] = []
    manifest = []
    written: set[str] = set()
    for image, tags in images:
        assert image.config is not None
        config_name = image.config.digest[7:] + ".json"
        layer_names = []
        for blob in image.layers:
            data = plain_layer(blob.data)
            layer_id = hashlib.sha256(data).hexdigest()
            name = f"{layer_id}/layer.tar"
            if name not in written:
                entries += [Dir(layer_id), File(name, data, 0o644)]
                written.add(name)
            layer_names.append(name)
        if config_name not in written:
            entries.append(File(config_name, image.config.data))
            written.add(config_name)
        manifest.append({"Config": config_name, "RepoTags": tags, "Layers": layer_names})
    entries.append(File("manifest.json", json.dumps(manifest).encode()))
    return entries


def oci_entries(image: BuiltImage, ref_name: str | None = "latest") -> list[Entry]:
    """An OCI image layout of `image` (its blobs as they are) as tar entries."""
    entries = [Dir("blobs"), Dir("blobs/sha256")]
    for blob in [*image.blobs()]:
        entries.append(File(f"blobs/sha256/{blob.digest[7:]}", blob.data))
    entries.append(File(f"blobs/sha256/{image.digest[7:]}", image.manifest))
    descriptor: dict = {
        "mediaType": image.media_type,
        "digest": image.digest,
        "size": len(image.manifest),
    }
    if ref_name:
        descriptor["annotations"] = {"org.opencontainers.image.ref.name": ref_name}
    index = {"schemaVersion": 2, "mediaType": MT_OCI_INDEX, "manifests": [descriptor]}
    entries += [
        File("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'),
        File("index.json", canonical_json(index)),
    ]
    return entries


def write_tar(path: Path, entries: list[Entry], *, compress: bool = False) -> Path:
    data = build_tar(entries, sort=False)
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def replace_entry(entries: list[Entry], name: str, new: Entry | None) -> list[Entry]:
    """`entries` with the entry `name` replaced by `new` (None: removed)."""
    out = [new if e.name == name else e for e in entries]
    return [e for e in out if e is not None]


def manifest_of(entries: list[Entry]) -> list[dict]:
    return json.loads(next(e.data for e in entries if e.name == "manifest.json"))


def with_manifest(entries: list[Entry], manifest: list[dict]) -> list[Entry]:
    return replace_entry(entries, "manifest.json", File("manifest.json", json.dumps(manifest)))

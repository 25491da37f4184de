"""Manifests, indexes and image configs: media types, validation, and platform selection.

Everything here parses untrusted registry content, so shapes are checked before use and a
malformed document is an error naming what is wrong, never a KeyError.
"""

from __future__ import annotations

import json
import os
import re

from pod.errors import PodError, UnsafeContentError
from pod.util.records import dataclass

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"

OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_FOREIGN_LAYER = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
ACCEPT = [OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST]
LAYER_TYPES = (
    OCI_LAYER_GZIP,
    OCI_LAYER_ZSTD,
    OCI_LAYER_TAR,
    DOCKER_LAYER_GZIP,
    DOCKER_FOREIGN_LAYER,
)

# An image config is read whole into memory: bounded like a manifest (containers/image's
# MaxConfigBodySize), checked on the declared size before any byte is fetched.
CONFIG_LIMIT = 4 * 1024 * 1024

_DIGEST = r"^sha256:[a-f0-9]{64}$"
_ARCH_ALIASES = {
    "x86_64": "amd64",
    "aarch64": "arm64",
    "armv7l": "arm",
    "armv6l": "arm",
    "i686": "386",
}
_VARIANTS = {"armv7l": "v7", "armv6l": "v6", "aarch64": "v8"}


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int


@dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str = ""

    def __str__(self) -> str:
        text = f"{self.os}/{self.architecture}"
        return f"{text}/{self.variant}" if self.variant else text


@dataclass(frozen=True)
class Manifest:
    media_type: str
    config: Descriptor
    layers: list[Descriptor]


def host_platform() -> Platform:
    machine = os.uname().machine  # platform.machine()'s answer, without importing platform
    arch = _ARCH_ALIASES.get(machine, machine)
    return Platform("linux", arch, _VARIANTS.get(machine, "") if arch == "arm" else "")


def parse_platform(
    text: str | None, arch: str | None = None, variant: str | None = None
) -> Platform:
    """`--platform os/arch[/variant]`, or `--arch`/`--variant` over the host's platform."""
    base = host_platform()
    if text:
        parts = text.split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise PodError(f'invalid platform "{text}": use os/arch[/variant]')
        base = Platform(parts[0], parts[1], parts[2] if len(parts) == 3 else "")
    if arch:
        base = Platform(base.os, arch, variant or "")
    elif variant:
        base = Platform(base.os, base.architecture, variant)
    return base


def load_json(data: bytes, what: str) -> object:
    try:
        return json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as err:
        raise UnsafeContentError(f"{what} is not valid JSON: {err}") from None


def load_document(data: bytes, what: str) -> dict:
    value = load_json(data, what)
    if not isinstance(value, dict):
        raise UnsafeContentError(f"{what} is not a JSON object")
    return value


def media_type_of(data: bytes, header_type: str | None) -> str:
    """The manifest's media type: its own `mediaType` field, else the Content-Type header."""
    doc = load_document(data, "manifest")
    declared = doc.get("mediaType")
    if isinstance(declared, str) and declared:
        return declared
    if header_type and header_type.split(";")[0].strip() in (*MANIFEST_TYPES, *INDEX_TYPES):
        return header_type.split(";")[0].strip()
    if "manifests" in doc:
        return OCI_INDEX
    if doc.get("schemaVersion") == 1:
        raise PodError(
            "Docker schema 1 manifests are not supported: push the image again with a current tool"
        )
    return OCI_MANIFEST


def descriptor(value: object, what: str) -> Descriptor:
    if not isinstance(value, dict):
        raise UnsafeContentError(f"{what} is not an object")
    digest, size, media = value.get("digest"), value.get("size"), value.get("mediaType", "")
    if not isinstance(digest, str) or not re.match(_DIGEST, digest):
        raise UnsafeContentError(f"{what} has an invalid digest {digest!r}")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise UnsafeContentError(f"{what} has an invalid size {size!r}")
    if not isinstance(media, str):
        raise UnsafeContentError(f"{what} has an invalid media type")
    return Descriptor(media, digest, size)


def parse_manifest(data: bytes, media_type: str) -> Manifest:
    doc = load_document(data, "manifest")
    layers = doc.get("layers")
    if not isinstance(layers, list):
        raise UnsafeContentError("manifest has no layers list")
    parsed = [descriptor(item, f"layer {i}") for i, item in enumerate(layers)]
    for layer in parsed:
        if layer.media_type and layer.media_type not in LAYER_TYPES:
            raise PodError(f"unsupported layer media type {layer.media_type}")
    config = descriptor(doc.get("config"), "config")
    if config.size > CONFIG_LIMIT:
        raise UnsafeContentError(
            f"image config {config.digest} is {config.size} bytes, more than the {CONFIG_LIMIT} "
            "allowed"
        )
    return Manifest(media_type, config, parsed)


def select_platform(data: bytes, wanted: Platform) -> Descriptor:
    """The index entry for `wanted` (a missing variant matches any; podman's choice order)."""
    doc = load_document(data, "image index")
    entries = doc.get("manifests")
    if not isinstance(entries, list):
        raise UnsafeContentError("image index has no manifests list")
    candidates: list[tuple[int, Descriptor]] = []
    for i, entry in enumerate(entries):
        found = descriptor(entry, f"index entry {i}")
        plat = entry.get("platform") if isinstance(entry.get("platform"), dict) else {}
        if plat.get("os") != wanted.os or plat.get("architecture") != wanted.architecture:
            continue
        variant = plat.get("variant", "")
        if wanted.variant and variant and variant != wanted.variant:
            continue
        candidates.append((0 if variant == wanted.variant else 1, found))
    if not candidates:
        platforms = [e["platform"] for e in entries if isinstance(e.get("platform"), dict)]
        available = ", ".join(f"{p.get('os')}/{p.get('architecture')}" for p in platforms)
        raise PodError(
            f"no image found in image index for architecture {wanted} (available: {available})"
        )
    return min(candidates, key=lambda c: c[0])[1]


def diff_ids(config: dict) -> list[str]:
    rootfs = config.get("rootfs")
    ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    if not isinstance(ids, list) or not all(
        isinstance(d, str) and re.match(_DIGEST, d) for d in ids
    ):
        raise UnsafeContentError("image config has no valid rootfs.diff_ids")
    return ids

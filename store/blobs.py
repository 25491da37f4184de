"""Content-addressed blobs kept as an OCI image layout, so skopeo and umoci can read the store.

`<root>/blobs/` is a complete OCI image layout: `oci-layout`, `index.json` (one entry per image
name, annotated with `org.opencontainers.image.ref.name`) and `blobs/sha256/<hex>`. Blobs are only
ever renamed into place after their digest was verified, so a present blob is a correct blob.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from pod.errors import DigestMismatchError, StoreError
from pod.store.layout import Layout
from pod.store.lock import (
    atomic_write,
    atomic_write_json,
    fsync_dir,
    lock_if_free,
    locked,
    read_json,
)
from pod.util.records import dataclass

OCI_LAYOUT = {"imageLayoutVersion": "1.0.0"}
REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name"
CHUNK = 1 << 20
SCRATCH_PREFIX = "layer-"


def sha256_digest(data: bytes) -> str:
    import hashlib  # OpenSSL's start-up (~2 ms): only where blobs are written or checked

    return "sha256:" + hashlib.sha256(data).hexdigest()


def file_digest(path: Path) -> str:
    import hashlib

    hasher = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            hasher.update(chunk)
    return "sha256:" + hasher.hexdigest()


@dataclass(frozen=True)
class IndexEntry:
    """One image name in index.json: what skopeo sees as `oci:<root>/blobs:<name>`."""

    name: str
    digest: str
    media_type: str
    size: int


class BlobStore:
    """Blob files and the OCI index that names them."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout

    def ensure(self) -> None:
        """Create the OCI layout skeleton once (idempotent, safe against concurrent callers)."""
        if self.layout.oci_layout_file.exists():
            return
        self.layout.blobs_dir().mkdir(parents=True, exist_ok=True)
        self.layout.incoming.mkdir(parents=True, exist_ok=True)
        with locked(self.layout.store_lock):
            if not self.layout.index_file.exists():
                atomic_write_json(self.layout.index_file, {"schemaVersion": 2, "manifests": []})
            atomic_write_json(self.layout.oci_layout_file, OCI_LAYOUT)

    def path(self, digest: str) -> Path:
        return self.layout.blob(digest)

    def has(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def read(self, digest: str) -> bytes:
        try:
            return self.path(digest).read_bytes()
        except FileNotFoundError:
            raise StoreError(f"blob {digest} is missing from the store") from None

    def replay(self, digest: str, write: Callable[[bytes], None]) -> None:
        """Hand a stored blob's bytes to `write` in order, as a download would have."""
        try:
            with open(self.path(digest), "rb") as handle:
                while chunk := handle.read(CHUNK):
                    write(chunk)
        except FileNotFoundError:
            raise StoreError(f"blob {digest} is missing from the store") from None

    def put_bytes(self, data: bytes, expected: str | None = None) -> str:
        """Store small content (manifests, configs); verify it against `expected` when given."""
        digest = sha256_digest(data)
        if expected and expected != digest:
            raise DigestMismatchError(f"content digest {digest} does not match {expected}")
        if not self.has(digest):
            atomic_write(self.path(digest), data)
        return digest

    def incoming_path(self, digest: str) -> Path:
        """Where a download of `digest` streams to; kept when the connection breaks so a Range
        request resumes it; a killed pull's is removed by the next command (store.prepare)."""
        return self.layout.incoming / digest.replace(":", "-")

    def commit_incoming(self, digest: str) -> Path:
        """Move a verified download into the blob directory.

        The data is not fsynced (a layer's unpacked files are not either, as in podman): a
        blob cut short by a power loss cannot go unnoticed, since every use re-checks content
        (unpacking compares the diff id, a registry checks a pushed blob's digest). Syncing
        hundreds of MB here made pull slower than podman's.
        """
        source = self.incoming_path(digest)
        target = self.path(digest)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)
        fsync_dir(target.parent)
        return target

    @contextlib.contextmanager
    def scratch(self, suffix: str = "") -> Iterator[Path]:
        """A temporary file in the store (named for its process, so `remove_stale_scratch` knows
        a killed writer's), gone when the block ends unless `keep` moved it into the blobs."""
        self.layout.tmp.mkdir(parents=True, exist_ok=True)
        scratch = self.layout.tmp / f"{SCRATCH_PREFIX}{os.getpid()}-{os.urandom(4).hex()}{suffix}"
        try:
            yield scratch
        finally:
            with contextlib.suppress(FileNotFoundError):
                scratch.unlink()

    def keep(self, scratch: Path, digest: str) -> None:
        """Move a scratch file whose content the caller verified to be `digest` into place."""
        self.ensure()
        target = self.path(digest)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(scratch, target)
        fsync_dir(target.parent)

    def remove_stale_scratch(self) -> None:
        """Scratch files of processes that were killed (`layer-<pid>-...`)."""
        with contextlib.suppress(FileNotFoundError):
            for entry in os.scandir(self.layout.tmp):
                pid = entry.name.removeprefix(SCRATCH_PREFIX).partition("-")[0]
                mine = entry.name.startswith(SCRATCH_PREFIX) and pid.isdigit()
                if mine and not os.path.exists(f"/proc/{pid}"):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(entry.path)

    def clean_incoming(self) -> None:
        """Delete partial downloads no live pull is writing (their blob lock is free)."""
        if not self.layout.incoming.is_dir():
            return
        for entry in self.layout.incoming.iterdir():
            digest = entry.name.replace("-", ":", 1)
            with lock_if_free(self.layout.blob_lock(digest)) as free:
                if free:
                    entry.unlink(missing_ok=True)

    def remove(self, digests: Iterable[str]) -> None:
        for digest in digests:
            with contextlib.suppress(FileNotFoundError):
                self.path(digest).unlink()

    def all_digests(self) -> set[str]:
        directory = self.layout.blobs_dir()
        if not directory.is_dir():
            return set()
        return {f"sha256:{name}" for name in os.listdir(directory)}

    def write_index(self, entries: list[IndexEntry]) -> None:
        """Rewrite index.json from the image records (called with the store lock held)."""
        manifests = [
            {
                "mediaType": entry.media_type,
                "digest": entry.digest,
                "size": entry.size,
                "annotations": {REF_NAME_ANNOTATION: entry.name},
            }
            for entry in sorted(entries, key=lambda e: e.name)
        ]
        atomic_write_json(self.layout.index_file, {"schemaVersion": 2, "manifests": manifests})

    def read_index(self) -> list[IndexEntry]:
        index = read_json(self.layout.index_file, {"manifests": []})
        return [
            IndexEntry(
                name=item.get("annotations", {}).get(REF_NAME_ANNOTATION, ""),
                digest=item["digest"],
                media_type=item.get("mediaType", ""),
                size=item.get("size", 0),
            )
            for item in index.get("manifests", [])
        ]


def load_json_blob(blobs: BlobStore, digest: str) -> dict:
    try:
        value = json.loads(blobs.read(digest))
    except json.JSONDecodeError as err:
        raise StoreError(f"blob {digest} is not valid JSON: {err}") from None
    if not isinstance(value, dict):
        raise StoreError(f"blob {digest} is not a JSON object")
    return value

"""The build cache: what each build step produced, by cache key, so a rebuild reuses it.

A step's key hashes its parent's key and the expanded instruction (and, for COPY/ADD, the
sources' content). The entry records the layer the step made (or none, for ENV, LABEL, ... and
for RUN steps that changed nothing) and when it was made, so a fully cached rebuild writes the
same config, hence the same image ID. Entries live in one JSON file rewritten under the store
lock; the layers and blobs they name count as used (images.unreferenced), so removing an
unrelated image keeps the cache, and `image prune` clears it.
"""

from __future__ import annotations

from typing import Any

from pod.store.layout import Layout
from pod.store.lock import atomic_write_json, read_json
from pod.util.records import asdict, dataclass


@dataclass(frozen=True)
class StepLayer:
    """A layer a build step made: where it is unpacked and the blob that carries it."""

    chain_id: str
    diff_id: str
    digest: str  # the gzip blob
    blob_size: int
    size: int  # uncompressed


@dataclass(frozen=True)
class CacheEntry:
    """A cached build step: when it was made and the layer it left (None: no layer)."""

    created: str  # RFC 3339, the step's history time
    layer: StepLayer | None
    saved: float = 0.0  # when the step ran (seconds since the epoch), for --cache-ttl

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CacheEntry:
        layer = data.get("layer")
        return cls(
            str(data["created"]), StepLayer(**layer) if layer else None, data.get("saved", 0.0)
        )


def load(layout: Layout) -> dict[str, CacheEntry]:
    """Every entry; a damaged file reads as an empty cache (it is only a cache)."""
    try:
        data = read_json(layout.build_cache_file, {}) or {}
        return {key: CacheEntry.from_json(value) for key, value in data.items()}
    except (ValueError, KeyError, TypeError):
        return {}


def save_entry(layout: Layout, key: str, entry: CacheEntry) -> None:
    """Add one entry (call with the store lock held: the file is shared by every build)."""
    data = read_json(layout.build_cache_file, {}) or {}
    data[key] = asdict(entry)
    atomic_write_json(layout.build_cache_file, data)


def clear(layout: Layout) -> None:
    """Forget every entry (store lock held); the next sweep removes what only they used."""
    layout.build_cache_file.unlink(missing_ok=True)


def used(layout: Layout) -> tuple[set[str], set[str]]:
    """Chain ids and blob digests the cache holds on to."""
    layers = [entry.layer for entry in load(layout).values() if entry.layer]
    return {layer.chain_id for layer in layers}, {layer.digest for layer in layers}

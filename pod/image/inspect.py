"""`image inspect` and `history`: podman's JSON shape and history rows from the stored blobs."""

from __future__ import annotations

from dataclasses import dataclass

from pod.config import Settings
from pod.image.defaults import image_config
from pod.store import layers
from pod.store.images import ImageRecord, ImageStore
from pod.store.layout import Layout
from pod.util.humanize import parse_timestamp


def _layer_dirs(layout: Layout, record: ImageRecord) -> dict[str, str]:
    """GraphDriver.Data as podman shows it for overlay: top layer's dir and the lower ones."""
    if not record.chain_ids:
        return {}
    top, *lower = reversed(record.chain_ids)
    data = {"UpperDir": str(layout.layer_diff(top))}
    if lower:
        data["LowerDir"] = ":".join(str(layout.layer_diff(c)) for c in lower)
    return data


def inspect_image(settings: Settings, store: ImageStore, record: ImageRecord) -> dict:
    config = image_config(store.blobs, record)
    section = config.get("config") if isinstance(config.get("config"), dict) else {}
    return {
        "Id": record.id,
        "Digest": record.manifest_digest,
        "RepoTags": record.tags,
        "RepoDigests": list(record.repo_digests),
        "Parent": "",
        "Comment": str(config.get("comment") or ""),
        "Created": record.created,
        "Config": section,
        "Version": str(config.get("docker_version") or ""),
        "Author": str(config.get("author") or ""),
        "Architecture": str(config.get("architecture") or ""),
        "Variant": str(config.get("variant") or ""),
        "Os": str(config.get("os") or ""),
        "Size": record.size,
        "VirtualSize": record.size,
        "GraphDriver": {"Name": settings.storage_driver, "Data": _layer_dirs(store.layout, record)},
        "RootFS": {
            "Type": "layers",
            "Layers": list((config.get("rootfs") or {}).get("diff_ids", [])),
        },
        "Labels": section.get("Labels") or None,
        "Annotations": {},
        "ManifestType": record.manifest_media_type,
        "User": str(section.get("User") or ""),
        "History": list(config.get("history") or []),
        "NamesHistory": list(record.names),
    }


@dataclass
class HistoryEntry:
    """One row of `pod history`, newest first."""

    id: str
    created: float
    created_by: str
    size: int
    comment: str
    tags: list[str]


def history(store: ImageStore, record: ImageRecord) -> list[HistoryEntry]:
    """Config history entries paired with layer sizes (empty_layer entries have size 0)."""
    config = image_config(store.blobs, record)
    sizes = [layers.read_layer_info(store.layout, chain).size for chain in record.chain_ids]
    entries = config.get("history") or [{"created": record.created} for _ in sizes]
    rows: list[HistoryEntry] = []
    layer_index = 0
    for item in entries:
        size = 0
        if not item.get("empty_layer") and layer_index < len(sizes):
            size = sizes[layer_index]
            layer_index += 1
        rows.append(
            HistoryEntry(
                id="<missing>",
                created=parse_timestamp(str(item.get("created") or "")),
                created_by=str(item.get("created_by") or ""),
                size=size,
                comment=str(item.get("comment") or ""),
                tags=[],
            )
        )
    rows.reverse()
    if rows:
        rows[0].id = record.id
        rows[0].tags = record.tags
    return rows

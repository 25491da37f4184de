"""`system df`: what the store holds and what could be reclaimed."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pod.config import Settings
from pod.store.images import ImageStore, containers_using
from pod.store.layout import Layout


@dataclass
class UsageLine:
    kind: str
    total: int
    active: int
    size: int
    reclaimable: int


def tree_size(path: Path) -> int:
    """Bytes of regular files below `path` (hardlinked files counted once)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for directory, _, files in os.walk(path):
        for name in files:
            try:
                info = os.lstat(os.path.join(directory, name))
            except OSError:
                continue
            if (info.st_dev, info.st_ino) not in seen:
                seen.add((info.st_dev, info.st_ino))
                total += info.st_size
    return total


def disk_usage(settings: Settings) -> list[UsageLine]:
    layout = Layout(settings.root, settings.runroot)
    records = ImageStore(layout).list()
    active = [r for r in records if containers_using(layout, r.id)]
    image_size = sum(r.size for r in records)
    containers = (
        list(layout.containers_root.glob("*/container.json"))
        if layout.containers_root.is_dir()
        else []
    )
    volumes = [p for p in layout.volumes_root.iterdir()] if layout.volumes_root.is_dir() else []
    volume_size = sum(tree_size(v) for v in volumes)
    return [
        UsageLine(
            "Images",
            len(records),
            len(active),
            image_size,
            image_size - sum(r.size for r in active),
        ),
        UsageLine("Containers", len(containers), 0, 0, 0),
        UsageLine("Local Volumes", len(volumes), 0, volume_size, volume_size),
    ]

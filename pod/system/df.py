"""`system df`: what the store holds and what could be reclaimed."""

from __future__ import annotations

import os
from pathlib import Path

from pod.config import Settings
from pod.store.containers import ContainerRecord, ContainerState
from pod.store.images import ImageRecord, ImageStore
from pod.store.layout import Layout
from pod.util.records import dataclass


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
    """The three summary lines of `system df` (what `-v` details row by row)."""
    images, containers, volumes = verbose_usage(settings)
    image_size = sum(i.size for i in images)
    active_images = [i for i in images if i.containers]
    container_size = sum(c.size for c in containers)
    running = [c for c in containers if c.running]
    volume_size = sum(v.size for v in volumes)
    used_volumes = [v for v in volumes if v.links]
    return [
        UsageLine(
            "Images",
            len(images),
            len(active_images),
            image_size,
            image_size - sum(i.size for i in active_images),
        ),
        UsageLine(
            "Containers",
            len(containers),
            len(running),
            container_size,
            container_size - sum(c.size for c in running),
        ),
        UsageLine(
            "Local Volumes",
            len(volumes),
            len(used_volumes),
            volume_size,
            volume_size - sum(v.size for v in used_volumes),
        ),
    ]


@dataclass
class ImageUsage:
    """One row of `system df -v`'s images table; `shared` is in layers other images use too."""

    record: ImageRecord
    size: int
    shared: int
    containers: int


@dataclass
class ContainerUsage:
    record: ContainerRecord
    state: ContainerState
    size: int  # the writable layer
    local_volumes: int

    @property
    def running(self) -> bool:
        return self.state.status in ("running", "paused")


@dataclass
class VolumeUsage:
    name: str
    links: int  # containers using it
    size: int


def verbose_usage(
    settings: Settings,
) -> tuple[list[ImageUsage], list[ContainerUsage], list[VolumeUsage]]:
    from pod.container.state import current_state
    from pod.store.containers import ContainerStore
    from pod.store.layers import read_layer_info
    from pod.store.volumes import VolumeStore

    layout = Layout(settings.root, settings.runroot)
    container_store = ContainerStore(layout)
    records = container_store.list()
    images = ImageStore(layout).list()
    layer_users: dict[str, int] = {}
    for image in images:
        for chain in set(image.chain_ids):
            layer_users[chain] = layer_users.get(chain, 0) + 1
    image_rows = []
    for image in images:
        infos = {chain: read_layer_info(layout, chain) for chain in image.chain_ids}
        shared = sum(info.size for c, info in infos.items() if info and layer_users[c] > 1)
        users = sum(1 for r in records if r.image_id == image.id)
        image_rows.append(ImageUsage(image, image.size, shared, users))
    container_rows = [
        ContainerUsage(
            record,
            current_state(container_store, record),
            tree_size(layout.container(record.id).upper),
            len(record.volumes),
        )
        for record in records
    ]
    volume_store = VolumeStore(layout)
    volume_rows = [
        VolumeUsage(
            volume.name,
            sum(1 for r in records if volume.name in r.volumes),
            tree_size(volume_store.data_dir(volume.name)),
        )
        for volume in volume_store.list()
    ]
    return image_rows, container_rows, volume_rows

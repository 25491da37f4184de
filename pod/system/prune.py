"""`system prune` and `system reset`: the removals `rm`, `rmi`, `image prune` and `volume rm`
already do, run over the whole store (no logic of their own beyond choosing what goes)."""

from __future__ import annotations

import shutil
from pathlib import Path

from pod import events
from pod.config import Settings
from pod.container.remove import remove_container, remove_orphans
from pod.container.state import current_state
from pod.errors import PodError
from pod.image.remove import prune_images, remove_images
from pod.store.containers import ContainerStore
from pod.store.images import ImageStore
from pod.store.layout import Layout
from pod.store.trees import remove_trees
from pod.store.volumes import VolumeStore
from pod.system.df import tree_size
from pod.util.records import dataclass, field

ACTIVE = ("running", "paused", "stopping")


@dataclass
class PruneReport:
    containers: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    reclaimed: int = 0


def prune_system(settings: Settings, all_images: bool, volumes: bool) -> PruneReport:
    """Stopped containers, then (with `volumes`) unused volumes, then dangling or unused images."""
    layout = Layout(settings.root, settings.runroot)
    report = PruneReport()
    containers = ContainerStore(layout)
    for record in containers.list():
        if current_state(containers, record).status in ACTIVE:
            continue
        size = tree_size(layout.container_dir(record.id))
        report.containers.append(remove_container(settings, record.id))
        report.reclaimed += size
    remove_orphans(settings)
    if volumes:
        for name, size in prune_volumes(settings):
            report.volumes.append(name)
            report.reclaimed += size
    sizes = {record.id: record.size for record in ImageStore(layout).list()}
    report.images = prune_images(settings, all_images)
    report.reclaimed += sum(sizes.get(ident, 0) for ident in report.images)
    return report


def prune_volumes(settings: Settings) -> list[tuple[str, int]]:
    """Remove every volume no container uses; return each one's name and the bytes it held."""
    layout = Layout(settings.root, settings.runroot)
    store = VolumeStore(layout)
    used = {name for record in ContainerStore(layout).list() for name in record.volumes}
    pruned = []
    for volume in store.list():
        if volume.name not in used:
            size = tree_size(store.directory(volume.name))
            store.remove(volume.name, [], rootless=settings.rootless)
            events.volume_event(settings.runroot, "prune", volume.name)
            pruned.append((volume.name, size))
    return pruned


def _check_removable(path: Path) -> None:
    """Refuse to delete a directory that is obviously not a store (a typo in --root)."""
    resolved = path.resolve()
    if resolved == Path("/") or resolved == Path.home().resolve() or len(resolved.parts) < 2:
        raise PodError(f"refusing to remove {resolved}: it cannot be a pod store")


def reset_system(settings: Settings) -> None:
    """Every container (forced, no grace period), image and volume, then both roots entirely."""
    layout = Layout(settings.root, settings.runroot)
    for path in (settings.root, settings.runroot):
        _check_removable(path)
    containers = ContainerStore(layout)
    for record in containers.list():
        remove_container(settings, record.id, force=True, timeout=0)
    remove_orphans(settings)
    report = remove_images(settings, [], force=True, all_images=True)
    if report.errors:
        raise report.errors[-1]
    volumes = VolumeStore(layout)
    for volume in volumes.list():
        volumes.remove(volume.name, [], force=True, rootless=settings.rootless)
    remove_trees([settings.root], rootless=settings.rootless)
    shutil.rmtree(settings.runroot, ignore_errors=True)

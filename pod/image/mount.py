"""`pod image mount` / `pod image unmount`: an image's layers mounted read-only.

The layers are an overlay with no upper dir at <root>/image-mounts/<id>/merged, counted like
container mounts (store.mount_counts); removing the image unmounts it. As `pod mount`, this
needs privileges: rootless, only inside `pod unshare`.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from pod import events
from pod.config import Settings
from pod.container import rootfs
from pod.container.mount import require_privileges
from pod.errors import PodError
from pod.store import layers, mount_counts
from pod.store.images import ImageRecord, ImageStore
from pod.store.layout import Layout
from pod.store.lock import locked
from pod.util.records import dataclass


@dataclass(frozen=True)
class MountedImage:
    record: ImageRecord
    path: Path


def mount_image(settings: Settings, text: str) -> Path:
    """Mount the image read-only (or count one more use of it); where it is."""
    require_privileges("image mount")
    layout = Layout(settings.root, settings.runroot)
    record = ImageStore(layout).lookup(text)
    if not record.chain_ids:
        raise PodError(f"image {record.id} has no layers to mount")
    paths = layout.image_mount(record.id)
    with locked(layout.image_mount_lock(record.id)):
        if not os.path.ismount(paths.merged):
            mount_counts.reset(paths.mount_counts)
            lowers = [layout.layer_diff(chain) for chain in reversed(record.chain_ids)]
            info = layers.read_layer_info(layout, record.chain_ids[0])
            try:
                rootfs.mount_read_only(
                    lowers, paths.directory, rootless=bool(info and info.rootless)
                )
            except OSError as err:
                raise PodError(f"mounting image {record.id}: {err.strerror or err}") from None
        mount_counts.change(paths.mount_counts, +1)
    events.image_event(settings.runroot, "mount", record.id, next(iter(record.names), ""))
    return paths.merged


def unmount_image(settings: Settings, record: ImageRecord, force: bool = False) -> None:
    """One `image mount` fewer (all with `force`); unmounted when none is left."""
    layout = Layout(settings.root, settings.runroot)
    paths = layout.image_mount(record.id)
    with locked(layout.image_mount_lock(record.id)):
        if force:
            mount_counts.reset(paths.mount_counts)
        elif mount_counts.held(paths.mount_counts):
            mount_counts.change(paths.mount_counts, -1)
        if not mount_counts.held(paths.mount_counts):
            if os.path.ismount(paths.merged):  # mounted here (rmi: maybe in another session)
                rootfs.unmount(paths.directory, force=True)
            with contextlib.suppress(OSError):
                for leftover in (paths.merged, paths.empty_lower):
                    leftover.rmdir()
                paths.directory.rmdir()
    events.image_event(settings.runroot, "unmount", record.id, next(iter(record.names), ""))


def mounted_images(settings: Settings) -> list[MountedImage]:
    """Images mounted in this mount namespace."""
    require_privileges("image mount")
    layout = Layout(settings.root, settings.runroot)
    found = []
    for record in ImageStore(layout).list():
        merged = layout.image_mount(record.id).merged
        if os.path.ismount(merged):
            found.append(MountedImage(record, merged))
    return found

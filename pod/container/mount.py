"""`pod mount` / `pod umount`: a container's root file system mounted for the user.

The rootfs is mounted at <dir>/merged, where a container's shim mounts it, and each `pod mount`
is counted (store.mount_counts) so that the last `umount` unmounts, and the container's own exit
leaves a user's mount alone. Mounting needs privileges: rootless, as podman, only inside
`pod unshare`, where the mount lives in that session's mount namespace (a running rootless
container's stays in its own namespaces: refused).
"""

from __future__ import annotations

import os
from pathlib import Path

from pod import events
from pod.config import Settings
from pod.container import rootfs
from pod.container.lifecycle import engine_error
from pod.container.state import current_state
from pod.errors import NoSuchContainerError, PodError
from pod.store import mount_counts
from pod.store.containers import ContainerRecord, ContainerStore
from pod.store.layout import Layout
from pod.store.lock import locked
from pod.util.records import dataclass

RUNNING = ("running", "paused", "stopping")


def require_privileges(command: str) -> None:
    """podman's refusal outside a rootless user namespace."""
    if os.geteuid() != 0:
        raise PodError(
            f'cannot run command "pod {command}" in rootless mode, must execute `pod unshare` first'
        )


@dataclass(frozen=True)
class Mounted:
    """A container whose root file system is mounted here, and where."""

    id: str
    path: Path


def _find(store: ContainerStore, text: str) -> ContainerRecord:
    try:
        return store.lookup(text)
    except NoSuchContainerError as err:
        raise engine_error(err) from None


def _refuse_running_rootless(store: ContainerStore, record: ContainerRecord, text: str) -> None:
    """A running rootless container's rootfs lives in its shim's user and mount namespaces,
    which this session cannot enter (podman keeps one pause process for both instead)."""
    if record.rootless and current_state(store, record).status in RUNNING:
        raise PodError(
            f"container {text} is running: its root file system is mounted in its own "
            "namespaces; use `pod cp` or `pod exec`, or stop it first"
        )


def mount_container(settings: Settings, text: str) -> Path:
    """Mount the container's rootfs (or count one more use of it); where it is."""
    require_privileges("mount")
    layout = Layout(settings.root, settings.runroot)
    store = ContainerStore(layout)
    record = _find(store, text)
    paths = layout.container(record.id)
    _refuse_running_rootless(store, record, text)
    with locked(store.container_lock(record.id)):
        if not os.path.ismount(paths.merged):
            mount_counts.reset(paths.mount_counts)
            rootfs.mount(layout, record, paths.directory)
        mount_counts.change(paths.mount_counts, +1)
    events.container_event(settings.runroot, record, "mount")
    return paths.merged


def unmount_container(settings: Settings, text: str, force: bool = False) -> str:
    """One `pod mount` fewer (all of them with `force`); unmounted when none is left and no
    running container uses the mount. Returns the container's ID."""
    require_privileges("umount")
    layout = Layout(settings.root, settings.runroot)
    store = ContainerStore(layout)
    record = _find(store, text)
    paths = layout.container(record.id)
    with locked(store.container_lock(record.id)):
        if force:
            mount_counts.reset(paths.mount_counts)
        elif mount_counts.held(paths.mount_counts):
            mount_counts.change(paths.mount_counts, -1)
        in_use = not record.rootless and current_state(store, record).status in RUNNING
        if not mount_counts.held(paths.mount_counts) and not in_use:
            rootfs.unmount(paths.directory, force=True)
    events.container_event(settings.runroot, record, "unmount")
    return record.id


def mounted_containers(settings: Settings) -> list[Mounted]:
    """Containers whose rootfs is mounted in this mount namespace (a running container's too)."""
    require_privileges("mount")
    layout = Layout(settings.root, settings.runroot)
    store = ContainerStore(layout)
    found = []
    for record in sorted(store.list(), key=lambda r: r.created):
        merged = layout.container(record.id).merged
        if os.path.ismount(merged):
            found.append(Mounted(record.id, merged))
    return found


def held_containers(settings: Settings) -> list[str]:
    """IDs of the containers `pod mount` holds mounted here (what `umount -a` undoes)."""
    layout = Layout(settings.root, settings.runroot)
    store = ContainerStore(layout)
    return [
        record.id
        for record in sorted(store.list(), key=lambda r: r.created)
        if mount_counts.held(layout.container(record.id).mount_counts)
    ]

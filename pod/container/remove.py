"""`pod rm`: stop when forced, make sure nothing stays mounted, then delete every trace."""

from __future__ import annotations

import os

from pod import events
from pod.config import Settings
from pod.container.state import current_state
from pod.container.stop import stop, stop_signal_failed
from pod.errors import ContainerStateError, PodError
from pod.reporter import Reporter
from pod.store.containers import ContainerRecord, ContainerStore, pid_alive
from pod.store.layout import Layout
from pod.store.lock import locked
from pod.store.trees import remove_trees
from pod.store.volumes import VolumeStore

RUNNING = ("running", "paused", "stopping")


def remove_orphans(settings: Settings) -> None:
    """Finish removals that were cut short: unmount and delete record-less directories;
    remove containers whose creation was cut short."""
    from pod.container.rootfs import unmount

    layout = Layout(settings.root, settings.runroot)
    store = ContainerStore(layout)
    for container_id in store.cut_short():
        remove_container(settings, container_id, with_pod=True)
    for container_id in store.orphans():
        paths = layout.container(container_id)
        if not settings.rootless:
            unmount(paths.directory, force=True)
        remove_trees([paths.upper, paths.work, paths.image_mounts], rootless=settings.rootless)
        store.remove_files(container_id)


def remove_container(
    settings: Settings,
    text: str,
    force: bool = False,
    volumes: bool = False,
    timeout: float = 10,
    reporter: Reporter | None = None,
    with_pod: bool = False,
) -> str:
    """Remove one container; returns its full ID. Exit 2 when running and not forced. A pod's
    infra container goes only `with_pod` (pod.pods.remove removes it last)."""
    layout = Layout(settings.root, settings.runroot)
    store = ContainerStore(layout)
    record = store.lookup(text)
    if record.infra and not with_pod:
        raise PodError(
            f"container {record.id} is the infra container of pod {record.pod} and cannot be "
            "removed without removing the pod"
        )
    needed_by = store.dependents(record.id)
    if needed_by:
        raise PodError(
            f"container {record.id} has dependent containers which must be removed before it: "
            f"{', '.join(needed_by)}: container already exists"
        )
    state = current_state(store, record)
    restarting = pid_alive(state.shim_pid, state.shim_start_time)  # between two runs
    if state.status in RUNNING or state.status == "created" or restarting:
        if state.status in RUNNING and not force:
            raise ContainerStateError(
                f"cannot remove container {record.id} as it is {state.status} - running or paused "
                "containers cannot be removed without force: container state improper"
            )
        from pod.shim.finisher import stop_here

        if stop(store, record, state, timeout, stop_here(store, record)) and timeout > 0:
            (reporter or Reporter()).warning(stop_signal_failed(record, timeout))
    from pod.container.rootfs import unmount

    with locked(store.container_lock(record.id)):
        paths = layout.container(record.id)
        # A rootless rootfs lives in its shim's mount namespace, or a `pod unshare` session's.
        if not record.rootless or os.geteuid() == 0:
            unmount(paths.directory, force=True)
        if paths.directory.exists():
            remove_trees([paths.upper, paths.work, paths.image_mounts], rootless=settings.rootless)
        _network_leftovers(layout, record)
        store.remove_files(record.id)
    if not record.builder:
        events.container_event(settings.runroot, record, "remove")
    if volumes:
        remove_anonymous_volumes(layout, record)
    return record.id


def remove_anonymous_volumes(layout: Layout, record: ContainerRecord) -> None:
    """The anonymous volumes of a removed container that no other container uses: `rm -v`,
    and the end of a `run --rm` container (podman removes them with it)."""
    volume_store = VolumeStore(layout)
    mine = [n for n in record.volumes if volume_store.exists(n) and volume_store.get(n).anonymous]
    if not mine:
        return
    others = {n for r in ContainerStore(layout).list() if r.id != record.id for n in r.volumes}
    for name in mine:
        if name not in others:
            volume_store.remove(name, [], rootless=record.rootless)


def _network_leftovers(layout: Layout, record) -> None:
    """What a shim killed before its exit step left: rules, veths, addresses (the network
    modules load only when there is any: most removals find nothing)."""
    from pod.network.state import leftovers_possible

    if leftovers_possible(layout, record.id):
        from pod.network.setup import disconnect, tidy

        disconnect(layout, record)
        tidy(layout)
    if record.networks:
        from pod.network.plan import release

        release(layout, record.id, record.networks)


def removal_order(records: list[ContainerRecord]) -> list[ContainerRecord]:
    """Dependents before what they depend on (`rm -a`, prune); a cycle keeps its order."""
    left = list(records)
    ordered: list[ContainerRecord] = []
    while left:
        needed = {dependency for record in left for dependency in record.requires}
        free = [record for record in left if record.id not in needed] or left
        ordered += free
        left = [record for record in left if record not in free]
    return ordered


def prune_containers(settings: Settings) -> list[str]:
    """`pod container prune`: remove every container that is not running; their IDs."""
    store = ContainerStore(Layout(settings.root, settings.runroot))
    removed = []
    for record in removal_order(sorted(store.list(), key=lambda r: r.created)):
        if record.infra or current_state(store, record).status in RUNNING:
            continue  # an infra container goes with its pod (pod pod prune)
        removed.append(remove_container(settings, record.id))
    remove_orphans(settings)
    return removed

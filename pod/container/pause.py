"""`pod pause` / `unpause`: freeze every process of a container with the cgroup freezer.

v1 writes FROZEN/THAWED to freezer.state, v2 1/0 to cgroup.freeze, in the container's own cgroup
(found from its init's /proc/<pid>/cgroup). Rootless containers have a cgroup of their own only
on a delegated v2 tree; otherwise pausing is refused with podman's message.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

from pod import events
from pod.config import Settings
from pod.container.cgroup import controller_dir, is_pure_v2
from pod.container.state import current_state, podman_status
from pod.errors import PodError
from pod.store.containers import ContainerRecord, ContainerState, ContainerStore
from pod.store.layout import Layout
from pod.store.lock import locked

_SETTLE_SECONDS = 5.0


def _freezer_file(pid: int) -> tuple[str, str, str] | None:
    """(file, frozen value, thawed value) for the container whose init is `pid`."""
    if is_pure_v2():
        directory = controller_dir(pid, "")
        return None if directory is None else (f"{directory}/cgroup.freeze", "1", "0")
    directory = controller_dir(pid, "freezer")
    return None if directory is None else (f"{directory}/freezer.state", "FROZEN", "THAWED")


def _write(path: str, value: str) -> None:
    try:
        with open(path, "w") as handle:
            handle.write(value)
    except OSError as err:
        raise PodError(f"writing {value} to {path}: {err.strerror}") from None


def _settle(path: str, value: str) -> None:
    """v1 passes through FREEZING; wait until the kernel reports the state we asked for."""
    if not path.endswith("freezer.state"):
        return
    deadline = time.monotonic() + _SETTLE_SECONDS
    while time.monotonic() < deadline:
        with open(path) as handle:
            if handle.read().strip() == value:
                return
        _write(path, value)
        time.sleep(0.01)
    raise PodError(f"the container's processes did not reach {value} in {_SETTLE_SECONDS:g}s")


def thaw_quietly(pid: int) -> None:
    """Thaw a container being stopped (a frozen process never handles its signal)."""
    found = _freezer_file(pid)
    if found is not None:
        with contextlib.suppress(OSError, PodError):
            _write(found[0], found[2])


def _check_supported(settings: Settings, verb: str) -> None:
    if settings.rootless and not is_pure_v2():
        raise PodError(f"{verb} is not supported for rootless containers")


def _set(settings: Settings, text: str, pause: bool) -> ContainerRecord:
    verb = "pause" if pause else "unpause"
    _check_supported(settings, verb)
    store = ContainerStore(Layout(settings.root, settings.runroot))
    record = store.lookup(text)
    state = current_state(store, record)
    if pause and state.status == "paused":
        raise PodError(f'"{record.id}" is already paused: container state improper')
    if pause and state.status != "running":
        status = podman_status(state.status)
        raise PodError(f'"{status}" is not running, can\'t pause: container state improper')
    if not pause and state.status != "paused":
        raise PodError(f'"{record.id}" is not paused, can\'t unpause: container state improper')
    _apply(settings, store, record, state, pause)
    return record


def _apply(
    settings: Settings,
    store: ContainerStore,
    record: ContainerRecord,
    state: ContainerState,
    pause: bool,
) -> None:
    """Freeze or thaw the container whose init is `state.pid`, and record it in state.json."""
    verb = "pause" if pause else "unpause"
    found = _freezer_file(state.pid)
    if found is None:
        if settings.rootless:
            raise PodError(f"{verb} is not supported for rootless containers")
        raise PodError(f"cannot {verb} a container without a cgroup: {record.name}")
    path, frozen, thawed = found
    value = frozen if pause else thawed
    with locked(store.container_lock(record.id)):
        _write(path, value)
        _settle(path, value)
        latest = store.read_state(record.id)
        if latest.pid == state.pid and latest.status in ("running", "paused"):
            latest.status = "paused" if pause else "running"
            store.write_state(record.id, latest)
    events.container_event(settings.runroot, record, verb)


@contextlib.contextmanager
def paused_while(
    settings: Settings, store: ContainerStore, record: ContainerRecord
) -> Iterator[bool]:
    """`cp --pause`: keep a running container frozen for the block; yields whether it froze it
    (False: not running, already paused, or rootless without a cgroup v2 tree of its own)."""
    state = current_state(store, record)
    if state.status != "running" or (settings.rootless and not is_pure_v2()):
        yield False
        return
    _apply(settings, store, record, state, pause=True)
    try:
        yield True
    finally:
        _apply(settings, store, record, state, pause=False)


def pause(settings: Settings, text: str) -> ContainerRecord:
    return _set(settings, text, pause=True)


def unpause(settings: Settings, text: str) -> ContainerRecord:
    return _set(settings, text, pause=False)

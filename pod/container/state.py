"""A container's true state, derived from its record, state.json and its shim's liveness.

No daemon keeps state current: every reader checks that the shim recorded in state.json still
lives (pid plus start time, against pid reuse); a shim that died is noticed here and the
state is fixed on disk under the container lock, so `ps`, `rm` and `start` never hang on it.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from pod.store.containers import ContainerRecord, ContainerState, ContainerStore, pid_alive
from pod.store.layout import Layout
from pod.store.lock import locked

LIVE = ("running", "paused", "created", "stopping")
# pod's states by podman's names: libpod's Configured prints "created" (a record and a bundle);
# its Created prints "initialized" (made in the runtime, the shim waiting for a START).
_PODMAN_NAMES = {"configured": "created", "created": "initialized"}


def runtime_state_root(layout: Layout, runtime: str) -> Path:
    """Where the OCI runtime keeps its state for this store (its `--root`)."""
    return layout.runtime_state_dir(os.path.basename(runtime))


def podman_status(status: str) -> str:
    """The state as podman names it (ps, inspect, wait conditions, filters)."""
    return _PODMAN_NAMES.get(status, status)


def current_state(store: ContainerStore, record: ContainerRecord) -> ContainerState:
    state = store.read_state(record.id)
    shim_gone = state.shim_pid and not pid_alive(state.shim_pid, state.shim_start_time)
    if state.status in LIVE and shim_gone:
        with locked(store.container_lock(record.id)):
            state = store.read_state(record.id)
            if state.status in LIVE and not pid_alive(state.shim_pid, state.shim_start_time):
                if state.pid and _alive(state.pid):
                    os.kill(state.pid, signal.SIGKILL)
                state.status = "exited"
                state.exit_code = 137 if state.exit_code is None else state.exit_code
                state.finished_at = state.finished_at or time.time()
                state.error = state.error or "the container's shim died"
                store.write_state(record.id, state)
    return state


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def wait_for_shim_exit(state: ContainerState, timeout: float) -> bool:
    """Until the shim is gone (it cleans up after the container exits): False after `timeout`
    seconds. Its pidfd wakes us when it exits, no polling."""
    import select

    try:
        pidfd = os.pidfd_open(state.shim_pid)
    except (OSError, ValueError):  # gone already (or no shim)
        return True
    try:
        if not pid_alive(state.shim_pid, state.shim_start_time):  # the pid is someone else's
            return True
        return bool(select.select([pidfd], [], [], max(timeout, 0))[0])
    finally:
        os.close(pidfd)

"""Stopping a container without a daemon: signal its process, escalate, wait for the shim.

The state is marked stopped_by_user before any signal, so the shim's restart policy knows the
exit was asked for. A container between two runs of its restart policy has no process: the
stop then waits for the shim, which sees the mark and exits instead of restarting.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable

from pod.container.state import wait_for_shim_exit
from pod.store.containers import ContainerRecord, ContainerState, ContainerStore, pid_alive
from pod.store.lock import locked
from pod.util.signals import parse_signal, signal_name

_POLL = 0.02


def stop_signal_failed(record: ContainerRecord, seconds: float) -> str:
    """podman's warning when the stop signal did not end the container in time."""
    return (
        f"StopSignal {signal_name(parse_signal(record.stop_signal))} failed to stop container "
        f"{record.name} in {seconds:g} seconds, resorting to SIGKILL"
    )


def _kill(pid: int, number: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, number)


def mark_stopped_by_user(
    store: ContainerStore, record: ContainerRecord, stopping: bool = True
) -> ContainerState:
    """Record that the user asked for the exit (before signalling); the state as it was.
    `stopping`: a stop, which escalates to SIGKILL, says "stopping" until the exit; a kill's
    signal may be ignored, so the state stays until the container really exits."""
    with locked(store.container_lock(record.id)):
        state = store.read_state(record.id)
        before = ContainerState.from_dict(vars(state))
        state.stopped_by_user = True
        if stopping and state.status in ("running", "paused"):
            state.status = "stopping"
        store.write_state(record.id, state, durable=False)  # the exit that follows is durable
    return before


def _thaw(pid: int) -> None:
    """A frozen process takes no signal: thaw it once signalled (as podman does)."""
    from pod.container.pause import thaw_quietly

    thaw_quietly(pid)


def stop(
    store: ContainerStore,
    record: ContainerRecord,
    state: ContainerState,
    timeout: float,
    end_here: Callable[[ContainerState, int, float], bool | None] | None = None,
) -> bool:
    """Stop signal, then SIGKILL after `timeout` seconds; True when the timeout forced a kill.
    `end_here(state, signal, deadline)`: signals and waits in a way of the caller's (pod stop
    does the end of the run itself: pod.shim.finisher), forced or not; None when it cannot, and
    then this polls for the exit."""
    state = mark_stopped_by_user(store, record)
    paused = state.status == "paused"
    number = parse_signal(record.stop_signal or "SIGTERM")
    # No grace (podman's -t 0 sends SIGKILL alone), or an init that waits for a start and
    # handles no signal yet: SIGKILL at once.
    if timeout <= 0 or (state.status == "created" and not state.started_at):
        number = signal.SIGKILL
    deadline = time.monotonic() + max(timeout, 0)
    if end_here is not None:
        forced = end_here(state, number, deadline)
        if forced is not None:
            return forced
    signalled = 0
    while pid_alive(state.shim_pid, state.shim_start_time) or _process_exists(state.pid):
        if state.pid > 0 and state.pid != signalled and _process_exists(state.pid):
            signal_container(state.pid, number, paused)
            signalled = state.pid
        if time.monotonic() >= deadline:
            break
        if signalled and not _process_exists(signalled):
            wait_for_shim_exit(state, 10)
            return False
        time.sleep(_POLL)
        state = store.read_state(record.id)
    else:
        return False
    signal_container(state.pid, signal.SIGKILL, paused)
    alive = pid_alive(state.shim_pid, state.shim_start_time)
    if alive and not wait_for_shim_exit(state, 10):
        _kill(state.shim_pid, signal.SIGKILL)
    return True


def signal_container(pid: int, number: int, paused: bool = False) -> None:
    """Signal a process that may be gone already; thaw a frozen one so it takes it."""
    if pid > 0 and _process_exists(pid):
        _kill(pid, number)
        if paused:
            _thaw(pid)


def _process_exists(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return b") Z " not in handle.read()
    except OSError:
        return False

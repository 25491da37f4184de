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
from typing import Any

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
        store.write_state(record.id, state)
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
    finish_here: bool = False,
) -> bool:
    """Stop signal, then SIGKILL after `timeout` seconds; True when the timeout forced a kill.
    `finish_here`: this process does the end of the run for the supervisor (pod stop, rm -f)."""
    state = mark_stopped_by_user(store, record)
    paused = state.status == "paused"
    number = parse_signal(record.stop_signal or "SIGTERM")
    if state.status == "created" and not state.started_at:
        number = signal.SIGKILL  # its init waits for a start and handles no signal yet
    deadline = time.monotonic() + max(timeout, 0)
    finisher = _finisher(store, record, state) if finish_here else None
    if finisher is not None:
        try:
            return _stop_finishing(store, record, state, finisher, number, deadline)
        finally:
            finisher.close()
    signalled = 0
    while pid_alive(state.shim_pid, state.shim_start_time) or _process_exists(state.pid):
        if state.pid > 0 and state.pid != signalled and _process_exists(state.pid):
            _kill(state.pid, number)
            signalled = state.pid
            if paused:
                _thaw(state.pid)
        if time.monotonic() >= deadline:
            break
        if signalled and not _process_exists(signalled):
            wait_for_shim_exit(state, 10)
            return False
        time.sleep(_POLL)
        state = store.read_state(record.id)
    else:
        return False
    if state.pid > 0:
        _kill(state.pid, signal.SIGKILL)
        if paused:
            _thaw(state.pid)
    alive = pid_alive(state.shim_pid, state.shim_start_time)
    if alive and not wait_for_shim_exit(state, 10):
        _kill(state.shim_pid, signal.SIGKILL)
    return True


def _finisher(store: ContainerStore, record: ContainerRecord, state: ContainerState) -> Any:
    """The container's FINISHER connection, when its supervisor runs; else None."""
    if state.pid <= 0 or not pid_alive(state.shim_pid, state.shim_start_time):
        return None
    from pod.errors import PodError
    from pod.shim.finisher import Finisher

    try:
        return Finisher(store.layout, record.id)
    except (PodError, OSError):
        return None


def _stop_finishing(
    store: ContainerStore,
    record: ContainerRecord,
    state: ContainerState,
    finisher: Any,
    number: int,
    deadline: float,
) -> bool:
    """stop() as the container's FINISHER: the signals, then the end of the run done here when
    the supervisor hands it over (its modules loaded while the container goes), and the
    supervisor's exit awaited."""
    from pod.shim import steps

    def finish(code: int, error: str) -> str:
        return steps.finish_as_client(store.layout, record.id, code, error)

    _signal_container(state.pid, number, state.status == "paused")
    steps.load_finish_modules(record.runtime)
    forced = not finisher.wait(deadline - time.monotonic(), finish)
    if forced:
        _signal_container(store.read_state(record.id).pid, signal.SIGKILL, state.status == "paused")
        if not finisher.wait(10, finish):
            _kill(state.shim_pid, signal.SIGKILL)
            return True
    wait_for_shim_exit(state, 10)
    return forced


def _signal_container(pid: int, number: int, paused: bool) -> None:
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

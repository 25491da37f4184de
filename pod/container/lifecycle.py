"""`pod stop`, `kill`, `restart`, `wait`: one container at a time, no daemon.

The commands loop over their arguments and report each error as podman does; this module acts
on one container and raises PodError (exit 125 — a missing container too, unlike `rm`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time

from pod import events
from pod.config import Settings
from pod.container.state import current_state, podman_status
from pod.container.stop import mark_stopped_by_user, stop, stop_signal_failed
from pod.errors import NoSuchContainerError, PodError, UsageError
from pod.reporter import Reporter
from pod.store.containers import ContainerRecord, ContainerStore
from pod.store.layout import Layout
from pod.util.signals import parse_signal, signal_name

RUNNING = ("running", "paused", "stopping")
WAIT_CONDITIONS = (
    "configured", "created", "exited", "healthy", "initialized", "paused", "removing",
    "running", "stopped", "stopping", "unhealthy",
)  # fmt: skip
_EXIT_CONDITIONS = ("exited", "stopped")
_POLL_SECONDS = 0.05
# kill signals after which an exit is the user's doing, not a failure to restart from
_TERMINATING = ("SIGKILL", "SIGTERM", "SIGINT", "SIGQUIT")


def _store(settings: Settings) -> ContainerStore:
    return ContainerStore(Layout(settings.root, settings.runroot))


def engine_error(err: PodError) -> PodError:
    """podman's stop/kill/wait/... exit 125 for a missing container (rm's 1 is the exception)."""
    if isinstance(err, NoSuchContainerError):
        return PodError(str(err))
    return err


def all_ids(settings: Settings, running_only: bool) -> list[str]:
    store = _store(settings)
    records = sorted(store.list(), key=lambda r: r.created)
    if not running_only:
        return [r.id for r in records]
    return [r.id for r in records if current_state(store, r).status in RUNNING]


def stop_container(
    settings: Settings, text: str, timeout: float | None, reporter: Reporter
) -> ContainerRecord:
    """Stop one container; a stopped one is fine. `timeout` None: the record's --stop-timeout."""
    from pod.shim.finisher import stop_here

    store = _store(settings)
    record = store.lookup(text)
    state = current_state(store, record)
    seconds = record.stop_timeout if timeout is None else timeout
    if state.status not in RUNNING and not _shim_alive(state):
        mark_stopped_by_user(store, record)
        return record
    # podman: -t 0 kills quietly
    if stop(store, record, state, seconds, stop_here(store, record)) and seconds > 0:
        reporter.warning(stop_signal_failed(record, seconds))
    events.container_event(settings.runroot, record, "stop")
    return record


def _shim_alive(state) -> bool:
    from pod.store.containers import pid_alive

    return pid_alive(state.shim_pid, state.shim_start_time)


def kill_container(settings: Settings, text: str, signal_text: str) -> ContainerRecord:
    """Send a signal to the container's main process (SIGKILL unless told)."""
    number = parse_signal(signal_text)
    store = _store(settings)
    record = store.lookup(text)
    state = current_state(store, record)
    if state.status not in RUNNING or state.pid <= 0:
        raise PodError(
            f"can only kill running containers. {record.id} is in state "
            f"{podman_status(state.status)}: container state improper"
        )
    if signal_name(number) in _TERMINATING:
        state = mark_stopped_by_user(store, record, stopping=False)
    with contextlib.suppress(ProcessLookupError):
        os.kill(state.pid, number)
    if state.status == "paused" and number == signal.SIGKILL:
        from pod.container.pause import thaw_quietly

        thaw_quietly(state.pid)
    events.container_event(settings.runroot, record, "kill")
    return record


def restart_container(
    settings: Settings, text: str, timeout: float | None, reporter: Reporter
) -> ContainerRecord:
    """Stop (when running), then start with a new shim."""
    from pod.container.start import start_container

    record = stop_container(settings, text, timeout, reporter)
    start_container(settings, record.id, False, False, True, reporter)
    events.container_event(settings.runroot, record, "restart")
    return record


def parse_conditions(values: list[str]) -> tuple[str, ...]:
    for value in values:
        if value not in WAIT_CONDITIONS:
            raise UsageError(
                f'invalid condition "{value}": use one of {", ".join(WAIT_CONDITIONS)}'
            )
    return tuple(values) or _EXIT_CONDITIONS


def wait_container(
    settings: Settings, text: str, conditions: tuple[str, ...], interval: float = _POLL_SECONDS
) -> int:
    """Block until the container reaches one of `conditions`; its exit code (-1 for others)."""
    store = _store(settings)
    record = store.lookup(text)
    exit_wanted = any(c in _EXIT_CONDITIONS for c in conditions)
    first = store.read_state(record.id).finished_at
    while True:
        try:
            state = current_state(store, store.lookup(record.id))
        except NoSuchContainerError:
            raise PodError(f'no container with ID "{record.id}" found: no such container') from None
        status = podman_status(state.status)
        exited = status in _EXIT_CONDITIONS or (state.finished_at > first and state.finished_at)
        if status == "created" and not _shim_alive(state):
            exited = True  # never started (and no `start -a` on its way): podman returns at once
        if exit_wanted and exited:
            if state.exit_code is None:
                with contextlib.suppress(PodError):
                    state = store.read_state(record.id)
            if state.exit_code is not None:
                return state.exit_code
            return 0 if status == "created" else -1
        if status in conditions:
            return -1
        time.sleep(interval)

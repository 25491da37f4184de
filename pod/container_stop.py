"""Stopping a container without a daemon: signal its process, escalate, wait for the shim."""

from __future__ import annotations

import contextlib
import os
import signal
import time

from pod.container_state import wait_for_shim_exit
from pod.store.containers import ContainerRecord, ContainerState, ContainerStore, pid_alive


def signal_number(name: str) -> int:
    """`SIGTERM`, `TERM`, `15` → 15 (as podman's --stop-signal and kill -s take them)."""
    text = name.upper().removeprefix("SIG")
    if text.isdigit():
        return int(text)
    return int(getattr(signal, f"SIG{text}"))


def _kill(pid: int, number: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, number)


def stop(
    store: ContainerStore, record: ContainerRecord, state: ContainerState, timeout: float
) -> bool:
    """Stop signal, then SIGKILL after `timeout` seconds; True when the timeout forced a kill."""
    if state.pid <= 0:
        if state.shim_pid and pid_alive(state.shim_pid, state.shim_start_time):
            _kill(state.shim_pid, signal.SIGKILL)
        return False
    _kill(state.pid, signal_number(record.stop_signal or "SIGTERM"))
    deadline = time.monotonic() + max(timeout, 0)
    while time.monotonic() < deadline:
        if not _process_exists(state.pid):
            wait_for_shim_exit(state, 10)
            return False
        time.sleep(0.02)
    _kill(state.pid, signal.SIGKILL)
    wait_for_shim_exit(state, 10)
    return True


def _process_exists(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return b") Z " not in handle.read()
    except OSError:
        return False

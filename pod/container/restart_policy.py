"""`--restart`: whether a container that exited is started again, and the shim's restart step.

There is no daemon to restart containers: the shim that supervised the container applies the
policy when the container exits, in the same process (so shim_pid stays true). A `pod stop` or
`pod kill` marks the state stopped_by_user before signalling; such an exit is never restarted.
This module is imported by the shim only when a container exits, never at its start.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pod.container.state import runtime_state_root
from pod.errors import UsageError
from pod.store.containers import ContainerRecord, ContainerStore
from pod.store.layout import Layout

POLICIES = ("no", "on-failure", "always", "unless-stopped")
_FIRST_DELAY = 0.1  # seconds; doubled per restart in a row, as docker's back-off
_MAX_DELAY = 5.0
_STABLE_SECONDS = 10.0  # a container that ran this long starts its back-off anew


@dataclass(frozen=True)
class RestartPolicy:
    name: str = ""  # "" when not given: same as "no"
    retries: int = 0  # on-failure only; 0 means no limit


def parse(text: str | None) -> RestartPolicy:
    """`no`, `on-failure[:N]`, `always`, `unless-stopped` (podman's spellings)."""
    if not text:
        return RestartPolicy()
    name, sep, count = text.partition(":")
    if name not in POLICIES:
        raise UsageError(
            f'invalid restart policy "{text}": use no, on-failure[:N], always or unless-stopped'
        )
    if not sep:
        return RestartPolicy(name)
    if name != "on-failure":
        raise UsageError("restart policy retries can only be specified with on-failure")
    if not count.isdigit():
        raise UsageError(f'invalid restart policy retry count "{count}": must be an integer')
    return RestartPolicy(name, int(count))


def due(record: ContainerRecord, exit_code: int, restarts: int, stopped_by_user: bool) -> bool:
    """Does the policy restart a container that exited with `exit_code`?"""
    if stopped_by_user or record.remove:
        return False
    if record.restart_policy in ("always", "unless-stopped"):
        return True
    if record.restart_policy == "on-failure" and exit_code != 0:
        return not record.restart_retries or restarts < record.restart_retries
    return False


def delay(restarts: int, ran_for: float) -> float:
    if ran_for >= _STABLE_SECONDS:
        return _FIRST_DELAY
    return min(_FIRST_DELAY * (2**restarts), _MAX_DELAY)


def restart_if_due(
    layout: Layout, store: ContainerStore, record: ContainerRecord, exit_code: int
) -> dict[str, Any] | None:
    """Called by the shim after the container exited: None, or the new container's fds and pid.

    The exit is recorded first (so `pod wait` and `ps` see it), the runtime's container is
    deleted, the back-off waited out, and — unless a stop came meanwhile — the container is
    created and started again on the same (still mounted) rootfs, log and attach socket.
    """
    from pod.shim import supervisor as shim

    state = store.read_state(record.id)
    if not due(record, exit_code, state.restart_count, state.stopped_by_user):
        return None
    now = time.time()
    shim._update_state(
        store, record.id, status="exited", exit_code=exit_code, pid=0, finished_at=now
    )
    runtime = shim.load_runtime(record.runtime)
    state_root = runtime_state_root(layout, record.runtime)
    runtime.delete(state_root, record.id, force=True)
    from pod.network.setup import disconnect, tidy

    disconnect(layout, record)
    tidy(layout)
    time.sleep(delay(state.restart_count, now - (state.started_at or now)))
    state = store.read_state(record.id)
    if state.stopped_by_user or not store.record_file(record.id).exists():
        return None
    directory = layout.container_dir(record.id)
    stdio = shim._Stdio(record.tty, record.interactive)
    # A rootful container's published ports stay reserved by the shim between runs.
    network = shim._network_preparation(layout, record, bind_ports=False)
    try:
        shim.set_network_namespace(layout, store, record, network)
        pid = runtime.create(
            state_root,
            record.id,
            directory,
            pid_file=layout.container(record.id).pid_file,
            console_socket=Path(stdio.console_path) if stdio.console_path else None,
            stdio=stdio.container,
        )
        stdio.after_create()
        shim.network_up(record, pid, network)
        runtime.start(state_root, record.id)
    except BaseException:
        stdio.close()
        if network is not None:
            network.abandon()
        raise
    shim._update_state(
        store, record.id, status="running", pid=pid, exit_code=None, started_at=time.time(),
        finished_at=0.0, restart_count=state.restart_count + 1,
    )  # fmt: skip
    for fd in (stdio.stdin, stdio.out, stdio.err):
        if fd >= 0:
            os.set_inheritable(fd, False)
    return {"pid": pid, "stdin": stdio.stdin, "out": stdio.out, "err": stdio.err}

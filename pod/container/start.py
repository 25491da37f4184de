"""`pod start`: a created or exited container gets a new shim; a running one is left alone."""

from __future__ import annotations

from pod.config import Settings
from pod.container.state import current_state
from pod.errors import PodError
from pod.store.containers import ContainerState, ContainerStore
from pod.store.layout import Layout
from pod.store.lock import locked


def start_container(
    settings: Settings, text: str, attach_output: bool, interactive: bool, sig_proxy: bool
) -> int:
    """Start one container; with `attach_output` wait and return its exit code."""
    from pod.shim.client import attach, start_shim

    layout = Layout(settings.root, settings.runroot)
    store = ContainerStore(layout)
    record = store.lookup(text)
    state = current_state(store, record)
    if state.status in ("running", "paused"):
        return 0
    if state.status == "creating":  # its bundle may be half written
        raise PodError(
            f"container {record.id} is still being created, or its creation was cut short "
            "(remove it): container state improper"
        )
    with locked(store.container_lock(record.id)):
        store.write_state(record.id, ContainerState(status="created"))
    start_shim(layout, record, start_now=not attach_output)
    if not attach_output:
        return 0
    code = attach(
        layout,
        record.id,
        stdin=interactive and record.interactive,
        tty=record.tty,
        sig_proxy=sig_proxy,
        send_start=True,
    )
    return 0 if code is None else code

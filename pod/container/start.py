"""`pod start`: a created or exited container gets a new shim; a running one is left alone."""

from __future__ import annotations

from pod.config import Settings
from pod.container.state import current_state
from pod.errors import PodError, PortInUseError
from pod.reporter import Reporter
from pod.store.containers import ContainerState, ContainerStore
from pod.store.layout import Layout
from pod.store.lock import locked


def start_container(
    settings: Settings,
    text: str,
    attach_output: bool,
    interactive: bool,
    sig_proxy: bool,
    reporter: Reporter,
) -> int:
    """Start one container; with `attach_output` wait and return its exit code."""
    from pod.container.run import Attachment, launch

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
    attachment = None
    if attach_output:
        attachment = Attachment(interactive and record.interactive, record.tty, sig_proxy)
    try:
        code = launch(layout, record, attachment, reporter)
    except PortInUseError as err:  # `run` exits 126 for it, `start` 125 (podman's)
        raise PodError(f'unable to start container "{record.id}": {err}') from None
    return code or 0

"""`pod start`: a created or exited container gets a new shim; a running one is left alone."""

from __future__ import annotations

from pod.config import Settings
from pod.container.state import current_state
from pod.errors import PodError
from pod.reporter import Reporter
from pod.store.containers import ContainerRecord, ContainerState, ContainerStore
from pod.store.layout import Layout
from pod.store.lock import locked
from pod.systemd import notify


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
    if record.pod and not record.infra:  # the namespaces it joins must be there first
        from pod.pods.members import infra_id

        infra = infra_id(layout, record)
        if infra:
            start_container(settings, infra, False, False, True, reporter)
    with locked(store.container_lock(record.id)):
        store.write_state(record.id, ContainerState(status="created"))
    attachment = None
    if attach_output:
        attachment = Attachment(interactive and record.interactive, record.tty, sig_proxy)
    notify_socket = notify.take_socket()
    code = launch(layout, record, attachment, reporter)
    if attachment is None:
        announce(layout, record, notify_socket)
    return code or 0


def announce(layout: Layout, record: ContainerRecord, notify_socket: str) -> None:
    """A detached start is done: the supervisor's pid file, and systemd told when the
    container asked for it (pod.systemd.notify)."""
    state = ContainerStore(layout).read_state(record.id)
    paths = layout.container(record.id)
    notify.announce_started(paths, state.shim_pid, record.sd_notify, notify_socket)

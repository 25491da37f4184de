"""`pod start`: a created or exited container gets a new shim; a running one is left alone."""

from __future__ import annotations

from pod.config import Settings
from pod.container.state import current_state
from pod.errors import PodError
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
    start_dependencies(settings, record.requires, reporter)
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
    code = launch(layout, record, attachment, reporter)
    return code or 0


def start_dependencies(
    settings: Settings, names: list[str], reporter: Reporter, seen: frozenset[str] = frozenset()
) -> None:
    """Start the containers another one depends on (--requires, and those whose namespaces it
    joins) that are not running, theirs first, as podman does."""
    store = ContainerStore(Layout(settings.root, settings.runroot))
    for name in names:
        record = store.lookup(name)
        if record.id in seen:
            raise PodError(f"container {record.id} depends on itself: dependency cycle")
        if current_state(store, record).status in ("running", "paused"):
            continue
        start_dependencies(settings, record.requires, reporter, seen | {record.id})
        start_container(settings, record.id, False, False, True, reporter)

"""`pod start`: a created or exited container gets a new shim, an initialized one (`pod init`)
its START; a running one is left alone."""

from __future__ import annotations

from pod.config import Settings
from pod.container.state import current_state
from pod.errors import PodError, PortInUseError
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
    detach_keys: str | None = None,
) -> int:
    """Start one container; with `attach_output` wait and return its exit code (`detach_keys`:
    podman's default when None)."""
    from pod.container.run import Attachment, launch
    from pod.util.terminal import DEFAULT_DETACH_KEYS, parse_detach_keys

    keys = DEFAULT_DETACH_KEYS if detach_keys is None else detach_keys
    parse_detach_keys(keys)
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
    # current_state vouches for a recorded shim: one that holds the container created waits
    # for a START (`pod init`; or a `pod run` about to attach, which the START serves too)
    initialized = state.status == "created" and state.shim_pid > 0
    if not initialized:
        start_prerequisites(settings, record, reporter)
        with locked(store.container_lock(record.id)):
            store.write_state(record.id, ContainerState(status="created"))
    attachment = None
    if attach_output:
        attachment = Attachment(interactive and record.interactive, record.tty, sig_proxy, keys)
    notify_socket = notify.take_socket()
    try:
        code = launch(layout, record, attachment, reporter, initialized=initialized)
    except PortInUseError as err:  # `run` exits 126 for it, `start` 125 (podman's)
        raise PodError(f'unable to start container "{record.id}": {err}') from None
    if attachment is None:
        announce(layout, record, notify_socket)
    return code or 0


def attach_container(
    settings: Settings, text: str, stdin: bool, sig_proxy: bool, detach_keys: str | None
) -> None:
    """`pod attach`: this terminal joins a running container until it exits or the detach
    keys are typed. podman 4.3 exits 0 either way (the container's code is not passed on)."""
    from pod.shim.client import attach
    from pod.util.terminal import DEFAULT_DETACH_KEYS

    layout = Layout(settings.root, settings.runroot)
    store = ContainerStore(layout)
    record = store.lookup(text)
    if current_state(store, record).status != "running":
        raise PodError("you can only attach to running containers")
    attach(
        layout,
        record.id,
        stdin=stdin and record.interactive,
        tty=record.tty,
        sig_proxy=sig_proxy,
        detach_keys=DEFAULT_DETACH_KEYS if detach_keys is None else detach_keys,
        send_start=False,
    )


def start_prerequisites(settings: Settings, record: ContainerRecord, reporter: Reporter) -> None:
    """What must run before the container is made in its runtime: its pod's infra (whose
    namespaces it joins) and the containers it depends on."""
    if record.pod and not record.infra:
        from pod.pods.members import infra_id

        infra = infra_id(Layout(settings.root, settings.runroot), record)
        if infra:
            start_container(settings, infra, False, False, True, reporter)
    start_dependencies(settings, record.requires, reporter)


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


def announce(layout: Layout, record: ContainerRecord, notify_socket: str) -> None:
    """A detached start is done: systemd told when the container asked for it
    (pod.systemd.notify). The supervisor's pid files are the shim's to write, attached or not."""
    if notify.wants_announcement(record.sd_notify, notify_socket):
        state = ContainerStore(layout).read_state(record.id)
        notify.announce_started(state.shim_pid, notify_socket)

"""`pod init`: a container made in its runtime but not started, podman's "initialized".

Its shim mounts the rootfs, sets up the network and has the runtime create the container (the
process made, its command not run: the OCI "created" state), then waits, with no client's
lifeline, for the START a later `pod start` sends (pod.container.start). Should the shim die
meanwhile, pod.container.state's liveness check marks the container exited.
"""

from __future__ import annotations

from pod.config import Settings
from pod.container.state import current_state
from pod.errors import PodError, StateImproperError
from pod.reporter import Reporter
from pod.shim.client import start_shim
from pod.store.containers import ContainerRecord, ContainerState, ContainerStore
from pod.store.layout import Layout
from pod.store.lock import locked

INITIALIZABLE = ("configured", "exited", "stopped")  # libpod: Configured, Stopped, Exited


def init_container(settings: Settings, text: str, reporter: Reporter) -> ContainerRecord:
    """Create one container in its runtime and leave it waiting for a start."""
    from pod.container.start import start_prerequisites

    layout = Layout(settings.root, settings.runroot)
    store = ContainerStore(layout)
    record = store.lookup(text)
    _check_initializable(record, current_state(store, record))
    if record.pod:  # podman inits a pod's container recursively: what it needs is started
        start_prerequisites(settings, record, reporter)
    else:
        _check_dependencies_running(store, record)
    with locked(store.container_lock(record.id)):  # a second init now finds it "created"
        _check_initializable(record, store.read_state(record.id))
        store.write_state(record.id, ContainerState(status="created"))
    try:
        start_shim(layout, record, start_now=False, lifeline=False, reporter=reporter)
    except PodError as err:  # podman's init exits 125 whatever the runtime said
        raise PodError(str(err)) from None
    return record


def _check_initializable(record: ContainerRecord, state: ContainerState) -> None:
    if state.status not in INITIALIZABLE:
        raise StateImproperError(
            f"container {record.id} has already been created in runtime: container state improper"
        )


def _check_dependencies_running(store: ContainerStore, record: ContainerRecord) -> None:
    """podman's checkDependenciesAndHandleError: a container outside a pod is not made while
    what it depends on does not run."""
    not_running = [
        dependency
        for dependency in record.requires
        if current_state(store, store.lookup(dependency)).status not in ("running", "paused")
    ]
    if not_running:
        raise StateImproperError(
            f"some dependencies of container {record.id} are not started: "
            f"{','.join(not_running)}: container state improper"
        )

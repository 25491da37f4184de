"""A pod's exit policy "stop" (`pod pod create --exit-policy=stop`, what generated `--new`
units use): when its last container other than the infra has exited, the infra stops too, so the
pod, and a systemd unit watching the infra's supervisor, stops with its workload. podman's
stopIfOnlyInfraRemains: a member only created, not yet started, keeps the pod up."""

from __future__ import annotations

from pod import events
from pod.container.state import current_state
from pod.store.containers import ContainerRecord, ContainerStore
from pod.store.layout import Layout
from pod.store.pods import PodStore

_DONE = ("exited", "stopping")  # podman: Exited, Stopping (and Removing, which pod has not)


def stop_if_only_infra_remains(
    layout: Layout, store: ContainerStore, ended: ContainerRecord
) -> None:
    """Called as `ended` (a member, not the infra) finishes; the pod's other members decide."""
    from pod.container.stop import stop

    pod = PodStore(layout).get(ended.pod)
    if pod is None or pod.exit_policy != "stop" or not pod.infra_id:
        return
    for other in store.list():
        if other.pod != pod.id or other.infra or other.id == ended.id:
            continue
        if current_state(store, other).status not in _DONE:
            return
    from pod.errors import NoSuchContainerError

    try:
        infra = store.lookup(pod.infra_id)
    except NoSuchContainerError:
        return  # removed meanwhile
    state = current_state(store, infra)
    if state.status in ("running", "paused"):
        stop(store, infra, state, infra.stop_timeout)
        events.container_event(layout.runroot, infra, "stop")

"""A pod's containers: joining one (`run|create --pod`), finding them, and the namespaces of
the infra container they join when their shim starts them."""

from __future__ import annotations

from pod.container.options import RunOptions
from pod.errors import PodError, UsageError
from pod.store.containers import ContainerRecord, ContainerStore
from pod.store.layout import Layout
from pod.store.pods import PodRecord, PodStore
from pod.util.records import replace

# store.pods' names (podman's --share words) → the OCI runtime-spec's namespace types; the
# network is joined through the container's network mode (container:INFRA) instead.
SPEC_NAMESPACES = {"cgroup": "cgroup", "ipc": "ipc", "pid": "pid", "uts": "uts"}


def join_options(options: RunOptions, pod: PodRecord, network_given: bool) -> RunOptions:
    """`options` for a container of `pod`: its network, host name and user namespace follow
    the pod's; podman's refusals for what a shared namespace fixes already."""
    from pod.network.modes import NetworkMode

    sets_network = options.publish or options.publish_all or options.expose or network_given
    if pod.infra_id and "net" in pod.shared and sets_network:
        raise UsageError(
            "invalid config provided: published or exposed ports must be defined when the "
            "pod is created: network cannot be configured when it is shared with a pod"
        )
    if pod.infra_id and "uts" in pod.shared and options.hostname:
        raise UsageError(
            "invalid config provided: cannot set hostname when joining the pod UTS namespace: "
            "invalid configuration"
        )
    if pod.infra_id and options.userns and options.userns != (pod.userns or None):
        raise UsageError(
            "invalid config provided: cannot set a user namespace mode when joining a pod with "
            "an infra container: invalid configuration"
        )
    joined = replace(
        options,
        pod=pod.id,
        add_hosts=[*pod.add_hosts, *options.add_hosts],
        dns=options.dns or list(pod.dns),
        dns_search=options.dns_search or list(pod.dns_search),
        dns_options=options.dns_options or list(pod.dns_options),
        userns=options.userns or pod.userns or None,
    )
    if pod.infra_id and "net" in pod.shared:
        joined.network_mode = NetworkMode("container", target=pod.infra_id)
        joined.network = "container"
    if pod.infra_id and "uts" in pod.shared:
        joined.hostname = pod.hostname or pod.name
    return joined


def members(store: ContainerStore, pod: PodRecord) -> list[ContainerRecord]:
    """The pod's containers, its infra first, then by creation time."""
    found = [record for record in store.list() if record.pod == pod.id]
    return sorted(found, key=lambda r: (not r.infra, r.created))


def infra_id(layout: Layout, record: ContainerRecord) -> str:
    """The ID of the infra container of `record`'s pod ("" for none, or for the infra)."""
    pod = PodStore(layout).get(record.pod) if record.pod and not record.infra else None
    return pod.infra_id if pod is not None else ""


def infra_pid(layout: Layout, record: ContainerRecord) -> int:
    """The running process of the infra container of `record`'s pod (its shim joins it)."""
    from pod.container.state import current_state

    store = ContainerStore(layout)
    pod = PodStore(layout).get(record.pod)
    if pod is None or not pod.infra_id:
        raise PodError(f"container {record.id} is in no pod with an infra container")
    infra = store.lookup(pod.infra_id)
    state = current_state(store, infra)
    if state.status != "running" or not state.pid:
        raise PodError(
            f"the infra container {infra.id} of pod {pod.name} is not running: start the pod"
        )
    return state.pid


def infra_namespace_paths(layout: Layout, record: ContainerRecord) -> dict[str, str]:
    """spec namespace type → the infra's namespace file, for the namespaces (but the network)
    `record`'s pod shares; {} for the infra itself and for a container in no pod."""
    if not record.pod or record.infra:
        return {}
    pod = PodStore(layout).get(record.pod)
    if pod is None or not pod.infra_id:
        return {}
    kinds = [SPEC_NAMESPACES[name] for name in pod.shared if name in SPEC_NAMESPACES]
    if not kinds:
        return {}
    pid = infra_pid(layout, record)
    return {kind: f"/proc/{pid}/ns/{kind}" for kind in kinds}

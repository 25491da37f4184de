"""What `pod create` decides about a container's network, before anything runs.

Addresses are reserved here (a container keeps its address from create to removal, so its
/etc/hosts is complete from the start and concurrent creates never share one), host ports
are chosen, the rootless mode is settled (slirp4netns or loopback only) and the
container named by `container:NAME` is found. The shim later sets up exactly this.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from pod.errors import PodError, UsageError
from pod.network import ports as port_specs
from pod.network.modes import NetworkAttachment, NetworkMode
from pod.store.layout import Layout
from pod.util.records import dataclass, field


@dataclass
class NetworkPlan:
    mode: NetworkMode
    ports: list[port_specs.PortMapping] = field(default_factory=list)
    exposed: list[str] = field(default_factory=list)  # "80/tcp"
    container_ips: list[str] = field(default_factory=list)
    host_internal_ip: str = ""  # host.containers.internal; "" leaves it out
    netns_path: str = ""  # the namespace joined by container:/ns: modes


def plan_network(
    layout: Layout,
    options,
    image_exposed: list[str],
    container_id: str,
    container_name: str,
    rootless: bool,
    warn: Callable[[str], None],
) -> NetworkPlan:
    """Resolve `options.network_mode` for a new container; reserves addresses (see release)."""
    from pod.network.modes import NetworkFlags, parse_network

    mode = options.network_mode or parse_network(NetworkFlags(), rootless)
    exposed = [f"{port}/{proto}" for port, proto in _exposed(image_exposed, options.expose)]
    publish = list(options.publish)
    if options.publish_all:
        publish = port_specs.publish_all(_exposed(image_exposed, options.expose), publish)
    if publish and not mode.own_namespace or publish and mode.kind == "none":
        raise UsageError(f"cannot publish ports with --network {mode.describe()}")
    plan = NetworkPlan(mode, port_specs.choose_host_ports(publish), exposed)
    if mode.kind == "bridge":
        _reserve(layout, plan, container_id, container_name)
        if rootless:  # the bridges' gateway is in the rootless network namespace, not the host
            from pod.network import usermode

            plan.host_internal_ip = usermode.shared_host_address(layout.runroot, warn)
    elif mode.kind in ("private", "slirp4netns"):  # rootful slirp4netns needs no check
        from pod.network import usermode

        kind = usermode.resolve(mode.kind, layout.runroot, warn) if rootless else mode.kind
        plan.mode = NetworkMode(kind, target=mode.target if kind == mode.kind else "")
        plan.host_internal_ip = usermode.host_address(kind, mode.target)
    elif mode.kind == "container":
        from pod.container.state import current_state
        from pod.store.containers import ContainerStore

        store = ContainerStore(layout)
        target = store.lookup(mode.target)
        state = current_state(store, target)
        plan.mode = NetworkMode("container", target=target.id)
        if state.status == "running" and state.pid:  # else the shim joins it at start
            plan.netns_path = f"/proc/{state.pid}/ns/net"
    elif mode.kind == "ns":
        plan.netns_path = mode.target
    return plan


def _exposed(image_exposed: list[str], flags: list[tuple[int, str]]) -> list[tuple[int, str]]:
    found = port_specs.exposed_from_image(dict.fromkeys(image_exposed, {}))
    return list(dict.fromkeys([*found, *flags]))


def _reserve(layout: Layout, plan: NetworkPlan, container_id: str, container_name: str) -> None:
    """An address on each network (a named one must exist; "pod" is made on first use)."""
    from pod.network.records import open_store

    networks = open_store(layout)
    attachments = []
    try:
        for wanted in plan.mode.networks:
            net = networks.default() if wanted.name == "pod" else networks.lookup(wanted.name)
            ip = networks.allocate(
                net.name, container_id, wanted.ip or None,
                name=container_name, aliases=list(wanted.aliases),
            )  # fmt: skip
            attachments.append(NetworkAttachment(net.name, wanted.aliases, ip))
            if not plan.host_internal_ip:
                plan.host_internal_ip = net.subnets[0]["gateway"]
    except BaseException:
        for done in attachments:
            networks.release(done.name, container_id)
        raise
    plan.mode = NetworkMode("bridge", tuple(attachments))
    plan.container_ips = [a.ip for a in attachments]


def release(layout: Layout, container_id: str, networks: list[dict]) -> None:
    """Give back a removed container's addresses."""
    if not networks:
        return
    from pod.network.records import open_store

    store = open_store(layout)
    for entry in networks:
        with contextlib.suppress(PodError):  # a network removed (with -f) before the container
            store.release(entry["name"], container_id)

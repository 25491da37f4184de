"""The store's network records as the engine uses them: opened with this host's facts (the
networks its routes reach, its link names) for choosing a new network's subnet and bridge, and
removed together with their bridge and firewall rules, which the store knows nothing of."""

from __future__ import annotations

import os
from ipaddress import IPv4Network

from pod import events
from pod.store.layout import Layout
from pod.store.networks import NetworkRecord, NetworkStore


def host_networks() -> list[IPv4Network]:
    """The IPv4 networks of the host's routes and addresses (the default route left out).

    Best effort: when netlink cannot be read the answer is empty (nothing to avoid)."""
    import socket

    try:
        from pod.network.netlink import iproute

        with iproute() as ipr:
            found = [
                _network(route.get_attr("RTA_DST"), route["dst_len"])
                for route in ipr.get_routes(family=socket.AF_INET)
                if route["dst_len"] > 0 and route.get_attr("RTA_DST")
            ]
            found += [
                _network(addr.get_attr("IFA_ADDRESS"), addr["prefixlen"])
                for addr in ipr.get_addr(family=socket.AF_INET)
                if addr.get_attr("IFA_ADDRESS")
            ]
    except Exception:  # no netlink (seccomp, odd sandboxes): nothing known to avoid
        return []
    return list(dict.fromkeys(net for net in found if net is not None and net.prefixlen > 0))


def _network(address: str, prefixlen: int) -> IPv4Network | None:
    try:
        return IPv4Network(f"{address}/{prefixlen}", strict=False)
    except ValueError:
        return None


def host_interfaces() -> list[str]:
    """The host's link names: a new bridge must not take one."""
    try:
        return os.listdir("/sys/class/net")
    except OSError:
        return []


def open_store(layout: Layout) -> NetworkStore:
    """The network records of `layout`, told this host's routes and links."""
    return NetworkStore(layout, host_networks, host_interfaces)


def remove_network(store: NetworkStore, name: str, force: bool, rootless: bool) -> NetworkRecord:
    """`network rm` and prune: the bridge and its firewall rules go first, then the record
    (both under the networks lock, so no container joins the network meanwhile). In use is
    exit 2 unless `force` (see NetworkStore.removing)."""
    from pod.network.bridge import remove_network_host_parts

    with store.removing(name, force) as record:
        remove_network_host_parts(store.layout, record, rootless)
    events.network_event(store.layout.runroot, "remove", record.name, record.id, record.name)
    return record

"""Rootful bridge networks through pyroute2: the bridge, one veth pair per container, and the
container's side (address, routes, lo) configured from inside its network namespace.

Runs in the shim (root, single-threaded), which may enter the container's namespace and come
back: network namespaces are per thread and root can return to the saved one.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
from collections.abc import Iterator

from pod.errors import PodError
from pod.runtime import syscalls
from pod.util.records import dataclass, field_names

CONTAINER_IFNAME = "eth0"


@dataclass(frozen=True)
class Attachment:
    """One container interface on a bridge: what inspect and teardown need."""

    host_ifname: str
    ifname: str
    address: str
    prefixlen: int
    gateway: str
    mac: str

    def to_json(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, data: dict) -> Attachment:
        return cls(**{k: data[k] for k in field_names(cls)})


def _iproute():
    from pod.network.netlink import iproute

    return iproute()


def _netlink_error(what: str, err: Exception) -> PodError:
    reason = getattr(err, "strerror", None) or str(err)
    return PodError(f"{what}: {reason}")


@contextlib.contextmanager
def entered(netns_fd: int) -> Iterator[None]:
    """This thread inside `netns_fd` for the block, back in its own namespace afterwards."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        syscalls.setns(netns_fd, syscalls.CLONE_NEWNET)
        try:
            yield
        finally:
            syscalls.setns(own, syscalls.CLONE_NEWNET)
    finally:
        os.close(own)


def ensure_bridge(name: str, gateway: str, prefixlen: int) -> None:
    """The bridge with the gateway address, up; created when missing (idempotent)."""
    with _iproute() as ipr:
        found = ipr.link_lookup(ifname=name)
        try:
            if not found:
                ipr.link("add", ifname=name, kind="bridge")
                found = ipr.link_lookup(ifname=name)
            index = found[0]
            have = {a.get_attr("IFA_ADDRESS") for a in ipr.get_addr(index=index, family=2)}
            if gateway not in have:
                ipr.addr("add", index=index, address=gateway, prefixlen=prefixlen)
            ipr.link("set", index=index, state="up")
        except Exception as err:
            if "File exists" not in str(err):
                raise _netlink_error(f"setting up bridge {name}", err) from err


def delete_link(name: str) -> None:
    """Remove a link when it exists (a bridge, or a veth whose container is gone)."""
    with _iproute() as ipr:
        for index in ipr.link_lookup(ifname=name):
            with contextlib.suppress(Exception):  # removed meanwhile: the goal is met
                ipr.link("del", index=index)


def link_exists(name: str) -> bool:
    with _iproute() as ipr:
        return bool(ipr.link_lookup(ifname=name))


def host_ifname() -> str:
    """A fresh name per attachment (as podman's): the veth of a run that just ended may still
    await its tidy-up when the same container starts again."""
    return f"veth{os.urandom(4).hex()}"


def attach(
    bridge: str,
    netns_fd: int,
    host_name: str,
    ifname: str,
    address: str,
    prefixlen: int,
    gateway: str,
    default_route: bool,
) -> Attachment:
    """A veth pair: `host_name` on the bridge, `ifname` with `address` in the container.

    The pair is created inside the container's namespace with its host end sent out, so a
    failure half-way leaves nothing behind on the host that the container's exit would not
    take with it; the host end is deleted explicitly on error all the same.
    """
    host_ns = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        with entered(netns_fd), _iproute() as inside:
            try:
                inside.link(
                    "add", ifname=ifname, kind="veth",
                    peer={"ifname": host_name, "net_ns_fd": host_ns},
                )  # fmt: skip
                index = inside.link_lookup(ifname=ifname)[0]
                inside.addr("add", index=index, address=address, prefixlen=prefixlen)
                inside.link("set", index=index, state="up")
                for lo in inside.link_lookup(ifname="lo"):
                    inside.link("set", index=lo, state="up")
                if default_route:
                    inside.route("add", dst="0.0.0.0/0", gateway=gateway)
                mac = inside.get_links(index)[0].get_attr("IFLA_ADDRESS")
            except Exception as err:
                raise _netlink_error(f"configuring {ifname} in the container", err) from err
        with _iproute() as ipr:
            try:
                master = ipr.link_lookup(ifname=bridge)[0]
                index = ipr.link_lookup(ifname=host_name)[0]
                ipr.link("set", index=index, master=master, state="up")
                # hairpin: a container reaches its own published port through the host's
                # address (with br_netfilter loaded the DNATed packet goes back out this port)
                ipr.brport("set", index=index, mode=1)
            except Exception as err:
                raise _netlink_error(f"attaching {host_name} to {bridge}", err) from err
    except BaseException:
        delete_link(host_name)
        raise
    finally:
        os.close(host_ns)
    return Attachment(host_name, ifname, address, prefixlen, gateway, mac)


def attach_network(net, netns_fd: int, index: int, address: str, default_route: bool) -> Attachment:
    """`attach` for a network record (store.networks.NetworkRecord): interface eth<index>."""
    subnet = net.subnets[0]
    return attach(
        net.network_interface,
        netns_fd,
        host_ifname(),
        f"eth{index}",
        address,
        int(subnet["subnet"].rsplit("/", 1)[1]),
        subnet["gateway"],
        default_route=default_route,
    )


def remove_network_host_parts(layout, record, rootless: bool) -> None:
    """A network's bridge and firewall rules, taken down before its record goes: on the host,
    or (rootless) in the rootless network namespace while it runs (else they are gone with it)."""

    def remove() -> None:
        from pod.config import firewall_driver
        from pod.network import firewall, hostparts

        with hostparts.bridges_locked(layout):
            firewall.detect(firewall_driver()).teardown_network(rules_for(record))
            delete_link(record.network_interface)

    from pod.network import rootless_netns

    if not rootless or rootless_netns.current(layout) is not None:
        rootless_netns.where_the_bridges_are(layout, rootless, remove)


def rules_for(record):
    """The firewall's view of a network record."""
    from pod.network.firewall import NetworkRules

    subnet = record.subnets[0]["subnet"]
    return NetworkRules(
        name=record.network_interface,  # unique on the host, unlike names across stores
        bridge=record.network_interface,
        subnet=str(ipaddress.ip_network(subnet, strict=False)),
        internal=record.internal,
    )

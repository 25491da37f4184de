"""`pod network connect` / `disconnect`: add a network to a container or take one away.

The record changes under the container's lock (an address is reserved or released); a running
container also gets (or loses) the interface at once, and the network's running members learn
of it, as when it starts. A stopped container gets it at its next start.
"""

from __future__ import annotations

import os

from pod import events
from pod.config import Settings
from pod.container.state import current_state
from pod.errors import PodError
from pod.network import hostparts, members, setup
from pod.network.modes import NetworkAttachment
from pod.network.rootless_netns import where_the_bridges_are
from pod.network.state import read_state, save_state
from pod.store.containers import ContainerRecord, ContainerStore
from pod.store.layout import Layout
from pod.store.lock import atomic_write_json, locked
from pod.util.records import asdict


def _bridged(record: ContainerRecord) -> None:
    if record.network != "bridge":
        raise PodError(
            f"network mode {record.network} of container {record.id} does not support "
            "connecting networks: it has to be a bridge (pod network) container"
        )


def _find(settings: Settings, network: str, container: str):
    """The layout, both stores, the network record and the container record."""
    from pod.network.records import open_store

    layout = Layout(settings.root, settings.runroot)
    store, networks = ContainerStore(layout), open_store(layout)
    return layout, store, networks, networks.lookup(network), store.lookup(container)


def connect(
    settings: Settings, network: str, container: str, aliases: list[str], ip: str | None
) -> None:
    layout, store, networks, net, record = _find(settings, network, container)
    with locked(store.container_lock(record.id)):
        record = store.lookup(record.id)
        _bridged(record)
        if any(entry["name"] == net.name for entry in record.networks):
            raise PodError(
                f'container {record.id} is already connected to network "{net.name}": '
                "network is already connected"
            )
        address = networks.allocate(net.name, record.id, ip, name=record.name, aliases=aliases)
        attachment = NetworkAttachment(net.name, tuple(aliases), address)
        try:
            state = current_state(store, record)
            if state.status in ("running", "paused") and state.pid:
                _attach_running(layout, record, net, attachment, state.pid)
        except BaseException:
            networks.release(net.name, record.id)
            raise
        record.networks = [*record.networks, attachment.to_json()]
        atomic_write_json(store.record_file(record.id), asdict(record))
        members.own_address(layout, record, address, present=True)
    events.network_event(settings.runroot, "connect", net.name, record.id, record.name)


def _attach_running(layout: Layout, record: ContainerRecord, net, attachment, pid: int) -> None:
    live = read_state(layout, record.id)
    if live is None:
        raise PodError(f"container {record.id} has no network set up to add to")
    routes = not live.attachments and not net.internal

    def attach() -> dict:
        from pod.config import firewall_driver
        from pod.network import bridge, firewall

        wall = firewall.detect(firewall_driver())
        netns = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        try:
            with locked(layout.networks_lock), hostparts.bridges_locked(layout):
                setup.ensure_bridges([net], wall, only_missing=True)
                index = len(record.networks)
                return bridge.attach_network(net, netns, index, attachment.ip, routes).to_json()
        finally:
            os.close(netns)

    live.attachments[net.name] = where_the_bridges_are(layout, record.rootless, attach)
    live.named += setup.tell_members(layout, record, [net.name], joined=True)
    save_state(layout, record.id, live)


def disconnect(settings: Settings, network: str, container: str) -> None:
    layout, store, networks, net, record = _find(settings, network, container)
    with locked(store.container_lock(record.id)):
        record = store.lookup(record.id)
        if not any(entry["name"] == net.name for entry in record.networks):
            raise PodError(f"container {record.id} is not connected to network {net.name}")
        live = read_state(layout, record.id)
        state = current_state(store, record)
        running = state.status in ("running", "paused")
        if running and live is not None and net.name in live.attachments:
            if net.name in live.named:
                setup.tell_members(layout, record, [net.name], joined=False)
                live.named.remove(net.name)
            done = live.attachments.pop(net.name)
            save_state(layout, record.id, live)
            veth = done["host_ifname"]
            if record.rootless:  # the bridge stays in the rootless namespace while it runs
                from pod.network.bridge import delete_link

                where_the_bridges_are(layout, True, lambda: delete_link(veth))
            else:
                setup.queue_tidy(layout, record.id + "-" + net.name, [veth], [net.name])
        record.networks = [entry for entry in record.networks if entry["name"] != net.name]
        atomic_write_json(store.record_file(record.id), asdict(record))
        address = networks.allocations(net.name).get(record.id, {}).get("ip", "")
        networks.release(net.name, record.id)
        members.own_address(layout, record, address, present=False)
    events.network_event(settings.runroot, "disconnect", net.name, record.id, record.name)
    setup.tidy(layout)

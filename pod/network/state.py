"""What the shim set up for a container's network, kept in its network.json: written by
pod.network.setup, read by inspect, ps, port, the /etc/hosts of network members
(pod.network.members) and `disconnect`, which undoes exactly that."""

from __future__ import annotations

from pod.store.layout import Layout
from pod.store.lock import atomic_write_json, read_json
from pod.util.records import asdict, dataclass, field, field_names


@dataclass
class NetworkState:
    """What the shim set up for one run of the container."""

    kind: str = ""  # bridge, none, host, container, ns, slirp4netns, private
    pid: int = 0  # the container's process: its namespace is /proc/<pid>/ns/net
    attachments: dict[str, dict] = field(default_factory=dict)  # network → bridge.Attachment
    ports: list[dict] = field(default_factory=list)  # PortMapping.to_json()
    helper_pid: int = 0  # slirp4netns
    named: list[str] = field(default_factory=list)  # networks whose members know it by name
    forwarder_pid: int = 0

    @classmethod
    def from_json(cls, data: dict) -> NetworkState:
        return cls(**{k: v for k, v in data.items() if k in field_names(cls)})


def read_state(layout: Layout, container_id: str) -> NetworkState | None:
    data = read_json(layout.container(container_id).network_state)
    return NetworkState.from_json(data) if data else None


def save_state(layout: Layout, container_id: str, state: NetworkState) -> None:
    atomic_write_json(layout.container(container_id).network_state, asdict(state), 0o600)


def tidy_pending(layout: Layout) -> bool:
    """Whether `tidy` has anything to look at, by file checks alone: host parts a shim left
    for tidying, or a rootless network namespace that may be unused now."""
    if layout.rootless_netns_holder.exists():
        return True
    try:
        return any(layout.network_tidy_root.iterdir())
    except FileNotFoundError:
        return False


def leftovers_possible(layout: Layout, container_id: str) -> bool:
    """Whether removing this container may have network parts to undo (its network.json,
    what `disconnect` reads) or tidy. False: the network modules need not even be loaded."""
    return layout.container(container_id).network_state.exists() or tidy_pending(layout)

"""Network records and their address allocations (IPAM), as podman's netavark backend keeps them.

`<root>/networks/<name>.json` is the record in netavark's JSON shape (what `network inspect`
prints); `<root>/networks/ipam/<name>.json` the addresses given out on it, with each member's
name and aliases for /etc/hosts. Every change happens under one lock (`lock_path`) with atomic
writes; reads take no lock, so code already holding it (the bridge set-up) can still read.
The default network "pod" is made on first use: pod never has a network-less store.
Only records: the host's bridges and firewall rules are the engine's (pod.network), which also
tells the store what the host already uses (its routes and link names) when a network is made.
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import itertools
import os
from collections.abc import Callable, Iterator
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any

from pod import events
from pod.errors import (
    NetworkExistsError,
    NetworkInUseError,
    NoSuchNetworkError,
    PodError,
    UsageError,
)
from pod.store import subnets
from pod.store.layout import Layout
from pod.store.lock import atomic_write_json, locked, read_json
from pod.store.names import name_problem
from pod.util.filters import group_filters, labels_match, parse_bool, regex_any
from pod.util.records import dataclass, field, field_names
from pod.util.timefmt import go_now, parse_moment, parse_time

DEFAULT_NAME = "pod"
DEFAULT_BRIDGE = "pod0"
# Fixed, as podman's default network ID is: scripts may match on it.
DEFAULT_ID = hashlib.sha256(DEFAULT_NAME.encode()).hexdigest()
BRIDGE_PREFIX = "pod"  # bridges pod0 (default), pod1, ...; generated network names alike
DRIVERS = ("bridge",)
# `--network` words that cannot name a network (podman's list, plus pasta).
MODE_NAMES = ("none", "host", "bridge", "private", "slirp4netns", "pasta", "container", "ns")


def not_found(name_or_id: str) -> NoSuchNetworkError:
    return NoSuchNetworkError(
        f"unable to find network with name or ID {name_or_id}: network not found"
    )


def check_removable(record: NetworkRecord) -> None:
    """The default network stays (callers check before removing the containers on one)."""
    if record.name == DEFAULT_NAME:
        raise PodError(f"default network {DEFAULT_NAME} cannot be removed")


@dataclass
class NetworkRecord:
    """One network; field names and JSON keys are netavark's."""

    name: str
    id: str
    driver: str = "bridge"
    network_interface: str = ""
    created: str = ""
    subnets: list[dict[str, str]] = field(default_factory=list)  # [{"subnet", "gateway"}]
    ipv6_enabled: bool = False
    internal: bool = False
    dns_enabled: bool = True
    labels: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    ipam_options: dict[str, str] = field(default_factory=lambda: {"driver": "host-local"})

    @property
    def subnet(self) -> IPv4Network:
        return IPv4Network(self.subnets[0]["subnet"])

    @property
    def gateway(self) -> IPv4Address:
        return IPv4Address(self.subnets[0]["gateway"])

    def to_json(self) -> dict[str, Any]:
        """podman's inspect document: keys in netavark's order, empty ones left out as Go's
        `omitempty` does."""
        doc: dict[str, Any] = {"name": self.name, "id": self.id, "driver": self.driver}
        if self.network_interface:
            doc["network_interface"] = self.network_interface
        doc["created"] = self.created
        if self.subnets:  # types.Subnet's order; the gateway is omitempty
            doc["subnets"] = [
                {k: s[k] for k in ("subnet", "gateway", "lease_range") if s.get(k)}
                for s in self.subnets
            ]
        doc["ipv6_enabled"] = self.ipv6_enabled
        doc["internal"] = self.internal
        doc["dns_enabled"] = self.dns_enabled
        for key in ("labels", "options", "ipam_options"):
            if getattr(self, key):
                doc[key] = dict(sorted(getattr(self, key).items()))
        return doc

    @classmethod
    def from_dict(cls, data: dict) -> NetworkRecord:
        known = set(field_names(cls))
        return cls(**{k: v for k, v in data.items() if k in known})


class NetworkStore:
    """Networks and addresses under `lock_path`. `host_networks` and `interfaces` tell the
    networks the host's routes reach and its link names, asked only when a network is made
    (the engine passes pod.network.records' readers; tests their own)."""

    def __init__(
        self,
        layout: Layout,
        host_networks: Callable[[], list[IPv4Network]],
        interfaces: Callable[[], list[str]],
    ) -> None:
        self.layout = layout
        self._host_networks = host_networks
        self._interfaces = interfaces

    @property
    def lock_path(self) -> Path:
        return self.layout.networks_lock

    # --- records ---

    def get(self, name: str) -> NetworkRecord:
        """The network named exactly `name` (no lock taken, the default is not created)."""
        data = read_json(self.layout.network_file(name)) if name_problem(name) is None else None
        if not data:
            raise not_found(name)
        return NetworkRecord.from_dict(data)

    def _records(self) -> list[NetworkRecord]:
        root = self.layout.networks_root
        if not root.is_dir():
            return []
        found = [read_json(path) for path in root.glob("*.json")]
        return sorted((NetworkRecord.from_dict(d) for d in found if d), key=lambda r: r.name)

    def list(self) -> list[NetworkRecord]:
        """All networks by name, the default one included (made now if it is not yet)."""
        self._ensure_default()
        return self._records()

    def lookup(self, name_or_id: str) -> NetworkRecord:
        """By name, else by full or unique partial ID (podman's rules)."""
        self._ensure_default()
        with contextlib.suppress(NoSuchNetworkError):
            return self.get(name_or_id)
        matches = [r for r in self._records() if r.id.startswith(name_or_id)] if name_or_id else []
        if len(matches) > 1:
            raise PodError(f"more than one result for network ID {name_or_id}")
        if not matches:
            raise not_found(name_or_id)
        return matches[0]

    def exists(self, name_or_id: str) -> bool:
        try:
            self.lookup(name_or_id)
        except NoSuchNetworkError:
            return False
        return True

    def default(self) -> NetworkRecord:
        """The default network, created with the first free subnet on first use."""
        with contextlib.suppress(NoSuchNetworkError):
            return self.get(DEFAULT_NAME)
        with locked(self.lock_path):
            return self._default_locked()

    def _ensure_default(self) -> None:
        if not self.layout.network_file(DEFAULT_NAME).exists():
            self.default()

    def _default_locked(self) -> NetworkRecord:
        with contextlib.suppress(NoSuchNetworkError):
            return self.get(DEFAULT_NAME)
        records = self._records()
        used = [r.subnet for r in records]
        subnet = subnets.choose_subnet(used, self._host_networks())
        # Another store on this host (tests, a second --root) may have its default's pod0 up.
        taken = {r.network_interface for r in records} | set(self._interfaces())
        device = DEFAULT_BRIDGE if DEFAULT_BRIDGE not in taken else self._free_device_name(records)
        record = NetworkRecord(
            name=DEFAULT_NAME,
            id=DEFAULT_ID,
            network_interface=device,
            created=go_now(),
            subnets=[{"subnet": str(subnet), "gateway": str(subnets.gateway_for(subnet))}],
            dns_enabled=False,  # as podman's default network: no name resolution on it
        )
        atomic_write_json(self.layout.network_file(record.name), record.to_json())
        return record

    def create(
        self,
        name: str | None = None,
        *,
        driver: str = "bridge",
        subnet: str | None = None,
        gateway: str | None = None,
        internal: bool = False,
        labels: dict[str, str] | None = None,
    ) -> NetworkRecord:
        """A new bridge network: a free /24 unless `subnet` is given, gateway its first host."""
        if gateway is not None and subnet is None:
            raise UsageError("cannot set gateway or range without subnet")
        chosen = subnets.parse_subnet(subnet) if subnet is not None else None
        if name in MODE_NAMES:
            raise PodError(
                f'cannot create network with name "{name}" because it conflicts with a valid '
                "network mode"
            )
        problem = None if name is None else name_problem(name)
        if problem:
            raise PodError(f"network name {name} invalid: {problem}")
        with locked(self.lock_path):
            self._default_locked()
            records = self._records()
            if name is not None and any(r.name == name for r in records):
                raise NetworkExistsError(
                    f"network name {name} already used: network already exists"
                )
            if driver not in DRIVERS:
                raise PodError(f"unsupported driver {driver}: invalid argument")
            device = self._free_device_name(records)
            used = [r.subnet for r in records]
            host = self._host_networks()
            if chosen is None:
                chosen = subnets.choose_subnet(used, host)
            else:
                subnets.check_free(chosen, used, host)
            record = NetworkRecord(
                name=name or device,
                id=os.urandom(32).hex(),
                driver=driver,
                network_interface=device,
                created=go_now(),
                subnets=[
                    {"subnet": str(chosen), "gateway": str(subnets.gateway_for(chosen, gateway))}
                ],
                internal=internal,
                labels=dict(labels or {}),
            )
            atomic_write_json(self.layout.network_file(record.name), record.to_json())
        events.network_event(self.layout.runroot, "create", record.name, record.id, record.name)
        return record

    def _free_device_name(self, records: builtins.list[NetworkRecord]) -> str:
        """pod1, pod2, ...: the first not naming a network, a bridge of one, or a host link
        (0 is the default network's)."""
        taken = {r.name for r in records} | {r.network_interface for r in records}
        taken |= set(self._interfaces())
        index = 1
        while f"{BRIDGE_PREFIX}{index}" in taken:
            index += 1
        return f"{BRIDGE_PREFIX}{index}"

    @contextlib.contextmanager
    def removing(self, name: str, force: bool = False) -> Iterator[NetworkRecord]:
        """Under the lock: the record to remove, deleted with its allocations when the block
        ends without an error (the engine takes the host's parts down in the block, so a
        failure there keeps the record that finds them).

        In use (addresses given out) is exit 2 unless `force`: the caller removes the
        containers first; any allocation left then is dropped with the network."""
        with locked(self.lock_path):
            record = self.get(name)
            check_removable(record)
            if self._members(name) and not force:
                raise NetworkInUseError(
                    f'"{name}" has associated containers with it. Use -f to forcibly delete '
                    "containers and pods: network is being used"
                )
            yield record
            self.layout.network_file(name).unlink(missing_ok=True)
            self.layout.network_allocations_file(name).unlink(missing_ok=True)

    # --- addresses ---

    def _read_allocations(self, name: str) -> dict[str, Any]:
        data = read_json(self.layout.network_allocations_file(name)) or {}
        return {"last": data.get("last", ""), "members": data.get("members", {})}

    def _members(self, name: str) -> dict[str, dict]:
        return self._read_allocations(name)["members"]

    def allocations(self, network_name: str) -> dict[str, dict]:
        """container ID → {"ip", "name", "aliases"} on the network (no lock taken)."""
        self.get(network_name)
        return self._members(network_name)

    def allocate(
        self,
        network_name: str,
        container_id: str,
        requested: str | None = None,
        *,
        name: str = "",
        aliases: builtins.list[str] | None = None,
    ) -> str:
        """An address for the container: `requested` if free, else the next free one after the
        last given out (host-local's order). Never the network, gateway or broadcast address.
        Asking again for the same container returns its address."""
        with locked(self.lock_path):
            record = self.get(network_name)
            state = self._read_allocations(network_name)
            members = state["members"]
            mine = members.get(container_id)
            if mine and requested in (None, mine["ip"]):
                return mine["ip"]
            taken = {entry["ip"]: cid for cid, entry in members.items() if cid != container_id}
            if requested is not None:
                address = self._check_requested(record, requested, taken)
            else:
                address = self._next_free(record, state["last"], set(taken))
                state["last"] = address
            members[container_id] = {"ip": address, "name": name, "aliases": list(aliases or [])}
            atomic_write_json(self.layout.network_allocations_file(network_name), state)
            return address

    @staticmethod
    def _check_requested(record: NetworkRecord, requested: str, taken: dict[str, str]) -> str:
        try:
            address = IPv4Address(requested)
        except ValueError:
            raise UsageError(f"{requested} is not an IPv4 address") from None
        subnet = record.subnet
        if address not in subnet:
            raise PodError(
                f"requested static ip {address} not in any subnet on network {record.name}"
            )
        if address in (subnet.network_address, subnet.broadcast_address, record.gateway):
            raise PodError(
                f"IPAM error: requested ip address {address} is the network, gateway or "
                f"broadcast address of network {record.name}"
            )
        if str(address) in taken:
            raise PodError(
                f"IPAM error: requested ip address {address} is already allocated to container "
                f"ID {taken[str(address)]}"
            )
        return str(address)

    @staticmethod
    def _next_free(record: NetworkRecord, last: str, taken: set[str]) -> str:
        subnet = record.subnet
        first = int(subnet.network_address) + 1
        end = int(subnet.broadcast_address) - 1
        start = first
        with contextlib.suppress(ValueError):
            if last and first <= int(IPv4Address(last)) < end:
                start = int(IPv4Address(last)) + 1
        skip = taken | {str(record.gateway)}
        for candidate in itertools.chain(range(start, end + 1), range(first, start)):
            if str(IPv4Address(candidate)) not in skip:
                return str(IPv4Address(candidate))
        raise PodError(
            f"IPAM error: failed to find free IP in range: {IPv4Address(first)} - "
            f"{IPv4Address(end)}"
        )

    def release(self, network_name: str, container_id: str) -> None:
        """Give the container's address back; nothing to do if it has none (or the network
        is gone)."""
        with locked(self.lock_path):
            path = self.layout.network_allocations_file(network_name)
            if name_problem(network_name) or not path.exists():
                return
            state = self._read_allocations(network_name)
            if state["members"].pop(container_id, None) is not None:
                atomic_write_json(path, state)


# --- `ls --filter` and `prune --filter`, as podman's libnetwork filters ---

LIST_FILTERS = ("name", "id", "driver", "label", "label!", "until", "dangling")
PRUNE_FILTERS = ("label", "label!", "until")


def parse_filters(items: list[str], allowed: tuple[str, ...]) -> dict[str, list[str]]:
    """`key=value` flags → key → values (several values of one key: any may match)."""
    parsed = group_filters(items)
    for key in parsed:
        if key not in allowed:
            raise UsageError(f'invalid filter "{key}"')
    return parsed


def _parse_bool(text: str) -> bool:
    """Go's strconv.ParseBool."""
    value = parse_bool(text)
    if value is None:
        raise UsageError(f'invalid dangling filter value "{text}"')
    return value


def select(
    records: list[NetworkRecord], filters: dict[str, list[str]], in_use: set[str]
) -> list[NetworkRecord]:
    """The records every filter key accepts; `in_use` names the networks with containers."""
    checks = [_filter_check(key, values, in_use) for key, values in filters.items()]
    return [r for r in records if all(check(r) for check in checks if check)]


def _filter_check(
    key: str, values: list[str], in_use: set[str]
) -> Callable[[NetworkRecord], bool] | None:
    """The test of one filter key (None for a key that does not filter networks)."""
    if key == "name":
        return lambda r: regex_any(values, r.name)
    if key == "id":
        return lambda r: regex_any(values, r.id)
    if key == "driver":
        return lambda r: r.driver in values
    if key == "label":
        return lambda r: labels_match(values, r.labels)
    if key == "label!":
        return lambda r: not labels_match(values, r.labels)
    if key == "until":
        return _until(values)
    if key == "dangling":
        if len(values) > 1:
            raise UsageError('got more than one value for filter key "dangling"')
        wanted = _parse_bool(values[0])
        keep = in_use | {DEFAULT_NAME}  # the default network is never dangling
        return lambda r: (r.name not in keep) == wanted
    return None


def _until(values: list[str]) -> Callable[[NetworkRecord], bool]:
    if len(values) != 1:
        raise UsageError("specify exactly one timestamp for until")
    limit = parse_moment(values[0])
    return lambda r: parse_time(r.created) < limit

"""What `network ls` and `network inspect` templates see: podman's types.Network (Go field
names and types) and `network ls`'s ListPrintReports (ID cut to 12, Labels as `k=v,...`)."""

from __future__ import annotations

import ipaddress
from typing import Any

from pod.format import GoMap, GoStruct, NilMap, NilSlice, gofield
from pod.util.gotime import GoTime
from pod.util.records import InitVar, dataclass

# podman's overrides of the ListPrintReports field headers
HEADERS = {"Name": "name", "Driver": "driver", "Labels": "labels", "ID": "network id"}


class IPNet:
    """types.IPNet: printed on its own (`{{.Subnet}}`) it is its text (`10.88.0.0/16`: its
    String method has a pointer receiver, which text/template reaches through the field's
    address); inside a printed struct or list Go prints the struct (`{{10.88.0.0 ffff0000}}`);
    JSON has its text."""

    def __init__(self, cidr: str) -> None:
        self.cidr = cidr

    def __go_pointer_str__(self) -> str:
        return str(ipaddress.ip_network(self.cidr, strict=False))

    def __str__(self) -> str:
        network = ipaddress.ip_network(self.cidr, strict=False)
        return f"{{{{{network.network_address} {network.netmask.packed.hex()}}}}}"

    def __go_json__(self) -> str:
        return self.cidr


@dataclass
class Subnet(GoStruct):
    GO_TYPE = "types.Subnet"
    Subnet: IPNet = gofield("subnet")
    Gateway: str = gofield("gateway,omitempty")
    LeaseRange: Any = gofield("lease_range,omitempty", default=None)


@dataclass
class Network(GoStruct):
    GO_TYPE = "types.Network"
    Name: str = gofield("name")
    ID: str = gofield("id")
    Driver: str = gofield("driver")
    NetworkInterface: str = gofield("network_interface,omitempty")
    Created: GoTime = gofield("created,omitempty")
    Subnets: list[Subnet] = gofield("subnets,omitempty", default_factory=NilSlice)
    IPv6Enabled: bool = gofield("ipv6_enabled", default=False)
    Internal: bool = gofield("internal", default=False)
    DNSEnabled: bool = gofield("dns_enabled", default=False)
    Labels: GoMap = gofield("labels,omitempty", default_factory=NilMap)
    Options: GoMap = gofield("options,omitempty", default_factory=NilMap)
    IPAMOptions: GoMap = gofield("ipam_options,omitempty", default_factory=NilMap)


@dataclass
class ListPrintReports(GoStruct):
    GO_TYPE = "network.ListPrintReports"
    Network: Network = gofield(embedded=True)
    no_trunc: InitVar[bool] = False

    def __post_init__(self, no_trunc: bool) -> None:
        self._no_trunc = no_trunc

    def Labels(self) -> str:  # noqa: N802 - podman's method names are the template's
        return ",".join(f"{k}={v}" for k, v in sorted(self.Network.Labels.items()))

    def ID(self) -> str:  # noqa: N802
        return self.Network.ID if self._no_trunc else self.Network.ID[:12]


def network_struct(record: Any) -> Network:
    """A pod.store.networks record as types.Network."""
    return Network(
        Name=record.name,
        ID=record.id,
        Driver=record.driver,
        NetworkInterface=record.network_interface,
        Created=GoTime.parse(record.created),
        Subnets=[Subnet(IPNet(s["subnet"]), s.get("gateway", "")) for s in record.subnets],
        IPv6Enabled=record.ipv6_enabled,
        Internal=record.internal,
        DNSEnabled=record.dns_enabled,
        Labels=GoMap(record.labels),
        Options=GoMap(record.options),
        IPAMOptions=GoMap(record.ipam_options),
    )

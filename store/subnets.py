"""Which IPv4 subnet a new network gets, and the checks on a subnet or gateway a user gives.

Pure data logic: the networks the host already reaches (so a new bridge never shadows a route
the host relies on) are passed in by the engine (pod.network.records), which asks the kernel.
Error texts are podman's where podman has one.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Network

from pod.errors import PodError, UsageError

POOL_FIRST = IPv4Address("10.90.0.0")  # the first /24 normally goes to the default network
POOL_LAST = IPv4Address("10.255.255.0")
PREFIX = 24
# podman's default network: never chosen, so pod and podman can run side by side.
RESERVED = (IPv4Network("10.88.0.0/16"),)
SMALLEST_PREFIX = 30  # a /30 holds the gateway and one container


def overlaps(subnet: IPv4Network, others: Iterable[IPv4Network]) -> bool:
    return any(subnet.overlaps(other) for other in others)


def choose_subnet(used: Iterable[IPv4Network], host: Iterable[IPv4Network]) -> IPv4Network:
    """The first /24 from 10.90.0.0 upward that overlaps no pod network, no host route and not
    podman's 10.88.0.0/16."""
    taken = [*used, *host, *RESERVED]
    step = 1 << (32 - PREFIX)
    for base in range(int(POOL_FIRST), int(POOL_LAST) + 1, step):
        candidate = IPv4Network((base, PREFIX))
        if not overlaps(candidate, taken):
            return candidate
    raise PodError("could not find free subnet from subnet pools")


def parse_subnet(text: str) -> IPv4Network:
    """`--subnet`: CIDR notation, IPv4, host bits cleared as podman does."""
    try:
        if "/" not in text:
            raise ValueError(text)
        subnet = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise UsageError(f"invalid CIDR address: {text}") from None
    if not isinstance(subnet, IPv4Network):
        raise UsageError(f"subnet {subnet} is IPv6: pod networks are IPv4 only")
    if subnet.prefixlen > SMALLEST_PREFIX:
        raise UsageError(
            f"subnet {subnet} is too small: use a /{SMALLEST_PREFIX} or larger network"
        )
    return subnet


def check_free(subnet: IPv4Network, used: Iterable[IPv4Network], host: Iterable[IPv4Network]):
    """A subnet the user chose must not overlap another network or a host route."""
    if overlaps(subnet, [*used, *host]):
        raise PodError(f"subnet {subnet} is already used on the host or by another config")


def parse_gateway(text: str) -> IPv4Address:
    try:
        return IPv4Address(text)
    except ValueError:
        raise UsageError(
            f'invalid argument "{text}" for "--gateway" flag: '
            f"invalid string being converted to IP address: {text}"
        ) from None


def gateway_for(subnet: IPv4Network, gateway: str | None = None) -> IPv4Address:
    """The given gateway (inside `subnet`, not its network or broadcast address), else the
    subnet's first host address."""
    if gateway is None:
        return subnet.network_address + 1
    address = parse_gateway(gateway)
    if address not in subnet:
        raise UsageError(f"gateway {address} not in subnet {subnet}")
    if address in (subnet.network_address, subnet.broadcast_address):
        raise UsageError(
            f"gateway {address} is the network or broadcast address of subnet {subnet}"
        )
    return address

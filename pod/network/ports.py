"""Published and exposed ports: `-p`, `-P`, `--expose`, and how ps, port and inspect show them.

Pure logic, standard library only (ps and inspect import this on their fast path). Parsing
follows podman 4.3 step by step so the same input fails with the same message: the flag value
is split on commas first (podman's -p and --expose are string-slice flags), then each part is
checked for syntax, and only then are protocols and conflicts checked, as podman's create does.
Ranges are expanded into one PortMapping per port; the views compact them back as podman shows.
"""

from __future__ import annotations

import errno
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from pod.errors import PodError, UsageError
from pod.util.records import dataclass, replace

PROTOCOLS = ("tcp", "udp", "sctp")
_DEFAULT_EPHEMERAL = (32768, 60999)  # Linux's default net.ipv4.ip_local_port_range


@dataclass(frozen=True)
class PortMapping:
    """One host port forwarded to one container port (ranges are expanded)."""

    host_ip: str  # "" means all addresses
    host_port: int  # 0 = not chosen yet (random)
    container_port: int
    protocol: str = "tcp"  # "tcp", "udp" or "sctp"

    def to_json(self) -> dict[str, Any]:
        return {
            "host_ip": self.host_ip,
            "host_port": self.host_port,
            "container_port": self.container_port,
            "protocol": self.protocol,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PortMapping:
        return cls(
            host_ip=str(data.get("host_ip", "")),
            host_port=int(data.get("host_port", 0)),
            container_port=int(data["container_port"]),
            protocol=str(data.get("protocol", "tcp")),
        )


@dataclass(frozen=True)
class _Publish:
    """One `-p` value after the syntax checks, before protocols and conflicts are checked."""

    host_ip: str
    host_start: int  # 0: random
    container_start: int
    length: int
    protocol: str  # as given; "" when not given


# --- parsing -----------------------------------------------------------------------------------


def _flag_values(values: Iterable[str]) -> list[str]:
    """podman's string-slice flags split each value on commas; an empty value gives nothing."""
    return [part for value in values if value for part in value.split(",")]


def _go_quote(text: str) -> str:
    """Go's %q for the strings that appear in podman's messages."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    escaped = "".join(c if c.isprintable() else repr(c)[1:-1] for c in escaped)
    return f'"{escaped}"'


def _atoi(text: str) -> int:
    """Go's strconv.Atoi: an optional sign and decimal digits, within int64."""
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        raise ValueError(f"strconv.Atoi: parsing {_go_quote(text)}: invalid syntax")
    number = int(text)
    if not -(2**63) <= number < 2**63:
        raise ValueError(f"strconv.Atoi: parsing {_go_quote(text)}: value out of range")
    return number


def _port_number(text: str) -> int:
    try:
        number = _atoi(text)
    except ValueError as err:
        raise UsageError(f"invalid port number: {err}") from None
    if not 1 <= number <= 65535:
        raise UsageError(f"port numbers must be between 1 and 65535 (inclusive), got {number}")
    return number


def _port_range(text: str) -> tuple[int, int]:
    """`80` or `8000-8002` → (start, length)."""
    parts = text.split("-")
    if len(parts) > 2:
        raise UsageError("invalid port format - port ranges are formatted as startPort-stopPort")
    if parts[0] == "":
        raise UsageError("port numbers cannot be negative")
    start = _port_number(parts[0])
    if len(parts) == 1:
        return start, 1
    if parts[1] == "":
        raise UsageError("must provide ending number for port range")
    end = _port_number(parts[1])
    if end <= start:
        raise UsageError(
            "the end port of a range must be higher than the start port - "
            f"{end} is not higher than {start}"
        )
    return start, end - start + 1


def _prefixed(prefix: str, parse: Callable[[str], tuple[int, int]], text: str) -> tuple[int, int]:
    try:
        return parse(text)
    except UsageError as err:
        raise UsageError(f"{prefix}: {err}") from None


def _host_ip(text: str) -> str:
    """podman leaves 0.0.0.0 unset and stores other addresses as Go prints them."""
    if text == "0.0.0.0":
        return ""
    import ipaddress

    try:
        if "%" in text:  # Go's net.ParseIP takes no zone
            raise ValueError(text)
        address = ipaddress.ip_address(text)
    except ValueError:
        raise UsageError(f"cannot parse {_go_quote(text)} as an IP address") from None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)  # Go prints a v4-mapped address as plain IPv4
    return address.compressed


def _split_publish(text: str) -> _Publish:
    """`[[ip:][hostPort]:]containerPort[/proto]`, with `[v6]:hostPort:containerPort` for IPv6."""
    remainder, *protos = text.split("/")
    if len(protos) > 1:
        raise UsageError("invalid port format - protocol can only be specified once")
    protocol = protos[0] if protos else None
    host_ip: str | None = None
    v6 = remainder.split("]")
    if len(v6) > 2:
        raise UsageError(
            "invalid port format - at most one IPv6 address can be specified in a --publish"
        )
    if len(v6) == 2:
        if not v6[0].startswith("["):
            raise UsageError("invalid port format - IPv6 addresses must be enclosed by []")
        if not v6[1].startswith(":"):
            raise UsageError("invalid port format - IPv6 address must be followed by a colon (':')")
        host_ip, remainder = v6[0][1:], v6[1][1:]
    parts = remainder.split(":")
    host_port: str | None = None
    if len(parts) == 1:
        if host_ip is not None:
            raise UsageError(
                "invalid port format - must provide host and destination port if specifying an IP"
            )
        container = parts[0]
    elif len(parts) == 2:
        host_port, container = parts
    elif len(parts) == 3 and host_ip is None:
        host_ip, host_port, container = parts
    elif len(parts) == 3:
        raise UsageError(
            "invalid port format - when v6 address specified, must be [ipv6]:hostPort:ctrPort"
        )
    else:
        raise UsageError("invalid port format - format is [[hostIP:]hostPort:]containerPort")

    if container == "":
        raise UsageError("must provide a non-empty container port to publish")
    ctr_start, length = _prefixed("parsing container port", _port_range, container)
    if protocol == "":
        raise UsageError("must provide a non-empty protocol to publish")
    if host_ip == "":
        raise UsageError("must provide a non-empty container host IP to publish")
    ip = _host_ip(host_ip) if host_ip is not None else ""
    host_start = 0
    if host_port:  # "" (as in 127.0.0.1::80) asks for a random port
        host_start, host_length = _prefixed("parsing host port", _port_range, host_port)
        if host_length != length:
            raise UsageError(
                f"host and container port ranges have different lengths: {host_length} vs {length}"
            )
    return _Publish(ip, host_start, ctr_start, length, protocol or "")


def _protocols(text: str, allow_sctp: bool = True) -> list[str]:
    """A comma list of protocols, lower-cased and de-duplicated; an empty one means tcp."""
    found: list[str] = []
    for name in text.split(","):
        name = name.lower() or "tcp"
        if name not in PROTOCOLS:
            raise UsageError(f'unrecognized protocol "{name}" in port mapping')
        if name == "sctp" and not allow_sctp:
            raise UsageError("protocol SCTP is not allowed for exposed ports")
        if name not in found:
            found.append(name)
    return found


def parse_publish(values: Sequence[str]) -> list[PortMapping]:
    """`-p` values → one mapping per port and protocol, in the order given.

    The same mapping given twice is kept once (podman merges them); one host port, protocol and
    address forwarded to two different container ports is an error.
    """
    specs = [_split_publish(part) for part in _flag_values(values)]
    checked = [(spec, _protocols(spec.protocol)) for spec in specs]
    result: list[PortMapping] = []
    seen: set[PortMapping] = set()
    targets: dict[tuple[str, str, int], int] = {}
    for spec, protocols in checked:
        for protocol in protocols:
            for offset in range(spec.length):
                host_port = spec.host_start + offset if spec.host_start else 0
                mapping = PortMapping(
                    spec.host_ip, host_port, spec.container_start + offset, protocol
                )
                if mapping in seen:
                    continue
                if host_port:
                    key = (spec.host_ip, protocol, host_port)
                    if targets.setdefault(key, mapping.container_port) != mapping.container_port:
                        raise UsageError(
                            f"conflicting port mappings for host port {host_port} "
                            f"(protocol {protocol})"
                        )
                seen.add(mapping)
                result.append(mapping)
    return result


def _split_expose(text: str) -> tuple[int, int, str]:
    """`8000-8002/udp` → (start, length, protocols as given)."""
    port, *protos = text.split("/")
    if len(protos) > 1:
        raise UsageError("invalid expose format - protocol can only be specified once")
    start, length = _port_range(port)
    return start, length, protos[0] if protos else "tcp"


def _expand_exposed(specs: list[tuple[int, int, str]]) -> list[tuple[int, str]]:
    """Protocols checked after every value parsed, as podman's create does; sctp is refused."""
    found: list[tuple[int, str]] = []
    for start, length, protos in specs:
        try:
            protocols = _protocols(protos, allow_sctp=False)
        except UsageError as err:
            raise UsageError(f"validating protocols for exposed port {start}: {err}") from None
        found += [(start + offset, proto) for proto in protocols for offset in range(length)]
    return list(dict.fromkeys(found))


def parse_expose(values: Sequence[str]) -> list[tuple[int, str]]:
    """`--expose 80`, `80/udp`, `8000-8002` → (port, protocol) pairs, first-seen order."""
    return _expand_exposed([_split_expose(part) for part in _flag_values(values)])


def exposed_from_image(config_exposed: Mapping[str, object]) -> list[tuple[int, str]]:
    """An image config's ExposedPorts (`{"80/tcp": {}}`) → (port, protocol) pairs."""
    specs = []
    for key in config_exposed or {}:
        try:
            specs.append(_split_expose(key))
        except UsageError as err:
            raise PodError(f"unable to convert image EXPOSE: {err}") from None
    return _expand_exposed(specs)


def publish_all(
    exposed: Sequence[tuple[int, str]], existing: Sequence[PortMapping]
) -> list[PortMapping]:
    """`-P`: `existing` plus a random-port mapping for each exposed port not published yet.

    A port counts as published whatever host address it is published on, as in podman.
    """
    published = {(m.container_port, m.protocol) for m in existing}
    added = [
        PortMapping("", 0, port, proto)
        for port, proto in dict.fromkeys(exposed)
        if (port, proto) not in published
    ]
    return [*existing, *added]


# --- choosing host ports -----------------------------------------------------------------------


def ephemeral_port_range() -> tuple[int, int]:
    """The kernel's ephemeral range, where podman's random host ports come from."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as handle:
            low, high = (int(field) for field in handle.read().split())
    except (OSError, ValueError):
        return _DEFAULT_EPHEMERAL
    return (low, high) if 1 <= low <= high <= 65535 else _DEFAULT_EPHEMERAL


def port_is_free(host_ip: str, port: int, protocol: str) -> bool:
    """A test bind of a socket of that protocol; only "in use" or "denied" count as taken.

    Other failures (an address not on this host, no SCTP support) say nothing about the port:
    the real bind at start reports them.
    """
    import socket  # here: parsing --publish (every run) needs none of it

    family = socket.AF_INET6 if ":" in host_ip else socket.AF_INET
    kind = socket.SOCK_DGRAM if protocol == "udp" else socket.SOCK_STREAM
    proto = socket.IPPROTO_SCTP if protocol == "sctp" else 0
    try:
        sock = socket.socket(family, kind, proto)
    except OSError:
        return port_is_free(host_ip, port, "tcp") if protocol == "sctp" else True
    with sock:
        try:
            sock.bind((host_ip or "0.0.0.0", port))
        except OSError as err:
            return err.errno not in (errno.EADDRINUSE, errno.EACCES)
    return True


def _free_block(
    first: PortMapping,
    length: int,
    taken: set[int],
    bounds: tuple[int, int],
    bind_check: Callable[[str, int, str], bool],
    rng: Any,
) -> int:
    """A start port for `length` consecutive free host ports: from a random start, wrapping."""
    low, high = bounds
    last_start = high - length + 1
    known: dict[int, bool] = {}

    def free(port: int) -> bool:
        if port in taken:
            return False
        if port not in known:
            known[port] = bind_check(first.host_ip, port, first.protocol)
        return known[port]

    if last_start >= low:
        pivot = rng.randint(low, last_start)
        for start, stop in ((pivot, last_start), (low, pivot - 1)):
            while start <= stop:
                busy = next((p for p in range(start, start + length) if not free(p)), None)
                if busy is None:
                    return start
                start = busy + 1  # every start up to the busy port would include it
    ranged = f"with range {length} " if length > 1 else ""
    raise PodError(
        f"failed to find an open port to expose container port {first.container_port} "
        f"{ranged}on the host"
    )


def choose_host_ports(
    mappings: Sequence[PortMapping],
    bind_check: Callable[[str, int, str], bool] = port_is_free,
    *,
    port_range: tuple[int, int] | None = None,
    rng: Any = None,
) -> list[PortMapping]:
    """Fill every host port 0 with a free port from the ephemeral range, order kept.

    A run of consecutive container ports (as a range expands to) gets consecutive host ports,
    as podman gives a range one random start. No host port is used twice in the list.
    """
    result = list(mappings)
    if all(m.host_port for m in result):
        return result  # nothing to choose (most runs publish nothing)
    if rng is None:
        import random

        rng = random.Random()
    bounds = port_range or ephemeral_port_range()
    taken = {m.host_port for m in result if m.host_port}
    index = 0
    while index < len(result):
        first = result[index]
        if first.host_port:
            index += 1
            continue
        end = index + 1
        while end < len(result) and _continues(result[end - 1], result[end]):
            end += 1
        start = _free_block(first, end - index, taken, bounds, bind_check, rng)
        for offset in range(end - index):
            result[index + offset] = replace(result[index + offset], host_port=start + offset)
            taken.add(start + offset)
        index = end
    return result


def _continues(previous: PortMapping, mapping: PortMapping) -> bool:
    return (
        mapping.host_port == 0
        and mapping.host_ip == previous.host_ip
        and mapping.protocol == previous.protocol
        and mapping.container_port == previous.container_port + 1
    )


# --- views: ps, port, inspect ------------------------------------------------------------------


def _display_ip(host_ip: str) -> str:
    """podman 4.3 shows "all addresses" as 0.0.0.0, and IPv6 addresses without brackets."""
    return host_ip or "0.0.0.0"


def _ordered(mappings: Iterable[PortMapping]) -> list[PortMapping]:
    """podman's stored order: per host address and protocol (first seen first), by host port."""
    groups: dict[tuple[str, str], list[PortMapping]] = {}
    for mapping in mappings:
        groups.setdefault((mapping.host_ip, mapping.protocol), []).append(mapping)
    return [
        mapping
        for group in groups.values()
        for mapping in sorted(
            group, key=lambda m: (m.host_port == 0, m.host_port, m.container_port)
        )
    ]


def port_runs(mappings: Iterable[PortMapping]) -> list[tuple[PortMapping, int]]:
    """Consecutive host ports to consecutive container ports joined, as podman joins them."""
    runs: list[tuple[PortMapping, int]] = []
    for mapping in _ordered(mappings):
        if runs:
            first, length = runs[-1]
            if (
                first.host_port
                and (mapping.host_ip, mapping.protocol) == (first.host_ip, first.protocol)
                and mapping.host_port == first.host_port + length
                and mapping.container_port == first.container_port + length
            ):
                runs[-1] = (first, length + 1)
                continue
        runs.append((mapping, 1))
    return runs


def parse_private_port(text: str) -> tuple[int, str]:
    """`podman port CTR 80[/udp]`'s argument; podman checks it before looking the container up."""
    fields = text.split("/")
    if len(fields) > 2:
        raise UsageError(f"port formats are port/protocol. '{text}' is invalid")
    number = fields[0]
    if not re.fullmatch(r"[0-9]+", number):
        raise UsageError(f"strconv.ParseUint: parsing {_go_quote(number)}: invalid syntax")
    if int(number) > 65535:
        raise UsageError(f"strconv.ParseUint: parsing {_go_quote(number)}: value out of range")
    return int(number), fields[1] if len(fields) == 2 else "tcp"


def format_port_lines(
    mappings: Sequence[PortMapping], private_port: str | None = None
) -> list[str]:
    """`podman port CTR` lines (`80/tcp -> 0.0.0.0:8080`), or with PRIVATE_PORT[/PROTO] the
    `0.0.0.0:8080` lines for it.

    As podman: a container with no published ports prints nothing, even for a PRIVATE_PORT;
    one with ports but not that one fails (exit 125). The protocol must match exactly.
    """
    ordered = _ordered(mappings)
    if private_port is None:
        return [
            f"{m.container_port}/{m.protocol} -> {_display_ip(m.host_ip)}:{m.host_port}"
            for m in ordered
        ]
    port, protocol = parse_private_port(private_port)
    lines = [
        f"{_display_ip(m.host_ip)}:{m.host_port}"
        for m in ordered
        if m.container_port == port and m.protocol == protocol
    ]
    if ordered and not lines:
        raise PodError(f"failed to find published port {_go_quote(private_port)}")
    return lines


def inspect_ports(
    mappings: Sequence[PortMapping], exposed: Sequence[tuple[int, str]] = ()
) -> dict[str, list[dict[str, str]] | None]:
    """.NetworkSettings.Ports: `{"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}`, and None for
    a port only exposed. Keys sorted, as Go's JSON encoder writes a map."""
    bound: dict[str, list[dict[str, str]]] = {}
    for m in _ordered(mappings):
        entry = {"HostIp": m.host_ip, "HostPort": str(m.host_port)}
        bound.setdefault(f"{m.container_port}/{m.protocol}", []).append(entry)
    found: dict[str, list[dict[str, str]] | None] = dict(bound)
    for port, protocol in exposed:
        found.setdefault(f"{port}/{protocol}", None)
    return {key: found[key] for key in sorted(found)}


def port_bindings(
    mappings: Sequence[PortMapping], exposed: Sequence[tuple[int, str]] = ()
) -> dict[str, list[dict[str, str]] | None]:
    """.HostConfig.PortBindings: podman 4.3 builds it exactly as NetworkSettings.Ports (exposed
    ports included, as null), when the container has its own network namespace."""
    return inspect_ports(mappings, exposed)

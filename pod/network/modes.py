"""`--network` as podman reads it: a mode (bridge, none, host, container:X, ns:PATH, private,
slirp4netns) or one or more network names with per-network options (`NAME:ip=..,alias=..`).

Pure: the defaults that depend on the host (rootful bridge "pod", rootless outbound through
slirp4netns) are resolved by the caller from `rootless`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence

from pod.errors import UsageError
from pod.util.records import dataclass, field

DEFAULT_NETWORK = "pod"
# Modes with a namespace of the container's own but no pod network: loopback, plus outbound
# through the named user-mode stack for the rootless ones.
OWN_NAMESPACE_MODES = ("none", "private", "slirp4netns")
_NAME = r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$"


@dataclass(frozen=True)
class NetworkAttachment:
    """A pod network the container joins, with its aliases and an optional static address."""

    name: str
    aliases: tuple[str, ...] = ()
    ip: str = ""

    def to_json(self) -> dict:
        return {"name": self.name, "aliases": list(self.aliases), "ip": self.ip}

    @classmethod
    def from_json(cls, data: dict) -> NetworkAttachment:
        return cls(data["name"], tuple(data.get("aliases", ())), data.get("ip", ""))


@dataclass(frozen=True)
class NetworkMode:
    """What the container's network namespace is: `kind` plus the networks or the target."""

    # "bridge", "none", "host", "container", "ns", "slirp4netns"; rootless "private":
    # loopback only (slirp4netns cannot run here; create decides)
    kind: str
    networks: tuple[NetworkAttachment, ...] = ()
    target: str = ""  # container name or id for "container", a path for "ns"

    @property
    def own_namespace(self) -> bool:
        return self.kind not in ("host", "container", "ns")

    def describe(self) -> str:
        """podman's HostConfig.NetworkMode words."""
        if self.kind in ("container", "ns") or (self.kind == "slirp4netns" and self.target):
            return f"{self.kind}:{self.target}"
        return self.kind


@dataclass
class NetworkFlags:
    """The run/create flags that shape networking, as given."""

    network: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    ip: str | None = None


def check_ip(text: str) -> str:
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        raise UsageError(f"{text} is not an ip address") from None


def _named(text: str) -> NetworkAttachment:
    name, _, opts = text.partition(":")
    if not re.match(_NAME, name):
        raise UsageError(f'invalid network name "{name}"')
    aliases: list[str] = []
    ip = ""
    for option in filter(None, opts.split(",")):
        key, sep, value = option.partition("=")
        if not sep or not value:
            raise UsageError(
                f'invalid option "{option}" for network {name}: use ip=IP or alias=NAME'
            )
        if key == "ip":
            ip = check_ip(value)
        elif key == "alias":
            aliases.append(value)
        else:
            raise UsageError(f'unknown network option "{key}" for network {name}')
    return NetworkAttachment(name, tuple(aliases), ip)


def _single(text: str) -> NetworkMode | None:
    """The non-network modes; None when `text` names networks."""
    head, _, rest = text.partition(":")
    if head in ("none", "host") and not rest:
        return NetworkMode(head)
    if head == "pasta":
        raise UsageError(
            "--network pasta is not supported: Debian 12's pasta cannot join a namespace from "
            "inside a user namespace; use slirp4netns (the rootless default)"
        )
    if head == "slirp4netns":
        parse_slirp_options(rest)
        return NetworkMode(head, target=rest)
    if head == "container":
        if not rest:
            raise UsageError("--network container: needs a container name or ID")
        return NetworkMode("container", target=rest)
    if head == "ns":
        if not rest.startswith("/"):
            raise UsageError(f"--network ns: needs an absolute path, got {rest!r}")
        return NetworkMode("ns", target=rest)
    return None


_SLIRP_BOOLEANS = ("allow_host_loopback", "enable_ipv6")
_PORT_HANDLERS = ("rootlesskit", "slirp4netns")
# the spellings Go's strconv.ParseBool takes, as podman reads these options
_GO_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_GO_FALSE = ("0", "f", "F", "FALSE", "false", "False")


def parse_slirp_options(text: str) -> list[str]:
    """`slirp4netns:cidr=,allow_host_loopback=,enable_ipv6=,mtu=,outbound_addr=,
    outbound_addr6=,port_handler=` as slirp4netns's command-line flags. pod's own forwarder
    serves published ports with either port_handler (the source address is the forwarder's)."""
    args: list[str] = []
    for option in filter(None, text.split(",")):
        key, sep, value = option.partition("=")
        if key in _SLIRP_BOOLEANS and sep:
            if value not in _GO_TRUE + _GO_FALSE:
                raise UsageError(f'invalid value of {key} for slirp4netns: "{value}"')
            if key == "enable_ipv6" and value in _GO_TRUE:
                args.append("--enable-ipv6")
            elif key == "allow_host_loopback" and value in _GO_FALSE:
                args.append("--disable-host-loopback")
        elif key == "cidr" and sep:
            try:
                ipaddress.IPv4Network(value)
            except ValueError:
                raise UsageError(f'invalid cidr "{value}"') from None
            args.append(f"--cidr={value}")
        elif key == "mtu" and sep:
            if not value.isdigit():
                raise UsageError(f'invalid mtu "{value}"')
            args.append(f"--mtu={value}")
        elif key in ("outbound_addr", "outbound_addr6") and sep and value:
            args.append(f"--{key.replace('_', '-')}={value}")
        elif key == "port_handler" and sep:
            if value not in _PORT_HANDLERS:
                raise UsageError(f'unknown port_handler for slirp4netns: "{value}"')
        else:
            raise UsageError(f'unknown option for slirp4netns: "{option}"')
    return args


def slirp_host_address(text: str) -> str:
    """The host's loopback as slirp4netns shows it: .2 of its network (10.0.2.2 by default)."""
    for option in text.split(","):
        key, _, value = option.partition("=")
        if key == "cidr":
            return str(ipaddress.IPv4Network(value)[2])
    return "10.0.2.2"


def parse_network(flags: NetworkFlags, rootless: bool) -> NetworkMode:
    """The container's mode; `--network-alias` and `--ip` apply to its only network."""
    values = [value for value in flags.network if value] or [""]
    if values in ([""], ["private"]):  # podman: bridge rootful, user-mode networking rootless
        mode = NetworkMode("private") if rootless else NetworkMode("bridge")
    elif len(values) == 1 and (single := _single(values[0])) is not None:
        mode = single
    else:
        for value in values:
            if _single(value) is not None:
                raise UsageError(f"--network {value} cannot be combined with other networks")
        attachments = [_named(v) for v in values]
        attachments = [
            NetworkAttachment(DEFAULT_NETWORK, a.aliases, a.ip) if a.name == "bridge" else a
            for a in attachments
        ]
        names = [a.name for a in attachments]
        if len(set(names)) != len(names):
            raise UsageError("--network: a network is given twice")
        mode = NetworkMode("bridge", tuple(attachments))
    if mode.kind == "bridge" and not mode.networks:
        mode = NetworkMode("bridge", (NetworkAttachment(DEFAULT_NETWORK),))
    if flags.aliases or flags.ip:
        if mode.kind != "bridge":
            raise UsageError(
                "--network-alias and --ip need a pod network (bridge), "
                f"not --network {mode.describe()}"
            )
        if len(mode.networks) != 1:
            raise UsageError("--network-alias and --ip need exactly one network")
        only = mode.networks[0]
        mode = NetworkMode(
            "bridge",
            (
                NetworkAttachment(
                    only.name,
                    only.aliases + tuple(flags.aliases),
                    check_ip(flags.ip) if flags.ip else only.ip,
                ),
            ),
        )
    return mode


def shares_rootless_namespace(record) -> bool:
    """Whether a container (store.containers.ContainerRecord) lives in the rootless network
    namespace's user namespace (pod.network.rootless_netns): a rootless one on pod networks."""
    return bool(record.rootless) and record.network == "bridge"


def joins_user_namespace(record) -> bool:
    """Whether a rootless container's shim joins an existing user namespace (the shared one,
    the one of the container whose network it joins, or its pod's infra's) instead of making
    a new one."""
    return (
        shares_rootless_namespace(record)
        or record.network.startswith("container:")
        or bool(record.pod and not record.infra)
    )


def parse_stored(text: str, networks: Sequence[dict]) -> NetworkMode:
    """A container record's `network` and `networks` fields back into a mode."""
    kind, _, target = text.partition(":")
    return NetworkMode(kind, tuple(NetworkAttachment.from_json(n) for n in networks), target)

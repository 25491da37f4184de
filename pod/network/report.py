"""What inspect, ps and port show about a container's network, in podman's shapes.

Reads the record (what create decided) and network.json (what the running shim set up);
standard library only, so `pod ps` stays fast.
"""

from __future__ import annotations

from typing import Any

from pod.network.ports import (
    PortMapping,
    format_port_lines,
    inspect_ports,
    port_bindings,
)
from pod.network.state import read_state
from pod.store.containers import ContainerRecord
from pod.store.layout import Layout


def mappings(record: ContainerRecord) -> list[PortMapping]:
    return [PortMapping.from_json(p) for p in record.ports]


def _exposed(record: ContainerRecord) -> list[tuple[int, str]]:
    found = []
    for text in record.exposed:
        port, _, proto = text.partition("/")
        found.append((int(port), proto or "tcp"))
    return found


def port_lines(record: ContainerRecord, private_port: str | None) -> list[str]:
    return format_port_lines(mappings(record), private_port)


def host_config(record: ContainerRecord) -> dict[str, Any]:
    """HostConfig.PortBindings and .NetworkMode."""
    mode = record.network
    if mode == "private":
        mode = "slirp4netns" if record.rootless else "bridge"
    own = not mode.startswith(("host", "container:", "ns:"))
    bindings = port_bindings(mappings(record), _exposed(record)) if own else {}
    return {"NetworkMode": mode, "PortBindings": bindings}


def _endpoint(attachment: dict, aliases: list[str], network_id: str = "") -> dict[str, Any]:
    return {
        "EndpointID": "",
        "Gateway": attachment.get("gateway", ""),
        "IPAddress": attachment.get("address", ""),
        "IPPrefixLen": attachment.get("prefixlen", 0),
        "IPv6Gateway": "",
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "MacAddress": attachment.get("mac", ""),
        "NetworkID": network_id,
        "DriverOpts": None,
        "IPAMConfig": None,
        "Links": None,
        "Aliases": aliases,
    }


def network_settings(layout: Layout, record: ContainerRecord, running: bool) -> dict[str, Any]:
    """NetworkSettings: addresses while running (as podman), ports and networks always."""
    state = read_state(layout, record.id) if running else None
    attachments = state.attachments if state is not None else {}
    first = next(iter(attachments.values()), {})
    settings: dict[str, Any] = {
        "EndpointID": "",
        "Gateway": first.get("gateway", ""),
        "IPAddress": first.get("address", ""),
        "IPPrefixLen": first.get("prefixlen", 0),
        "IPv6Gateway": "",
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "MacAddress": first.get("mac", ""),
        "Bridge": "",
        "SandboxID": "",
        "HairpinMode": False,
        "LinkLocalIPv6Address": "",
        "LinkLocalIPv6PrefixLen": 0,
        "Ports": inspect_ports(mappings(record), _exposed(record)),
        "SandboxKey": f"/proc/{state.pid}/ns/net" if state is not None and state.pid else "",
    }
    if record.networks:
        settings["Networks"] = {
            entry["name"]: _endpoint(
                attachments.get(entry["name"], {}),
                [record.id[:12], *entry.get("aliases", [])],
            )
            for entry in record.networks
        }
    return settings

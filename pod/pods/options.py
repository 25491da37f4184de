"""What the user asked for in `pod pod create` (and what kube play asks for): one record.

Pure: the command parses flags into PodOptions; pod.pods.create makes the pod from it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pod.errors import UsageError
from pod.store.pods import DEFAULT_SHARED, EXIT_POLICIES, SHAREABLE
from pod.util.records import dataclass, field

if TYPE_CHECKING:
    from pod.network.modes import NetworkMode
    from pod.network.ports import PortMapping


@dataclass
class PodOptions:
    """Every `pod pod create` flag pod supports, with podman's defaults."""

    name: str = ""
    hostname: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    share: list[str] = field(default_factory=lambda: list(DEFAULT_SHARED))
    infra: bool = True
    infra_image: str = ""  # "": no image, the infra runs a program bound in from the host
    infra_command: str | None = None  # a path in the infra's root, as podman's (no arguments)
    infra_name: str = ""  # "": <short pod id>-infra
    network_mode: NetworkMode | None = None  # None: the default for rootful or rootless
    publish: list[PortMapping] = field(default_factory=list)
    add_hosts: list[str] = field(default_factory=list)  # host:ip
    dns: list[str] = field(default_factory=list)
    dns_search: list[str] = field(default_factory=list)
    dns_options: list[str] = field(default_factory=list)
    userns: str | None = None  # None, "keep-id", "host": every container of the pod
    replace: bool = False
    create_command: list[str] = field(default_factory=list)
    infra_conmon_pidfile: str = ""  # where the infra's supervisor writes its pid (a unit's PIDFile)
    exit_policy: str = "continue"


def parse_share(text: str | None) -> list[str]:
    """--share as podman reads it: a comma list, `none`, or `+NS,...` added to the defaults."""
    if text is None:
        return list(DEFAULT_SHARED)
    added = text.startswith("+")
    wanted = [word.strip() for word in text.removeprefix("+").split(",") if word.strip()]
    if wanted == ["none"]:
        return []
    for word in wanted:
        if word not in SHAREABLE:
            raise UsageError(
                f"invalid kernel namespace to share: {word}. Options are: cgroup, ipc, net, "
                "pid, uts or none"
            )
    if added:
        wanted += [word for word in DEFAULT_SHARED if word not in wanted]
    return list(dict.fromkeys(wanted))


def check(options: PodOptions) -> None:
    """podman's refusals of flags that need an infra container, or its network."""
    if options.exit_policy not in EXIT_POLICIES:
        raise UsageError(
            f'running pod create option: invalid pod exit policy: "{options.exit_policy}"'
        )
    if options.userns not in (None, "", "keep-id", "host"):
        raise UsageError(f'unsupported --userns "{options.userns}": use keep-id or host')
    if not options.infra or not options.share:
        if options.publish:
            raise UsageError(
                "you must have an infra container to publish port bindings to the host"
            )
        for flag, given in (
            ("--infra-image", options.infra_image),
            ("--infra-command", options.infra_command),
            ("--infra-name", options.infra_name),
        ):
            if given:
                raise UsageError(f"cannot set {flag} without an infra container")

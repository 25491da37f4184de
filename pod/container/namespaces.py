"""`--ipc`, `--pid` and `--uts` as podman reads them, and what each means for the OCI spec.

A mode is `private` (the default: a namespace of the container's own), `host` (the host's:
the namespace is left out of the spec), `container:NAME` (another container's, found at create),
`ns:PATH` (a namespace file); `--ipc` also takes `shareable` (podman's default, the same as
private here) and `none` (a private namespace without /dev/shm). Pure: the engine resolves
`container:` targets into namespace paths (`joined_path`).
"""

from __future__ import annotations

import os

from pod.errors import PodError, UsageError
from pod.util.records import dataclass

KINDS = ("ipc", "pid", "uts")
_MODES = {
    "ipc": ("private", "host", "shareable", "none"),
    "pid": ("private", "host"),
    "uts": ("private", "host"),
}
# podman's HostConfig words for the defaults
DEFAULT_DESCRIPTION = {"ipc": "shareable", "pid": "private", "uts": "private"}
_TITLE = {"ipc": "IPC", "pid": "PID", "uts": "UTS"}


@dataclass(frozen=True)
class NamespaceMode:
    """One of --ipc/--pid/--uts: `kind` (private, host, container, ns, shareable, none) and
    the container or path it names."""

    kind: str = "private"
    target: str = ""

    @property
    def private(self) -> bool:
        """A namespace of the container's own (also for ipc's shareable and none)."""
        return self.kind in ("private", "shareable", "none")

    def describe(self, namespace: str) -> str:
        """HostConfig.IpcMode/PidMode/UTSMode as podman shows them."""
        if self.kind in ("container", "ns"):
            return f"{self.kind}:{self.target}"
        if self.kind == "private":
            return DEFAULT_DESCRIPTION[namespace]
        return self.kind


def parse_namespace(namespace: str, text: str | None) -> NamespaceMode:
    """`--ipc`/`--pid`/`--uts` VALUE (None or "": the default); bad ones exit 125 as podman."""
    if not text:
        return NamespaceMode()
    head, sep, rest = text.partition(":")
    if not sep and head in _MODES[namespace]:
        return NamespaceMode("private" if head == "shareable" else head)
    if head == "container" and rest:
        return NamespaceMode("container", rest)
    if head == "ns" and sep:
        try:
            os.stat(rest)
        except OSError as err:
            reason = (err.strerror or str(err)).lower()
            raise UsageError(
                f"cannot find specified {_TITLE[namespace]} namespace path: stat {rest}: {reason}"
            ) from None
        return NamespaceMode("ns", rest)
    raise UsageError(f"unrecognized namespace mode {text} passed")


@dataclass(frozen=True)
class Namespaces:
    """The container's ipc, pid and uts modes (--ipc, --pid, --uts)."""

    ipc: NamespaceMode = NamespaceMode()
    pid: NamespaceMode = NamespaceMode()
    uts: NamespaceMode = NamespaceMode()

    def mode(self, namespace: str) -> NamespaceMode:
        return getattr(self, namespace)

    def to_json(self) -> dict[str, str]:
        """The record's form: {"ipc": "host", "pid": "container:ID", ...}, defaults left out."""
        return {
            name: self.mode(name).describe(name)
            for name in KINDS
            if self.mode(name).kind != "private"
        }

    @classmethod
    def from_json(cls, data: dict[str, str]) -> Namespaces:
        return cls(**{name: parse_stored(data.get(name, "")) for name in KINDS})


def parse_stored(text: str) -> NamespaceMode:
    """A record's described mode back into a NamespaceMode (no checks: create made them)."""
    head, sep, rest = text.partition(":")
    if sep and head in ("container", "ns"):
        return NamespaceMode(head, rest)
    return NamespaceMode(head if head in ("host", "none") else "private")


def joined_path(namespace: str, pid: int) -> str:
    """The namespace file of a running container's process, for `container:` modes."""
    return f"/proc/{pid}/ns/{namespace}"


def check_hostname(namespaces: Namespaces, hostname: str | None) -> None:
    """podman refuses --hostname where the container cannot have a name of its own."""
    if hostname and not namespaces.uts.private:
        raise PodError(
            "invalid config provided: cannot set hostname when running in the host UTS "
            "namespace: invalid configuration"
        )


# --- --userns ---------------------------------------------------------------------------------

USERNS_MODES = ("host", "keep-id", "nomap", "auto")
_AUTO_OPTIONS = ("size", "uidmapping", "gidmapping")


def check_userns(text: str | None) -> str | None:
    """`--userns VALUE` checked as podman checks it (bad values exit 125 with its message);
    "" is the default, as None. What each mode means is pod.container.spec's."""
    if not text:
        return None
    mode, _, rest = text.partition(":")
    if mode == "auto" and rest:
        for option in rest.split(","):
            key, _, value = option.partition("=")
            if key not in _AUTO_OPTIONS:
                raise UsageError(f'invalid option specified: "{option}"')
            if key == "size" and not value.isdigit():
                raise UsageError(f'strconv.ParseUint: parsing "{value}": invalid syntax')
        return text
    if mode in USERNS_MODES and not rest:
        return text
    if mode in ("private", "ns", "container"):
        raise UsageError(f'unsupported --userns "{text}": use keep-id, nomap, auto or host')
    raise UsageError(f"unrecognized namespace mode {text} passed")

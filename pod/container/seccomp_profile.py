"""Seccomp profiles: which one a container gets, and its rules resolved into linux.seccomp.

A profile is in the Docker/containers-common format (defaultAction, archMap, syscalls with
includes/excludes by capability, architecture and kernel version). As podman does when it writes
the spec, the conditions are resolved here, against the container's bounding capabilities, this
machine's architecture and kernel, so the runtime gets a plain OCI `linux.seccomp` (runc, crun
and pod's runtime alike). The default profile is podman's: containers.conf's seccomp_profile when
set, else containers-common's file where it is installed (/etc/containers/seccomp.json overrides
/usr/share/containers/seccomp.json), else pod's own copy of the same rules shipped in the package
(seccomp_default.json).
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pod.config import containers_conf
from pod.errors import PodError
from pod.util.records import dataclass

SYSTEM_PROFILES = (
    Path("/etc/containers/seccomp.json"),
    Path("/usr/share/containers/seccomp.json"),
)
BUILTIN_PROFILE = Path(__file__).with_name("seccomp_default.json")
UNCONFINED = "unconfined"
# os.uname().machine → the Go architecture names profiles use in includes/excludes.arches.
_GO_ARCH = {
    "x86_64": "amd64",
    "i386": "386",
    "i686": "386",
    "aarch64": "arm64",
    "armv7l": "arm",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "mips64": "mips64",
    "riscv64": "riscv64",
}
# ... and to the libseccomp architecture an archMap entry is keyed by.
_SCMP_ARCH = {
    "amd64": "SCMP_ARCH_X86_64",
    "386": "SCMP_ARCH_X86",
    "arm64": "SCMP_ARCH_AARCH64",
    "arm": "SCMP_ARCH_ARM",
    "ppc64le": "SCMP_ARCH_PPC64LE",
    "s390x": "SCMP_ARCH_S390X",
    "mips64": "SCMP_ARCH_MIPS64",
    "riscv64": "SCMP_ARCH_RISCV64",
}


class SeccompProfileError(PodError):
    """A seccomp profile that is missing or malformed (exit 125)."""


@dataclass(frozen=True)
class Host:
    """What the includes/excludes conditions are checked against."""

    arch: str  # Go's name: amd64, arm64, ...
    kernel: tuple[int, int]

    @classmethod
    def current(cls) -> Host:
        machine = os.uname().machine  # platform.machine(), without its import
        return cls(_GO_ARCH.get(machine, machine), kernel_version(os.uname().release))


def kernel_version(text: str) -> tuple[int, int]:
    """ "6.18.44-fc" → (6, 18); unparsable parts count as 0."""
    parts = (text.split("-")[0].split(".") + ["0", "0"])[:2]
    return tuple(int(p) if p.isdigit() else 0 for p in parts)  # type: ignore[return-value]


def default_profile_path() -> Path:
    """containers.conf's seccomp_profile, else containers-common's profile when installed,
    else pod's own (`pod info` reports it as host.security.seccompProfilePath)."""
    configured = (containers_conf().get("containers") or {}).get("seccomp_profile")
    if configured:
        return Path(configured)
    for path in SYSTEM_PROFILES:
        if path.is_file():
            return path
    return BUILTIN_PROFILE


def read_profile(path: Path) -> dict[str, Any]:
    """The profile at `path`, checked enough that a mistake is one clear line."""
    try:
        data = json.loads(Path(path).read_text())
    except OSError as err:
        reason = (err.strerror or str(err)).lower()
        message = f"opening seccomp profile failed: open {path}: {reason}"
        raise SeccompProfileError(message) from None
    except ValueError as err:
        raise SeccompProfileError(
            f"loading seccomp profile ({path}) failed: decoding seccomp profile failed: {err}"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("defaultAction"), str):
        raise SeccompProfileError(f"seccomp profile {path}: no defaultAction")
    if not isinstance(data.get("syscalls") or [], list):
        raise SeccompProfileError(f"seccomp profile {path}: syscalls must be a list")
    if data.get("architectures") and data.get("archMap"):
        raise SeccompProfileError(
            f"seccomp profile {path}: use either 'architectures' or 'archMap', not both"
        )
    return data


def _errno_value(rule: dict[str, Any], number_key: str, name_key: str) -> int | None:
    if rule.get(number_key) is not None:
        return int(rule[number_key])
    name = rule.get(name_key)
    if name:
        if not hasattr(errno, name):
            raise SeccompProfileError(f"unknown errno name {name!r} in the seccomp profile")
        return int(getattr(errno, name))
    return None


def _applies(rule: dict[str, Any], caps: set[str], host: Host) -> bool:
    """containers/common's filter: excludes first, then includes (arches, caps, minKernel)."""
    includes, excludes = rule.get("includes") or {}, rule.get("excludes") or {}
    if host.arch in (excludes.get("arches") or []):
        return False
    if any(cap in caps for cap in excludes.get("caps") or []):
        return False
    if excludes.get("minKernel") and host.kernel >= kernel_version(excludes["minKernel"]):
        return False
    if includes.get("arches") and host.arch not in includes["arches"]:
        return False
    if any(cap not in caps for cap in includes.get("caps") or []):
        return False
    return not (includes.get("minKernel") and host.kernel < kernel_version(includes["minKernel"]))


def _architectures(profile: dict[str, Any], host: Host) -> list[str]:
    if profile.get("architectures"):
        return list(profile["architectures"])
    native = _SCMP_ARCH.get(host.arch)
    for entry in profile.get("archMap") or []:
        if entry.get("architecture") == native:
            return [native, *(entry.get("subArchitectures") or [])]
    return []


def _syscall(rule: dict[str, Any]) -> dict[str, Any]:
    names = list(rule.get("names") or ([rule["name"]] if rule.get("name") else []))
    out: dict[str, Any] = {"names": names, "action": rule.get("action", "")}
    errno_ret = _errno_value(rule, "errnoRet", "errno")
    if errno_ret is not None:
        out["errnoRet"] = errno_ret
    args = []
    for arg in rule.get("args") or []:
        item = {"index": int(arg["index"]), "value": int(arg.get("value", 0))}
        if arg.get("valueTwo"):
            item["valueTwo"] = int(arg["valueTwo"])
        item["op"] = arg["op"]
        args.append(item)
    if args:
        out["args"] = args
    return out


def resolve(profile: dict[str, Any], bounding: Sequence[str], host: Host | None = None) -> dict:
    """The OCI linux.seccomp for a container with these bounding capabilities."""
    host = host or Host.current()
    caps = set(bounding)
    config: dict[str, Any] = {"defaultAction": profile["defaultAction"]}
    default_errno = _errno_value(profile, "defaultErrnoRet", "defaultErrno")
    if default_errno is not None:
        config["defaultErrnoRet"] = default_errno
    config["architectures"] = _architectures(profile, host)
    if profile.get("flags"):
        config["flags"] = list(profile["flags"])
    try:
        config["syscalls"] = [
            _syscall(rule) for rule in profile.get("syscalls") or [] if _applies(rule, caps, host)
        ]
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise SeccompProfileError(f"malformed seccomp profile: {err!r}") from None
    return config


@dataclass(frozen=True)
class SeccompChoice:
    """--security-opt seccomp=...: "" the default profile, "unconfined", or a file path."""

    profile: str = ""

    @property
    def unconfined(self) -> bool:
        return self.profile == UNCONFINED

    def path(self) -> Path:
        return Path(self.profile) if self.profile else default_profile_path()

    def named(self) -> bool:
        """A profile the user named, by flag or in containers.conf: podman's --privileged
        drops only the default profile and keeps such a one."""
        if self.profile:
            return not self.unconfined
        return bool((containers_conf().get("containers") or {}).get("seccomp_profile"))

    def applies(self, privileged: bool) -> bool:
        """Whether the container gets a filter: not when unconfined, nor when privileged
        with the default profile."""
        return not self.unconfined and (not privileged or self.named())


def seccomp_for(choice: SeccompChoice, privileged: bool, bounding: Sequence[str]) -> dict | None:
    """linux.seccomp for a container, or None (unconfined; --privileged is, as in podman,
    unless a profile was named)."""
    if not choice.applies(privileged):
        return None
    return resolve(read_profile(choice.path()), bounding)

"""`pod info` and `pod version`: podman's document shapes, and the YAML-like text podman prints.

Keys follow podman 4.3 (`host`, `store`, `registries`, `version`) so `--format '{{.Host.Arch}}'`
-style scripts keep working (templates see the capitalised Go field names; JSON and the text
use podman's lower-camel keys). `host.checks` is pod's own: the rootless readiness findings.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import socket
import sys
import time
from pathlib import Path
from typing import Any

from pod import __version__, events
from pod.config import Settings
from pod.system.checks import cgroup_version, run_checks

GO_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}
API_VERSION = "n/a"  # pod serves no API


def go_arch() -> str:
    machine = platform.machine()
    return GO_ARCH.get(machine, machine)


def _built() -> float:
    """When this copy of pod was installed (podman shows its build time)."""
    return Path(__file__).stat().st_mtime


def version_document() -> dict[str, Any]:
    built = _built()
    python = f"python{platform.python_version()}"
    return {
        "APIVersion": API_VERSION,
        "Version": __version__,
        "GoVersion": python,  # the key scripts read; pod is built with Python, not Go
        "PythonVersion": python,
        "GitCommit": "",
        "BuiltTime": time.strftime("%a %b %e %H:%M:%S %Y", time.localtime(built)),
        "Built": int(built),
        "OsArch": f"linux/{go_arch()}",
        "Os": "linux",
    }


def _meminfo() -> dict[str, int]:
    values = {}
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            key, _, rest = line.partition(":")
            values[key] = int(rest.split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return values


def _distribution() -> dict[str, str]:
    fields: dict[str, str] = {}
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            key, _, value = line.partition("=")
            fields[key] = value.strip().strip('"')
    except OSError:
        pass
    return {
        "distribution": fields.get("ID", ""),
        "version": fields.get("VERSION_ID", ""),
        "codename": fields.get("VERSION_CODENAME", ""),
    }


def _cgroup_controllers() -> list[str]:
    if cgroup_version() == "v2":
        try:
            return Path("/sys/fs/cgroup/cgroup.controllers").read_text().split()
        except OSError:
            return []
    names = []
    try:
        for line in Path("/proc/cgroups").read_text().splitlines()[1:]:
            parts = line.split()
            if len(parts) == 4 and parts[3] == "1":
                names.append(parts[0])
    except OSError:
        pass
    return names


def _oci_runtime() -> dict[str, str]:
    """pod runs containers with its own runtime unless --runtime names crun or runc."""
    path = shutil.which("pod-runtime") or f"{sys.executable} -m pod.runtime.cli"
    return {"name": "pod", "package": "pod", "path": path, "version": f"pod {__version__}"}


def _id_mappings(rootless: bool) -> dict[str, Any]:
    if not rootless:
        return {"uidmap": None, "gidmap": None}
    from pod.util.userns import current_mapping

    mapping = current_mapping()

    def lines(own: int, ranges) -> list[dict[str, int]]:
        out = [{"container_id": 0, "host_id": own, "size": 1}]
        inside = 1
        for item in ranges:
            out.append({"container_id": inside, "host_id": item.start, "size": item.count})
            inside += item.count
        return out

    return {
        "uidmap": lines(os.geteuid(), mapping.uids.ranges),
        "gidmap": lines(os.getegid(), mapping.gids.ranges),
    }


def _security(settings: Settings) -> dict[str, Any]:
    """podman's host.security keys, with pod's own answers: seccomp is enabled when the kernel
    filters system calls and libseccomp is there for pod's runtime to load them; the profile is
    the one containers get by default; AppArmor and SELinux are never applied by pod."""
    from pod.container.seccomp_profile import default_profile_path
    from pod.container.spec import DEFAULT_CAPABILITIES
    from pod.runtime import seccomp

    return {
        "apparmorEnabled": False,
        "capabilities": ",".join(sorted(DEFAULT_CAPABILITIES)),
        "rootless": settings.rootless,
        "seccompEnabled": seccomp.kernel_filters() and seccomp.available(),
        "seccompProfilePath": str(default_profile_path()),
        "selinuxEnabled": False,
    }


def _host(settings: Settings) -> dict[str, Any]:
    memory = _meminfo()
    checks = run_checks(settings)
    return {
        "arch": go_arch(),
        "cgroupControllers": _cgroup_controllers(),
        "cgroupManager": "cgroupfs",
        "cgroupVersion": cgroup_version(),
        "checks": [check.as_dict() for check in checks],
        "cpus": os.cpu_count() or 0,
        "distribution": _distribution(),
        "eventLogger": events.backend(),
        "hostname": socket.gethostname(),
        "idMappings": _id_mappings(settings.rootless),
        "kernel": platform.release(),
        "logDriver": "k8s-file",
        "memFree": memory.get("MemAvailable", 0),
        "memTotal": memory.get("MemTotal", 0),
        "networkBackend": "pod",
        "ociRuntime": _oci_runtime(),
        "os": "linux",
        "remoteSocket": {"exists": False, "path": ""},
        "security": _security(settings),
        "serviceIsRemote": False,
        "swapFree": memory.get("SwapFree", 0),
        "swapTotal": memory.get("SwapTotal", 0),
    }


def _store(settings: Settings) -> dict[str, Any]:
    from pod.container.state import current_state
    from pod.store.containers import ContainerStore
    from pod.store.images import ImageStore
    from pod.store.layout import Layout

    layout = Layout(settings.root, settings.runroot)
    containers = ContainerStore(layout)
    records = containers.list()
    states = [current_state(containers, record).status for record in records]
    return {
        "containerStore": {
            "number": len(records),
            "paused": states.count("paused"),
            "running": states.count("running"),
            "stopped": len(states) - states.count("paused") - states.count("running"),
        },
        "graphDriverName": settings.storage_driver,
        "graphOptions": {},
        "graphRoot": str(settings.root),
        "imageStore": {"number": len(ImageStore(layout).list())},
        "runRoot": str(settings.runroot),
        "volumePath": str(layout.volumes_root),
    }


def _registries() -> dict[str, Any]:
    from pod.image import registries_conf

    config = registries_conf.load()
    found: dict[str, Any] = {}
    for registry in config.registries:
        found[registry.prefix] = {
            "Blocked": registry.blocked,
            "Insecure": registry.insecure,
            "Location": registry.location,
            "MirrorByDigestOnly": registry.mirror_by_digest_only,
            "Mirrors": [m.location for m in registry.mirrors] or None,
            "Prefix": registry.prefix,
        }
    if config.unqualified_search_registries:
        found["search"] = list(config.unqualified_search_registries)
    return found


def info_document(settings: Settings) -> dict[str, Any]:
    return {
        "host": _host(settings),
        "store": _store(settings),
        "registries": _registries(),
        "version": version_document(),
    }


GO_NAMES = {  # podman's Go field names where they are not just the JSON key capitalised
    "cgroupVersion": "CgroupsVersion",
    "ociRuntime": "OCIRuntime",
    "idMappings": "IDMappings",
    "os": "OS",
    "uidmap": "UIDMap",
    "gidmap": "GIDMap",
    "container_id": "ContainerID",
    "host_id": "HostID",
    "memFree": "MemFree",
    "apparmorEnabled": "AppArmorEnabled",
    "capabilities": "DefaultCapabilities",
    "seccompEnabled": "SECCOMPEnabled",
    "seccompProfilePath": "SECCOMPProfilePath",
    "selinuxEnabled": "SELinuxEnabled",
}


def go_fields(value: Any) -> Any:
    """The same document with Go's exported field names (`host.ociRuntime` → .Host.OCIRuntime),
    as podman's templates see it."""
    if isinstance(value, list):
        return [go_fields(v) for v in value]
    if not isinstance(value, dict):
        return value
    return {GO_NAMES.get(k, k[:1].upper() + k[1:]): go_fields(v) for k, v in value.items()}


# --- podman's YAML-like text (go-yaml: keys sorted, lists at the parent's indent) ---------------

_PLAIN_UNSAFE = re.compile(r"^[-?:,\[\]{}#&*!|>'\"%@`\s]|: | #|\s$")
_OTHER_TYPES = re.compile(
    r"^(?:[-+]?\d[\d_]*(?:\.\d*)?(?:[eE][-+]?\d+)?|true|false|yes|no|on|off|null|~|y|n)$",
    re.IGNORECASE,
)


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    text = str(value)
    if text == "" or _OTHER_TYPES.match(text):
        return f'"{text}"'
    if _PLAIN_UNSAFE.search(text):
        return "'" + text.replace("'", "''") + "'"
    return text


def _yaml(value: Any, indent: int, out: list[str]) -> None:
    pad = " " * indent
    for key in sorted(value):
        item = value[key]
        if isinstance(item, dict) and item:
            out.append(f"{pad}{key}:")
            _yaml(item, indent + 2, out)
        elif isinstance(item, list) and item:
            out.append(f"{pad}{key}:")
            for element in item:
                if isinstance(element, dict) and element:
                    lines: list[str] = []
                    _yaml(element, indent + 2, lines)
                    out.append(f"{pad}- {lines[0].lstrip()}")
                    out.extend(lines[1:])
                else:
                    out.append(f"{pad}- {_scalar(element)}")
        elif isinstance(item, str) and "\n" in item:
            out.append(f"{pad}{key}: |-")
            out.extend(f"{pad}  {line}" for line in item.splitlines())
        elif isinstance(item, dict):
            out.append(f"{pad}{key}: {{}}")
        elif isinstance(item, list):
            out.append(f"{pad}{key}: []")
        else:
            out.append(f"{pad}{key}: {_scalar(item)}")


def to_yaml(document: dict[str, Any]) -> str:
    out: list[str] = []
    _yaml(document, 0, out)
    return "\n".join(out) + "\n"


def info_text(document: dict[str, Any]) -> str:
    """podman's text, with each check on one line: `name: status: detail (fix: ...)`."""
    host = dict(document["host"])
    host["checks"] = {
        c["name"]: f"{c['status']}: {c['detail']}" + (f" (fix: {c['fix']})" if c["fix"] else "")
        for c in host["checks"]
    }
    return to_yaml({**document, "host": host})

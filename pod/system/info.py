"""`pod info` and `pod version`: podman's document shapes, and the YAML-like text podman prints.

Keys follow podman 4.3's define.Info and define.Version key for key and in order (`host`,
`store`, `registries`, `plugins`, `version`), with pod's values, so `--format '{{.Host.Arch}}'`
-style scripts keep working (templates see the Go field names; JSON and the text use podman's
lower-camel keys). `host.checks` is pod's own: the rootless readiness findings.
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
from pod.format import GoFields, GoMap, GoStruct, NilSlice, gofield
from pod.system.checks import cgroup_version, run_checks
from pod.util.records import dataclass

GO_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}
API_VERSION = "n/a"  # pod serves no API


def go_arch() -> str:
    machine = platform.machine()
    return GO_ARCH.get(machine, machine)


def _built() -> float:
    """When this copy of pod was installed (podman shows its build time)."""
    return Path(__file__).stat().st_mtime


@dataclass
class Version(GoStruct):
    """podman's define.Version, with pod's values (its Python where podman shows Go)."""

    GO_TYPE = "*define.Version"  # version's Client is a pointer
    APIVersion: str
    Version: str
    GoVersion: str
    GitCommit: str
    BuiltTime: str
    Built: int
    OsArch: str
    Os: str


@dataclass
class SystemVersionReport(GoStruct):
    """What `version --format` sees: the client's version (pod serves no API: no Server)."""

    GO_TYPE = "entities.SystemVersionReport"
    Client: Version | None = gofield(",omitempty", default=None)
    Server: Version | None = gofield(",omitempty", default=None)


def git_commit(checkout: Path | None = None) -> str:
    """The commit of the checkout pod runs from (an editable install), read from .git without
    running git; "" for an installed wheel, as podman built without a commit shows none."""
    git = (checkout or Path(__file__).resolve().parents[2]) / ".git"
    try:
        if git.is_file():  # a worktree: "gitdir: PATH"
            git = Path(git.read_text().split(":", 1)[1].strip())
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref: "):
            return head
        ref = head[5:]
        common = git / "commondir"
        roots = [git] + ([git / common.read_text().strip()] if common.is_file() else [])
        for root in roots:
            if (root / ref).is_file():
                return (root / ref).read_text().strip()
            packed = root / "packed-refs"
            if packed.is_file():
                for line in packed.read_text().splitlines():
                    if line.endswith(" " + ref):
                        return line.split()[0]
    except (OSError, IndexError):
        pass
    return ""


def version_document() -> Version:
    built = _built()
    return Version(
        APIVersion=API_VERSION,
        Version=__version__,
        GoVersion=f"python{platform.python_version()}",  # pod is built with Python, not Go
        GitCommit=git_commit(),
        BuiltTime=time.strftime("%a %b %e %H:%M:%S %Y", time.localtime(built)),
        Built=int(built),
        OsArch=f"linux/{go_arch()}",
        Os="linux",
    )


def _meminfo() -> dict[str, int]:
    values = {}
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            key, _, rest = line.partition(":")
            values[key] = int(rest.split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return values


def _distribution() -> GoFields:
    fields: dict[str, str] = {}
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            key, _, value = line.partition("=")
            fields[key] = value.strip().strip('"')
    except OSError:
        pass
    found = {"distribution": fields.get("ID", "")}
    if fields.get("VARIANT_ID"):
        found["variant"] = fields["VARIANT_ID"]
    found["version"] = fields.get("VERSION_ID", "")
    if fields.get("VERSION_CODENAME"):
        found["codename"] = fields["VERSION_CODENAME"]
    return _struct(**found)


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


# podman's Go field names where they are not the JSON key capitalised
GO_NAMES = {
    "apparmorEnabled": "AppArmorEnabled",
    "capabilities": "DefaultCapabilities",
    "seccompEnabled": "SECCOMPEnabled",
    "seccompProfilePath": "SECCOMPProfilePath",
    "selinuxEnabled": "SELinuxEnabled",
    "cgroupVersion": "CgroupsVersion",
    "cpus": "CPUs",
    "cpuUtilization": "CPUUtilization",
    "idMappings": "IDMappings",
    "ociRuntime": "OCIRuntime",
    "os": "OS",
    "slirp4netns": "Slirp4NetNS",
    "gidmap": "GIDMap",
    "uidmap": "UIDMap",
    "container_id": "ContainerID",
    "host_id": "HostID",
}


def _struct(**fields: Any) -> GoFields:
    """A struct of podman's Info as JSON has it (lower-camel keys), answering templates to its
    Go names too (`{{.Host.OCIRuntime.Name}}`)."""
    names = {GO_NAMES.get(k, k[:1].upper() + k[1:]): k for k in fields}
    return GoFields(fields, {go: key for go, key in names.items() if go != key})


def _oci_runtime(settings: Settings) -> GoFields:
    """pod runs containers with its own runtime unless `pod --runtime` names another (runc,
    crun or a path): that one is described, as podman describes its configured runtime."""
    if settings.runtime in (None, "pod"):
        path = shutil.which("pod-runtime") or f"{sys.executable} -m pod.runtime.cli"
        return _struct(name="pod", package="pod", path=path, version=f"pod {__version__}")
    from pod.runtime import runtime_for

    binary = runtime_for(settings.runtime).binary  # a missing one: podman's error, exit 125
    return _struct(
        name=os.path.basename(binary),
        package=_package_version(binary),
        path=binary,
        version=_program_version(binary),
    )


def _conmon() -> GoFields:
    """pod's shim does conmon's job."""
    return _struct(
        package="pod",
        path=f"{sys.executable} -m pod.shim.setup",
        version=f"pod shim {__version__}",
    )


def _id_mappings(rootless: bool) -> GoFields:
    if not rootless:
        return _struct(gidmap=NilSlice(), uidmap=NilSlice())
    from pod.util.userns import current_mapping

    mapping = current_mapping()

    def lines(own: int, ranges) -> list[GoFields]:
        out = [_struct(container_id=0, host_id=own, size=1)]
        inside = 1
        for item in ranges:
            out.append(_struct(container_id=inside, host_id=item.start, size=item.count))
            inside += item.count
        return out

    return _struct(
        gidmap=lines(os.getegid(), mapping.gids.ranges),
        uidmap=lines(os.geteuid(), mapping.uids.ranges),
    )


def _cpu_utilization() -> GoFields:
    """podman's: user, system and idle time since boot, from /proc/stat's cpu line."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
        user, system, idle = float(fields[1]), float(fields[3]), float(fields[4])
    except (OSError, IndexError, ValueError):
        user, system, idle = 0.0, 0.0, 1.0
    total = user + system + idle

    def percent(part: float) -> float:
        return round(part / total * 100 * 100) / 100

    return _struct(
        userPercent=percent(user), systemPercent=percent(system), idlePercent=percent(idle)
    )


def _uptime() -> str:
    """podman's `1h 10m 3.00s (Approximately 0.04 days)`."""
    try:
        seconds = int(float(Path("/proc/uptime").read_text().split()[0]))
    except (OSError, ValueError, IndexError):
        seconds = 0
    hours = seconds // 3600
    text = f"{hours}h {seconds % 3600 / 60:.0f}m {seconds % 60:.2f}s"
    return text + (f" (Approximately {hours / 24:.2f} days)" if hours > 0 else "")


def _program_version(path: str) -> str:
    import subprocess

    try:
        done = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.removesuffix("\n")


def _package_version(path: str) -> str:
    """The Debian package that ships `path` as podman names it (name_version_arch)."""
    import subprocess

    try:
        owner = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True, timeout=5)
        if owner.returncode == 0:
            name = owner.stdout.split(": ")[0]
            query = ["dpkg-query", "-f", "${Package}_${Version}_${Architecture}", "-W", name]
            found = subprocess.run(query, capture_output=True, text=True, timeout=5)
            if found.returncode == 0:
                return found.stdout.strip("\n")
    except (OSError, subprocess.SubprocessError):
        pass
    return "Unknown"


def _slirp4netns() -> GoFields:
    path = shutil.which("slirp4netns")
    if path is None:
        return _struct(executable="", package="", version="")
    return _struct(executable=path, package=_package_version(path), version=_program_version(path))


def _security(settings: Settings) -> GoFields:
    from pod.container.seccomp_profile import default_profile_path
    from pod.container.spec import DEFAULT_CAPABILITIES
    from pod.runtime import seccomp

    return _struct(
        apparmorEnabled=False,
        capabilities=",".join(sorted(DEFAULT_CAPABILITIES)),
        rootless=settings.rootless,
        # the kernel filters system calls and libseccomp is there for pod's runtime to load them
        seccompEnabled=seccomp.kernel_filters() and seccomp.available(),
        seccompProfilePath=str(default_profile_path()),
        selinuxEnabled=False,
    )


def _host(settings: Settings) -> GoFields:
    memory = _meminfo()
    checks = run_checks(settings)
    return _struct(
        arch=go_arch(),
        buildahVersion="",  # pod builds with its own builder
        cgroupManager="cgroupfs",
        cgroupVersion=cgroup_version(),
        cgroupControllers=_cgroup_controllers(),
        conmon=_conmon(),
        cpus=os.cpu_count() or 0,
        cpuUtilization=_cpu_utilization(),
        distribution=_distribution(),
        eventLogger=events.backend(),
        hostname=socket.gethostname(),
        idMappings=_id_mappings(settings.rootless),
        kernel=platform.release(),
        logDriver="k8s-file",
        memFree=memory.get("MemFree", 0),
        memTotal=memory.get("MemTotal", 0),
        networkBackend="pod",
        ociRuntime=_oci_runtime(settings),
        os="linux",
        remoteSocket=_struct(),  # pod serves no API socket
        serviceIsRemote=False,
        security=_security(settings),
        slirp4netns=_slirp4netns(),
        swapFree=memory.get("SwapFree", 0),
        swapTotal=memory.get("SwapTotal", 0),
        uptime=_uptime(),
        linkmode="dynamic",
        checks=[_struct(**check.as_dict()) for check in checks],  # pod's own
    )


def _backing_filesystem(path: Path) -> str:
    """The type of the file system `path` is on, as containers/storage names it."""
    names = {"ext2": "extfs", "ext3": "extfs", "ext4": "extfs"}
    best, kind = "", ""
    try:
        lines = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return ""
    target = str(path.resolve())
    for line in lines:
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, fields[2]
    return names.get(kind, kind)


def _store(settings: Settings) -> GoFields:
    from pod.config import config_home
    from pod.container.state import current_state
    from pod.store.containers import ContainerStore
    from pod.store.images import ImageStore
    from pod.store.layout import Layout

    layout = Layout(settings.root, settings.runroot)
    containers = ContainerStore(layout)
    records = containers.list()
    states = [current_state(containers, record).status for record in records]
    root = settings.root if settings.root.exists() else settings.root.parent
    usage = shutil.disk_usage(root)
    config = (config_home() if settings.rootless else Path("/etc")) / "pod" / "pod.conf"
    return _struct(
        configFile=str(config),
        containerStore=_struct(
            number=len(records),
            paused=states.count("paused"),
            running=states.count("running"),
            stopped=len(states) - states.count("paused") - states.count("running"),
        ),
        graphDriverName=settings.storage_driver,
        graphOptions=GoMap(),
        graphRoot=str(settings.root),
        graphRootAllocated=usage.total,
        graphRootUsed=usage.used,
        graphStatus=GoMap(
            {
                "Backing Filesystem": _backing_filesystem(root),
                "Native Overlay Diff": "true",
                "Supports d_type": "true",
                "Using metacopy": "false",
            }
        ),
        imageCopyTmpDir=str(layout.tmp),
        imageStore=_struct(number=len(ImageStore(layout).list())),
        runRoot=str(settings.runroot),
        volumePath=str(layout.volumes_root),
    )


def _registries() -> GoMap:
    """registries.conf as podman shows it: each registry by prefix, then `search`."""
    from pod.image import registries_conf

    def endpoint(location: str, insecure: bool) -> dict[str, Any]:
        return {"Location": location, "Insecure": insecure, "PullFromMirror": ""}

    config = registries_conf.load()
    found = GoMap()
    for registry in config.registries:
        found[registry.prefix] = {
            "Prefix": registry.prefix,
            "Location": registry.location,
            "Insecure": registry.insecure,
            "PullFromMirror": "",
            "Mirrors": [endpoint(m.location, m.insecure) for m in registry.mirrors] or NilSlice(),
            "Blocked": registry.blocked,
            "MirrorByDigestOnly": registry.mirror_by_digest_only,
        }
    if config.unqualified_search_registries:
        found["search"] = list(config.unqualified_search_registries)
    return found


def _plugins() -> GoFields:
    return _struct(
        volume=["local"], network=["bridge"], log=["k8s-file", "none"], authorization=NilSlice()
    )


def info_document(settings: Settings) -> GoFields:
    """podman's define.Info, key for key, with pod's values (and host.checks, pod's own)."""
    return _struct(
        host=_host(settings),
        store=_store(settings),
        registries=_registries(),
        plugins=_plugins(),
        version=version_document(),
    )


# --- podman's YAML-like text (go-yaml: keys sorted, lists at the parent's indent) ---------------

_PLAIN_UNSAFE = r"^[-?:,\[\]{}#&*!|>'\"%@`\s]|: | #|\s$"
_OTHER_TYPES = (
    r"(?i)^(?:[-+]?\d[\d_]*(?:\.\d*)?(?:[eE][-+]?\d+)?|true|false|yes|no|on|off|null|~|y|n)$"
)


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    text = str(value)
    if text == "" or re.match(_OTHER_TYPES, text):
        return f'"{text}"'
    if re.search(_PLAIN_UNSAFE, text):
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


def info_text(info: GoFields) -> str:
    """podman's text, with each check on one line: `name: status: detail (fix: ...)`."""
    import json

    from pod.format import to_json

    document = json.loads(to_json(info))
    host = dict(document["host"])
    host["checks"] = {
        c["name"]: f"{c['status']}: {c['detail']}" + (f" (fix: {c['fix']})" if c["fix"] else "")
        for c in host["checks"]
    }
    return to_yaml({**document, "host": host})

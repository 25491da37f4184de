"""`pod info`'s host checks: what rootless containers need, each with the command that fixes it.

Every check only reads files and metadata (no namespaces made, nothing mounted), so `pod info`
stays cheap and safe to run anywhere. The rootfs method is the one the last container used
(ContainerState.rootfs_driver), since trying a mount would need a user namespace.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
from pathlib import Path

from pod.config import Settings, runtime_dir
from pod.util.records import dataclass
from pod.util.userns import SUBGID_FILE, SUBUID_FILE, read_subids

OK, WARN, INFO = "ok", "warn", "info"
MIN_SUBIDS = 65536
ID_TOOLS = ("newuidmap", "newgidmap")


@dataclass
class Check:
    """One finding: `status` is ok, warn (something will not work) or info."""

    name: str
    status: str
    detail: str
    fix: str = ""

    def line(self) -> str:
        text = f"{self.status}: {self.detail}"
        return f"{text} (fix: {self.fix})" if self.fix else text

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "detail": self.detail, "fix": self.fix}


def _user() -> str:
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return str(os.geteuid())


def _free_start(files: tuple[Path, ...]) -> int:
    """A range start past every range already granted (a suggestion for usermod)."""
    end = 100000
    for path in files:
        try:
            lines = path.read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            parts = line.split(":")
            if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
                end = max(end, int(parts[1]) + int(parts[2]))
    return -(-end // MIN_SUBIDS) * MIN_SUBIDS


def check_subids(rootless: bool) -> Check:
    if not rootless:
        return Check("subids", OK, "rootful: containers use the identity mapping")
    user, uid = _user(), os.geteuid()
    counts = {
        kind: sum(r.count for r in read_subids(path, user, uid))
        for kind, path in (("subuid", SUBUID_FILE), ("subgid", SUBGID_FILE))
    }
    short = [kind for kind, count in counts.items() if count < MIN_SUBIDS]
    summary = f"{user} has {counts['subuid']} subuids and {counts['subgid']} subgids"
    if not short:
        return Check("subids", OK, summary)
    start = _free_start((SUBUID_FILE, SUBGID_FILE))
    span = f"{start}-{start + MIN_SUBIDS - 1}"
    return Check(
        "subids",
        WARN,
        f"{summary} (need {MIN_SUBIDS}): images with files owned by other users fail to unpack, "
        "containers get a single-uid mapping",
        f"usermod --add-subuids {span} --add-subgids {span} {user}",
    )


def _privileged_binary(path: str) -> bool:
    info = os.stat(path)
    if info.st_mode & stat.S_ISUID and info.st_uid == 0:
        return True
    try:
        return bool(os.getxattr(path, "security.capability"))
    except OSError:
        return False


def check_id_tools(rootless: bool) -> Check:
    paths = {
        tool: shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/usr/bin:/sbin:/bin")
        for tool in ID_TOOLS
    }
    missing = [tool for tool, path in paths.items() if path is None]
    if missing:
        status = WARN if rootless else INFO
        return Check(
            "newuidmap",
            status,
            f"{' and '.join(missing)} not installed",
            "apt-get install uidmap (or dnf install shadow-utils)",
        )
    weak = [path for path in paths.values() if path and not _privileged_binary(path)]
    if weak:
        status = WARN if rootless else INFO
        return Check(
            "newuidmap",
            status,
            f"{', '.join(weak)}: neither setuid root nor file caps",
            f"chmod u+s {' '.join(weak)}",
        )
    return Check("newuidmap", OK, f"{', '.join(str(p) for p in paths.values())} (setuid or caps)")


def check_runtime_dir(rootless: bool, runroot: Path) -> Check:
    """XDG_RUNTIME_DIR, and the run root in use (--runroot's, when given)."""
    value = os.environ.get("XDG_RUNTIME_DIR", "")
    if runtime_dir() is not None:
        return Check("xdgRuntimeDir", OK, f"XDG_RUNTIME_DIR={value} is usable")
    if not rootless:
        return Check("xdgRuntimeDir", OK, f"rootful: the run root is {runroot}")
    uid = os.geteuid()
    what = (
        f"XDG_RUNTIME_DIR={value} is not a writable directory"
        if value
        else ("XDG_RUNTIME_DIR is not set")
    )
    return Check(
        "xdgRuntimeDir",
        WARN,
        f"{what}: the run root is {runroot}",
        f"loginctl enable-linger {_user()} (or mkdir -m 700 /run/user/{uid} owned by "
        f"you and export XDG_RUNTIME_DIR=/run/user/{uid})",
    )


def cgroup_version() -> str:
    return "v2" if os.path.exists("/sys/fs/cgroup/cgroup.controllers") else "v1"


def _own_v2_cgroup() -> Path | None:
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            if line.startswith("0::"):
                return Path("/sys/fs/cgroup") / line[3:].lstrip("/")
    except OSError:
        pass
    return None


def check_cgroups(rootless: bool) -> Check:
    version = cgroup_version()
    if not rootless:
        return Check("cgroups", OK, f"cgroups {version}: resource limits apply")
    if version == "v1":
        return Check(
            "cgroups",
            WARN,
            "cgroups v1: rootless containers get no resource limits",
            "boot with systemd.unified_cgroup_hierarchy=1 (cgroups v2)",
        )
    own = _own_v2_cgroup()
    if own is None or not os.access(own, os.W_OK):
        return Check(
            "cgroups",
            WARN,
            f"cgroups v2, but {own} is not delegated to you",
            "run inside a systemd user session (systemd-run --user --scope) with "
            "Delegate=yes for user@.service",
        )
    try:
        controllers = (own / "cgroup.controllers").read_text().split()
    except OSError:
        controllers = []
    return Check("cgroups", OK, f"cgroups v2, {own} delegated: {' '.join(controllers) or 'none'}")


def last_rootfs_driver(settings: Settings) -> str:
    """How the most recently started container's rootfs was mounted ("" when none was)."""
    from pod.store.containers import ContainerStore
    from pod.store.layout import Layout

    store = ContainerStore(Layout(settings.root, settings.runroot))
    states = [store.read_state(record.id) for record in store.list()]
    used = sorted((s for s in states if s.rootfs_driver), key=lambda s: s.started_at)
    return used[-1].rootfs_driver if used else ""


def check_rootfs(settings: Settings) -> Check:
    fuse = shutil.which("fuse-overlayfs")
    fallback = f"fuse-overlayfs at {fuse}" if fuse else "no fuse-overlayfs"
    driver = last_rootfs_driver(settings)
    if settings.storage_driver == "vfs":
        return Check("rootfs", INFO, "storage driver vfs: every container copies its layers")
    if not driver:
        return Check(
            "rootfs",
            INFO,
            f"no container started yet: native overlay is tried first, "
            f"then fuse-overlayfs ({fallback}), then a vfs copy",
        )
    if driver == "vfs":
        return Check(
            "rootfs",
            WARN,
            "the last container fell back to a vfs copy (slow, uses disk)",
            "apt-get install fuse-overlayfs (or use a kernel >= 5.11 for rootless overlay)",
        )
    return Check("rootfs", OK, f"the last container used {driver}")


def check_unprivileged_ports(rootless: bool) -> Check:
    try:
        start = int(Path("/proc/sys/net/ipv4/ip_unprivileged_port_start").read_text())
    except (OSError, ValueError):
        return Check("unprivilegedPorts", INFO, "ip_unprivileged_port_start is not readable")
    text = f"ip_unprivileged_port_start={start}"
    if rootless and start > 0:
        return Check(
            "unprivilegedPorts",
            INFO,
            f"{text}: rootless cannot publish ports below {start}",
            "sysctl -w net.ipv4.ip_unprivileged_port_start=80 (or 0)",
        )
    return Check("unprivilegedPorts", OK, text)


def check_tun(rootless: bool) -> Check:
    path = "/dev/net/tun"
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return Check("tun", WARN if rootless else INFO, f"{path} is missing", "modprobe tun")
    usable = os.access(path, os.R_OK | os.W_OK)
    text = f"{path} is {mode:04o}"
    if usable and (mode & 0o006 == 0o006 or not rootless):
        return Check("tun", OK, f"{text}, usable")
    return Check(
        "tun",
        WARN if rootless else INFO,
        f"{text}: unprivileged users cannot open it, so slirp4netns cannot give "
        "rootless containers a network (they get loopback only; published ports still work)",
        f'chmod 0666 {path} (a udev rule KERNEL=="tun", MODE="0666" keeps it)',
    )


def check_network(rootless: bool) -> Check:
    """What gives containers their network: slirp4netns rootless, bridge + firewall."""
    if rootless:
        from pod.network import usermode

        reason = usermode.unusable_reason()
        if reason is None:
            return Check("networkBackend", OK, "slirp4netns for outbound, pod's port forwarder")
        return Check("networkBackend", WARN, f"loopback only for rootless containers: {reason}",
                     "see the tun check")  # fmt: skip
    from pod.config import firewall_driver
    from pod.errors import PodError
    from pod.network import firewall

    try:
        driver = firewall.detect(firewall_driver()).name
    except PodError as err:
        return Check("networkBackend", WARN, f"bridge networks cannot publish or NAT: {err}",
                     "apt-get install nftables (or iptables)")  # fmt: skip
    return Check("networkBackend", OK, f"pod bridge networks, firewall: {driver}")


def run_checks(settings: Settings) -> list[Check]:
    rootless = settings.rootless
    return [
        check_subids(rootless),
        check_id_tools(rootless),
        check_runtime_dir(rootless, settings.runroot),
        check_cgroups(rootless),
        check_rootfs(settings),
        check_unprivileged_ports(rootless),
        check_tun(rootless),
        Check("storageDriver", OK, f"{settings.storage_driver}"),
        check_network(rootless),
    ]

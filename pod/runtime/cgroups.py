"""Cgroup placement and limits for a container's init (cgroupfs-style, v1 and v2).

Rootful: the container gets `/pod/<id>` (or linux.cgroupsPath: absolute from each hierarchy's
root, relative from the caller's own cgroup) in every v1 hierarchy, or in the v2 tree on a pure
v2 system; linux.resources memory/pids/cpu are written before the pid joins. Rootless: only on a
pure v2 system whose tree is delegated to the user (writable); otherwise nothing happens here and
the engine tells the user that limits do not apply.
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
from typing import Any

from pod.errors import OCIRuntimeError
from pod.runtime import devices, resources
from pod.util.proc_info import unprivileged
from pod.util.records import dataclass

_V1_FLAGS = {"rw", "ro"}
_V2_CONTROLLERS = ("cpu", "cpuset", "memory", "pids", "io", "hugetlb")


@dataclass(frozen=True)
class Hierarchy:
    """One mounted cgroup hierarchy and where the calling process sits in it."""

    version: int
    controllers: frozenset[str]
    mountpoint: str
    own: str  # the caller's cgroup, relative to the mountpoint ("" = the mount's root)

    def has(self, controller: str) -> bool:
        return controller in self.controllers


def unescape_mountinfo(path: str) -> str:
    """A path field of /proc/<pid>/mountinfo as it is (the kernel escapes blanks and \\)."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        path = path.replace(code, char)
    return path


def _own_cgroups(pid: str = "self") -> dict[frozenset[str], str]:
    own: dict[frozenset[str], str] = {}
    with open(f"/proc/{pid}/cgroup") as handle:
        for line in handle:
            _, names, path = line.rstrip("\n").split(":", 2)
            own[frozenset(names.split(",")) if names else frozenset()] = path
    return own


def hierarchies(pid: str = "self") -> list[Hierarchy]:
    """The cgroup hierarchies mounted in this mount namespace, from /proc/<pid>/mountinfo."""
    own = _own_cgroups(pid)
    found: list[Hierarchy] = []
    seen: set[frozenset[str]] = set()
    with open(f"/proc/{pid}/mountinfo") as handle:
        for line in handle:
            left, _, right = line.partition(" - ")
            fields, tail = left.split(), right.split()
            if len(tail) < 3 or tail[0] not in ("cgroup", "cgroup2"):
                continue
            root, point = unescape_mountinfo(fields[3]), unescape_mountinfo(fields[4])
            if tail[0] == "cgroup2":
                key: frozenset[str] = frozenset()
            else:
                key = frozenset(o for o in tail[2].split(",") if o not in _V1_FLAGS)
                key = frozenset(o for o in key if "=" not in o or o.startswith("name="))
            if key in seen or key not in own:
                continue
            seen.add(key)
            path = own[key]
            if root != "/" and (path == root or path.startswith(root + "/")):
                path = path[len(root) :]
            found.append(Hierarchy(2 if not key else 1, key, point, path.strip("/")))
    return found


def is_pure_v2() -> bool:
    return os.path.exists("/sys/fs/cgroup/cgroup.controllers")


def _relative_path(cgroups_path: str | None, container_id: str) -> tuple[bool, str]:
    """(absolute?, path) for linux.cgroupsPath; systemd's slice:prefix:name is mapped too."""
    if not cgroups_path:
        return True, f"pod/{container_id}"
    if ":" in cgroups_path:
        slice_name, prefix, name = (cgroups_path.split(":") + ["", "", ""])[:3]
        return True, f"{slice_name}/{prefix}-{name}.scope".strip("/")
    return cgroups_path.startswith("/"), cgroups_path.strip("/")


def _write(path: str, value: str) -> None:
    try:
        with open(path, "w") as handle:
            handle.write(value)
    except OSError as err:
        raise OCIRuntimeError(f"cgroups: writing {value!r} to {path}: {err.strerror}") from None


def _read(path: str) -> str:
    with open(path) as handle:
        return handle.read().strip()


def _make_dirs(hierarchy: Hierarchy, target: str) -> None:
    """mkdir -p, filling cpuset.cpus/mems on each new v1 level (empty ones refuse tasks)."""
    parts = os.path.relpath(target, hierarchy.mountpoint).split("/")
    current = hierarchy.mountpoint
    for part in parts:
        parent, current = current, os.path.join(current, part)
        if os.path.isdir(current):
            continue
        os.mkdir(current, 0o755)
        if hierarchy.version == 1 and hierarchy.has("cpuset"):
            for name in ("cpuset.cpus", "cpuset.mems"):
                if not _read(os.path.join(current, name)):
                    _write(os.path.join(current, name), _read(os.path.join(parent, name)))


def _enable_v2_controllers(hierarchy: Hierarchy, target: str) -> None:
    current = hierarchy.mountpoint
    for part in os.path.relpath(target, hierarchy.mountpoint).split("/")[:-1] or []:
        _enable_here(current)
        current = os.path.join(current, part)
    _enable_here(current)


def _enable_here(directory: str) -> None:
    """Enable the controllers not yet enabled (a delegated user's upper levels are not its own
    to write, but systemd has enabled them there already)."""
    available = _read(os.path.join(directory, "cgroup.controllers")).split()
    enabled = _read(os.path.join(directory, "cgroup.subtree_control")).split()
    wanted = [c for c in _V2_CONTROLLERS if c in available and c not in enabled]
    if wanted:
        _write(os.path.join(directory, "cgroup.subtree_control"), " ".join("+" + c for c in wanted))


def _targets(
    linux: dict[str, Any], container_id: str, rootless: bool
) -> list[tuple[Hierarchy, str]]:
    absolute, rel = _relative_path(linux.get("cgroupsPath"), container_id)
    chosen = []
    for hierarchy in hierarchies():
        if (hierarchy.version == 2) != is_pure_v2():
            continue
        if rootless and not linux.get("cgroupsPath"):
            # Delegated v2: a sibling of the caller's own cgroup (its own one holds processes).
            base = os.path.dirname(os.path.join(hierarchy.mountpoint, hierarchy.own))
            target = os.path.join(base, f"pod-{container_id}")
        elif absolute:
            target = os.path.join(hierarchy.mountpoint, rel)
        else:
            target = os.path.join(hierarchy.mountpoint, hierarchy.own, rel)
        chosen.append((hierarchy, target))
    return chosen


@dataclass
class Placement:
    """The container's cgroups, made with their limits (`prepare`), to move a process into
    (`join`). `chosen`: (hierarchy, directory) pairs; none when it runs without cgroups."""

    chosen: list[tuple[Hierarchy, str]]
    rootless: bool
    resources: dict[str, Any]

    @property
    def paths(self) -> list[str]:
        return [target for _, target in self.chosen]

    def views(self) -> list[tuple[str, str]]:
        """container_views() of a process once it has joined: the chosen directories, and
        the caller's own cgroup in each hierarchy not chosen (which it inherits)."""
        chosen = {hierarchy.mountpoint: target for hierarchy, target in self.chosen}
        views = []
        for hierarchy in hierarchies():
            name = "" if is_pure_v2() else os.path.basename(hierarchy.mountpoint)
            own = os.path.join(hierarchy.mountpoint, hierarchy.own)
            views.append((name, chosen.get(hierarchy.mountpoint, own)))
        return views


def prepare(container_id: str, linux: dict[str, Any]) -> Placement:
    """Create the container's cgroups and apply linux.resources (fast: no process moves)."""
    rootless = unprivileged()
    res = linux.get("resources") or {}
    if rootless and not is_pure_v2():
        _without_cgroups(res, "rootless containers have no cgroups on cgroup v1")
        return Placement([], rootless, res)
    made: list[tuple[Hierarchy, str]] = []
    try:
        for hierarchy, target in _targets(linux, container_id, rootless):
            if hierarchy.version == 2:
                _enable_v2_controllers(hierarchy, target)
            _make_dirs(hierarchy, target)
            made.append((hierarchy, target))
        _apply_resources(made, res)
    except (OSError, OCIRuntimeError) as err:
        _failed(Placement(made, rootless, res), err)  # raises, unless it runs without any
        return Placement([], rootless, res)
    return Placement(made, rootless, res)


def join(placement: Placement, pid: int) -> list[str]:
    """Move `pid` into the prepared cgroups; return their directories. Moving another
    process takes the kernel's global threadgroup lock, whose first taker waits for an RCU
    grace period (~15 ms here): on v1 the process moves itself instead (`self_move_files`), on
    v2 pod's runtime overlaps this with the init's own set-up."""
    try:
        for target in placement.paths:
            _write(os.path.join(target, "cgroup.procs"), str(pid))
    except (OSError, OCIRuntimeError) as err:
        return _failed(placement, err, undo=False)
    return placement.paths


SelfMove = list[tuple[str, int]]  # (cgroup directory, its `tasks` file open for writing)


def self_move_files(paths: list[str]) -> SelfMove:
    """cgroup v1: each cgroup's `tasks` file, opened here (the opener's credentials are the
    ones checked) for a single-threaded process to write "0" into, which moves itself. A task
    moving itself skips the global lock that moving another process takes, and so the RCU
    grace period behind it: ~0.2 ms instead of ~15. [] on a pure v2 system, whose
    cgroup.procs takes that lock even for "0": the caller moves the process (`join`)."""
    if not paths or is_pure_v2():
        return []
    opened: SelfMove = []
    try:
        for path in paths:
            opened.append((path, os.open(os.path.join(path, "tasks"), os.O_WRONLY | os.O_CLOEXEC)))
    except OSError as err:
        close_self_move(opened)
        raise OCIRuntimeError(f"cgroups: opening {err.filename}: {err.strerror}") from None
    return opened


def close_self_move(files: SelfMove) -> None:
    for _, fd in files:
        with contextlib.suppress(OSError):
            os.close(fd)


def move_self(files: SelfMove) -> None:
    """In the process to be placed (single-threaded: "0" is the calling thread): move into
    every cgroup of `files`, closing them; its children inherit the cgroups."""
    try:
        for path, fd in files:
            try:
                os.write(fd, b"0")
            except OSError as err:
                raise OCIRuntimeError(f"cgroups: joining {path}: {err.strerror}") from None
    finally:
        close_self_move(files)


def _failed(placement: Placement, err: OSError | OCIRuntimeError, undo: bool = True) -> list[str]:
    """A placement that failed: rootless without delegation runs without cgroups ([], the
    directories removed); anything else raises, having removed them when `undo` (`join`
    leaves that to the caller, which first stops the process it was moving)."""
    denied = isinstance(err, OSError) and err.errno in (errno.EACCES, errno.EPERM, errno.EROFS)
    if placement.rootless and (denied or "Permission denied" in str(err)):
        remove(placement.paths)
        _without_cgroups(placement.resources, "the user's cgroup tree is not delegated")
        return []  # not delegated to this user: run without limits
    if undo:
        remove(placement.paths)
    if isinstance(err, OCIRuntimeError):
        raise err
    raise OCIRuntimeError(f"cgroups: creating {err.filename}: {err.strerror}") from None


def _without_cgroups(res: dict[str, Any], why: str) -> None:
    """No cgroup for the container: limits would be ignored, so they are refused. Device
    rules are not: a user namespace cannot reach a device its user could not."""
    if resources.has_limits(res):
        raise OCIRuntimeError(f"linux.resources cannot be applied: {why}")


def _apply_resources(chosen: list[tuple[Hierarchy, str]], res: dict[str, Any]) -> None:
    if not chosen:
        if resources.has_limits(res) or res.get("devices"):
            raise OCIRuntimeError("linux.resources cannot be applied: no cgroup hierarchy found")
        return
    if chosen[0][0].version == 2:
        target = chosen[0][1]
        available = _read(os.path.join(target, "cgroup.controllers")).split()
        targets = {name: target for name in [*available, "cgroup"]}
        resources.apply(targets, resources.settings_v2(res))
        if res.get("devices"):
            devices.attach(target, devices.rules(res["devices"]))
        return
    targets = {name: target for hierarchy, target in chosen for name in hierarchy.controllers}
    resources.apply(targets, resources.settings_v1(res))


def pids(paths: list[str]) -> set[int]:
    """Every process in the container's cgroups."""
    found: set[int] = set()
    for path in paths:
        with contextlib.suppress(OSError):
            found.update(int(p) for p in _read(os.path.join(path, "cgroup.procs")).split())
    return found


def remove(paths: list[str], timeout: float = 5.0) -> None:
    """rmdir the container's cgroups, waiting out processes that are still exiting.

    The caller has killed everything; a killed process leaves its cgroup a moment later.
    """
    deadline = time.monotonic() + timeout
    for path in paths:
        while True:
            try:
                os.rmdir(path)
                break
            except FileNotFoundError:
                break
            except OSError as err:
                if err.errno != errno.EBUSY or time.monotonic() > deadline:
                    raise OCIRuntimeError(f"removing cgroup {path}: {err.strerror}") from None
                time.sleep(0.01)


def rootless_limits_supported() -> bool:
    """Whether a rootless container can get limits: a pure v2 tree delegated to the user (the
    cgroup above our own is ours to write, with memory and pids enabled there)."""
    if not is_pure_v2():
        return False
    for hierarchy in hierarchies():
        if hierarchy.version == 2:
            base = os.path.dirname(os.path.join(hierarchy.mountpoint, hierarchy.own))
            try:
                controllers = _read(os.path.join(base, "cgroup.controllers")).split()
            except OSError:
                return False
            writable = os.access(base, os.W_OK | os.X_OK)
            return writable and {"memory", "pids"} <= set(controllers)
    return False


def _counter(path: str, key: str) -> int:
    """`key N` from a flat-keyed cgroup file (memory.oom_control, memory.events); 0 if absent."""
    with contextlib.suppress(OSError, ValueError):
        for line in _read(path).splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    return 0


def oom_killed(cgroups_path: str | None, container_id: str, exit_code: int | None = None) -> bool:
    """Whether the OOM killer killed a process of the container (podman's OOMKilled).

    Read from the container's memory cgroup, which must still exist: v2 memory.events
    `oom_kill`; v1 memory.oom_control `oom_kill` (kernel >= 4.13), else `under_oom` or a hit
    limit (memory.failcnt) with an exit by SIGKILL (137). Standard library only (the shim)."""
    rootless = unprivileged()
    if rootless and not is_pure_v2():
        return False
    try:
        targets = _targets({"cgroupsPath": cgroups_path}, container_id, rootless)
    except OSError:
        return False
    for hierarchy, target in targets:
        if hierarchy.version == 2:
            return _counter(os.path.join(target, "memory.events"), "oom_kill") > 0
        if not hierarchy.has("memory"):
            continue
        control = os.path.join(target, "memory.oom_control")
        if _counter(control, "oom_kill") > 0 or _counter(control, "under_oom") > 0:
            return True
        with contextlib.suppress(OSError, ValueError):
            failed = int(_read(os.path.join(target, "memory.failcnt"))) > 0
            return failed and exit_code == 137 and "oom_kill" not in _read(control)
    return False


def bundle_oom_killed(bundle: str | os.PathLike[str], container_id: str, exit_code: int) -> bool:
    """oom_killed() for the container of an OCI bundle (its config.json's cgroupsPath)."""
    import json

    try:
        with open(os.path.join(bundle, "config.json")) as handle:
            linux = json.load(handle).get("linux") or {}
    except (OSError, ValueError):
        return False
    return oom_killed(linux.get("cgroupsPath"), container_id, exit_code)


def container_views(pid: str = "self") -> list[tuple[str, str]]:
    """(name under /sys/fs/cgroup, host directory) for each hierarchy the process sits in."""
    views = []
    for hierarchy in hierarchies(pid):
        name = "" if is_pure_v2() else os.path.basename(hierarchy.mountpoint)
        views.append((name, os.path.join(hierarchy.mountpoint, hierarchy.own)))
    return views

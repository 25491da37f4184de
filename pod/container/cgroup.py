"""Where a running container's cgroup is on the host: read from its init's /proc/<pid>/cgroup.

Both runtimes (pod's own places containers at /pod/<id>, runc per linux.cgroupsPath) are found
the same way, so pause, stats and top need not know how the container was placed.
"""

from __future__ import annotations

import os

from pod.runtime import cgroups


def _memberships(pid: int) -> dict[frozenset[str], str]:
    found: dict[frozenset[str], str] = {}
    try:
        with open(f"/proc/{pid}/cgroup") as handle:
            for line in handle:
                _, names, path = line.rstrip("\n").split(":", 2)
                found[frozenset(names.split(",")) if names else frozenset()] = path
    except (OSError, ValueError):
        return {}
    return found


def controller_dir(pid: int, controller: str) -> str | None:
    """The host directory of `pid`'s cgroup for a v1 `controller`, or the v2 one ("" name).

    None when the hierarchy is not mounted here or the process sits in its root (it was never
    placed in a cgroup of its own: rootless without delegation).
    """
    members = _memberships(pid)
    for hierarchy in cgroups.hierarchies():
        wanted = hierarchy.version == 2 if not controller else hierarchy.has(controller)
        if not wanted:
            continue
        key = frozenset() if hierarchy.version == 2 else frozenset(hierarchy.controllers)
        path = members.get(key)
        if path is None or path.strip("/") in ("", hierarchy.own):
            return None
        directory = os.path.join(hierarchy.mountpoint, path.lstrip("/"))
        return directory if os.path.isdir(directory) else None
    return None


def is_pure_v2() -> bool:
    return cgroups.is_pure_v2()

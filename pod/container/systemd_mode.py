"""`--systemd=true|false|always`: podman's systemd mode for containers whose command is an init.

In systemd mode the container gets tmpfs mounts on /run, /run/lock, /tmp and /var/log/journal,
a writable cgroup tree for systemd (cgroup v1: the name=systemd hierarchy bound in), the
container_uuid variable, and SIGRTMIN+3 as its stop signal, as podman 4.3 gives it.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence

from pod.errors import UsageError

VALUES = ("true", "false", "always")
STOP_SIGNAL = "SIGRTMIN+3"
TMPFS_DIRS = ("/tmp", "/run", "/run/lock", "/var/log/journal")
TMPFS_OPTIONS = ("rw", "rprivate", "nosuid", "nodev", "tmpcopyup")
_INITS = ("/sbin/init", "/usr/sbin/init", "/usr/local/sbin/init")
CGROUP_V1_SYSTEMD = "/sys/fs/cgroup/systemd"


def check(value: str) -> str:
    """--systemd's value, as podman checks it."""
    lowered = value.lower()
    if lowered not in VALUES:
        raise UsageError(
            'invalid config provided: --systemd values must be one of "true, false, always": '
            "invalid configuration"
        )
    return lowered


def enabled(value: str, command: Sequence[str]) -> bool:
    """`always`, or `true` with an init or systemd as the command (podman's test)."""
    if value == "always":
        return True
    if value != "true" or not command:
        return False
    first = command[0]
    return first in _INITS or posixpath.basename(first) == "systemd"


def container_uuid(container_id: str) -> str:
    """The container_uuid variable systemd reads (podman: the first 32 hex digits of the ID)."""
    return container_id[:32]

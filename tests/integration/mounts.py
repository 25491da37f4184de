"""Mounts below a path, read from /proc/self/mountinfo: to assert none are left, and to clear
what a failed test left mounted."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

MOUNTINFO = Path("/proc/self/mountinfo")


def mounts_under(path: Path) -> list[str]:
    """The mountinfo lines that name `path` anywhere (mount point, source or options)."""
    return [line for line in MOUNTINFO.read_text().splitlines() if str(path) in line]


def unmount_under(top: Path) -> None:
    """Lazily unmount whatever a test left mounted below `top` (overlay, fuse, binds)."""
    if os.geteuid() != 0:
        return
    prefix = str(top.resolve()).rstrip("/") + "/"
    try:
        lines = MOUNTINFO.read_text().splitlines()
    except OSError:
        return
    points = []
    for line in lines:
        fields = line.split()
        if len(fields) > 4:
            point = re.sub(r"\\(\d{3})", lambda m: chr(int(m.group(1), 8)), fields[4])
            if point.startswith(prefix):
                points.append(point)
    for point in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True)

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


# A command line that runs the command after it with a private /dev: a tmpfs holding binds of
# the usual device nodes and fresh /dev/std* links. A test of what a command does to /dev/stdout
# asserts on that copy (its file type is written to a report file after the command); should
# the command misbehave, the host's /dev is never touched. Root only: it unshares a mount
# namespace.
_PRIVATE_DEV_SCRIPT = r"""
report=$1; shift
saved=$(mktemp -d)
mount --rbind /dev "$saved"
mount -t tmpfs -o mode=755 pod-test-dev /dev
for node in null zero full random urandom tty; do
    touch "/dev/$node"; mount --bind "$saved/$node" "/dev/$node"
done
mkdir /dev/pts /dev/shm
mount --rbind "$saved/pts" /dev/pts; mount --rbind "$saved/shm" /dev/shm
ln -s /proc/self/fd /dev/fd
for n in 0:stdin 1:stdout 2:stderr; do ln -s "/proc/self/fd/${n%%:*}" "/dev/${n#*:}"; done
umount -l "$saved"; rmdir "$saved"
"$@"
code=$?
stat -c %F /dev/stdout > "$report"
exit $code
"""


def private_dev(report: Path) -> list[str]:
    """The command line prefix; after the command, `report` holds /dev/stdout's file type."""
    return [
        "unshare", "--mount", "--propagation", "private",
        "sh", "-c", _PRIVATE_DEV_SCRIPT, "sh", str(report),
    ]  # fmt: skip

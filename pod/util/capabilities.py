"""Linux capabilities by number, and the bounding set this host allows.

Its own module so `pod exec` (podman's capability rules need the host's bounding set) does not
import the whole spec builder.
"""

from __future__ import annotations

from pathlib import Path

# Every capability by number (linux/capability.h), CAP_CHOWN = 0 .. CAP_CHECKPOINT_RESTORE = 40.
_CAPABILITY_NAMES = """
CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP LINUX_IMMUTABLE
NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO
SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG
MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM
BLOCK_SUSPEND AUDIT_READ PERFMON BPF CHECKPOINT_RESTORE
"""
ALL_CAPABILITIES = tuple("CAP_" + name for name in _CAPABILITY_NAMES.split())


def host_bounding_set(status: Path = Path("/proc/self/status")) -> list[str]:
    """The capabilities this kernel and process allow (podman's capabilities.BoundingSet)."""
    for line in status.read_text().splitlines():
        if line.startswith("CapBnd:"):
            mask = int(line.split()[1], 16)
            return [cap for bit, cap in enumerate(ALL_CAPABILITIES) if mask >> bit & 1]
    return list(ALL_CAPABILITIES)

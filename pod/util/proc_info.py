"""Facts about host processes from /proc, for `pod top` and `pod stats` (no ps, no psutil), and
whether this process is in a user namespace of its own."""

from __future__ import annotations

import os

from pod.util.records import dataclass

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class ProcStat:
    """The /proc/<pid>/stat and status fields top and stats use."""

    pid: int
    comm: str
    state: str
    ppid: int
    pgrp: int
    tty_nr: int
    cpu_ticks: int
    nice: int
    start_ticks: int
    vsize: int
    uids: tuple[int, ...]
    gids: tuple[int, ...]
    nspid: tuple[int, ...]
    args: list[str]


def read_stat(pid: int) -> ProcStat | None:
    """None when the process is gone (or unreadable) by now."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
        with open(f"/proc/{pid}/status") as handle:
            status = dict(line.split(":", 1) for line in handle if ":" in line)
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            cmdline = handle.read()
    except OSError:
        return None
    comm = data[data.find(b"(") + 1 : data.rfind(b")")].decode(errors="replace")
    fields = data[data.rfind(b")") + 2 :].split()
    return ProcStat(
        pid=pid,
        comm=comm,
        state=fields[0].decode(),
        ppid=int(fields[1]),
        pgrp=int(fields[2]),
        tty_nr=int(fields[4]),
        cpu_ticks=int(fields[11]) + int(fields[12]),
        nice=int(fields[16]),
        start_ticks=int(fields[19]),
        vsize=int(fields[20]),
        uids=tuple(int(n) for n in status.get("Uid", "0").split()),
        gids=tuple(int(n) for n in status.get("Gid", "0").split()),
        nspid=tuple(int(n) for n in status.get("NSpid", str(pid)).split()),
        args=[a.decode(errors="replace") for a in cmdline.split(b"\0") if a],
    )


def uptime_seconds() -> float:
    with open("/proc/uptime") as handle:
        return float(handle.read().split()[0])


def pid_namespace_members(pid: int) -> list[int]:
    """Every process in the pid namespace `pid` belongs to (compared by /proc/*/ns/pid)."""
    target = os.readlink(f"/proc/{pid}/ns/pid")
    members = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            if os.readlink(f"/proc/{name}/ns/pid") == target:
                members.append(int(name))
        except OSError:
            continue
    return sorted(members)


def tty_name(tty_nr: int) -> str:
    if not tty_nr:
        return "?"
    major, minor = os.major(tty_nr), os.minor(tty_nr)
    if 136 <= major <= 143:
        return f"pts/{(major - 136) * 256 + minor}"
    if major == 4:
        return f"tty{minor}"
    return "?"


def in_user_namespace() -> bool:
    """True inside any user namespace other than the initial one."""
    try:
        with open("/proc/self/uid_map") as handle:
            return handle.read().split() != ["0", "0", "4294967295"]
    except OSError:
        return False


def unprivileged() -> bool:
    """Not root, or root of a user namespace only (a rootless shim, its runtime and helpers):
    rootless, whichever process of pod asks."""
    return os.geteuid() != 0 or in_user_namespace()

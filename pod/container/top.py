"""`pod top`: the processes of a running container, ps-style as podman's (psgo) prints them.

Processes are every pid in the container's pid namespace (compared by /proc/*/ns/pid with its
init's); user and group names come from the container's own /etc/passwd and /etc/group.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pod.config import Settings
from pod.container.state import current_state
from pod.errors import PodError
from pod.store.containers import ContainerStore
from pod.store.layout import Layout
from pod.util.gotime import duration_string
from pod.util.proc_info import (
    CLOCK_TICKS,
    ProcStat,
    pid_namespace_members,
    read_stat,
    tty_name,
    uptime_seconds,
)

DEFAULT = ["user", "pid", "ppid", "pcpu", "etime", "tty", "time", "args"]
HEADERS = {
    "args": "COMMAND", "comm": "COMMAND", "etime": "ELAPSED", "group": "GROUP", "nice": "NI",
    "pcpu": "%CPU", "pgid": "PGID", "pid": "PID", "ppid": "PPID", "rgroup": "RGROUP",
    "ruser": "RUSER", "time": "TIME", "tty": "TTY", "user": "USER", "vsz": "VSZ",
    "hpid": "HPID", "huser": "HUSER", "hgroup": "HGROUP", "state": "STATE",
}  # fmt: skip


class _Context:
    """What every row needs: the container's names for ids, its pid map, the clock."""

    def __init__(self, init_pid: int, procs: list[ProcStat]) -> None:
        root = Path(f"/proc/{init_pid}/root")
        self.users = _names(root / "etc/passwd")
        self.groups = _names(root / "etc/group")
        self.uid_map = _id_map(f"/proc/{init_pid}/uid_map")
        self.gid_map = _id_map(f"/proc/{init_pid}/gid_map")
        self.inner_pid = {p.pid: p.nspid[-1] for p in procs}
        self.uptime = uptime_seconds()

    def user(self, host_id: int, groups: bool = False) -> str:
        inside = _map_back(host_id, self.gid_map if groups else self.uid_map)
        names = self.groups if groups else self.users
        return names.get(inside, str(inside))

    def elapsed(self, proc: ProcStat) -> float:
        return max(self.uptime - proc.start_ticks / CLOCK_TICKS, 0.0)


def _names(path: Path) -> dict[int, str]:
    names: dict[int, str] = {}
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return names
    for line in lines:
        fields = line.split(":")
        if len(fields) > 2 and fields[2].isdigit():
            names.setdefault(int(fields[2]), fields[0])
    return names


def _id_map(path: str) -> list[tuple[int, int, int]]:
    try:
        with open(path) as handle:
            return [tuple(int(n) for n in line.split()) for line in handle if line.strip()]
    except OSError:
        return []


def _map_back(host_id: int, lines: list[tuple[int, int, int]]) -> int:
    for inside, outside, count in lines:
        if outside <= host_id < outside + count:
            return inside + host_id - outside
    return host_id


def _columns() -> dict[str, Callable[[ProcStat, _Context], str]]:
    return {
        "args": lambda p, c: " ".join(p.args) or f"[{p.comm}]",
        "comm": lambda p, c: p.comm,
        "etime": lambda p, c: duration_string(round(c.elapsed(p) * 1e9)),
        "group": lambda p, c: c.user(p.gids[1] if len(p.gids) > 1 else p.gids[0], True),
        "nice": lambda p, c: str(p.nice),
        "pcpu": lambda p, c: f"{_pcpu(p, c):.3f}",
        "pgid": lambda p, c: str(c.inner_pid.get(p.pgrp, 0)),
        "pid": lambda p, c: str(p.nspid[-1]),
        "ppid": lambda p, c: str(c.inner_pid.get(p.ppid, 0)),
        "rgroup": lambda p, c: c.user(p.gids[0], True),
        "ruser": lambda p, c: c.user(p.uids[0]),
        "time": lambda p, c: duration_string(round(p.cpu_ticks / CLOCK_TICKS * 1e9)),
        "tty": lambda p, c: tty_name(p.tty_nr),
        "user": lambda p, c: c.user(p.uids[1] if len(p.uids) > 1 else p.uids[0]),
        "vsz": lambda p, c: str(p.vsize // 1024),
        "hpid": lambda p, c: str(p.pid),
        "huser": lambda p, c: str(p.uids[1] if len(p.uids) > 1 else p.uids[0]),
        "hgroup": lambda p, c: str(p.gids[1] if len(p.gids) > 1 else p.gids[0]),
        "state": lambda p, c: p.state,
    }


def _pcpu(proc: ProcStat, context: _Context) -> float:
    elapsed = context.elapsed(proc)
    return 100.0 * proc.cpu_ticks / CLOCK_TICKS / elapsed if elapsed > 0 else 0.0


def tabwrite(rows: list[list[str]], minwidth: int = 12, padding: int = 2) -> str:
    """Go's tabwriter as podman top uses it: every cell but a line's last is padded."""
    widths = [
        max(minwidth, max(len(row[i]) for row in rows) + padding) for i in range(len(rows[0]) - 1)
    ]
    lines = []
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append("".join(cells) + row[-1])
    return "\n".join(lines) + "\n"


def descriptor_names(descriptors: list[str]) -> list[str]:
    """The columns asked for (`pid,user` or several words), checked; podman's by default."""
    names = [d for part in descriptors for d in part.split(",") if d] or DEFAULT
    columns = _columns()
    for name in names:
        if name not in columns:
            raise PodError(f"'{name}': unknown descriptor")
    return names


def header(names: list[str]) -> list[str]:
    return [HEADERS[n] for n in names]


def process_rows(settings: Settings, text: str, names: list[str]) -> list[tuple[int, list[str]]]:
    """(host pid, cells) for every process of a running container, by their pid inside."""
    columns = _columns()
    store = ContainerStore(Layout(settings.root, settings.runroot))
    record = store.lookup(text)
    state = current_state(store, record)
    if state.status not in ("running", "paused") or state.pid <= 0:
        raise PodError("top can only be used on running containers: container state improper")
    try:
        members = pid_namespace_members(state.pid)
    except OSError as err:
        raise PodError(f"reading the processes of {record.name}: {err.strerror}") from None
    procs = [p for p in (read_stat(pid) for pid in members) if p is not None]
    procs.sort(key=lambda p: p.nspid[-1])
    context = _Context(state.pid, procs)
    return [(proc.pid, [columns[n](proc, context) for n in names]) for proc in procs]


def top(settings: Settings, text: str, descriptors: list[str]) -> str:
    names = descriptor_names(descriptors)
    rows = [header(names)] + [cells for _, cells in process_rows(settings, text, names)]
    return tabwrite(rows)

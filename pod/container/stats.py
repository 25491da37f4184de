"""`pod stats`: CPU, memory, network, block I/O and pids of running containers.

Read from the container's own cgroup (v1: cpuacct, memory, pids, blkio; v2: the unified files)
and its network namespace's /proc/<pid>/net/dev. CPU % is averaged over the container's life,
as podman's first sample is.
"""

from __future__ import annotations

import os
import time

from pod.config import Settings
from pod.container.cgroup import controller_dir, is_pure_v2
from pod.container.state import current_state
from pod.errors import PodError
from pod.store.containers import ContainerRecord, ContainerState, ContainerStore
from pod.store.layout import Layout
from pod.util.proc_info import go_duration

COLUMNS = [
    ("ID", "ID"),
    ("NAME", "Name"),
    ("CPU %", "CPUPerc"),
    ("MEM USAGE / LIMIT", "MemUsage"),
    ("MEM %", "MemPerc"),
    ("NET IO", "NetIO"),
    ("BLOCK IO", "BlockIO"),
    ("PIDS", "PIDS"),
    ("CPU TIME", "CPUTime"),
    ("AVG CPU %", "AVGCPU"),
]
_UNLIMITED = 1 << 62


def human(size: float) -> str:
    """go-units HumanSizeWithPrecision(size, 3): decimal units, 3 significant digits."""
    units = ["B", "kB", "MB", "GB", "TB", "PB", "EB"]
    index = 0
    while size >= 1000 and index < len(units) - 1:
        size /= 1000
        index += 1
    return f"{size:.3g}{units[index]}"


def _read(path: str | None, name: str) -> str:
    if path is None:
        return ""
    try:
        with open(os.path.join(path, name)) as handle:
            return handle.read()
    except OSError:
        return ""


def _int(text: str) -> int:
    text = text.strip()
    return int(text) if text.isdigit() else 0


def _host_memory() -> int:
    with open("/proc/meminfo") as handle:
        for line in handle:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return 0


def _net(pid: int) -> tuple[int, int]:
    received = sent = 0
    try:
        with open(f"/proc/{pid}/net/dev") as handle:
            lines = handle.readlines()[2:]
    except OSError:
        return 0, 0
    for line in lines:
        name, _, data = line.partition(":")
        fields = data.split()
        if name.strip() != "lo" and len(fields) > 8:
            received += int(fields[0])
            sent += int(fields[8])
    return received, sent


def _cgroup_numbers(pid: int) -> dict[str, int]:
    if is_pure_v2():
        unified = controller_dir(pid, "")
        if unified is None:
            return {}
        cpu = dict(line.split() for line in _read(unified, "cpu.stat").splitlines() if line)
        limit = _read(unified, "memory.max").strip()
        read = write = 0
        for line in _read(unified, "io.stat").splitlines():
            for item in line.split()[1:]:
                key, _, value = item.partition("=")
                read += int(value) if key == "rbytes" else 0
                write += int(value) if key == "wbytes" else 0
        return {
            "cpu_ns": int(cpu.get("usage_usec", 0)) * 1000,
            "mem": _int(_read(unified, "memory.current")),
            "limit": int(limit) if limit.isdigit() else _UNLIMITED,
            "pids": _int(_read(unified, "pids.current")),
            "read": read,
            "write": write,
        }
    memory, cpuacct = controller_dir(pid, "memory"), controller_dir(pid, "cpuacct")
    if memory is None and cpuacct is None:
        return {}
    read = write = 0
    blkio = controller_dir(pid, "blkio")
    for line in _read(blkio, "blkio.throttle.io_service_bytes_recursive").splitlines():
        fields = line.split()
        if len(fields) == 3:
            read += int(fields[2]) if fields[1] == "Read" else 0
            write += int(fields[2]) if fields[1] == "Write" else 0
    return {
        "cpu_ns": _int(_read(cpuacct, "cpuacct.usage")),
        "mem": _int(_read(memory, "memory.usage_in_bytes")),
        "limit": _int(_read(memory, "memory.limit_in_bytes")) or _UNLIMITED,
        "pids": _int(_read(controller_dir(pid, "pids"), "pids.current")),
        "read": read,
        "write": write,
    }


def stats_row(record: ContainerRecord, state: ContainerState) -> dict:
    """One sample of a container's usage (`stats` and `pod pod stats`)."""
    numbers = _cgroup_numbers(state.pid) if state.pid > 0 else {}
    host = _host_memory()
    limit = min(numbers.get("limit", _UNLIMITED), host) if host else numbers.get("limit", 0)
    mem = numbers.get("mem", 0)
    cpu_ns = numbers.get("cpu_ns", 0)
    up = max(time.time() - state.started_at, 1e-9) if state.started_at else 0
    cpu = 100.0 * cpu_ns / 1e9 / up if up else 0.0
    received, sent = _net(state.pid) if state.pid > 0 else (0, 0)
    return {
        "ID": record.short_id,
        "ContainerID": record.id,
        "Name": record.name,
        "CPUPerc": f"{cpu:.2f}%",
        "AVGCPU": f"{cpu:.2f}%",
        "CPU": cpu,
        "CPUNano": cpu_ns,
        "CPUTime": go_duration(cpu_ns / 1e9),
        "MemUsage": f"{human(mem)} / {human(limit)}",
        "MemUsageBytes": f"{mem} / {limit}",
        "MemPerc": f"{100.0 * mem / limit if limit else 0:.2f}%",
        "NetIO": f"{human(received)} / {human(sent)}",
        "BlockIO": f"{human(numbers.get('read', 0))} / {human(numbers.get('write', 0))}",
        "PIDS": str(numbers.get("pids", 0)),
        "PIDs": numbers.get("pids", 0),
        "UpTime": go_duration(up),
    }


def stats_rows(settings: Settings, names: list[str], include_all: bool) -> list[dict]:
    if settings.rootless and not is_pure_v2():
        raise PodError("stats is not supported in rootless mode without cgroups v2")
    store = ContainerStore(Layout(settings.root, settings.runroot))
    if names:
        records = [store.lookup(text) for text in names]
    else:
        records = sorted(store.list(), key=lambda r: r.created)
    rows = []
    for record in records:
        state = current_state(store, record)
        running = state.status in ("running", "paused", "stopping")
        if names and not running:
            raise PodError(f"container {record.name} is not running: container state improper")
        if running or include_all:
            rows.append(stats_row(record, state))
    return rows

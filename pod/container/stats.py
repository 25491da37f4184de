"""`pod stats`: CPU, memory, network, block I/O and pids of running containers.

Read from the container's own cgroup (v1: cpuacct, memory, pids, blkio; v2: the unified files)
and its network namespace's /proc/<pid>/net/dev. CPU % is averaged over the container's life,
as podman's first sample is.
"""

from __future__ import annotations

import os
import time
from typing import Any

from pod.config import Settings
from pod.container.cgroup import controller_dir, is_pure_v2
from pod.container.state import current_state
from pod.errors import PodError
from pod.format import GoStruct, NilSlice, gofield
from pod.store.containers import ContainerRecord, ContainerState, ContainerStore
from pod.store.layout import Layout
from pod.util.gotime import GoDuration
from pod.util.humanize import human_size
from pod.util.records import InitVar, dataclass

COLUMNS = [
    ("ID", "ID"),
    ("NAME", "Name"),
    ("CPU %", "CPUPerc"),
    ("MEM USAGE / LIMIT", "MemUsage"),
    ("MEM %", "MemPerc"),
    ("NET IO", "NetIO"),
    ("BLOCK IO", "BlockIO"),
    ("PIDS", "PIDS"),
    ("CPU TIME", "UpTime"),
    ("AVG CPU %", "AVGCPU"),
]
HEADERS = {  # podman's overrides of define.ContainerStats's field headers
    "ID": "ID",
    "UpTime": "CPU TIME",
    "CPUPerc": "CPU %",
    "AVGCPU": "Avg CPU %",
    "MemUsage": "MEM USAGE / LIMIT",
    "MemUsageBytes": "MEM USAGE / LIMIT",
    "MemPerc": "MEM %",
    "NetIO": "NET IO",
    "BlockIO": "BLOCK IO",
    "PIDS": "PIDS",
}
_UNLIMITED = 1 << 62


@dataclass
class ContainerStats(GoStruct):
    """podman's define.ContainerStats (UpTime is the container's CPU time, as podman's)."""

    GO_TYPE = "define.ContainerStats"
    AvgCPU: float
    ContainerID: str
    Name: str
    PerCPU: list[int]
    CPU: float
    CPUNano: int
    CPUSystemNano: int
    SystemNano: int
    MemUsage: int
    MemLimit: int
    MemPerc: float
    NetInput: int
    NetOutput: int
    BlockInput: int
    BlockOutput: int
    PIDs: int
    UpTime: GoDuration
    Duration: int


def _percent(value: float) -> str:
    return f"{value:.2f}%"


def _pair(first: int, second: int) -> str:
    """podman's combineHumanValues: go-units HumanSize, four significant digits, no space."""
    return f"{human_size(first, 4, '')} / {human_size(second, 4, '')}"


@dataclass
class StatsReporter(GoStruct):
    """What a `stats --format` template sees: podman's containerStats."""

    GO_TYPE = "containers.containerStats"
    ContainerStats: ContainerStats = gofield(embedded=True)
    no_trunc: InitVar[bool] = False

    def __post_init__(self, no_trunc: bool) -> None:
        self._no_trunc = no_trunc

    def ID(self) -> str:  # noqa: N802 - podman's method names are the template's
        ident = self.ContainerStats.ContainerID
        return ident if self._no_trunc else ident[:12]

    def CPUPerc(self) -> str:  # noqa: N802
        return _percent(self.ContainerStats.CPU)

    def AVGCPU(self) -> str:  # noqa: N802
        return _percent(self.ContainerStats.AvgCPU)

    def Up(self) -> str:  # noqa: N802
        return str(self.ContainerStats.UpTime)

    def MemPerc(self) -> str:  # noqa: N802
        return _percent(self.ContainerStats.MemPerc)

    def NetIO(self) -> str:  # noqa: N802
        return _pair(self.ContainerStats.NetInput, self.ContainerStats.NetOutput)

    def BlockIO(self) -> str:  # noqa: N802
        return _pair(self.ContainerStats.BlockInput, self.ContainerStats.BlockOutput)

    def PIDS(self) -> str:  # noqa: N802
        return str(self.ContainerStats.PIDs)

    def MemUsage(self) -> str:  # noqa: N802
        return _pair(self.ContainerStats.MemUsage, self.ContainerStats.MemLimit)

    def MemUsageBytes(self) -> str:  # noqa: N802
        usage, limit = self.ContainerStats.MemUsage, self.ContainerStats.MemLimit
        return f"{_bytes_size(usage)} / {_bytes_size(limit)}"


def _bytes_size(size: float) -> str:
    """go-units BytesSize: binary units, four significant digits (`232KiB`)."""
    units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
    index = 0
    while size >= 1024 and index < len(units) - 1:
        size /= 1024
        index += 1
    return f"{size:.4g}{units[index]}"


def stats_json(stats: StatsReporter) -> dict[str, str]:
    """`stats --format json`'s element (podman's jstat: every value a string)."""
    return {
        "id": stats.ID(),
        "name": stats.ContainerStats.Name,
        "cpu_time": stats.Up(),
        "cpu_percent": stats.CPUPerc(),
        "avg_cpu": stats.AVGCPU(),
        "mem_usage": stats.MemUsage(),
        "mem_percent": stats.MemPerc(),
        "net_io": stats.NetIO(),
        "block_io": stats.BlockIO(),
        "pids": stats.PIDS(),
    }


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


def _cgroup_numbers(pid: int) -> dict[str, Any]:  # ints, and per_cpu a list of them
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
            "cpu_system_ns": int(cpu.get("system_usec", 0)) * 1000,
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
        "cpu_system_ns": _int(_read(cpuacct, "cpuacct.usage_sys")),
        "per_cpu": [int(n) for n in _read(cpuacct, "cpuacct.usage_percpu").split() if n.isdigit()],
        "mem": _int(_read(memory, "memory.usage_in_bytes")),
        "limit": _int(_read(memory, "memory.limit_in_bytes")) or _UNLIMITED,
        "pids": _int(_read(controller_dir(pid, "pids"), "pids.current")),
        "read": read,
        "write": write,
    }


def container_stats(record: ContainerRecord, state: ContainerState) -> ContainerStats:
    """One sample: the CPU percentage is the average over the container's life, as podman's
    first sample is."""
    numbers = _cgroup_numbers(state.pid) if state.pid > 0 else {}
    host = _host_memory()
    limit = min(numbers.get("limit", _UNLIMITED), host) if host else numbers.get("limit", 0)
    mem = numbers.get("mem", 0)
    cpu_ns = numbers.get("cpu_ns", 0)
    up = max(time.time() - state.started_at, 1e-9) if state.started_at else 0
    cpu = 100.0 * cpu_ns / 1e9 / up if up else 0.0
    received, sent = _net(state.pid) if state.pid > 0 else (0, 0)
    return ContainerStats(
        AvgCPU=cpu,
        ContainerID=record.id,
        Name=record.name,
        PerCPU=numbers.get("per_cpu") or NilSlice(),
        CPU=cpu,
        CPUNano=cpu_ns,
        CPUSystemNano=numbers.get("cpu_system_ns", 0),
        SystemNano=time.time_ns(),
        MemUsage=mem,
        MemLimit=limit,
        MemPerc=100.0 * mem / limit if limit else 0.0,
        NetInput=received,
        NetOutput=sent,
        BlockInput=numbers.get("read", 0),
        BlockOutput=numbers.get("write", 0),
        PIDs=numbers.get("pids", 0),
        UpTime=GoDuration(cpu_ns),
        Duration=cpu_ns,
    )


def stats_rows(settings: Settings, names: list[str], include_all: bool) -> list[ContainerStats]:
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
            rows.append(container_stats(record, state))
    return rows

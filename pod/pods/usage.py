"""`pod pod top` and `pod pod stats`: the container reports over a pod's running containers."""

from __future__ import annotations

from pod.config import Settings
from pod.container.stats import StatsReporter, container_stats
from pod.container.top import descriptor_names, header, process_rows, tabwrite
from pod.errors import PodError
from pod.pods.lifecycle import load
from pod.store.layout import Layout
from pod.store.pods import PodStore

STATS_COLUMNS = [
    ("POD", "Pod"),
    ("CID", "CID"),
    ("NAME", "Name"),
    ("CPU %", "CPUPerc"),
    ("MEM USAGE/ LIMIT", "MemUsage"),
    ("MEM %", "MemPerc"),
    ("NET IO", "NetIO"),
    ("BLOCK IO", "BlockIO"),
    ("PIDS", "PIDS"),
]


def pod_top(settings: Settings, text: str, descriptors: list[str]) -> str:
    """The processes of every running container of the pod, each once (a shared PID namespace
    shows the same processes from every container)."""
    names = descriptor_names(descriptors)
    context = load(settings, text)
    rows: dict[int, list[str]] = {}
    for record in context.containers:
        if context.status(record) in ("running", "paused"):
            for pid, cells in process_rows(settings, record.id, names):
                rows.setdefault(pid, cells)
    if not rows:
        raise PodError(f"pod {context.pod.id} is not running: no such container")
    return tabwrite([header(names), *rows.values()])


def pod_stats(settings: Settings, texts: list[str], include_all: bool) -> list[dict]:
    """A sample of each running container of the named pods (all pods when none named; with
    `include_all` the stopped ones too)."""
    from pod.container.state import current_state
    from pod.runtime.cgroups import is_pure_v2

    if settings.rootless and not is_pure_v2():
        raise PodError("stats is not supported in rootless mode without cgroups v2")
    if not texts:
        texts = [p.id for p in PodStore(Layout(settings.root, settings.runroot)).list()]
    rows = []
    for text in texts:
        context = load(settings, text)
        for record in context.containers:
            state = current_state(context.store, record)
            if state.status in ("running", "paused") or include_all:
                stats = StatsReporter(container_stats(record, state))
                rows.append(
                    {
                        "Pod": context.pod.short_id,
                        "CID": stats.ID(),
                        "Name": record.name,
                        "CPUPerc": stats.CPUPerc(),
                        "MemUsage": stats.MemUsage(),
                        "MemUsageBytes": stats.MemUsageBytes(),
                        "MemPerc": stats.MemPerc(),
                        "NetIO": stats.NetIO(),
                        "BlockIO": stats.BlockIO(),
                        "PIDS": stats.PIDS(),
                    }
                )
    return rows

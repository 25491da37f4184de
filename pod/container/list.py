"""`pod ps`: rows of container facts, filtered and sorted as podman does."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from pod.config import Settings
from pod.container.state import current_state
from pod.errors import UsageError
from pod.network.report import ps_ports
from pod.store.containers import ContainerRecord, ContainerState, ContainerStore
from pod.store.layout import Layout
from pod.util.filters import regex_any
from pod.util.humanize import human_duration, human_size, iso_time, since

if TYPE_CHECKING:
    from pod.store.pods import PodRecord

SORT_KEYS = ("command", "created", "id", "image", "names", "runningfor", "size", "status")
FILTER_KEYS = ("name", "id", "status", "label", "ancestor", "exited", "health", "pod")
# podman's StringToContainerStatus: the states a status filter may name
STATUS_VALUES = (
    "created", "running", "paused", "stopped", "exited", "removing", "unknown", "initialized",
)  # fmt: skip


def health_status(record: ContainerRecord, state: ContainerState) -> str:
    """starting, healthy or unhealthy; "" for a container without a health check."""
    if not record.healthcheck:
        return ""
    return str(state.health.get("Status") or "starting")


def status_text(state: ContainerState, health: str = "") -> str:
    """`Up 3 seconds (healthy)`, `Exited (0) 2 seconds ago`, `Created`: podman's STATUS."""
    if state.status == "running":
        up = f"Up {human_duration(time.time() - state.started_at)}"
        return f"{up} ({health})" if health else up
    if state.status == "paused":
        return f"Up {human_duration(time.time() - state.started_at)} (Paused)"
    if state.status in ("exited", "stopped"):
        return f"Exited ({state.exit_code}) {since(state.finished_at)}"
    return state.status.capitalize() if state.status != "configured" else "Created"


def _command(record: ContainerRecord, no_trunc: bool) -> str:
    text = " ".join(record.command)
    return text if no_trunc or len(text) <= 20 else text[:17] + "..."


def _pods(layout: Layout, records: list[ContainerRecord]) -> dict[str, PodRecord]:
    """The pods of these containers by ID (the pod records are read only when one has a pod)."""
    if not any(record.pod for record in records):
        return {}
    from pod.store.pods import PodStore

    return {pod.id: pod for pod in PodStore(layout).list()}


def _ports(record: ContainerRecord, by_id: dict[str, ContainerRecord]) -> str:
    """PORTS: a pod's containers show the ports their infra publishes, as podman's."""
    if not record.ports and record.network.startswith("container:") and record.pod:
        record = by_id.get(record.network.partition(":")[2], record)
    return ps_ports(record) if record.ports else ""


def _row(
    layout: Layout,
    record: ContainerRecord,
    state: ContainerState,
    no_trunc: bool,
    size: bool,
    pods: dict[str, PodRecord],
    by_id: dict[str, ContainerRecord],
) -> dict:
    status = "created" if state.status == "configured" else state.status
    pod = pods.get(record.pod)
    row = {
        "ID": record.id if no_trunc else record.short_id,
        "Id": record.id,
        "Image": record.image_name,
        "ImageID": record.image_id,
        "Command": _command(record, no_trunc),
        "Created": int(record.created),
        "CreatedAt": iso_time(record.created),
        "CreatedHuman": since(record.created),
        "RunningFor": human_duration(time.time() - record.created),
        "Status": status_text(state, health_status(record, state)),
        "State": status,
        "Ports": _ports(record, by_id),
        "Names": record.name,
        "Labels": record.labels,
        "Mounts": [m.get("destination", "") for m in record.mounts],
        "Pid": state.pid if status == "running" else 0,
        "ExitCode": state.exit_code or 0,
        "Exited": status == "exited",
        "ExitedAt": int(state.finished_at),
        "StartedAt": int(state.started_at),
        "Size": "",
        "IsInfra": record.infra,
        "Pod": record.pod if no_trunc or not record.pod else record.pod[:12],
        "PodName": pod.name if pod is not None else "",
    }
    if size:
        from pod.system.df import tree_size

        row["Size"] = human_size(tree_size(layout.container(record.id).upper))
    return row


def _matches(
    record: ContainerRecord,
    state: ContainerState,
    key: str,
    value: str,
    pods: dict[str, PodRecord],
) -> bool:
    status = "created" if state.status == "configured" else state.status
    if key == "pod":
        pod = pods.get(record.pod)
        return pod is not None and (pod.name == value or pod.id.startswith(value))
    if key == "name":
        return regex_any([value], record.name)
    if key == "id":
        return record.id.startswith(value)
    if key == "status":  # podman: a stopped container is "exited", so is the filter's "stopped"
        return status == ("exited" if value == "stopped" else value)
    if key == "label":
        name, sep, wanted = value.partition("=")
        return name in record.labels and (not sep or record.labels[name] == wanted)
    if key == "health":
        return (health_status(record, state) or "none") == value
    if key == "ancestor":
        short = record.image_name.rpartition("/")[2]
        return value in (record.image_name, short, short.partition(":")[0]) or (
            len(value) >= 3 and record.image_id.startswith(value)
        )
    return status == "exited" and str(state.exit_code) == value


def list_containers(
    settings: Settings,
    include_all: bool,
    filters: list[str],
    sort: str = "created",
    size: bool = False,
    no_trunc: bool = False,
    external: bool = False,
) -> list[dict]:
    """Rows for `ps`; build step containers only with `external` (podman's --external)."""
    if sort not in SORT_KEYS:
        raise UsageError(f'invalid option for --sort "{sort}": use one of {", ".join(SORT_KEYS)}')
    parsed: dict[str, list[str]] = {}
    for item in filters:
        key, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f'invalid filter "{item}"')
        if key not in FILTER_KEYS:
            raise UsageError(f"{key} is an invalid filter")
        if key == "status" and value not in STATUS_VALUES:
            raise UsageError(f"unknown container state: {value}: invalid argument")
        parsed.setdefault(key, []).append(value)
    layout = Layout(settings.root, settings.runroot)
    store = ContainerStore(layout)
    pairs = []
    records = store.list()
    pods = _pods(layout, records)
    for record in records:
        if record.builder and not external:
            continue
        state = current_state(store, record)
        if state.status == "creating":  # not a container yet (or never, when cut short)
            continue
        if not include_all and state.status != "running" and "status" not in parsed:
            continue
        # podman: every key must match, any one of a key's values
        if all(
            any(_matches(record, state, key, value, pods) for value in values)
            for key, values in parsed.items()
        ):
            pairs.append((record, state))
    by_id = {record.id: record for record in records}
    rows = [_row(layout, record, state, no_trunc, size, pods, by_id) for record, state in pairs]
    keys = {
        "created": lambda r: -r["Created"],
        "runningfor": lambda r: -r["Created"],
        "command": lambda r: r["Command"],
        "id": lambda r: r["Id"],
        "image": lambda r: r["Image"],
        "names": lambda r: r["Names"],
        "size": lambda r: r["Size"],
        "status": lambda r: r["Status"],
    }
    return sorted(rows, key=keys[sort])

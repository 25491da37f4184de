"""`pod pod ps`: one row per pod, its status derived from its containers' as podman does."""

from __future__ import annotations

import re

from pod.config import Settings
from pod.container.state import current_state
from pod.errors import NoSuchContainerError, UsageError
from pod.pods.members import members
from pod.store.containers import ContainerStore
from pod.store.layout import Layout
from pod.store.pods import PodRecord, PodStore
from pod.util.humanize import rfc3339, since

FILTER_KEYS = (
    "ctr-ids", "ctr-names", "ctr-number", "ctr-status", "id", "label", "name", "network",
    "status", "until",
)  # fmt: skip
POD_STATES = ("stopped", "running", "paused", "exited", "dead", "created", "degraded")
SORT_KEYS = ("created", "id", "name", "number", "status")


def pod_status(container_states: list[str]) -> str:
    """podman's pod state from its containers' (libpod createPodStatusResults)."""
    if not container_states:
        return "Created"
    counts = {"stopped": 0, "running": 0, "paused": 0, "created": 0, "error": 0}
    for state in container_states:
        if state in ("exited", "stopped"):
            counts["stopped"] += 1
        elif state in ("running", "paused"):
            counts[state] += 1
        elif state in ("created", "configured", "creating"):
            counts["created"] += 1
        else:
            counts["error"] += 1
    total = len(container_states)
    if counts["running"] == total:
        return "Running"
    if counts["running"]:
        return "Degraded"
    if counts["paused"] == total:
        return "Paused"
    if counts["stopped"] == total:
        return "Exited"
    if counts["stopped"]:
        return "Stopped"
    if counts["error"]:
        return "Error"
    return "Created"


def container_status(state: str) -> str:
    """A container's state as pod listings show it."""
    return "created" if state in ("configured", "creating") else state


def _networks(store: ContainerStore, pod: PodRecord) -> list[str]:
    if not pod.infra_id:
        return []
    try:
        infra = store.lookup(pod.infra_id)
    except NoSuchContainerError:  # its removal was cut short: the pod shows without it
        return []
    if infra.networks:
        return [n["name"] for n in infra.networks]
    return [] if infra.network in ("host", "none") else [infra.network]


def pod_row(layout: Layout, store: ContainerStore, pod: PodRecord, no_trunc: bool) -> dict:
    """The template data of one pod (podman's ListPodsReport fields plus the table's)."""
    records = members(store, pod)
    states = [container_status(current_state(store, r).status) for r in records]
    short = (lambda text: text) if no_trunc else (lambda text: text[:12])
    containers = [
        {"Id": r.id, "Names": r.name, "Status": s} for r, s in zip(records, states, strict=True)
    ]
    return {
        "Id": pod.id,
        "ID": short(pod.id),
        "Name": pod.name,
        "Status": pod_status(states),
        "Created": since(pod.created),
        "CreatedAt": rfc3339(pod.created),
        "CreatedUnix": pod.created,
        "InfraId": pod.infra_id,
        "InfraID": short(pod.infra_id),
        "NumberOfContainers": len(records),
        "Labels": dict(pod.labels),
        "Networks": ",".join(_networks(store, pod)),
        "NetworkList": _networks(store, pod),
        "Cgroup": "",
        "Namespace": "",
        "Namespaces": ",".join(pod.shared),
        "ContainerNames": ",".join(c["Names"] for c in containers),
        "ContainerIds": ",".join(short(c["Id"]) for c in containers),
        "ContainerStatuses": ",".join(c["Status"] for c in containers),
        "Containers": containers,
    }


def _matches(row: dict, key: str, value: str) -> bool:
    containers = row["Containers"]
    if key == "id":
        return row["Id"].startswith(value)
    if key == "name":
        return re.search(value, row["Name"]) is not None
    if key == "label":
        name, sep, wanted = value.partition("=")
        return name in row["Labels"] and (not sep or row["Labels"][name] == wanted)
    if key == "status":
        return row["Status"].lower() == value
    if key == "ctr-names":
        return any(re.search(value, c["Names"]) for c in containers)
    if key == "ctr-ids":
        return any(c["Id"].startswith(value) for c in containers)
    if key == "ctr-status":
        return any(c["Status"] == value for c in containers)
    if key == "ctr-number":
        return str(len(containers)) == value
    if key == "network":
        return value in row["NetworkList"]
    from pod.util.timefmt import parse_moment

    return row["CreatedUnix"] * 1e9 < parse_moment(value)


def _parse_filters(filters: list[str]) -> list[tuple[str, str]]:
    parsed = []
    for item in filters:
        key, sep, value = item.partition("=")
        if not sep or key not in FILTER_KEYS:
            raise UsageError(f"{key} is an invalid filter")
        if key == "status" and value not in POD_STATES:
            raise UsageError(f"{value} is not a valid status")
        parsed.append((key, value))
    return parsed


def list_pods(
    settings: Settings, filters: list[str], sort: str = "created", no_trunc: bool = False
) -> list[dict]:
    """Rows for `pod pod ps`: filters of one key OR together, different keys AND (podman)."""
    if sort not in SORT_KEYS:
        raise UsageError(f"invalid option for --sort, options are: {', '.join(SORT_KEYS)}")
    parsed = _parse_filters(filters)
    layout = Layout(settings.root, settings.runroot)
    store = ContainerStore(layout)
    rows = []
    for pod in PodStore(layout).list():
        row = pod_row(layout, store, pod, no_trunc)
        keys = {key for key, _ in parsed}
        if all(any(_matches(row, k, v) for k, v in parsed if k == key) for key in keys):
            rows.append(row)
    keys = {
        "created": lambda r: -r["CreatedUnix"],
        "id": lambda r: r["Id"],
        "name": lambda r: r["Name"],
        "number": lambda r: r["NumberOfContainers"],
        "status": lambda r: r["Status"],
    }
    return sorted(rows, key=keys[sort])


def json_rows(rows: list[dict]) -> list[dict]:
    """`--format json`: podman's ListPodsReport shape."""
    return [
        {
            "Cgroup": row["Cgroup"],
            "Containers": row["Containers"],
            "Created": row["CreatedAt"],
            "Id": row["Id"],
            "InfraId": row["InfraId"],
            "Name": row["Name"],
            "Namespace": row["Namespace"],
            "Networks": row["NetworkList"],
            "Status": row["Status"],
            "Labels": row["Labels"],
        }
        for row in rows
    ]

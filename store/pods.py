"""Pod records: a name, the namespaces its containers share and the infra container holding them.

One JSON file per pod, `<root>/pods/<id>.json`, written atomically; names are unique under the
store-wide pods lock. A pod's containers name it in their own records (ContainerRecord.pod), so
membership needs no second index to keep in step. Joining a pod holds the pod's lock shared
and removing one holds it exclusively: no container can slip into a pod being removed.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

from pod.errors import NoSuchPodError, PodError, UsageError
from pod.store.containers import new_id, random_name
from pod.store.layout import Layout
from pod.store.lock import atomic_write_json, locked, read_json
from pod.store.names import name_problem, resolve
from pod.util.records import asdict, dataclass, field, field_names

# podman's namespace names, as --share takes them
SHAREABLE = ("cgroup", "ipc", "net", "pid", "uts")
DEFAULT_SHARED = ("ipc", "net", "uts")
# --exit-policy: what becomes of the pod once its last container has exited (podman's words)
EXIT_POLICIES = ("continue", "stop")


@dataclass
class PodRecord:
    """What `pod pod create` decided (kube play makes pods the same way)."""

    id: str
    name: str
    created: float = field(default_factory=time.time)
    hostname: str = ""  # the shared UTS namespace's name ("": the pod's name)
    labels: dict[str, str] = field(default_factory=dict)
    shared: list[str] = field(default_factory=lambda: list(DEFAULT_SHARED))
    infra_id: str = ""  # "" for a pod made with --infra=false
    userns: str = ""  # --userns for every container of the pod ("", keep-id, host)
    # /etc/hosts and resolv.conf entries every container of the pod gets (--add-host, --dns*)
    add_hosts: list[str] = field(default_factory=list)
    dns: list[str] = field(default_factory=list)
    dns_search: list[str] = field(default_factory=list)
    dns_options: list[str] = field(default_factory=list)
    create_command: list[str] = field(default_factory=list)
    exit_policy: str = "continue"

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @classmethod
    def from_dict(cls, data: dict) -> PodRecord:
        known = set(field_names(cls))
        return cls(**{k: v for k, v in data.items() if k in known})


def check_pod_name(name: str) -> None:
    """Refuse a pod name podman would refuse (exit 125), before anything is made."""
    problem = name_problem(name)
    if problem:
        raise UsageError(f"running pod create option: {problem}")


class PodStore:
    """Pod records on disk: create (unique names), look up, rewrite, remove."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout

    def list(self) -> list[PodRecord]:
        root = self.layout.pods_root
        if not root.is_dir():
            return []
        records = []
        for entry in os.scandir(root):
            if entry.name.endswith(".json") and not entry.name.startswith("."):
                data = read_json(Path(entry.path))
                if data:
                    records.append(PodRecord.from_dict(data))
        return sorted(records, key=lambda r: r.created)

    def get(self, pod_id: str) -> PodRecord | None:
        """By full ID; None when there is no such pod (any more)."""
        data = read_json(self.layout.pod_record(pod_id)) if pod_id else None
        return PodRecord.from_dict(data) if data else None

    def lookup(self, text: str) -> PodRecord:
        """By full ID, unique ID prefix or name, as podman resolves pods."""
        found = resolve(self.list(), text, "pod")
        if found is not None:
            return found
        raise NoSuchPodError(f"no pod with name or ID {text} found: no such pod")

    def create(self, record: PodRecord) -> PodRecord:
        """Write a new record with a unique name (a random one when empty)."""
        if record.name:
            check_pod_name(record.name)
        record.id = record.id or new_id()
        with locked(self.layout.pods_lock):
            taken = {r.name for r in self.list()}
            if not record.name:
                record.name = random_name(taken)
            if record.name in taken:
                raise PodError(
                    f'adding pod to state: name "{record.name}" is in use: pod already exists'
                )
            atomic_write_json(self.layout.pod_record(record.id), asdict(record))
        return record

    def rewrite(self, record: PodRecord) -> None:
        with locked(self.layout.pods_lock):
            atomic_write_json(self.layout.pod_record(record.id), asdict(record))

    def remove(self, pod_id: str) -> None:
        with locked(self.layout.pods_lock):
            self.layout.pod_record(pod_id).unlink(missing_ok=True)
        self.layout.pod_lock(pod_id).unlink(missing_ok=True)

    @contextlib.contextmanager
    def joining(self, pod_id: str) -> Iterator[PodRecord]:
        """The pod, held (shared) while a container is made part of it: a removal waits."""
        with locked(self.layout.pod_lock(pod_id), shared=True):
            record = self.get(pod_id)
            if record is None:
                raise NoSuchPodError(f"no pod with name or ID {pod_id} found: no such pod")
            yield record

    @contextlib.contextmanager
    def removing(self, pod_id: str) -> Iterator[None]:
        """Held exclusively while the pod and its containers are removed."""
        with locked(self.layout.pod_lock(pod_id)):
            yield

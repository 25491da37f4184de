"""`pod ps`: podman's ListContainer records, filtered and sorted as podman does, and the
reporter its templates see.

podman's `ps --format` templates run against `psReporter` (ListContainer embedded, plus
methods: `{{.ID}}` truncated, `{{.Names}}` the first name, `{{.Created}}` a time.Time,
`{{.State}}` and `{{.Status}}` "Up 3 seconds ago"), and `--format json` writes ListContainer
itself with Created as Unix seconds. Both are modelled here field for field (pod.format.structs).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pod.config import Settings
from pod.container.state import current_state, podman_status
from pod.errors import UsageError
from pod.format import GoMap, GoStruct, NilSlice, gofield
from pod.network.ports import PortMapping as Published
from pod.network.ports import port_runs
from pod.network.report import mappings
from pod.store.containers import ContainerRecord, ContainerState, ContainerStore
from pod.store.layout import Layout
from pod.util import records
from pod.util.filters import regex_any
from pod.util.gotime import GoTime
from pod.util.humanize import human_duration, human_size
from pod.util.records import InitVar, dataclass

if TYPE_CHECKING:
    from pod.store.pods import PodRecord

SORT_KEYS = ("command", "created", "id", "image", "names", "runningfor", "size", "status")
FILTER_KEYS = ("name", "id", "status", "label", "ancestor", "exited", "health", "pod")
# podman's StringToContainerStatus: the states a status filter may name
STATUS_VALUES = (
    "created", "running", "paused", "stopped", "exited", "removing", "unknown", "initialized",
)  # fmt: skip


@dataclass
class PortMapping(GoStruct):
    """common/libnetwork/types.PortMapping: one published range."""

    GO_TYPE = "types.PortMapping"
    HostIP: str = gofield("host_ip")
    ContainerPort: int = gofield("container_port")
    HostPort: int = gofield("host_port")
    Range: int = gofield("range")
    Protocol: str = gofield("protocol")


@dataclass
class ListContainerNamespaces(GoStruct):
    """The namespace ids `ps --ns` shows (pod fills none: `{{.Namespaces}}` prints `{      }`)."""

    GO_TYPE = "entities.ListContainerNamespaces"
    MNT: str = gofield("Mnt,omitempty", default="")
    Cgroup: str = gofield("Cgroup,omitempty", default="")
    IPC: str = gofield("Ipc,omitempty", default="")
    NET: str = gofield("Net,omitempty", default="")
    PIDNS: str = gofield("Pidns,omitempty", default="")
    UTS: str = gofield("Uts,omitempty", default="")
    User: str = gofield("User,omitempty", default="")


@dataclass
class ContainerSize(GoStruct):
    GO_TYPE = "define.ContainerSize"
    RootFsSize: int = gofield("rootFsSize")
    RwSize: int = gofield("rwSize")


@dataclass
class ListContainer(GoStruct):
    """podman's entities.ListContainer, in its field order."""

    GO_TYPE = "entities.ListContainer"
    AutoRemove: bool
    Command: list[str]
    Created: GoTime
    CreatedAt: str
    Exited: bool
    ExitedAt: int
    ExitCode: int
    ID: str = gofield("Id")
    Image: str = ""
    ImageID: str = ""
    IsInfra: bool = False
    Labels: GoMap = records.field(default_factory=GoMap)
    Mounts: list[str] = records.field(default_factory=list)
    Names: list[str] = records.field(default_factory=list)
    Namespaces: ListContainerNamespaces = records.field(default_factory=ListContainerNamespaces)
    Networks: list[str] = records.field(default_factory=list)
    Pid: int = 0
    Pod: str = ""
    PodName: str = ""
    Ports: list[PortMapping] = records.field(default_factory=NilSlice)
    Size: ContainerSize | None = None
    StartedAt: int = 0
    State: str = ""
    Status: str = ""  # the health check's status (pod runs none)


def health_status(record: ContainerRecord, state: ContainerState) -> str:
    """starting, healthy or unhealthy; "" for a container without a health check."""
    if not record.healthcheck:
        return ""
    return str(state.health.get("Status") or "starting")


def _ago(seconds: float) -> str:
    return human_duration(time.time() - seconds) + " ago"


def state_text(container: ListContainer) -> str:
    """podman's psReporter.State(): `Up 3 seconds ago`, `Exited (0) 2 seconds ago`, `Created`."""
    if container.State == "running":
        return "Up " + _ago(container.StartedAt)
    if container.State in ("exited", "stopped"):
        return f"Exited ({container.ExitCode}) " + _ago(container.ExitedAt)
    return container.State.title()


def status_text(container: ListContainer) -> str:
    """psReporter.Status(): the state, and the health check's status in parentheses."""
    health = container.Status
    return f"{state_text(container)} ({health})" if health else state_text(container)


@dataclass
class PsReporter(GoStruct):
    """What a `ps --format` template sees: podman's psReporter (methods over ListContainer)."""

    GO_TYPE = "containers.psReporter"
    ListContainer: ListContainer = gofield(embedded=True)
    no_trunc: InitVar[bool] = False

    def __post_init__(self, no_trunc: bool) -> None:
        self._no_trunc = no_trunc

    def _trunc(self, text: str) -> str:
        return text if self._no_trunc else text[:12]

    def ImageID(self) -> str:  # noqa: N802 - podman's method names are the template's
        return self._trunc(self.ListContainer.ImageID)

    def ID(self) -> str:  # noqa: N802
        return self._trunc(self.ListContainer.ID)

    def Pod(self) -> str:  # noqa: N802
        return self._trunc(self.ListContainer.Pod)

    def State(self) -> str:  # noqa: N802
        return state_text(self.ListContainer)

    def Status(self) -> str:  # noqa: N802
        return status_text(self.ListContainer)

    def RunningFor(self) -> str:  # noqa: N802
        return self.CreatedHuman()

    def Command(self) -> str:  # noqa: N802
        command = " ".join(self.ListContainer.Command)
        return command if self._no_trunc or len(command) <= 17 else command[:17] + "..."

    def Size(self) -> str:  # noqa: N802
        size = self.ListContainer.Size
        if size is None:  # podman logs "Size format requires --size option" and prints nothing
            return ""
        rw = human_size(size.RwSize, 3, "")
        return f"{rw} (virtual {human_size(size.RootFsSize, 3, '')})"

    def Names(self) -> str:  # noqa: N802
        return self.ListContainer.Names[0]

    def Networks(self) -> str:  # noqa: N802
        return ",".join(self.ListContainer.Networks)

    def Ports(self) -> str:  # noqa: N802
        return ports_text(self.ListContainer.Ports)

    def CreatedAt(self) -> str:  # noqa: N802
        return str(self.ListContainer.Created)

    def CreatedHuman(self) -> str:  # noqa: N802
        return _ago(self.ListContainer.Created.seconds())

    def Cgroup(self) -> str:  # noqa: N802
        return self.ListContainer.Namespaces.Cgroup

    def IPC(self) -> str:  # noqa: N802
        return self.ListContainer.Namespaces.IPC

    def MNT(self) -> str:  # noqa: N802
        return self.ListContainer.Namespaces.MNT

    def NET(self) -> str:  # noqa: N802
        return self.ListContainer.Namespaces.NET

    def PIDNS(self) -> str:  # noqa: N802
        return self.ListContainer.Namespaces.PIDNS

    def User(self) -> str:  # noqa: N802
        return self.ListContainer.Namespaces.User

    def UTS(self) -> str:  # noqa: N802
        return self.ListContainer.Namespaces.UTS


def ports_text(ports: Sequence[PortMapping]) -> str:
    """The PORTS column, podman's portsToString: `0.0.0.0:8000-8002->80-82/tcp, ...` (all
    addresses shown as 0.0.0.0, IPv6 addresses without brackets, as podman 4.3 prints them)."""
    shown = []
    for port in ports:
        host_ip = port.HostIP or "0.0.0.0"
        for protocol in port.Protocol.split(","):
            if port.Range > 1:
                host = f"{port.HostPort}-{port.HostPort + port.Range - 1}"
                inside = f"{port.ContainerPort}-{port.ContainerPort + port.Range - 1}"
            else:
                host, inside = str(port.HostPort), str(port.ContainerPort)
            shown.append(f"{host_ip}:{host}->{inside}/{protocol}")
    return ", ".join(shown)


@dataclass
class PsJSON(GoStruct):
    """`ps --format json`'s element: ListContainer with Created as Unix seconds, CreatedAt
    "3 seconds ago" and Status the reporter's."""

    ListContainer: ListContainer = gofield(embedded=True)
    Created: int = 0


def ps_json(container: ListContainer) -> PsJSON:
    shown = records.replace(
        container, CreatedAt=_ago(container.Created.seconds()), Status=status_text(container)
    )
    return PsJSON(shown, container.Created.Unix())


def _unix(seconds: float) -> int:
    """A time as ListContainer keeps it: Unix seconds, Go's zero time's for "never"."""
    return GoTime.from_seconds(seconds).Unix()


def ps_ports(published: Sequence[Published]) -> list[PortMapping]:
    """A container's published ports as podman keeps them: consecutive ports as one range."""
    runs = port_runs(published)
    if not runs:
        return NilSlice()
    return [
        PortMapping(first.host_ip, first.container_port, first.host_port, length, first.protocol)
        for first, length in runs
    ]


def _size(layout: Layout, record: ContainerRecord) -> ContainerSize:
    from pod.errors import NoSuchImageError
    from pod.store.images import ImageStore
    from pod.system.df import tree_size

    rw = tree_size(layout.container(record.id).upper)
    try:
        image = ImageStore(layout).lookup(record.image_id).size
    except NoSuchImageError:
        image = 0
    return ContainerSize(image + rw, rw)


def state_name(state: ContainerState) -> str:
    """The state podman names: `created`, `running`, `paused`, `exited`, `stopping`, ..."""
    return podman_status(state.status)


def _pods(layout: Layout, records: list[ContainerRecord]) -> dict[str, PodRecord]:
    """The pods of these containers by ID (the pod records are read only when one has a pod)."""
    if not any(record.pod for record in records):
        return {}
    from pod.store.pods import PodStore

    return {pod.id: pod for pod in PodStore(layout).list()}


def _publisher(record: ContainerRecord, by_id: dict[str, ContainerRecord]) -> ContainerRecord:
    """Whose ports a container shows: a pod's containers show their infra's, as podman's."""
    if not record.ports and record.network.startswith("container:") and record.pod:
        return by_id.get(record.network.partition(":")[2], record)
    return record


def list_container(
    layout: Layout,
    record: ContainerRecord,
    state: ContainerState,
    size: bool = False,
    pods: dict[str, PodRecord] | None = None,
    by_id: dict[str, ContainerRecord] | None = None,
) -> ListContainer:
    """podman's ListContainer for one container (`pods` and `by_id`, the store's pods and
    containers, name its pod and the infra that publishes its ports)."""
    status = state_name(state)
    pod = (pods or {}).get(record.pod)
    return ListContainer(
        AutoRemove=record.remove,
        Command=list(record.command),
        Created=GoTime.from_seconds(record.created),
        CreatedAt="",
        Exited=status in ("exited", "stopped"),
        ExitedAt=_unix(state.finished_at),
        ExitCode=state.exit_code or 0,
        ID=record.id,
        Image=record.image_name,
        ImageID=record.image_id,
        IsInfra=record.infra,
        Labels=GoMap(record.labels),
        Mounts=[str(m.get("destination", "")) for m in record.mounts],
        Names=[record.name],
        Networks=[str(n["name"]) for n in record.networks],
        Pid=state.pid if status in ("running", "paused", "initialized") else 0,
        Pod=record.pod,
        PodName=pod.name if pod is not None else "",
        Ports=ps_ports(mappings(_publisher(record, by_id or {}))),
        Size=_size(layout, record) if size else None,
        StartedAt=_unix(state.started_at),
        State=status,
        Status=health_status(record, state),
    )


def _matches(
    record: ContainerRecord,
    state: ContainerState,
    key: str,
    value: str,
    pods: dict[str, PodRecord],
) -> bool:
    status = state_name(state)
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


_SORTS = {  # podman's SortPsOutput: every key ascending
    "command": lambda c: " ".join(c.Command),
    "created": lambda c: c.Created.seconds(),
    "id": lambda c: c.ID,
    "image": lambda c: c.Image,
    "names": lambda c: c.Names[0],
    "runningfor": lambda c: c.StartedAt,
    "size": lambda c: c.Size.RootFsSize if c.Size is not None else 0,
    "status": lambda c: c.State,
}


def list_containers(
    settings: Settings,
    include_all: bool,
    filters: list[str],
    sort: str | None = None,
    size: bool = False,
    external: bool = False,
    last: int = -1,
) -> list[ListContainer]:
    """`ps`'s containers, oldest first as podman lists them (`last`: the N newest of them);
    build step containers only with `external` (podman's --external)."""
    if sort is not None and sort not in SORT_KEYS:
        raise UsageError(
            f'invalid argument "{sort}" for "--sort" flag: "{sort}" is not a valid value.  '
            f'Choose from: "{", ".join(SORT_KEYS)}"'
        )
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
    pairs.sort(key=lambda pair: pair[0].created)
    if last > 0:
        pairs = pairs[-last:]
    by_id = {record.id: record for record in records}
    found = [list_container(layout, r, state, size, pods, by_id) for r, state in pairs]
    if sort is not None:
        found.sort(key=_SORTS[sort])
    return found

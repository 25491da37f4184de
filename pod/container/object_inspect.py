"""`pod inspect`: find each name as a container, then an image, then a volume (podman's order).

The documents are the ones `container inspect`, `image inspect` and `volume inspect` print, so
the three commands and the generic one never disagree.
"""

from __future__ import annotations

from typing import Any

from pod.config import Settings
from pod.errors import (
    NoSuchContainerError,
    NoSuchImageError,
    NoSuchVolumeError,
    PodError,
    UsageError,
)
from pod.format import GoMap, GoStruct, NilMap, gofield
from pod.store.containers import ContainerStore
from pod.store.images import ImageStore
from pod.store.layout import Layout
from pod.store.volumes import VolumeRecord, VolumeStore
from pod.util.gotime import GoTime
from pod.util.records import dataclass, field

KINDS = ("container", "image", "volume", "all")


@dataclass
class InspectResult:
    """The documents found, in argument order, and the error for the first name not found."""

    documents: list[dict[str, Any]] = field(default_factory=list)
    error: PodError | None = None


def volume_users(containers: ContainerStore, name: str) -> list[str]:
    return [record.id for record in containers.list() if name in record.volumes]


@dataclass
class InspectVolumeData(GoStruct):
    """podman's define.InspectVolumeData: what `volume inspect` and `volume ls` show."""

    GO_TYPE = "define.InspectVolumeData"
    Name: str = gofield("Name")
    Driver: str = gofield("Driver")
    Mountpoint: str = gofield("Mountpoint")
    CreatedAt: GoTime = gofield("CreatedAt,omitempty")
    Status: GoMap = gofield("Status,omitempty", default_factory=NilMap)
    Labels: GoMap = gofield("Labels", default_factory=GoMap)
    Scope: str = gofield("Scope", default="local")
    Options: GoMap = gofield("Options", default_factory=GoMap)
    UID: int = gofield("UID,omitempty", default=0)
    GID: int = gofield("GID,omitempty", default=0)
    Anonymous: bool = gofield("Anonymous,omitempty", default=False)
    MountCount: int = gofield("MountCount", default=0)
    NeedsCopyUp: bool = gofield("NeedsCopyUp,omitempty", default=True)
    NeedsChown: bool = gofield("NeedsChown,omitempty", default=False)
    Timeout: int = gofield("Timeout,omitempty", default=0)
    StorageID: str = gofield("StorageID,omitempty", default="")


@dataclass
class VolumeConfigResponse(GoStruct):
    GO_TYPE = "entities.VolumeConfigResponse"
    InspectVolumeData: InspectVolumeData = gofield(embedded=True)


@dataclass
class VolumeListReport(GoStruct):
    """What a `volume ls --format` template sees (and its JSON, the same fields flattened)."""

    GO_TYPE = "entities.VolumeListReport"
    VolumeConfigResponse: VolumeConfigResponse = gofield(embedded=True)


def volume_document(
    volumes: VolumeStore, containers: ContainerStore, record: VolumeRecord
) -> InspectVolumeData:
    """A volume as podman inspects it. NeedsChown: podman chowns a volume to the first
    container that mounts it and says so until then: here until a container using it is
    created, or while the ones using it have all never started."""
    users = [r for r in containers.list() if record.name in r.volumes]
    waiting = bool(users) and not any(containers.read_state(r.id).started_at for r in users)
    return InspectVolumeData(
        Name=record.name,
        Driver=record.driver,
        Mountpoint=str(volumes.data_dir(record.name)),
        CreatedAt=GoTime.from_seconds(record.created),
        Labels=GoMap(record.labels),
        Options=GoMap(record.options),
        Anonymous=record.anonymous,
        NeedsChown=record.needs_chown or waiting,
    )


class _Inspector:
    """The stores, opened once for all names."""

    def __init__(self, settings: Settings) -> None:
        layout = Layout(settings.root, settings.runroot)
        self.settings = settings
        self.containers = ContainerStore(layout)
        self.images = ImageStore(layout)
        self.volumes = VolumeStore(layout)

    def container(self, name: str) -> dict[str, Any]:
        from pod.container.inspect import inspect_container

        record = self.containers.lookup(name)
        return inspect_container(self.settings, self.containers, record)

    def image(self, name: str) -> dict[str, Any]:
        from pod.image.inspect import inspect_image

        return inspect_image(self.settings, self.images, self.images.lookup(name))

    def volume(self, name: str) -> InspectVolumeData:
        return volume_document(self.volumes, self.containers, self.volumes.get(name))

    def any(self, name: str) -> dict[str, Any] | InspectVolumeData:
        for kind in (self.container, self.image, self.volume):
            try:
                return kind(name)
            except (NoSuchContainerError, NoSuchImageError, NoSuchVolumeError):
                continue
        raise PodError(f'no such object: "{name}"')


def _not_found(kind: str, name: str) -> PodError:
    if kind == "container":
        return PodError(f"no such container {name}")
    if kind == "image":
        return PodError(f"{name}: image not known")
    if kind == "volume":
        return PodError(f"no such volume {name}")
    return PodError(f'no such object: "{name}"')


def inspect_objects(settings: Settings, names: list[str], kind: str = "all") -> InspectResult:
    """Inspect every name as `kind`; podman's `inspecting object: ...` error for a miss."""
    if kind not in KINDS:
        raise UsageError(f'invalid type "{kind}": must be "image", "container", "volume", or "all"')
    inspector = _Inspector(settings)
    lookup = getattr(inspector, kind if kind != "all" else "any")
    result = InspectResult()
    for name in names:
        try:
            result.documents.append(lookup(name))
        except (NoSuchContainerError, NoSuchImageError, NoSuchVolumeError):
            result.error = result.error or PodError(f"inspecting object: {_not_found(kind, name)}")
        except PodError as err:
            result.error = result.error or PodError(f"inspecting object: {err}")
    return result

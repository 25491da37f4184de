"""`pod inspect`: find each name as a container, then an image, then a volume (podman's order).

The documents are the ones `container inspect`, `image inspect` and `volume inspect` print, so
the three commands and the generic one never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pod.config import Settings
from pod.errors import (
    NoSuchContainerError,
    NoSuchImageError,
    NoSuchVolumeError,
    PodError,
    UsageError,
)
from pod.store.containers import ContainerStore
from pod.store.images import ImageStore
from pod.store.layout import Layout
from pod.store.volumes import VolumeRecord, VolumeStore

KINDS = ("container", "image", "volume", "all")


@dataclass
class InspectResult:
    """The documents found, in argument order, and the error for the first name not found."""

    documents: list[dict[str, Any]] = field(default_factory=list)
    error: PodError | None = None


def volume_users(containers: ContainerStore, name: str) -> list[str]:
    return [record.id for record in containers.list() if name in record.volumes]


def volume_document(
    volumes: VolumeStore, containers: ContainerStore, record: VolumeRecord
) -> dict[str, Any]:
    from pod.util.humanize import iso_time

    return {
        "Name": record.name,
        "Driver": record.driver,
        "Mountpoint": str(volumes.data_dir(record.name)),
        "CreatedAt": iso_time(record.created),
        "Labels": record.labels,
        "Scope": "local",
        "Options": record.options,
        "MountCount": 0,
        "NeedsCopyUp": True,
        "Anonymous": record.anonymous,
        "UsedBy": volume_users(containers, record.name),
    }


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

    def volume(self, name: str) -> dict[str, Any]:
        return volume_document(self.volumes, self.containers, self.volumes.get(name))

    def any(self, name: str) -> dict[str, Any]:
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

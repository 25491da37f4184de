"""`image inspect` and `history`: podman's structs (inspect.ImageData, ImageHistoryLayer and the
historyReporter its templates see), built from the stored blobs."""

from __future__ import annotations

import time
from typing import Any

from pod.config import Settings
from pod.format import GoFields, GoMap, GoStruct, NilMap, NilSlice, gofield
from pod.image import manifest as mf
from pod.image.defaults import config_section, image_config
from pod.store.images import ImageRecord, ImageStore
from pod.store.layout import Layout
from pod.util import records
from pod.util.gotime import GoTime
from pod.util.humanize import human_duration, human_size
from pod.util.records import InitVar, dataclass


def storage_size(store: ImageStore, record: ImageRecord) -> int:
    """An image's size as podman reports it: containers/storage counts the layers and the
    image's big-data items, the config and the manifest (kept under two keys)."""
    try:
        config = store.blobs.path(record.config_digest).stat().st_size
    except OSError:
        config = 0
    return record.size + config + 2 * record.manifest_size


def _layer_dirs(layout: Layout, record: ImageRecord) -> GoMap:
    """GraphDriver.Data as podman shows it for overlay: top layer's dir and the lower ones."""
    if not record.chain_ids:
        return GoMap()
    top, *lower = reversed(record.chain_ids)
    data = GoMap(UpperDir=str(layout.layer_diff(top)))
    if lower:
        data["LowerDir"] = ":".join(str(layout.layer_diff(c)) for c in lower)
    return data


@dataclass
class ImageConfig(GoStruct):
    """The OCI image-spec's ImageConfig, in its field order and with its json tags."""

    GO_TYPE = "v1.ImageConfig"
    User: str = gofield("User,omitempty", default="")
    ExposedPorts: GoMap = gofield("ExposedPorts,omitempty", default_factory=NilMap)
    Env: list[str] = gofield("Env,omitempty", default_factory=NilSlice)
    Entrypoint: list[str] = gofield("Entrypoint,omitempty", default_factory=NilSlice)
    Cmd: list[str] = gofield("Cmd,omitempty", default_factory=NilSlice)
    Volumes: GoMap = gofield("Volumes,omitempty", default_factory=NilMap)
    WorkingDir: str = gofield("WorkingDir,omitempty", default="")
    Labels: GoMap = gofield("Labels,omitempty", default_factory=NilMap)
    StopSignal: str = gofield("StopSignal,omitempty", default="")
    ArgsEscaped: bool = gofield("ArgsEscaped,omitempty", default=False)  # Debian's image-spec


@dataclass
class History(GoStruct):
    """The OCI image-spec's History entry."""

    GO_TYPE = "v1.History"
    Created: GoTime | None = gofield("created,omitempty", default=None)
    CreatedBy: str = gofield("created_by,omitempty", default="")
    Author: str = gofield("author,omitempty", default="")
    Comment: str = gofield("comment,omitempty", default="")
    EmptyLayer: bool = gofield("empty_layer,omitempty", default=False)


def _strings(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else NilSlice()


def _set(value: Any) -> GoMap:
    """map[string]struct{} (ExposedPorts, Volumes): each key to an empty struct."""
    return GoMap({str(k): {} for k in value}) if isinstance(value, dict) else NilMap()


def _image_config(section: dict) -> ImageConfig:
    labels = section.get("Labels")
    return ImageConfig(
        User=str(section.get("User") or ""),
        ExposedPorts=_set(section.get("ExposedPorts")),
        Env=_strings(section.get("Env")),
        Entrypoint=_strings(section.get("Entrypoint")),
        Cmd=_strings(section.get("Cmd")),
        Volumes=_set(section.get("Volumes")),
        WorkingDir=str(section.get("WorkingDir") or ""),
        Labels=GoMap({str(k): str(v) for k, v in labels.items()}) if labels else NilMap(),
        StopSignal=str(section.get("StopSignal") or ""),
        ArgsEscaped=bool(section.get("ArgsEscaped")),
    )


def _history(entry: dict) -> History:
    created = entry.get("created")
    return History(
        Created=GoTime.parse(str(created), utc=True) if created else None,
        CreatedBy=str(entry.get("created_by") or ""),
        Author=str(entry.get("author") or ""),
        Comment=str(entry.get("comment") or ""),
        EmptyLayer=bool(entry.get("empty_layer")),
    )


def _comment(config: dict, manifest_type: str) -> str:
    """libimage's Comment: a Docker image's own `comment`; an OCI image has none, so its
    first history entry's (where `import -m` and `commit -m` put the message)."""
    if manifest_type == mf.DOCKER_MANIFEST:
        return str(config.get("comment") or "")
    history = config.get("history")
    first = history[0] if isinstance(history, list) and history else None
    return str(first.get("comment") or "") if isinstance(first, dict) else ""


def inspect_image(settings: Settings, store: ImageStore, record: ImageRecord) -> GoFields:
    """podman's inspect.ImageData for one image (keyed by its JSON names: `Id` is `.ID`)."""
    config = image_config(store.blobs, record)
    section = config_section(config)
    image_config_ = _image_config(section)
    size = storage_size(store, record)
    document = {
        "Id": record.id,
        "Digest": record.manifest_digest,
        "RepoTags": record.tags,
        "RepoDigests": list(record.repo_digests),
        "Parent": "",
        "Comment": _comment(config, record.manifest_media_type),
        "Created": GoTime.parse(record.created, utc=True),
        "Config": image_config_,
        "Version": str(config.get("docker_version") or ""),
        "Author": str(config.get("author") or ""),
        "Architecture": str(config.get("architecture") or ""),
        "Os": str(config.get("os") or ""),
        "Size": size,
        "VirtualSize": size,
        "GraphDriver": {"Name": settings.storage_driver, "Data": _layer_dirs(store.layout, record)},
        "RootFS": {
            "Type": "layers",
            "Layers": list((config.get("rootfs") or {}).get("diff_ids", [])),
        },
        "Labels": image_config_.Labels,
        "Annotations": GoMap(),
        "ManifestType": record.manifest_media_type,
        "User": image_config_.User,
        "History": [_history(h) for h in config.get("history") or [] if isinstance(h, dict)],
        "NamesHistory": list(record.names),
    }
    if isinstance(section.get("Healthcheck"), dict):  # podman's HealthCheck, omitempty
        document["Healthcheck"] = section["Healthcheck"]
    return GoFields(document, {"ID": "Id"}, "interface {}")  # podman's inspect: []interface{}


@dataclass
class ImageHistoryLayer(GoStruct):
    """podman's entities.ImageHistoryLayer: one row of `history`, newest first."""

    GO_TYPE = "entities.ImageHistoryLayer"
    ID: str = gofield("id")
    Created: GoTime = gofield("created,omitempty")
    CreatedBy: str = gofield(",omitempty")
    Tags: list[str] = gofield("tags,omitempty")
    Size: int = gofield("size")
    Comment: str = gofield("comment,omitempty")


@dataclass
class HistoryReporter(GoStruct):
    """What a `history --format` template sees: podman's historyReporter."""

    GO_TYPE = "images.historyReporter"
    ImageHistoryLayer: ImageHistoryLayer = gofield(embedded=True)
    human: InitVar[bool] = True
    no_trunc: InitVar[bool] = False

    def __post_init__(self, human: bool, no_trunc: bool) -> None:
        self._human, self._no_trunc = human, no_trunc

    def Created(self) -> str:  # noqa: N802 - podman's method names are the template's
        created = self.ImageHistoryLayer.Created
        if self._human:
            return human_duration(time.time() - created.seconds()) + " ago"
        return created.rfc3339(nano=False)

    def Size(self) -> str:  # noqa: N802
        return human_size(self.ImageHistoryLayer.Size)

    def CreatedBy(self) -> str:  # noqa: N802
        text = self.ImageHistoryLayer.CreatedBy
        return text[:42] + "..." if not self._no_trunc and len(text) > 45 else text

    def ID(self) -> str:  # noqa: N802
        ident = self.ImageHistoryLayer.ID
        return ident[:12] if not self._no_trunc and len(ident) >= 12 else ident

    def CreatedAt(self) -> str:  # noqa: N802
        return str(GoTime(self.ImageHistoryLayer.Created.Unix() * 1_000_000_000, utc=True))

    def CreatedSince(self) -> str:  # noqa: N802
        return self.Created()


@dataclass
class HistoryJSON(GoStruct):
    """`history --format json`'s element: the layer with Created in RFC 3339 besides."""

    ImageHistoryLayer: ImageHistoryLayer = gofield(embedded=True)
    Created: str = gofield("Created", default="")


def history_json(layer: ImageHistoryLayer) -> HistoryJSON:
    return HistoryJSON(layer, layer.Created.rfc3339(nano=False))


def history(store: ImageStore, record: ImageRecord) -> list[ImageHistoryLayer]:
    """Config history entries paired with layer sizes (empty_layer entries have size 0), as
    libimage's History: the image's ID on the newest entry, `<missing>` on the others."""
    from pod.store import layers  # the layer store's unpacker and tar code: not for `images`

    config = image_config(store.blobs, record)
    sizes = [layers.layer_size(store.layout, chain) for chain in record.chain_ids]
    entries = config.get("history") or [{"created": record.created} for _ in sizes]
    rows: list[ImageHistoryLayer] = []
    layer_index = 0
    for item in entries:
        size = 0
        if not item.get("empty_layer") and layer_index < len(sizes):
            size = sizes[layer_index]
            layer_index += 1
        rows.append(
            ImageHistoryLayer(
                ID="<missing>",
                Created=GoTime.parse(str(item.get("created") or ""), utc=True),
                CreatedBy=str(item.get("created_by") or ""),
                Tags=NilSlice(),
                Size=size,
                Comment=str(item.get("comment") or ""),
            )
        )
    rows.reverse()
    if rows:
        rows[0] = records.replace(rows[0], ID=record.id)
    return rows

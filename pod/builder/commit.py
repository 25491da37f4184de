"""`pod commit`: a container's filesystem changes become a layer on its image's layers.

The config starts from the image's and takes what the container was run with (command,
entrypoint, environment, working dir, user, labels), then `--change` instructions (the same
rules as `pod build`). The container keeps running and keeps its upper dir: the layer is
written from it and unpacked from the new blob.
"""

from __future__ import annotations

import contextlib
import json

from pod.builder.config_steps import apply_change
from pod.builder.working import WorkingImage
from pod.config import Settings
from pod.container.state import current_state
from pod.errors import NoSuchContainerError, PodError
from pod.image import reference
from pod.image.layer_commit import commit_upper, created_mount_points
from pod.image.writer import write_image
from pod.reporter import Reporter
from pod.store.containers import ContainerRecord, ContainerStore
from pod.store.images import ImageRecord, ImageStore
from pod.store.layout import Layout
from pod.util.humanize import created_time
from pod.util.records import dataclass, field


@dataclass
class CommitOptions:
    name: str | None = None
    changes: list[str] = field(default_factory=list)
    message: str = ""
    author: str = ""
    pause: bool = False
    image_format: str = "oci"
    squash: bool = False  # every layer, the image's too, as one


def _container_config(work: WorkingImage, record: ContainerRecord, bundle: dict) -> None:
    """What the container ran with replaces the image's defaults, as podman's commit does."""
    section = work.section
    process = bundle.get("process") or {}
    if record.entrypoint:
        section["Entrypoint"] = list(record.entrypoint)
    if record.cmd:
        section["Cmd"] = list(record.cmd)
    env = [item for item in process.get("env") or [] if not item.startswith("HOSTNAME=")]
    if env:
        section["Env"] = env
    if process.get("cwd") and process["cwd"] != "/":
        section["WorkingDir"] = process["cwd"]
    if record.user:
        section["User"] = record.user
    if record.labels:
        section["Labels"] = {**(section.get("Labels") or {}), **record.labels}


@contextlib.contextmanager
def _paused(settings: Settings, record: ContainerRecord, wanted: bool):
    from pod.container import pause as container_pause

    store = ContainerStore(Layout(settings.root, settings.runroot))
    running = current_state(store, record).status == "running"
    if not (wanted and running):
        yield
        return
    container_pause.pause(settings, record.id)
    try:
        yield
    finally:
        container_pause.unpause(settings, record.id)


def commit_container(
    settings: Settings, text: str, options: CommitOptions, reporter: Reporter
) -> ImageRecord:
    layout = Layout(settings.root, settings.runroot)
    try:
        record = ContainerStore(layout).lookup(text)
    except NoSuchContainerError as err:  # podman's commit exits 125, not rm's 1
        raise PodError(str(err)) from None
    image = ImageStore(layout).lookup(record.image_id)
    names = [reference.qualify_local(options.name)] if options.name else []
    work = WorkingImage.from_image(layout, image)
    paths = layout.container(record.id)
    bundle = json.loads(paths.config.read_bytes())
    _container_config(work, record, bundle)
    for change in options.changes:
        apply_change(work, change)
    if options.author:
        work.config["author"] = options.author
    if not paths.upper.is_dir():
        raise PodError(f"container {record.id} has no upper layer to commit (vfs storage)")
    destinations = [str(m.get("destination", "")) for m in bundle.get("mounts", [])]
    reporter.copying()
    with _paused(settings, record, options.pause):
        layer = commit_upper(
            layout,
            paths.upper,
            work.layers,
            rootless=settings.rootless,
            timestamp=None,
            exclude=created_mount_points(work.layer_dirs(layout), destinations),
            keep_upper=True,
        )
    if layer is not None:
        work.layers.append(layer)
    created = created_time()
    entry: dict = {"created": created, "created_by": " ".join(record.command)}
    if options.message:
        entry["comment"] = options.message
    if options.author:
        entry["author"] = options.author
    if layer is None:
        entry["empty_layer"] = True
    work.config.setdefault("history", []).append(entry)
    if options.squash:
        from pod.image.layer_commit import squash, squashed_history

        merged = squash(layout, work.layers, [], rootless=settings.rootless, timestamp=None)
        work.layers = [merged] if merged else []
        work.config["history"] = squashed_history(work.config["history"], 0)
    config = {**work.config, "created": created}
    reporter.writing_manifest()
    return write_image(layout, work.layers, config, names=names, image_format=options.image_format)

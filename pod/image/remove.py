"""`rmi` and `image prune`: drop names and records, then every layer and blob nothing uses.

The record change and the sweep happen under the store lock, so a concurrent pull either sees
its layers still present when it records its image, or re-creates them (see pod.image.pull._record).
"""

from __future__ import annotations

from pod import events
from pod.config import Settings
from pod.errors import ImageInUseError, NoSuchImageError, PodError
from pod.image import reference
from pod.store import build_cache, layers
from pod.store.images import ImageRecord, ImageStore, containers_using
from pod.store.layout import Layout
from pod.store.lock import locked
from pod.util.records import dataclass, field


@dataclass
class RemovalReport:
    """What happened, in podman's terms: `Untagged: NAME` and `Deleted: ID` lines, and errors."""

    untagged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    errors: list[PodError] = field(default_factory=list)


def _names_to_drop(record: ImageRecord, text: str, force: bool) -> list[str] | None:
    """Which names `rmi TEXT` removes: one name when named, all when by ID (forced if several)."""
    if reference.looks_like_id(text) or record.id.startswith(text.removeprefix("sha256:")):
        if len(record.names) > 1 and not force:
            raise PodError(
                f'unable to delete image "{record.id}" by ID with more than one tag '
                f"({record.names}): please force removal"
            )
        return None
    ref = reference.parse(text)
    exact = [name for name in record.names if name in (ref.name_for_store, text)]
    matched = exact or [
        name for name in record.names if name.endswith(f"/{ref.path}:{ref.tag_or_default}")
    ]
    return matched[:1] or None


def remove_images(
    settings: Settings,
    names: list[str],
    force: bool = False,
    all_images: bool = False,
    ignore: bool = False,
) -> RemovalReport:
    layout = Layout(settings.root, settings.runroot)
    store = ImageStore(layout)
    report = RemovalReport()
    targets = [record.id for record in store.list()] if all_images else names
    with locked(layout.store_lock):
        for text in targets:
            try:
                _remove_one(settings, layout, store, text, force or all_images, report)
            except NoSuchImageError as err:
                if not ignore:
                    err.exit_code = 1  # rmi's code for a missing image (podman's)
                    report.errors.append(err)
            except PodError as err:
                report.errors.append(err)
        sweep(settings, layout, store)
    return report


def _remove_one(
    settings: Settings,
    layout: Layout,
    store: ImageStore,
    text: str,
    force: bool,
    report: RemovalReport,
) -> None:
    record = store.lookup(text)
    drop = _names_to_drop(record, text, force)
    users = containers_using(layout, record.id)
    removes_image = drop is None or len(record.names) <= len(drop)
    if users and removes_image and force:
        from pod.container.remove import remove_container

        for container_id in users:
            remove_container(settings, container_id, force=True)
        users = []
    if users and removes_image:
        raise ImageInUseError(
            f"image used by {users[0]}: image is in use by a container: "
            "consider listing external containers and force-removing image"
        )
    untagged, deleted = store.remove(record.id, drop)
    report.untagged += untagged
    for name in untagged:
        events.image_event(settings.runroot, "untag", record.id, name)
    if deleted and layout.image_mount(record.id).directory.exists():
        from pod.image.mount import unmount_image

        unmount_image(settings, record, force=True)
    if deleted:
        report.deleted.append(record.id)
        events.image_event(settings.runroot, "remove", record.id, next(iter(record.names), ""))


def sweep(settings: Settings, layout: Layout, store: ImageStore) -> None:
    """Remove unreferenced layers and blobs and download leftovers (store lock held)."""
    unused_layers, unused_blobs = store.unreferenced()
    for chain_id in unused_layers:
        layers.remove_layer(layout, chain_id, rootless=settings.rootless)
    store.blobs.remove(unused_blobs)
    layers.cleanup_partial_layers(layout, rootless=settings.rootless)


def prune_images(settings: Settings, all_unused: bool = False) -> list[str]:
    """Remove dangling images (with `all_unused`: all no container uses); return their IDs."""
    layout = Layout(settings.root, settings.runroot)
    store = ImageStore(layout)
    removed: list[str] = []
    with locked(layout.store_lock):
        for record in store.list():
            if (record.dangling or all_unused) and not containers_using(layout, record.id):
                store.remove(record.id, None)
                removed.append(record.id)
                first_name = next(iter(record.names), "")
                events.image_event(settings.runroot, "remove", record.id, first_name)
        build_cache.clear(layout)  # podman's prune removes the intermediate images it keeps
        sweep(settings, layout, store)
        store.blobs.clean_incoming()
    return removed

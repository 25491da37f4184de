"""--userns=nomap and --userns=auto for one container: its maps, chosen when it is created.

The maps are kept in the record (`idmappings`, podman's IDMappings: "container:host:size", host
ids rootful, ids of the user's namespace rootless), so `inspect` shows them, the rootfs shows the
image's files as owned by the mapped ids (pod.container.rootfs) and `auto` carves each new range
out of the ids no other container's record holds: under the containers lock, the record written
before it is let go; removing the container frees its range with its record.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path

from pod.config import Settings
from pod.container import idranges, spec
from pod.container.options import RunOptions
from pod.container.user import LayerView
from pod.reporter import Reporter
from pod.store import mapped_layers
from pod.store.containers import ContainerRecord, ContainerStore
from pod.store.layout import Layout
from pod.store.lock import atomic_write_json, locked
from pod.util.records import asdict
from pod.util.userns import SUBGID_FILE, SUBUID_FILE, current_mapping, read_subids

AUTO_USER = "containers"  # containers.conf root_auto_ns_user, as podman defaults it


def mode(options: RunOptions) -> str:
    return (options.userns or "").partition(":")[0]


def record_maps(record: ContainerRecord) -> spec.UsernsMapping | None:
    """The container's own maps from its record (None: not nomap or auto)."""
    if not record.idmappings:
        return None
    return spec.UsernsMapping(
        mapped_layers.parse_lines(record.idmappings.get("UidMap", [])),
        mapped_layers.parse_lines(record.idmappings.get("GidMap", [])),
    )


def _available(rootless: bool, reporter: Reporter) -> tuple[list, list]:
    """The ids auto may hand out: rootless, ids 1..N of the user's namespace (N: its
    subordinate ids); rootful, the `containers` user's ranges."""
    if rootless:
        mapping = current_mapping()
        uids = sum(r.count for r in mapping.uids.ranges)
        gids = sum(r.count for r in mapping.gids.ranges)
        return [(1, uids + 1)] if uids else [], [(1, gids + 1)] if gids else []
    found = []
    for path in (SUBUID_FILE, SUBGID_FILE):
        ranges = read_subids(path, AUTO_USER, -1)
        if not ranges:
            reporter.warning(
                f'Cannot find mappings for user "{AUTO_USER}": no {path.name} ranges found for '
                f'user "{AUTO_USER}" in {path}'
            )
        found.append([(r.start, r.start + r.count) for r in ranges])
    return found[0], found[1]


def _image_size(options: RunOptions, layer_dirs: list[Path]) -> int:
    view = LayerView(layer_dirs)
    texts = [(view.read_file(name) or b"").decode(errors="replace") for name in
             ("/etc/passwd", "/etc/group")]  # fmt: skip
    return idranges.auto_size(idranges.parse_auto(options.userns or ""), *texts)


def allocate_auto(
    settings: Settings,
    store: ContainerStore,
    record: ContainerRecord,
    options: RunOptions,
    layer_dirs: list[Path],
    reporter: Reporter,
) -> spec.UsernsMapping | None:
    """--userns=auto's range for a new container (None for other modes), carved out of the ids
    free and noted in its record under the containers lock."""
    if mode(options) != "auto":
        return None
    auto = idranges.parse_auto(options.userns or "")
    size = _image_size(options, layer_dirs)
    available_uids, available_gids = _available(settings.rootless, reporter)
    with locked(store.lock_path):
        taken = [m for m in (record_maps(o) for o in store.list() if o.id != record.id) if m]
        carved = spec.UsernsMapping(
            idranges.carve(size, available_uids, [m for t in taken for m in t.uids],
                           auto.uidmapping),
            idranges.carve(size, available_gids, [m for t in taken for m in t.gids],
                           auto.gidmapping),
        )  # fmt: skip
        note(record, carved)
        atomic_write_json(store.record_file(record.id), asdict(record))
    return carved


def note(record: ContainerRecord, mapping: spec.UsernsMapping) -> None:
    """Keep a nomap or auto container's maps in its record, as podman's IDMappings."""
    record.idmappings = {
        "UidMap": idranges.format_map(mapping.uids),
        "GidMap": idranges.format_map(mapping.gids),
    }


def mapped_root(mapping: spec.UsernsMapping) -> tuple[int, int]:
    """The ids container root has where the maps point (host, or the user's namespace)."""
    return spec.outside_id(mapping.uids, 0), spec.outside_id(mapping.gids, 0)


def _default_uids() -> tuple:
    """The user's namespace's uid map (0 → the user, 1.. → the subordinate ids)."""
    return tuple(current_mapping().uids.lines())


def prepare_rootfs(
    settings: Settings,
    layout: Layout,
    container_id: str,
    layers: Sequence[str],
    mapping: spec.UsernsMapping,
    new_volumes: Sequence[str] = (),
) -> None:
    """Make the rootfs's parts container root's: a way through the private store root to it
    (store.prepare.allow_traversal), the upper dir (the rootfs's / is its) and the data dirs
    of the named volumes made empty for it (as podman's new volumes), and, rootless, a
    copy of each layer with its owners moved (store.mapped_layers; rootful, the layers are
    mounted idmapped instead: pod.container.idmapped)."""
    from pod.store.prepare import allow_traversal

    upper = layout.container(container_id).upper
    root_uid, root_gid = mapped_root(mapping)
    if not settings.rootless:
        allow_traversal(layout.root, root_uid)
        for path in (str(upper), *new_volumes):
            os.chown(path, root_uid, root_gid)
        return
    from pod.store.layers import WORKER_MODULE
    from pod.util.userns import run_in_userns

    allow_traversal(layout.root, spec.outside_id(_default_uids(), root_uid))

    uids = [[m.inside, m.outside, m.count] for m in mapping.uids]
    gids = [[m.inside, m.outside, m.count] for m in mapping.gids]
    key = mapped_layers.mapping_key(mapping.uids, mapping.gids)
    ops: list[dict] = [
        {"op": "map-layer", "diff": str(layout.layer_diff(chain)),
         "mapped": str(layout.layer_mapped(chain, key)), "uids": uids, "gids": gids}
        for chain in dict.fromkeys(layers)
    ]  # fmt: skip
    ops += [{"op": "chown", "path": str(path), "uid": root_uid, "gid": root_gid}
            for path in (upper, *new_volumes)]  # fmt: skip
    with contextlib.ExitStack() as held:
        for chain in sorted(set(layers)):
            held.enter_context(locked(layout.layer_lock(chain)))
        run_in_userns(WORKER_MODULE, {"ops": ops})

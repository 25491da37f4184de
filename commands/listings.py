"""The bodies of `ps` and `images`: plain functions that the typer commands and the typer-free
fast path (pod.commands.fastpath) both call with the parsed flags."""

from __future__ import annotations

from pod.commands import common

_PS_HEADERS = {  # podman's createPsOut: its overrides of psReporter's field headers
    "Cgroup": "CGROUPNS",
    "CreatedHuman": "CREATED",
    "ID": "CONTAINER ID",
    "IPC": "IPC",
    "MNT": "MNT",
    "NET": "NET",
    "Networks": "NETWORKS",
    "PIDNS": "PIDNS",
    "Pod": "POD ID",
    "PodName": "PODNAME",
    "RunningFor": "RUNNING FOR",
    "UTS": "UTS",
    "User": "USERNS",
}


def ps(
    all_containers: bool,
    quiet: bool,
    no_trunc: bool,
    latest: bool,
    last: int,
    size: bool,
    noheading: bool,
    sort: str | None,
    filters: list[str],
    fmt: str | None,
    external: bool,
    pod: bool,
) -> None:
    """`pod ps`."""
    from pod import format as gotemplate
    from pod.commands.render import JsonLayout, render_rows
    from pod.container.list import PsReporter, list_containers, ps_json
    from pod.errors import UsageError

    if last >= 0 and latest:
        raise UsageError("last and latest are mutually exclusive")
    found = list_containers(
        common.settings(),
        all_containers or latest or last > 0 or external,
        filters,
        sort,
        size,
        external,
        last,
    )
    if latest:
        found = found[-1:]
    if quiet and fmt is None:
        for container in found:
            print(container.ID if no_trunc else container.ID[:12])
        return
    columns = [
        ("CONTAINER ID", "ID"),
        ("IMAGE", "Image"),
        ("COMMAND", "Command"),
        ("CREATED", "CreatedHuman"),
        ("STATUS", "Status"),
        ("PORTS", "Ports"),
        ("NAMES", "Names"),
    ]
    if pod:  # podman's order: the pod's columns, then SIZE
        columns += [("POD ID", "Pod"), ("PODNAME", "PodName")]
    if size:
        columns.append(("SIZE", "Size"))
    render_rows(
        [PsReporter(container, no_trunc) for container in found],
        columns,
        fmt,
        noheading,
        json_rows=[ps_json(container) for container in found],
        headers=gotemplate.struct_headers(PsReporter, _PS_HEADERS),
        name="ps",
        json_layout=JsonLayout(indent=2, jsoniter=True),
    )


def images(
    repository: str | None,
    all_images: bool,
    quiet: bool,
    no_trunc: bool,
    digests: bool,
    noheading: bool,
    fmt: str | None,
    filters: list[str],
    sort: str,
    history: bool,
) -> None:
    """`pod images`."""
    from pod import format as gotemplate
    from pod.commands.render import render_rows
    from pod.errors import UsageError
    from pod.image.filter import build_filter
    from pod.image.listing import SORT_KEYS, ImageReporter, images_json, reporters, summary
    from pod.store.containers import ContainerStore

    if filters and repository:
        raise UsageError("cannot specify an image and a filter(s)")
    if sort not in SORT_KEYS:
        raise UsageError(
            f'"{sort}" is not a valid field for sorting. Choose from: {", ".join(SORT_KEYS)}'
        )
    store = common.image_store()
    wanted = build_filter(store, filters + ([f"reference={repository}"] if repository else []))
    users: dict[str, int] = {}
    for container in ContainerStore(store.layout).list():
        users[container.image_id] = users.get(container.image_id, 0) + 1
    summaries = [summary(store, r, users.get(r.id, 0)) for r in store.list() if wanted(r)]
    rows = reporters(summaries, sort, no_trunc)
    if quiet and not (fmt is not None and gotemplate.is_json(fmt)):
        seen: list[str] = []
        for row in rows:
            if row.ID() not in seen:
                seen.append(row.ID())
        print("\n".join(seen)) if seen else None
        return
    columns = [("REPOSITORY", "Repository"), ("TAG", "Tag")]
    if digests:
        columns.append(("DIGEST", "Digest"))
    columns += [("IMAGE ID", "ID"), ("CREATED", "Created"), ("SIZE", "Size")]
    if history:
        columns.append(("HISTORY", "History"))
    render_rows(
        rows,
        columns,
        fmt,
        noheading,
        json_rows=[images_json(row.ImageSummary) for row in rows],
        headers=gotemplate.struct_headers(ImageReporter, {"ID": "IMAGE ID", "ReadOnly": "R/O"}),
        name="images",
    )

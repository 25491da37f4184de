"""Image commands: images, rmi, tag, untag, history, and the `pod image` group."""

from __future__ import annotations

import sys

import typer

from pod.commands import common


def _store():
    from pod.store.images import ImageStore
    from pod.store.layout import Layout

    settings = common.settings()
    return ImageStore(Layout(settings.root, settings.runroot))


def _image_row(record, repository: str, tag: str, no_trunc: bool) -> dict:
    from pod.util.humanize import human_size, iso_time, parse_timestamp, since

    created = parse_timestamp(record.created)
    digest = record.manifest_digest
    return {
        "ID": f"sha256:{record.id}" if no_trunc else record.short_id,
        "Id": record.id,
        "Repository": repository,
        "Tag": tag,
        "Digest": digest,
        "Digests": list(record.repo_digests),
        "Created": int(created),
        "CreatedAt": iso_time(created),
        "CreatedSince": since(created),
        "Size": human_size(record.size),
        "VirtualSize": human_size(record.size),
        "SharedSize": human_size(0),
        "Names": list(record.names),
        "Dangling": record.dangling,
        "ReadOnly": False,
        "Containers": 0,
    }


def _image_json(record) -> dict:
    from pod.util.humanize import iso_time, parse_timestamp

    created = parse_timestamp(record.created)
    return {
        "Id": record.id,
        "ParentId": "",
        "RepoTags": list(record.names) or None,
        "RepoDigests": list(record.repo_digests),
        "Size": record.size,
        "SharedSize": 0,
        "VirtualSize": record.size,
        "Labels": None,
        "Containers": 0,
        "Names": list(record.names) or None,
        "Digest": record.manifest_digest,
        "Created": int(created),
        "CreatedAt": iso_time(created).replace(" +0000 UTC", "Z").replace(" ", "T"),
    }


def images_command(
    repository: str = typer.Argument(None, help="Show only images matching this reference."),
    all_images: bool = typer.Option(
        False, "--all", "-a", help="Show all images (pod keeps no intermediates)."
    ),
    quiet: bool = common.quiet_option("Print only image IDs."),
    no_trunc: bool = typer.Option(False, "--no-trunc", help="Do not truncate IDs."),
    digests: bool = typer.Option(False, "--digests", help="Show digests."),
    noheading: bool = typer.Option(
        False, "--noheading", "-n", help="Do not print column headings."
    ),
    fmt: str = common.format_option(),
    filters: list[str] = typer.Option(
        [], "--filter", "-f", help="Filter: dangling, reference, label, before, since."
    ),
    sort: str = typer.Option(
        "created", "--sort", help="Sort by created, id, repository, size or tag."
    ),
) -> None:
    """List images in local storage."""
    from pod.commands.render import render_rows
    from pod.image.filter import build_filter, sort_key

    store = _store()
    wanted = build_filter(store, filters + ([f"reference={repository}"] if repository else []))
    records = [record for record in store.list() if wanted(record)]
    key = sort_key(sort)
    if quiet:
        seen: list[str] = []
        for record in sorted(records, key=lambda r: key((r, "", ""))):
            ident = f"sha256:{record.id}" if no_trunc else record.short_id
            if ident not in seen:
                seen.append(ident)
        print("\n".join(seen)) if seen else None
        return
    rows = []
    for record in records:
        rows += [(record, repo, tag) for repo, tag in record.listed_as()]
    rows.sort(key=key)
    columns = [("REPOSITORY", "Repository"), ("TAG", "Tag")]
    if digests:
        columns.append(("DIGEST", "Digest"))
    columns += [("IMAGE ID", "ID"), ("CREATED", "CreatedSince"), ("SIZE", "Size")]
    render_rows(
        [_image_row(r, repo, tag, no_trunc) for r, repo, tag in rows],
        columns,
        fmt,
        noheading,
        json_rows=[_image_json(record) for record in records],
    )


def rmi_command(
    images: list[str] = typer.Argument(None, metavar="IMAGE...", help="Images to remove."),
    force: bool = typer.Option(False, "--force", "-f", help="Remove even if tagged several times."),
    all_images: bool = typer.Option(False, "--all", "-a", help="Remove all images."),
    ignore: bool = typer.Option(False, "--ignore", "-i", help="Ignore images that do not exist."),
) -> None:
    """Remove images from local storage."""
    from pod.errors import UsageError
    from pod.image.remove import remove_images

    if not images and not all_images:
        raise UsageError("image name or ID must be specified")
    if images and all_images:
        raise UsageError("when using the --all switch, you may not pass any images names or IDs")
    report = remove_images(common.settings(), images or [], force, all_images, ignore)
    for name in report.untagged:
        print(f"Untagged: {name}")
    for ident in report.deleted:
        print(f"Deleted: {ident}")
    if report.errors:
        for err in report.errors[:-1]:
            print(f"Error: {err}", file=sys.stderr)
        raise report.errors[-1]


def tag_command(
    image: str = typer.Argument(..., help="The image to tag."),
    names: list[str] = typer.Argument(..., metavar="TARGET_NAME...", help="New names."),
) -> None:
    """Add names to a local image."""
    from pod.image import reference

    store = _store()
    for name in names:
        store.tag(image, reference.qualify_local(name))


def untag_command(
    image: str = typer.Argument(..., help="The image to untag."),
    names: list[str] = typer.Argument(
        None, metavar="[NAME...]", help="Names to remove (default: all)."
    ),
) -> None:
    """Remove names from a local image (the image stays)."""
    from pod.image import reference

    _store().untag(image, [reference.local_name(name) for name in names or []])


def history_command(
    image: str = typer.Argument(..., help="The image."),
    human: bool = typer.Option(
        True, "--human/--no-human", "-H", help="Human-readable sizes and dates."
    ),
    no_trunc: bool = typer.Option(False, "--no-trunc", help="Do not truncate output."),
    quiet: bool = common.quiet_option("Print only the IDs."),
    fmt: str = common.format_option(),
) -> None:
    """Show the history of an image."""
    from pod.commands.render import render_rows
    from pod.image.inspect import history
    from pod.util.humanize import human_size, iso_time, since

    store = _store()
    entries = history(store, store.lookup(image))
    if quiet:
        print("\n".join(e.id if no_trunc or e.id == "<missing>" else e.id[:12] for e in entries))
        return
    rows = []
    for entry in entries:
        created_by = entry.created_by
        if not no_trunc and len(created_by) > 45:
            created_by = created_by[:42] + "..."
        rows.append(
            {
                "ID": entry.id if no_trunc or entry.id == "<missing>" else entry.id[:12],
                "Created": since(entry.created) if human else iso_time(entry.created),
                "CreatedSince": since(entry.created),
                "CreatedAt": iso_time(entry.created),
                "CreatedBy": created_by,
                "Size": human_size(entry.size) if human else str(entry.size),
                "Comment": entry.comment,
                "Tags": entry.tags,
            }
        )
    columns = [
        ("ID", "ID"),
        ("CREATED", "Created"),
        ("CREATED BY", "CreatedBy"),
        ("SIZE", "Size"),
        ("COMMENT", "Comment"),
    ]
    json_rows = [
        {
            "id": e.id,
            "created": iso_time(e.created),
            "CreatedBy": e.created_by,
            "size": e.size,
            "comment": e.comment,
            "tags": e.tags or None,
        }
        for e in entries
    ]
    render_rows(rows, columns, fmt, json_rows=json_rows)


def inspect_command(
    images: list[str] = typer.Argument(..., metavar="IMAGE...", help="Images to inspect."),
    fmt: str = typer.Option(None, "--format", "-f", help="Format with a Go template or json."),
) -> None:
    """Show details of images in podman's JSON shape."""
    from pod.errors import NoSuchImageError
    from pod.image.inspect import inspect_image

    store = _store()
    documents, missing = [], []
    for name in images:
        try:
            documents.append(inspect_image(common.settings(), store, store.lookup(name)))
        except NoSuchImageError:
            missing.append(name)
    if fmt and fmt.strip() != "json":
        from pod import format as gotemplate

        template = gotemplate.compile_template(fmt)
        for document in documents:
            print(template.render(document))
    else:
        common.print_json(documents)
    if missing:
        raise NoSuchImageError(
            f"no such image: {missing[-1]}: image not known"
            if len(missing) == 1
            else f"no such images: {', '.join(missing)}"
        )


def exists_command(image: str = typer.Argument(..., help="The image.")) -> None:
    """Exit 0 if the image is in local storage, 1 if not."""
    from pod.errors import NoSuchImageError

    try:
        _store().lookup(image)
    except NoSuchImageError:
        raise typer.Exit(1) from None


def prune_command(
    all_unused: bool = typer.Option(
        False, "--all", "-a", help="Remove all images no container uses."
    ),
    force: bool = typer.Option(False, "--force", "-f", help="Do not ask for confirmation."),
) -> None:
    """Remove dangling images (and, with -a, all unused ones)."""
    from pod.image.remove import prune_images

    if not force:
        what = "all images not used by containers" if all_unused else "all dangling images"
        if not typer.confirm(
            f"WARNING! This command removes {what}.\nAre you sure you want to continue?"
        ):
            return
    for ident in prune_images(common.settings(), all_unused):
        print(ident)


def register(app: typer.Typer, image_app: typer.Typer) -> None:
    panel = "Images"
    app.command("images", rich_help_panel=panel)(images_command)
    app.command("rmi", rich_help_panel=panel)(rmi_command)
    app.command("tag", rich_help_panel=panel)(tag_command)
    app.command("untag", rich_help_panel=panel)(untag_command)
    app.command("history", rich_help_panel=panel)(history_command)
    for name, function in [
        ("list", images_command),
        ("ls", images_command),
        ("rm", rmi_command),
        ("tag", tag_command),
        ("untag", untag_command),
        ("history", history_command),
        ("inspect", inspect_command),
        ("exists", exists_command),
        ("prune", prune_command),
    ]:
        image_app.command(name)(function)

"""Image commands: images, rmi, tag, untag, history, and the `pod image` group."""

from __future__ import annotations

from collections.abc import Callable

import typer

from pod.commands import common, image_actions, listings


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
    history: bool = typer.Option(False, "--history", help="Show the names an image has had."),
) -> None:
    """List images in local storage."""
    listings.images(
        repository=repository,
        all_images=all_images,
        quiet=quiet,
        no_trunc=no_trunc,
        digests=digests,
        noheading=noheading,
        fmt=fmt,
        filters=filters,
        sort=sort,
        history=history,
    )


def rmi_command(
    ctx: typer.Context,
    images: list[str] = typer.Argument(None, metavar="IMAGE...", help="Images to remove."),
    force: bool = typer.Option(False, "--force", "-f", help="Remove even if tagged several times."),
    all_images: bool = typer.Option(False, "--all", "-a", help="Remove all images."),
    ignore: bool = typer.Option(False, "--ignore", "-i", help="Ignore images that do not exist."),
) -> None:
    """Remove images from local storage."""
    image_actions.rmi(**ctx.params)


def tag_command(
    ctx: typer.Context,
    image: str = typer.Argument(..., help="The image to tag."),
    names: list[str] = typer.Argument(..., metavar="TARGET_NAME...", help="New names."),
) -> None:
    """Add names to a local image."""
    image_actions.tag(**ctx.params)


def untag_command(
    ctx: typer.Context,
    image: str = typer.Argument(..., help="The image to untag."),
    names: list[str] = typer.Argument(
        None, metavar="[NAME...]", help="Names to remove (default: all)."
    ),
) -> None:
    """Remove names from a local image (the image stays)."""
    image_actions.untag(**ctx.params)


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
    from pod import format as gotemplate
    from pod.commands.render import render_rows
    from pod.image.inspect import HistoryReporter, history, history_json

    store = common.image_store()
    layers = history(store, store.lookup(image))
    if fmt is not None and gotemplate.is_json(fmt):
        # podman writes this one with json.Encoder: one line, HTML escaped
        print(gotemplate.to_json([history_json(layer) for layer in layers], escape_html=True))
        return
    rows = [HistoryReporter(layer, human, no_trunc) for layer in layers]
    if quiet:
        fmt = "{{.ID}}"
    columns = [
        ("ID", "ID"),
        ("CREATED", "Created"),
        ("CREATED BY", "CreatedBy"),
        ("SIZE", "Size"),
        ("COMMENT", "Comment"),
    ]
    headers = gotemplate.struct_headers(HistoryReporter, {"CreatedBy": "CREATED BY"})
    render_rows(rows, columns, fmt, headers=headers, name="history")


def inspect_command(
    images: list[str] = typer.Argument(..., metavar="IMAGE...", help="Images to inspect."),
    fmt: str = typer.Option(None, "--format", "-f", help="Format with a Go template or json."),
) -> None:
    """Show details of images in podman's JSON shape."""
    from pod.commands.inspect_output import print_documents, raise_missing
    from pod.errors import NoSuchImageError
    from pod.image.inspect import inspect_image

    store = common.image_store()
    documents, missing = [], []
    for name in images:
        try:
            documents.append(inspect_image(common.settings(), store, store.lookup(name)))
        except NoSuchImageError as err:
            missing.append(str(err))
    print_documents(documents, fmt, "image")
    raise_missing(missing)


def exists_command(image: str = typer.Argument(..., help="The image.")) -> None:
    """Exit 0 if the image is in local storage, 1 if not."""
    from pod.errors import NoSuchImageError

    try:
        common.image_store().lookup(image)
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
    subcommands: list[tuple[str, Callable[..., None]]] = [
        ("list", images_command),
        ("ls", images_command),
        ("rm", rmi_command),
        ("tag", tag_command),
        ("untag", untag_command),
        ("history", history_command),
        ("inspect", inspect_command),
        ("exists", exists_command),
        ("prune", prune_command),
    ]
    for name, function in subcommands:
        image_app.command(name)(function)

"""`pod volume`: create, ls, inspect, rm, prune, exists."""

from __future__ import annotations

import typer

from pod.commands import common

volume_app = common.new_typer(help="Manage named volumes.", no_args_is_help=True)


def _stores():
    from pod.store.containers import ContainerStore
    from pod.store.layout import Layout
    from pod.store.volumes import VolumeStore

    settings = common.settings()
    layout = Layout(settings.root, settings.runroot)
    return VolumeStore(layout), ContainerStore(layout)


def _users(containers, name: str) -> list[str]:
    return [record.id for record in containers.list() if name in record.volumes]


def _inspect(volumes, containers, record) -> dict:
    from pod.container.object_inspect import volume_document

    return volume_document(volumes, containers, record)


@volume_app.command("create")
def create_command(
    name: str = typer.Argument(None, help="Volume name (random when omitted)."),
    labels: list[str] = typer.Option([], "--label", "-l", help="Set a label (KEY=VALUE)."),
    ignore: bool = typer.Option(False, "--ignore", help="Do nothing if the volume exists."),
) -> None:
    """Create a volume."""
    from pod.container.flags import parse_labels

    volumes, _ = _stores()
    print(volumes.create(name, parse_labels(labels), ignore_existing=ignore).name)


@volume_app.command("ls")
def ls_command(
    quiet: bool = common.quiet_option("Print only volume names."),
    fmt: str = common.format_option(),
    filters: list[str] = typer.Option([], "--filter", "-f", help="Filter: name, label, dangling."),
    noheading: bool = typer.Option(False, "--noheading", "-n", help="Do not print headings."),
) -> None:
    """List volumes."""
    from pod.commands.render import render_rows
    from pod.errors import UsageError

    volumes, containers = _stores()
    records = sorted(volumes.list(), key=lambda r: r.name)
    for item in filters:
        key, _, value = item.partition("=")
        if key == "name":
            records = [r for r in records if value in r.name]
        elif key == "label":
            label, sep, wanted = value.partition("=")
            records = [
                r for r in records if label in r.labels and (not sep or r.labels[label] == wanted)
            ]
        elif key == "dangling":
            records = [r for r in records if (not _users(containers, r.name)) == (value == "true")]
        else:
            raise UsageError(f'invalid filter "{key}": use name, label or dangling')
    if quiet:
        for record in records:
            print(record.name)
        return
    rows = [
        {
            "Driver": r.driver,
            "Name": r.name,
            "Labels": r.labels,
            "Mountpoint": str(volumes.data_dir(r.name)),
        }
        for r in records
    ]
    render_rows(rows, [("DRIVER", "Driver"), ("VOLUME NAME", "Name")], fmt, noheading,
                json_rows=[_inspect(volumes, containers, r) for r in records])  # fmt: skip


@volume_app.command("inspect")
def inspect_command(
    names: list[str] = typer.Argument(None, metavar="VOLUME...", help="Volumes to inspect."),
    all_volumes: bool = typer.Option(False, "--all", "-a", help="Inspect all volumes."),
    fmt: str = typer.Option(None, "--format", "-f", help="Go template or json."),
) -> None:
    """Show details of volumes."""
    from pod import format as gotemplate

    volumes, containers = _stores()
    records = volumes.list() if all_volumes else [volumes.get(n) for n in names or []]
    documents = [_inspect(volumes, containers, r) for r in records]
    if fmt and not gotemplate.is_json(fmt):
        print(gotemplate.render_rows(documents, fmt), end="")
    else:
        print(gotemplate.format_json(documents, indent=4), end="")


@volume_app.command("rm")
def rm_command(
    names: list[str] = typer.Argument(None, metavar="VOLUME...", help="Volumes to remove."),
    force: bool = typer.Option(False, "--force", "-f", help="Also remove containers using it."),
    all_volumes: bool = typer.Option(False, "--all", "-a", help="Remove all volumes."),
) -> None:
    """Remove volumes (exit 2 when one is in use)."""
    from pod.container.remove import remove_container
    from pod.errors import UsageError

    if not names and not all_volumes:
        raise UsageError("choose the volumes to remove, or --all")
    volumes, containers = _stores()
    targets = [r.name for r in volumes.list()] if all_volumes else names
    for name in targets:
        users = _users(containers, name)
        volumes.get(name)
        if users and force:
            for container_id in users:
                remove_container(common.settings(), container_id, force=True)
            users = []
        volumes.remove(name, users, rootless=common.settings().rootless)
        print(name)


@volume_app.command("prune")
def prune_command(force: bool = typer.Option(False, "--force", "-f", help="Do not ask.")) -> None:
    """Remove all volumes no container uses."""
    if not force and not typer.confirm(
        "WARNING! This will remove all volumes not used by at least one container.\n"
        "Are you sure you want to continue?"
    ):
        return
    from pod.system.prune import prune_volumes

    for name, _size in prune_volumes(common.settings()):
        print(name)


@volume_app.command("exists")
def exists_command(name: str = typer.Argument(..., help="Volume name.")) -> None:
    """Exit 0 if the volume exists, 1 if not."""
    volumes, _ = _stores()
    if not volumes.exists(name):
        raise typer.Exit(1)


def register(app: typer.Typer, image_app: typer.Typer) -> None:
    app.add_typer(volume_app, name="volume", rich_help_panel="Volumes")

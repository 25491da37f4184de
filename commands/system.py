"""`pod system` commands: df, prune, reset, migrate."""

from __future__ import annotations

import sys

import typer

from pod.commands import common

system_app = common.new_typer(help="Manage pod itself.", no_args_is_help=True)


def confirm(warning: str) -> bool:
    """podman's prompt: the warning, then `[y/N] `; anything but y/yes (or no input) is no."""
    print(f"{warning}Are you sure you want to continue? [y/N] ", end="", flush=True)
    answer = sys.stdin.readline()
    return answer.strip().lower() in ("y", "yes")


def _size(value: int) -> str:
    from pod.util.humanize import human_size

    return human_size(value, 3, "")


def _verbose_df(fmt: str | None) -> None:
    from pod import format as gotemplate
    from pod.container.list import state_name
    from pod.system.df import verbose_usage

    images, containers, volumes = verbose_usage(common.settings())
    image_rows = []
    for usage in images:
        repository, tag = usage.record.listed_as()[0]
        image_rows.append(
            {
                "Repository": repository,
                "Tag": tag,
                "ImageID": usage.record.short_id,
                "Created": _age(_created(usage.record.created)),
                "Size": _size_4(usage.size),
                "SharedSize": _size_4(usage.shared),
                "UniqueSize": _size_4(usage.size - usage.shared),
                "Containers": usage.containers,
            }
        )
    container_rows = [
        {
            "ContainerID": usage.record.short_id,
            "Image": usage.record.image_id[:12],
            "Command": " ".join(usage.record.command),
            "LocalVolumes": usage.local_volumes,
            "Size": _size_4(usage.size),
            "Created": _age(usage.record.created),
            "Status": state_name(usage.state),
            "Names": usage.record.name,
        }
        for usage in containers
    ]
    volume_rows = [
        {"VolumeName": usage.name, "Links": usage.links, "Size": _size_4(usage.size)}
        for usage in volumes
    ]
    document = {"Images": image_rows, "Containers": container_rows, "Volumes": volume_rows}
    if fmt is not None:
        if gotemplate.is_json(fmt):
            print(gotemplate.to_json(document, 4))
        else:
            print(gotemplate.render_rows([document], fmt, name="df"), end="")
        return
    sections = [
        ("Images space usage:", ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE",
                                 "SHARED SIZE", "UNIQUE SIZE", "CONTAINERS"], image_rows),
        ("Containers space usage:", ["CONTAINER ID", "IMAGE", "COMMAND", "LOCAL VOLUMES", "SIZE",
                                     "CREATED", "STATUS", "NAMES"], container_rows),
        ("Local Volumes space usage:", ["VOLUME NAME", "LINKS", "SIZE"], volume_rows),
    ]  # fmt: skip
    blocks = []
    for title, headers, rows in sections:
        table = gotemplate.tabulate([headers] + [[str(v) for v in row.values()] for row in rows])
        blocks.append(f"{title}\n\n{table}")
    print("\n".join(blocks), end="")


def _age(epoch: float) -> str:
    """podman's df -v CREATED column: `2 years`, no "ago"."""
    import time

    from pod.util.humanize import human_duration

    return human_duration(time.time() - epoch)


def _created(text: str) -> float:
    from pod.util.humanize import parse_timestamp

    return parse_timestamp(text)


@system_app.command("df")
def df_command(
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="A row per image, container, volume."
    ),
    fmt: str = common.format_option(),
) -> None:
    """Show pod's disk usage."""
    from pod.commands.render import render_rows
    from pod.system.df import disk_usage

    if verbose:
        _verbose_df(fmt)
        return
    lines = disk_usage(common.settings())
    rows = []
    for line in lines:
        percent = round(100 * line.reclaimable / line.size) if line.size else 0
        rows.append(
            {
                "Type": line.kind,
                "Total": line.total,
                "Active": line.active,
                "Size": _size_4(line.size),
                "Reclaimable": f"{_size_4(line.reclaimable)} ({percent}%)",
                "RawSize": line.size,
                "RawReclaimable": line.reclaimable,
            }
        )
    columns = [
        ("TYPE", "Type"),
        ("TOTAL", "Total"),
        ("ACTIVE", "Active"),
        ("SIZE", "Size"),
        ("RECLAIMABLE", "Reclaimable"),
    ]
    render_rows(rows, columns, fmt)


def _size_4(value: int) -> str:
    from pod.util.humanize import human_size

    return human_size(value, 4, "")


@system_app.command("prune")
def prune_command(
    all_images: bool = typer.Option(
        False, "--all", "-a", help="Remove all unused images, not only dangling ones."
    ),
    volumes: bool = typer.Option(False, "--volumes", help="Also remove unused volumes."),
    force: bool = typer.Option(False, "--force", "-f", help="Do not ask for confirmation."),
) -> None:
    """Remove stopped containers, dangling (or unused) images and, with --volumes, volumes."""
    from pod.system.prune import prune_system

    if not force:
        items = ["all stopped containers"]
        if volumes:
            items.append("all volumes not used by at least one container")
        items.append(
            "all images without at least one container associated with them"
            if all_images
            else "all dangling images"
        )
        listing = "".join(f"\t- {item}\n" for item in items)
        if not confirm(f"WARNING! This command removes:\n{listing}\n"):
            return
    report = prune_system(common.settings(), all_images, volumes)
    for title, names in (
        ("Deleted Containers", report.containers),
        ("Deleted Volumes", report.volumes),
        ("Deleted Images", report.images),
    ):
        if names:
            print(title)
            print("\n".join(names))
    print(f"Total reclaimed space: {_size(report.reclaimed)}")


@system_app.command("reset")
def reset_command(
    force: bool = typer.Option(False, "--force", "-f", help="Do not ask for confirmation."),
) -> None:
    """Remove every container, image and volume, and the store and run root themselves."""
    from pod.system.prune import reset_system

    settings = common.settings()
    if not force:
        listing = "".join(
            f"        - {item}\n"
            for item in (
                "all containers",
                "all images",
                "all volumes",
                f'the graphRoot directory: "{settings.root}"',
                f'the runRoot directory: "{settings.runroot}"',
            )
        )
        if not confirm(f"WARNING! This will remove:\n{listing}"):
            return
    reset_system(settings)


@system_app.command("migrate")
def migrate_command(
    new_runtime: str = typer.Option(
        None, "--new-runtime", help="Move every container to this OCI runtime."
    ),
) -> None:
    """Stop every running container (and with --new-runtime, change their runtime)."""
    from pod.commands.progress import QuietReporter
    from pod.system.migrate import migrate

    migrate(common.settings(), new_runtime, QuietReporter())


def register(app: typer.Typer, image_app: typer.Typer) -> None:
    app.add_typer(system_app, name="system", rich_help_panel="System")

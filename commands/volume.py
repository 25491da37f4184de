"""`pod volume`: create, ls, inspect, rm, prune, exists."""

from __future__ import annotations

from pathlib import Path

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
    from pod.container.object_inspect import volume_users

    return volume_users(containers, name)


def _inspect(volumes, containers, record):
    from pod.container.object_inspect import volume_document

    return volume_document(volumes, containers, record)


@volume_app.command("create")
def create_command(
    name: str = typer.Argument(None, help="Volume name (random when omitted)."),
    labels: list[str] = typer.Option([], "--label", "-l", help="Set a label (KEY=VALUE)."),
    ignore: bool = typer.Option(False, "--ignore", help="Do nothing if the volume exists."),
    driver: str = typer.Option("local", "--driver", "-d", help="Volume driver (local)."),
    opts: list[str] = typer.Option(
        [], "--opt", "-o", help="Driver options: type=FSTYPE, device=DEVICE, o=MOUNT,OPTIONS."
    ),
) -> None:
    """Create a volume."""
    from pod.container import volume_mounts
    from pod.container.flags import parse_labels
    from pod.errors import PodError

    if driver != "local":
        raise PodError(
            f"volume {name} uses volume plugin {driver} but it could not be retrieved: no volume "
            f"plugin with name {driver} available: required plugin missing"
        )
    options = volume_mounts.parse_options(list(opts))
    volumes, _ = _stores()
    record = volumes.create(
        name,
        parse_labels(labels),
        ignore_existing=ignore,
        owner=volume_mounts.owner(options),
        options=options,
        rootless=common.settings().rootless,
    )
    print(record.name)


@volume_app.command("export")
def export_command(
    name: str = typer.Argument(..., metavar="VOLUME", help="The volume."),
    output: str = typer.Option(
        None, "--output", "-o", help="Write to this file (default: stdout)."
    ),
) -> None:
    """Export a volume's files as a tar archive."""
    import shutil
    import sys
    import tempfile

    from pod.store.volume_archive import export_volume

    volumes, _ = _stores()
    _existing(volumes, name)
    rootless = common.settings().rootless
    if output is not None:
        export_volume(volumes.data_dir(name), Path(output), rootless=rootless)
        return
    with tempfile.NamedTemporaryFile(prefix="pod-volume-export-") as spool:
        export_volume(volumes.data_dir(name), Path(spool.name), rootless=rootless)
        shutil.copyfileobj(spool, sys.stdout.buffer)
        sys.stdout.flush()


@volume_app.command("import")
def import_command(
    name: str = typer.Argument(..., metavar="VOLUME", help="The volume."),
    source: str = typer.Argument(..., metavar="TARBALL", help="A tar archive, or - for stdin."),
) -> None:
    """Import a tar archive's files into a volume."""
    import shutil
    import sys
    import tempfile

    from pod.errors import PodError
    from pod.store.volume_archive import import_volume

    volumes, _ = _stores()
    _existing(volumes, name)
    rootless = common.settings().rootless
    with tempfile.NamedTemporaryFile(prefix="pod-volume-import-") as spool:
        if source == "-":
            shutil.copyfileobj(sys.stdin.buffer, spool)
        else:
            try:
                with open(source, "rb") as given:
                    shutil.copyfileobj(given, spool)
            except OSError as err:
                raise PodError(f"open {source}: {(err.strerror or str(err)).lower()}") from None
        spool.flush()
        import_volume(Path(spool.name), volumes.data_dir(name), rootless=rootless)


@volume_app.command("mount")
def mount_command(
    names: list[str] = typer.Argument(..., metavar="VOLUME...", help="Volumes to mount."),
) -> None:
    """Mount volumes on the host; print where."""
    from pod.container import volume_mounts

    volumes, _ = _stores()
    _refuse_rootless("volume mount")
    for name in names:
        record = volumes.get(name)
        if volume_mounts.mounts_filesystem(record.options):
            volume_mounts.acquire(volumes.layout, name, record.options, rootless=False)
        print(volumes.data_dir(name))


@volume_app.command("unmount")
def unmount_command(
    names: list[str] = typer.Argument(..., metavar="VOLUME...", help="Volumes to unmount."),
) -> None:
    """Unmount volumes mounted with `volume mount` (once nothing else uses them)."""
    from pod.container import volume_mounts

    volumes, _ = _stores()
    _refuse_rootless("volume unmount")
    for name in names:
        record = volumes.get(name)
        if volume_mounts.mounts_filesystem(record.options):
            volume_mounts.release(volumes.layout, name)
        print(name)


def _existing(volumes, name: str):
    """export/import: a missing volume is podman's plain `no such volume NAME` (exit 125)."""
    from pod.errors import PodError

    if not volumes.exists(name):
        raise PodError(f"no such volume {name}")
    return volumes.get(name)


def _refuse_rootless(command: str) -> None:
    from pod.errors import PodError

    if common.settings().rootless:
        raise PodError(
            f'cannot run command "pod {command}" in rootless mode, must execute `pod unshare` first'
        )


@volume_app.command("ls")
@volume_app.command("list")
def ls_command(
    quiet: bool = common.quiet_option("Print only volume names."),
    fmt: str = common.format_option(),
    filters: list[str] = typer.Option([], "--filter", "-f", help="name, label, driver, dangling."),
    noheading: bool = typer.Option(False, "--noheading", "-n", help="Do not print headings."),
) -> None:
    """List volumes."""
    from pod import format as gotemplate
    from pod.commands.render import JsonLayout, render_rows
    from pod.container.object_inspect import VolumeConfigResponse, VolumeListReport
    from pod.errors import UsageError
    from pod.store.volumes import select

    volumes, containers = _stores()
    in_use = {name for record in containers.list() for name in record.volumes}
    records = select(sorted(volumes.list(), key=lambda r: r.name), filters, in_use)
    if quiet and fmt is not None:
        raise UsageError("quiet and format flags cannot be used together")
    if quiet:
        for record in records:
            print(record.name)
        return
    rows = [
        VolumeListReport(VolumeConfigResponse(_inspect(volumes, containers, r))) for r in records
    ]
    if not rows and not (fmt is not None and gotemplate.is_json(fmt)):
        return  # podman prints nothing at all, not even the header
    render_rows(
        rows,
        [("DRIVER", "Driver"), ("VOLUME NAME", "Name")],
        fmt,
        noheading,
        headers=gotemplate.struct_headers(VolumeListReport, {"Name": "VOLUME NAME"}),
        name="ls",
        json_layout=JsonLayout(indent=2, jsoniter=True),
    )


@volume_app.command("inspect")
def inspect_command(
    names: list[str] = typer.Argument(None, metavar="VOLUME...", help="Volumes to inspect."),
    all_volumes: bool = typer.Option(False, "--all", "-a", help="Inspect all volumes."),
    fmt: str = typer.Option(None, "--format", "-f", help="Go template or json."),
) -> None:
    """Show details of volumes."""
    from pod.commands.inspect_output import print_documents, raise_missing
    from pod.errors import NoSuchVolumeError

    volumes, containers = _stores()
    records, missing = (volumes.list() if all_volumes else []), []
    for name in [] if all_volumes else names or []:
        try:
            records.append(volumes.get(name))
        except NoSuchVolumeError:
            missing.append(f"no such volume {name}")
    print_documents([_inspect(volumes, containers, r) for r in records], fmt)
    raise_missing(missing)


@volume_app.command("rm")
def rm_command(
    names: list[str] = typer.Argument(None, metavar="VOLUME...", help="Volumes to remove."),
    force: bool = typer.Option(False, "--force", "-f", help="Also remove containers using it."),
    all_volumes: bool = typer.Option(False, "--all", "-a", help="Remove all volumes."),
) -> None:
    """Remove volumes (exit 2 when one is in use)."""
    from pod.container.remove import remove_container
    from pod.errors import NoSuchVolumeError, UsageError

    if not names and not all_volumes:
        raise UsageError("choose the volumes to remove, or --all")
    volumes, containers = _stores()
    targets = [r.name for r in volumes.list()] if all_volumes else names
    for name in targets:
        try:
            volumes.get(name)
        except NoSuchVolumeError as err:
            if force:  # podman: --force ignores volumes that do not exist
                continue
            err.exit_code = 1  # volume rm's code for a missing volume (podman's)
            raise
        users = _users(containers, name)
        if users and force:
            for container_id in users:
                remove_container(common.settings(), container_id, force=True)
            users = []
        if not users and not common.settings().rootless:
            from pod.container import volume_mounts

            volume_mounts.forget(volumes.layout, name)
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

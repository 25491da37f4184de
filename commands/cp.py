"""`pod cp` (and `pod container cp`): copy between a container and the host; `pod unshare`."""

from __future__ import annotations

import typer

from pod.commands import common

UNSHARE_CONTEXT = {
    "allow_interspersed_args": False,  # flags after COMMAND belong to the command
    "help_option_names": ["--help"],
}


def cp_command(
    source: str = typer.Argument(
        ..., metavar="[CONTAINER:]SRC_PATH", help="A container path, a host path or -."
    ),
    dest: str = typer.Argument(
        ..., metavar="[CONTAINER:]DEST_PATH", help="A container path, a host path or -."
    ),
    archive: bool = typer.Option(
        True,
        "--archive/--no-archive",
        "-a",
        help="Chown copied files to the primary uid/gid of the destination container.",
    ),
    overwrite: bool = typer.Option(
        False,
        "--overwrite",
        help="Allow to overwrite directories with non-directories and vice versa.",
    ),
    pause: bool = typer.Option(
        False, "--pause", help="Pause a running container while copying (not rootless on v1)."
    ),
) -> None:
    """Copy files/folders between a container and the local filesystem."""
    from pod.commands.progress import QuietReporter
    from pod.container.cp import CopyOptions, copy

    options = CopyOptions(archive=archive, overwrite=overwrite, pause=pause)
    copy(common.settings(), source, dest, options, QuietReporter())


def unshare_command(
    command: list[str] = typer.Argument(
        None, metavar="[COMMAND [ARG...]]", help="The command (default: $SHELL)."
    ),
) -> None:
    """Run a command in a modified user namespace (rootless only)."""
    from pod.system.unshare import run_unshare

    raise typer.Exit(run_unshare(common.settings(), command or [], common.warn))


def register(app: typer.Typer, image_app: typer.Typer) -> None:
    panel = "Containers"
    app.command("cp", rich_help_panel=panel)(cp_command)
    app.command("unshare", rich_help_panel="System", context_settings=UNSHARE_CONTEXT)(
        unshare_command
    )
    common.container_group(app).command("cp")(cp_command)

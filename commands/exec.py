"""`pod exec`: run a process in a running container."""

from __future__ import annotations

import typer

from pod.commands import exec_run

EXEC_CONTEXT = {
    "allow_interspersed_args": False,  # flags after CONTAINER belong to the command
    "help_option_names": ["--help"],
}


def exec_command(
    args: list[str] = typer.Argument(
        None, metavar="CONTAINER COMMAND [ARG...]", help="The container, then the command."
    ),
    interactive: bool = typer.Option(False, "--interactive", "-i", help="Keep stdin open."),
    tty: bool = typer.Option(False, "--tty", "-t", help="Allocate a pseudo-terminal."),
    env: list[str] = typer.Option([], "--env", "-e", help="Set environment variables."),
    env_file: list[str] = typer.Option([], "--env-file", help="Read environment from a file."),
    user: str = typer.Option(None, "--user", "-u", help="User[:group] to run as."),
    workdir: str = typer.Option(
        None, "--workdir", "-w", help="Working directory in the container."
    ),
    detach: bool = typer.Option(False, "--detach", "-d", help="Run in the background."),
    privileged: bool = typer.Option(False, "--privileged", help="All capabilities."),
    latest: bool = typer.Option(False, "--latest", "-l", help="The latest created container."),
    detach_keys: str = typer.Option(
        None, "--detach-keys", help="Keys that detach from the process (ctrl-p,ctrl-q)."
    ),
    preserve_fds: str = typer.Option(
        None, "--preserve-fds", help="Pass N more file descriptors (3...) to the process."
    ),
) -> None:
    """Run a process in a running container."""
    code = exec_run.exec_process(
        args=args, interactive=interactive, tty=tty, env=env, env_file=env_file, user=user,
        workdir=workdir, detach=detach, privileged=privileged, latest=latest,
        detach_keys=detach_keys, preserve_fds=preserve_fds,
    )  # fmt: skip
    if code:
        raise typer.Exit(code)


def register(app: typer.Typer, image_app: typer.Typer) -> None:
    app.command("exec", rich_help_panel="Containers", context_settings=EXEC_CONTEXT)(exec_command)

"""`pod exec`: run a process in a running container."""

from __future__ import annotations

import typer

from pod.commands import common

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
    from pod.container.exec import ExecOptions, exec_in_container
    from pod.errors import UsageError

    args = list(args or [])
    if not latest and not args:
        raise UsageError("exec requires the name or ID of a container or the --latest flag")
    container = None if latest else args.pop(0)
    environment: list[str] = []
    if env or env_file or workdir:  # run_flags (and its dataclasses) only when needed: exec is hot
        from pod.container import flags as run_flags

        run_flags.check_workdir(workdir)
        environment = run_flags.expand_env(run_flags.parse_env(env, env_file))
    keys = b""
    if tty and interactive:  # the client's parser, only where keys can be typed (exec is hot)
        from pod.util.terminal import DEFAULT_DETACH_KEYS, parse_detach_keys

        keys = parse_detach_keys(DEFAULT_DETACH_KEYS if detach_keys is None else detach_keys)
    fds = 0
    if preserve_fds is not None:
        from pod.container import flags as run_flags
        from pod.container.resource_flags import parse_int

        fds = run_flags.parse_preserve_fds(parse_int(preserve_fds, "--preserve-fds", unsigned=True))
    options = ExecOptions(
        command=args,
        env=environment,
        user=user,
        workdir=workdir,
        interactive=interactive,
        tty=tty,
        detach=detach,
        privileged=privileged,
        detach_keys=keys,
        preserve_fds=fds,
    )
    code = exec_in_container(common.settings(), container, options, latest=latest)
    if code:
        raise typer.Exit(code)


def register(app: typer.Typer, image_app: typer.Typer) -> None:
    app.command("exec", rich_help_panel="Containers", context_settings=EXEC_CONTEXT)(exec_command)

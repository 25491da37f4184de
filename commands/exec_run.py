"""The body of `pod exec`, without typer: the typer command (pod.commands.exec) and the
typer-free fast path (pod.commands.fastpath) both call it with the command's parameters by
name; an exec does not pay ~35 ms for importing and building the CLI when its flags are plain."""

from __future__ import annotations

from pod.commands import common


def exec_process(
    args: list[str],
    interactive: bool,
    tty: bool,
    env: list[str],
    env_file: list[str],
    user: str | None,
    workdir: str | None,
    detach: bool,
    privileged: bool,
    latest: bool,
    detach_keys: str | None,
    preserve_fds: str | None,
) -> int:
    """Run the command in the container: its exit code (0 detached)."""
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
    return exec_in_container(common.settings(), container, options, latest=latest) or 0

"""Container lifecycle commands: logs, stop, kill, restart, wait, init, pause, unpause, top, stats,
port, rename, diff, and the `pod container ...` group that maps to the same functions."""

from __future__ import annotations

import sys

import typer

from pod.commands import common, container_actions, lifecycle_actions, logs_output

_ALL_HELP = "Act on all containers."


def logs_command(
    ctx: typer.Context,
    containers: list[str] = typer.Argument(None, metavar="CONTAINER...", help="Containers."),
    follow: bool = typer.Option(False, "--follow", "-f", help="Follow the log output."),
    tail: int = typer.Option(-1, "--tail", help="Output the last N lines (-1: all)."),
    timestamps: bool = typer.Option(False, "--timestamps", "-t", help="Show timestamps."),
    since: str = typer.Option(None, "--since", help="Only logs since a time or duration."),
    until: str = typer.Option(None, "--until", help="Only logs until a time or duration."),
    names: bool = typer.Option(False, "--names", "-n", help="Prefix lines with the name."),
    latest: bool = typer.Option(False, "--latest", "-l", help="The latest container."),
    color: bool = typer.Option(
        False, "--color", help="Show each container's lines in a colour of its own."
    ),
) -> None:
    """Fetch the logs of one or more containers."""
    logs_output.logs(**ctx.params)


def stop_command(
    containers: list[str] = typer.Argument(None, metavar="CONTAINER...", help="Containers."),
    timeout: int = typer.Option(
        None, "--time", "-t", "--timeout", help="Seconds to wait before SIGKILL."
    ),
    all_containers: bool = typer.Option(False, "--all", "-a", help="Stop all running."),
    ignore: bool = typer.Option(False, "--ignore", "-i", help="Ignore missing containers."),
    latest: bool = typer.Option(False, "--latest", "-l", help="The latest container."),
    cidfile: list[str] = common.cidfile_option(),
) -> None:
    """Stop one or more containers."""
    container_actions.stop(
        containers=containers, timeout=timeout, all_containers=all_containers, ignore=ignore,
        latest=latest, cidfile=cidfile,
    )  # fmt: skip


def kill_command(
    ctx: typer.Context,
    containers: list[str] = typer.Argument(None, metavar="CONTAINER...", help="Containers."),
    signal_text: str = typer.Option("KILL", "--signal", "-s", help="Signal to send."),
    all_containers: bool = typer.Option(False, "--all", "-a", help="Kill all running."),
) -> None:
    """Kill one or more running containers with a signal."""
    lifecycle_actions.kill(**ctx.params)


def restart_command(
    ctx: typer.Context,
    containers: list[str] = typer.Argument(None, metavar="CONTAINER...", help="Containers."),
    timeout: int = typer.Option(None, "--time", "-t", help="Seconds to wait before SIGKILL."),
    all_containers: bool = typer.Option(False, "--all", "-a", help=_ALL_HELP),
    running: bool = typer.Option(False, "--running", help="Restart only running ones."),
) -> None:
    """Restart one or more containers."""
    lifecycle_actions.restart(**ctx.params)


def wait_command(
    ctx: typer.Context,
    containers: list[str] = typer.Argument(..., metavar="CONTAINER...", help="Containers."),
    condition: list[str] = typer.Option([], "--condition", help="State to wait for."),
    interval: str = typer.Option("250ms", "--interval", "-i", help="Polling interval."),
) -> None:
    """Block until one or more containers stop; print their exit codes."""
    lifecycle_actions.wait(**ctx.params)


def init_command(
    ctx: typer.Context,
    containers: list[str] = typer.Argument(None, metavar="CONTAINER...", help="Containers."),
    all_containers: bool = typer.Option(False, "--all", "-a", help="Initialize all containers."),
    latest: bool = typer.Option(False, "--latest", "-l", help="The latest container."),
) -> None:
    """Initialize one or more containers: created in the runtime, not started."""
    lifecycle_actions.init(**ctx.params)


def pause_command(
    ctx: typer.Context,
    containers: list[str] = typer.Argument(None, metavar="CONTAINER...", help="Containers."),
    all_containers: bool = typer.Option(False, "--all", "-a", help="Pause all running."),
) -> None:
    """Pause all the processes in one or more containers."""
    lifecycle_actions.pause(**ctx.params)


def unpause_command(
    ctx: typer.Context,
    containers: list[str] = typer.Argument(None, metavar="CONTAINER...", help="Containers."),
    all_containers: bool = typer.Option(False, "--all", "-a", help="Unpause all paused."),
) -> None:
    """Unpause the processes in one or more containers."""
    lifecycle_actions.unpause(**ctx.params)


def top_command(
    container: str = typer.Argument(..., metavar="CONTAINER", help="The container."),
    descriptors: list[str] = typer.Argument(None, metavar="[FORMAT-DESCRIPTORS...]"),
) -> None:
    """Display the running processes of a container."""
    from pod.container.lifecycle import engine_error
    from pod.container.top import top
    from pod.errors import PodError

    try:
        print(top(common.settings(), container, list(descriptors or [])), end="")
    except PodError as err:
        raise engine_error(err) from None


def stats_command(
    containers: list[str] = typer.Argument(None, metavar="[CONTAINER...]", help="Containers."),
    all_containers: bool = typer.Option(False, "--all", "-a", help="Show all containers."),
    no_stream: bool = typer.Option(False, "--no-stream", help="Show one sample and exit."),
    no_reset: bool = typer.Option(False, "--no-reset", help="Do not clear the screen."),
    fmt: str = common.format_option(),
    interval: int = typer.Option(5, "--interval", "-i", help="Seconds between samples."),
    no_trunc: bool = typer.Option(False, "--no-trunc", help="Do not truncate container IDs."),
) -> None:
    """Display a live stream of container resource usage statistics."""
    import time

    from pod import format as gotemplate
    from pod.commands.render import JsonLayout, render_rows
    from pod.container.lifecycle import engine_error
    from pod.container.stats import (
        COLUMNS,
        HEADERS,
        ContainerStats,
        StatsReporter,
        stats_json,
        stats_rows,
    )
    from pod.errors import PodError

    headers = gotemplate.struct_headers(ContainerStats, HEADERS)
    while True:
        try:
            found = stats_rows(common.settings(), list(containers or []), all_containers)
        except PodError as err:
            raise engine_error(err) from None
        if not no_stream and not no_reset and fmt is None:
            print("\033[2J\033[H", end="")
        rows = [StatsReporter(sample, no_trunc) for sample in found]
        render_rows(
            rows,
            COLUMNS,
            fmt,
            json_rows=[stats_json(row) for row in rows],
            headers=headers,
            name="stats",
            json_layout=JsonLayout(indent=1),
        )
        if no_stream:
            return
        sys.stdout.flush()
        time.sleep(max(interval, 1))


def port_command(
    container: str = typer.Argument(None, metavar="CONTAINER", help="The container."),
    private_port: str = typer.Argument(None, metavar="[PRIVATE_PORT[/PROTO]]"),
    all_containers: bool = typer.Option(False, "--all", "-a", help="Show all containers."),
) -> None:
    """List port mappings or a specific mapping for the container."""
    from pod.container.lifecycle import engine_error
    from pod.container.state import current_state
    from pod.errors import PodError, UsageError
    from pod.network.report import port_lines
    from pod.store.containers import ContainerStore
    from pod.store.layout import Layout

    if all_containers and container:
        raise UsageError("the --all option cannot be used with a container name or id")
    if not all_containers and not container:
        raise UsageError("you must supply a running container name or id")
    settings = common.settings()
    store = ContainerStore(Layout(settings.root, settings.runroot))
    try:
        records = [store.lookup(container)] if container else store.list()
        for record in sorted(records, key=lambda r: r.created):
            if not record.ports or current_state(store, record).status != "running":
                continue  # podman reports running containers only
            prefix = f"{record.short_id}\t" if all_containers else ""
            for line in port_lines(record, private_port):
                print(prefix + line)
    except PodError as err:
        raise engine_error(err) from None


def rename_command(
    container: str = typer.Argument(..., metavar="CONTAINER", help="The container."),
    new_name: str = typer.Argument(..., metavar="NAME", help="Its new name."),
) -> None:
    """Rename an existing container."""
    from pod.container.lifecycle import engine_error
    from pod.errors import PodError, UsageError
    from pod.store.containers import ContainerStore
    from pod.store.layout import Layout
    from pod.store.names import name_problem

    problem = name_problem(new_name)
    if problem:
        raise UsageError(f'invalid name "{new_name}": {problem}')
    settings = common.settings()
    try:
        ContainerStore(Layout(settings.root, settings.runroot)).rename(container, new_name)
    except PodError as err:
        raise engine_error(err) from None


def exists_command(
    container: str = typer.Argument(..., metavar="CONTAINER", help="The container."),
) -> None:
    """Check if a container exists (exit 0) or not (exit 1)."""
    from pod.errors import NoSuchContainerError
    from pod.store.containers import ContainerStore
    from pod.store.layout import Layout

    settings = common.settings()
    try:
        ContainerStore(Layout(settings.root, settings.runroot)).lookup(container)
    except NoSuchContainerError:
        raise typer.Exit(1) from None


def prune_command(
    force: bool = typer.Option(False, "--force", "-f", help="Do not ask for confirmation."),
) -> None:
    """Remove all non running containers."""
    from pod.container.remove import prune_containers

    if not force:
        print(
            "WARNING! This will remove all non running containers.\n"
            "Are you sure you want to continue? [y/N] ",
            end="",
            flush=True,
        )
        answer = sys.stdin.readline().strip().lower()
        if answer not in ("y", "yes"):
            return
    for container_id in prune_containers(common.settings()):
        print(container_id)


def diff_command(
    container: str = typer.Argument(None, metavar="CONTAINER", help="The container."),
    fmt: str = common.format_option("json: the changes as JSON (the only format)."),
    latest: bool = typer.Option(False, "--latest", "-l", help="The latest container."),
) -> None:
    """Inspect changes to a container's file systems (A added, C changed, D deleted)."""
    from pod import format as gotemplate
    from pod.commands.progress import QuietReporter
    from pod.container.diff import diff
    from pod.container.lifecycle import all_ids, engine_error
    from pod.errors import PodError, UsageError

    if latest:
        container = next(iter(all_ids(common.settings(), False)[-1:]), "")
    if not container:
        raise UsageError("diff requires a container name or ID, or --latest")
    if fmt is not None and not gotemplate.is_json(fmt):
        raise PodError("only supported value for '--format' is 'json'")
    try:
        changes = diff(common.settings(), container, QuietReporter())
    except PodError as err:
        raise engine_error(err) from None
    if fmt is not None:  # podman's ChangesReportJSON: a key per kind that has changes
        grouped = {
            name: [path for kind, path in changes if kind == letter]
            for letter, name in (("C", "changed"), ("A", "added"), ("D", "deleted"))
        }
        report = {name: paths for name, paths in grouped.items() if paths}
        print(gotemplate.to_json(report, indent=5, escape_html=True))
        return
    for kind, path in changes:
        print(f"{kind} {path}")


_RUN_CONTEXT = {"allow_interspersed_args": False, "help_option_names": ["--help"]}
_SHARED = (
    ("logs", logs_command),
    ("stop", stop_command),
    ("kill", kill_command),
    ("restart", restart_command),
    ("wait", wait_command),
    ("init", init_command),
    ("pause", pause_command),
    ("unpause", unpause_command),
    ("top", top_command),
    ("stats", stats_command),
    ("port", port_command),
    ("rename", rename_command),
    ("diff", diff_command),
)


def register(app: typer.Typer, image_app: typer.Typer) -> None:
    from pod.commands import containers

    panel = "Containers"
    for name, function in _SHARED:
        app.command(name, rich_help_panel=panel)(function)
    group = common.container_group(app)
    for name, function in _SHARED:
        group.command(name)(function)
    group.command("exists")(exists_command)
    group.command("prune")(prune_command)
    group.command("run", context_settings=_RUN_CONTEXT)(containers.run_command)
    group.command(
        "create", context_settings=_RUN_CONTEXT, help="Create a container without starting it."
    )(containers.run_command)
    group.command("start")(containers.start_command)
    group.command("attach")(containers.attach_command)
    group.command("rm")(containers.rm_command)
    for name in ("ls", "ps", "list"):
        group.command(name)(containers.ps_command)

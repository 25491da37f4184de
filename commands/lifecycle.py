"""Container lifecycle commands: logs, stop, kill, restart, wait, init, pause, unpause, top, stats,
port, rename, diff, and the `pod container ...` group that maps to the same functions."""

from __future__ import annotations

import sys

import typer

from pod.commands import common, container_actions, logs_output
from pod.commands.container_actions import each, targets

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
    containers: list[str] = typer.Argument(None, metavar="CONTAINER...", help="Containers."),
    signal_text: str = typer.Option("KILL", "--signal", "-s", help="Signal to send."),
    all_containers: bool = typer.Option(False, "--all", "-a", help="Kill all running."),
) -> None:
    """Kill one or more running containers with a signal."""
    from pod.container.lifecycle import kill_container
    from pod.util.signals import parse_signal

    parse_signal(signal_text)  # a bad signal is a usage error before anything is touched

    def action(text: str) -> None:
        kill_container(common.settings(), text, signal_text)
        print(text)

    each(targets(containers, all_containers, True), action)


def restart_command(
    containers: list[str] = typer.Argument(None, metavar="CONTAINER...", help="Containers."),
    timeout: int = typer.Option(None, "--time", "-t", help="Seconds to wait before SIGKILL."),
    all_containers: bool = typer.Option(False, "--all", "-a", help=_ALL_HELP),
    running: bool = typer.Option(False, "--running", help="Restart only running ones."),
) -> None:
    """Restart one or more containers."""
    from pod.commands.progress import QuietReporter
    from pod.container.lifecycle import restart_container

    def action(text: str) -> None:
        restart_container(common.settings(), text, timeout, QuietReporter())
        print(text)

    each(targets(containers, all_containers, running), action)


def wait_command(
    containers: list[str] = typer.Argument(..., metavar="CONTAINER...", help="Containers."),
    condition: list[str] = typer.Option([], "--condition", help="State to wait for."),
    interval: str = typer.Option("250ms", "--interval", "-i", help="Polling interval."),
) -> None:
    """Block until one or more containers stop; print their exit codes."""
    from pod.container.lifecycle import parse_conditions, wait_container

    conditions = parse_conditions(condition)
    seconds = _interval_seconds(interval)

    def action(text: str) -> None:
        print(wait_container(common.settings(), text, conditions, seconds), flush=True)

    each(containers, action)


def _interval_seconds(text: str) -> float:
    from pod.errors import UsageError
    from pod.util.timefmt import parse_duration

    if text.isdigit():
        return int(text) / 1000
    seconds = parse_duration(text)
    if seconds is None:
        raise UsageError(f'invalid interval "{text}": use a duration like 250ms')
    return min(max(seconds, 0.01), 1.0)


def init_command(
    containers: list[str] = typer.Argument(None, metavar="CONTAINER...", help="Containers."),
    all_containers: bool = typer.Option(False, "--all", "-a", help="Initialize all containers."),
    latest: bool = typer.Option(False, "--latest", "-l", help="The latest container."),
) -> None:
    """Initialize one or more containers: created in the runtime, not started."""
    from pod.commands.progress import QuietReporter
    from pod.container.initialize import init_container
    from pod.container.lifecycle import all_ids
    from pod.errors import PodError, StateImproperError, UsageError

    if all_containers and latest:
        raise UsageError("--all and --latest cannot be used together")
    if all_containers and containers:
        raise UsageError("no arguments are needed with --all")
    if latest and containers:
        raise UsageError("--latest and containers cannot be used together")
    if not (all_containers or latest or containers):
        raise UsageError("you must provide at least one name or id")
    settings = common.settings()
    if all_containers or latest:  # podman prints the IDs then, else the names as given
        ids = all_ids(settings, False)  # oldest first
        if latest and not ids:
            raise PodError("no such container")
        containers = ids[-1:] if latest else sorted(ids)  # podman: its database's (ID) order

    def action(text: str) -> None:
        try:
            init_container(settings, text, QuietReporter())
        except StateImproperError:
            if not all_containers:  # --all passes over those made already, as podman's
                raise
        print(text, flush=True)

    each(containers, action)


def pause_command(
    containers: list[str] = typer.Argument(None, metavar="CONTAINER...", help="Containers."),
    all_containers: bool = typer.Option(False, "--all", "-a", help="Pause all running."),
) -> None:
    """Pause all the processes in one or more containers."""
    from pod.container.pause import pause

    each(
        targets(containers, all_containers, True),
        lambda text: (pause(common.settings(), text), print(text)),
    )


def unpause_command(
    containers: list[str] = typer.Argument(None, metavar="CONTAINER...", help="Containers."),
    all_containers: bool = typer.Option(False, "--all", "-a", help="Unpause all paused."),
) -> None:
    """Unpause the processes in one or more containers."""
    from pod.container.pause import unpause

    if all_containers:
        from pod.container.list import list_containers

        rows = list_containers(common.settings(), True, ["status=paused"])
        containers, all_containers = [container.ID for container in rows], False
        if not containers:
            return
    each(
        targets(containers, all_containers, True),
        lambda text: (unpause(common.settings(), text), print(text)),
    )


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

"""The bodies of `pod start`, `kill`, `restart`, `wait`, `init`, `pause` and `unpause`, without
typer: the typer commands and the typer-free fast path (pod.commands.fastpath) call them with the
commands' parameters by name. Scripts run these one container at a time, where ~30 ms of typer
is most of the command."""

from __future__ import annotations

from pod.commands import common
from pod.commands.container_actions import each, look_up_all, targets


def start(
    containers: list[str] | None,
    attach_output: bool,
    interactive: bool,
    sig_proxy: bool,
    detach_keys: str | None,
    all_containers: bool,
    filters: list[str],
    latest: bool,
) -> int:
    """`pod start`: start each container (attached: one); the attached one's exit code."""
    from pod.commands.progress import QuietReporter
    from pod.container.lifecycle import all_ids, engine_error
    from pod.container.start import start_container
    from pod.errors import PodError, UsageError

    settings = common.settings()
    chosen = all_containers or filters or latest
    if containers and chosen:
        raise UsageError(
            "either start all containers or the container(s) provided in the arguments"
        )
    if latest:
        containers = all_ids(settings, False)[-1:]
    elif chosen:
        containers = _matching(settings, filters, stopped=True)
    elif not containers:
        raise UsageError("start requires at least one argument")
    if attach_output and len(containers) > 1:
        raise UsageError("you cannot start and attach multiple containers at once")
    code = 0
    try:  # podman: exit 125 for a missing container
        look_up_all(containers)
        for text in containers:
            code = start_container(
                settings, text, attach_output, interactive, sig_proxy, QuietReporter(), detach_keys
            )
            if not attach_output:
                print(text)
    except PodError as err:
        raise engine_error(err) from None
    return code


def _matching(settings, filters: list[str], stopped: bool = False) -> list[str]:
    """The full IDs of the containers `--filter` matches (all with none), oldest first; with
    `stopped`, only those not running."""
    from pod.container.list import list_containers

    rows = list_containers(settings, True, list(filters))  # oldest first
    return [row.ID for row in rows if not stopped or row.State not in ("running", "paused")]


def kill(containers: list[str] | None, signal_text: str, all_containers: bool) -> None:
    """`pod kill`: send the signal to each container; prints each as it was typed."""
    from pod.container.lifecycle import kill_container
    from pod.util.signals import parse_signal

    parse_signal(signal_text)  # a bad signal is a usage error before anything is touched

    def action(text: str) -> None:
        kill_container(common.settings(), text, signal_text)
        print(text)

    each(targets(containers, all_containers, True), action)


def restart(
    containers: list[str] | None, timeout: int | None, all_containers: bool, running: bool
) -> None:
    """`pod restart`: stop (as `pod stop -t`) and start each container."""
    from pod.commands.progress import QuietReporter
    from pod.container.lifecycle import restart_container

    def action(text: str) -> None:
        restart_container(common.settings(), text, timeout, QuietReporter())
        print(text)

    each(targets(containers, all_containers, running), action)


def wait(containers: list[str], condition: list[str], interval: str) -> None:
    """`pod wait`: block until each container meets a condition (stopped); print exit codes."""
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


def init(containers: list[str] | None, all_containers: bool, latest: bool) -> None:
    """`pod init`: create each container in the runtime without starting it."""
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

    each(containers or [], action)


def pause(containers: list[str] | None, all_containers: bool) -> None:
    """`pod pause`: freeze every process of each container."""
    from pod.container.pause import pause as pause_container

    each(
        targets(containers, all_containers, True),
        lambda text: (pause_container(common.settings(), text), print(text)),
    )


def unpause(containers: list[str] | None, all_containers: bool) -> None:
    """`pod unpause`: thaw each paused container (--all: every paused one)."""
    from pod.container.pause import unpause as unpause_container

    if all_containers:
        from pod.container.list import list_containers

        rows = list_containers(common.settings(), True, ["status=paused"])
        containers, all_containers = [container.ID for container in rows], False
        if not containers:
            return
    each(
        targets(containers, all_containers, True),
        lambda text: (unpause_container(common.settings(), text), print(text)),
    )

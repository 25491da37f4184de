"""The body of `pod logs`, without typer: the typer command (pod.commands.lifecycle) and the
typer-free fast path (pod.commands.fastpath) both call it with the command's parameters by name,
so reading a log does not pay ~30 ms for importing typer and building the CLI, more than the
reading itself."""

from __future__ import annotations

from pod.commands import common


def logs(
    containers: list[str] | None,
    follow: bool,
    tail: int,
    timestamps: bool,
    since: str | None,
    until: str | None,
    names: bool,
    latest: bool,
    color: bool,
) -> None:
    """`pod logs`: the containers' logs, as podman prints them."""
    from pod.container.lifecycle import all_ids, engine_error
    from pod.container.logs import LogOptions, show_logs
    from pod.errors import PodError, UsageError
    from pod.store.containers import ContainerStore
    from pod.store.layout import Layout

    settings = common.settings()
    store = ContainerStore(Layout(settings.root, settings.runroot))
    if latest:
        containers = all_ids(settings, False)[-1:]
    if not containers:
        raise UsageError("requires at least 1 arg(s), only received 0")
    try:
        records = store.lookup_all(containers)
    except PodError as err:
        raise engine_error(err) from None
    options = LogOptions.from_flags(follow, tail, timestamps, since, until)
    show_logs(settings, records, options, names, color)

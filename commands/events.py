"""`pod events`: the event log, followed (new events as they come) or listed (--since,
--until, --stream=false), filtered and formatted as podman's."""

from __future__ import annotations

import typer

from pod.commands import common

FILTER_KEYS = ("container", "event", "image", "label", "network", "pod", "type", "volume")


def events_command(
    filters: list[str] = typer.Option([], "--filter", "-f", help="Filter output (KEY=VALUE)."),
    fmt: str = common.format_option("json or a Go template."),
    since: str = typer.Option(None, "--since", help="Show events since this time."),
    until: str = typer.Option(None, "--until", help="Show events until this time."),
    stream: bool = typer.Option(
        True, "--stream/--no-stream", help="Follow new events (the default)."
    ),
    no_trunc: bool = typer.Option(  # the off twin is what `--no-trunc=false` becomes
        True, "--no-trunc/--trunc", help="Do not truncate the output (the default)."
    ),
) -> None:
    """Monitor pod events: new ones as they occur; earlier ones with --since and --until."""
    import sys
    import time

    from pod import events
    from pod.errors import UsageError
    from pod.util.timefmt import parse_moment

    wanted = _parse_filters(filters)
    since_ns = parse_moment(since) if since else None
    until_ns = parse_moment(until) if until else None
    settings = common.settings()
    if events.backend() == "none":
        raise UsageError('cannot read events with the "none" backend')
    log = events.log_path(settings.runroot)
    follow = stream and (until_ns is None or until_ns > time.time_ns())
    history = not stream or since_ns is not None or until_ns is not None
    render = _renderer(fmt, no_trunc)
    try:
        for event in events.read(log, follow, history, until_ns):
            if since_ns is not None and event.time_ns < since_ns:
                continue
            if until_ns is not None and event.time_ns > until_ns:
                if not follow:
                    continue
                break
            if _matches(event, wanted):
                sys.stdout.write(render(event))
                sys.stdout.flush()
    except KeyboardInterrupt:
        return


def _parse_filters(filters: list[str]) -> dict[str, list[str]]:
    from pod.errors import UsageError

    wanted: dict[str, list[str]] = {}
    for item in filters:
        key, sep, value = item.partition("=")
        if not sep or key not in FILTER_KEYS:
            raise UsageError(f'"{item}" is an invalid filter: use one of {", ".join(FILTER_KEYS)}')
        wanted.setdefault(key, []).append(value)
    return wanted


def _matches(event, wanted: dict[str, list[str]]) -> bool:
    """Values of one key are alternatives; keys must all match (podman's rules)."""
    for key, values in wanted.items():
        if not any(_match_one(event, key, value) for value in values):
            return False
    return True


def _match_one(event, key: str, value: str) -> bool:
    attributes = event.attributes or {}
    if key == "type":
        return event.type == value
    if key == "event":
        return event.status == value
    if key in ("container", "pod", "volume", "network"):
        same_type = event.type == key
        return same_type and (
            event.name == value
            or event.network == value
            or (len(value) >= 3 and event.id.startswith(value))
        )
    if key == "image":
        return event.image == value or (event.type == "image" and event.name == value)
    name, sep, wanted = value.partition("=")
    return name in attributes and (not sep or attributes[name] == wanted)


def _renderer(fmt: str | None, no_trunc: bool):
    from pod import format as gotemplate
    from pod.commands.events_view import event_report
    from pod.util.gotime import GoTime

    if fmt is not None and gotemplate.is_json(fmt):  # json.Marshal of podman's events.Event
        return lambda event: gotemplate.to_json(event_report(event), escape_html=True) + "\n"
    if fmt:  # run on each event itself, no range around it (podman's error positions)
        return lambda event: gotemplate.render_object(event_report(event), fmt, name="events")

    def line(event) -> str:
        """podman's ToHumanReadable: each type has its own line."""
        head = f"{GoTime(event.time_ns)} {event.type} {event.status}"
        if event.type == "image":
            return f"{head} {event.id} {event.name}"
        if event.type == "network":
            return f"{head} {event.id} (container={event.id}, name={event.network})"
        if event.type in ("volume", "system"):
            return f"{head} {event.name}".rstrip()
        ident = event.id if no_trunc else event.id[:12]
        details = [f"image={event.image}"] if event.image or event.type == "pod" else []
        details.append(f"name={event.name}")
        details += [f"{k}={v}" for k, v in sorted((event.attributes or {}).items())]
        return f"{head} {ident} ({', '.join(details)})"

    return lambda event: line(event) + "\n"


def register(app: typer.Typer, image_app: typer.Typer) -> None:
    app.command("events", rich_help_panel="System")(events_command)

"""`pod pod ...`: create, ps, start, stop, restart, kill, pause, unpause, rm, prune, exists,
inspect, top, logs, stats."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

import typer

from pod.commands import common

pod_app = common.new_typer(
    help="Manage pods: containers sharing namespaces through an infra container.",
    no_args_is_help=True,
)


def _each(names: list[str], action: Callable[[str], str], ignore_missing: bool = False) -> None:
    """Run `action` per pod and print what it returns; print every error but the last, raise
    that one."""
    from pod.errors import NoSuchPodError, PodError

    errors: list[PodError] = []
    for text in names:
        try:
            print(action(text))
        except NoSuchPodError as err:
            if not ignore_missing:
                errors.append(err)
        except PodError as err:
            errors.append(err)
    common.raise_collected(errors)


def pod_id_file_option() -> list[str]:
    return typer.Option([], "--pod-id-file", help="Read the pod ID from the file.")


def _targets(
    pods: list[str] | None, all_pods: bool, latest: bool = False, id_files: list[str] | None = None
) -> list[str]:
    from pod.errors import UsageError
    from pod.store.layout import Layout
    from pod.store.pods import PodStore

    if id_files:
        if pods or all_pods or latest:
            raise UsageError("no arguments are needed with --latest or --pod-id-file")
        return [common.read_pod_id_file(path) for path in id_files]
    if all_pods or latest:
        if pods:
            raise UsageError("when using the --all or --latest flag, no pods may be named")
        settings = common.settings()
        records = PodStore(Layout(settings.root, settings.runroot)).list()
        return [r.id for r in (records[-1:] if latest else records)]
    if not pods:
        raise UsageError("you must provide at least one name or id")
    return pods


@pod_app.command("create")
def create_command(
    name_argument: str = typer.Argument(None, metavar="[NAME]", help="The pod's name."),
    name: str = typer.Option(None, "--name", "-n", help="Assign a name to the pod."),
    publish: list[str] = typer.Option(
        [], "--publish", "-p", help="Publish a port on the pod: ip:hostPort:containerPort/proto."
    ),
    network: list[str] = typer.Option(
        [], "--network", "--net", help="bridge, NAME, none, host, slirp4netns."
    ),
    network_alias: list[str] = typer.Option([], "--network-alias", help="Name on the network."),
    ip: str = typer.Option(None, "--ip", help="Static IPv4 address on the network."),
    share: str = typer.Option(
        None, "--share", help="Namespaces to share: cgroup, ipc, net, pid, uts or none."
    ),
    infra: bool = typer.Option(
        True, "--infra/--no-infra", help="Create an infra container holding the namespaces."
    ),
    infra_command: str = typer.Option(
        None, "--infra-command", help="The infra's program: /catatonit or /pause (no image)."
    ),
    infra_image: str = typer.Option(None, "--infra-image", help="An image for the infra."),
    infra_name: str = typer.Option(None, "--infra-name", help="Name the infra container."),
    hostname: str = typer.Option(None, "--hostname", help="The pod's host name."),
    add_host: list[str] = typer.Option([], "--add-host", help="Add HOST:IP to /etc/hosts."),
    dns: list[str] = typer.Option([], "--dns", help="DNS servers for /etc/resolv.conf."),
    dns_search: list[str] = typer.Option([], "--dns-search", help="DNS search domains."),
    dns_option: list[str] = typer.Option([], "--dns-option", help="resolv.conf options."),
    label: list[str] = typer.Option([], "--label", "-l", help="Set metadata labels."),
    userns: str = typer.Option(None, "--userns", help="User namespace: keep-id or host."),
    replace: bool = typer.Option(False, "--replace", help="Replace a pod with this name."),
    pod_id_file: str = typer.Option(None, "--pod-id-file", help="Write the pod ID to this file."),
    infra_conmon_pidfile: str = typer.Option(
        None, "--infra-conmon-pidfile", help="Write the infra supervisor's PID to this file."
    ),
    exit_policy: str = typer.Option(
        "continue", "--exit-policy", help="When the last container exits: continue or stop."
    ),
) -> None:
    """Create a new empty pod; prints its ID."""
    from pod.commands.progress import reporter_for
    from pod.container import flags
    from pod.errors import UsageError
    from pod.network import modes, ports
    from pod.pods.create import create_pod
    from pod.pods.options import PodOptions, parse_share

    if name and name_argument:
        raise UsageError("cannot specify name both as the argument and with --name")
    settings = common.settings()
    network_mode = None
    if network or network_alias or ip:
        network_mode = modes.parse_network(
            modes.NetworkFlags(list(network), list(network_alias), ip), settings.rootless
        )
    options = PodOptions(
        name=name or name_argument or "",
        hostname=hostname or "",
        labels=flags.parse_labels(label),
        share=parse_share(share),
        infra=infra,
        infra_image=infra_image or "",
        infra_command=infra_command,
        infra_name=infra_name or "",
        network_mode=network_mode,
        publish=ports.parse_publish(publish),
        add_hosts=[flags.parse_add_host(h) for h in add_host],
        dns=flags.parse_dns(dns),
        dns_search=list(dns_search),
        dns_options=list(dns_option),
        userns=userns,
        replace=replace,
        create_command=["pod", *sys.argv[1:]],
        infra_conmon_pidfile=os.path.abspath(infra_conmon_pidfile) if infra_conmon_pidfile else "",
        exit_policy=exit_policy,
    )
    record = create_pod(settings, options, reporter_for(False))
    if pod_id_file:
        from pathlib import Path

        from pod.store.lock import atomic_write

        atomic_write(Path(pod_id_file), record.id.encode())
    print(record.id)


def ps_command(
    quiet: bool = common.quiet_option("Print only pod IDs."),
    fmt: str = common.format_option(),
    filters: list[str] = typer.Option(
        [], "--filter", "-f", help="Filter: id, name, label, status, ctr-names, ctr-ids, ..."
    ),
    ctr_names: bool = typer.Option(False, "--ctr-names", help="Show the containers' names."),
    ctr_ids: bool = typer.Option(False, "--ctr-ids", help="Show the containers' IDs."),
    ctr_status: bool = typer.Option(False, "--ctr-status", help="Show the containers' states."),
    namespaces: bool = typer.Option(False, "--ns", help="Show the pod's namespaces."),
    no_trunc: bool = typer.Option(False, "--no-trunc", help="Do not truncate IDs."),
    noheading: bool = typer.Option(False, "--noheading", help="Do not print headings."),
    sort: str = typer.Option("created", "--sort", help="created, id, name, number or status."),
    latest: bool = typer.Option(False, "--latest", "-l", help="Only the latest pod."),
) -> None:
    """List pods."""
    from pod.commands.render import render_rows
    from pod.pods.list import json_rows, list_pods

    rows = list_pods(common.settings(), list(filters), sort, no_trunc)
    if latest:
        rows = sorted(rows, key=lambda r: -r["CreatedUnix"])[:1]
    if quiet and fmt is None:
        for row in rows:
            print(row["ID"])
        return
    columns = [
        ("POD ID", "ID"),
        ("NAME", "Name"),
        ("STATUS", "Status"),
        ("CREATED", "Created"),
        ("INFRA ID", "InfraID"),
    ]
    if namespaces:
        columns += [("CGROUP", "Cgroup"), ("NAMESPACES", "Namespace")]
    if ctr_ids:
        columns.append(("IDS", "ContainerIds"))
    if ctr_names:
        columns.append(("NAMES", "ContainerNames"))
    if ctr_status:
        columns.append(("STATUS", "ContainerStatuses"))
    if not (ctr_ids or ctr_names or ctr_status):
        columns.append(("# OF CONTAINERS", "NumberOfContainers"))
    render_rows(rows, columns, fmt, noheading, json_rows(rows))


@pod_app.command("start")
def start_command(
    pods: list[str] = typer.Argument(None, metavar="POD...", help="Pods."),
    all_pods: bool = typer.Option(False, "--all", "-a", help="Start all pods."),
    latest: bool = typer.Option(False, "--latest", "-l", help="The latest pod."),
    pod_id_file: list[str] = pod_id_file_option(),
) -> None:
    """Start one or more pods: the infra container first, then the others."""
    from pod.commands.progress import QuietReporter
    from pod.pods.lifecycle import start_pod

    settings = common.settings()
    _each(
        _targets(pods, all_pods, latest, pod_id_file),
        lambda text: start_pod(settings, text, QuietReporter()).id,
    )


@pod_app.command("stop")
def stop_command(
    pods: list[str] = typer.Argument(None, metavar="POD...", help="Pods."),
    timeout: int = typer.Option(None, "--time", "-t", help="Seconds to wait before SIGKILL."),
    all_pods: bool = typer.Option(False, "--all", "-a", help="Stop all pods."),
    ignore: bool = typer.Option(False, "--ignore", "-i", help="Ignore missing pods."),
    latest: bool = typer.Option(False, "--latest", "-l", help="The latest pod."),
    pod_id_file: list[str] = pod_id_file_option(),
) -> None:
    """Stop one or more pods: their containers, the infra container last."""
    from pod.commands.progress import QuietReporter
    from pod.pods.lifecycle import stop_pod

    settings = common.settings()
    _each(
        _targets(pods, all_pods, latest, pod_id_file),
        lambda text: stop_pod(settings, text, timeout, QuietReporter()).id,
        ignore,
    )


@pod_app.command("restart")
def restart_command(
    pods: list[str] = typer.Argument(None, metavar="POD...", help="Pods."),
    all_pods: bool = typer.Option(False, "--all", "-a", help="Restart all pods."),
    latest: bool = typer.Option(False, "--latest", "-l", help="The latest pod."),
) -> None:
    """Restart one or more pods."""
    from pod.commands.progress import QuietReporter
    from pod.pods.lifecycle import restart_pod

    settings = common.settings()
    _each(
        _targets(pods, all_pods, latest),
        lambda text: restart_pod(settings, text, None, QuietReporter()).id,
    )


@pod_app.command("kill")
def kill_command(
    pods: list[str] = typer.Argument(None, metavar="POD...", help="Pods."),
    signal_text: str = typer.Option("KILL", "--signal", "-s", help="Signal to send."),
    all_pods: bool = typer.Option(False, "--all", "-a", help="Kill all pods."),
    latest: bool = typer.Option(False, "--latest", "-l", help="The latest pod."),
) -> None:
    """Send a signal to the running containers of one or more pods."""
    from pod.pods.lifecycle import kill_pod
    from pod.util.signals import parse_signal

    parse_signal(signal_text)
    settings = common.settings()
    _each(
        _targets(pods, all_pods, latest),
        lambda text: kill_pod(settings, text, signal_text).id,
    )


@pod_app.command("pause")
def pause_command(
    pods: list[str] = typer.Argument(None, metavar="POD...", help="Pods."),
    all_pods: bool = typer.Option(False, "--all", "-a", help="Pause all pods."),
    latest: bool = typer.Option(False, "--latest", "-l", help="The latest pod."),
) -> None:
    """Pause the running containers of one or more pods."""
    from pod.pods.lifecycle import pause_pod

    settings = common.settings()
    _each(_targets(pods, all_pods, latest), lambda text: pause_pod(settings, text, True).id)


@pod_app.command("unpause")
def unpause_command(
    pods: list[str] = typer.Argument(None, metavar="POD...", help="Pods."),
    all_pods: bool = typer.Option(False, "--all", "-a", help="Unpause all pods."),
    latest: bool = typer.Option(False, "--latest", "-l", help="The latest pod."),
) -> None:
    """Unpause the paused containers of one or more pods."""
    from pod.pods.lifecycle import pause_pod

    settings = common.settings()
    _each(_targets(pods, all_pods, latest), lambda text: pause_pod(settings, text, False).id)


@pod_app.command("rm")
def rm_command(
    pods: list[str] = typer.Argument(None, metavar="POD...", help="Pods."),
    force: bool = typer.Option(False, "--force", "-f", help="Stop running containers first."),
    all_pods: bool = typer.Option(False, "--all", "-a", help="Remove all pods."),
    timeout: int = typer.Option(10, "--time", "-t", help="Seconds to wait before SIGKILL."),
    ignore: bool = typer.Option(False, "--ignore", "-i", help="Ignore missing pods."),
    latest: bool = typer.Option(False, "--latest", "-l", help="The latest pod."),
    pod_id_file: list[str] = pod_id_file_option(),
) -> None:
    """Remove one or more pods and their containers (exit 1: no such pod)."""
    from pod.commands.progress import QuietReporter
    from pod.errors import NoSuchPodError
    from pod.pods.remove import remove_pod

    settings = common.settings()
    try:
        _each(
            _targets(pods, all_pods, latest, pod_id_file),
            lambda text: remove_pod(settings, text, force, timeout, QuietReporter()),
            ignore,
        )
    except NoSuchPodError as err:
        err.exit_code = 1  # podman's pod rm exits 1 for a missing pod
        raise


@pod_app.command("prune")
def prune_command(
    force: bool = typer.Option(False, "--force", "-f", help="Do not ask for confirmation."),
) -> None:
    """Remove all stopped pods and their containers."""
    from pod.commands.progress import QuietReporter
    from pod.pods.remove import prune_pods

    if not force:
        print(
            "WARNING! This will remove all stopped/exited pods..\n"
            "Are you sure you want to continue? [y/N] ",
            end="",
            flush=True,
        )
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            return
    for pod_id in prune_pods(common.settings(), QuietReporter()):
        print(pod_id)


@pod_app.command("exists")
def exists_command(
    pod: str = typer.Argument(..., metavar="POD", help="The pod."),
) -> None:
    """Check if a pod exists (exit 0) or not (exit 1)."""
    from pod.errors import NoSuchPodError
    from pod.store.layout import Layout
    from pod.store.pods import PodStore

    settings = common.settings()
    try:
        PodStore(Layout(settings.root, settings.runroot)).lookup(pod)
    except NoSuchPodError:
        raise typer.Exit(1) from None


@pod_app.command("inspect")
def inspect_command(
    pods: list[str] = typer.Argument(None, metavar="POD...", help="Pods."),
    fmt: str = typer.Option(None, "--format", "-f", help="Format with a Go template or json."),
    latest: bool = typer.Option(False, "--latest", "-l", help="The latest pod."),
) -> None:
    """Show details of pods; one pod as an object, several as a list (podman 4.3)."""
    from pod import format as gotemplate
    from pod.commands.inspect_output import INDENT
    from pod.format.json import to_json
    from pod.pods.inspect import inspect_pod

    settings = common.settings()
    documents = [inspect_pod(settings, text) for text in _targets(pods, False, latest)]
    if fmt and not gotemplate.is_json(fmt):
        print(gotemplate.render_rows(documents, fmt, name="inspect"), end="")
    elif len(documents) == 1:
        print(to_json(documents[0], INDENT))
    else:
        print(gotemplate.format_json(documents, indent=INDENT), end="")


@pod_app.command("top")
def top_command(
    pod: str = typer.Argument(..., metavar="POD", help="The pod."),
    descriptors: list[str] = typer.Argument(None, metavar="[FORMAT-DESCRIPTORS...]"),
) -> None:
    """Display the running processes of a pod's containers."""
    from pod.pods.usage import pod_top

    print(pod_top(common.settings(), pod, list(descriptors or [])), end="")


@pod_app.command("logs")
def logs_command(
    pod: str = typer.Argument(..., metavar="POD", help="The pod."),
    container: str = typer.Option(None, "--container", "-c", help="Only this container's."),
    follow: bool = typer.Option(False, "--follow", "-f", help="Follow the log output."),
    tail: int = typer.Option(-1, "--tail", help="Output the last N lines (-1: all)."),
    timestamps: bool = typer.Option(False, "--timestamps", "-t", help="Show timestamps."),
    since: str = typer.Option(None, "--since", help="Only logs since a time or duration."),
    until: str = typer.Option(None, "--until", help="Only logs until a time or duration."),
    names: bool = typer.Option(False, "--names", "-n", help="Prefix lines with the name."),
) -> None:
    """Fetch the logs of a pod's containers."""
    from pod.container.logs import LogOptions, show_logs
    from pod.errors import PodError
    from pod.pods.lifecycle import load

    settings = common.settings()
    context = load(settings, pod)
    records = [r for r in context.containers if not r.infra]
    if container:
        records = [r for r in records if container == r.name or r.id.startswith(container)]
        if not records:
            raise PodError(
                f"container {container} is not in pod {context.pod.name}: no such container"
            )
    options = LogOptions.from_flags(follow, tail, timestamps, since, until)
    show_logs(settings, records, options, names)


@pod_app.command("stats")
def stats_command(
    pods: list[str] = typer.Argument(None, metavar="[POD...]", help="Pods."),
    all_pods: bool = typer.Option(False, "--all", "-a", help="Show all containers."),
    no_stream: bool = typer.Option(False, "--no-stream", help="Show one sample and exit."),
    no_reset: bool = typer.Option(False, "--no-reset", help="Do not clear the screen."),
    fmt: str = common.format_option(),
) -> None:
    """Display a live stream of the resource usage of pods' containers."""
    import time

    from pod.commands.render import render_rows
    from pod.pods.usage import STATS_COLUMNS, pod_stats

    while True:
        rows = pod_stats(common.settings(), list(pods or []), all_pods)
        if not no_stream and not no_reset and fmt is None:
            print("\033[2J\033[H", end="")
        render_rows(rows, STATS_COLUMNS, fmt)
        if no_stream:
            return
        sys.stdout.flush()
        time.sleep(5)


for _name in ("ps", "ls", "list"):
    pod_app.command(_name)(ps_command)


def register(app: typer.Typer, image_app: typer.Typer) -> None:
    app.add_typer(pod_app, name="pod", rich_help_panel="Pods")

"""`pod network`: create, ls, inspect, rm, prune, exists, connect, disconnect (podman 4.3's
behaviour and wording)."""

from __future__ import annotations

import contextlib
import sys

import typer

from pod.commands import common

network_app = common.new_typer(help="Manage networks.", no_args_is_help=True)

STOP_TIMEOUT = 10  # containers.conf's default stop timeout, as podman's `-t` default


def _store():
    from pod.network.records import open_store
    from pod.store.layout import Layout

    settings = common.settings()
    return open_store(Layout(settings.root, settings.runroot))


def _in_use(store, records) -> set[str]:
    """The networks containers have addresses on (one removed meanwhile is not in use)."""
    from pod.errors import NoSuchNetworkError

    used = set()
    for record in records:
        with contextlib.suppress(NoSuchNetworkError):
            if store.allocations(record.name):
                used.add(record.name)
    return used


def _raise_collected(errors: list) -> None:
    """podman's OutputErrors: all but the last printed, the last returned; the exit code is
    1 when a network was missing, 2 when one was in use (the last such wins), else 125."""
    from pod.errors import NetworkInUseError, NoSuchNetworkError, PodError

    if not errors:
        return
    code = 125
    for err in errors:
        if isinstance(err, NoSuchNetworkError):
            code = 1
        elif isinstance(err, NetworkInUseError):
            code = 2
    for err in errors[:-1]:
        print(f"Error: {err}", file=sys.stderr)
    final = PodError(str(errors[-1]))
    final.exit_code = code
    raise final


# --- the commands ---


@network_app.command("create")
def create_command(
    name: str = typer.Argument(None, help="Network name (pod1, pod2, ... when omitted)."),
    driver: str = typer.Option("bridge", "--driver", "-d", help="Driver: bridge."),
    subnet: list[str] = typer.Option([], "--subnet", help="Subnet in CIDR format."),
    gateway: list[str] = typer.Option([], "--gateway", help="Gateway for the subnet."),
    internal: bool = typer.Option(False, "--internal", help="Restrict external access."),
    labels: list[str] = typer.Option([], "--label", help="Set a label (KEY=VALUE)."),
) -> None:
    """Create a bridge network; prints its name."""
    from pod.container.flags import parse_labels
    from pod.errors import UsageError

    if subnet and len(gateway) > len(subnet):
        raise UsageError("cannot set more gateways than subnets")
    if len(subnet) > 1:
        raise UsageError("pod networks have a single IPv4 subnet: give --subnet once")
    record = _store().create(
        name,
        driver=driver,
        subnet=subnet[0] if subnet else None,
        gateway=gateway[0] if gateway else None,
        internal=internal,
        labels=parse_labels(labels),
    )
    print(record.name)


def ls_command(
    quiet: bool = common.quiet_option("Print only network names."),
    fmt: str = common.format_option("Pretty-print with a Go template, `json` or `table ...`."),
    filters: list[str] = typer.Option(
        [], "--filter", "-f", help="Filter: name, id, driver, label, label!, until, dangling."
    ),
    noheading: bool = typer.Option(False, "--noheading", help="Do not print headings."),
    no_trunc: bool = typer.Option(False, "--no-trunc", help="Do not truncate network IDs."),
) -> None:
    """List networks."""
    from pod import format as gotemplate
    from pod.commands.render import render_rows
    from pod.store.networks import LIST_FILTERS, parse_filters, select

    parsed = parse_filters(filters, LIST_FILTERS)
    store = _store()
    records = store.list()
    in_use = _in_use(store, records) if "dangling" in parsed else set()
    records = select(records, parsed, in_use)
    if quiet:
        for record in records:
            print(record.name)
        return
    if fmt is not None and gotemplate.is_json(fmt):  # podman: json.MarshalIndent, two spaces
        print(gotemplate.format_json([r.to_json() for r in records], indent=2), end="")
        return
    from pod.commands.network_view import HEADERS, ListPrintReports, network_struct

    rows = [ListPrintReports(network_struct(r), no_trunc) for r in records]
    columns = [("NETWORK ID", "ID"), ("NAME", "Name"), ("DRIVER", "Driver")]
    headers = gotemplate.struct_headers(ListPrintReports, HEADERS)
    render_rows(rows, columns, fmt, noheading, headers=headers, name="ls")


network_app.command("ls")(ls_command)
network_app.command("list", hidden=True)(ls_command)


@network_app.command("inspect")
def inspect_command(
    names: list[str] = typer.Argument(..., metavar="NETWORK...", help="Networks to inspect."),
    fmt: str = typer.Option(None, "--format", "-f", help="Format with a Go template or json."),
) -> None:
    """Show details of networks (podman's JSON)."""
    from pod import format as gotemplate
    from pod.commands.inspect_output import print_documents, raise_missing
    from pod.errors import NoSuchNetworkError

    store = _store()
    records, errors = [], []
    for name in names:
        try:
            records.append(store.lookup(name))
        except NoSuchNetworkError as err:
            errors.append(f"network {name}: {err}")
    if fmt and not gotemplate.is_json(fmt):
        from pod.commands.network_view import network_struct

        print_documents([network_struct(r) for r in records], fmt)
    else:  # podman's inspect: an encoder with five spaces, no HTML escaping
        print(gotemplate.format_json([r.to_json() for r in records], 5, escape_html=False), end="")
    raise_missing(errors)


def rm_command(
    names: list[str] = typer.Argument(..., metavar="NETWORK...", help="Networks to remove."),
    force: bool = typer.Option(False, "--force", "-f", help="Also remove containers using it."),
    timeout: int = typer.Option(
        None, "--time", "-t", help="Seconds to wait for running containers to stop."
    ),
) -> None:
    """Remove networks (exit 2 when one is in use, 1 when one does not exist)."""
    from pod.container.remove import remove_container
    from pod.errors import (
        NetworkInUseError,
        NoSuchContainerError,
        NoSuchNetworkError,
        PodError,
        UsageError,
    )
    from pod.network.records import remove_network
    from pod.store.networks import check_removable

    if timeout is not None and not force:
        raise UsageError("--force option must be specified to use the --time option")
    settings = common.settings()
    store = _store()
    errors: list[PodError] = []
    for name in names:
        try:
            record = store.lookup(name)
            check_removable(record)  # before its containers go (podman removes them first)
            wait = STOP_TIMEOUT if timeout is None else timeout
            for container_id in store.allocations(record.name) if force else ():
                # no container: an address left by a create that never finished, dropped below
                with contextlib.suppress(NoSuchContainerError):
                    remove_container(settings, container_id, force=True, timeout=wait)
            remove_network(store, record.name, force, settings.rootless)
        except NoSuchNetworkError as err:
            if not force:  # podman: rm -f of a missing network is no error
                errors.append(err)
            continue
        except NetworkInUseError as err:
            errors.append(err)
            _raise_collected(errors)  # podman stops at the first network in use
        except PodError as err:
            errors.append(err)
            continue
        print(name)
    _raise_collected(errors)


network_app.command("rm")(rm_command)
network_app.command("remove", hidden=True)(rm_command)


def _confirm_prune() -> bool:
    """podman's prompt, read as podman reads it (EOF is an error)."""
    from pod.errors import PodError

    print("WARNING! This will remove all networks not used by at least one container.")
    print("Are you sure you want to continue? [y/N] ", end="", flush=True)
    answer = sys.stdin.readline()
    if not answer:
        raise PodError("EOF")
    return answer.lower()[0] == "y"


@network_app.command("prune")
def prune_command(
    force: bool = typer.Option(False, "--force", "-f", help="Do not ask for confirmation."),
    filters: list[str] = typer.Option([], "--filter", help="Filter: label, label!, until."),
) -> None:
    """Remove every network no container uses (never the default one)."""
    from pod.errors import PodError
    from pod.network.records import remove_network
    from pod.store.networks import PRUNE_FILTERS, parse_filters, select

    if not force and not _confirm_prune():
        return
    parsed = parse_filters(filters, PRUNE_FILTERS)
    parsed["dangling"] = ["true"]
    store = _store()
    records = store.list()
    errors = []
    for record in select(records, parsed, _in_use(store, records)):
        try:
            remove_network(store, record.name, False, common.settings().rootless)
        except PodError as err:
            errors.append(err)
            continue
        print(record.name)
    _raise_collected(errors)


@network_app.command("exists")
def exists_command(name: str = typer.Argument(..., metavar="NETWORK", help="Network name or ID.")):
    """Exit 0 if the network exists, 1 if not."""
    if not _store().exists(name):
        raise typer.Exit(1)


@network_app.command("connect")
def connect_command(
    network: str = typer.Argument(..., metavar="NETWORK", help="Network name or ID."),
    container: str = typer.Argument(..., metavar="CONTAINER", help="Container name or ID."),
    alias: list[str] = typer.Option([], "--alias", help="Network-scoped alias."),
    ip: str = typer.Option(None, "--ip", help="Static IPv4 address on the network."),
) -> None:
    """Add a container to a network (a running one gets the interface at once)."""
    from pod.network.connect import connect
    from pod.network.modes import check_ip

    connect(common.settings(), network, container, list(alias), check_ip(ip) if ip else None)


@network_app.command("disconnect")
def disconnect_command(
    network: str = typer.Argument(..., metavar="NETWORK", help="Network name or ID."),
    container: str = typer.Argument(..., metavar="CONTAINER", help="Container name or ID."),
) -> None:
    """Take a container off a network."""
    from pod.network.connect import disconnect

    disconnect(common.settings(), network, container)


def register(app: typer.Typer, image_app: typer.Typer) -> None:
    app.add_typer(network_app, name="network", rich_help_panel="Networks")

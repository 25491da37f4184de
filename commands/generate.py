"""`pod generate systemd`: systemd units for a container or a pod (pod.systemd)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import typer

from pod.commands import common

if TYPE_CHECKING:
    from pod.systemd.container_unit import GenerateOptions

generate_app = common.new_typer(help="Generate structured data.", no_args_is_help=True)


def _executable() -> str:
    """The pod program the units run: the console script beside this interpreter (a venv's
    bin/), else the one on PATH."""
    import shutil

    beside = os.path.join(os.path.dirname(sys.executable), "pod")
    if os.access(beside, os.X_OK):
        return beside
    found = shutil.which("pod")
    return os.path.abspath(found) if found else "/usr/bin/pod"


def _run_value_options() -> frozenset[str]:
    """The `run`/`create` options that take a value (`--name`, `-e`), read from the CLI
    itself: the unit writer must split a create command exactly as `pod run` parses it."""
    from pod.commands.containers import RUN_CONTEXT, run_command

    return _value_options(run_command, RUN_CONTEXT)


def _pod_create_value_options() -> frozenset[str]:
    """The same for `pod pod create` (a pod's --new unit makes the pod again)."""
    from pod.commands.pods import create_command

    return _value_options(create_command, {})


def _value_options(function: Callable[..., None], context_settings: dict) -> frozenset[str]:
    from typer.core import TyperOption

    app = common.new_typer()
    app.command("command", context_settings=context_settings)(function)
    command = typer.main.get_command(app)
    return frozenset(
        name
        for param in command.params
        if isinstance(param, TyperOption) and not param.is_flag and not param.count
        for name in param.opts
    )


def _split_env(values: list[str]) -> list[str]:
    """-e KEY=VALUE, or KEY alone for this shell's value (podman's env.ParseSlice)."""
    from pod.errors import UsageError

    result = []
    for value in values:
        key, sep, _ = value.partition("=")
        if not key:
            raise UsageError(f'parsing environment variables: invalid environment "{value}"')
        if sep:
            result.append(value)
        elif key in os.environ:
            result.append(f"{key}={os.environ[key]}")
    return result


@generate_app.command("systemd")
def systemd_command(
    target: str = typer.Argument(..., metavar="CONTAINER|POD", help="The container or pod."),
    use_name: bool = typer.Option(False, "--name", "-n", help="Use names instead of IDs."),
    files: bool = typer.Option(False, "--files", "-f", help="Write .service files here."),
    new: bool = typer.Option(False, "--new", help="Create a new container on each start."),
    template: bool = typer.Option(False, "--template", help="A template unit (%i, %I)."),
    no_header: bool = typer.Option(False, "--no-header", help="Skip the header."),
    container_prefix: str = typer.Option(
        "container", "--container-prefix", help="Unit name prefix for containers."
    ),
    pod_prefix: str = typer.Option("pod", "--pod-prefix", help="Unit name prefix for pods."),
    separator: str = typer.Option("-", "--separator", help="Between the prefix and the name."),
    restart_policy: str = typer.Option(
        None, "--restart-policy", help="systemd Restart= (default on-failure)."
    ),
    restart_sec: int = typer.Option(None, "--restart-sec", min=0, help="systemd RestartSec=."),
    start_timeout: int = typer.Option(None, "--start-timeout", min=0, help="TimeoutStartSec=."),
    stop_timeout: int = typer.Option(
        None, "--stop-timeout", min=0, help="Seconds to wait on stop (the container's)."
    ),
    time_alias: int = typer.Option(
        None, "--time", "-t", min=0, hidden=True, help="Old name of --stop-timeout."
    ),
    wants: list[str] = typer.Option([], "--wants", help="Wants= (weak requirement)."),
    after: list[str] = typer.Option([], "--after", help="After= (ordering)."),
    requires: list[str] = typer.Option([], "--requires", help="Requires= (requirement)."),
    env: list[str] = typer.Option([], "--env", "-e", help="Environment= for the unit."),
    fmt: str = typer.Option(None, "--format", help="Print the units as json."),
) -> None:
    """Generate systemd units for a container, or for a pod and its containers."""
    from pod import format as gotemplate
    from pod.errors import UsageError
    from pod.systemd import container_unit

    if stop_timeout is not None and time_alias is not None:
        raise UsageError("stop-timeout and time are redundant and cannot be used together")
    if restart_policy is not None:
        container_unit.check_restart_policy(restart_policy)
    if fmt is not None and fmt != "" and not gotemplate.is_json(fmt):
        raise UsageError(f"unknown --format argument: {fmt}")
    options = container_unit.GenerateOptions(
        new=new or template, use_name=use_name, template=template, no_header=no_header,
        container_prefix=container_prefix, separator=separator,
        restart_policy=restart_policy, restart_sec=restart_sec, start_timeout=start_timeout,
        stop_timeout=stop_timeout if stop_timeout is not None else time_alias,
        wants=list(wants), after=list(after), requires=list(requires), env=_split_env(env),
        pod_prefix=pod_prefix,
    )  # fmt: skip
    output = _units(target, options)
    if files:
        output = {name: _write_unit(name, text) for name, text in output.items()}
    if fmt:
        # podman: MarshalIndent(map, "", " "), a Go map's keys sorted
        print(gotemplate.to_json(dict(sorted(output.items())), 1, escape_html=True))
        return
    for text in output.values():
        print(text if not files else text + "\n", end="")


def _units(target: str, options: GenerateOptions) -> dict[str, str]:
    """Service name → unit text: the container's unit, or the pod's and its containers'."""
    from pod import __version__
    from pod.commands.progress import QuietReporter
    from pod.errors import NoSuchContainerError, NoSuchPodError, PodError
    from pod.pods.members import members
    from pod.store.containers import ContainerStore
    from pod.store.layout import Layout
    from pod.store.pods import PodStore
    from pod.systemd import container_unit, pod_unit, units

    settings = common.settings()
    layout = Layout(settings.root, settings.runroot)
    store = ContainerStore(layout)
    context = container_unit.UnitContext(_executable(), __version__, layout, units.unix_date())
    takes_value = _run_value_options().__contains__
    try:
        record = store.lookup(target)
    except NoSuchContainerError as container_error:
        try:
            pod = PodStore(layout).lookup(target)
        except NoSuchPodError as pod_error:
            raise PodError(
                f"{target} does not refer to a container or pod: {pod_error}: {container_error}"
            ) from None
        made = pod_unit.pod_units(
            pod, members(store, pod), options, context, takes_value,
            _pod_create_value_options().__contains__, QuietReporter(),
        )  # fmt: skip
    else:
        made = [container_unit.container_unit(record, options, context, takes_value,
                                              QuietReporter())]  # fmt: skip
    return {unit.service_name: units.render(unit) for unit in made}


def _write_unit(name: str, text: str) -> str:
    """NAME.service in the current directory, written atomically; its path."""
    from pathlib import Path

    from pod.store.lock import atomic_write

    path = Path.cwd() / f"{name}.service"
    atomic_write(path, text.encode(), mode=0o644)
    return str(path)


def register(app: typer.Typer, image_app: typer.Typer) -> None:
    app.add_typer(generate_app, name="generate", rich_help_panel="Containers")

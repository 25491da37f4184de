"""The body of `pod run` and `pod create`, without typer: the typer command
(pod.commands.containers) and the typer-free fast path (pod.commands.fastpath) both call it with
the command's parameters by name, so a start does not pay for importing and building the CLI's
~150 run flags (~40 ms) unless the command line needs typer to parse it."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from pod.commands import common

if TYPE_CHECKING:
    from pod.container.options import ResourceLimits

# podman's warning for `run -it` when stdin is no terminal (a file, a pipe, /dev/null)
NOT_A_TTY = (
    "The input device is not a TTY. The --tty and --interactive flags might not work properly"
)


def run(**params: Any) -> int:
    """`pod run`: the container's exit code attached, 0 detached."""
    return run_or_create(params, creating=False)


def create(**params: Any) -> int:
    """`pod create`: prints the new container's ID."""
    return run_or_create(params, creating=True)


def run_or_create(params: dict[str, Any], creating: bool) -> int:
    """Create (and, unless `creating`, run) the container the run/create flags describe."""
    from pod.commands.progress import reporter_for
    from pod.container.request import run_options
    from pod.errors import UsageError

    quiet = params["quiet"]
    options = run_options(
        params, creating=creating, rootless=common.settings().rootless,
        reporter=reporter_for(quiet),
    )  # fmt: skip
    options.resources = _supported_limits(options.resources)
    options.create_command = common.command_line()
    pod_name = params["pod"]
    if params["pod_id_file"]:
        if pod_name:
            raise UsageError("cannot specify both --pod and --pod-id-file")
        pod_name = common.read_pod_id_file(params["pod_id_file"])
    if pod_name:
        network_given = bool(params["network"] or params["network_alias"] or params["ip"])
        options = _join_pod(options, pod_name, network_given, creating, quiet)
    return _run(options, creating, quiet)


def _join_pod(options, text: str, network_given: bool, creating: bool, quiet: bool):
    """The options for a container of the pod `text` (new:NAME: a pod made here, with the
    ports and network asked for, as podman does); `run` starts the pod's infra first."""
    from pod.commands.progress import reporter_for
    from pod.pods.members import join_options
    from pod.store.layout import Layout
    from pod.store.pods import PodStore
    from pod.util.records import replace

    settings = common.settings()
    reporter = reporter_for(quiet)
    if text.startswith("new:"):
        from pod.pods.create import create_pod
        from pod.pods.options import PodOptions

        record = create_pod(
            settings,
            PodOptions(
                name=text.removeprefix("new:"),
                publish=list(options.publish),
                network_mode=options.network_mode if network_given else None,
                create_command=["pod", *sys.argv[1:]],
            ),
            reporter,
        )
        options = replace(options, publish=[])
        network_given = False
    else:
        record = PodStore(Layout(settings.root, settings.runroot)).lookup(text)
    joined = join_options(options, record, network_given)
    if not creating:
        from pod.pods.lifecycle import ensure_infra_running

        ensure_infra_running(settings, record.id, reporter)
    return joined


def _supported_limits(resources: ResourceLimits) -> ResourceLimits:
    """Rootless, limits need a delegated cgroup v2 tree; without one they are dropped with one
    warning line, as podman does (never silently)."""
    if not resources.cgroup_limits or not common.settings().rootless:
        return resources
    from pod.runtime import cgroups

    if cgroups.rootless_limits_supported():
        return resources
    if cgroups.is_pure_v2():
        common.warn(
            "Resource limits are not supported and ignored: the user's cgroup v2 tree is not "
            "delegated (see systemd's Delegate=)"
        )
    else:  # podman prints this one as a plain line, not a WARN[...] one
        print(
            "Resource limits are not supported and ignored on cgroups V1 rootless systems",
            file=sys.stderr,
        )
    return resources.without_cgroup_limits()


def _run(options, creating: bool, quiet: bool) -> int:
    """create, or run (pod.container.run): detached, the ID; attached, the exit code.

    `run` starts the containers the new one depends on first; attached with -a, the streams
    not named are not shown; with --rmi, the image is removed afterwards unless in use."""
    from pod.commands.progress import reporter_for
    from pod.container import run

    settings = common.settings()
    reporter = reporter_for(quiet)
    if creating:
        print(run.create(settings, options, reporter).id)
        return 0
    if options.tty and options.interactive and not sys.stdin.isatty():
        reporter.warning(NOT_A_TTY)
    from pod.container.create import dependency_ids
    from pod.container.start import start_dependencies
    from pod.store.containers import ContainerStore
    from pod.store.layout import Layout
    from pod.systemd import notify

    store = ContainerStore(Layout(settings.root, settings.runroot))
    start_dependencies(settings, dependency_ids(store, options), reporter)
    notify_socket = notify.take_socket()
    with _only_streams(options.attach if not options.tty else []):
        record, code = run.run(settings, options, reporter, common.take_early_worker())
    if options.detach:
        from pod.container.start import announce

        announce(store.layout, record, notify_socket)
        print(record.id)
    elif options.remove_image:
        from pod.image.remove import remove_images

        remove_images(settings, [options.image])  # in use, or named otherwise: kept, quietly
    return code or 0


@contextlib.contextmanager
def _only_streams(streams: list[str]) -> Iterator[None]:
    """-a stdout / -a stderr: the other output stream goes nowhere while the container runs."""
    hidden = [fd for fd, name in ((1, "stdout"), (2, "stderr")) if streams and name not in streams]
    saved = []
    for fd in hidden:
        (sys.stdout if fd == 1 else sys.stderr).flush()
        saved.append((fd, os.dup(fd)))
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, fd)
        os.close(null)
    try:
        yield
    finally:
        for fd, copy in saved:
            os.dup2(copy, fd)
            os.close(copy)

"""A RUN step: a real container (pod's runtime or runc, rootless in the user's namespace) on
the stage's layers, supervised by a shim like any `pod run`; its upper dir becomes the layer.

The container is marked as a build container (hidden from `ps` unless --external) and removed
whatever happens, so a failed or interrupted step leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator

from pod.builder.options import BuildOptions
from pod.builder.working import WorkingImage
from pod.config import Settings
from pod.container.options import MountSpec, ResourceLimits, RunOptions
from pod.errors import BuildStepError, PodError
from pod.image.writer import ImageLayer
from pod.reporter import Reporter
from pod.store.layout import Layout
from pod.util.records import dataclass, field

BUILD_PID_LABEL = "io.pod.build.pid"


@dataclass
class RunRequest:
    argv: list[str]
    env: list[str] = field(default_factory=list)  # KEY=VALUE: build args in scope
    mounts: list[MountSpec] = field(default_factory=list)  # RUN --mount, after --volume
    network: str | None = None  # RUN --network, else the build's --network


@contextlib.contextmanager
def _output_discarded(discard: bool) -> Iterator[None]:
    """`build -q`: the step's output goes nowhere (the shim client writes to fds 1 and 2)."""
    sys.stdout.flush()
    sys.stderr.flush()
    if not discard:
        yield
        return
    saved = [os.dup(1), os.dup(2)]
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)


def _run_options(work: WorkingImage, request: RunRequest, options: BuildOptions, rootless: bool):
    from pod.network.modes import NetworkFlags, parse_network

    network = request.network or options.network
    mode = parse_network(NetworkFlags(network=[network] if network else []), rootless)
    return RunOptions(
        image=work.key,
        command=request.argv,
        entrypoint=[],
        env=request.env,
        mounts=[*options.volumes, *request.mounts],
        runtime=options.runtime,
        network=mode.kind,
        network_mode=mode,
        pull="never",
        resources=ResourceLimits(ulimits=list(options.ulimits)),
        builder=True,
        labels={BUILD_PID_LABEL: str(os.getpid())},  # a killed build's leftovers are found
    )


def _mount_destinations(layout: Layout, container_id: str) -> list[str]:
    bundle = json.loads(layout.container(container_id).config.read_bytes())
    return [str(m.get("destination", "")) for m in bundle.get("mounts", [])]


def run_step(
    settings: Settings,
    work: WorkingImage,
    request: RunRequest,
    options: BuildOptions,
    reporter: Reporter,
) -> ImageLayer | None:
    """Run `request` on `work` and return the layer it made (None: it changed nothing).

    The shim reports the exit only after it has unmounted the rootfs, so the upper dir is
    free once `attach` returns (the shim's network tidy-up may still be running)."""
    from pod.container.create import BaseImage, create_container
    from pod.container.remove import remove_container
    from pod.container.run import Attachment, launch
    from pod.image.layer_commit import commit_upper, created_mount_points

    layout = Layout(settings.root, settings.runroot)
    run_options = _run_options(work, request, options, settings.rootless)
    record = create_container(
        settings, run_options, reporter, BaseImage(work.as_record(), work.config)
    )
    try:
        with _output_discarded(options.quiet):
            code = launch(layout, record, Attachment(), reporter)
        if code:
            raise BuildStepError(f"while running runtime: exit status {code}", code)
        exclude = created_mount_points(
            work.layer_dirs(layout), _mount_destinations(layout, record.id)
        )
        return commit_upper(
            layout,
            layout.container(record.id).upper,
            work.layers,
            rootless=settings.rootless,
            timestamp=options.timestamp,
            exclude=exclude,
        )
    finally:
        with contextlib.suppress(PodError, OSError):
            remove_container(settings, record.id, force=True, timeout=0)

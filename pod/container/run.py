"""The one way a container runs: its shim started and, attached, this process's stdio joined to
it until the container exits. `pod run`, `pod start` and a build's RUN steps all come here.

Detached, the shim creates and starts the container before it answers. A container `pod init`
made has its shim already, waiting: it is only sent START (attached or not). Attached, the shim
creates it and waits: this process connects to the attach socket first (so no output is lost)
and then sends START; the lifeline to the shim undoes the container should this process die
before that. Attached, this process also does the end of the run (it waits for it anyway, with
the modules it needs already loaded); should it die first, the supervisor does it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pod.config import Settings
from pod.container.create import create_container
from pod.container.options import RunOptions
from pod.reporter import Reporter
from pod.shim.client import DEFAULT_DETACH_KEYS, attach, start_initialized, start_shim
from pod.store.containers import ContainerRecord
from pod.store.layout import Layout
from pod.util.records import dataclass

if TYPE_CHECKING:
    from pod.network.setup import BridgeWorker


@dataclass(frozen=True)
class Attachment:
    """How this process joins the container: stdin forwarded, a terminal, signals proxied."""

    stdin: bool = False
    tty: bool = False
    sig_proxy: bool = True
    detach_keys: str = DEFAULT_DETACH_KEYS


def launch(
    layout: Layout,
    record: ContainerRecord,
    attachment: Attachment | None,
    reporter: Reporter,
    network_worker: BridgeWorker | None = None,
    initialized: bool = False,
) -> int | None:
    """Start the container's shim. Detached (`attachment` None) the container runs at once and
    this returns None; attached it returns the exit code, or None when the detach keys were
    typed. `initialized`: its shim holds it created already (`pod init`) and only needs the
    START."""
    if attachment is None:
        if initialized:
            start_initialized(layout, record.id)
        else:
            start_shim(
                layout, record, start_now=True, reporter=reporter, network_worker=network_worker
            )
        return None
    from pod.shim import steps

    def preload() -> None:  # what attaching and the end of the run import, while we wait anyway
        import selectors  # noqa: F401 - with socket: the attach session's (`run -d` has neither)
        import socket  # noqa: F401

        steps.load_finish_modules(record.runtime)

    if not initialized:
        try:
            start_shim(
                layout, record, start_now=False, reporter=reporter,
                network_worker=network_worker, meanwhile=preload,
            )  # fmt: skip
        finally:
            if network_worker is not None:
                network_worker.reap()

    def finish(code: int, error: str) -> str:  # this process waits anyway: it does the end
        return steps.finish_as_client(layout, record.id, code, error)

    return attach(
        layout,
        record.id,
        stdin=attachment.stdin,
        tty=attachment.tty,
        sig_proxy=attachment.sig_proxy,
        detach_keys=attachment.detach_keys,
        send_start=True,
        finish=finish,
        meanwhile=preload if initialized else None,  # else loaded while the shim set up
    )


def create(
    settings: Settings,
    options: RunOptions,
    reporter: Reporter,
    network_worker: BridgeWorker | None = None,
) -> ContainerRecord:
    """`pod create` and the first half of `pod run`: the record and its bundle; --cidfile."""
    try:
        record = create_container(settings, options, reporter)
    except BaseException:
        if network_worker is not None:
            network_worker.close()
        raise
    finally:
        reporter.close()
    if options.cidfile:
        from pod.store.lock import atomic_write

        atomic_write(Path(options.cidfile), record.id.encode())
    return record


def bridge_worker(options: RunOptions, early: Any, creating: bool) -> BridgeWorker | None:
    """The worker that sets up a rootful bridge network while the container is created: the
    one pod.entry forked from a guess at argv when the parsed flags bear it out, else a new one
    (its slow imports overlap the creation)."""
    wanted = not creating and options.network == "bridge"  # network_mode's kind
    if early is not None and not wanted:
        early.close()
        early.reap()
        early = None
    if early is None and wanted:
        from pod.network.setup import BridgeWorker

        early = BridgeWorker.start()
    return early


def run(
    settings: Settings, options: RunOptions, reporter: Reporter, early_worker: Any = None
) -> tuple[ContainerRecord, int | None]:
    """`pod run`: create, then start detached or attached. The record, and the exit code when
    attached (None: detached, or the detach keys were typed)."""
    worker = bridge_worker(options, early_worker, creating=False)
    record = create(settings, options, reporter, worker)
    layout = Layout(settings.root, settings.runroot)
    attachment = None
    if not options.detach:
        attachment = Attachment(options.interactive, options.tty, options.sig_proxy)
    return record, launch(layout, record, attachment, reporter, worker)

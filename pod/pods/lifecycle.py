"""`pod pod start|stop|restart|kill|pause|unpause`: the container verbs over a pod's containers.

The infra container starts first (it holds the namespaces the others join) and stops last.
Each container's own verb (pod.container) does the work; the errors of several containers
come back together, in podman's multi-error shape.
"""

from __future__ import annotations

from collections.abc import Callable

from pod import events
from pod.config import Settings
from pod.container.state import current_state
from pod.errors import PodError
from pod.pods.members import members
from pod.reporter import Reporter
from pod.store.containers import ContainerRecord, ContainerStore
from pod.store.layout import Layout
from pod.store.pods import PodRecord, PodStore
from pod.util.records import dataclass

RUNNING = ("running", "paused", "stopping")


@dataclass
class PodContext:
    """A pod and its containers as they are on disk now."""

    layout: Layout
    store: ContainerStore
    pod: PodRecord
    containers: list[ContainerRecord]  # the infra first

    def status(self, record: ContainerRecord) -> str:
        return current_state(self.store, record).status


def load(settings: Settings, text: str) -> PodContext:
    layout = Layout(settings.root, settings.runroot)
    store = ContainerStore(layout)
    pod = PodStore(layout).lookup(text)
    return PodContext(layout, store, pod, members(store, pod))


def multi_error(errors: list[str]) -> PodError:
    """Go's multierror text, as podman prints several failures at once."""
    count = f"{len(errors)} error{'s' if len(errors) > 1 else ''} occurred"
    return PodError(count + ":\n" + "".join(f"\t* {e}\n" for e in errors))


def _for_each(
    records: list[ContainerRecord], action: Callable[[ContainerRecord], object], verb: str
) -> list[str]:
    """Act on each container; what failed, one line per container (podman's words)."""
    errors = []
    for record in records:
        try:
            action(record)
        except PodError as err:
            errors.append(f"{verb} container {record.id}: {err}")
            if record.infra and verb == "starting":  # nothing can join it: stop here
                break
    return errors


def _raise_any(errors: list[str]) -> None:
    if errors:
        raise multi_error(errors)


def ensure_infra_running(settings: Settings, pod_id: str, reporter: Reporter) -> None:
    """Start the pod's infra unless it runs (`run --pod` before its container is created:
    podman starts a container's dependencies with it, as pod.container.start does)."""
    from pod.container.start import start_container

    context = load(settings, pod_id)
    if context.pod.infra_id:
        start_container(settings, context.pod.infra_id, False, False, True, reporter)


def start_containers(settings: Settings, context: PodContext, reporter: Reporter) -> list[str]:
    """Start what is not running, the infra first; what failed, one line per container."""
    from pod.container.start import start_container

    waiting = [r for r in context.containers if context.status(r) not in RUNNING]
    errors = _for_each(
        waiting, lambda r: start_container(settings, r.id, False, False, True, reporter), "starting"
    )
    events.pod_event(settings.runroot, context.pod, "start")
    return errors


def start_pod(settings: Settings, text: str, reporter: Reporter) -> PodRecord:
    context = load(settings, text)
    if not context.containers:
        raise PodError(
            f"no containers in pod {context.pod.id} have no dependencies, cannot start pod: "
            "no such container"
        )
    _raise_any(start_containers(settings, context, reporter))
    return context.pod


def stop_pod(settings: Settings, text: str, timeout: float | None, reporter: Reporter) -> PodRecord:
    """Stop the containers together (each may take its whole timeout), then the infra;
    `timeout` None: each container's own."""
    from concurrent.futures import ThreadPoolExecutor

    from pod.container.lifecycle import stop_container

    context = load(settings, text)

    def stop(records: list[ContainerRecord]) -> list[str]:
        if not records:
            return []
        with ThreadPoolExecutor(max_workers=min(len(records), 16)) as pool:
            done = pool.map(
                lambda r: _for_each(
                    [r], lambda one: stop_container(settings, one.id, timeout, reporter), "stopping"
                ),
                records,
            )
            return [line for lines in done for line in lines]

    errors = stop([r for r in context.containers if not r.infra])
    errors += stop([r for r in context.containers if r.infra])
    _raise_any(errors)
    events.pod_event(settings.runroot, context.pod, "stop")
    return context.pod


def restart_pod(
    settings: Settings, text: str, timeout: float | None, reporter: Reporter
) -> PodRecord:
    stop_pod(settings, text, timeout, reporter)
    return start_pod(settings, text, reporter)


def kill_pod(settings: Settings, text: str, signal_text: str) -> PodRecord:
    """Signal every running container, the infra last (none running: nothing to do, as
    podman)."""
    from pod.container.lifecycle import kill_container

    context = load(settings, text)
    running = [r for r in reversed(context.containers) if context.status(r) in RUNNING]
    _raise_any(_for_each(running, lambda r: kill_container(settings, r.id, signal_text), "killing"))
    events.pod_event(settings.runroot, context.pod, "kill")
    return context.pod


def pause_pod(settings: Settings, text: str, pause: bool) -> PodRecord:
    """Freeze (or thaw) every running (or paused) container of the pod."""
    from pod.container import pause as freezer

    context = load(settings, text)
    wanted = "running" if pause else "paused"
    targets = [r for r in context.containers if context.status(r) == wanted]
    action = freezer.pause if pause else freezer.unpause
    _raise_any(
        _for_each(targets, lambda r: action(settings, r.id), "pausing" if pause else "unpausing")
    )
    events.pod_event(settings.runroot, context.pod, "pause" if pause else "unpause")
    return context.pod

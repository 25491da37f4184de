"""`pod pod rm` and `pod pod prune`: a pod goes with its containers, the infra last.

The pod is held exclusively (store.pods) while it is removed, so no container joins it
meanwhile. Without --force a running container refuses the removal before anything is
removed, as podman's.
"""

from __future__ import annotations

from pod import events
from pod.config import Settings
from pod.container.remove import remove_container
from pod.errors import PodError
from pod.pods.lifecycle import RUNNING, load, multi_error, stop_pod
from pod.reporter import Reporter
from pod.store.layout import Layout
from pod.store.pods import PodStore


def remove_pod(
    settings: Settings,
    text: str,
    force: bool = False,
    timeout: float = 10,
    reporter: Reporter | None = None,
    volumes: bool = False,
) -> str:
    """Remove one pod and its containers (with `volumes`, their anonymous volumes); its ID."""
    context = load(settings, text)
    pods = PodStore(context.layout)
    with pods.removing(context.pod.id):
        context = load(settings, context.pod.id)
        if not force:
            running = [r for r in context.containers if context.status(r) in RUNNING]
            if running:
                raise multi_error(
                    [
                        f"removing container {r.id} from pod {context.pod.id}: cannot remove "
                        f"container {r.id} as it is {context.status(r)} - running or paused "
                        "containers cannot be removed without force: container state improper"
                        for r in running
                        if not r.infra
                    ]
                    or [f"pod {context.pod.id} is running: container state improper"]
                )
        elif any(context.status(r) in RUNNING for r in context.containers):
            stop_pod(settings, context.pod.id, timeout, reporter or Reporter())  # all at once
        errors = []
        for record in reversed(context.containers):  # the infra last
            try:
                remove_container(
                    settings, record.id, True, volumes, timeout, reporter, with_pod=True
                )
            except PodError as err:
                errors.append(f"removing container {record.id} from pod {context.pod.id}: {err}")
        if errors:
            raise multi_error(errors)
        pods.remove(context.pod.id)
    events.pod_event(settings.runroot, context.pod, "remove")
    return context.pod.id


def prune_pods(settings: Settings, reporter: Reporter | None = None) -> list[str]:
    """Remove every pod with no running container; their IDs."""
    removed = []
    for pod in PodStore(Layout(settings.root, settings.runroot)).list():
        context = load(settings, pod.id)
        if any(context.status(r) in RUNNING for r in context.containers):
            continue
        removed.append(remove_pod(settings, pod.id, reporter=reporter))
    return removed

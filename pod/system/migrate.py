"""`pod system migrate`: what podman's does that applies to pod's store.

podman stops every running container (so that a rootless user's new /etc/subuid ranges take
effect with the next start: pod makes a container's user namespace at each start, so that is
all it needs) and, with --new-runtime, moves every container to another OCI runtime. pod's
records need no conversion between versions. toolbox runs this whenever the engine's version
changes.
"""

from __future__ import annotations

from pod.config import Settings
from pod.container.lifecycle import all_ids, stop_container
from pod.reporter import Reporter
from pod.store.containers import ContainerStore
from pod.store.layout import Layout


def migrate(settings: Settings, new_runtime: str | None, reporter: Reporter) -> None:
    for container_id in all_ids(settings, running_only=True):
        stop_container(settings, container_id, None, reporter)
    if not new_runtime:
        return
    from pod.runtime import runtime_for

    runtime_for(new_runtime)  # a runtime that cannot be found moves nothing
    store = ContainerStore(Layout(settings.root, settings.runroot))
    for record in store.list():
        if record.runtime != new_runtime:
            record.runtime = new_runtime
            store.rewrite(record)  # under the store's lock, atomically

"""`pod export`: a container's root file system as stored, as one tar stream (podman exports
its storage mount: no volumes, no kernel file systems, the owners as they are). The file work
is `pod cp`'s container side (pod.container.cp_sides) asked for the rootfs alone: a stopped
container's rootfs is mounted for the export, a running one's read where its shim mounted it;
rootless, inside the container's user namespace."""

from __future__ import annotations

import os
import sys
from typing import Any

from pod.container.cp_sides import Get, open_container, read_facts
from pod.errors import NoSuchContainerError
from pod.reporter import Reporter
from pod.util import records


def export(settings: Any, name: str, output: str | None, reporter: Reporter | None = None) -> None:
    """Write the container `name`'s file system to `output` (a file), or to stdout."""
    from pod.container.lifecycle import engine_error
    from pod.store.containers import ContainerStore
    from pod.store.layout import Layout

    layout = Layout(settings.root, settings.runroot)
    store = ContainerStore(layout)
    try:
        record = store.lookup(name)
    except NoSuchContainerError as err:
        raise engine_error(err) from None
    facts = records.replace(read_facts(layout, store, record, name), binds={}, rootfs_only=True)
    warn = (reporter or Reporter()).warning
    with open_container(layout, store, record, facts, warn) as side:
        if output is None:
            sys.stdout.flush()
            fd = os.dup(sys.stdout.fileno())
        else:
            fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        side.get(Get("", ""), fd)

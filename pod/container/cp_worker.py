"""The rootless side of `pod cp`: `python -m pod.container.cp_worker`, a session worker.

Its first request ("open") says which container: a running one's shim's user namespace is
joined and its root opened through /proc/<pid>/root; for a stopped one the worker is already
root of a fresh namespace with the user's mapping, unshares a mount namespace and mounts the
rootfs there (gone when the worker exits). `pod export` asks for the rootfs alone: a running
container's as its shim mounted it. Then "stat", "get", "put" and "copy" requests are
answered as pod.container.cp_sides.ContainerSide does in-process for rootful containers.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Any

from pod.container.cp_sides import ContainerFacts, ContainerSide, Get, Put
from pod.container.cp_tar import Tree
from pod.errors import PodError
from pod.util.records import asdict

_open: dict[str, ContainerSide] = {}


def _join_shim(shim_pid: int, name: str) -> None:
    """Become root of the running container's shim's user namespace (the container's own)."""
    from pod.runtime import syscalls
    from pod.runtime.exec import join_user_namespace
    from pod.util.libc import die_with_parent
    from pod.util.userns import parent_pid

    try:
        user_fd = os.open(f"/proc/{shim_pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise PodError(f"container {name} stopped while copying: try again") from None
    try:
        join_user_namespace(syscalls.Syscalls(), user_fd)
        with contextlib.suppress(OSError):
            os.setgroups([])
    finally:
        os.close(user_fd)
    if not die_with_parent(parent_pid(sys.argv[1:])):  # the new credentials cleared it
        raise PodError("the pod cp that started this worker is gone")


def _open_side(request: dict[str, Any]) -> ContainerSide:
    from pod.container import rootfs as rootfs_mount

    facts = ContainerFacts.from_json(request["facts"])
    what = f"container {facts.name}"
    if facts.pid:
        _join_shim(facts.shim_pid, facts.name)
        root = f"/proc/{facts.pid}/root"
        if facts.rootfs_only:  # as the shim mounted it, in the shim's mount namespace
            root = f"/proc/{facts.shim_pid}/root{rootfs_mount.merged_dir(Path(facts.directory))}"
        try:
            root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
        except (FileNotFoundError, ProcessLookupError):
            raise PodError(f"{what} stopped while copying: try again") from None
        return ContainerSide(Tree(root_fd, {}, container=not facts.rootfs_only), facts)
    from pod.store.containers import ContainerStore
    from pod.store.layout import Layout

    layout = Layout(Path(request["root"]), Path(request["runroot"]))
    record = ContainerStore(layout).lookup(facts.id)
    directory = layout.container_dir(record.id)
    rootfs_mount.private_mount_namespace()
    rootfs_mount.mount(layout, record, directory)
    root_fd = os.open(rootfs_mount.merged_dir(directory), os.O_RDONLY | os.O_DIRECTORY)
    return ContainerSide(Tree(root_fd, facts.binds, container=not facts.rootfs_only), facts)


def handle(request: dict[str, Any], fds: list[int]) -> Any:
    """One request of the session (see the module's docstring)."""
    op = request.pop("op")
    if op == "open":
        _open["side"] = _open_side(request)
        return {}
    side = _open["side"]
    if op == "stat":
        return asdict(side.stat(request["path"]))
    if op == "get":
        side.get(Get(**request), fds[0])
        return {}
    if op == "put":
        side.put(Put(**request), fds[0])
        return {}
    if op == "copy":
        side.copy_within(Get(**request["get"]), Put(**request["put"]))
        return {}
    raise PodError(f"cp worker: unknown operation {op!r}")


if __name__ == "__main__":
    from pod.util.userns import serve_session

    serve_session(handle, sys.argv[1:])

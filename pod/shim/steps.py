"""The heavy steps a container's shim shares between its processes: the container's record
and state, its runtime, and the end of a run (record the exit, delete, unmount, remove, tidy).

pod.shim.setup uses them while it sets up; the supervisor imports this module only when the
container is gone for good, at the end of its own life.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Any

from pod import events
from pod.errors import NoSuchContainerError, PodError
from pod.store.containers import ContainerRecord, ContainerStore
from pod.store.layout import Layout
from pod.store.lock import locked, read_json

TIDY_GRACE = 1.0  # seconds a finished `run --rm` leaves its unused bridge for the next start


def load_runtime(name: str) -> Any:
    """The runtime object (create/start/state/kill/delete) for a record's `runtime`."""
    try:
        from pod.runtime import runtime_for

        return runtime_for(name)
    except ImportError as err:
        raise PodError(f"OCI runtime {name!r} is not available: {err}") from None


def load(
    root: str, runroot: str, container_id: str
) -> tuple[Layout, ContainerStore, ContainerRecord]:
    """(layout, store, record) of the container the shim serves."""
    layout = Layout(Path(root), Path(runroot))
    store = ContainerStore(layout)
    data = read_json(store.record_file(container_id))
    if not data:
        raise NoSuchContainerError(
            f'no container with ID "{container_id}" found: no such container'
        )
    record = ContainerRecord.from_dict(data)
    events.configure(record.events_backend or None)  # where the creating command's went
    return layout, store, record


def update_state(
    store: ContainerStore, container_id: str, *, durable: bool = True, **changes: Any
) -> None:
    """Read-modify-write state.json under the container's lock; a removed container stays so.
    `durable=False` for the steps of a start (the shim's pid, created, running): after a crash
    the older state is as true, since no container outlives the machine."""
    with locked(store.container_lock(container_id)):
        if not store.record_file(container_id).exists():
            return
        state = store.read_state(container_id)
        for name, value in changes.items():
            setattr(state, name, value)
        store.write_state(container_id, state, durable=durable)


def error_answer(err: BaseException) -> dict:
    if isinstance(err, PodError):
        name, code, message = type(err).__name__, err.exit_code, str(err)
    elif isinstance(err, OSError):
        where = f": {err.filename}" if err.filename else ""
        name, code, message = "PodError", 125, f"{err.strerror or err}{where}"
    else:
        name, code, message = "PodError", 125, f"{type(err).__name__}: {err}"
    return {"error": {"type": name, "message": message, "exit_code": code}}


def start_in_runtime(
    layout: Layout, store: ContainerStore, record: ContainerRecord, **state: Any
) -> None:
    """The runtime's start; the state says running (with `state` changes in the same write)."""
    from pod.container.state import runtime_state_root

    runtime = load_runtime(record.runtime)
    runtime.start(runtime_state_root(layout, record.runtime), record.id)
    update_state(store, record.id, durable=False, status="running", started_at=time.time(), **state)
    events.container_event(layout.runroot, record, "start")


def finish_container(
    layout: Layout,
    store: ContainerStore,
    record: ContainerRecord,
    code: int,
    error: str,
    never_started: bool = False,
) -> None:
    """Record the exit, delete the runtime's container, unmount; with --rm remove it all.

    `never_started`: the container was created for a client that died before its START; it
    is left as `pod create` leaves one (or removed, with --rm)."""
    from pod.container import rootfs
    from pod.container.state import runtime_state_root
    from pod.network.plan import release
    from pod.network.setup import disconnect
    from pod.runtime.cgroups import bundle_oom_killed

    directory = layout.container_dir(record.id)
    if never_started:
        update_state(store, record.id, status="configured", pid=0, shim_pid=0, shim_start_time=0)
    else:  # OOM is read from the container's cgroup, before runtime.delete removes it
        update_state(  # durable unless it is removed next (--rm)
            store, record.id, durable=not record.remove, status="exited", exit_code=code,
            error=error, pid=0,
            finished_at=time.time(), oom_killed=bundle_oom_killed(directory, record.id, code),
        )  # fmt: skip
        events.container_event(layout.runroot, record, "died", exit_code=code)
    problems = []
    try:
        runtime = load_runtime(record.runtime)
        runtime.delete(runtime_state_root(layout, record.runtime), record.id, force=True)
    except Exception as err:
        problems.append(f"deleting the container in its runtime: {err}")
    problems += disconnect(layout, record)
    try:
        rootfs.unmount(directory)
    except OSError as err:
        problems.append(f"unmounting the rootfs: {err.strerror or err}")
    if not never_started:
        events.container_event(layout.runroot, record, "cleanup")
    if record.remove and not os.path.ismount(rootfs.merged_dir(directory)):
        with locked(store.container_lock(record.id)):
            release(layout, record.id, record.networks)
            store.remove_files(record.id)
        events.container_event(layout.runroot, record, "remove")
    elif problems and not error:
        update_state(store, record.id, error="; ".join(problems))
    if record.pod and not record.infra and not never_started:
        from pod.pods.exit_policy import stop_if_only_infra_remains

        stop_if_only_infra_remains(layout, store, record)


# What finish_container imports as it goes, besides the runtime
FINISH_MODULES = (
    "pod.container.rootfs", "pod.container.state", "pod.network.plan", "pod.network.setup",
    "pod.runtime.cgroups", "pod.util.libc",
)  # fmt: skip


def load_ahead(names: tuple[str, ...], runtime: str) -> None:
    """Import `names` and the runtime's modules now, where the caller would only wait."""
    import importlib

    for name in names:
        importlib.import_module(name)
    load_runtime(runtime)


def load_finish_modules(runtime: str) -> None:
    """Import what the end of a run needs ahead of it, where the caller only waits (an attached
    `pod run` while its shim sets the container up, `pod stop` after its signal), so the end
    does not wait ~15 ms for imports."""
    import shutil  # noqa: F401 - store.remove_files' rmtree, for --rm

    load_ahead(FINISH_MODULES, runtime)


def finish_as_client(layout: Layout, container_id: str, code: int, error: str) -> str:
    """The end of the run, done by the client the supervisor handed it to (FINISH): "" or what
    went wrong (the supervisor then does it). Rootless, the rootfs is mounted in the shim's
    own mount namespace: a child joins the shim's user and mount namespaces to do it there."""
    try:
        store = ContainerStore(layout)
        record = store.lookup(container_id)
        if not record.rootless:
            finish_container(layout, store, record, code, error)
            return ""
        shim_pid = store.read_state(container_id).shim_pid
        return _in_namespaces_of(shim_pid, lambda: finish_container(layout, store, record, code,
                                                                      error))  # fmt: skip
    except Exception as err:
        return str(error_answer(err)["error"]["message"])


def _in_namespaces_of(pid: int, work: Any) -> str:
    """Run `work` in a child that joined `pid`'s user and mount namespaces: "" or its error.
    The child closes its end of the answer before it exits: the answer does not wait for the
    exit of a forked CLI (~3 ms), which the caller's own exit soon follows."""
    from pod.util import libc

    namespaces = [os.open(f"/proc/{pid}/ns/{kind}", os.O_RDONLY | os.O_CLOEXEC)
                  for kind in ("user", "mnt")]  # fmt: skip
    read_end, write_end = os.pipe()
    try:
        child = os.fork()
        if child == 0:
            message = b""
            try:
                libc.setns(namespaces[0], libc.CLONE_NEWUSER)
                libc.setns(namespaces[1], libc.CLONE_NEWNS)
                work()
            except BaseException as err:
                message = str(error_answer(err)["error"]["message"]).encode() or b"failed"
            os.write(write_end, message)
            os.close(write_end)
            os._exit(0)
        os.close(write_end)
        write_end = -1
        with open(read_end, "rb") as answer:
            read_end = -1
            message = answer.read()
        os.waitpid(child, os.WNOHANG)  # reaped now if it has ended, else by whoever inherits it
        return message.decode(errors="replace")
    finally:
        for fd in (*namespaces, read_end, write_end):
            if fd >= 0:
                os.close(fd)


def tidy(layout: Layout, grace: float = 0.0) -> None:
    """The network parts nothing uses any more (pod.network.setup.tidy); never raises: nobody
    is left to tell, and a later command tidies again."""
    from pod.network.setup import tidy

    with contextlib.suppress(Exception):
        tidy(layout, grace=grace)


def finish_step(
    root: str, runroot: str, container_id: str, code: int, error: str, never_started: bool
) -> str:
    """The supervisor's last step before it tells its clients: "" or what went wrong."""
    try:
        finish_container(*load(root, runroot, container_id), code, error, never_started)
    except BaseException as err:
        return str(error_answer(err)["error"]["message"])
    return ""


def tidy_step(root: str, runroot: str, container_id: str) -> None:
    """After the clients have the exit. A `run --rm` container is gone already: its bridge may
    be wanted again at once by the next `run --rm` of a script; `pod rm` (record still there)
    waits for us, so nothing is kept for it."""
    layout = Layout(Path(root), Path(runroot))
    removed = not layout.container_dir(container_id).exists()
    tidy(layout, grace=TIDY_GRACE if removed else 0.0)

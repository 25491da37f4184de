"""`pod exec`: run one more process in a running container, as podman exec does.

No daemon and no shim round trip: this process asks the container's runtime (pod's own, or
runc/crun) to start the process and becomes its parent (PR_SET_CHILD_SUBREAPER: the runtime's
intermediate stages exit and the process is reparented here), so its stdio are ours and its exit
status is ours to wait for. With -t the runtime sends the pty master on a console socket, as
for `run`, and this process relays it. With -d nothing waits: the process is left to init.

The process is the container's own (config.json) with podman's changes: the command, -e on top
of the container's environment, -w, -u (resolved from the image's own /etc/passwd and
/etc/group, never the host's) and podman's capability rules for exec.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import json
import os
import selectors
import signal
import socket
import struct
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pod import events
from pod.config import Settings
from pod.container import user as passwd
from pod.container.state import current_state
from pod.errors import NoSuchContainerError, PodError
from pod.store.containers import ContainerRecord, ContainerState, ContainerStore
from pod.store.layout import Layout
from pod.util.records import dataclass, field

_TIOCSWINSZ = 0x5414
_CONSOLE_TIMEOUT = 30.0
_CAPTURE_LIMIT = 1 << 16  # bytes of a captured process's output kept


@dataclass
class ExecOptions:
    """What the user asked for (flags already parsed)."""

    command: list[str]
    env: list[str] = field(default_factory=list)
    user: str | None = None
    workdir: str | None = None
    interactive: bool = False
    tty: bool = False
    detach: bool = False
    privileged: bool = False
    detach_keys: bytes = b""  # typed into a -it session: leave the process running, return
    preserve_fds: int = 0  # this process's fds 3..3+N-1 are passed on to the process


def find_container(store: ContainerStore, text: str | None, latest: bool) -> ContainerRecord:
    """By name or ID (podman exits 125 for exec when there is none), or the latest created."""
    if latest:
        records = store.list()
        if not records:
            raise PodError("no containers to exec in: no such container")
        return max(records, key=lambda r: r.created)
    try:
        return store.lookup(text or "")
    except NoSuchContainerError as err:
        raise PodError(str(err)) from None


# --- the process -------------------------------------------------------------------------------


def merge_env(base: list[str], extra: list[str]) -> list[str]:
    """podman's ReplaceOrAppendEnvValues: a name set again replaces the value in its place."""
    merged: dict[str, str] = {}
    for item in (*base, *extra):
        key, _, value = item.partition("=")
        merged[key] = value
    return [f"{key}={value}" for key, value in merged.items()]


def exec_capabilities(
    container: dict[str, list[str]],
    *,
    uid: int,
    same_user: bool,
    privileged: bool,
    host_bounding: list[str],
) -> dict[str, list[str]]:
    """podman's setProcessCapabilitiesExec: --privileged bounds by everything the host allows;
    root gets the bounding set; the container's own user gets the container's effective set."""
    caps = {kind: list(container.get(kind) or []) for kind in
            ("bounding", "effective", "inheritable", "permitted", "ambient")}  # fmt: skip
    caps["bounding"] = list(host_bounding) if privileged else caps["bounding"]
    caps["inheritable"] = []
    if uid == 0:
        caps["effective"] = caps["permitted"] = list(caps["bounding"])
    elif same_user:
        effective = list(container.get("effective") or [])
        caps.update(effective=effective, inheritable=effective, permitted=effective,
                    ambient=effective)  # fmt: skip
    return caps


def exec_process_spec(
    container: dict[str, Any],
    options: ExecOptions,
    user: passwd.ResolvedUser | None,
    *,
    host_bounding: list[str],
    console_size: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """The process object for the runtime: the container's process with the exec's changes."""
    process = copy.deepcopy(container)
    process["args"] = list(options.command)
    process["terminal"] = options.tty
    process.pop("consoleSize", None)
    if options.tty and console_size:
        process["consoleSize"] = {"height": console_size[0], "width": console_size[1]}
    process["env"] = merge_env(list(process.get("env") or []), options.env)
    if options.workdir:
        process["cwd"] = options.workdir
    own = process.get("user") or {}
    if user is not None:
        process["user"] = {"uid": user.uid, "gid": user.gid, "umask": own.get("umask", 0o022)}
        if user.additional_gids:
            process["user"]["additionalGids"] = list(user.additional_gids)
        if not any(item.startswith("HOME=") for item in process["env"]):
            process["env"].append(passwd.home_env(user))
    new = process.get("user") or {}
    process["capabilities"] = exec_capabilities(
        process.get("capabilities") or {},
        uid=int(new.get("uid", 0)),
        same_user=user is None or (user.uid, user.gid) == (own.get("uid"), own.get("gid")),
        privileged=options.privileged,
        host_bounding=host_bounding,
    )
    return process


def _available_gids(pid: int) -> int | None:
    """How many gids the container's user namespace maps from 0 (None: no user namespace)."""
    try:
        lines = Path(f"/proc/{pid}/gid_map").read_text().split("\n")
    except OSError:
        return None
    ranges = sorted(tuple(int(n) for n in line.split()) for line in lines if line.strip())
    if ranges == [(0, 0, 4294967295)]:
        return None
    covered = 0
    for inside, _, count in ranges:
        if inside > covered:
            break
        covered = max(covered, inside + count)
    return covered


def _user_layers(layout: Layout, record: ContainerRecord, state: ContainerState) -> list[Path]:
    """The container's files as layers, top first: its upper dir over the image's layers."""
    paths = layout.container(record.id)
    if state.rootfs_driver == "vfs":
        return [paths.rootfs_copy]
    return [paths.upper, *(layout.layer_diff(c) for c in reversed(record.layers))]


def _resolve_user(
    layout: Layout, record: ContainerRecord, state: ContainerState, spec: str | None
) -> passwd.ResolvedUser | None:
    if not spec:
        return None
    layers = [p for p in _user_layers(layout, record, state) if p.is_dir()]
    image_passwd, image_group = passwd.account_files(layers)
    paths = layout.container(record.id)  # the container's own copies, when pod wrote them
    files = (
        paths.passwd.read_bytes() if paths.passwd.is_file() else image_passwd,
        paths.group.read_bytes() if paths.group.is_file() else image_group,
    )
    return passwd.resolve_user_from(files, spec, available_gids=_available_gids(state.pid))


def _console_size() -> tuple[int, int] | None:
    from pod.util.terminal import window_size  # only for -t

    return window_size()


# --- running it ---------------------------------------------------------------------------------


def exec_in_container(
    settings: Settings, text: str | None, options: ExecOptions, *, latest: bool = False
) -> int:
    """Run the process; its exit code (0 at once with detach)."""
    if not options.command:
        raise PodError("must provide a non-empty command to start an exec session")
    layout = Layout(settings.root, settings.runroot)
    store = ContainerStore(layout)
    record = find_container(store, text, latest)
    if options.detach:
        options.tty = False  # nobody would read the terminal
    runtime, state_root, process = _prepare(layout, store, record, options)
    fds = {"preserve_fds": options.preserve_fds} if options.preserve_fds else {}
    if options.detach:
        with open(os.devnull, "r+b") as null:
            stdio = (null.fileno(),) * 3
            runtime.exec_process(state_root, record.id, process, stdio=stdio, detach=True, **fds)
        events.container_event(settings.runroot, record, "exec")
        return 0
    from pod.runtime.exec import forwarding_signals, wait_for
    from pod.runtime.syscalls import PR_SET_CHILD_SUBREAPER, prctl

    prctl(PR_SET_CHILD_SUBREAPER, 1)
    if not options.tty:
        with open(os.devnull, "rb") as null:
            stdio = (0 if options.interactive else null.fileno(), 1, 2)
            pid = runtime.exec_process(state_root, record.id, process, stdio=stdio, **fds)
        events.container_event(settings.runroot, record, "exec")
        code = wait_for(pid)
    else:
        with _console_socket() as (listener, path):
            pid = runtime.exec_process(state_root, record.id, process, console_socket=path, **fds)
            master = _receive_master(listener)
        events.container_event(settings.runroot, record, "exec")
        try:
            with forwarding_signals(pid):
                keys = options.detach_keys if options.interactive else b""
                code = TerminalRelay(master, pid, options.interactive, keys).run()
        finally:
            os.close(master)
    events.container_event(settings.runroot, record, "exec_died", exit_code=code)
    return code


def _prepare(
    layout: Layout, store: ContainerStore, record: ContainerRecord, options: ExecOptions
) -> tuple[Any, Path, dict[str, Any]]:
    """(runtime, its state root, the process) for a new process in a running container."""
    from pod.container.state import runtime_state_root
    from pod.runtime import runtime_for
    from pod.util.capabilities import host_bounding_set

    state = current_state(store, record)
    if state.status != "running" or not state.pid:
        raise PodError(
            "can only create exec sessions on running containers: container state improper"
        )
    config = json.loads(layout.container(record.id).config.read_bytes())
    container_process = config.get("process") or {}
    if record.secrets:  # env secrets are in the runtime's copy only (pod.container.secret_files)
        from pod.container import secret_files

        secrets = secret_files.environment(layout, record)
        env = list(container_process.get("env") or [])
        container_process["env"] = secret_files.with_environment(env, secrets)
    process = exec_process_spec(
        container_process,
        options,
        _resolve_user(layout, record, state, options.user),
        host_bounding=host_bounding_set(),
        console_size=_console_size() if options.tty else None,
    )
    return runtime_for(record.runtime), runtime_state_root(layout, record.runtime), process


def exec_captured(
    layout: Layout,
    store: ContainerStore,
    record: ContainerRecord,
    command: list[str],
    timeout: float,
) -> tuple[int, str]:
    """Run `command` in the container with its stdout and stderr captured (a health check):
    (exit code, output). At `timeout` seconds (0: none) it is killed and the code is 1."""
    from pod.runtime.exec import wait_for
    from pod.runtime.syscalls import PR_SET_CHILD_SUBREAPER, prctl

    runtime, state_root, process = _prepare(layout, store, record, ExecOptions(command))
    prctl(PR_SET_CHILD_SUBREAPER, 1)  # the process is reparented here: its status is ours
    read_end, write_end = os.pipe()
    try:
        with open(os.devnull, "rb") as null:
            stdio = (null.fileno(), write_end, write_end)
            pid = runtime.exec_process(state_root, record.id, process, stdio=stdio)
    finally:
        os.close(write_end)
    output = bytearray()
    deadline = time.monotonic() + timeout if timeout else None
    timed_out = False
    with open(read_end, "rb", buffering=0) as pipe, selectors.DefaultSelector() as selector:
        selector.register(pipe, selectors.EVENT_READ)
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                timed_out = True
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                break
            if not selector.select(left):
                continue
            data = pipe.read(65536)
            if not data:
                break
            output += data[: max(0, _CAPTURE_LIMIT - len(output))]
    code = wait_for(pid)
    text = output.decode(errors="replace")
    if timed_out:
        return 1, text + f"Timed out after {timeout:g}s"
    return code, text


@contextlib.contextmanager
def _console_socket() -> Iterator[tuple[socket.socket, Path]]:
    """A listening unix socket in a fresh private directory (runc's console socket)."""
    directory = tempfile.mkdtemp(prefix="pod-exec-console-")
    path = Path(directory) / "console.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(str(path))
        listener.listen(1)
        yield listener, path
    finally:
        listener.close()
        with contextlib.suppress(OSError):
            path.unlink()
        with contextlib.suppress(OSError):
            os.rmdir(directory)


def _receive_master(listener: socket.socket) -> int:
    listener.settimeout(_CONSOLE_TIMEOUT)
    try:
        conn, _ = listener.accept()
    except TimeoutError:
        raise PodError("the OCI runtime sent no terminal for the exec session") from None
    with conn:
        _, fds, _, _ = socket.recv_fds(conn, 4096, 4)
    if not fds:
        raise PodError("the OCI runtime's console message had no terminal")
    for extra in fds[1:]:
        os.close(extra)
    return fds[0]


class TerminalRelay:
    """The pty master ↔ our stdio until the process exits (or the detach keys are typed: the
    process goes on, exit 0); our terminal raw, sizes followed."""

    def __init__(self, master: int, pid: int, interactive: bool, detach_keys: bytes = b"") -> None:
        from pod.util.terminal import DetachScanner

        self.master, self.pid, self.interactive = master, pid, interactive
        self.scanner = DetachScanner(detach_keys)
        self.detached = False
        self.selector = selectors.DefaultSelector()
        self.selector.register(master, selectors.EVENT_READ, "master")
        self.stdin_file = False  # stdin a regular file or /dev/null: read it without polling
        if interactive:
            try:
                self.selector.register(0, selectors.EVENT_READ, "stdin")
            except PermissionError:  # epoll refuses what is always readable (files, /dev/null)
                self.stdin_file = True

    def resize(self, *_: object) -> None:
        size = _console_size()
        if size is not None:
            with contextlib.suppress(OSError):
                fcntl.ioctl(self.master, _TIOCSWINSZ, struct.pack("HHHH", *size, 0, 0))

    def run(self) -> int:
        from pod.runtime.exec import exit_code
        from pod.util import collector
        from pod.util.terminal import raw_terminal

        collector.resume()

        saved = signal.signal(signal.SIGWINCH, self.resize)
        try:
            with raw_terminal(0, self.interactive):
                while True:
                    if self.stdin_file:
                        self.copy_input()
                    for key, _ in self.selector.select(0.1):
                        if key.data == "master":
                            self.copy_output()
                        else:
                            self.copy_input()
                    if self.detached:
                        return 0
                    done, status = os.waitpid(self.pid, os.WNOHANG)
                    if done:
                        os.set_blocking(self.master, False)
                        while self.copy_output():
                            pass
                        return exit_code(status)
        finally:
            signal.signal(signal.SIGWINCH, saved)
            self.selector.close()

    def copy_output(self) -> bool:
        try:
            data = os.read(self.master, 65536)
        except (BlockingIOError, OSError):  # EIO: every holder of the terminal closed it
            data = b""
        if not data:
            with contextlib.suppress(KeyError):
                self.selector.unregister(self.master)
            return False
        _write_all(1, data)
        return True

    def copy_input(self) -> None:
        try:
            data = os.read(0, 65536)
        except OSError:
            data = b""
        if not data:
            if self.stdin_file:
                self.stdin_file = False
            else:
                self.selector.unregister(0)
            return
        data, self.detached = self.scanner.feed(data)
        with contextlib.suppress(OSError):
            _write_all(self.master, data)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]

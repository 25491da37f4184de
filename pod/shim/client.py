"""The CLI's side of the shim: start it detached, attach a terminal or pipes to it, check on it.

pod.shim.protocol documents the attach protocol; this module speaks it. The shim is forked from
here when this process has a single thread, else spawned (`python -m pod.shim.setup`). Do not
hold the container's lock (ContainerStore.container_lock) across start_shim or attach: the shim
takes it to write state.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from pod import errors
from pod.reporter import Reporter
from pod.shim import prefork, protocol
from pod.shim.finisher import answer_finish, connect
from pod.store.containers import ContainerRecord, ContainerState, ContainerStore, pid_alive
from pod.store.layout import Layout
from pod.util import collector, userns
from pod.util.records import dataclass
from pod.util.terminal import (
    DEFAULT_DETACH_KEYS,
    DetachScanner,
    parse_detach_keys,
    raw_terminal,
    window_size,
)

if TYPE_CHECKING:  # socket and selectors: for attaching and a rootless start, not `run -d`
    import socket

    from pod.network.setup import BridgeWorker

PROXIED_SIGNALS = (
    signal.SIGINT,
    signal.SIGTERM,
    signal.SIGHUP,
    signal.SIGQUIT,
    signal.SIGUSR1,
    signal.SIGUSR2,
)
_LOST_WAIT_SECONDS = 5.0
_LIFELINES: list[int] = []  # write ends the shims waiting for our START watch (see start_shim)


# --- starting -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _FixedIdMapping(userns.IdMapping):
    """An id mapping given line by line (the record's `userns`), not derived from /etc/sub?id."""

    fixed: tuple[userns.IdMapLine, ...] = ()

    def lines(self) -> list[userns.IdMapLine]:
        return list(self.fixed)


def _map_lines(entries: list) -> tuple[userns.IdMapLine, ...]:
    try:
        return tuple(
            userns.IdMapLine(*(int(n) for n in (e.split() if isinstance(e, str) else e)))
            for e in entries
        )
    except (TypeError, ValueError):
        raise errors.PodError(f"invalid user namespace mapping {entries!r}") from None


def _fixed(kind: str, entries: list, default: userns.IdMapping) -> userns.IdMapping:
    lines = _map_lines(entries)
    own = next((line.outside for line in lines if line.inside == 0), default.own)
    others = tuple(
        userns.SubIdRange(line.outside, line.count)
        for line in lines
        if (line.inside, line.outside, line.count) != (0, own, 1)
    )
    return _FixedIdMapping(kind, own, others, default.source, lines)


def user_mapping(record: ContainerRecord) -> userns.UserMapping:
    """The record's `userns` maps, or the user's default subordinate-id mapping."""
    default = userns.current_mapping()
    if not record.userns:
        return default
    return userns.UserMapping(
        user=default.user,
        uids=_fixed("uid", record.userns.get("uid_map", []), default.uids),
        gids=_fixed("gid", record.userns.get("gid_map", []), default.gids),
    )


def start_shim(
    layout: Layout,
    record: ContainerRecord,
    *,
    start_now: bool,
    lifeline: bool = True,
    reporter: Reporter | None = None,
    network_worker: BridgeWorker | None = None,
    meanwhile: Callable[[], None] | None = None,
) -> None:
    """Spawn the detached shim and wait until the container is created (started with start_now).
    `meanwhile()` runs while the shim sets the container up, for work this process would
    otherwise do later (with two CPUs, in parallel with it).

    Not started, the container waits for a START: with `lifeline` this process's (it attaches
    next; should it die first the container is undone), without (`pod init`) any client's.

    Raises the PodError the shim reports (exit code 127/126 when the command cannot be found or
    run). Rootless, this side writes the shim's uid/gid maps with newuidmap/newgidmap; the
    reporter gets the one-time warning when it had to fall back to mapping the user alone.
    """
    ready_r, ready_w = os.pipe()
    argv = [
        sys.executable, "-m", "pod.shim.setup", "--root", str(layout.root),
        "--runroot", str(layout.runroot), "--id", record.id, "--ready-fd", str(ready_w),
    ]  # fmt: skip
    pass_fds = [ready_w, *range(3, 3 + record.preserve_fds)]  # --preserve-fds: ours to give
    sync_parent = sync_child = None
    from pod.network.modes import joins_user_namespace

    if record.rootless and not joins_user_namespace(record):
        import socket

        sync_parent, sync_child = socket.socketpair()
        pass_fds.append(sync_child.fileno())
        argv += ["--sync-fd", str(sync_child.fileno())]
    if start_now:
        argv.append("--start-now")
    elif lifeline:  # the shim waits for our START; should we die first, the lifeline's EOF tells it
        lifeline_r, lifeline_w = os.pipe()
        _LIFELINES.append(lifeline_w)  # open until this process ends
        pass_fds.append(lifeline_r)
        argv += ["--lifeline-fd", str(lifeline_r)]
    if network_worker is not None:  # pod.network.setup.BridgeWorker, started early by run
        pass_fds += network_worker.fds()
        argv += ["--network-worker", network_worker.arg()]
    with open(ready_r, "rb") as ready:
        try:
            proc = _launch(argv, pass_fds)
        except OSError as err:
            raise errors.PodError(f"cannot start the container supervisor: {err}") from None
        finally:
            os.close(ready_w)
            if not start_now and lifeline:
                os.close(lifeline_r)
            if sync_child is not None:
                sync_child.close()
            if network_worker is not None:
                network_worker.close()  # the shim has its own copies
        if sync_parent is not None:
            with sync_parent:
                try:
                    warning = userns.set_up_child(sync_parent, proc.pid, user_mapping(record))
                except OSError as err:
                    proc.kill()
                    raise errors.PodError(f"setting up the user namespace: {err}") from None
            if warning and reporter is not None:
                reporter.warning(warning)
        if meanwhile is not None:
            meanwhile()
        line = ready.readline()  # not to EOF: the runtime's processes might inherit a copy
    _, stderr = proc.communicate()
    _raise_reported(line, stderr, proc.returncode)


class _ForkedShim:
    """The shim forked from this process: the same small interface as the Popen it replaces.
    `child`: False for pod.shim.prefork's shim, detached already (no exit status to wait for:
    its stderr's EOF says it detached, or ended)."""

    def __init__(self, pid: int, stderr_fd: int, child: bool = True) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._stderr = stderr_fd
        self._child = child

    def communicate(self) -> tuple[None, bytes]:
        with open(self._stderr, "rb") as stream:
            stderr = stream.read()
        if self._child:
            _, status = os.waitpid(self.pid, 0)
            self.returncode = os.waitstatus_to_exitcode(status)
        return None, stderr

    def kill(self) -> None:
        os.kill(self.pid, 9)


def _single_threaded() -> bool:
    return len(os.listdir("/proc/self/task")) == 1


def _launch(argv: list[str], pass_fds: list[int]):
    """Start `python -m pod.shim.setup ARGS`: hand it to the child pod.entry forked for it
    (pod.shim.prefork), else fork this process when that is safe, else spawn it.

    A fork skips an interpreter start and the shim's imports (most of them are loaded here
    already), a large part of `pod run`'s latency. Forking is only safe with one thread (a
    pull's download threads may have left locks held), so otherwise a new interpreter runs.
    The early child was forked before any thread, and has set-up's modules loaded by now.
    """
    err_r, err_w = os.pipe()
    early = prefork.take()
    if early is not None:
        handed = early.hand_over(argv, pass_fds, err_w)
        if handed:
            os.close(err_w)
            return _ForkedShim(early.pid, err_r, child=False)
        prefork.release(early)
    if not _single_threaded():
        import subprocess

        os.close(err_r)
        os.close(err_w)
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            pass_fds=pass_fds,
            cwd="/",  # `-m` puts the cwd first on sys.path: keep a checkout from shadowing pod
        )
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: only the fds the shim is given, like Popen(pass_fds=...)
        prefork.run_shim(argv, err_w, pass_fds)
    os.close(err_w)
    return _ForkedShim(pid, err_r)


def _raise_reported(line: bytes, stderr: bytes, returncode: int | None) -> None:
    if not line.strip():
        lines = stderr.decode(errors="replace").strip().splitlines()
        ended = "it ended" if returncode is None else f"exit status {returncode}"
        detail = lines[-1] if lines else ended
        raise errors.PodError(f"the container supervisor (pod.shim.setup) failed: {detail}")
    answer = json.loads(line)
    if "error" in answer:
        raise reported_error(answer["error"])


def reported_error(error: dict) -> errors.PodError:
    """The PodError subclass the shim named, with the exit code it reported."""
    cls = getattr(errors, error.get("type", ""), errors.PodError)
    if not (isinstance(cls, type) and issubclass(cls, errors.PodError)):
        cls = errors.PodError
    exc = cls(error.get("message", "unknown error"))
    code = int(error.get("exit_code", exc.exit_code))
    if code != exc.exit_code:
        exc.exit_code = code
    return exc


def shim_alive(state: ContainerState) -> bool:
    """Is the shim recorded in `state` still running (pid and start time, against pid reuse)?"""
    return pid_alive(state.shim_pid, state.shim_start_time)


# --- attaching ----------------------------------------------------------------------------------


class _Session:
    """One attach: socket frames ↔ this process's stdio, signals and resizes relayed."""

    def __init__(
        self,
        sock: socket.socket,
        *,
        stdin: bool,
        tty: bool,
        detach_keys: bytes,
        finish: Callable[[int, str], str] | None = None,
    ) -> None:
        self.sock = sock
        self.finish = finish
        self.tty = tty
        self.scanner = DetachScanner(detach_keys if tty and stdin else b"")
        import selectors

        self.selector = selectors.DefaultSelector()
        self.inbox = bytearray()
        self.pending_signals: list[int] = []
        self.wake_r, self.wake_w = os.pipe()
        self.outputs_open = {1: True, 2: True}
        self.stdin_file = False  # stdin a regular file or /dev/null: read it without polling
        for fd in (self.wake_r, self.wake_w):
            os.set_blocking(fd, False)
        self.selector.register(sock, selectors.EVENT_READ, "socket")
        self.selector.register(self.wake_r, selectors.EVENT_READ, "signals")
        if stdin:
            try:
                self.selector.register(0, selectors.EVENT_READ, "stdin")
            except PermissionError:  # epoll refuses what is always readable (files, /dev/null)
                self.stdin_file = True

    def close(self) -> None:
        self.selector.close()
        os.close(self.wake_r)
        os.close(self.wake_w)

    def on_signal(self, signum: int, _frame: object) -> None:
        self.pending_signals.append(signum)
        with contextlib.suppress(BlockingIOError):
            os.write(self.wake_w, b"!")

    def send(self, kind: bytes, payload: bytes = b"") -> None:
        self.sock.sendall(protocol.frame(kind, payload))

    def send_resize(self) -> None:
        size = window_size() if self.tty else None
        if size is not None:
            rows, cols = size
            self.send(protocol.RESIZE, rows.to_bytes(2, "big") + cols.to_bytes(2, "big"))

    def run(self) -> int | None:
        """The exit code, or None when the user detached."""
        while True:
            if self.stdin_file and self.read_stdin():
                return None
            for key, _ in self.selector.select(0 if self.stdin_file else None):
                if key.data == "socket":
                    code = self.read_socket()
                    if code is not None:
                        return code
                elif key.data == "stdin":
                    if self.read_stdin():
                        return None
                else:
                    self.relay_signals()

    def read_socket(self) -> int | None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionResetError("the container's supervisor closed the connection")
        self.inbox += data
        for kind, payload in protocol.parse_frames(self.inbox, 1 << 30):
            if kind == protocol.EXIT:
                return int.from_bytes(payload, "big", signed=True)
            if kind == protocol.FINISH and self.finish is not None:
                answer_finish(self.sock, payload, self.finish)
            if kind in (protocol.STDOUT, protocol.STDERR):
                self.write_out(1 if kind == protocol.STDOUT else 2, payload)
        return None

    def write_out(self, fd: int, data: bytes) -> None:
        if not self.outputs_open[fd]:
            return
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        except BlockingIOError:
            os.set_blocking(fd, True)
            self.write_out(fd, bytes(view))
        except OSError:  # our stdout went away (a closed pipe): keep the container going
            self.outputs_open[fd] = False

    def read_stdin(self) -> bool:
        """Forward typed input; True when it was the detach sequence."""
        try:
            data = os.read(0, 65536)
        except OSError:
            data = b""
        if not data:
            if self.stdin_file:
                self.stdin_file = False
            else:
                self.selector.unregister(0)
            self.send(protocol.STDIN_EOF)
            return False
        data, detach = self.scanner.feed(data)
        if data:
            self.send(protocol.STDIN, data)
        return detach

    def relay_signals(self) -> None:
        with contextlib.suppress(BlockingIOError):
            os.read(self.wake_r, 4096)
        signals, self.pending_signals = self.pending_signals, []
        for signum in signals:
            if signum == signal.SIGWINCH:
                self.send_resize()
            else:
                self.send(protocol.SIGNAL, int(signum).to_bytes(4, "big"))


@contextlib.contextmanager
def _signal_handlers(session: _Session, signums: Sequence[int]) -> Iterator[None]:
    saved = {}
    try:
        for signum in signums:
            try:
                saved[signum] = signal.signal(signum, session.on_signal)
            except ValueError:  # not the main thread: no relaying
                break
        yield
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)


def attach(
    layout: Layout,
    container_id: str,
    *,
    stdin: bool,
    tty: bool,
    sig_proxy: bool,
    detach_keys: str = DEFAULT_DETACH_KEYS,
    send_start: bool,
    finish: Callable[[int, str], str] | None = None,
    meanwhile: Callable[[], None] | None = None,
) -> int | None:
    """Stream the container's output to ours (and our stdin to it) until it exits or we detach.

    Returns the container's exit code, or None after the detach keys (tty only). With a tty the
    host terminal is raw and window size changes follow; with sig_proxy, signals this process
    gets are sent on to the container. `send_start` starts a container waiting in "created".
    `finish(code, error)` does the end of the run when the supervisor hands it over ("" or
    what went wrong); `meanwhile()` is called once the container was told to start, for work
    to do while it runs.
    """
    collector.resume()
    keys = parse_detach_keys(detach_keys)
    sock = connect(layout, container_id)
    session = _Session(sock, stdin=stdin, tty=tty, detach_keys=keys, finish=finish)
    signums = [signal.SIGWINCH] if tty else []
    signums += list(PROXIED_SIGNALS) if sig_proxy else []
    try:
        with sock, _signal_handlers(session, signums), raw_terminal(0, tty and stdin):
            session.send_resize()
            if send_start:
                session.send(protocol.START)
            if finish is not None:
                session.send(protocol.FINISHER)
            if meanwhile is not None:
                meanwhile()
            try:
                code = session.run()
            except OSError:
                return _exit_after_lost_connection(layout, container_id)
    finally:
        session.close()
    if code is None and send_start:  # detached: the container is running once we return
        _wait_until_started(ContainerStore(layout), container_id)
    return code


def start_initialized(layout: Layout, container_id: str) -> None:
    """Start a container its shim holds created (`pod init`), no client attached: START, then
    the outcome from state.json (the starter records "running"; a start that failed ends the
    container with the error recorded, which is raised here with its exit code)."""
    with connect(layout, container_id) as sock:
        sock.sendall(protocol.frame(protocol.START_DETACHED))
    state = _wait_until_started(ContainerStore(layout), container_id)
    if state.status == "exited" and state.error:
        failure = errors.PodError(state.error)
        failure.exit_code = state.exit_code or failure.exit_code
        raise failure


def _wait_until_started(store: ContainerStore, container_id: str) -> ContainerState:
    """The state once the starter has recorded its outcome ("running", or the failed start's
    exit): a start is asked on the socket but recorded by another process, a moment later."""
    import time

    state = store.read_state(container_id)
    while state.status == "created":
        if not shim_alive(state):
            raise errors.PodError("the container's supervisor ended before it started it")
        time.sleep(0.01)
        state = store.read_state(container_id)
    return state


def _exit_after_lost_connection(layout: Layout, container_id: str) -> int:
    """The shim closed without EXIT (it was killed, or the engine removed the container)."""
    import time

    store = ContainerStore(layout)
    deadline = time.monotonic() + _LOST_WAIT_SECONDS
    while True:
        state = store.read_state(container_id)
        if state.status == "exited" and state.exit_code is not None:
            return state.exit_code
        if not shim_alive(state) or time.monotonic() > deadline:
            raise errors.PodError(
                "lost the connection to the container's supervisor before it reported an exit code"
            )
        time.sleep(0.05)

"""The per-container supervisor (conmon's job): one detached process per running container.

`python -m pod.shim.supervisor --root R --runroot RR --id ID --ready-fd N [--sync-fd M]
[--start-now | --lifeline-fd L]`, spawned by pod.shim.client.start_shim (never forked from a CLI
that may hold threads). Without --start-now the container waits for a client's START; EOF on
the lifeline (its write end dies with the CLI) before that undoes the container (kept as
created, or removed with --rm).

1. setup: rootless, it first becomes root of a new user namespace holding the user's subordinate
   ids (pod.runtime.userns's handshake on --sync-fd: the parent writes the maps) and enters a new
   mount namespace. Then double fork + setsid, child subreaper (the container, a child of the
   runtime's create, is reparented to us and reaped here), rootfs mounted (pod.container.rootfs),
   stdio made (pipes, or a pty master received on a console socket), the container created and,
   with --start-now, started. "Ready" or the error (PodError type, message, exit code) goes to
   --ready-fd as one JSON line.
2. supervise: setup execs `python -I -S -c ...` running `supervise()` in the same pid. That
   process imports only C modules of the standard library (`_socket`, `_signal`, `select`, not
   their Python wrappers, which pull in enum, re, typing...): it stays near 8 MiB RSS for the
   container's whole life. It copies output to the log (k8s-file) and to attached clients, feeds
   stdin, applies resizes and signals, reaps the container. The rare heavy steps run as short
   `python -m pod.shim.supervisor --op start|finish` helpers answering one line ("ok" or
   "error CODE TEXT").
3. finish (a helper): records the exit in state.json, deletes the runtime's container, unmounts
   the rootfs and, with --rm, removes the container's files; then the supervisor sends EXIT to
   the clients and exits. Any failure ends here too, recorded as `error` with its exit code.

Attach protocol: `<dir>/attach.sock`, a SOCK_STREAM unix socket, any number of clients. Its full
path may exceed sun_path's 108 bytes: both sides use `/proc/self/fd/<dirfd>/attach.sock`. Every
frame is 1 type byte, a 4-byte big-endian payload length, then the payload:
  client → shim: START b"S" (empty), STDIN b"I" (data), STDIN_EOF b"E" (empty),
                 RESIZE b"R" (rows, cols: 2 bytes each, big-endian), SIGNAL b"K" (4 bytes)
  shim → client: STDOUT b"1" (data), STDERR b"2" (data; with a tty everything is STDOUT),
                 EXIT b"X" (4 bytes, signed; an engine error's text comes just before, as STDERR)
When the container waits for a START, output produced before the first client attached is kept
(up to 1 MiB) for that client; a -d container's output before an attach is in the log only.
"""

from __future__ import annotations

import _signal
import _socket
import errno
import os
import select
import sys
import time

TYPE_CHECKING = False  # typing itself costs 2 MiB in the long-lived process
if TYPE_CHECKING:
    import argparse
    import socket
    from pathlib import Path
    from typing import Any

    from pod.store.containers import ContainerRecord, ContainerStore
    from pod.store.layout import Layout

START = b"S"
STDIN = b"I"
STDIN_EOF = b"E"
RESIZE = b"R"
SIGNAL = b"K"
STDOUT = b"1"
STDERR = b"2"
EXIT = b"X"
HEADER_SIZE = 5
MAX_CLIENT_FRAME = 1 << 20
ATTACH_SOCKET = "attach.sock"
LOG_FILE = "ctr.log"
PID_FILE = "container.pid"
RUNTIME_FACTORY_ENV = "POD_SHIM_RUNTIME_FACTORY"  # "module:callable", for tests and experiments

_CHUNK = 65536
_BACKLOG_LIMIT = 1 << 20
_HIGH_WATER = 1 << 20  # a client this far behind pauses reading the container's output
_LOW_WATER = 256 << 10
_DRAIN_SECONDS = 2.0  # after the exit: output still in the pipes, unless something holds them
_CLOSE_SECONDS = 5.0  # for slow clients to take the last frames
_FORWARDED = (_signal.SIGTERM,)  # to the shim: passed on to the container
_IGNORED = (_signal.SIGINT, _signal.SIGHUP, _signal.SIGQUIT, _signal.SIGUSR1, _signal.SIGUSR2)
_TIOCSWINSZ = 0x5414
_IN, _OUT = select.EPOLLIN, select.EPOLLOUT


def frame(kind: bytes, payload: bytes = b"") -> bytes:
    return kind + len(payload).to_bytes(4, "big") + payload


def parse_frames(buffer: bytearray, limit: int) -> list[tuple[bytes, bytes]]:
    """Take every complete frame off the front of `buffer`; ValueError for an oversized one."""
    frames = []
    while len(buffer) >= HEADER_SIZE:
        size = int.from_bytes(buffer[1:HEADER_SIZE], "big")
        if size > limit:
            raise ValueError(f"attach frame of {size} bytes")
        if len(buffer) < HEADER_SIZE + size:
            break
        frames.append((bytes(buffer[:1]), bytes(buffer[HEADER_SIZE : HEADER_SIZE + size])))
        del buffer[: HEADER_SIZE + size]
    return frames


def socket_name(dir_fd: int) -> str:
    """The attach socket's name through an open directory fd: short whatever the store path."""
    return f"/proc/self/fd/{dir_fd}/{ATTACH_SOCKET}"


def exit_code_of(status: int) -> int:
    """A wait status as the shell reports it: the exit code, or 128+N when killed by signal N."""
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def log_lines(stream: bytes, data: bytes, now_ns: int) -> bytes:
    """k8s-file log entries: `<RFC 3339 nano time> <stream> F|P <line>`, P for a partial line."""
    seconds, nanos = divmod(now_ns, 1_000_000_000)
    local = time.localtime(seconds)
    offset = local.tm_gmtoff // 60
    sign = "-" if offset < 0 else "+"
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", local)
    zone = f"{sign}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}"
    prefix = f"{stamp}.{nanos:09d}{zone} ".encode() + stream + b" "
    lines = data.split(b"\n")
    out = [prefix + b"F " + line + b"\n" for line in lines[:-1]]
    if lines[-1]:
        out.append(prefix + b"P " + lines[-1] + b"\n")
    return b"".join(out)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


# --- supervise: the long-lived part (C modules of the standard library only) ------------------


class _Client:
    """One attached client: bytes of frames not complete yet, and frames still to send it."""

    def __init__(self, sock: _socket.socket) -> None:
        self.sock = sock
        self.fd = sock.fileno()
        self.inbox = bytearray()
        self.outbox = bytearray()


class _Supervisor:
    """The event loop: container output, attach clients, signals, the container's exit."""

    def __init__(self, config: dict[str, str]) -> None:
        number = {key: int(value) for key, value in config.items() if value.lstrip("-").isdigit()}
        self.pid = number["pid"]
        self.tty = bool(number["tty"])
        self.started = bool(number["started"])
        self.log_fd = number["log"]
        self.stdin_fd = number["stdin"]
        self.pty_fd = number["out"] if self.tty else -1
        self.fds = [number[key] for key in ("log", "stdin", "out", "err", "listen")]
        self.netns_use = number.get("netns_use", -1)
        self.lifeline = number.get("lifeline", -1)  # EOF: the client that would START is gone
        self.abandoned = False  # never started, as that client died first
        self.held_ports = [int(fd) for fd in config.get("hold", "").split(",") if fd]
        self.helper_args = ["--root", config["root"], "--runroot", config["runroot"]]
        self.helper_args += ["--id", config["id"]]
        self.listener = _socket.socket(fileno=number["listen"])
        self.poll = select.epoll()
        self.handlers: dict[
            int, object
        ] = {}  # fd -> "output", "listen", "wakeup", "stdin", _Client
        self.outputs = {
            fd: stream
            for fd, stream in ((number["out"], STDOUT), (number["err"], STDERR))
            if fd >= 0
        }
        self.clients: dict[int, _Client] = {}
        self.stdin_buffer = bytearray()
        self.stdin_eof = False
        self.paused = False
        self.backlog: bytearray | None = None if self.started else bytearray()
        self.exit_code: int | None = None
        self.forced: tuple[int, str] | None = None  # (exit code, error) that replace the status
        self.wakeup_r, self.wakeup_w = os.pipe()
        self.prepared = False

    def watch(self, fd: int, mask: int, handler: object) -> None:
        if fd in self.handlers:
            self.poll.modify(fd, mask)
        else:
            self.poll.register(fd, mask)
        self.handlers[fd] = handler

    def unwatch(self, fd: int) -> None:
        if self.handlers.pop(fd, None) is not None:
            self.poll.unregister(fd)

    # -- set-up

    def prepare(self) -> None:
        for fd in [*self.fds, self.netns_use, self.lifeline]:
            if fd >= 0:
                os.set_inheritable(fd, False)  # helpers must not hold them
        for fd in (self.wakeup_r, self.wakeup_w):
            os.set_blocking(fd, False)
        _signal.set_wakeup_fd(self.wakeup_w, warn_on_full_buffer=False)
        for signum in (_signal.SIGCHLD, *_FORWARDED, *_IGNORED):
            _signal.signal(signum, _no_op)
        self.listener.setblocking(False)
        self.watch(self.listener.fileno(), _IN, "listen")
        self.watch(self.wakeup_r, _IN, "wakeup")
        if self.lifeline >= 0:
            self.watch(self.lifeline, _IN, "lifeline")
        for fd in self.outputs:
            os.set_blocking(fd, False)
            self.watch(fd, _IN, "output")
        if self.stdin_fd >= 0:
            if self.tty:  # the pty master: a second fd, so reading and writing register apart
                self.stdin_fd = os.dup(self.stdin_fd)
            os.set_blocking(self.stdin_fd, False)
        self.reap()  # the container may have died before the handler was in place

    # -- the loop

    def run(self) -> None:
        if not self.prepared:  # once: a restarted container keeps the loop's set-up
            self.prepared = True
            self.prepare()
        deadline = 0.0
        while True:
            timeout = -1.0
            if self.exit_code is not None:
                if not self.outputs:
                    return
                deadline = deadline or time.monotonic() + _DRAIN_SECONDS
                timeout = deadline - time.monotonic()
                if timeout <= 0:
                    return
            for fd, mask in self.poll.poll(timeout):
                self.dispatch(fd, mask)

    def dispatch(self, fd: int, mask: int) -> None:
        handler = self.handlers.get(fd)
        if handler == "output":
            self.read_output(fd)
        elif handler == "listen":
            self.accept()
        elif handler == "wakeup":
            self.on_signals()
        elif handler == "stdin":
            self.flush_stdin()
        elif handler == "lifeline":
            self.abandon()
        elif isinstance(handler, _Client):
            if mask & (_IN | select.EPOLLHUP | select.EPOLLERR):
                self.read_client(handler)
            if mask & _OUT and handler.fd in self.clients:
                self.write_client(handler)

    # -- container output

    def read_output(self, fd: int) -> None:
        try:
            data = os.read(fd, _CHUNK)
        except BlockingIOError:
            return
        except OSError as err:
            if err.errno != errno.EIO:  # EIO: the pty's last slave closed
                raise
            data = b""
        if not data:
            self.unwatch(fd)
            del self.outputs[fd]
            os.close(fd)
            return
        stream = self.outputs[fd]
        if self.log_fd >= 0:
            name = b"stdout" if stream == STDOUT else b"stderr"
            _write_all(self.log_fd, log_lines(name, data, time.time_ns()))
        message = frame(stream, data)
        if self.backlog is not None and len(self.backlog) + len(message) <= _BACKLOG_LIMIT:
            self.backlog += message
        for client in list(self.clients.values()):
            self.send(client, message)

    def pause_outputs(self, pause: bool) -> None:
        """Backpressure: a client that cannot keep up slows the container, as a terminal does."""
        if pause == self.paused:
            return
        self.paused = pause
        for fd in self.outputs:
            if pause:
                self.unwatch(fd)
            else:
                self.watch(fd, _IN, "output")

    # -- clients

    def accept(self) -> None:
        try:
            fd, _ = self.listener._accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return
        client = _Client(_socket.socket(fileno=fd))
        client.sock.setblocking(False)
        self.clients[fd] = client
        self.watch(fd, _IN, client)
        if self.backlog is not None:
            self.send(client, bytes(self.backlog))
            self.backlog = None  # only the first client gets what came before it

    def drop(self, client: _Client) -> None:
        if self.clients.pop(client.fd, None) is not None:
            self.unwatch(client.fd)
            client.sock.close()
            self.update_pause()

    def send(self, client: _Client, data: bytes) -> None:
        if not data:
            return
        if not client.outbox:
            self.watch(client.fd, _IN | _OUT, client)
        client.outbox += data
        if len(client.outbox) > _HIGH_WATER:
            self.pause_outputs(True)

    def write_client(self, client: _Client) -> None:
        try:
            sent = client.sock.send(client.outbox)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.drop(client)
            return
        del client.outbox[:sent]
        if not client.outbox:
            self.watch(client.fd, _IN, client)
        self.update_pause()

    def update_pause(self) -> None:
        if self.paused and all(len(c.outbox) <= _LOW_WATER for c in self.clients.values()):
            self.pause_outputs(False)

    def read_client(self, client: _Client) -> None:
        try:
            data = client.sock.recv(_CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self.drop(client)  # detached (ctrl-p ctrl-q) or gone
            return
        client.inbox += data
        try:
            frames = parse_frames(client.inbox, MAX_CLIENT_FRAME)
        except ValueError:
            self.drop(client)
            return
        for kind, payload in frames:
            self.on_frame(kind, payload)

    def on_frame(self, kind: bytes, payload: bytes) -> None:
        if kind == START:
            self.start()
        elif kind == STDIN and self.stdin_fd >= 0 and not self.stdin_eof:
            self.stdin_buffer += payload
            self.flush_stdin()
        elif kind == STDIN_EOF and self.stdin_fd >= 0 and not self.tty:
            self.stdin_eof = True
            self.flush_stdin()
        elif kind == RESIZE and len(payload) == 4:
            self.resize(int.from_bytes(payload[:2], "big"), int.from_bytes(payload[2:], "big"))
        elif kind == SIGNAL and len(payload) == 4:
            self.kill(int.from_bytes(payload, "big"))

    # -- stdin, resize, signals

    def flush_stdin(self) -> None:
        fd = self.stdin_fd
        if fd < 0:
            return
        while self.stdin_buffer:
            try:
                written = os.write(fd, self.stdin_buffer)
            except BlockingIOError:
                break
            except OSError:  # the container closed its stdin: drop what it will never read
                self.stdin_buffer.clear()
                break
            del self.stdin_buffer[:written]
        if self.stdin_buffer:
            self.watch(fd, _OUT, "stdin")
            return
        self.unwatch(fd)
        if self.stdin_eof:
            os.close(fd)
            self.stdin_fd = -1

    def resize(self, rows: int, cols: int) -> None:
        if self.pty_fd < 0 or self.pty_fd not in self.outputs:
            return
        import fcntl  # a C module, loaded on the first resize only

        size = b"".join(n.to_bytes(2, sys.byteorder) for n in (rows, cols, 0, 0))
        try:
            fcntl.ioctl(self.pty_fd, _TIOCSWINSZ, size)
        except OSError:
            return

    def kill(self, signum: int) -> None:
        if self.exit_code is None and self.pid > 0:
            try:
                os.kill(self.pid, signum)
            except (ProcessLookupError, ValueError, OverflowError):
                return

    def on_signals(self) -> None:
        try:
            received = os.read(self.wakeup_r, 256)
        except BlockingIOError:
            return
        for signum in received:
            if signum in _FORWARDED:
                self.kill(signum)
        self.reap()

    def reap(self) -> None:
        """Reap every child (we are a subreaper); the container's status ends the loop."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid == self.pid and self.exit_code is None:
                self.exit_code = exit_code_of(status)
                if self.tty and self.stdin_fd >= 0:
                    self.unwatch(self.stdin_fd)
                    os.close(self.stdin_fd)
                    self.stdin_fd = -1

    # -- start and finish, through helpers

    def drop_lifeline(self) -> None:
        if self.lifeline >= 0:
            self.unwatch(self.lifeline)
            os.close(self.lifeline)
            self.lifeline = -1

    def abandon(self) -> None:
        """The `pod run`/`start -a` that was to START the container died first: undo it."""
        self.drop_lifeline()
        if not self.started:
            self.abandoned = True
            self.kill(_signal.SIGKILL)

    def start(self) -> None:
        self.drop_lifeline()
        if self.started or self.exit_code is not None:
            return
        self.started = True
        code, error = self.helper(["--op", "start"])
        if error:
            self.forced = (code, error)
            self.kill(_signal.SIGKILL)

    def helper(self, args: list[str]) -> tuple[int, str]:
        """Run one step (`--op start|finish`) in this process: (0, "") or (exit code, error).

        The modules a step needs are imported only now, so a detached container's supervisor
        stays small; a fresh interpreter per step would cost more time than the imports.
        """
        answer = run_step(main_parser().parse_args([*self.helper_args, *args]))
        if answer.get("ok"):
            return 0, ""
        error = answer.get("error", {})
        return int(error.get("exit_code", 125)), str(error.get("message", "the shim step failed"))

    def finish(self, failure: str = "") -> None:
        """Record the exit and clean up (a helper), then tell every client and let them go."""
        code = 125 if self.exit_code is None else self.exit_code
        error = ""
        if self.forced:
            code, error = self.forced
        if failure:
            code, error = 125, failure
        step = ["--op", "finish", "--exit-code", str(code), "--error", error]
        _, problem = self.helper([*step, *(["--never-started"] if self.abandoned else [])])
        for fd in self.held_ports:  # free before the exit is told: a next run may take them
            os.close(fd)
        self.listener.close()
        self.release_clients(code, error or problem)
        if self.netns_use >= 0:
            os.close(self.netns_use)  # before the tidy, which stops an unused namespace
        # Host network parts, after the exit is reported and at a low priority: the next
        # `pod run` (often started at once) must not wait for the CPU this takes.
        os.nice(10)  # raising one's niceness needs no privilege
        self.helper(["--op", "tidy"])

    def release_clients(self, code: int, error: str = "") -> None:
        """Send every client the exit (and an engine error before it), then close them."""
        closing = frame(EXIT, code.to_bytes(4, "big", signed=True))
        if error:
            closing = frame(STDERR, f"Error: {error}\n".encode()) + closing
        deadline = time.monotonic() + _CLOSE_SECONDS
        for client in list(self.clients.values()):
            client.outbox += closing
            try:
                while client.outbox and time.monotonic() < deadline:
                    client.sock.settimeout(max(0.01, deadline - time.monotonic()))
                    del client.outbox[: client.sock.send(client.outbox)]
            except OSError:
                pass
            self.unwatch(client.fd)
            client.sock.close()
        self.clients.clear()

    def restart(self) -> bool:
        """Apply the restart policy (container.restart_policy, imported only now); True: restarted.

        Clients of the run that ended get its exit; the log and attach socket carry on.
        """
        if self.forced or self.abandoned or self.exit_code is None or self.pid <= 0:
            return False
        try:
            from pod.container.restart_policy import restart_if_due

            new = restart_if_due(*_load(main_parser().parse_args(self.helper_args)),
                                 self.exit_code)  # fmt: skip
        except Exception as err:
            self.forced = (125, f"restarting the container: {err}")
            return False
        if new is None:
            return False
        self.release_clients(self.exit_code)
        for fd in list(self.outputs):
            self.unwatch(fd)
            os.close(fd)
        self.outputs = {fd: kind for fd, kind in ((new["out"], STDOUT), (new["err"], STDERR))}
        self.outputs = {fd: kind for fd, kind in self.outputs.items() if fd >= 0}
        if self.stdin_fd >= 0:
            self.unwatch(self.stdin_fd)
            os.close(self.stdin_fd)
        self.pid, self.pty_fd = new["pid"], new["out"] if self.tty else -1
        self.stdin_fd = os.dup(new["stdin"]) if self.tty and new["stdin"] >= 0 else new["stdin"]
        self.stdin_buffer.clear()
        self.stdin_eof = self.paused = False
        self.exit_code = None
        for fd in self.outputs:
            os.set_blocking(fd, False)
            self.watch(fd, _IN, "output")
        if self.stdin_fd >= 0:
            os.set_blocking(self.stdin_fd, False)
        self.reap()
        return True


def _no_op(signum: int, stack: object) -> None:
    """Signals only wake the loop (set_wakeup_fd writes their numbers)."""


def supervise(argv: list[str]) -> None:
    """The exec'd `python -I -S` process: `key=value` arguments from setup; never raises."""
    supervisor = _Supervisor(dict(arg.split("=", 1) for arg in argv))
    failure = ""
    while True:
        try:
            supervisor.run()
        except Exception as err:  # keep the exit path: record it, clean up, never hang
            failure = f"shim: {type(err).__name__}: {err}"
            supervisor.kill(_signal.SIGKILL)
            while supervisor.exit_code is None and supervisor.pid > 0:
                try:
                    _, status = os.waitpid(supervisor.pid, 0)
                except ChildProcessError:
                    break
                supervisor.exit_code = exit_code_of(status)
        if failure or not supervisor.restart():
            break
    supervisor.finish(failure)


# --- setup and helpers: short-lived, may import the store and the runtime -------------------


def load_runtime(name: str) -> Any:
    """The runtime object (create/start/state/kill/delete) for a record's `runtime`."""
    from pod.errors import PodError

    factory = os.environ.get(RUNTIME_FACTORY_ENV, "")
    try:
        if factory:
            import importlib

            module, _, attr = factory.partition(":")
            return getattr(importlib.import_module(module), attr)(name)
        from pod.runtime.external import runtime_for  # "pod": pod.runtime.api itself

        return runtime_for(name)
    except ImportError as err:
        raise PodError(f"OCI runtime {name!r} is not available: {err}") from None


def _load(args: argparse.Namespace) -> tuple[Layout, ContainerStore, ContainerRecord]:
    from pathlib import Path

    from pod.errors import NoSuchContainerError
    from pod.store.containers import ContainerRecord, ContainerStore
    from pod.store.layout import Layout
    from pod.store.lock import read_json

    layout = Layout(Path(args.root), Path(args.runroot))
    store = ContainerStore(layout)
    data = read_json(store.record_file(args.id))
    if not data:
        raise NoSuchContainerError(f'no container with ID "{args.id}" found: no such container')
    return layout, store, ContainerRecord.from_dict(data)


def _update_state(store: ContainerStore, container_id: str, **changes: Any) -> None:
    """Read-modify-write state.json under the container's lock; a removed container stays so."""
    from pod.store.lock import locked

    with locked(store.container_lock(container_id)):
        if not store.record_file(container_id).exists():
            return
        state = store.read_state(container_id)
        for name, value in changes.items():
            setattr(state, name, value)
        store.write_state(container_id, state)


def _error_answer(err: BaseException) -> dict:
    from pod.errors import PodError

    if isinstance(err, PodError):
        name, code, message = type(err).__name__, err.exit_code, str(err)
    elif isinstance(err, OSError):
        where = f": {err.filename}" if err.filename else ""
        name, code, message = "PodError", 125, f"{err.strerror or err}{where}"
    else:
        name, code, message = "PodError", 125, f"{type(err).__name__}: {err}"
    return {"error": {"type": name, "message": message, "exit_code": code}}


def _answer(fd: int, answer: dict, *, as_json: bool = True) -> None:
    """One line: JSON for start_shim, or "ok" / "error CODE TEXT" for supervise()."""
    import contextlib
    import json

    if as_json:
        line = json.dumps(answer)
    elif "error" in answer:
        error = answer["error"]
        line = f"error {error['exit_code']} " + " ".join(error["message"].splitlines())
    else:
        line = "ok"
    with contextlib.suppress(OSError):  # whoever asked is gone: state.json has the outcome
        _write_all(fd, line.encode() + b"\n")


def _finish_container(
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
    from pod.container import rootfs as rootfs_mount
    from pod.container.state import runtime_state_root
    from pod.runtime.cgroups import bundle_oom_killed
    from pod.store.lock import locked

    directory = layout.container_dir(record.id)
    if never_started:
        _update_state(store, record.id, status="configured", pid=0, shim_pid=0, shim_start_time=0)
    else:  # OOM is read from the container's cgroup, before runtime.delete removes it
        _update_state(
            store, record.id, status="exited", exit_code=code, error=error, pid=0,
            finished_at=time.time(), oom_killed=bundle_oom_killed(directory, record.id, code),
        )  # fmt: skip
    problems = []
    try:
        runtime = load_runtime(record.runtime)
        runtime.delete(runtime_state_root(layout, record.runtime), record.id, force=True)
    except Exception as err:
        problems.append(f"deleting the container in its runtime: {err}")
    from pod.network.setup import disconnect

    problems += disconnect(layout, record)
    try:
        rootfs_mount.unmount(directory)
    except OSError as err:
        problems.append(f"unmounting the rootfs: {err.strerror or err}")
    if record.remove and not os.path.ismount(rootfs_mount.merged_dir(directory)):
        from pod.network.plan import release

        with locked(store.container_lock(record.id)):
            release(layout, record.id, record.networks)
            store.remove_files(record.id)
    elif problems and not error:
        _update_state(store, record.id, error="; ".join(problems))


class _Stdio:
    """The container's stdio: pipes, or (tty) a console socket the runtime sends the pty on."""

    def __init__(self, tty: bool, interactive: bool) -> None:
        import socket
        import tempfile

        self.tty, self.interactive = tty, interactive
        self.null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
        self.out = self.err = self.stdin = -1
        self.ours: list[int] = []  # what to close when supervise never takes over
        self.console: socket.socket | None = None
        self.console_dir = ""
        if tty:
            base = tempfile.gettempdir()
            self.console_dir = tempfile.mkdtemp(prefix="pod-console-", dir=base)
            if len(self.console_path or "") > 100:  # sun_path: take a short TMPDIR
                os.rmdir(self.console_dir)
                self.console_dir = tempfile.mkdtemp(prefix="pod-console-", dir="/tmp")
            self.console = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.console.bind(self.console_path)
            self.console.listen(1)
            self.container = (self.null, self.null, self.null)
            return
        stdin = self.null
        if interactive:
            stdin, self.stdin = os.pipe()
            self.ours.append(self.stdin)
        self.out, out_w = os.pipe()
        self.err, err_w = os.pipe()
        self.ours += [self.out, self.err]
        self.container = (stdin, out_w, err_w)

    @property
    def console_path(self) -> str | None:
        return os.path.join(self.console_dir, "console.sock") if self.console_dir else None

    def after_create(self) -> None:
        """Take the pty master (runc's protocol: SCM_RIGHTS on the console socket)."""
        if self.console is not None:
            import socket

            self.console.settimeout(30)
            try:
                conn, _ = self.console.accept()
            except TimeoutError:
                raise OSError(errno.ETIMEDOUT, "the runtime sent no terminal") from None
            with conn:
                _, fds, _, _ = socket.recv_fds(conn, 4096, 4)
            if not fds:
                raise OSError(errno.EPROTO, "the runtime's console message had no terminal")
            self.out = fds[0]
            self.ours.append(self.out)
            for extra in fds[1:]:
                os.close(extra)
            self.stdin = self.out if self.interactive else -1
        self.close_container_ends()

    def close_container_ends(self) -> None:
        for fd in {*self.container}:
            os.close(fd)
        self.container = ()
        if self.console is not None:
            self.console.close()
            self.console = None
            os.unlink(self.console_path)
            os.rmdir(self.console_dir)

    def close(self) -> None:
        if self.container:
            self.close_container_ends()
        for fd in self.ours:
            os.close(fd)
        self.ours = []


def _listen(directory: Path) -> socket.socket:
    import contextlib
    import socket

    dir_fd = os.open(directory, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(ATTACH_SOCKET, dir_fd=dir_fd)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(socket_name(dir_fd))
        _give_to_directory_owner(dir_fd, ATTACH_SOCKET)
        listener.listen(64)
        return listener
    finally:
        os.close(dir_fd)


def _owner(directory: Path | int) -> tuple[int, int]:
    info = os.stat(directory)
    return info.st_uid, info.st_gid


def _give_to_directory_owner(dir_fd: int, name: str) -> None:
    """The CLI (the container dir's owner) must reach what the shim creates: with
    --userns=keep-id the shim's root is a subordinate id, not the user, so chown to the owner."""
    os.chown(name, *_owner(dir_fd), dir_fd=dir_fd, follow_symlinks=False)


def _set_child_subreaper() -> None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(36, 1, 0, 0, 0) == -1:  # PR_SET_CHILD_SUBREAPER
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(err)}")


def _daemonize() -> bool:
    """Double fork + setsid: True in the grandchild (the shim), False in the original process."""
    child = os.fork()
    if child:
        os.waitpid(child, 0)
        return False
    os.setsid()
    if os.fork():
        os._exit(0)
    return True


def _detach_from_caller(keep: list[int]) -> None:
    """stdio to /dev/null, the cwd to /, every fd closed but `keep` (ready pipe, worker)."""
    os.chdir("/")
    os.umask(0o022)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    low = 3
    for fd in sorted(keep):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 1 << 20)


def _worker_fds(args: argparse.Namespace) -> list[int]:
    """The bridge worker's pipe ends `pod run` passed (pod.network.setup.BridgeWorker)."""
    return [int(fd) for fd in args.network_worker.split(",")] if args.network_worker else []


def _prepare_rootfs(directory: Path, record: ContainerRecord) -> None:
    """Workdir and volume copy-up on the mounted rootfs (pod.container.rootfs_prepare)."""
    import json

    from pod.container import rootfs as rootfs_mount
    from pod.container import rootfs_prepare

    merged = rootfs_mount.merged_dir(directory)
    config = json.loads((directory / "config.json").read_bytes())
    rootfs_prepare.ensure_workdir(merged, config)
    rootfs_prepare.copy_up_volumes(merged, record.mounts)


def _create(
    args: argparse.Namespace, layout: Layout, store: ContainerStore, record: ContainerRecord
) -> dict:
    """Mount, create (and start): the config supervise() needs; raises when anything fails."""
    from pod.container.state import runtime_state_root
    from pod.store.containers import process_start_time

    me = os.getpid()
    _update_state(
        store, record.id, shim_pid=me, shim_start_time=process_start_time(me), pid=0,
        exit_code=None, error="", finished_at=0.0, oom_killed=False,
    )  # fmt: skip
    runtime_state_root(layout, record.runtime).mkdir(parents=True, exist_ok=True)
    from pod.network.setup import disconnect

    disconnect(layout, record)  # what a shim killed with -9 left of an earlier run
    network = _network_preparation(layout, record, worker=args.network_worker)
    try:
        return _create_container(args, layout, store, record, network)
    except BaseException:
        if network is not None:
            network.abandon()
        raise


def _network_preparation(
    layout: Layout, record: ContainerRecord, bind_ports: bool = True, worker: str = ""
):
    """The host side of the network, started early (pod.network.setup); None: nothing to do.
    `worker`: the `R,W` pipe ends of a bridge worker `pod run` started."""
    if record.network in ("host", "none") or record.network.startswith(("container:", "ns:")):
        if worker:
            for fd in worker.split(","):
                os.close(int(fd))
        return None
    if record.network == "private" and not record.ports:
        return None
    from pod.network.setup import BridgeWorker, Preparation

    started = BridgeWorker.from_arg(worker) if worker else None
    return Preparation(layout, record, bind_ports=bind_ports, worker=started)


def network_up(record: ContainerRecord, pid: int, network: Any) -> None:
    """After the runtime's create: lo up (runc, crun; pod's runtime does it), then the rest."""
    own = not record.network.startswith(("host", "container:", "ns:"))
    held = network is not None and network.netns_path  # lo is up there already
    if own and not held and record.runtime not in ("pod", ""):
        from pod.runtime import netif as loopback

        loopback.bring_up(pid)
    if network is not None:
        network.complete(pid)


def _create_container(
    args: argparse.Namespace,
    layout: Layout,
    store: ContainerStore,
    record: ContainerRecord,
    network: Any,
) -> dict:
    from pathlib import Path

    from pod.container import rootfs as rootfs_mount
    from pod.container.state import runtime_state_root

    directory = layout.container_dir(record.id)
    runtime = load_runtime(record.runtime)
    state_root = runtime_state_root(layout, record.runtime)
    _update_state(store, record.id, rootfs_driver=rootfs_mount.mount(layout, record, directory))
    _prepare_rootfs(directory, record)
    set_network_namespace(layout, store, record, network)
    listener = _listen(directory)
    log = -1
    if record.log_driver != "none":
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
        log = os.open(directory / LOG_FILE, flags, 0o600)
        os.fchown(log, *_owner(directory))
    stdio = _Stdio(record.tty, record.interactive)
    try:
        pid = runtime.create(
            state_root,
            record.id,
            directory,
            pid_file=directory / PID_FILE,
            console_socket=Path(stdio.console_path) if stdio.console_path else None,
            stdio=stdio.container,
        )
        stdio.after_create()
        network_up(record, pid, network)
        _update_state(store, record.id, status="created", pid=pid)
        if args.start_now:
            runtime.start(state_root, record.id)
            _update_state(store, record.id, status="running", started_at=time.time())
    except BaseException:
        stdio.close()
        listener.close()
        raise
    return {
        "pid": pid,
        "tty": int(record.tty),
        "started": int(args.start_now),
        "log": log,
        "stdin": stdio.stdin,
        "out": stdio.out,
        "err": stdio.err,
        "listen": listener.detach(),
        "root": args.root,
        "runroot": args.runroot,
        "id": record.id,
        "hold": ",".join(map(str, network.hand_over_held())) if network is not None else "",
    }


def set_network_namespace(
    layout: Layout, store: ContainerStore, record: ContainerRecord, network: Any
) -> None:
    """Point the bundle's network namespace at the one this run joins: container:ID's as it
    is now (its pid may have changed since create; not running fails the start), the one the
    network preparation holds (rootless user-mode networking), or a new one (no path)."""
    import json

    from pod.store.lock import atomic_write

    path = network.netns_path if network is not None else ""
    if record.network.startswith("container:"):
        path = f"/proc/{_joined_container_pid(store, record)}/ns/net"
    elif record.network.startswith(("ns:", "host")):
        return  # the bundle has it as create wrote it
    bundle = layout.container_dir(record.id) / "config.json"
    config = json.loads(bundle.read_bytes())
    for namespace in config["linux"]["namespaces"]:
        if namespace["type"] == "network" and namespace.get("path", "") != path:
            namespace.pop("path", None)
            if path:
                namespace["path"] = path
            atomic_write(bundle, json.dumps(config).encode())


def _joined_container_pid(store: ContainerStore, record: ContainerRecord) -> int:
    """The process of the container whose network `--network container:ID` joins, as it is
    now (its pid may have changed since create; not running fails the start)."""
    from pod.container.state import current_state
    from pod.errors import PodError

    target = store.lookup(record.network.partition(":")[2])
    state = current_state(store, target)
    if state.status != "running" or not state.pid:
        raise PodError(f"container {target.id} is not running: cannot join its network")
    return state.pid


def _become_supervisor(config: dict) -> None:
    """exec a fresh, small interpreter for the long wait (same pid: shim_pid stays true).

    A container started at once (`run -d`, `start`) may live long: its supervisor is the small
    interpreter. One that waits for an attached client's START (a foreground `run`) is
    usually short-lived and needs the runtime again at once: it keeps this process, which has
    every module loaded, and saves an interpreter start on the latency users feel most.
    """
    args = [f"{key}={value}" for key, value in config.items()]
    if not config["started"]:
        supervise(args)
        return
    for key in ("log", "stdin", "out", "err", "listen"):
        if config[key] >= 0:
            os.set_inheritable(config[key], True)
    for fd in [*filter(None, config["hold"].split(",")), config["netns_use"]]:
        if int(fd) >= 0:
            os.set_inheritable(int(fd), True)
    from pod.util import lean_python

    argv = lean_python.argv("pod.shim.supervisor", "supervise", args)
    try:
        os.execv(sys.executable, argv)
    except OSError:
        supervise(args)  # the same loop, just in this bigger process


def _setup_main(args: argparse.Namespace) -> int:
    ready = os.dup(args.ready_fd)  # not inheritable: runtimes and exec'd processes never get it
    os.close(args.ready_fd)
    lifeline = -1
    if args.lifeline_fd >= 0:
        lifeline = os.dup(args.lifeline_fd)
        os.close(args.lifeline_fd)
    loaded = None
    netns_use = -1  # a use of the rootless network namespace (pod.network.rootless_netns)
    try:
        layout, store, record = loaded = _load(args)
        if record.rootless:
            netns_use = _enter_user_namespace(args, layout, store, record)
    except BaseException as err:
        answer = _error_answer(err)
        try:
            if loaded is not None:
                code, message = answer["error"]["exit_code"], answer["error"]["message"]
                _finish_container(*loaded, code, message)
        finally:
            _answer(ready, answer)
        return 1
    if not _daemonize():
        return 0
    try:
        worker = _worker_fds(args)
        kept = [fd for fd in (netns_use, lifeline) if fd >= 0]
        _detach_from_caller([ready, *worker, *kept])
        _set_child_subreaper()
        config = _create(args, layout, store, record)
        config["netns_use"] = netns_use
        config["lifeline"] = lifeline
    except BaseException as err:
        answer = _error_answer(err)
        try:
            _finish_container(
                layout, store, record, answer["error"]["exit_code"], answer["error"]["message"]
            )
            if netns_use >= 0:
                os.close(netns_use)
            _tidy_after_failure(layout)  # before the answer: a failed run leaves nothing
        finally:
            _answer(ready, answer)
        os._exit(1)
    _answer(ready, {"ok": True, "pid": config["pid"]})
    os.close(ready)
    _become_supervisor(config)
    os._exit(0)


def _enter_user_namespace(
    args: argparse.Namespace, layout: Layout, store: ContainerStore, record: ContainerRecord
) -> int:
    """Rootless: become root of the container's user namespace, in a mount namespace of our
    own. A container on pod networks joins the one its rootless network namespace lives in
    (the returned fd is the use to keep); one joining another's network (container:ID) joins
    that one's; any other gets a new one (the handshake on --sync-fd: the caller writes the
    maps). -1: no use to keep."""
    from pod.container import rootfs as rootfs_mount
    from pod.errors import PodError
    from pod.network import rootless_netns
    from pod.network.modes import shares_rootless_namespace
    from pod.runtime import userns

    use = -1
    if shares_rootless_namespace(record):
        use = rootless_netns.join(layout)
    elif record.network.startswith("container:"):
        rootless_netns.join_userns(f"/proc/{_joined_container_pid(store, record)}/ns/user")
    elif args.sync_fd < 0:
        raise PodError("a rootless shim needs the user namespace handshake (--sync-fd)")
    else:
        userns.enter_userns(args.sync_fd)
    rootfs_mount.private_mount_namespace()
    return use


def _tidy_after_failure(layout: Layout) -> None:
    """A failed start's network parts (pod.network.setup.tidy)."""
    import contextlib

    from pod.network.setup import tidy

    with contextlib.suppress(Exception):  # nobody is left to tell; a later command tidies again
        tidy(layout)


TIDY_GRACE = 1.0  # seconds a finished `run --rm` leaves its unused bridge for the next start


def run_step(args: argparse.Namespace) -> dict:
    """`--op start|finish|tidy`: one step of supervise(), as an answer dict."""
    from pod.container.state import runtime_state_root

    try:
        if args.op == "tidy":
            from pathlib import Path

            from pod.network.setup import tidy
            from pod.store.layout import Layout

            layout = Layout(Path(args.root), Path(args.runroot))
            # A `run --rm` container is gone already: its bridge may be wanted again at once
            # by the next `run --rm` of a script; `pod rm` (record still there) waits for us.
            removed = not layout.container_dir(args.id).exists()
            tidy(layout, grace=TIDY_GRACE if removed else 0.0)
            return {"ok": True}
        layout, store, record = _load(args)
        if args.op == "start":
            runtime = load_runtime(record.runtime)
            runtime.start(runtime_state_root(layout, record.runtime), record.id)
            _update_state(store, record.id, status="running", started_at=time.time())
        else:
            _finish_container(layout, store, record, args.exit_code, args.error, args.never_started)
        return {"ok": True}
    except BaseException as err:
        return _error_answer(err)


def main_parser() -> argparse.ArgumentParser:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m pod.shim.supervisor")
    parser.add_argument("--root", required=True)
    parser.add_argument("--runroot", required=True)
    parser.add_argument("--id", required=True)
    parser.add_argument("--ready-fd", type=int, default=-1)
    parser.add_argument("--sync-fd", type=int, default=-1)
    parser.add_argument("--start-now", action="store_true")
    parser.add_argument("--network-worker", default="")
    parser.add_argument("--op", choices=("start", "finish", "tidy"))
    parser.add_argument("--exit-code", type=int, default=125)
    parser.add_argument("--error", default="")
    parser.add_argument("--never-started", action="store_true")
    parser.add_argument("--lifeline-fd", type=int, default=-1)
    return parser


def main(argv: list[str]) -> int:
    return _setup_main(main_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

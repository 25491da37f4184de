"""The per-container supervisor (conmon's job): the long-lived part of a container's shim.

pod.shim.setup prepares the container and then execs `python -I -S` running `supervise()` in the
same pid (so the recorded shim pid stays true). This module and pod.shim.protocol import only
C-implemented modules of the standard library (`_socket`, `_signal`, `posix`, `select`, not their
Python wrappers, which pull in enum, re, typing...), so the supervisor stays under 8 MiB RSS for
the container's whole life, attached or detached, across restarts.

It copies the container's output to the log (k8s-file) and to attached clients, feeds stdin,
applies resizes and signals, and reaps the container. Everything heavier happens in other
processes, so nothing heavy is ever loaded here while the container lives:
- START (a container that waits for its client, or after `pod init` for a `pod start`): a
  starter child forked by setup before this exec, which still has the runtime loaded, starts
  the container and answers one line.
- a health check (on its interval): a `python -m pod.shim.setup --op healthcheck` helper runs
  it in the container and records the result; it answers the on-failure action to take.
- a restart (`--restart`): a `python -m pod.shim.setup --op restart` helper records the exit,
  waits out the back-off and runs setup's own create sequence again; it passes the new
  container's stdio back over a socket (SCM_RIGHTS) and exits, the new container becomes our
  child (we are its subreaper).
- finish: when the container is gone for good the exit is recorded, the runtime's container
  deleted, the rootfs unmounted (and with --rm everything removed) by pod.shim.steps,
  imported only then, at the end of this process's life; then the clients get EXIT.
"""

import _signal
import _socket
import posix
import select
import sys
import time

from pod.shim.protocol import (
    EXIT,
    FINISH,
    FINISHED,
    FINISHER,
    MAX_CLIENT_FRAME,
    RESIZE,
    SIGNAL,
    START,
    START_DETACHED,
    STDERR,
    STDIN,
    STDIN_EOF,
    STDOUT,
    exit_code_of,
    frame,
    log_lines,
    parse_frames,
)

_CHUNK = 65536
_BACKLOG_LIMIT = 1 << 20
_HIGH_WATER = 1 << 20  # a client this far behind pauses reading the container's output
_LOW_WATER = 256 << 10
_DRAIN_SECONDS = 2.0  # after the exit: output still in the pipes, unless something holds them
_CLOSE_SECONDS = 5.0  # for slow clients to take the last frames
_FINISH_SECONDS = 300.0  # a finishing client that takes longer is given up on
_FORWARDED = (_signal.SIGTERM,)  # to the shim: passed on to the container
_IGNORED = (_signal.SIGINT, _signal.SIGHUP, _signal.SIGQUIT, _signal.SIGUSR1, _signal.SIGUSR2)
_TIOCSWINSZ = 0x5414
_SOL_SOCKET, _SCM_RIGHTS = 1, 1
_EIO = 5  # errno.EIO, without one more module
_IN, _OUT = select.EPOLLIN, select.EPOLLOUT


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[posix.write(fd, view) :]


class _Client:
    """One attached client: bytes of frames not complete yet, and frames still to send it."""

    def __init__(self, sock: "_socket.socket") -> None:
        self.sock = sock
        self.fd = sock.fileno()
        self.inbox = bytearray()
        self.outbox = bytearray()


class _Helper:
    """A child process doing one heavy step for us; it answers one line (and maybe fds)."""

    def __init__(self, pid: int, sock: "_socket.socket") -> None:
        self.pid = pid
        self.sock = sock
        self.data = bytearray()
        self.fds: list = []


class _Supervisor:
    """The event loop: container output, attach clients, signals, the container's exit."""

    def __init__(self, config: dict) -> None:
        number = {key: int(value) for key, value in config.items() if value.lstrip("-").isdigit()}
        self.pid = number["pid"]
        self.tty = bool(number["tty"])
        self.started = bool(number["started"])
        self.log_fd = number["log"]
        self.log_max = number.get("log_max", 0)  # --log-opt max-size: start afresh beyond it
        self.log_size = 0
        self.timeout = number.get("timeout", 0)  # --timeout: seconds, from the start
        self.deadline = 0.0
        self.utc_offset = number.get("utc_offset", 0)
        self.stdin_fd = number["stdin"]
        self.pty_fd = number["out"] if self.tty else -1
        self.fds = [number[key] for key in ("log", "stdin", "out", "err", "listen")]
        self.netns_use = number.get("netns_use", -1)
        self.lifeline = number.get("lifeline", -1)  # EOF: the client that would START is gone
        self.starter = number.get("starter", -1)  # the starter child's socket (not started yet)
        self.handed_client = number.get("client", -1)  # the first client, met by set-up
        self.handed_starting = number.get("starting", -1)  # set-up sent the starter START
        self.restarts = policy_restarts(config.get("restart", ""))
        self.health_restart = False  # the health check's on-failure action asked for one
        self.health_every = number.get("health_ms", 0) / 1000  # seconds; 0: no checks
        self.next_check = time.monotonic() + self.health_every
        self.checking: _Helper | None = None  # the health check helper at work
        self.abandoned = False  # never started, as that client died first
        self.held_ports = [int(fd) for fd in config.get("hold", "").split(",") if fd]
        self.ids = (config["root"], config["runroot"], config["id"])
        self.listener = _socket.socket(fileno=number["listen"])
        self.poll = select.epoll()
        self.handlers: dict = {}  # fd -> "output", "listen", "wakeup", "stdin", ..., _Client
        self.outputs = {
            fd: stream
            for fd, stream in ((number["out"], STDOUT), (number["err"], STDERR))
            if fd >= 0
        }
        self.clients: dict = {}
        self.stdin_buffer = bytearray()
        self.stdin_eof = False
        self.paused = False
        self.backlog = None if self.started else bytearray()
        self.exit_code: int | None = None
        self.forced: tuple | None = None  # (exit code, error) that replace the status
        self.orphans: dict = {}  # pid -> exit code of children reaped before we knew them
        self.restarting: _Helper | None = None  # the restart helper at work
        self.starting: _Helper | None = None  # the starter child, once asked to start
        self.finisher: _Client | None = None  # the client that will finish the container
        self.network_parts = config.get("tidy", "1") == "1"  # host network parts to tidy
        self.wakeup_r, self.wakeup_w = posix.pipe()

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
        handed = [self.handed_client, self.handed_starting]
        for fd in [*self.fds, self.netns_use, self.lifeline, self.starter, *handed]:
            if fd >= 0:
                posix.set_inheritable(fd, False)  # helpers must not hold them
        for fd in (self.wakeup_r, self.wakeup_w):
            posix.set_blocking(fd, False)
        _signal.set_wakeup_fd(self.wakeup_w, warn_on_full_buffer=False)
        for signum in (_signal.SIGCHLD, *_FORWARDED, *_IGNORED):
            _signal.signal(signum, _no_op)
        self.listener.setblocking(False)
        self.watch(self.listener.fileno(), _IN, "listen")
        self.watch(self.wakeup_r, _IN, "wakeup")
        if self.lifeline >= 0:
            self.watch(self.lifeline, _IN, "lifeline")
        self.watch_outputs()
        if self.handed_client >= 0:
            self.add_client(self.handed_client)
        if self.handed_starting >= 0:
            self.starting = self.watch_helper(-1, _socket.socket(fileno=self.handed_starting))
        if self.log_fd >= 0:
            self.log_size = posix.fstat(self.log_fd).st_size
        if self.started:
            self.start_clock()
        self.reap()  # the container may have died before the handler was in place

    def watch_outputs(self) -> None:
        for fd in self.outputs:
            posix.set_blocking(fd, False)
            self.watch(fd, _IN, "output")
        if self.stdin_fd >= 0:
            if self.tty:  # the pty master: a second fd, so reading and writing register apart
                self.stdin_fd = posix.dup(self.stdin_fd)
            posix.set_blocking(self.stdin_fd, False)

    # -- the loop

    def run(self) -> None:
        """Until the container exited for good and its output is drained."""
        deadline = 0.0
        while True:
            timeout = -1.0
            # A start still being recorded by the starter ends first: its "running" must not
            # come after the exit is recorded.
            if self.exit_code is not None and self.restarting is None and self.starting is None:
                if not self.outputs:
                    return
                deadline = deadline or time.monotonic() + _DRAIN_SECONDS
                timeout = deadline - time.monotonic()
                if timeout <= 0:
                    return
            else:
                if self.deadline and time.monotonic() >= self.deadline:
                    self.time_out()
                    continue
                if self.check_due():
                    timeout = self.next_check - time.monotonic()
                    if timeout <= 0:
                        self.begin_check()
                        timeout = -1.0 if self.checking is not None else self.health_every
                if self.deadline:  # --timeout: wake up for it too
                    left = max(self.deadline - time.monotonic(), 0.0)
                    timeout = left if timeout < 0 else min(timeout, left)
            for fd, mask in self.poll.poll(timeout):
                self.dispatch(fd, mask)

    def start_clock(self) -> None:
        """--timeout counts from the start (again at each restart)."""
        if self.timeout > 0:
            self.deadline = time.monotonic() + self.timeout

    def time_out(self) -> None:
        """--timeout fired: kill the container; its exit code is -1, as podman's."""
        self.deadline = 0.0
        self.forced = (-1, "")
        self.kill(_signal.SIGKILL)

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
        elif isinstance(handler, _Helper):
            self.read_helper(handler)
        elif isinstance(handler, _Client):
            if mask & (_IN | select.EPOLLHUP | select.EPOLLERR):
                self.read_client(handler)
            if mask & _OUT and handler.fd in self.clients:
                self.write_client(handler)

    # -- container output

    def read_output(self, fd: int) -> None:
        try:
            data = posix.read(fd, _CHUNK)
        except BlockingIOError:
            return
        except OSError as err:
            if err.errno != _EIO:  # the pty's last slave closed
                raise
            data = b""
        if not data:
            self.unwatch(fd)
            del self.outputs[fd]
            posix.close(fd)
            return
        stream = self.outputs[fd]
        if self.log_fd >= 0:
            name = b"stdout" if stream == STDOUT else b"stderr"
            self.write_log(log_lines(name, data, time.time_ns(), self.utc_offset))
        message = frame(stream, data)
        if self.backlog is not None and len(self.backlog) + len(message) <= _BACKLOG_LIMIT:
            self.backlog += message
        for client in list(self.clients.values()):
            self.send(client, message)

    def write_log(self, entries: bytes) -> None:
        """Append to the log; with a max size, a log that an entry would grow past it starts
        afresh (conmon's way: the file is truncated, that entry is its first)."""
        if self.log_max <= 0:
            _write_all(self.log_fd, entries)
            return
        pending = bytearray()
        for entry in entries.splitlines(keepends=True):
            if self.log_size + len(pending) + len(entry) > self.log_max:
                _write_all(self.log_fd, bytes(pending))
                pending.clear()
                posix.ftruncate(self.log_fd, 0)
                self.log_size = 0
            pending += entry
        _write_all(self.log_fd, bytes(pending))
        self.log_size += len(pending)

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
            # The C socket's accept (socket.socket.accept wraps it); typeshed leaves it out.
            fd, _ = self.listener._accept()  # type: ignore[attr-defined]
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return
        self.add_client(fd)

    def add_client(self, fd: int) -> None:
        client = _Client(_socket.socket(fileno=fd))
        client.sock.setblocking(False)
        self.clients[fd] = client
        self.watch(fd, _IN, client)
        if self.backlog is not None:
            self.send(client, bytes(self.backlog))
            self.backlog = None  # only the first client gets what came before it

    def drop(self, client: _Client) -> None:
        if client is self.finisher:
            self.finisher = None
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
            self.on_frame(kind, payload, client)

    def on_frame(self, kind: bytes, payload: bytes, client: _Client) -> None:
        if kind in (START, START_DETACHED):
            self.start(kind)
        elif kind == FINISHER:
            self.finisher = client
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
                written = posix.write(fd, self.stdin_buffer)
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
            posix.close(fd)
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
                posix.kill(self.pid, signum)
            except (ProcessLookupError, ValueError, OverflowError):
                return

    def on_signals(self) -> None:
        try:
            received = posix.read(self.wakeup_r, 256)
        except BlockingIOError:
            return
        for signum in received:
            if signum in _FORWARDED:
                self.kill(signum)
        self.reap()

    def reap(self) -> None:
        """Reap every child (we are a subreaper); the container's status ends the run."""
        while True:
            try:
                pid, status = posix.waitpid(-1, posix.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid == self.pid and self.exit_code is None:
                self.container_exited(exit_code_of(status))
            elif pid != self.pid:
                self.orphans[pid] = exit_code_of(status)  # a helper, or a container to be

    def container_exited(self, code: int) -> None:
        self.exit_code = code
        self.deadline = 0.0
        if self.tty and self.stdin_fd >= 0:
            self.unwatch(self.stdin_fd)
            posix.close(self.stdin_fd)
            self.stdin_fd = -1
        wanted = self.restarts or self.health_restart
        if wanted and not (self.forced or self.abandoned) and self.restarting is None:
            self.begin_restart()

    # -- helpers: child processes that answer one line on a socket

    def watch_helper(self, pid: int, sock: "_socket.socket") -> _Helper:
        helper = _Helper(pid, sock)
        sock.setblocking(False)
        self.watch(sock.fileno(), _IN, helper)
        return helper

    def read_helper(self, helper: _Helper) -> None:
        """Collect the answer (and any fds passed with it); act on it at EOF."""
        try:
            data, ancillary, _, _ = helper.sock.recvmsg(_CHUNK, _socket.CMSG_SPACE(4 * 8))
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data, ancillary = b"", []
        for level, kind, payload in ancillary:
            if level == _SOL_SOCKET and kind == _SCM_RIGHTS:
                usable = len(payload) - len(payload) % 4
                helper.fds += [
                    int.from_bytes(payload[i : i + 4], sys.byteorder) for i in range(0, usable, 4)
                ]
        helper.data += data
        if data:
            return
        self.unwatch(helper.sock.fileno())
        helper.sock.close()
        words = bytes(helper.data).decode(errors="replace").split(" ", 2)
        if helper is self.starting:
            self.starting = None
            self.started_or_failed(words)
        elif helper is self.checking:
            self.checking = None
            self.checked(words[0].strip())
        elif helper is self.restarting:
            self.restarting = None
            self.restarted_or_not(words, helper.fds)

    def answer_error(self, words: list) -> tuple:
        """("error", CODE, TEXT) as (code, text); a helper that died answers nothing."""
        if len(words) == 3 and words[0] == "error" and words[1].lstrip("-").isdigit():
            return int(words[1]), words[2].strip()
        return 125, "the shim's helper ended without an answer"

    # -- start: the starter child setup left us

    def start(self, kind: bytes = START) -> None:
        """Have the starter start the container (`kind`, START or START_DETACHED, tells it
        whether a client attached)."""
        self.drop_lifeline()
        if self.started or self.exit_code is not None or self.starter < 0:
            return
        self.started = True
        self.start_clock()
        sock = _socket.socket(fileno=self.starter)
        self.starter = -1
        try:  # noqa: SIM105 (contextlib is a Python module: not loaded here)
            sock.send(kind)
        except OSError:  # the starter died: its missing answer says so
            pass
        self.starting = self.watch_helper(-1, sock)

    def started_or_failed(self, words: list) -> None:
        if words[0].strip() != "ok":
            self.forced = self.answer_error(words)
            self.kill(_signal.SIGKILL)

    def drop_lifeline(self) -> None:
        if self.lifeline >= 0:
            self.unwatch(self.lifeline)
            posix.close(self.lifeline)
            self.lifeline = -1

    def abandon(self) -> None:
        """The `pod run`/`start -a` that was to START the container died first: undo it."""
        self.drop_lifeline()
        if not self.started:
            self.abandoned = True
            if self.starter >= 0:  # EOF ends the starter
                posix.close(self.starter)
                self.starter = -1
            self.kill(_signal.SIGKILL)

    def spawn_helper(self, op: str, *args: str) -> _Helper | None:
        """`python -m pod.shim.setup --op OP ...` answering on a socket; None if it cannot run."""
        ours, theirs = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_STREAM)
        posix.set_inheritable(theirs.fileno(), True)
        root, runroot, container_id = self.ids
        argv = [
            sys.executable, "-I", "-m", "pod.shim.setup", "--root", root, "--runroot", runroot,
            "--id", container_id, "--op", op, "--answer-fd", str(theirs.fileno()), *args,
        ]  # fmt: skip
        try:
            pid = posix.posix_spawn(sys.executable, argv, _helper_environment())
        except OSError:
            ours.close()
            return None
        finally:
            theirs.close()
        return self.watch_helper(pid, ours)

    # -- health checks: a helper runs each one and says what to do

    def check_due(self) -> bool:
        """A health check is scheduled: the container runs and no check is at work."""
        running = self.started and self.exit_code is None
        return bool(self.health_every) and running and self.checking is None

    def begin_check(self) -> None:
        self.checking = self.spawn_helper("healthcheck")
        if self.checking is None:  # try again an interval later
            self.next_check = time.monotonic() + self.health_every

    def checked(self, action: str) -> None:
        self.next_check = time.monotonic() + self.health_every
        if action == "restart":
            self.health_restart = True
        if action in ("kill", "restart"):
            self.kill(_signal.SIGKILL)

    # -- restart: a helper runs setup's create sequence again

    def begin_restart(self) -> None:
        extra = ["--health-restart"] if self.health_restart else []
        self.health_restart = False
        # None: no restart, the exit is final
        self.restarting = self.spawn_helper("restart", "--exit-code", str(self.exit_code), *extra)

    def restarted_or_not(self, words: list, fds: list) -> None:
        """ok PID STDIN OUT ERR (1 or 0 each: which fds came, in that order) | no | error..."""
        if words[0].strip() != "ok" or len(fds) != sum(flag == "1" for flag in words[2].split()):
            for fd in fds:
                posix.close(fd)
            if words[0].strip() not in ("ok", "no"):
                self.forced = self.answer_error(words)
            return
        flags = [flag == "1" for flag in words[2].split()]
        given = iter(fds)
        stdin, out, err = (next(given) if flag else -1 for flag in flags)
        assert self.exit_code is not None  # a restart only ever follows the container's exit
        self.release_clients(self.exit_code)  # clients of the run that ended get its exit
        for fd in list(self.outputs):
            self.unwatch(fd)
            posix.close(fd)
        if self.stdin_fd >= 0:
            self.unwatch(self.stdin_fd)
            posix.close(self.stdin_fd)
        self.outputs = {fd: kind for fd, kind in ((out, STDOUT), (err, STDERR)) if fd >= 0}
        self.pid, self.pty_fd = int(words[1]), out if self.tty else -1
        self.stdin_fd = stdin
        self.stdin_buffer.clear()
        self.stdin_eof = self.paused = False
        self.exit_code = None
        self.start_clock()
        self.next_check = time.monotonic() + self.health_every
        self.watch_outputs()
        if self.pid in self.orphans:  # it ended before we heard of it
            self.container_exited(self.orphans.pop(self.pid))

    # -- the end

    def finish(self, failure: str = "") -> None:
        """Record the exit and clean up, then tell every client and let them go.

        pod.shim.steps (~25 ms of imports) is imported only now, when this process is about to
        end, and only if a client does not do the end itself: `pod run` waits for it."""
        code = 125 if self.exit_code is None else self.exit_code
        error = ""
        if self.forced:
            code, error = self.forced
        if failure:
            code, error = 125, failure
        root, runroot, container_id = self.ids
        problem = ""
        if self.abandoned or not self.finished_by_client(code, error):
            from pod.shim import steps

            problem = steps.finish_step(root, runroot, container_id, code, error, self.abandoned)
        for fd in self.held_ports:  # free before the exit is told: a next run may take them
            posix.close(fd)
        self.listener.close()
        self.release_clients(code, error or problem)
        if self.netns_use >= 0:
            posix.close(self.netns_use)  # before the tidy, which stops an unused namespace
        if self.network_parts:
            # Host network parts, after the exit is reported and at a low priority: the next
            # `pod run` (often started at once) must not wait for the CPU this takes.
            from pod.shim import steps

            posix.nice(10)  # raising one's niceness needs no privilege
            steps.tidy_step(root, runroot, container_id)

    def finished_by_client(self, code: int, error: str) -> bool:
        """Hand the end of the run to the client that asked for it (FINISHER); True when it
        says FINISHED with no problem. Any other outcome: we do it ourselves."""
        client = self.finisher
        if client is None or client.fd not in self.clients:
            return False
        deadline = time.monotonic() + _FINISH_SECONDS
        client.outbox += frame(FINISH, code.to_bytes(4, "big", signed=True) + error.encode())
        try:
            client.sock.settimeout(_CLOSE_SECONDS)
            while client.outbox:
                del client.outbox[: client.sock.send(client.outbox)]
            while True:
                for kind, payload in parse_frames(client.inbox, MAX_CLIENT_FRAME):
                    if kind == FINISHED:
                        return not payload
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                client.sock.settimeout(left)
                data = client.sock.recv(_CHUNK)
                if not data:
                    return False
                client.inbox += data
        except (OSError, ValueError):
            return False

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


_LOCALE_SAVED = "POD_SHIM_SAVED_LC_ALL"  # the LC_ALL the helpers are to see again


def policy_restarts(policy: str) -> bool:
    """Whether a --restart policy may start the container again after it exits (the one
    reading of the policy's name for set-up and the supervisor)."""
    return policy not in ("", "no")


def supervisor_environment(environ: dict) -> dict:
    """Our environment, in the C locale: the interpreter then maps no locale data for the
    container's whole life (the supervisor handles bytes only). Helpers get the original."""
    env = dict(environ)
    env[_LOCALE_SAVED] = "set:" + env["LC_ALL"] if "LC_ALL" in env else "unset"
    env["LC_ALL"] = "C"
    return env


def _helper_environment() -> dict:
    """The environment set-up started with: supervisor_environment undone (a supervisor that
    set-up runs in its own process, not exec'd, has it unchanged)."""
    env = dict(posix.environ)
    saved = env.pop(_LOCALE_SAVED.encode(), None)
    if saved == b"unset":
        env.pop(b"LC_ALL", None)
    elif saved is not None:
        env[b"LC_ALL"] = saved.removeprefix(b"set:")
    return env


def _no_op(signum: int, stack: object) -> None:
    """Signals only wake the loop (set_wakeup_fd writes their numbers)."""


def supervise(argv: list) -> None:
    """The exec'd `python -I -S` process: `key=value` arguments from setup; never raises."""
    supervisor = _Supervisor(dict(arg.split("=", 1) for arg in argv))
    failure = ""
    try:
        supervisor.prepare()
        supervisor.run()
    except Exception as err:  # keep the exit path: record it, clean up, never hang
        failure = f"shim: {type(err).__name__}: {err}"
        supervisor.kill(_signal.SIGKILL)
        while supervisor.exit_code is None and supervisor.pid > 0:
            try:
                _, status = posix.waitpid(supervisor.pid, 0)
            except ChildProcessError:
                break
            supervisor.exit_code = exit_code_of(status)
    supervisor.finish(failure)

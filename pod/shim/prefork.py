"""A container's shim forked as `pod run` starts, so set-up's imports overlap the CLI's work.

The shim forked from the CLI when the container is made (pod.shim.client) skips an
interpreter start, but it still imports what set-up needs beyond the CLI's modules (the
runtime, rootfs, seccomp, the network's plumbing: ~35 ms) while the CLI only waits for it.
pod.entry forks this child first thing for a `run`: with two CPUs it imports those modules
while the CLI parses flags and creates the container. Then it waits on a socket for the
shim's command line, environment and fds, and becomes the shim exactly as a forked one does
(`run_shim`). EOF on the socket (the run failed, or started no shim) ends it.

It detaches as set-up would (a session of its own, and a fork that leaves it no session
leader: pod.util.detach, as set-up does) first thing, while it is small: a fork of the loaded
shim cost ~2-4 ms of the start, and its first writes as many again in copy-on-write faults.
The CLI's own child only forks it and ends; the shim tells the CLI its pid first thing.
"""

from __future__ import annotations

import _socket  # the C module: socket.py (enum, selectors: ~2.5 ms) would delay the fork
import marshal
import os
import select
import sys

from pod.util.detach import daemonize
from pod.util.own_fds import close_all_but, out_of_the_way

TYPE_CHECKING = False  # typing itself (~2 ms) is loaded after the fork
if TYPE_CHECKING:
    from typing import NoReturn

_MAX_FDS = 200  # one SCM_RIGHTS message carries at most 253 fds
_MAX_MESSAGE = 1 << 20
_PID_MESSAGE = 16
_waiting: list[Prefork] = []  # the child forked at start, until a shim launch takes it


class Prefork:
    """The parent's handle on the waiting child: our end of its socket; `pid`, the waiting
    child's (not ours), once read (`shim_pid`); `forked`, our child, which forked it and ended."""

    def __init__(self, forked: int, sock: _socket.socket) -> None:
        self.forked, self.sock, self.pid = forked, sock, 0

    def hand_over(self, argv: list[str], pass_fds: list[int], err_w: int) -> bool:
        """Send the shim's command line (as for `python -m pod.shim.setup`), our environment and
        the fds it names (kept at their numbers; `err_w` becomes its stderr). False: the child
        is gone or cannot take them, and the caller starts the shim another way."""
        from array import array

        fds = [err_w, *pass_fds]
        message = marshal.dumps((argv, dict(os.environb), fds))
        try:
            if len(fds) > _MAX_FDS or len(message) > _MAX_MESSAGE or not self.shim_pid():
                return False
            # socket.send_fds' one call, without socket.py (`run -d` loads it nowhere else)
            rights = array("i", fds).tobytes()
            self.sock.sendmsg([message], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, rights)])
            return True
        except OSError:
            return False
        finally:
            self.sock.close()
            _reap(self.forked)

    def shim_pid(self) -> int:
        """The waiting child's pid, which it sends first thing (0: it is gone)."""
        if not self.pid:
            try:  # noqa: SIM105 (contextlib: not loaded before the fork)
                self.pid = int(self.sock.recv(_PID_MESSAGE) or 0)
            except (OSError, ValueError):
                pass
        return self.pid


def start() -> None:
    """Fork the waiting child (`pod.entry`, for a `run`); nothing when the fork fails."""
    try:
        parent, child = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_SEQPACKET)
    except OSError:
        return
    try:
        pid = os.fork()
    except OSError:
        parent.close()
        child.close()
        return
    if pid == 0:
        parent.close()
        _child_main(child)
    child.close()
    own = _socket.socket(fileno=out_of_the_way(parent.detach()))  # not a --preserve-fds one
    _waiting.append(Prefork(pid, own))  # reaped at hand-over: it ends at once, don't wait now


def take() -> Prefork | None:
    """The waiting child, once: the caller hands it a shim or lets it go (`release`)."""
    return _waiting.pop() if _waiting else None


def release(prefork: Prefork) -> None:
    """Let a child we did not hand a shim go: EOF ends it."""
    prefork.sock.close()
    _reap(prefork.forked)


def _reap(pid: int) -> None:
    try:  # noqa: SIM105 (contextlib: not loaded before the fork)
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def _child_main(sock: _socket.socket) -> NoReturn:
    """Detach, say our pid, import set-up's modules, then wait for a shim to become; never
    returns."""
    try:
        if not daemonize():  # no terminal's signals: a Ctrl-C is the CLI's, whose EOF ends us
            os._exit(0)  # the CLI's child ends
        sock.send(str(os.getpid()).encode())
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):  # hold none of the caller's pipes or its terminal
            os.dup2(null, fd)
        close_all_but([sock.fileno()])
        import socket

        channel = socket.socket(fileno=sock.detach())
        try:
            from pod.shim import setup

            setup.preload(handed=lambda: bool(select.select([channel], [], [], 0)[0]))
        except Exception:  # noqa: BLE001, S110 - a module that fails to load fails the shim
            pass
        data, fds, flags, _ = socket.recv_fds(channel, _MAX_MESSAGE, _MAX_FDS + 1)
        channel.close()
        if not data or flags & (socket.MSG_TRUNC | socket.MSG_CTRUNC):
            os._exit(0)
        argv, environ, numbers = marshal.loads(data)
        os.environb.clear()
        os.environb.update(environ)
        _place_fds(fds, numbers)
    except BaseException:  # the caller went away, or no fork
        os._exit(0)
    run_shim(argv, numbers[0], numbers[1:], daemonized=True)


def _place_fds(fds: list[int], numbers: list[int]) -> None:
    """Put each received fd at the number it had in the caller (the argv names those)."""
    import fcntl

    above = max(numbers, default=2) + 1
    moved = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, above) for fd in fds]
    for fd in fds:
        os.close(fd)
    for fd, number in zip(moved, numbers, strict=True):
        os.dup2(fd, number, inheritable=False)
        os.close(fd)


def run_shim(
    argv: list[str], err_w: int, pass_fds: list[int], daemonized: bool = False
) -> NoReturn:
    """In a child of the CLI: become the shim `argv` (`python -m pod.shim.setup ARGS`) with
    only the fds it is given, as Popen(pass_fds=...) would start it; never returns.
    `daemonized`: detached already (the prefork child), set-up does not fork again."""
    try:
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(null, 1)
        os.dup2(err_w, 2)
        close_all_but(pass_fds)
        os.chdir("/")
        from pod.shim import setup

        code = setup.main(argv[3:], daemonized=daemonized)
    except BaseException:  # a forked child must never return into the CLI
        import traceback

        traceback.print_exc()
        code = 125
    sys.stderr.flush()
    os._exit(code)

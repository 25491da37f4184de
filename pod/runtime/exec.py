"""`exec`: one more process in a running container, with runc exec's semantics.

Three processes take part, the same shape as create (process.py):

  caller  opens the init's namespaces and root directory (/proc/<init>/ns/*, /proc/<init>/root)
          and, on cgroup v1, its cgroups' `tasks` files while it still sees the host, forks the
          stage (on v2 it then moves the stage into the init's cgroups while the stage joins
          the namespaces: such a move waits ~15 ms for the kernel), forwards the pty master
          and returns the process's pid.
  stage   on cgroup v1 moves itself into the init's cgroups (pod.runtime.cgroups.move_self:
          no wait), then joins the user namespace first (a rootless container's user namespace
          is owned by the user, so the user may join it), then ipc, uts, net, pid and mnt; after
          setns(mnt) the root and cwd still point into the host's tree, so it fchdirs to the
          init's root and chroots there. Joining a pid namespace only affects children: once the
          caller says the cgroups are placed it forks the process (which inherits them), reports
          its pid and exits, so the process is reparented to the caller when the caller is a
          child subreaper (it can then wait for it) or else to init.
  process waits for "go" (cgroups placed), joins the cgroup namespace, sets up stdio (or the
          pty), limits, user, capabilities and cwd exactly as init.py does for the container's
          init, looks the command up in the container's PATH (127/126 are reported from there)
          and execs. The sync socket is close-on-exec: EOF after "go" means the exec happened.

Messages (process.py's framing): caller → stage {"type": "placed"}, stage → caller {"type":
"pid"}, caller → process {"type": "go"}, process → caller {"type": "console"} + the pty
master, any → caller {"type": "error"}.
Both the stage and the process are non-dumpable until the exec and hold no fd but stdio and the
sync socket when the command runs (CVE-2024-21626: no host directory fd may leak in).
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pod.errors import OCIRuntimeError, RuntimeExecError, RuntimeStateError
from pod.runtime import cgroups, init, seccomp
from pod.runtime import state as st
from pod.runtime import syscalls as sc
from pod.runtime.process import (
    _error_from,
    _expect,
    _forward_console,
    _report,
    _reset_signals,
    _step,
    check_single_threaded,
    receive,
    send,
    settle_fds,
)
from pod.runtime.syscalls import Syscalls
from pod.util.records import dataclass, field

# Join order as runc's nsexec: the user namespace first (it grants the rights for the rest),
# the mount namespace last (it changes what every later path means), cgroup after the move.
JOIN_ORDER = {
    "user": sc.CLONE_NEWUSER,
    "ipc": sc.CLONE_NEWIPC,
    "uts": sc.CLONE_NEWUTS,
    "net": sc.CLONE_NEWNET,
    "pid": sc.CLONE_NEWPID,
    "mnt": sc.CLONE_NEWNS,
    "cgroup": sc.CLONE_NEWCGROUP,
}
_PR_GET_CHILD_SUBREAPER = 37


@dataclass(frozen=True)
class ProcessSetup:
    """What the process gets besides its process object: the container's seccomp filter,
    whether it keeps its supplementary groups (keep-groups), how many fds from 3 it inherits."""

    compiled: seccomp.Compiled | None = None
    keep_groups: bool = False
    preserve_fds: int = 0


@dataclass
class Target:
    """Handles on a running container's init, opened before anything is joined."""

    pid: int
    namespaces: list[tuple[str, int]] = field(default_factory=list)  # (name, fd), join order
    root: int = -1  # the init's root directory

    def fds(self) -> list[int]:
        return [fd for _, fd in self.namespaces] + ([self.root] if self.root >= 0 else [])

    def close(self) -> None:
        for fd in self.fds():
            with contextlib.suppress(OSError):
                os.close(fd)
        self.namespaces, self.root = [], -1


def same_namespace(pid: int, name: str) -> bool:
    mine, theirs = os.stat(f"/proc/self/ns/{name}"), os.stat(f"/proc/{pid}/ns/{name}")
    return (mine.st_dev, mine.st_ino) == (theirs.st_dev, theirs.st_ino)


def open_target(pid: int) -> Target:
    """Open the namespaces the init does not share with us, and its root directory."""
    target = Target(pid)
    try:
        for name in JOIN_ORDER:
            if not same_namespace(pid, name):
                fd = os.open(f"/proc/{pid}/ns/{name}", os.O_RDONLY | os.O_CLOEXEC)
                target.namespaces.append((name, fd))
        flags = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
        target.root = os.open(f"/proc/{pid}/root", flags)
    except FileNotFoundError:
        target.close()
        raise RuntimeStateError(f"the container's init (pid {pid}) is gone") from None
    except OSError as err:
        target.close()
        raise OCIRuntimeError(
            f"opening the namespaces of the container's init (pid {pid}): {err.strerror}"
        ) from None
    return target


def is_child_subreaper() -> bool:
    import ctypes

    value = ctypes.c_int(0)
    sc.prctl(_PR_GET_CHILD_SUBREAPER, ctypes.addressof(value))
    return bool(value.value)


def check_process(process: dict[str, Any], console_socket: Path | None) -> None:
    if not isinstance(process, dict) or not process.get("args"):
        raise OCIRuntimeError("the process has no args: nothing to run")
    if process.get("terminal") and console_socket is None:
        raise OCIRuntimeError("process.terminal is set: a console socket is required")
    if not str(process.get("cwd") or "/").startswith("/"):
        raise OCIRuntimeError(f"process.cwd {process.get('cwd')!r} must be an absolute path")


def exec_process(
    state_root: Path,
    container_id: str,
    process: dict[str, Any],
    *,
    console_socket: Path | None = None,
    stdio: tuple[int, int, int] = (0, 1, 2),
    detach: bool = False,
    sys: Syscalls | None = None,
    preserve_fds: int = 0,
) -> int:
    """Start `process` (a config.json process object) in the running container; its pid.

    Returns once the command runs, or raises (RuntimeExecError: 127 not found, 126 cannot be
    invoked). Not detached, the caller must be a child subreaper (PR_SET_CHILD_SUBREAPER): the
    process is reparented to it and the caller waits for it. Detached, it goes to init.
    `preserve_fds`: the caller's fds 3..3+N-1 are the process's too (runc's --preserve-fds).
    """
    sys = sys or Syscalls()
    state_root = Path(state_root)
    record = st.load(state_root, container_id)
    status = st.status(state_root, record)
    if status != "running":
        raise RuntimeStateError(f"cannot exec in container {container_id}: it is {status}")
    check_process(process, console_socket)
    if not detach and not is_child_subreaper():
        raise OCIRuntimeError("exec without detach needs a caller that is a child subreaper")
    check_single_threaded()
    # the container's filter applies too
    compiled = seccomp.compile_filter(record.seccomp, state_root / st.SECCOMP_CACHE)
    target = open_target(record.pid)
    moves: cgroups.SelfMove = []
    try:
        if st.proc_start_time(record.pid) != record.start_time:
            raise RuntimeStateError(f"container {container_id} is not running")
        moves = cgroups.self_move_files(record.cgroup_paths)
        parent_sock, child_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            stage = os.fork()
        except BaseException:
            parent_sock.close()
            child_sock.close()
            raise
        if stage == 0:
            setup = ProcessSetup(compiled, init.keeps_groups(record.annotations), preserve_fds)
            _stage_main(target, moves, process, stdio, sys, parent_sock, child_sock, setup)
    finally:
        target.close()
        cgroups.close_self_move(moves)
        if compiled is not None:
            compiled.release()
    child_sock.close()
    with parent_sock:
        return _parent_loop(parent_sock, stage, record, console_socket, moved=bool(moves))


def _parent_loop(
    sock: socket.socket,
    stage: int,
    record: st.ContainerState,
    console_socket: Path | None,
    moved: bool,
) -> int:
    """`moved`: the stage moves itself into the cgroups (v1); else they are joined here."""
    pid = 0
    stage_reaped = False
    try:
        if not moved:  # the process, forked by the stage after "placed", inherits them
            join_cgroups(stage, record)
        with contextlib.suppress(OSError):  # a stage that failed already says why below
            send(sock, {"type": "placed"})
        while True:
            message, fds = receive(sock)
            kind = None if message is None else message.get("type")
            if message is None:
                if pid:
                    return pid  # the sync socket closed on exec
                _reap(stage)
                stage_reaped = True
                raise OCIRuntimeError("the runtime's exec stage died before it started a process")
            if kind == "pid":
                pid = int(message["pid"])
                _reap(stage)
                stage_reaped = True
                send(sock, {"type": "go"})
            elif kind == "console":
                _forward_console(console_socket, fds)
            elif kind == "error":
                raise _error_from(message)
            else:
                raise OCIRuntimeError(f"unexpected message from the exec'd process: {message}")
    except BaseException:
        if pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):  # ours when we are its subreaper
                os.waitpid(pid, 0)
        if not stage_reaped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(stage, signal.SIGKILL)
            _reap(stage)
        raise


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def join_cgroups(pid: int, record: st.ContainerState) -> None:
    """Put `pid` in every cgroup create placed the init in (none: rootless, not delegated)."""
    for path in record.cgroup_paths:
        try:
            with open(os.path.join(path, "cgroup.procs"), "w") as handle:
                handle.write(str(pid))
        except OSError as err:
            if err.errno == errno.ESRCH:
                return  # the stage failed and exited: its error message says why
            denied = err.errno in (errno.EACCES, errno.EPERM, errno.EROFS)
            if record.rootless and denied:
                continue
            raise OCIRuntimeError(f"joining the cgroup {path}: {err.strerror}") from None


# -- the stage and the process -----------------------------------------------------------------


def join_user_namespace(sys: Syscalls, fd: int) -> None:
    """setns into a user namespace and become its root (the rights for every later join)."""
    _step("joining the user namespace", sc.setns, fd, sc.CLONE_NEWUSER)
    _step("becoming root in the user namespace (is 0 mapped?)", sys.setresgid, 0)
    _step("becoming root in the user namespace (is 0 mapped?)", sys.setresuid, 0)


def _stage_main(
    target: Target,
    moves: cgroups.SelfMove,
    process: dict[str, Any],
    stdio: tuple[int, int, int],
    sys: Syscalls,
    parent_sock: socket.socket,
    sock: socket.socket,
    setup: ProcessSetup,
) -> None:
    """The stage; never returns into the caller's code."""
    code = 1
    try:
        parent_sock.close()
        sc.prctl(sc.PR_SET_PDEATHSIG, signal.SIGKILL)
        cgroups.move_self(moves)  # before any setns: the files are the host's
        sys.prctl(sc.PR_SET_DUMPABLE, 0)
        cgroup_fd = -1
        for name, fd in target.namespaces:
            if name == "user":
                join_user_namespace(sys, fd)
            elif name == "cgroup":
                cgroup_fd = fd
            else:
                _step(f"joining the {name} namespace", sc.setns, fd, JOIN_ORDER[name])
        _step("entering the container's root", sys.fchdir, target.root)
        _step("entering the container's root", os.chroot, ".")
        _expect(sock, "placed")
        pid = os.fork()
        if pid == 0:
            _process_main(process, stdio, sys, sock, cgroup_fd, setup)
        send(sock, {"type": "pid", "pid": pid})
        code = 0
    except BaseException as err:  # noqa: BLE001 - everything goes to the caller
        _report(sock, err)
    finally:
        os._exit(code)


def _settle_fds(
    sock: socket.socket, stdio: tuple[int, int, int], preserve_fds: int = 0
) -> socket.socket:
    """The process's fds (process.settle_fds): stdio, the preserved ones, the sync socket."""
    (sync_fd,) = settle_fds(stdio, [sock.fileno()], preserve_fds)
    sock.detach()
    return socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET, fileno=sync_fd)


def _process_main(
    process: dict[str, Any],
    stdio: tuple[int, int, int],
    sys: Syscalls,
    sock: socket.socket,
    cgroup_fd: int,
    setup: ProcessSetup,
) -> None:
    """The process; never returns: it execs the command or exits."""
    try:
        sc.prctl(sc.PR_SET_PDEATHSIG, 0)
        _expect(sock, "go")
        if cgroup_fd >= 0:
            _step("joining the cgroup namespace", sc.setns, cgroup_fd, sc.CLONE_NEWCGROUP)
        sock = _settle_fds(sock, stdio, setup.preserve_fds)
        _step("setsid", sys.setsid)
        if process.get("terminal"):
            master = _step("creating the terminal", init.setup_terminal, sys, process, False)
            try:
                send(sock, {"type": "console"}, [master])
            finally:
                os.close(master)
        init.apply_rlimits(sys, process.get("rlimits") or [])
        cwd = process.get("cwd") or "/"
        entered = init.enter_cwd(sys, cwd, retry_later=True)
        late_filter = init.seccomp_before_privileges(sys, process, setup.compiled)
        _step(
            "changing user and capabilities",
            init.drop_privileges,
            sys,
            process,
            setup.keep_groups,
        )
        sys.umask(int((process.get("user") or {}).get("umask", 0o022)))
        if not entered:
            init.enter_cwd(sys, cwd)
        env = init.environment(process)
        args = list(process["args"])
        path = init.lookup(args, env)
        _reset_signals()
        if late_filter is not None:
            sys.load_seccomp(late_filter)
        try:
            os.execve(path, args, env)
        except OSError as err:
            raise RuntimeExecError(f"exec {args[0]}: {err.strerror}", err.errno or 0) from None
    except BaseException as err:  # noqa: BLE001 - everything goes to the caller
        _report(sock, err)
    os._exit(1)


# -- waiting (for a caller that is the process's subreaper) ------------------------------------

FORWARDED_SIGNALS = (
    signal.SIGINT,
    signal.SIGTERM,
    signal.SIGHUP,
    signal.SIGQUIT,
    signal.SIGUSR1,
    signal.SIGUSR2,
)


def exit_code(status: int) -> int:
    """A wait status as a shell reports it: the exit code, or 128+n when killed by signal n."""
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


@contextlib.contextmanager
def forwarding_signals(pid: int) -> Iterator[None]:
    """While inside, the usual termination signals we get are passed on to `pid`."""

    def forward(signum: int, _frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)

    saved = {}
    try:
        for signum in FORWARDED_SIGNALS:
            with contextlib.suppress(ValueError):  # not the main thread: no forwarding
                saved[signum] = signal.signal(signum, forward)
        yield
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)


def wait_for(pid: int) -> int:
    """Wait for `pid` (a child: we are its subreaper), passing our signals on; its exit code."""
    with forwarding_signals(pid):
        _, status = os.waitpid(pid, 0)
    return exit_code(status)

"""The fork stages of `create` and the messages between them.

Three processes take part (runc's nsexec shape, in Python, fork only, never from threads):

  parent   the caller of create (the shim, or `pod-runtime create`). Writes id maps, places the
           init in cgroups, forwards the pty master, returns the init's pid. It waits for (reaps)
           the child only, never the init.
  child    forked by the parent. Joins namespaces given by path (the user one first), unshares a
           new user namespace when the config has one (the parent maps it), becomes root in it,
           unshares the mount/uts/ipc/net/pid namespaces the config lists (a type it leaves out
           is the runtime's own, as the spec says), forks the init, reports its pid and exits.
           The init is thereby reparented to the nearest subreaper: the shim sets
           PR_SET_CHILD_SUBREAPER, so the init becomes its child and it can wait() for it.
  init     pid 1 of a new pid namespace. Waits for "go" (on cgroup v1 it moves itself into its
           cgroups then, on v2 they are in place or will be), unshares the cgroup namespace,
           sets up stdio, hostname, the rootfs and pivot_root (rootfs.py), the pty, rlimits,
           seccomp, user, capabilities, cwd (init.py), looks the command up, says "ready", then
           blocks on the exec fifo until `start`, runs the startContainer hooks, loads a seccomp
           filter kept for last (no_new_privs set) and execs.

Sync: one AF_UNIX SOCK_SEQPACKET socketpair shared by child and init (one message = one JSON
object; the parent's end is closed in both, so a dead parent reads as EOF there):

  child  -> parent  {"type": "userns"}                 a new user namespace exists: map it
  parent -> child   {"type": "mapped"}                 uid_map/gid_map written
  child  -> parent  {"type": "pid", "pid": N}          the init's pid (the parent's view)
  parent -> init    {"type": "go", "state": S}         cgroups placed (after the child exited);
                                                       S: the OCI state the hooks get
           or {"type": "go", "state": S,               cgroup v1: the init moves itself into
               "cgroups": [P...]} + SCM_RIGHTS         P... by writing "0" to each one's `tasks`
                                                       (the fds, opened by the parent)
           or {"type": "go", "state": S,               cgroups made, the init moving into them
               "placed": false, "views": V}            (V: its /sys/fs/cgroup views), then
  parent -> init    {"type": "placed"}                 moved: the init waits for it before
                                                       hooks and "ready"
  init   -> parent  {"type": "hooks"}                  mounts done, before pivot_root: run the
  parent -> init    {"type": "hooked"}                 prestart/createRuntime hooks (if any)
  init   -> parent  {"type": "console"} + SCM_RIGHTS   the pty master (process.terminal only)
  init   -> parent  {"type": "ready"}                  blocked before exec, waiting for start
  any    -> parent  {"type": "error", "message": M, "errno": E|null, "exec": bool}

The exec fifo (`<state>/<id>/exec.fifo`) is opened O_RDWR by the parent before forking, so the
init inherits it without needing any host path after pivot_root; `start` writes one byte into
it and removes it, the init's blocking read returns and it execs. If execve itself fails after
start, the init writes "pod-runtime: exec <cmd>: <reason>" to the container's stderr and exits
127 (not found) or 126 (any other reason): the waiting caller sees that as the exit status.
"""

from __future__ import annotations

import array  # noqa: F401  (socket.send_fds imports it lazily: too late after pivot_root)
import contextlib
import errno
import fcntl
import json
import os
import select
import shutil
import signal
import socket
import time
from pathlib import Path
from typing import Any

from pod.errors import OCIRuntimeError, RuntimeExecError
from pod.runtime import cgroups, hooks, init, rootfs, seccomp
from pod.runtime import state as st
from pod.runtime import syscalls as sc
from pod.runtime.syscalls import Syscalls
from pod.util.proc_info import in_user_namespace
from pod.util.records import dataclass, field

NAMESPACES = {
    "user": sc.CLONE_NEWUSER,
    "mount": sc.CLONE_NEWNS,
    "uts": sc.CLONE_NEWUTS,
    "ipc": sc.CLONE_NEWIPC,
    "network": sc.CLONE_NEWNET,
    "pid": sc.CLONE_NEWPID,
    "cgroup": sc.CLONE_NEWCGROUP,
}
_MAX_MESSAGE = 65536
_MAX_FDS = 32  # a pty master, or a `tasks` file per cgroup v1 hierarchy (a dozen at most)


@dataclass
class CreateRequest:
    """Everything the stages need; `spec` is the parsed config.json."""

    container_id: str
    spec: dict[str, Any]
    rootfs: str
    fifo: Path
    console_socket: Path | None = None
    stdio: tuple[int, int, int] = (0, 1, 2)
    bundle: str = ""
    preserve_fds: int = 0  # the caller's fds 3..3+N-1 go to the container's process too
    seccomp_cache: Path | None = None  # where generated BPF programs are kept

    def state(self, pid: int) -> dict[str, Any]:
        """The OCI state the hooks get on stdin (the status is set per hook kind)."""
        return {
            "ociVersion": self.spec.get("ociVersion") or "1.0.2",
            "id": self.container_id,
            "status": "creating",
            "pid": pid,
            "bundle": self.bundle,
            "annotations": dict(self.spec.get("annotations") or {}),
        }


@dataclass
class CreateResult:
    pid: int
    cgroup_paths: list[str] = field(default_factory=list)
    # No mount namespace: how many mounts were on the rootfs before create (delete keeps those).
    rootfs_mounts_kept: int | None = None


def namespaces(spec: dict[str, Any]) -> list[tuple[str, int, str | None]]:
    """(type, CLONE_* flag, path or None) for linux.namespaces, checked."""
    found = []
    for entry in (spec.get("linux") or {}).get("namespaces") or []:
        kind = entry.get("type", "")
        if kind not in NAMESPACES:
            raise OCIRuntimeError(f"namespace type {kind!r} is not supported by pod's runtime")
        found.append((kind, NAMESPACES[kind], entry.get("path") or None))
    return found


def send(sock: socket.socket, message: dict[str, Any], fds: list[int] | None = None) -> None:
    data = json.dumps(message).encode()
    if fds:
        socket.send_fds(sock, [data], fds)
    else:
        sock.send(data)


def receive(sock: socket.socket) -> tuple[dict[str, Any] | None, list[int]]:
    """One message and any fds with it; (None, []) at EOF."""
    data, fds, _, _ = socket.recv_fds(sock, _MAX_MESSAGE, _MAX_FDS)
    if not data:
        for fd in fds:
            os.close(fd)
        return None, []
    return json.loads(data), list(fds)


def check_single_threaded() -> None:
    if len(os.listdir("/proc/self/task")) != 1:
        raise OCIRuntimeError(
            "create must be called from a single-threaded process (fork would copy held locks)"
        )


# -- the parent -------------------------------------------------------------------------------


def create(request: CreateRequest, sys: Syscalls | None = None) -> CreateResult:
    """Run the stages; return when the init waits for start (or raise what went wrong)."""
    sys = sys or Syscalls()
    process = request.spec.get("process") or {}
    if process.get("terminal") and request.console_socket is None:
        raise OCIRuntimeError("process.terminal is set: a console socket is required")
    ns = namespaces(request.spec)
    kept = None if any(kind == "mount" for kind, _, _ in ns) else rootfs.mounts_at(request.rootfs)
    check_single_threaded()
    parent_sock, child_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    fifo_fd = os.open(request.fifo, os.O_RDWR | os.O_CLOEXEC)
    try:
        child = os.fork()
    except BaseException:
        for closing in (parent_sock, child_sock):
            closing.close()
        os.close(fifo_fd)
        raise
    if child == 0:
        _child_main(request, ns, sys, parent_sock, child_sock, fifo_fd)
    child_sock.close()
    os.close(fifo_fd)
    with parent_sock:
        return _parent_loop(request, parent_sock, child, CreateResult(0, rootfs_mounts_kept=kept))


def _parent_loop(
    request: CreateRequest, sock: socket.socket, child: int, result: CreateResult
) -> CreateResult:
    child_reaped = False
    try:
        # Made while the child enters its namespaces and forks the init (mkdir and limits, no
        # process moves): the init's placement can begin as soon as its pid is known.
        placement = cgroups.prepare(request.container_id, request.spec.get("linux") or {})
        result.cgroup_paths = placement.paths  # from here on, an abort removes them
        while True:
            message, fds = receive(sock)
            kind = None if message is None else message.get("type")
            if message is None:
                raise OCIRuntimeError(_died(child, child_reaped))
            if kind == "userns":
                write_id_maps(child, request.spec.get("linux") or {})
                send(sock, {"type": "mapped"})
            elif kind == "pid":
                result.pid = int(message["pid"])
                _place(request, sock, result, placement)
                _reap(child)  # after "go": the init need not wait ~1 ms for the child's exit
                child_reaped = True
            elif kind == "console":
                _forward_console(request.console_socket, fds)
            elif kind == "hooks":
                state = request.state(result.pid)
                hooks.run_fatal(request.spec, state, "created", "prestart", "createRuntime")
                send(sock, {"type": "hooked"})
            elif kind == "ready":
                return result
            elif kind == "error":
                raise _error_from(message)
            else:
                raise OCIRuntimeError(f"unexpected message from the container init: {message}")
    except BaseException:
        _abort(result, child, child_reaped, request.rootfs)
        raise


def _place(
    request: CreateRequest, sock: socket.socket, result: CreateResult, placement: cgroups.Placement
) -> None:
    """Put the init in its cgroups and let it go on. On cgroup v1 it moves itself at "go" (fast:
    `cgroups.self_move_files`). On v2 the parent moves it, the slow part (~15 ms): unless it
    is to make a cgroup namespace of them, or a rootless placement may yet fall back to none,
    it goes on with its set-up at once ("go" names the cgroups it will be in, for its
    /sys/fs/cgroup) and waits for "placed" before it says ready."""
    state = request.state(result.pid)
    new_cgroupns = any(kind == "cgroup" for kind, _, _ in namespaces(request.spec))
    files = cgroups.self_move_files(placement.paths)
    if files:
        go: dict[str, Any] = {"type": "go", "state": state, "cgroups": [p for p, _ in files]}
        if not new_cgroupns:
            go["views"] = placement.views()
        try:
            send(sock, go, [fd for _, fd in files])
        finally:
            cgroups.close_self_move(files)
    elif placement.chosen and not placement.rootless and not new_cgroupns:
        send(sock, {"type": "go", "state": state, "placed": False, "views": placement.views()})
        try:
            cgroups.join(placement, result.pid)
            send(sock, {"type": "placed"})
        except (OSError, OCIRuntimeError):
            _raise_reported(sock)  # the init failed meanwhile (its command is missing...)
            raise
    else:
        result.cgroup_paths = cgroups.join(placement, result.pid)
        send(sock, {"type": "go", "state": state})


def _raise_reported(sock: socket.socket) -> None:
    """Raise the error the init sent, if it sent one (it has exited, or is exiting)."""
    if select.select([sock], [], [], 1.0)[0]:
        message, _ = receive(sock)
        if message is not None and message.get("type") == "error":
            raise _error_from(message) from None


def _died(child: int, reaped: bool) -> str:
    if not reaped:
        with contextlib.suppress(ChildProcessError):
            _, status = os.waitpid(child, 0)
            return f"the runtime's child stage died ({_describe_status(status)})"
    return "the container init exited before it was ready"


def _describe_status(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def _abort(result: CreateResult, child: int, child_reaped: bool, root: str) -> None:
    """Undo a failed create: kill the init (and reap it if it became our child), drop cgroups;
    without a mount namespace, detach what the init mounted on the rootfs once it is gone."""
    if result.pid:
        with contextlib.suppress(ProcessLookupError):
            os.kill(result.pid, signal.SIGKILL)
    if not child_reaped:  # first: the init becomes our child (we reap) once the child is gone
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)
        _reap(child)
    if result.pid:
        _reap(result.pid)
    with contextlib.suppress(OCIRuntimeError):  # never hide the error that got us here
        cgroups.remove(result.cgroup_paths)
    if result.rootfs_mounts_kept is not None:
        _wait_gone(result.pid)
        with contextlib.suppress(OCIRuntimeError):
            rootfs.release(root, result.rootfs_mounts_kept)


def _wait_gone(pid: int, timeout: float = 5.0) -> None:
    """Until a killed init that is not our child has died (it may be mounting)."""
    deadline = time.monotonic() + timeout
    while pid and st.proc_start_time(pid) and time.monotonic() < deadline:
        time.sleep(0.01)


def _error_from(message: dict[str, Any]) -> OCIRuntimeError:
    text = str(message.get("message") or "container init failed")
    if message.get("exec"):
        return RuntimeExecError(text, int(message.get("errno") or errno.ENOENT))
    return OCIRuntimeError(text)


def _forward_console(path: Path | None, fds: list[int]) -> None:
    """Hand the pty master to whoever listens on the console socket (runc's protocol)."""
    try:
        if path is None or len(fds) != 1:
            raise OCIRuntimeError("the container init sent a console without a console socket")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            try:
                conn.connect(os.fspath(path))
                socket.send_fds(conn, [b"/dev/ptmx"], fds)
            except OSError as err:
                raise OCIRuntimeError(f"console socket {path}: {err.strerror}") from None
    finally:
        for fd in fds:
            os.close(fd)


def _map_lines(mappings: list[dict[str, Any]]) -> list[tuple[int, int, int]]:
    return [(int(m["containerID"]), int(m["hostID"]), int(m["size"])) for m in mappings]


def write_id_maps(pid: int, linux: dict[str, Any]) -> None:
    """uid_map/gid_map of the child's new user namespace: direct as root, else newuidmap."""
    for kind in ("uid", "gid"):
        lines = _map_lines(linux.get(f"{kind}Mappings") or [])
        if not lines:
            raise OCIRuntimeError(f"the config has a user namespace but no {kind}Mappings")
        own = os.geteuid() if kind == "uid" else os.getegid()
        if os.geteuid() == 0:
            _write_map(pid, kind, lines)
        elif lines == [(lines[0][0], own, 1)] and shutil.which(f"new{kind}map") is None:
            if kind == "gid":
                _write_proc(pid, "setgroups", "deny")
            _write_map(pid, kind, lines)
        else:
            _run_newidmap(pid, kind, lines)


def _write_proc(pid: int, name: str, text: str) -> None:
    try:
        with open(f"/proc/{pid}/{name}", "w") as handle:
            handle.write(text)
    except OSError as err:
        raise OCIRuntimeError(f"writing /proc/{pid}/{name}: {err.strerror}") from None


def _write_map(pid: int, kind: str, lines: list[tuple[int, int, int]]) -> None:
    _write_proc(pid, f"{kind}_map", "".join(f"{a} {b} {c}\n" for a, b, c in lines))


def _run_newidmap(pid: int, kind: str, lines: list[tuple[int, int, int]]) -> None:
    import subprocess  # only rootless with a user namespace in the config needs it

    tool = shutil.which(f"new{kind}map")
    if tool is None:
        raise OCIRuntimeError(f"new{kind}map not found: install the uidmap package")
    args = [str(n) for line in lines for n in line]
    done = subprocess.run([tool, str(pid), *args], capture_output=True, text=True)
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        raise OCIRuntimeError(f"new{kind}map {pid} {' '.join(args)}: {reason}")


# -- the child and the init -------------------------------------------------------------------


def _report(sock: socket.socket, err: BaseException) -> None:
    if isinstance(err, RuntimeExecError):
        message = {"type": "error", "message": str(err), "errno": err.errno, "exec": True}
    elif isinstance(err, OSError):
        where = f" ({err.filename})" if err.filename else ""
        message = {"type": "error", "message": f"{err.strerror or err}{where}", "errno": err.errno}
    else:
        message = {"type": "error", "message": str(err) or type(err).__name__, "errno": None}
    with contextlib.suppress(OSError):
        send(sock, message)


def _expect(sock: socket.socket, kind: str) -> None:
    message, fds = receive(sock)
    for fd in fds:
        os.close(fd)
    if message is None or message.get("type") != kind:
        raise OCIRuntimeError(f"the runtime's parent went away (waiting for {kind!r})")


def _step(what: str, call: Any, *args: Any) -> Any:
    try:
        return call(*args)
    except OSError as err:
        raise OCIRuntimeError(f"{what}: {err.strerror or err}") from None


def _child_main(
    request: CreateRequest,
    ns: list[tuple[str, int, str | None]],
    sys: Syscalls,
    parent_sock: socket.socket,
    sock: socket.socket,
    fifo_fd: int,
) -> None:
    """The child stage; never returns into the caller's code."""
    code = 1
    try:
        parent_sock.close()
        sc.prctl(sc.PR_SET_PDEATHSIG, signal.SIGKILL)
        _child_stage(request, ns, sys, sock, fifo_fd)
        code = 0
    except BaseException as err:  # noqa: BLE001 - everything goes to the parent
        _report(sock, err)
    finally:
        os._exit(code)


def enter_namespaces(
    sys: Syscalls, ns: list[tuple[str, int, str | None]], map_userns: Any = None
) -> None:
    """Join namespaces given by path (user first), then unshare the new ones but cgroup.

    `map_userns` is called right after a new user namespace exists (the parent maps it).
    """
    joins = sorted((entry for entry in ns if entry[2]), key=lambda e: e[0] != "user")
    for kind, flag, path in joins:
        if kind != "cgroup":
            _step(f"joining the {kind} namespace {path}", sys.setns, path, flag)
        if kind == "user":  # as runc: root of the joined namespace, whose maps are its own
            _step("becoming root in the user namespace (is 0 mapped?)", sys.setresgid, 0)
            _step("becoming root in the user namespace (is 0 mapped?)", sys.setresuid, 0)
    new = {kind: flag for kind, flag, path in ns if not path}
    if "user" in new:
        _step("creating the user namespace", sys.unshare, sc.CLONE_NEWUSER)
        if map_userns is not None:
            map_userns()
        _step("becoming root in the user namespace (is 0 mapped?)", sys.setresgid, 0)
        _step("becoming root in the user namespace (is 0 mapped?)", sys.setresuid, 0)
    sys.prctl(sc.PR_SET_DUMPABLE, 0)
    flags = 0
    for kind, flag in new.items():
        if kind not in ("user", "cgroup"):
            flags |= flag
    if flags:
        _step("creating namespaces", sys.unshare, flags)
    if "network" in new:
        # A new network namespace starts with lo down; crun raises it too, runc leaves it to
        # the engine (pod's shim does it for runc).
        _step("bringing up lo", sys.loopback_up)


def _child_stage(
    request: CreateRequest,
    ns: list[tuple[str, int, str | None]],
    sys: Syscalls,
    sock: socket.socket,
    fifo_fd: int,
) -> None:
    def map_userns() -> None:
        send(sock, {"type": "userns"})
        _expect(sock, "mapped")

    enter_namespaces(sys, ns, map_userns)
    pid = os.fork()
    if pid == 0:
        _init_main(request, ns, sys, sock, fifo_fd)
    send(sock, {"type": "pid", "pid": pid})


def _init_main(
    request: CreateRequest,
    ns: list[tuple[str, int, str | None]],
    sys: Syscalls,
    sock: socket.socket,
    fifo_fd: int,
) -> None:
    """The init stage; never returns: it execs the container's command or exits."""
    try:
        sc.prctl(sc.PR_SET_PDEATHSIG, 0)
        sys.prctl(sc.PR_SET_DUMPABLE, 0)
        sock, fifo_fd = _settle_fds(sock, fifo_fd, request.stdio, request.preserve_fds)
        plan = prepare_init(request, ns, sys, sock)
        _reset_signals()
        send(sock, {"type": "ready"})
        sock.close()
        wait_for_start(fifo_fd)
        init.finish_and_exec(sys, request.spec, plan)
    except BaseException as err:  # noqa: BLE001 - everything goes to the parent
        _report(sock, err)
    os._exit(1)


def settle_fds(stdio: tuple[int, int, int], keep: list[int], preserve_fds: int = 0) -> list[int]:
    """stdio onto 0, 1, 2; fds 3..3+`preserve_fds`-1 (the caller's, passed on as runc's
    --preserve-fds) left where they are and made inheritable; the `keep` fds moved above
    them, close-on-exec (their new numbers returned); every other fd closed."""
    first_free = 3 + preserve_fds
    moved = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, first_free) for fd in keep]
    copies = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, first_free) for fd in stdio]
    for target, copy in enumerate(copies):
        os.dup2(copy, target, inheritable=True)
    for fd in range(3, first_free):
        with contextlib.suppress(OSError):  # checked open by whoever asked; gone means gone
            os.set_inheritable(fd, True)
    low = first_free
    for fd in sorted(moved):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 1 << 20)
    return moved


def _settle_fds(
    sock: socket.socket, fifo_fd: int, stdio: tuple[int, int, int], preserve_fds: int = 0
) -> tuple[socket.socket, int]:
    """The init's fds (settle_fds): stdio, the preserved ones, the sync socket and fifo."""
    sync_fd, fifo = settle_fds(stdio, [sock.fileno(), fifo_fd], preserve_fds)
    sock.detach()
    return socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET, fileno=sync_fd), fifo


@dataclass
class ExecPlan:
    path: str
    args: list[str]
    env: dict[str, str]
    seccomp: seccomp.Compiled | None = None  # loaded last, right before execve
    state: dict[str, Any] = field(default_factory=dict)  # for startContainer hooks


def prepare_init(
    request: CreateRequest,
    ns: list[tuple[str, int, str | None]],
    sys: Syscalls,
    sock: socket.socket | None,
) -> ExecPlan:
    """Everything between "go" and "ready": the container as it will exec (unit-tested)."""
    spec, process = request.spec, request.spec.get("process") or {}
    state = request.state(os.getpid())
    placed, views = True, None  # views: None, read from /proc/self once placed
    if sock is not None:
        message, fds = receive(sock)
        if message is None or message.get("type") != "go":
            raise OCIRuntimeError("the runtime's parent went away (waiting for 'go')")
        cgroups.move_self(list(zip(message.get("cgroups", []), fds, strict=True)))
        state = message["state"]
        placed = message.get("placed", True)
        views = message.get("views")

    def await_placed() -> None:
        """The parent moves us into our cgroups meanwhile: done before hooks and "ready"."""
        nonlocal placed
        if not placed and sock is not None:
            _expect(sock, "placed")
            placed = True

    kinds = {kind: path for kind, _, path in ns}
    if "cgroup" in kinds:
        if kinds["cgroup"]:
            _step(f"joining the cgroup namespace {kinds['cgroup']}", sys.setns,
                  kinds["cgroup"], sc.CLONE_NEWCGROUP)  # fmt: skip
        else:
            _step("creating the cgroup namespace", sys.unshare, sc.CLONE_NEWCGROUP)
    _step("setsid", sys.setsid)
    sys.umask(0)
    if "oomScoreAdj" in process:
        # Dumpable for the write only: a non-dumpable process's /proc/self belongs to the
        # initial namespace's root, which a rootless user namespace cannot write as.
        sys.prctl(sc.PR_SET_DUMPABLE, 1)
        _step("writing /proc/self/oom_score_adj", sys.write_file, "/proc/self/oom_score_adj",
              str(process["oomScoreAdj"]))  # fmt: skip
        sys.prctl(sc.PR_SET_DUMPABLE, 0)
    for key in ("hostname", "domainname"):
        if spec.get(key):
            if "uts" not in kinds:
                raise OCIRuntimeError(f"cannot set the {key} without a private UTS namespace")
            setter = sys.sethostname if key == "hostname" else sys.setdomainname
            _step(f"setting the {key}", setter, spec[key])
    in_userns = in_user_namespace() or "user" in kinds
    compiled = seccomp.compile_filter(  # before pivot_root
        (spec.get("linux") or {}).get("seccomp"), request.seccomp_cache
    )

    def run_creation_hooks() -> None:
        """The parent runs prestart/createRuntime, then this init createContainer."""
        if sock is not None:
            await_placed()
            send(sock, {"type": "hooks"})
            _expect(sock, "hooked")
        hooks.run_fatal(spec, state, "created", "createContainer")

    creation_hooks = hooks.hooks_of(spec, "prestart", "createRuntime", "createContainer")
    builder = rootfs.build(sys, request.rootfs, spec, in_userns,
                           run_creation_hooks if creation_hooks else None,
                           own_mount_ns="mount" in kinds, cgroup_views=views)  # fmt: skip
    if process.get("terminal"):
        master = _step("creating the terminal", init.setup_terminal, sys, process,
                       builder.needs_dev())  # fmt: skip
        try:
            if sock is not None:
                send(sock, {"type": "console"}, [master])
        finally:
            os.close(master)
    builder.finish_root()
    init.apply_rlimits(sys, process.get("rlimits") or [])
    cwd = process.get("cwd") or "/"
    entered = init.enter_cwd(sys, cwd, retry_later=True)
    late_filter = init.seccomp_before_privileges(sys, process, compiled)
    keep_groups = init.keeps_groups(spec.get("annotations") or {})
    _step("changing user and capabilities", init.drop_privileges, sys, process, keep_groups)
    sys.umask(int((process.get("user") or {}).get("umask", 0o022)))
    if not entered:
        init.enter_cwd(sys, cwd)
    env = init.environment(process)
    args = list(process.get("args") or [])
    # No process in the config (the spec allows it; `start` refuses such a container).
    path = init.lookup(args, env) if "process" in spec else ""
    await_placed()
    return ExecPlan(path, args, env, late_filter, state)


def _reset_signals() -> None:
    """Ignored signals stay ignored across execve: give the container default dispositions."""
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    for number in range(1, signal.NSIG):
        if number in (signal.SIGKILL, signal.SIGSTOP):
            continue
        with contextlib.suppress(OSError, ValueError):
            signal.signal(number, signal.SIG_DFL)


def wait_for_start(fifo_fd: int) -> None:
    """Block until `start` writes into the exec fifo."""
    while True:
        try:
            data = os.read(fifo_fd, 1)
        except InterruptedError:
            continue
        if data:
            break
    os.close(fifo_fd)

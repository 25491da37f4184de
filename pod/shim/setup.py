"""A container's shim, before and around its supervisor: set-up, start, restart and finish.

`python -m pod.shim.setup --root R --runroot RR --id ID --ready-fd N [--sync-fd M]
[--start-now | --lifeline-fd L] [--network-worker R,W]` is started by pod.shim.client.start_shim
(forked from the CLI when that is safe). It:
1. rootless, becomes root of the container's user namespace (pod.util.userns's handshake on
   --sync-fd: the parent writes the maps; or it joins the rootless network namespace's or
   another container's) and enters a mount namespace of its own;
2. double forks and setsid, becomes the child subreaper (the container, a child of the
   runtime's create, is reparented to it and reaped there), mounts the rootfs, makes the
   container's stdio (pipes, or a pty received on a console socket), creates the container
   and, with --start-now, starts it. "Ready" or the error (PodError type, message, exit code)
   goes to --ready-fd as one JSON line;
3. execs the small supervisor (pod.shim.supervisor) in the same pid. A container that waits
   for a START leaves a starter child behind, forked just before, which starts it when the
   supervisor says so. EOF on the lifeline (its write end dies with the CLI) before the
   START undoes the container (kept as created, or removed with --rm); without --start-now
   and without a lifeline (`pod init`) the container waits for any client's START.

`--op restart|healthcheck --answer-fd N`: the supervisor's helpers (`restart` here; a health
check: pod.container.health.scheduled_check).

The create sequence (`create_and_start`) is one function for the first start and every restart.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import json
import os
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pod import config, events
from pod.container import secret_files
from pod.container.health import interval_seconds
from pod.errors import PodError
from pod.shim import protocol, steps
from pod.store.containers import ContainerRecord, ContainerStore, process_start_time
from pod.store.layout import ATTACH_SOCKET, Layout, attach_socket_name
from pod.store.lock import atomic_write
from pod.systemd import notify
from pod.util import collector
from pod.util.detach import daemonize
from pod.util.own_fds import close_all_but
from pod.util.records import dataclass

if TYPE_CHECKING:
    import argparse


# --- loading and recording ------------------------------------------------------------------


def _line(answer: dict) -> bytes:
    """The supervisor's helpers answer "ok ..." or "error CODE TEXT" on one line."""
    if "error" in answer:
        error = answer["error"]
        return f"error {error['exit_code']} {' '.join(error['message'].splitlines())}".encode()
    return b"ok"


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


# --- stdio, the attach socket, process plumbing ---------------------------------------------


class Stdio:
    """The container's stdio: pipes, or (tty) a console socket the runtime sends the pty on."""

    def __init__(self, tty: bool, interactive: bool) -> None:
        import tempfile

        self.tty, self.interactive = tty, interactive
        self.null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
        self.out = self.err = self.stdin = -1
        self.ours: list[int] = []  # what to close when the supervisor never takes over
        self.console: socket.socket | None = None
        self.console_dir = ""
        if tty:
            base = tempfile.gettempdir()
            self.console_dir = tempfile.mkdtemp(prefix="pod-console-", dir=base)
            if len(self.console_path) > 100:  # sun_path: take a short TMPDIR
                os.rmdir(self.console_dir)
                self.console_dir = tempfile.mkdtemp(prefix="pod-console-", dir="/tmp")
            self.console = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.console.bind(self.console_path)
            self.console.listen(1)
            self.container: tuple[int, ...] = (self.null, self.null, self.null)
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
    def console_path(self) -> str:
        """The console socket's path ("" without a terminal)."""
        return os.path.join(self.console_dir, "console.sock") if self.console_dir else ""

    def after_create(self) -> None:
        """Take the pty master (runc's protocol: SCM_RIGHTS on the console socket)."""
        if self.console is not None:
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
    dir_fd = os.open(directory, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(ATTACH_SOCKET, dir_fd=dir_fd)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(attach_socket_name(dir_fd))
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


def _detach_from_caller(keep: list[int]) -> None:
    """stdio to /dev/null, the cwd to /, every fd closed but `keep` (ready pipe, worker)."""
    os.chdir("/")
    os.umask(0o022)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    close_all_but(keep)


# --- the network ----------------------------------------------------------------------------


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


def _network_up(record: ContainerRecord, pid: int, network: Any) -> None:
    """After the runtime's create: lo up (runc, crun; pod's runtime does it), then the rest."""
    own = not record.network.startswith(("host", "container:", "ns:"))
    held = network is not None and network.netns_path  # lo is up there already
    if own and not held and record.runtime not in ("pod", ""):
        from pod.runtime import netif

        netif.bring_up(pid)
    if network is not None:
        network.complete(pid)


def _joined_container_pid(store: ContainerStore, record: ContainerRecord) -> int:
    """The process of the container whose network `--network container:ID` joins, as it is
    now (its pid may have changed since create; not running fails the start)."""
    from pod.container.state import current_state

    target = store.lookup(record.network.partition(":")[2])
    state = current_state(store, target)
    if state.status != "running" or not state.pid:
        raise PodError(f"container {target.id} is not running: cannot join its network")
    return state.pid


def _set_joined_namespaces(
    layout: Layout, store: ContainerStore, record: ContainerRecord, network: Any
) -> None:
    """Point the bundle's namespaces at the ones this run joins, as they are now: the network
    of container:ID, the one the network preparation holds (rootless user-mode networking),
    or a new one (no path); a pod's container also joins the other namespaces its pod shares
    (pod.pods.members: ipc, uts, pid, cgroup of the infra container)."""
    wanted: dict[str, str] = {}
    if record.network.startswith("container:"):
        wanted["network"] = f"/proc/{_joined_container_pid(store, record)}/ns/net"
    elif not record.network.startswith(("ns:", "host")):  # those: as create wrote the bundle
        wanted["network"] = network.netns_path if network is not None else ""
    if record.pod:
        from pod.pods.members import infra_namespace_paths

        wanted.update(infra_namespace_paths(layout, record))
    bundle = layout.container(record.id).config
    config = json.loads(bundle.read_bytes())
    namespaces = config["linux"]["namespaces"]
    changed = False
    for kind, path in wanted.items():
        entry = next((n for n in namespaces if n["type"] == kind), None)
        if entry is None and path:  # cgroup on a v1 host: only a shared one is listed
            entry = {"type": kind}
            namespaces.append(entry)
        if entry is not None and entry.get("path", "") != path:
            entry.pop("path", None)
            if path:
                entry["path"] = path
            changed = True
    if changed:
        atomic_write(bundle, json.dumps(config).encode())


# --- the create sequence: first start and restarts alike ------------------------------------


@dataclass
class Created:
    """A container the runtime created (and maybe started), with our ends of its stdio."""

    pid: int
    stdio: Stdio


def create_and_start(
    layout: Layout,
    store: ContainerStore,
    record: ContainerRecord,
    network: Any,
    start: bool,
    preserve_fds: int = 0,
) -> Created:
    """The runtime's create on the mounted rootfs, the network joined, and with `start` the
    start: every run of the container, the first and each restart, goes through here.
    `preserve_fds`: fds 3..N+2, the starting command's, go to the init (a first run only:
    a restart has none to give) and are closed here once the runtime has them."""
    from pod.container.state import runtime_state_root

    runtime = steps.load_runtime(record.runtime)
    state_root = runtime_state_root(layout, record.runtime)
    _set_joined_namespaces(layout, store, record, network)
    stdio = Stdio(record.tty, record.interactive)
    try:
        pid = runtime.create(
            state_root,
            record.id,
            secret_files.runtime_bundle(layout, record),  # env secrets: a copy in RAM only
            pid_file=layout.container(record.id).pid_file,
            console_socket=Path(stdio.console_path) if stdio.console_path else None,
            stdio=stdio.container,
            preserve_fds=preserve_fds,
        )
        os.closerange(3, 3 + preserve_fds)  # the supervisor must not hold the init's fds
        stdio.after_create()
        _network_up(record, pid, network)
        events.container_event(layout.runroot, record, "init")
        if start:  # one state write for both steps
            steps.start_in_runtime(layout, store, record, pid=pid)
        else:
            steps.update_state(store, record.id, durable=False, status="created", pid=pid)
    except BaseException:
        stdio.close()
        raise
    return Created(pid, stdio)


def _prepare_rootfs(layout: Layout, record: ContainerRecord) -> None:
    """Workdir and volume copy-up on the mounted rootfs (pod.container.rootfs_prepare)."""
    from pod.container import rootfs_prepare

    paths = layout.container(record.id)
    merged = paths.merged
    config = json.loads(paths.config.read_bytes())
    rootfs_prepare.ensure_workdir(merged, config)
    rootfs_prepare.copy_up_volumes(merged, record.mounts)


def _first_run(
    args: argparse.Namespace, layout: Layout, store: ContainerStore, record: ContainerRecord
) -> dict:
    """Mount, create (and start): the config the supervisor needs; raises when anything fails."""
    from pod.container import rootfs
    from pod.container.state import runtime_state_root
    from pod.network.setup import disconnect

    me = os.getpid()
    state_root = runtime_state_root(layout, record.runtime)
    state_root.mkdir(parents=True, exist_ok=True)
    disconnect(layout, record)  # what a shim killed with -9 left of an earlier run
    if (state_root / record.id).exists():  # and its runtime's container (pod's, runc, crun)
        steps.load_runtime(record.runtime).delete(state_root, record.id, force=True)
    network = _network_preparation(layout, record, worker=args.network_worker)
    directory = layout.container_dir(record.id)
    listener = None
    try:
        driver = rootfs.mount(layout, record, directory)
        steps.update_state(
            store, record.id, durable=False, shim_pid=me, shim_start_time=process_start_time(me),
            pid=0, exit_code=None, error="", finished_at=0.0, oom_killed=False,
            rootfs_driver=driver,
        )  # fmt: skip
        if record.conmon_pidfile:  # conmon's: the bare pid, kept after the container goes
            atomic_write(Path(record.conmon_pidfile), str(me).encode(), mode=0o644)
        notify.write_pid_file(layout.container(record.id), me)  # PIDFile= of a systemd unit
        _prepare_rootfs(layout, record)
        listener = _listen(directory)
        log = -1
        if record.log_driver != "none":
            flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
            log = os.open(record.log_path or layout.container(record.id).log, flags, 0o600)
            os.fchown(log, *_owner(directory))
        created = create_and_start(
            layout, store, record, network, args.start_now, record.preserve_fds
        )
    except BaseException:
        if listener is not None:
            listener.close()
        if network is not None:
            network.abandon()
        raise
    return {
        "pid": created.pid,
        "tty": int(record.tty),
        "started": int(args.start_now),
        "log": log,
        "stdin": created.stdio.stdin,
        "out": created.stdio.out,
        "err": created.stdio.err,
        "listen": listener.detach(),
        "root": args.root,
        "runroot": args.runroot,
        "id": record.id,
        "restart": record.restart_policy,
        "health_ms": int(interval_seconds(record) * 1000),
        "timeout": record.timeout,  # --timeout
        "log_max": record.log_max_size,  # --log-opt max-size
        "utc_offset": time.localtime().tm_gmtoff,
        "hold": ",".join(map(str, network.hand_over_held())) if network is not None else "",
        "tidy": int(network is not None),  # host network parts to tidy at the end
    }


# --- becoming the supervisor ----------------------------------------------------------------


_FIRST_CLIENT_MS = 1000  # how long set-up waits to meet an attached run's client itself


def _fork_starter(layout: Layout, store: ContainerStore, record: ContainerRecord) -> int:
    """A child that starts the container when the supervisor sends START (or START_DETACHED)
    on the returned socket (EOF instead: never). It has the runtime loaded already, so the
    start costs no interpreter and the supervisor never loads it; it ends with its one answer."""
    ours, theirs = socket.socketpair()
    if os.fork():
        theirs.close()
        return ours.detach()
    ours.close()
    close_all_but([theirs.fileno()])
    try:
        request = theirs.recv(1)
        if request in (protocol.START, protocol.START_DETACHED):
            theirs.sendall(_start(layout, store, record, request))
    finally:
        os._exit(0)


def _start(layout: Layout, store: ContainerStore, record: ContainerRecord, request: bytes) -> bytes:
    """The runtime's start, as the supervisor's START asks it: the answer line."""
    try:
        steps.start_in_runtime(layout, store, record)
        if request == protocol.START:  # a client attached to start it
            events.container_event(layout.runroot, record, "attach")
        answer: dict = {"ok": True}
    except BaseException as err:
        answer = steps.error_answer(err)
    return _line(answer)


def _become_supervisor(config: dict, starter: int) -> None:
    """exec the small supervisor (same pid: shim_pid stays true): only C modules live on for
    the container's whole life. An attached run whose container ended already is supervised
    to its end here instead (_ended_meanwhile)."""
    config["starter"] = starter
    fds = ("log", "stdin", "out", "err", "listen", "netns_use", "lifeline", "starter", "client",
           "starting")  # fmt: skip
    for key in fds:
        if config[key] >= 0:
            os.set_inheritable(config[key], True)
    for fd in filter(None, config["hold"].split(",")):
        os.set_inheritable(int(fd), True)
    from pod.shim import supervisor
    from pod.util import lean_python

    args = [f"{key}={value}" for key, value in config.items()]
    ends_with_container = not supervisor.policy_restarts(config["restart"])  # else: small
    if config["starting"] >= 0 and ends_with_container and _ended_meanwhile(config["pid"]):
        supervisor.supervise(args)  # its output and exit go out now, not after a boot
        return
    try:
        os.execve(
            sys.executable,
            lean_python.argv("pod.shim.supervisor", "supervise", args),
            supervisor.supervisor_environment(dict(os.environ)),
        )
    except OSError:
        collector.resume()  # started by a short command, which turned it off
        supervisor.supervise(args)  # the same loop, just in this bigger process


_SUPERVISOR_BOOT_MS = 15  # the exec'd supervisor's interpreter start-up, measured


def _ended_meanwhile(pid: int) -> bool:
    """Whether the container's init ends within the time an exec'd supervisor takes to boot.
    A short command run attached (`pod run --rm IMAGE true`, the START just sent by
    _meet_first_client) is then supervised to its end by this process: the exec would only
    make its output and exit code wait for a new interpreter. A longer one gets the small
    supervisor; its output waits in the pipes meanwhile."""
    import select

    try:
        pidfd = os.pidfd_open(pid)
    except OSError:
        return False
    try:
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        return bool(poller.poll(_SUPERVISOR_BOOT_MS))
    finally:
        os.close(pidfd)


def _enter_user_namespace(
    args: argparse.Namespace, layout: Layout, store: ContainerStore, record: ContainerRecord
) -> int:
    """Rootless: become root of the container's user namespace, in a mount namespace of our
    own. A container on pod networks joins the one its rootless network namespace lives in
    (the returned fd is the use to keep); one joining another's network (container:ID) joins
    that one's, and a pod's container its infra's; any other gets a new one (the handshake on
    --sync-fd: the caller writes the maps). -1: no use to keep."""
    from pod.container import rootfs
    from pod.network import rootless_netns
    from pod.network.modes import shares_rootless_namespace
    from pod.util import userns

    use = -1
    if shares_rootless_namespace(record):
        use = rootless_netns.join(layout)
    elif record.network.startswith("container:"):
        rootless_netns.join_userns(f"/proc/{_joined_container_pid(store, record)}/ns/user")
    elif record.pod and not record.infra:  # the namespaces it joins belong to the infra's
        from pod.pods.members import infra_pid

        rootless_netns.join_userns(f"/proc/{infra_pid(layout, record)}/ns/user")
    elif args.sync_fd < 0:
        raise PodError("a rootless shim needs the user namespace handshake (--sync-fd)")
    else:
        userns.enter_userns(args.sync_fd)
    rootfs.private_mount_namespace()
    return use


def _answer_ready(fd: int, answer: dict) -> None:
    with contextlib.suppress(OSError):  # whoever asked is gone: state.json has the outcome
        _write_all(fd, json.dumps(answer).encode() + b"\n")


def _initializing(args: argparse.Namespace) -> bool:
    """`pod init`'s shim (no start, no client's lifeline): a container it fails to make is
    left as `pod create` left it, as podman's init leaves it."""
    return not args.start_now and args.lifeline_fd < 0


def _setup_main(args: argparse.Namespace, daemonized: bool = False) -> int:
    ready = os.dup(args.ready_fd)  # not inheritable: runtimes and exec'd processes never get it
    os.close(args.ready_fd)
    lifeline = -1
    if args.lifeline_fd >= 0:
        lifeline = os.dup(args.lifeline_fd)
        os.close(args.lifeline_fd)
    loaded = None
    netns_use = -1  # a use of the rootless network namespace (pod.network.rootless_netns)
    try:
        layout, store, record = loaded = steps.load(args.root, args.runroot, args.id)
        if record.rootless:
            netns_use = _enter_user_namespace(args, layout, store, record)
    except BaseException as err:
        answer = steps.error_answer(err)
        try:
            if loaded is not None:
                code, message = answer["error"]["exit_code"], answer["error"]["message"]
                steps.finish_container(*loaded, code, message, _initializing(args))
        finally:
            _answer_ready(ready, answer)
        return 1
    if not daemonized and not daemonize():
        return 0
    try:
        worker = [int(fd) for fd in args.network_worker.split(",")] if args.network_worker else []
        kept = [fd for fd in (netns_use, lifeline) if fd >= 0]
        preserved = range(3, 3 + record.preserve_fds)  # --preserve-fds: the init's, at create
        _detach_from_caller([ready, *worker, *kept, *preserved])
        _set_child_subreaper()
        config = _first_run(args, layout, store, record)
        config["netns_use"] = netns_use
        config["lifeline"] = lifeline
    except BaseException as err:
        answer = steps.error_answer(err)
        try:
            steps.finish_container(
                layout, store, record, answer["error"]["exit_code"], answer["error"]["message"],
                _initializing(args),
            )  # fmt: skip
            if netns_use >= 0:
                os.close(netns_use)
            steps.tidy(layout)  # before the answer: a failed run leaves nothing
        finally:
            _answer_ready(ready, answer)
        os._exit(1)
    _answer_ready(ready, {"ok": True, "pid": config["pid"]})
    os.close(ready)
    config["client"] = config["starting"] = -1
    starter = -1
    if not args.start_now:
        met = lifeline >= 0 and not record.tty and _meet_first_client(config, layout, store, record)
        if not met:  # the supervisor will have a START to pass on
            starter = _fork_starter(layout, store, record)
    _become_supervisor(config, starter)
    os._exit(0)


def _meet_first_client(
    config: dict, layout: Layout, store: ContainerStore, record: ContainerRecord
) -> bool:
    """An attached run's client connects and sends START right after the ready answer: meet it
    here and start the container at once, in this process, which has the runtime loaded (no
    starter to fork: ~1.5 ms). The supervisor is given the client and the start's answer as a
    starter would give it (config "client", "starting", "started"). False: anything else (no
    client within a second, its death, a first frame other than START) is left to the
    supervisor, with a starter, as before."""
    import select

    listener = socket.socket(fileno=config["listen"])
    poller = select.poll()
    try:
        poller.register(listener, select.POLLIN)
        poller.register(config["lifeline"], select.POLLIN)
        if (listener.fileno(), select.POLLIN) not in poller.poll(_FIRST_CLIENT_MS):
            return False  # the client died (lifeline EOF) or is late: the supervisor waits
        client, _ = listener.accept()
        poller.unregister(listener)
    finally:
        listener.detach()
    config["client"] = client.fileno()
    start = protocol.frame(protocol.START)
    poller.register(client, select.POLLIN)  # its first frame, or the lifeline's EOF
    ready = dict(poller.poll(_FIRST_CLIENT_MS))
    if client.fileno() not in ready or client.recv(len(start), socket.MSG_PEEK) != start:
        client.detach()  # the supervisor reads its frames
        return False
    client.recv(len(start))
    client.detach()
    os.close(config["lifeline"])  # the START came: nothing to undo any more
    answer, pending = socket.socketpair()
    with answer:
        answer.sendall(_start(layout, store, record, protocol.START))
    config.update(lifeline=-1, starting=pending.detach(), started=1)
    return True


# --- restart: a helper of the supervisor ----------------------------------------------------


def restart(args: argparse.Namespace) -> bytes:
    """Apply the restart policy to the container that just exited with `args.exit_code`.

    The exit is recorded first (so `pod wait` and `ps` see it), the runtime's container is
    deleted, the back-off waited out, and, unless a stop came meanwhile, the create sequence
    runs again on the same (still mounted) rootfs; the supervisor keeps its log and attach
    socket. Answers "no", "error CODE TEXT", or "ok PID S O E" (which of stdin, stdout and
    stderr follow as fds: 1 or 0 each)."""
    from pod.container import restart_policy
    from pod.container.state import runtime_state_root
    from pod.network.setup import disconnect

    layout, store, record = steps.load(args.root, args.runroot, args.id)
    state = store.read_state(record.id)
    if args.health_restart:  # the health check's on-failure action, whatever the policy
        due = not state.stopped_by_user
    else:
        due = restart_policy.due(record, args.exit_code, state.restart_count, state.stopped_by_user)
    if not due:
        return b"no"
    now = time.time()
    steps.update_state(store, record.id, status="exited", exit_code=args.exit_code, pid=0,
                 finished_at=now)  # fmt: skip
    steps.load_runtime(record.runtime).delete(
        runtime_state_root(layout, record.runtime), record.id, force=True
    )
    disconnect(layout, record)
    steps.tidy(layout)
    time.sleep(restart_policy.delay(state.restart_count, now - (state.started_at or now)))
    state = store.read_state(record.id)
    if state.stopped_by_user or not store.record_file(record.id).exists():
        return b"no"
    # A rootful container's published ports stay reserved by the supervisor between runs.
    network = _network_preparation(layout, record, bind_ports=False)
    try:
        created = create_and_start(layout, store, record, network, start=True)
    except BaseException:
        if network is not None:
            network.abandon()
        raise
    steps.update_state(store, record.id, restart_count=state.restart_count + 1)
    events.container_event(layout.runroot, record, "restart")
    stdio = created.stdio
    ends = [stdio.stdin, stdio.out, stdio.err]
    sock = socket.socket(fileno=args.answer_fd)
    flags = " ".join("1" if fd >= 0 else "0" for fd in ends)
    socket.send_fds(sock, [f"ok {created.pid} {flags}".encode()], [fd for fd in ends if fd >= 0])
    return b""


def _helper_main(args: argparse.Namespace) -> int:
    """One of the supervisor's helpers: its answer (possibly empty: `restart` sends its own
    with the fds) on --answer-fd."""
    try:
        if args.op == "restart":
            answer = restart(args)
        else:
            from pod.container.health import scheduled_check

            layout = Layout(Path(args.root), Path(args.runroot))
            answer = scheduled_check(layout, args.id).encode()
    except BaseException as err:
        answer = _line(steps.error_answer(err))
    if answer:
        with contextlib.suppress(OSError):
            _write_all(args.answer_fd, answer)
    return 0


FIRST_RUN_MODULES = (
    "pod.runtime.process", "pod.runtime.netif", "pod.container.rootfs",
    "pod.container.rootfs_prepare", "pod.container.state", "pod.network.setup", "tempfile",
    "pod.shim.supervisor", "pod.util.lean_python", "subprocess", "pod.network.usermode",
)  # fmt: skip  # in the order a first run needs them (netif: in the runtime's forked child,
# which brings up its loopback); a rootful run needs the last two not


def preload(handed: Callable[[], bool] = lambda: False) -> None:
    """Import what a first run imports on its way (pod.shim.prefork's child does this while
    the CLI creates the container), and do its first-time work: argparse's first parser costs
    ~4 ms (pattern compiles), loading libseccomp ~1 ms in the init (the runtime's filters).
    It stops once `handed()`: a CLI that is done first must not wait for a module the run may
    not need; the run imports what it does need on its way."""
    import importlib

    main_parser()
    config.containers_conf()  # what the first event reads (checked again for changes then)
    steps.load_runtime("pod")
    for name in FIRST_RUN_MODULES:
        if handed():
            return
        importlib.import_module(name)
        if name == "pod.runtime.process":
            from pod.runtime import seccomp

            seccomp.library()


@functools.cache
def main_parser() -> argparse.ArgumentParser:
    """One parser per process: parsing does not change it."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m pod.shim.setup")
    parser.add_argument("--root", required=True)
    parser.add_argument("--runroot", required=True)
    parser.add_argument("--id", required=True)
    parser.add_argument("--ready-fd", type=int, default=-1)
    parser.add_argument("--sync-fd", type=int, default=-1)
    parser.add_argument("--start-now", action="store_true")
    parser.add_argument("--network-worker", default="")
    parser.add_argument("--lifeline-fd", type=int, default=-1)
    parser.add_argument("--op", choices=("restart", "healthcheck"))
    parser.add_argument("--exit-code", type=int, default=125)
    parser.add_argument("--health-restart", action="store_true")
    parser.add_argument("--answer-fd", type=int, default=-1)
    return parser


def main(argv: list[str], daemonized: bool = False) -> int:
    """`daemonized`: detached already (pod.shim.prefork's child), the shim does not fork."""
    args = main_parser().parse_args(argv)
    if args.op:
        return _helper_main(args)
    return _setup_main(args, daemonized)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Rootless pod networks: one network namespace per user where the bridges live (podman's
rootless netns), and the one user namespace it and its containers share.

A veth between a container's namespace and a bridge needs CAP_NET_ADMIN over both, and the
user may enter a user namespace it owns but not a network namespace: so the containers on pod
networks and the bridges' namespace live in one user namespace. A holder process (podman's
pause process) makes it with the user's subordinate ids, makes the network namespace in it and
then sleeps; the shim of each such container joins that user namespace instead of making its
own. With /dev/net/tun usable, slirp4netns gives the namespace its way out (tap0 and the
default route) and the bridges' traffic is masqueraded through it.

Lifetime, with no daemon: each shim whose container uses the namespace holds a shared flock on
`users.lock` for its life (inherited across its fork and exec); `stop_if_unused` stops the
holder, and with it every bridge (they live only in its namespace), once it can take that
lock exclusively. Starting and stopping are serialised by `lock`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from pod.errors import PodError
from pod.runtime import syscalls
from pod.store.containers import pid_alive, process_start_time
from pod.store.layout import Layout
from pod.store.lock import atomic_write_json, locked, read_json
from pod.util.records import asdict, dataclass
from pod.util.userns import become_root


@dataclass(frozen=True)
class Holder:
    """The running holder: its namespaces are /proc/<pid>/ns/{user,net}."""

    pid: int
    start_time: int
    slirp_pid: int = 0

    @property
    def userns_path(self) -> str:
        return f"/proc/{self.pid}/ns/user"

    @property
    def netns_path(self) -> str:
        return f"/proc/{self.pid}/ns/net"


def _open_uses(layout: Layout) -> int:
    """The file whose flock counts the namespace's uses (shared: a use; exclusive: none);
    opened under the namespace's lock, which made its directory."""
    return os.open(layout.rootless_netns_users, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)


def current(layout: Layout) -> Holder | None:
    """The holder, when it runs."""
    data = read_json(layout.rootless_netns_holder)
    if not data:
        return None
    holder = Holder(**data)
    return holder if pid_alive(holder.pid, holder.start_time) else None


def running(layout: Layout) -> Holder:
    """The holder, which a container using its namespace keeps running."""
    holder = current(layout)
    if holder is None:
        raise PodError("the rootless network namespace is gone")
    return holder


def join(layout: Layout) -> int:
    """For a rootless shim that has no namespace yet: start the holder unless it runs, take a
    use of it, and become root of its user namespace. The use is the returned fd (a shared
    flock): keep it open while the container may need the namespace."""
    with locked(layout.rootless_netns_lock):
        use = _open_uses(layout)
        try:
            fcntl.flock(use, fcntl.LOCK_SH)
            holder = current(layout) or _start(layout)
            join_userns(holder.userns_path)
        except BaseException:
            os.close(use)
            raise
    return use


def join_userns(path: str) -> None:
    """Become root of the user namespace at `path` (this process must be single-threaded)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        syscalls.setns(fd, syscalls.CLONE_NEWUSER)
    except OSError as err:
        raise PodError(f"joining the rootless network namespace's user namespace: {err}") from None
    finally:
        os.close(fd)
    become_root()


def enter(layout: Layout) -> None:
    """Move this single-threaded process into the rootless network namespace, where the
    bridges are, as root of its user namespace (joined first unless already in it)."""
    holder = running(layout)
    if os.readlink("/proc/self/ns/user") != os.readlink(holder.userns_path):
        join_userns(holder.userns_path)
    fd = os.open(holder.netns_path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        syscalls.setns(fd, syscalls.CLONE_NEWNET)
    finally:
        os.close(fd)


def where_the_bridges_are(layout: Layout, rootless: bool, work: Callable[[], Any]) -> Any:
    """`work()` (netlink and firewall work on bridges) here when rootful, else in the rootless
    network namespace."""
    return run_inside(layout, work) if rootless else work()


def run_inside(layout: Layout, work: Callable[[], Any]) -> Any:
    """`work()` in a forked child inside the rootless network namespace (the caller keeps its
    own namespaces and may hold threads); its JSON-able result, or its error as PodError."""
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(read_end)
        try:
            enter(layout)
            reply = {"result": work()}
        except BaseException as err:
            reply = {"error": getattr(err, "message", None) or str(err) or type(err).__name__}
        try:
            os.write(write_end, json.dumps(reply).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        data = reader.read()
    os.waitpid(child, 0)
    reply = json.loads(data or b'{"error": "the rootless network namespace helper died"}')
    if "error" in reply:
        raise PodError(reply["error"])
    return reply["result"]


def _start(layout: Layout) -> Holder:
    """The holder (user namespace with the subordinate ids, network namespace, lo up), then
    slirp4netns for it when the user can use the tun device."""
    from pod.network import usermode
    from pod.util.userns import SYNC_FLAG, current_mapping, set_up_child

    parent_end, child_end = socket.socketpair()
    with parent_end:
        with child_end:
            proc = subprocess.Popen(
                [sys.executable, "-I", "-m", "pod.network.rootless_netns", SYNC_FLAG,
                 str(child_end.fileno())],
                pass_fds=(child_end.fileno(),), stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, cwd="/",
            )  # fmt: skip
        try:
            set_up_child(parent_end, proc.pid, current_mapping())
            ready = proc.stdout.read(1) if proc.stdout else b""
        except BaseException:
            proc.kill()
            proc.wait()
            raise
    if ready != b"1":
        proc.wait()
        lines = (proc.stderr.read() if proc.stderr else b"").decode(errors="replace").split("\n")
        reason = next((line for line in reversed(lines) if line.strip()), "no reason given")
        raise PodError(f"starting the rootless network namespace: {reason.strip()}")
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
    holder = Holder(proc.pid, process_start_time(proc.pid))
    if usermode.unusable_reason() is None:
        try:
            slirp = usermode.start(
                holder.netns_path, layout.rootless_netns_slirp4netns_log, holder.userns_path
            )
        except BaseException:
            _stop(holder)
            raise
        holder = Holder(holder.pid, holder.start_time, slirp)
    atomic_write_json(layout.rootless_netns_holder, asdict(holder), 0o600)
    return holder


def stop_if_unused(layout: Layout, grace: float = 0.0) -> None:
    """Stop the holder when no container uses its namespace. With `grace`, an unused one is
    left that long for a next start to take (back-to-back `run --rm`s keep one namespace)."""
    holder_file = layout.rootless_netns_holder
    if not holder_file.exists():
        return
    deadline = time.monotonic() + grace
    while True:
        with locked(layout.rootless_netns_lock):
            holder = current(layout)
            if holder is None:
                holder_file.unlink(missing_ok=True)
                return
            use = _open_uses(layout)
            try:
                fcntl.flock(use, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return  # in use: its last user stops it
            finally:
                os.close(use)
            if time.monotonic() >= deadline:
                _stop(holder)
                holder_file.unlink(missing_ok=True)
                return
        time.sleep(0.05)


def _stop(holder: Holder) -> None:
    for pid in (holder.slirp_pid, holder.pid):
        if pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    # Not our children (started by another process, or detached): wait until they are gone.
    deadline = time.monotonic() + 2.0
    while pid_alive(holder.pid, holder.start_time) and time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(holder.pid, os.WNOHANG)  # ours when this process started it
        time.sleep(0.01)


def _holder_main(argv: list[str]) -> None:
    """The holder: root of a new user namespace, a new network namespace with lo up; says
    "1" on stdout, then sleeps as long as it is needed (exec: nothing of Python stays)."""
    from pod.runtime import netif as loopback
    from pod.util.userns import enter_userns

    try:
        enter_userns(int(argv[1]))
        syscalls.unshare(syscalls.CLONE_NEWNET)
        loopback.set_lo_up()
    except Exception as err:
        print(f"{getattr(err, 'message', None) or err}", file=sys.stderr)
        sys.exit(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.write(1, b"1")
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.execvp("sleep", ["sleep", "infinity"])


if __name__ == "__main__":
    _holder_main(sys.argv[1:])

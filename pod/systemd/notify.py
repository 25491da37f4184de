"""Telling systemd a container has started, as podman's `--sdnotify=conmon` does.

A unit `pod generate systemd --new` writes is Type=notify with NotifyAccess=all and runs
`pod run -d --sdnotify=conmon`: once the container runs, that command sends MAINPID (the
container's supervisor, which stays in the unit's cgroup: pod never moves it) and READY=1, and
waits on a BARRIER=1 so systemd has read both before the command exits (a message whose sender
is gone can no longer be attributed to the unit). A Type=forking unit (`pod start`) reads the
supervisor's pid from the file `write_pid_file` writes instead: the shim writes it as it sets
the container up, before any start returns (as conmon writes its conmon.pid).

NOTIFY_SOCKET is taken out of the environment before the container is started in every mode:
the runtime must not see it (runc would hand it to the container and wait for its READY).
"""

from __future__ import annotations

import os
import select

from pod.store.layout import ContainerPaths
from pod.store.lock import atomic_write

ENV = "NOTIFY_SOCKET"
BARRIER_TIMEOUT = 5.0  # seconds systemd gets to read our messages


def take_socket() -> str:
    """NOTIFY_SOCKET, removed from this process's environment ("" when not run by systemd)."""
    return os.environ.pop(ENV, "")


def write_pid_file(paths: ContainerPaths, pid: int) -> None:
    """The supervisor's pid for PIDFile=, written atomically (readable by systemd only). Not
    synced: the pid names a process, and none outlives a crash."""
    atomic_write(paths.shim_pid_file, f"{pid}\n".encode(), mode=0o600, durable=False)


def _address(path: str) -> str:
    """An abstract socket is written with a leading @."""
    return "\0" + path[1:] if path.startswith("@") else path


def notify(socket_path: str, message: str) -> None:
    """Send `message` (KEY=VALUE lines) and wait until systemd has processed it."""
    import socket  # here: every `pod run` reads this module, few are run by systemd

    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        sock.connect(_address(socket_path))
        sock.sendall(message.encode())
        read_end, write_end = os.pipe()
        try:
            socket.send_fds(sock, [b"BARRIER=1"], [write_end])
            os.close(write_end)
            write_end = -1
            poller = select.poll()
            poller.register(read_end, select.POLLHUP)
            poller.poll(BARRIER_TIMEOUT * 1000)  # systemd closes its copy once it has read all
        finally:
            os.close(read_end)
            if write_end >= 0:
                os.close(write_end)


def wants_announcement(mode: str, socket_path: str) -> bool:
    """Whether a detached start is to tell systemd (`announce_started`): a notify unit's
    `--sdnotify=conmon` run."""
    return bool(socket_path) and mode == "conmon"


def announce_started(supervisor_pid: int, socket_path: str) -> None:
    """After a detached start: MAINPID and READY=1 (`wants_announcement`)."""
    if supervisor_pid > 0:
        notify(socket_path, f"MAINPID={supervisor_pid}\nREADY=1\n")

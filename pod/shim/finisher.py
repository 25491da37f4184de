"""Connecting to a container's attach socket, and the client that only does the end of a run.

`pod stop` (and `rm -f`) becomes the container's FINISHER before it signals: the supervisor then
hands it the end of the run (record the exit, delete, unmount, --rm removal) as it hands it to
an attached `pod run`, instead of loading those modules itself (~25 ms) while the stop waits.
"""

from __future__ import annotations

import os
import select
import signal
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from pod import errors
from pod.shim import protocol
from pod.store.containers import ContainerRecord, ContainerState, ContainerStore, pid_alive
from pod.store.layout import Layout, attach_socket_name

if TYPE_CHECKING:  # socket loads enum and selectors: `pod run -d` has no use for it
    import socket


def connect(layout: Layout, container_id: str) -> socket.socket:
    """Connect through /proc/self/fd/<dirfd>: the socket's full path may exceed sun_path."""
    import socket

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        dir_fd = os.open(layout.container_dir(container_id), os.O_PATH | os.O_DIRECTORY)
        try:
            sock.connect(attach_socket_name(dir_fd))
        finally:
            os.close(dir_fd)
    except (FileNotFoundError, ConnectionRefusedError):
        sock.close()
        raise errors.PodError(
            "you can only attach to running containers: its supervisor is not running"
        ) from None
    return sock


def answer_finish(sock: socket.socket, payload: bytes, finish: Callable[[int, str], str]) -> None:
    """FINISH's payload (the exit code, the error) → `finish(code, error)` → FINISHED with what
    went wrong ("": nothing), for every client the supervisor hands the end of the run to."""
    code = int.from_bytes(payload[:4], "big", signed=True)
    problem = finish(code, payload[4:].decode(errors="replace"))
    sock.sendall(protocol.frame(protocol.FINISHED, problem.encode()))


class Finisher:
    """A client of the supervisor that sees no output and does the end of the run when the
    container exited for good: FINISH → `finish(code, error)` → FINISHED, then EXIT."""

    def __init__(self, layout: Layout, container_id: str) -> None:
        self.sock = connect(layout, container_id)
        self.inbox = bytearray()
        self.sock.sendall(protocol.frame(protocol.FINISHER))

    def close(self) -> None:
        self.sock.close()

    def wait(self, seconds: float, finish: Callable[[int, str], str]) -> bool:
        """True once the supervisor is done (EXIT, or its end of the socket closed); False when
        `seconds` passed first. The container's output frames are dropped."""
        poller = select.poll()
        poller.register(self.sock, select.POLLIN)
        deadline = time.monotonic() + seconds
        while True:
            if not poller.poll(max(0, int((deadline - time.monotonic()) * 1000))):
                return False
            try:
                data = self.sock.recv(65536)
            except OSError:
                return True
            if not data:
                return True
            self.inbox += data
            for kind, payload in protocol.parse_frames(self.inbox, 1 << 30):
                if kind == protocol.EXIT:
                    return True
                if kind == protocol.FINISH:
                    answer_finish(self.sock, payload, finish)


def stop_here(
    store: ContainerStore, record: ContainerRecord
) -> Callable[[ContainerState, int, float], bool | None]:
    """pod.container.stop.stop's `end_here` for `pod stop` and `rm -f`: signal the container as
    its FINISHER, do the end of the run here when the supervisor hands it over (the modules it
    needs load while the container goes), then await the supervisor's exit. True when the stop
    signal had to be followed by SIGKILL; None when there is no supervisor to ask."""

    def end(state: ContainerState, number: int, deadline: float) -> bool | None:
        from pod.container.state import wait_for_shim_exit
        from pod.container.stop import signal_container
        from pod.shim import steps

        if state.pid <= 0 or not pid_alive(state.shim_pid, state.shim_start_time):
            return None
        try:
            finisher = Finisher(store.layout, record.id)
        except (errors.PodError, OSError):
            return None

        def finish(code: int, error: str) -> str:
            return steps.finish_as_client(store.layout, record.id, code, error)

        paused = state.status == "paused"
        try:
            signal_container(state.pid, number, paused)
            steps.load_finish_modules(record.runtime)
            forced = not finisher.wait(deadline - time.monotonic(), finish)
            if forced:
                signal_container(store.read_state(record.id).pid, signal.SIGKILL, paused)
                if not finisher.wait(10, finish):
                    signal_container(state.shim_pid, signal.SIGKILL)
                    return True
        finally:
            finisher.close()
        wait_for_shim_exit(state, 10)
        return forced

    return end

"""pod's port forwarder for rootless containers (podman's rootlessport): accepts on the host,
connects inside the container's network namespace, relays.

The shim binds the host sockets itself (a port in use fails the start before anything else)
and spawns the forwarder with them and a handle on the container's namespace. The forwarder
enters that namespace: sockets it makes from then on live there, while the inherited
listeners stay on the host. TCP connections are relayed by two threads each, with splice(2)
through a pipe (the bytes never enter Python); UDP by one socket per client address inside
the namespace. Standard library only: it runs in a small `python -I -S` and dies with the shim.
"""

from __future__ import annotations

import contextlib
import errno
import os
import selectors
import signal
import socket
import sys
import threading
import time
from collections.abc import Sequence

from pod.errors import PodError, PortInUseError
from pod.util.own_fds import close_all_but
from pod.util.records import dataclass

CHUNK = 1 << 20
UDP_IDLE_SECONDS = 60.0
PR_SET_PDEATHSIG = 1
CLONE_NEWNET = 0x40000000


@dataclass(frozen=True)
class Forward:
    """One published port: the host socket (by fd) and where it goes in the container."""

    listen_fd: int
    protocol: str  # "tcp" or "udp"
    target_host: str
    target_port: int

    def arg(self) -> str:
        return f"{self.listen_fd}:{self.protocol}:{self.target_host}:{self.target_port}"

    @classmethod
    def from_arg(cls, text: str) -> Forward:
        fd, protocol, host, port = text.split(":")
        return cls(int(fd), protocol, host, int(port))


def _unprivileged_start() -> int:
    try:
        with open("/proc/sys/net/ipv4/ip_unprivileged_port_start") as handle:
            return int(handle.read())
    except (OSError, ValueError):
        return 1024


def _go_listen_error(protocol: str, host_ip: str, host_port: int) -> str:
    """podman's wording: `cannot listen on the TCP port: listen tcp4 :8080` (Go's ListenTCP on
    a tcp4/tcp6 address; all addresses are an empty host, IPv6 ones in brackets)."""
    family = "6" if ":" in host_ip else "4"
    host = f"[{host_ip}]" if family == "6" else host_ip
    return (
        f"cannot listen on the {protocol.upper()} port: "
        f"listen {protocol}{family} {host}:{host_port}"
    )


def bind_listener(host_ip: str, host_port: int, protocol: str) -> socket.socket:
    """The host side of a published port, bound (and listening for tcp); podman's errors."""
    kind = socket.SOCK_STREAM if protocol == "tcp" else socket.SOCK_DGRAM
    family = socket.AF_INET6 if ":" in host_ip else socket.AF_INET
    address = host_ip or "0.0.0.0"
    sock = socket.socket(family, kind)
    try:
        if protocol == "tcp":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, host_port))
        if protocol == "tcp":
            sock.listen(128)
    except OSError as err:
        sock.close()
        where = f"listen {protocol} {address}:{host_port}"
        cannot = f"cannot listen on the {protocol.upper()} port: {where}: bind"
        if err.errno == errno.EADDRINUSE:
            raise PortInUseError(f"{_go_listen_error(protocol, host_ip, host_port)}: bind: "
                                 "address already in use") from None  # fmt: skip
        if err.errno == errno.EACCES:
            start = _unprivileged_start()
            raise PodError(
                f"rootlessport cannot expose privileged port {host_port}, you can add "
                f"'net.ipv4.ip_unprivileged_port_start={host_port}' to /etc/sysctl.conf "
                f"(currently {start}), or choose a larger port number (>= {start}): "
                f"{where}: bind: permission denied"
            ) from None
        raise PodError(f"{cannot}: {err.strerror}") from None
    return sock


def spawn(forwards: Sequence[Forward], netns_fd: int) -> int:
    """Start the forwarder with these listeners and namespace; its pid once it is ready."""
    from pod.util import lean_python

    ready_r, ready_w = os.pipe()
    args = [str(ready_w), str(netns_fd), *(f.arg() for f in forwards)]
    argv = lean_python.argv("pod.network.forwarder", "main", args)
    keep = {ready_w, netns_fd, *(f.listen_fd for f in forwards)}
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:
        try:
            _prepare_child(keep, parent)
            os.execv(sys.executable, argv)
        finally:
            os._exit(127)
    os.close(ready_w)
    with os.fdopen(ready_r, "rb") as ready:
        line = ready.readline().decode(errors="replace").strip()
    if line != "ok":
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise PodError(f"starting the port forwarder: {line or 'it exited'}")
    return pid


def _prepare_child(keep: set[int], parent: int) -> None:
    """In the forked child: die with the shim, hold nothing of it but what the job needs."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(0)
    os.setsid()
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    close_all_but(keep)
    for fd in keep:
        os.set_inheritable(fd, True)


def main(argv: list[str]) -> None:
    """`READY_FD NETNS_FD FD:PROTO:HOST:PORT...` (see spawn)."""
    ready, netns = int(argv[0]), int(argv[1])
    forwards = [Forward.from_arg(text) for text in argv[2:]]
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    try:
        _enter(netns)
    except OSError as err:
        os.write(ready, f"entering the container's network namespace: {err}\n".encode())
        os._exit(1)
    os.write(ready, b"ok\n")
    os.close(ready)
    serve(forwards)


def _enter(netns_fd: int) -> None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(netns_fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    os.close(netns_fd)


def serve(forwards: Sequence[Forward]) -> None:
    """Accept and relay until killed."""
    selector = selectors.DefaultSelector()
    udp: dict[int, _UdpPort] = {}
    for forward in forwards:
        kind = socket.SOCK_STREAM if forward.protocol == "tcp" else socket.SOCK_DGRAM
        sock = socket.socket(fileno=forward.listen_fd, type=kind)
        selector.register(sock, selectors.EVENT_READ, forward)
        if forward.protocol == "udp":
            udp[sock.fileno()] = _UdpPort(sock, forward)
    while True:
        for key, _ in selector.select(timeout=UDP_IDLE_SECONDS / 2):
            forward, ready = key.data, key.fileobj
            assert isinstance(ready, socket.socket)  # only sockets are registered
            if forward.protocol == "tcp":
                _accept(ready, forward)
            else:
                udp[ready.fileno()].receive()
        for port in udp.values():
            port.expire()


def _accept(listener: socket.socket, forward: Forward) -> None:
    try:
        client, _ = listener.accept()
    except OSError:
        return
    threading.Thread(target=_connect_and_relay, args=(client, forward), daemon=True).start()


def _connect_and_relay(client: socket.socket, forward: Forward) -> None:
    """Connect inside the namespace (this process lives there), then relay both ways."""
    try:
        target = socket.create_connection((forward.target_host, forward.target_port))
    except OSError:
        client.close()  # nothing listens in the container: the client sees the close
        return
    for sock in (client, target):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    back = threading.Thread(target=_pump, args=(target, client), daemon=True)
    back.start()
    _pump(client, target)
    back.join()
    client.close()
    target.close()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    """source → sink until EOF, then half-close the sink (the other way may go on); on an
    error both sockets are shut down, so the other direction ends too."""
    try:
        try:
            _splice_all(source, sink)
        except OSError as err:
            if err.errno != errno.EINVAL:  # EINVAL: this kernel cannot splice these
                raise
            _copy_all(source, sink)
        sink.shutdown(socket.SHUT_WR)
    except OSError:
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def _splice_all(source: socket.socket, sink: socket.socket) -> None:
    read_end, write_end = os.pipe()
    try:
        while True:
            moved = os.splice(source.fileno(), write_end, CHUNK)
            if moved == 0:
                return
            while moved:
                moved -= os.splice(read_end, sink.fileno(), moved)
    finally:
        os.close(read_end)
        os.close(write_end)


def _copy_all(source: socket.socket, sink: socket.socket) -> None:
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    while True:
        size = source.recv_into(buffer)
        if not size:
            return
        sink.sendall(view[:size])


class _UdpPort:
    """One published UDP port: a socket in the namespace per client address, replies back."""

    def __init__(self, listener: socket.socket, forward: Forward) -> None:
        self.listener, self.forward = listener, forward
        self.peers: dict[tuple, tuple[socket.socket, float]] = {}
        self.lock = threading.Lock()

    def receive(self) -> None:
        try:
            data, client = self.listener.recvfrom(65536)
        except OSError:
            return
        with self.lock:
            entry = self.peers.get(client)
            if entry is None:
                inside = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                inside.connect((self.forward.target_host, self.forward.target_port))
                threading.Thread(target=self._replies, args=(inside, client), daemon=True).start()
            else:
                inside = entry[0]
            self.peers[client] = (inside, time.monotonic())
        with contextlib.suppress(OSError):
            inside.send(data)

    def _replies(self, inside: socket.socket, client: tuple) -> None:
        while True:
            try:
                data = inside.recv(65536)
            except OSError:
                return
            with self.lock:
                if client in self.peers:
                    self.peers[client] = (inside, time.monotonic())
            with contextlib.suppress(OSError):
                self.listener.sendto(data, client)

    def expire(self) -> None:
        now = time.monotonic()
        with self.lock:
            for client, (inside, used) in list(self.peers.items()):
                if now - used > UDP_IDLE_SECONDS:
                    del self.peers[client]
                    with contextlib.suppress(OSError):
                        inside.shutdown(socket.SHUT_RDWR)
                    inside.close()

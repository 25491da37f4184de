"""pod's port forwarder (pod.network.forwarder) against servers in a real network namespace.

The servers run in a namespace made with `unshare -n`; the forwarder gets host listeners on
127.0.0.1 and that namespace, as the shim gives it a rootless container's.
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from polling import poll

from pod.errors import PodError
from pod.network import forwarder

SERVERS = textwrap.dedent(
    """
    import fcntl, socket, struct, threading
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:  # lo up
        request = struct.pack("16sH14s", b"lo", 0, b"")
        flags = struct.unpack("16sH", fcntl.ioctl(s, 0x8913, request)[:18])[1]
        fcntl.ioctl(s, 0x8914, struct.pack("16sH14s", b"lo", flags | 1, b""))

    def echo(conn):
        with conn:
            while data := conn.recv(1 << 16):
                conn.sendall(data)
            conn.sendall(b"done")  # after the client's half-close

    tcp = socket.create_server(("127.0.0.1", 7000))
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 7001))

    def serve_udp():
        while True:
            data, peer = udp.recvfrom(65536)
            udp.sendto(data.upper(), peer)

    threading.Thread(target=serve_udp, daemon=True).start()
    print("ready", flush=True)
    while True:
        conn, _ = tcp.accept()
        threading.Thread(target=echo, args=(conn,), daemon=True).start()
    """
)


@pytest.fixture
def namespace():
    """A process in a new network namespace serving tcp 7000 (echo) and udp 7001 (upper)."""
    if os.geteuid() != 0:
        pytest.skip("making a network namespace here needs root")
    proc = subprocess.Popen(
        ["unshare", "-n", sys.executable, "-c", SERVERS], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "ready"
    fd = os.open(f"/proc/{proc.pid}/ns/net", os.O_RDONLY)
    yield fd
    os.close(fd)
    proc.kill()
    proc.wait()


def start(netns: int, protocols=("tcp", "udp")) -> tuple[int, dict[str, int]]:
    listeners = {p: forwarder.bind_listener("127.0.0.1", 0, p) for p in protocols}
    targets = {"tcp": 7000, "udp": 7001}
    forwards = [
        forwarder.Forward(sock.fileno(), proto, "127.0.0.1", targets[proto])
        for proto, sock in listeners.items()
    ]
    pid = forwarder.spawn(forwards, netns)
    ports = {proto: sock.getsockname()[1] for proto, sock in listeners.items()}
    for sock in listeners.values():
        sock.close()  # the forwarder has its own
    return pid, ports


def stop(pid: int) -> None:
    os.kill(pid, signal.SIGTERM)
    os.waitpid(pid, 0)


def exchange(port: int, payload: bytes) -> bytes:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as sock,
        ThreadPoolExecutor(1) as pool,
    ):
        sending = pool.submit(lambda: (sock.sendall(payload), sock.shutdown(socket.SHUT_WR)))
        received = bytearray()
        while data := sock.recv(1 << 20):
            received += data
        sending.result()
    return bytes(received)


def test_tcp_both_ways_with_half_close_and_a_large_transfer(namespace):
    pid, ports = start(namespace)
    try:
        assert exchange(ports["tcp"], b"hello") == b"hellodone"
        big = os.urandom(8 << 20)
        back = exchange(ports["tcp"], big)
        assert hashlib.sha256(back).digest() == hashlib.sha256(big + b"done").digest()
    finally:
        stop(pid)


def test_ten_concurrent_connections(namespace):
    pid, ports = start(namespace)
    try:
        payloads = [os.urandom(100_000) for _ in range(10)]
        with ThreadPoolExecutor(10) as pool:
            answers = list(pool.map(lambda p: exchange(ports["tcp"], p), payloads))
        assert answers == [p + b"done" for p in payloads]
    finally:
        stop(pid)


def test_udp_round_trip_per_client(namespace):
    pid, ports = start(namespace)
    try:
        for word in (b"one", b"two"):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
                client.settimeout(5)
                client.sendto(word, ("127.0.0.1", ports["udp"]))
                assert client.recvfrom(100)[0] == word.upper()
    finally:
        stop(pid)


def test_nothing_listening_inside_closes_the_client(namespace):
    listener = forwarder.bind_listener("127.0.0.1", 0, "tcp")
    pid = forwarder.spawn(
        [forwarder.Forward(listener.fileno(), "tcp", "127.0.0.1", 7999)], namespace
    )
    try:
        with socket.create_connection(listener.getsockname(), timeout=5) as sock:
            assert sock.recv(10) == b""
    finally:
        listener.close()
        stop(pid)


def test_the_forwarder_holds_only_its_fds_and_dies_with_its_parent(namespace):
    read_end, write_end = os.pipe()
    parent = os.fork()
    if parent == 0:  # a stand-in for the shim
        try:
            pid, _ = start(namespace)
            os.write(write_end, f"{pid}\n".encode())
            time.sleep(60)
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        pid = int(pipe.readline())
    fds = sorted(int(fd) for fd in os.listdir(f"/proc/{pid}/fd"))
    kinds = {os.readlink(f"/proc/{pid}/fd/{fd}").split(":")[0] for fd in fds if fd > 2}
    assert kinds <= {"socket", "anon_inode", "pipe"}, kinds  # listeners, epoll, splice pipes
    assert os.readlink(f"/proc/{pid}/fd/0") == "/dev/null"
    os.kill(parent, signal.SIGKILL)
    os.waitpid(parent, 0)
    poll(lambda: not os.path.exists(f"/proc/{pid}"), 5)
    stat = Path(f"/proc/{pid}/stat")
    assert not stat.exists() or ") Z " in stat.read_text()  # gone, or a zombie awaiting init


def test_a_port_in_use_is_podmans_error():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(PodError, match="bind: address already in use"):
            forwarder.bind_listener("127.0.0.1", port, "tcp")

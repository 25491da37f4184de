"""Bring up `lo` in a new container's network namespace.

Runtimes create the namespace but leave its loopback down (podman's network backend raises it);
with pod's default private namespace and `--network none`, containers expect 127.0.0.1 to work.
Standard library only: the shim calls this between the runtime's create and start.
"""

from __future__ import annotations

import fcntl
import os
import socket
import struct

from pod.util.libc import CLONE_NEWNET, setns

SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1


def bring_up(container_pid: int) -> None:
    """Set lo up inside the container's network namespace, from a short-lived child.

    A child, because a rootless shim may enter the container's namespace but could not come
    back to its own (owned by the host's user namespace). Raises OSError when it fails.
    """
    target = os.open(f"/proc/{container_pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        child = os.fork()
        if child == 0:
            code = 1
            try:
                setns(target, CLONE_NEWNET)
                set_lo_up()
                code = 0
            finally:
                os._exit(code)
    finally:
        os.close(target)
    _, status = os.waitpid(child, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise OSError(f"bringing up lo in the network namespace of {container_pid} failed")


def set_lo_up() -> None:
    """Set lo up in the calling process's network namespace."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH14s", b"lo", 0, b"")
        flags = struct.unpack("16sH", fcntl.ioctl(sock, SIOCGIFFLAGS, request)[:18])[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH14s", b"lo", flags | IFF_UP, b""))

"""Driving pod through a real pseudo-terminal, for the -t tests of run, exec and the shim."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import termios
import time

from polling import poll


def spawn(
    argv: list[str], env: dict[str, str], size: tuple[int, int] | None = None
) -> tuple[int, int]:
    """Run `argv` in a child whose stdin/stdout/stderr are a new pty (of `size` rows and
    columns, when given); return (pid, master fd)."""
    pid, master = pty.fork()
    if pid == 0:
        if size is not None:
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", *size, 0, 0))
        os.execve(argv[0], argv, env)
    return pid, master


def read_until(master: int, wanted: bytes, timeout: float = 10) -> bytes:
    """What the terminal showed until `wanted` (or its end, or `timeout` seconds)."""
    seen = b""
    deadline = time.monotonic() + timeout
    while wanted not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    return seen


def wait_for_prompt(master: int) -> None:
    """Wait for busybox's prompt; answer its cursor-position query as a terminal would."""
    seen = read_until(master, b"# ")
    if b"\x1b[6n" in seen or b"\x1b[6n" in read_until(master, b"\x1b[6n", timeout=1):
        os.write(master, b"\x1b[1;1R")


def type_until_answered(master: int) -> bool:
    """Ask the shell at the other end for 6*7 until it answers: the client's terminal is raw
    and connected then (what is typed before it goes raw is discarded with the mode change)."""
    for _ in range(40):
        os.write(master, b"echo $((6*7))\r")  # the answer, not the echo of the typing
        if b"42\r\n" in read_until(master, b"42\r\n", timeout=0.5):
            return True
    return False


def exit_code(pid: int, timeout: float = 10) -> int:
    """The exit code of the child `pid`; it is killed when it takes longer than `timeout`."""

    def reaped() -> tuple[int] | None:
        done, status = os.waitpid(pid, os.WNOHANG)
        return (status,) if done else None

    status = poll(reaped, timeout)
    if status is None:
        os.kill(pid, 9)
        raise AssertionError("pod did not exit")
    return os.waitstatus_to_exitcode(status[0])

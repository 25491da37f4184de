"""Driving pod through a real pseudo-terminal, for the -t tests of run and exec."""

from __future__ import annotations

import os
import pty
import select
import time


def spawn(pod, *args) -> tuple[int, int]:
    """Run pod in a child whose stdin/stdout/stderr are a new pty; return (pid, master fd)."""
    pid, master = pty.fork()
    if pid == 0:
        os.execve(pod.command(*args)[0], pod.command(*args), pod.env())
    return pid, master


def read_until(master: int, wanted: bytes, timeout: float = 10) -> bytes:
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


def exit_code(pid: int, timeout: float = 10) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    os.kill(pid, 9)
    raise AssertionError("pod did not exit")

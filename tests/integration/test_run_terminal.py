"""`pod run -it` through a real pseudo-terminal: typed input, exit code, ctrl-p ctrl-q detach."""

from __future__ import annotations

import os

import pytest
from terminal import exit_code, read_until, spawn


@pytest.fixture
def busybox(pod, test_images) -> str:
    pod("pull", "-q", test_images.busybox.ref, check=True)
    return test_images.busybox.ref


def wait_for_prompt(master: int) -> None:
    """Wait for busybox's prompt; answer its cursor-position query as a terminal would."""
    seen = read_until(master, b"# ")
    if b"\x1b[6n" in seen or b"\x1b[6n" in read_until(master, b"\x1b[6n", timeout=1):
        os.write(master, b"\x1b[1;1R")


@pytest.mark.parametrize("runtime", ["pod", "runc"])
def test_run_it_gives_a_real_terminal(pod, busybox, runtime):
    pid, master = spawn(pod, "run", "--runtime", runtime, "--rm", "-it", busybox, "sh")
    try:
        wait_for_prompt(master)
        os.write(master, b"tty; echo marker-$((6*7))\r")
        output = read_until(master, b"marker-42")
        assert b"/dev/pts/" in output and b"marker-42" in output
        os.write(master, b"exit 7\r")
        assert exit_code(pid) == 7
    finally:
        os.close(master)
    assert pod("ps", "-a", "-q").stdout == ""


def test_ctrl_p_ctrl_q_detaches(pod, busybox):
    pid, master = spawn(pod, "run", "-it", "--name", "detachable", busybox, "sh")
    try:
        wait_for_prompt(master)
        os.write(master, b"\x10\x11")
        assert exit_code(pid) == 0
    finally:
        os.close(master)
    status = pod("ps", "--format", "{{.Names}} {{.State}}", check=True).stdout
    assert status == "detachable running\n"
    pod("rm", "-f", "-t", "0", "detachable", check=True)

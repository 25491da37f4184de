"""`pod run -it` through a real pseudo-terminal: typed input, exit code, ctrl-p ctrl-q detach."""

from __future__ import annotations

import os

from terminal import exit_code, read_until, spawn, wait_for_prompt


def test_run_it_gives_a_real_terminal(pod, busybox, runtime):
    pid, master = spawn(
        pod.command("run", "--runtime", runtime, "--rm", "-it", busybox, "sh"), pod.env()
    )
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
    pid, master = spawn(pod.command("run", "-it", "--name", "detachable", busybox, "sh"), pod.env())
    try:
        wait_for_prompt(master)
        os.write(master, b"\x10\x11")
        assert exit_code(pid) == 0
    finally:
        os.close(master)
    status = pod("inspect", "--format", "{{.Name}} {{.State.Status}}", "detachable", check=True)
    assert status.stdout == "detachable running\n"
    pod("rm", "-f", "-t", "0", "detachable", check=True)

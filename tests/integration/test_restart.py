"""--restart applied by the shim: on-failure[:N], always, no; a user's stop is no failure."""

from __future__ import annotations

import json
import time

import pytest
from polling import wait_for
from runners import container_state, container_status


def restart_count(pod, name) -> int:
    root = pod.root / "containers"
    for directory in root.iterdir():
        record = json.loads((directory / "container.json").read_text())
        if record["name"] == name:
            return container_state(pod, directory.name)["restart_count"]
    raise AssertionError(name)


def test_on_failure_with_a_limit(pod, runtime, busybox):
    pod("run", "-d", "--runtime", runtime, "--restart", "on-failure:2", "--name", "r", busybox,
        "sh", "-c", "echo run; exit 3", check=True)  # fmt: skip
    wait_for(
        lambda: container_status(pod, "r") == "exited" and restart_count(pod, "r") == 2,
        timeout=20,
        interval=0.1,
    )
    time.sleep(1.0)
    assert restart_count(pod, "r") == 2 and pod("logs", "r").stdout == "run\nrun\nrun\n"
    assert pod("wait", "r").stdout == "3\n"


def test_on_failure_does_not_restart_success_and_no_never(pod, runtime, busybox):
    pod("run", "-d", "--runtime", runtime, "--restart", "on-failure", "--name", "ok", busybox,
        "true", check=True)  # fmt: skip
    pod("run", "-d", "--runtime", runtime, "--restart", "no", "--name", "no", busybox,
        "false", check=True)  # fmt: skip
    time.sleep(1.5)
    assert restart_count(pod, "ok") == 0 and restart_count(pod, "no") == 0


def test_always_restarts_until_the_user_stops(pod, runtime, busybox):
    pod("run", "-d", "--runtime", runtime, "--restart", "always", "--name", "a", busybox, "sh",
        "-c", "trap 'exit 0' TERM; sleep 0.3; exit 0", check=True)  # fmt: skip
    wait_for(lambda: restart_count(pod, "a") >= 2, timeout=20, interval=0.1)
    assert pod("stop", "-t", "5", "a", check=True).stdout == "a\n"
    count = restart_count(pod, "a")
    time.sleep(1.5)
    assert container_status(pod, "a") == "exited" and restart_count(pod, "a") == count
    pod("rm", "a", check=True)


def test_kill_is_not_a_failure(pod, runtime, busybox):
    pod("run", "-d", "--runtime", runtime, "--restart", "on-failure", "--name", "k", busybox,
        "sleep", "60", check=True)  # fmt: skip
    pod("kill", "k", check=True)
    assert pod("wait", "k").stdout == "137\n"
    time.sleep(1.0)
    assert container_status(pod, "k") == "exited" and restart_count(pod, "k") == 0


def test_a_killed_container_process_is_restarted(pod, runtime, busybox):
    import os
    import signal

    pod("run", "-d", "--runtime", runtime, "--restart", "always", "--name", "p", busybox,
        "sleep", "60", check=True)  # fmt: skip
    pid = int(pod("ps", "--format", "{{.Pid}}").stdout)
    os.kill(pid, signal.SIGKILL)
    wait_for(
        lambda: restart_count(pod, "p") == 1 and container_status(pod, "p") == "running",
        timeout=20,
        interval=0.1,
    )
    pod("rm", "-f", "-t", "0", "p", check=True)
    assert pod("ps", "-a", "-q").stdout == ""


def test_bad_policies_are_usage_errors(pod, busybox):
    for policy in ("sometimes", "always:3", "on-failure:x"):
        done = pod("run", "--restart", policy, busybox, "true")
        assert done.returncode == 125 and "restart" in done.stderr, done.stderr
    both = pod("run", "--rm", "--restart", "always", busybox, "true")
    assert both.returncode == 125 and "the --rm option conflicts with --restart" in both.stderr


@pytest.mark.rootless
def test_rootless_on_failure(rootless_pod, rootless_busybox):
    rootless_pod("run", "-d", "--restart", "on-failure:1", "--name", "r", rootless_busybox,
                 "sh", "-c", "echo x; exit 1", check=True)  # fmt: skip
    wait_for(lambda: rootless_pod("logs", "r").stdout == "x\nx\n", timeout=20, interval=0.2)
    rootless_pod("stop", "r", check=True)
    rootless_pod("rm", "r", check=True)

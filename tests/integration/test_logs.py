"""`pod logs`: the shim's k8s-file log, streams kept apart, tail/since/until/timestamps, follow."""

from __future__ import annotations

import re
import subprocess
import time

import pytest


def test_logs_streams_tail_and_timestamps(pod, runtime, busybox):
    script = "echo one; echo err >&2; echo two; printf 'part'; sleep 0.2; echo ial"
    pod("run", "--runtime", runtime, "--name", "l", busybox, "sh", "-c", script, check=True)
    done = pod("logs", "l", check=True)
    assert done.stdout == "one\ntwo\npartial\n"
    assert done.stderr == "err\n"
    assert pod("logs", "--tail", "1", "l").stdout == "partial\n"
    assert pod("logs", "--tail", "0", "l").stdout == ""
    stamped = pod("logs", "-t", "l").stdout.splitlines()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d) one", stamped[0])


def test_since_and_until(pod, runtime, busybox):
    pod("run", "--runtime", runtime, "--name", "l", busybox, "echo", "old", check=True)
    middle = time.time()
    time.sleep(1.1)
    pod("start", "-a", "l", check=True)
    assert pod("logs", "l").stdout == "old\nold\n"
    assert pod("logs", "--since", f"{middle:.3f}", "l").stdout == "old\n"
    assert pod("logs", "--until", f"{middle:.3f}", "l").stdout == "old\n"
    assert pod("logs", "--since", "10m", "l").stdout == "old\nold\n"
    assert pod("logs", "--since", "2000-01-01T00:00:00Z", "l").stdout == "old\nold\n"
    assert pod("logs", "--since", "garbage", "l").returncode == 125


def test_follow_returns_when_the_container_exits(pod, runtime, busybox):
    pod("run", "-d", "--runtime", runtime, "--name", "f", busybox, "sh", "-c",
        "for i in 1 2 3; do echo $i; sleep 0.3; done", check=True)  # fmt: skip
    started = time.monotonic()
    done = pod("logs", "-f", "f", timeout=30)
    assert done.stdout == "1\n2\n3\n" and time.monotonic() - started < 15
    again = pod("logs", "-f", "f", timeout=30)
    assert again.stdout == "1\n2\n3\n"


def test_several_containers_with_names(pod, runtime, busybox):
    pod("run", "--runtime", runtime, "--name", "a", busybox, "echo", "from-a", check=True)
    pod("run", "--runtime", runtime, "--name", "b", busybox, "echo", "from-b", check=True)
    assert pod("logs", "--names", "a", "b").stdout == "a from-a\nb from-b\n"
    ids = pod("logs", "a", "b").stdout.split()
    assert re.fullmatch(r"[0-9a-f]{12}", ids[0]) and ids[1] == "from-a"


def test_log_driver_none(pod, busybox):
    pod("run", "--log-driver", "none", "--name", "n", busybox, "echo", "x", check=True)
    done = pod("logs", "n")
    assert done.returncode == 125
    assert "this container is using the 'none' log driver, cannot read logs" in done.stderr


def test_follow_keeps_reading_a_running_container(pod, runtime, busybox):
    pod("run", "-d", "--runtime", runtime, "--name", "s", busybox, "sh", "-c",
        "trap 'exit 0' TERM; while :; do echo tick; sleep 0.2; done", check=True)  # fmt: skip
    follower = pod.popen("logs", "-f", "s", stdout=subprocess.PIPE, text=True)
    try:
        assert follower.stdout.readline() == "tick\n"
        pod("stop", "s", check=True)
        assert follower.wait(timeout=15) == 0
    finally:
        follower.kill()


@pytest.mark.rootless
def test_rootless_logs(rootless_pod, rootless_busybox):
    rootless_pod("run", "--name", "r", rootless_busybox, "sh", "-c", "echo a; echo b >&2",
                 check=True)  # fmt: skip
    done = rootless_pod("logs", "-f", "r", check=True)
    assert (done.stdout, done.stderr) == ("a\n", "b\n")

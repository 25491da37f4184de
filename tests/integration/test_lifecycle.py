"""stop, kill, restart, wait, init, pause, top, stats, port, rename, exists, prune, diff, and the
`pod container` group, with pod's runtime and runc."""

from __future__ import annotations

import os
import re
import signal
import time

import pytest
from polling import wait_for
from runners import container_state, container_status

# PID 1 ignores signals it has no handler for: a trap makes SIGTERM end it, as 128+15
LOOP = ["sh", "-c", "trap 'exit 143' TERM; while :; do sleep 0.1; done"]


def detached(pod, runtime, busybox, *command, name="c1", opts=()):
    done = pod("run", "-d", "--runtime", runtime, "--name", name, *opts, busybox, *command,
               check=True)  # fmt: skip
    return done.stdout.strip()


def test_stop_prints_the_name_as_given_and_records_the_exit(pod, runtime, busybox):
    detached(pod, runtime, busybox, *LOOP)
    started = time.monotonic()
    done = pod("stop", "c1", check=True)
    assert done.stdout == "c1\n" and time.monotonic() - started < 8
    assert container_status(pod, "c1") == "exited"
    again = pod("stop", "c1")
    assert again.returncode == 0 and again.stdout == "c1\n"
    assert pod("wait", "c1", check=True).stdout == "143\n"


def test_stop_escalates_to_sigkill_with_podmans_warning(pod, runtime, busybox):
    detached(pod, runtime, busybox, "sh", "-c", "trap '' TERM; while :; do sleep 0.1; done")
    started = time.monotonic()
    done = pod("stop", "-t", "1", "c1")
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 8
    assert re.search(
        r"WARN\[\d{4}\] StopSignal SIGTERM failed to stop container c1 in 1 seconds, "
        r"resorting to SIGKILL",
        done.stderr,
    ), done.stderr
    assert pod("wait", "c1").stdout == "137\n"


def test_stop_uses_the_stop_signal(pod, runtime, busybox):
    detached(pod, runtime, busybox, "sh", "-c", "trap 'exit 7' USR1; while :; do sleep 0.1; done",
             opts=["--stop-signal", "USR1"])  # fmt: skip
    time.sleep(0.3)
    pod("stop", "c1", check=True)
    assert pod("wait", "c1").stdout == "7\n"


def test_missing_containers_are_exit_125_and_ignore(pod):
    for verb in ("stop", "kill", "wait", "restart", "pause", "top", "logs", "port"):
        done = pod(verb, "nope")
        assert done.returncode == 125, (verb, done.stderr)
        assert 'no container with name or ID "nope" found: no such container' in done.stderr
    assert pod("stop", "--ignore", "nope").returncode == 0


def test_kill_signal_and_state(pod, runtime, busybox):
    detached(pod, runtime, busybox, *LOOP)
    assert pod("kill", "-s", "TERM", "c1", check=True).stdout == "c1\n"
    assert pod("wait", "c1").stdout == "143\n"
    refused = pod("kill", "c1")
    assert refused.returncode == 125 and "can only kill running containers" in refused.stderr
    assert pod("kill", "-s", "NOPE", "c1").returncode == 125


def test_stop_all_and_kill_all(pod, runtime, busybox):
    first = detached(pod, runtime, busybox, "sleep", "60", name="a")
    second = detached(pod, runtime, busybox, "sleep", "60", name="b")
    done = pod("kill", "-a", check=True)
    assert sorted(done.stdout.split()) == sorted([first, second])
    wait_for(lambda: pod("ps", "-q").stdout == "")
    assert pod("stop", "-a", check=True).stdout == ""


def test_restart_replaces_the_shim_and_start_of_an_exited_container(pod, runtime, busybox):
    detached(pod, runtime, busybox, "sh", "-c", "echo run; sleep 60")
    before = pod("ps", "--format", "{{.Pid}}").stdout.strip()
    assert pod("restart", "-t", "0", "c1", check=True).stdout == "c1\n"
    assert container_status(pod, "c1") == "running"
    assert pod("ps", "--format", "{{.Pid}}").stdout.strip() != before
    pod("stop", "-t", "0", "c1", check=True)
    assert pod("start", "c1", check=True).stdout == "c1\n"
    assert container_status(pod, "c1") == "running"
    pod("rm", "-f", "-t", "0", "c1", check=True)


def test_start_attach_of_an_exited_container_runs_it_again(pod, runtime, busybox):
    pod("run", "--runtime", runtime, "--name", "once", busybox, "echo", "hi", check=True)
    again = pod("start", "-a", "once")
    assert (again.returncode, again.stdout) == (0, "hi\n"), again.stderr


def test_wait_conditions(pod, runtime, busybox):
    pod("create", "--runtime", runtime, "--name", "w", busybox, "sh", "-c", "exit 4", check=True)
    assert pod("wait", "--condition", "created", "w", check=True).stdout == "-1\n"
    pod("start", "w", check=True)
    assert pod("wait", "w", check=True).stdout == "4\n"
    assert pod("wait", "--condition", "bogus", "w").returncode == 125


@pytest.mark.skipif(not os.path.isdir("/sys/fs/cgroup/freezer")
                    and not os.path.exists("/sys/fs/cgroup/cgroup.controllers"),
                    reason="no cgroup freezer")  # fmt: skip
def test_pause_unpause(pod, runtime, busybox):
    detached(pod, runtime, busybox, "sh", "-c", "while :; do date +%s%N > /tmp/t; sleep 0.05; done")
    assert pod("pause", "c1", check=True).stdout == "c1\n"
    assert container_status(pod, "c1") == "paused"
    assert pod("ps", "-a", "--format", "{{.Status}}").stdout == "Paused\n"  # as podman
    pid = int(pod("ps", "-a", "--format", "{{.Pid}}").stdout or 0) or None
    again = pod("pause", "c1")
    assert again.returncode == 125 and "already paused" in again.stderr
    assert pod("unpause", "c1", check=True).stdout == "c1\n"
    assert container_status(pod, "c1") == "running"
    assert pid is None or pid > 0
    assert pod("unpause", "c1").returncode == 125
    pod("pause", "c1", check=True)
    started = time.monotonic()
    pod("stop", "-t", "2", "c1", check=True)  # a frozen container still stops
    assert time.monotonic() - started < 8
    assert container_status(pod, "c1") == "exited"


def test_top_lists_the_container_processes(pod, runtime, busybox):
    detached(pod, runtime, busybox, "sh", "-c", "sleep 60 & sleep 61")
    wait_for(lambda: "sleep 61" in pod("top", "c1").stdout)
    lines = pod("top", "c1", check=True).stdout.splitlines()
    assert lines[0].split() == ["USER", "PID", "PPID", "%CPU", "ELAPSED", "TTY", "TIME",
                                "COMMAND"]  # fmt: skip
    rows = [line.split() for line in lines[1:]]
    assert any(r[0] == "root" and r[1] == "1" and r[-2:] == ["sleep", "61"] for r in rows), lines
    custom = pod("top", "c1", "pid", "args", check=True).stdout.splitlines()
    assert custom[0].split() == ["PID", "COMMAND"]
    assert pod("top", "c1", "bogus").returncode == 125
    pod("stop", "-t", "0", "c1", check=True)
    stopped = pod("top", "c1")
    assert stopped.returncode == 125 and "running containers" in stopped.stderr


def test_stats_no_stream(pod, runtime, busybox):
    detached(pod, runtime, busybox, "sleep", "60")
    done = pod("stats", "--no-stream", check=True).stdout.splitlines()
    assert done[0].split()[:3] == ["ID", "NAME", "CPU"]
    assert "c1" in done[1]
    fmt = pod("stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}} {{.MemUsage}}", "c1")
    name, pids, usage = fmt.stdout.split(" ", 2)
    assert (name, pids) == ("c1", "1") and "/" in usage, fmt.stderr


def test_port_rename_exists_prune(pod, runtime, busybox):
    container_id = detached(pod, runtime, busybox, "sleep", "60")
    assert pod("port", "c1", check=True).stdout == ""
    pod("rename", "c1", "renamed", check=True)
    assert pod("container", "exists", "renamed").returncode == 0
    assert pod("container", "exists", "c1").returncode == 1
    detached(pod, runtime, busybox, "true", name="other")
    taken = pod("rename", "renamed", "other")
    assert taken.returncode == 125 and "already in use" in taken.stderr
    assert pod("rename", "renamed", "bad/name").returncode == 125
    pod("wait", "other", check=True)
    pruned = pod("container", "prune", "-f", check=True).stdout.split()
    assert len(pruned) == 1 and pruned[0] != container_id
    assert pod("container", "ls", "-a", "-q", "--no-trunc").stdout.split() == [container_id]
    pod("container", "rm", "-f", "-t", "0", "renamed", check=True)


def test_diff_shows_added_changed_deleted(pod, runtime, busybox):
    pod("run", "--runtime", runtime, "--name", "d", busybox, "sh", "-c",
        "echo x > /newfile; rm /etc/group; mkdir /newdir", check=True)  # fmt: skip
    lines = pod("diff", "d", check=True).stdout.splitlines()
    assert "A /newfile" in lines and "D /etc/group" in lines and "C /etc" in lines
    assert "A /newdir" in lines


def test_killed_shim_shows_exited_and_rm_cleans(pod, runtime, busybox):
    container_id = detached(pod, runtime, busybox, "sleep", "60")
    os.kill(container_state(pod, container_id)["shim_pid"], signal.SIGKILL)
    wait_for(lambda: container_status(pod, "c1") == "exited")
    pod("rm", "c1", check=True)
    assert pod("ps", "-a", "-q").stdout == ""


def test_container_group_runs_the_same_commands(pod, runtime, busybox):
    out = pod("container", "run", "--runtime", runtime, "--rm", busybox, "echo", "hi")
    assert out.stdout == "hi\n", out.stderr
    pod("container", "create", "--name", "g", busybox, "true", check=True)
    assert pod("container", "ps", "-a", "--format", "{{.Names}}").stdout == "g\n"
    pod("container", "start", "g", check=True)
    assert pod("container", "wait", "g", check=True).stdout == "0\n"


def test_init_holds_the_container_until_start(pod, runtime, busybox):
    """init: the runtime made it (its init process waits), the shim waits for a START; start
    sends it (no second create), start -a attaches as usual; a shim killed meanwhile leaves
    it exited, and init makes it again."""
    container_id = pod("create", "--runtime", runtime, "--name", "held", busybox,
                       "sh", "-c", "echo hi; exit 3", check=True).stdout.strip()  # fmt: skip
    assert pod("init", "held", check=True).stdout == "held\n"
    assert container_status(pod, "held") == "initialized"
    made = container_state(pod, container_id)
    assert made["pid"] > 0 and made["shim_pid"] > 0
    attached = pod("start", "-a", "held", timeout=30)
    assert (attached.returncode, attached.stdout) == (3, "hi\n"), attached.stderr
    pod("init", "held", check=True)
    shim = container_state(pod, container_id)["shim_pid"]
    assert shim != made["shim_pid"]
    assert pod("start", "held", check=True).stdout == "held\n"
    assert pod("wait", "held", check=True).stdout == "3\n"
    assert container_state(pod, container_id)["shim_pid"] == shim  # started, not made again
    assert pod("logs", "held").stdout == "hi\nhi\n"
    pod("init", "held", check=True)
    os.kill(container_state(pod, container_id)["shim_pid"], signal.SIGKILL)
    wait_for(lambda: container_status(pod, "held") == "exited")
    pod("init", "held", check=True)  # the runtime's leftover of the killed shim is gone
    assert pod("start", "-a", "held", timeout=30).returncode == 3
    pod("rm", "held", check=True)
    # a container the runtime cannot make stays created, as podman's init leaves it (exit 125)
    pod("create", "--runtime", runtime, "--name", "bad", busybox, "/nonexistent", check=True)
    failed = pod("init", "bad")
    assert failed.returncode == 125 and "/nonexistent" in failed.stderr
    assert container_status(pod, "bad") == "created"


@pytest.mark.rootless
def test_rootless_init_then_start(rootless_pod, rootless_busybox):
    rootless_pod("create", "--name", "held", rootless_busybox, "echo", "hi", check=True)
    assert rootless_pod("init", "held", check=True).stdout == "held\n"
    assert container_status(rootless_pod, "held") == "initialized"
    assert rootless_pod("init", "held").returncode == 125
    assert rootless_pod("start", "held", check=True).stdout == "held\n"
    assert rootless_pod("wait", "held", check=True).stdout == "0\n"
    assert rootless_pod("logs", "held").stdout == "hi\n"
    rootless_pod("init", "held", check=True)
    assert rootless_pod("rm", "held", check=True).stdout.strip() == "held"


@pytest.mark.rootless
def test_rootless_stop_kill_wait_restart(rootless_pod, rootless_busybox):
    rootless_pod("run", "-d", "--name", "r", rootless_busybox, *LOOP, check=True)
    assert rootless_pod("stop", "-t", "2", "r", check=True).stdout == "r\n"
    assert rootless_pod("wait", "r", check=True).stdout == "143\n"
    rootless_pod("restart", "r", check=True)
    assert rootless_pod("kill", "r", check=True).stdout == "r\n"
    assert rootless_pod("wait", "r", check=True).stdout == "137\n"
    paused = rootless_pod("pause", "r")
    if not os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        assert paused.returncode == 125
        assert "pause is not supported for rootless containers" in paused.stderr
    rootless_pod("rm", "r", check=True)

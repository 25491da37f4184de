"""`pod exec` into running containers: pod's own runtime and runc, rootful and rootless."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from polling import wait_for
from terminal import exit_code, read_until, spawn


@contextlib.contextmanager
def running_box(runner, runtime: str, image: str, *flags: str) -> Iterator[str]:
    """A running container named `box` (sleep 300) in `runner`'s store, removed afterwards."""
    started = runner("run", "--runtime", runtime, "-d", "--name", "box", *flags,
                     image, "sleep", "300")  # fmt: skip
    assert started.returncode == 0, started.stderr
    yield "box"
    runner("rm", "-f", "-t", "0", "box")


@pytest.fixture
def running(pod, runtime, busybox):
    with running_box(pod, runtime, busybox, "-e", "FROM_RUN=1") as name:
        yield name


def test_output_andexit_code(pod, running):
    result = pod("exec", running, "sh", "-c", "echo out; echo err >&2")
    assert (result.returncode, result.stdout, result.stderr) == (0, "out\n", "err\n")
    assert pod("exec", running, "sh", "-c", "exit 3").returncode == 3


@pytest.mark.parametrize(
    ("command", "code"), [(["nonexistent-cmd"], 127), (["/etc"], 126), (["/etc/passwd"], 126)]
)
def test_cannot_invoke(pod, running, command, code):
    result = pod("exec", running, *command)
    assert result.returncode == code, result.stderr
    assert result.stderr.splitlines()[-1].startswith("Error: ")


def test_environment(pod, running, tmp_path):
    env_file = tmp_path / "env"
    env_file.write_text("# comment\nFROM_FILE=file\nBOTH=file\n")
    result = pod("exec", "-e", "BOTH=flag", "--env-file", env_file, running,
                 "sh", "-c", "echo $FROM_RUN $FROM_FILE $BOTH $PATH")  # fmt: skip
    assert result.stdout.split() == ["1", "file", "flag", "/usr/local/sbin:/usr/local/bin:"
                                     "/usr/sbin:/usr/bin:/sbin:/bin"], result.stderr  # fmt: skip


@pytest.mark.parametrize(
    ("user", "expected"), [("1000:1000", "1000 1000"), ("tester", "1000 1000")]
)
def test_user(pod, running, user, expected):
    result = pod("exec", "-u", user, running, "sh", "-c", "echo $(id -u) $(id -g)")
    assert result.stdout.strip() == expected, result.stderr
    assert pod("exec", running, "id", "-u").stdout == "0\n"


def test_unknown_user_is_an_engine_error(pod, running):
    result = pod("exec", "-u", "nobody-here", running, "true")
    assert result.returncode == 125
    assert "unable to find user nobody-here" in result.stderr


def test_workdir(pod, running):
    here, init = pod("exec", running, "sh", "-c", "pwd; readlink /proc/1/cwd").stdout.split()
    assert here == init  # the container's cwd (the image's WorkingDir)
    assert pod("exec", "-w", "/etc", running, "pwd").stdout == "/etc\n"


def test_missing_workdir_exits_127(pod, running):
    """As podman (with either runtime): toolbox run falls back to another directory on 127."""
    result = pod("exec", "-w", "/nonexistent", running, "true")
    assert result.returncode == 127, result.stderr
    assert "/nonexistent" in result.stderr


def test_tty_with_stdin_from_a_file(pod, running, tmp_path):
    """exec -it whose stdin is no terminal (a script's /dev/null, a file: podman-compose exec
    always passes -it) reads it as it comes: epoll refuses such files."""
    (tmp_path / "input").write_text("from-a-file\n")
    for stdin, probe, last in (
        ("/dev/null", "tty", ""),
        (tmp_path / "input", "tty; read -r line; echo got:$line", "got:from-a-file"),
    ):
        with open(stdin) as source:
            done = subprocess.run(
                pod.command("exec", "-it", running, "sh", "-c", probe),
                stdin=source, capture_output=True, text=True, env=pod.env(), timeout=60,
            )  # fmt: skip
        assert done.returncode == 0, done.stderr
        lines = [line.strip() for line in done.stdout.splitlines()]
        # The terminal echoes the input as it arrives: before or after tty's line, as the
        # two processes happen to run.
        ttys = [line for line in lines if line.startswith("/dev/pts/")]
        assert len(ttys) == 1 and lines[-1] == (last or ttys[0]), lines


def test_interactive_stdin(pod, running):
    result = pod("exec", "-i", running, "cat", input="piped\n")
    assert result.stdout == "piped\n", result.stderr
    assert pod("exec", running, "cat", input="ignored\n").stdout == ""


def test_tty(pod, running):
    command = pod.command("exec", "-it", running, "sh", "-c", "tty; read x; exit $x")
    pid, master = spawn(command, pod.env())
    try:
        output = read_until(master, b"/dev/pts/")
        assert b"/dev/pts/" in output
        os.write(master, b"7\r")
        assert exit_code(pid) == 7
    finally:
        os.close(master)


def test_detach(pod, running):
    result = pod("exec", "-d", running, "sleep", "123")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    wait_for(lambda: "sleep 123" in pod("exec", running, "ps").stdout, timeout=10, interval=0.1)


def test_joins_the_pid_namespace(pod, running):
    assert pod("exec", running, "cat", "/proc/1/cmdline").stdout == "sleep\x00300\x00"


def test_joins_the_cgroups(pod, running):
    result = pod("exec", running, "sh", "-c", "md5sum /proc/1/cgroup /proc/$$/cgroup")
    init, own = (line.split()[0] for line in result.stdout.splitlines())
    assert init == own, result.stderr


def test_only_stdio_fds(pod, running):
    result = pod("exec", running, "sh", "-c", "ls /proc/$$/fd; true")  # sh, not ls
    assert result.stdout.split() == ["0", "1", "2"], result.stdout


def test_pod_runtime_exec_verb(pod, busybox, tmp_path):
    """`pod-runtime exec` (runc's command line) on a container pod runs with its own runtime."""
    pod("run", "-d", "--name", "rt", busybox, "sleep", "300", check=True)
    container_id = pod("ps", "-q", "--no-trunc", check=True).stdout.strip()
    base = [sys.executable, "-m", "pod.runtime.cli", "--root", pod.runroot / "runtime" / "pod"]
    try:
        done = subprocess.run([*base, "exec", container_id, "sh", "-c", "echo $$; exit 5"],
                              capture_output=True, text=True)  # fmt: skip
        assert done.returncode == 5, done.stderr
        assert int(done.stdout) > 1  # not the init: a new pid in its namespace
        process = tmp_path / "process.json"
        process.write_text(json.dumps({"args": ["cat", "/proc/1/cmdline"], "cwd": "/",
                                       "env": ["PATH=/bin"]}))  # fmt: skip
        done = subprocess.run([*base, "exec", "--process", process, container_id],
                              capture_output=True, text=True)  # fmt: skip
        assert (done.returncode, done.stdout) == (0, "sleep\x00300\x00"), done.stderr
        missing = subprocess.run([*base, "exec", container_id, "nope"], capture_output=True)
        assert missing.returncode == 127
    finally:
        pod("rm", "-f", "-t", "0", "rt")


def test_capabilities_match_the_container(pod, running):
    script = "grep CapEff /proc/1/status; grep CapEff /proc/self/status"
    first, second = pod("exec", running, "sh", "-c", script).stdout.splitlines()
    assert first == second
    privileged = pod("exec", "--privileged", running, "grep", "CapEff", "/proc/self/status")
    status = Path("/proc/self/status").read_text().splitlines()
    host = next(line for line in status if line.startswith("CapBnd"))
    assert privileged.stdout.split()[1] == host.split()[1]


def test_not_running_and_unknown(pod, runtime, busybox):
    pod("create", "--runtime", runtime, "--name", "idle", busybox, "true", check=True)
    result = pod("exec", "idle", "true")
    assert result.returncode == 125
    assert result.stderr == (
        "Error: can only create exec sessions on running containers: container state improper\n"
    )
    result = pod("exec", "nosuch", "true")
    assert result.returncode == 125
    assert (
        result.stderr == 'Error: no container with name or ID "nosuch" found: no such container\n'
    )


def test_latest(pod, running):
    assert pod("exec", "-l", "hostname").returncode == 0


def test_concurrent_execs_keep_their_codes(pod, running):
    def one(code: int) -> int:
        return pod("exec", running, "sh", "-c", f"sleep 0.2; exit {code}").returncode

    with ThreadPoolExecutor(10) as pool:
        assert list(pool.map(one, range(10, 20))) == list(range(10, 20))


# --- rootless --------------------------------------------------------------------------------


@pytest.fixture
def rootless_running(rootless_pod, runtime, rootless_busybox):
    with running_box(rootless_pod, runtime, rootless_busybox) as name:
        yield name


@pytest.mark.rootless
def test_rootless_exec(rootless_pod, rootless_running):
    result = rootless_pod("exec", rootless_running, "sh", "-c", "id -u; cat /proc/1/cmdline")
    assert (result.returncode, result.stdout) == (0, "0\nsleep\x00300\x00"), result.stderr
    assert rootless_pod("exec", rootless_running, "sh", "-c", "exit 4").returncode == 4
    assert rootless_pod("exec", rootless_running, "nope").returncode == 127
    tester = rootless_pod("exec", "-u", "tester", rootless_running, "id", "-u")
    assert tester.stdout == "1000\n", tester.stderr
    fds = rootless_pod("exec", rootless_running, "sh", "-c", "ls /proc/$$/fd; true")  # sh's
    assert fds.stdout.split() == ["0", "1", "2"]


@pytest.mark.rootless
def test_rootless_interactive_and_detach(rootless_pod, rootless_running):
    result = rootless_pod("exec", "-i", rootless_running, "cat", input="in\n")
    assert result.stdout == "in\n", result.stderr
    assert rootless_pod("exec", "-d", rootless_running, "sleep", "77").returncode == 0
    processes = ("exec", rootless_running, "ps")
    wait_for(lambda: "sleep 77" in rootless_pod(*processes).stdout, timeout=10, interval=0.1)

"""What the shim itself does with run's options: --timeout, --log-opt path= and max-size=,
--conmon-pidfile of an attached run, and run --preserve-fds, with pod's runtime and runc,
rootful and rootless; the exit codes as podman 4.3.1 gives them."""

from __future__ import annotations

import os
import shlex
import subprocess
import time

import pytest
from test_global_and_build_flags import passing_fd3


def test_timeout_kills_the_container_with_podmans_code(pod, runtime, busybox):
    started = time.monotonic()
    done = pod("run", "--rm", "--runtime", runtime, "--timeout", "1", busybox, "sleep", "30",
               timeout=60)  # fmt: skip
    assert done.returncode == 255, done.stderr  # podman 4.3.1: 255
    assert time.monotonic() - started < 15


def test_log_path_and_max_size(pod, busybox, tmp_path):
    log = tmp_path / "elsewhere.log"
    pod("run", "--name", "logged", "--log-opt", f"path={log}", busybox, "echo", "to the file",
        check=True)  # fmt: skip
    assert "to the file" in log.read_text()
    assert pod("logs", "logged", check=True).stdout == "to the file\n"
    script = "i=0; while [ $i -lt 400 ]; do echo line-$i-padding-padding-padding; i=$((i+1)); done"
    pod("run", "--name", "bounded", "--log-opt", "max-size=2k", busybox, "sh", "-c", script,
        check=True)  # fmt: skip
    path = pod("inspect", "--format", "{{.HostConfig.LogConfig.Path}}", "bounded",
               check=True).stdout.strip()  # fmt: skip
    assert 0 < os.path.getsize(path) <= 2048
    assert "line-399-" in pod("logs", "bounded", check=True).stdout  # the latest lines stay


def test_conmon_pidfile_of_an_attached_run(pod, busybox, tmp_path):
    path = tmp_path / "conmon.pid"
    pod("run", "--rm", "--conmon-pidfile", path, busybox, "true", check=True)
    assert path.read_text().isdigit() and oct(path.stat().st_mode & 0o777) == "0o644"


def test_run_preserve_fds(pod, runtime, busybox, tmp_path):
    passed = tmp_path / "passed"
    passed.write_text("run through fd 3\n")
    command = pod.command("run", "--rm", "--runtime", runtime, "--preserve-fds", "1", busybox,
                          "cat", "/proc/self/fd/3")  # fmt: skip
    done = subprocess.run(passing_fd3(command, passed), env=pod.env(), capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert (done.returncode, done.stdout) == (0, "run through fd 3\n"), done.stderr
    # The supervisor keeps none of them: a pipe's reader sees EOF once the container is gone.
    command = pod.command("run", "-d", "--runtime", runtime, "--preserve-fds", "1", busybox,
                          "true")  # fmt: skip
    reader, writer = os.pipe()
    try:
        as_fd3 = f"exec 3<&0 0</dev/null; exec {shlex.join(map(str, command))}"  # stdin -> 3
        subprocess.run(["sh", "-c", as_fd3], env=pod.env(), stdin=writer, check=True,
                       timeout=60, capture_output=True)  # fmt: skip
        os.close(writer)
        writer = -1
        os.set_blocking(reader, False)
        deadline = time.monotonic() + 10
        while True:
            try:
                if os.read(reader, 1) == b"":
                    break
            except BlockingIOError:
                assert time.monotonic() < deadline, "something still holds the pipe"
                time.sleep(0.05)
    finally:
        os.close(reader)
        if writer >= 0:
            os.close(writer)


@pytest.mark.rootless
def test_rootless_timeout_and_preserve_fds(rootless_pod, rootless_busybox, rootless_user):
    done = rootless_pod("run", "--rm", "--timeout", "1", rootless_busybox, "sleep", "30",
                        timeout=60)  # fmt: skip
    assert done.returncode == 255, done.stderr
    passed = rootless_pod.tmp / "passed"
    passed.write_text("rootless run fd 3\n")
    os.chown(passed, rootless_user.uid, rootless_user.gid)
    command = [rootless_user.pod_bin, "--root", rootless_pod.root, "--runroot",
               rootless_pod.runroot, "run", "--rm", "--preserve-fds", "1", rootless_busybox,
               "cat", "/proc/self/fd/3"]  # fmt: skip
    done = rootless_user.run(*passing_fd3(command, passed))
    assert (done.returncode, done.stdout) == (0, "rootless run fd 3\n"), done.stderr

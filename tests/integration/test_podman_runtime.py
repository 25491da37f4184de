"""podman driving pod's OCI runtime: `podman --runtime pod-runtime ...` with podman's own default
seccomp profile (the one containers-common ships, which podman resolves into config.json).

podman runs with a store of its own under the test's tmp_path, cgroupfs and file events (there
is no systemd here), and the test registry marked insecure (podman_ref.PodmanRunner); conmon
drives `pod-runtime create, start, state, exec, kill, delete` exactly as it drives runc.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from mounts import mounts_under
from podman_ref import PodmanRunner

POD_RUNTIME = Path(sys.executable).parent / "pod-runtime"
SECCOMP = "grep ^Seccomp: /proc/self/status"

pytestmark = [
    pytest.mark.needs_tool("podman"),
    pytest.mark.skipif(os.geteuid() != 0, reason="podman runs as root here"),
]


@pytest.fixture
def podman(tmp_path, registry, test_images):
    """podman with pod's runtime (podman_ref.PodmanRunner), the busybox test image pulled."""
    runner = PodmanRunner(tmp_path / "podman", [registry.host], runtime=str(POD_RUNTIME))
    try:
        runner("pull", "-q", test_images.busybox.ref, check=True)
        yield runner
    finally:
        runner.close()


def test_run_with_podmans_default_profile(podman, test_images):
    image = test_images.busybox.ref
    result = podman("run", "--rm", image, "sh", "-c", f"{SECCOMP}; exit 3")
    assert (result.returncode, result.stdout.split()) == (3, ["Seccomp:", "2"]), result.stderr
    unconfined = podman("run", "--rm", "--security-opt", "seccomp=unconfined", image, "sh", "-c",
                        SECCOMP, check=True)  # fmt: skip
    assert unconfined.stdout.split() == ["Seccomp:", "0"]
    missing = podman("run", "--rm", image, "nosuch")
    assert missing.returncode == 127 and "executable file not found" in missing.stderr
    assert "does not exist" not in missing.stderr  # podman's clean-up delete --force is quiet


def test_a_profile_podman_is_given_is_what_the_container_gets(podman, test_images, tmp_path):
    profile = tmp_path / "profile.json"
    profile.write_text(json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 30}]}))  # fmt: skip
    result = podman("run", "--rm", "--security-opt", f"seccomp={profile}",
                    test_images.busybox.ref, "mkdir", "/tmp/x")  # fmt: skip
    assert result.returncode == 1 and "Read-only file system" in result.stderr  # EROFS = 30


def test_detached_exec_stop_rm(podman, test_images):
    script = 'trap "exit 7" TERM; while :; do sleep 0.1; done'
    name = podman("run", "-d", test_images.busybox.ref, "sh", "-c", script,
                  check=True).stdout.strip()  # fmt: skip
    assert podman("ps", "-q", "--no-trunc", check=True).stdout.split() == [name]
    execd = podman("exec", name, "sh", "-c", f"{SECCOMP}; echo $PPID; exit 5")
    assert execd.returncode == 5, execd.stderr
    assert execd.stdout.split() == ["Seccomp:", "2", "0"]  # filtered, joined from outside
    tty = podman("exec", "-t", name, "tty", check=True)
    assert tty.stdout.strip().startswith("/dev/pts/")
    podman("stop", "-t", "5", name, check=True)
    state = podman("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", name)
    assert state.stdout.split() == ["exited", "7"], state.stderr
    podman("rm", name, check=True)
    assert podman("ps", "-a", "-q", check=True).stdout == ""
    assert not [line for line in mounts_under(podman.root) if " overlay " in line]

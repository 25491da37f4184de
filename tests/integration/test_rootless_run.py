"""Rootless containers: a real unprivileged user with subuid ranges and an XDG_RUNTIME_DIR."""

from __future__ import annotations

import os

import pytest

pytestmark = pytest.mark.rootless


def test_rootless_run_rm(rootless_pod, runtime, rootless_busybox):
    result = rootless_pod(
        "run", "--runtime", runtime, "--rm", rootless_busybox, "sh", "-c", "echo $(id -u)"
    )
    assert (result.returncode, result.stdout) == (0, "0\n"), result.stderr
    assert rootless_pod("ps", "-a", "-q").stdout == ""
    assert not list((rootless_pod.root / "containers").iterdir())


def test_rootless_exit_codes(rootless_pod, runtime, rootless_busybox):
    assert (
        rootless_pod(
            "run", "--runtime", runtime, "--rm", rootless_busybox, "sh", "-c", "exit 5"
        ).returncode
        == 5
    )
    assert (
        rootless_pod("run", "--runtime", runtime, "--rm", rootless_busybox, "nope").returncode
        == 127
    )


def test_rootless_detached_and_rm_force(rootless_pod, runtime, rootless_busybox):
    started = rootless_pod("run", "--runtime", runtime, "-d", rootless_busybox, "sleep", "60")
    assert started.returncode == 0, started.stderr
    assert rootless_pod("ps", "-q").stdout.strip() == started.stdout.strip()[:12]
    removed = rootless_pod("rm", "-f", "-t", "0", started.stdout.strip())
    assert removed.returncode == 0, removed.stderr
    assert rootless_pod("ps", "-a", "-q").stdout == ""


def test_rootless_file_owners_through_a_bind_mount(
    rootless_user, rootless_pod, runtime, rootless_busybox
):
    share = rootless_user.make_tmpdir("share")
    script = "touch /s/by-root; chown 1000:1000 /s/by-root; ls -ln /s"
    result = rootless_pod("run", "--runtime", runtime, "--rm", "-v", f"{share}:/s",
                          rootless_busybox, "sh", "-c", script)  # fmt: skip
    assert result.returncode == 0, result.stderr
    info = os.stat(share / "by-root")
    assert (info.st_uid, info.st_gid) == (
        rootless_user.subuid_start + 999,
        rootless_user.subgid_start + 999,
    )


def test_rootless_keep_id(rootless_user, rootless_pod, runtime, rootless_busybox):
    result = rootless_pod("run", "--runtime", runtime, "--rm", "--userns", "keep-id",
                          rootless_busybox, "id", "-u")  # fmt: skip
    assert result.stdout.strip() == str(rootless_user.uid), result.stderr


def test_rootless_named_volume(rootless_pod, runtime, rootless_busybox):
    write = rootless_pod("run", "--runtime", runtime, "--rm", "-v", "vol:/data", rootless_busybox,
                         "sh", "-c", "echo x > /data/f && chown 1000 /data/f")  # fmt: skip
    assert write.returncode == 0, write.stderr
    read = rootless_pod("run", "--runtime", runtime, "--rm", "-v", "vol:/data", rootless_busybox,
                        "stat", "-c", "%u %n", "/data/f")  # fmt: skip
    assert read.stdout == "1000 /data/f\n"
    assert rootless_pod("volume", "rm", "vol").returncode == 0


def test_rootless_loopback_is_up(rootless_pod, runtime, rootless_busybox):
    script = "httpd -p 127.0.0.1:8080 -h /etc && wget -q -O - http://127.0.0.1:8080/hostname"
    out = rootless_pod("run", "--runtime", runtime, "--rm", rootless_busybox, "sh", "-c",
                       script + " >/dev/null && echo reachable")  # fmt: skip
    assert out.stdout == "reachable\n", out.stderr

"""`pod cp` where pod goes beyond podman or where there is nothing to compare: hostile paths
(symlinks in the container, on the host, in a tar on stdin) that must never lead outside the
destination, the /etc files pod writes, bind-mounted files written in place, device
destinations, `--pause`, one container at both ends. Rootful and rootless each.
test_cp_podman.py holds the behaviours compared with podman."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

SETUP = "mkdir -p /d/sub && echo f-data > /d/f && echo g-data > /d/sub/g"


@dataclass
class PodAs:
    """pod as root or as the rootless user: its runner, the busybox image, and fresh host
    directories owned by whoever runs pod."""

    mode: str
    run: Callable
    image: str
    make_dir: Callable[[str], Path]


@pytest.fixture(params=["root", "rootless"])
def pod_as(request, tmp_path) -> PodAs:
    if request.param == "root":
        runner, image = request.getfixturevalue("pod"), request.getfixturevalue("busybox")

        def make_dir(name: str) -> Path:
            path = tmp_path / name
            path.mkdir()
            return path

        return PodAs("root", runner, image, make_dir)
    user = request.getfixturevalue("rootless_user")
    runner = request.getfixturevalue("rootless_pod")
    return PodAs("rootless", runner, request.getfixturevalue("rootless_busybox"), user.make_tmpdir)


def box(pod: PodAs, state: str, script: str = SETUP, name: str = "box") -> str:
    """A container `name` with `script` run in it, left running or stopped."""
    pod.run("run", "-d", "--name", name, "--network", "none", pod.image, "sleep", "1000",
            check=True)  # fmt: skip
    pod.run("exec", name, "sh", "-c", script, check=True)
    if state == "stopped":
        pod.run("stop", "-t", "0", name, check=True)
    return name


def _tar(entries: list[tuple[tarfile.TarInfo, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in entries:
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data else None)
    return buf.getvalue()


@pytest.mark.parametrize("state", ["running", "stopped"])
def test_hostile_stdin_tar(pod_as, state):
    box(pod_as, state)
    sentinel = pod_as.make_dir("sentinel")
    climb = _tar([(tarfile.TarInfo(f"../../../../../../..{sentinel}/evil"), b"x")])
    result = pod_as.run("cp", "-", "box:/tmp", input=climb, text=False)
    assert result.returncode == 125
    link = tarfile.TarInfo("l")
    link.type, link.linkname = tarfile.SYMTYPE, "/"
    through = _tar([(link, b""), (tarfile.TarInfo(f"l{sentinel}/evil"), b"x")])
    pod_as.run("cp", "-", "box:/tmp", input=through, text=False)
    hard = tarfile.TarInfo("h")
    hard.type, hard.linkname = tarfile.LNKTYPE, "../../../../etc/passwd"
    result = pod_as.run("cp", "-", "box:/tmp", input=_tar([(hard, b"")]), text=False)
    assert result.returncode == 125
    assert list(sentinel.iterdir()) == []


@pytest.mark.parametrize("state", ["running", "stopped"])
def test_container_symlinks_stay_inside(pod_as, state):
    box(pod_as, state, SETUP + " && ln -s / /escape && ln -s ../../.. /up")
    sentinel = pod_as.make_dir("sentinel")
    secret = sentinel / "secret"
    secret.write_text("host secret")
    src = pod_as.make_dir("src")
    (src / "payload").write_text("payload")
    for link in ("escape", "up"):
        # In: through /escape -> / and /up -> ../../.. the host directory is never reached.
        pod_as.run("cp", src / "payload", f"box:/{link}{sentinel}/payload")
        assert sorted(p.name for p in sentinel.iterdir()) == ["secret"]
        result = pod_as.run("cp", src / "payload", f"box:/{link}/tmp/")
        assert result.returncode == 0, result.stderr
        # Out: the host's file is not found through the links.
        out = src / f"out-{link}"
        result = pod_as.run("cp", f"box:/{link}{secret}", out)
        assert result.returncode == 125
        assert "could not be found on container box" in result.stderr
        assert not out.exists()
    assert secret.read_text() == "host secret"


def test_host_destination_entries_not_followed(pod_as):
    box(pod_as, "running")
    outside = pod_as.make_dir("outside")
    (outside / "f").write_text("untouched")
    dest = pod_as.make_dir("dest")
    (dest / "d").symlink_to(outside)  # the copied directory's name
    result = pod_as.run("cp", "box:/d", dest)
    assert result.returncode == 125
    assert f'cannot overwrite non-directory "{dest}/d" with directory' in result.stderr
    result = pod_as.run("cp", "--overwrite", "box:/d", dest)
    assert result.returncode == 0, result.stderr
    assert not (dest / "d").is_symlink()
    assert (dest / "d" / "f").read_text() == "f-data\n"
    (dest / "f").symlink_to(outside / "f")  # a file's name: replaced, never written through
    assert pod_as.run("cp", "box:/d/f", dest).returncode == 0
    assert not (dest / "f").is_symlink()
    assert (outside / "f").read_text() == "untouched"
    assert sorted(p.name for p in outside.iterdir()) == ["f"]


def test_etc_files_of_a_stopped_container(pod_as):
    """podman copies the empty mount points out of a stopped container; pod the files it wrote
    (and the container saw)."""
    seen = "cat /etc/hosts /etc/hostname /etc/resolv.conf > /seen"
    box(pod_as, "stopped", seen)
    out = pod_as.make_dir("out")
    for name in ("seen", "etc/hosts", "etc/hostname", "etc/resolv.conf"):
        result = pod_as.run("cp", f"box:/{name}", out)
        assert result.returncode == 0, result.stderr
    copied = "".join((out / n).read_text() for n in ("hosts", "hostname", "resolv.conf"))
    assert copied and copied == (out / "seen").read_text()


def test_bind_mounted_file_written_in_place(pod_as):
    """/etc/hosts of a running container is a mount point: it is rewritten where it is."""
    box(pod_as, "running")
    src = pod_as.make_dir("src")
    (src / "hosts").write_text("192.0.2.9 elsewhere\n")
    result = pod_as.run("cp", src / "hosts", "box:/etc/hosts")
    assert result.returncode == 0, result.stderr
    assert pod_as.run("exec", "box", "cat", "/etc/hosts").stdout == "192.0.2.9 elsewhere\n"
    result = pod_as.run("cp", "box:/etc/hosts", src / "back")
    assert (src / "back").read_text() == "192.0.2.9 elsewhere\n"


def test_device_destination_in_a_container_refused(pod_as):
    box(pod_as, "running")
    src = pod_as.make_dir("src")
    (src / "f").write_text("data")
    result = pod_as.run("cp", src / "f", "box:/dev/null")
    assert result.returncode == 125
    assert result.stderr.strip() == (
        'Error: invalid destination: "/dev/null" must be a directory or a regular file'
    )
    assert pod_as.run("exec", "box", "stat", "-c", "%F", "/dev/null").stdout.strip() == (
        "character special file"
    )


@pytest.mark.parametrize("state", ["running", "stopped"])
def test_one_container_at_both_ends(pod_as, state):
    """podman 4.3.1 hangs on this; pod copies within the one container."""
    box(pod_as, state)
    result = pod_as.run("cp", "box:/d", "box:/tmp/", timeout=60)
    assert result.returncode == 0, result.stderr
    out = pod_as.make_dir("out")
    assert pod_as.run("cp", "box:/tmp/d/sub/g", out).returncode == 0
    assert (out / "g").read_text() == "g-data\n"


def test_pause(pod_as):
    box(pod_as, "running")
    src = pod_as.make_dir("src")
    (src / "f").write_text("data")
    result = pod_as.run("cp", "--pause", src / "f", "box:/tmp/f")
    assert result.returncode == 0, result.stderr
    if pod_as.mode == "rootless":  # this host's cgroups are v1: nothing to freeze with
        assert "cannot pause rootless container box without cgroup v2" in result.stderr
    state = pod_as.run("inspect", "-f", "{{.State.Status}}", "box").stdout.strip()
    assert state == "running"
    assert pod_as.run("exec", "box", "cat", "/tmp/f").stdout == "data"
    if pod_as.mode == "root":
        pod_as.run("pause", "box", check=True)
        result = pod_as.run("cp", "--pause", "box:/tmp/f", src / "back")
        assert result.returncode == 0, result.stderr
        state = pod_as.run("inspect", "-f", "{{.State.Status}}", "box").stdout.strip()
        assert state == "paused"
        pod_as.run("unpause", "box", check=True)


def test_kernel_file_systems_left_out(pod_as):
    box(pod_as, "running")
    out = pod_as.run("cp", "box:/", "-", text=False)
    assert out.returncode == 0, out.stderr
    with tarfile.open(fileobj=io.BytesIO(out.stdout)) as tar:
        tops = {name.split("/")[0] for name in tar.getnames()}
    assert {"d", "etc", "bin"} <= tops
    assert not tops & {"proc", "sys", "dev"}

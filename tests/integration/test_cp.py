"""`pod cp`: host ↔ container both ways, tar streams on stdin/stdout, stopped and running
containers, and hostile paths (symlinks in the container, on the host, in a tar) that must never
lead outside the destination root."""

from __future__ import annotations

import io
import subprocess
import tarfile

import pytest


@pytest.fixture
def stopped(pod, busybox) -> str:
    """A stopped container `box` with /d/f, /d/sub/g, and the links /escape -> / and
    /up -> ../../.. planted."""
    script = (
        "mkdir -p /d/sub && echo f-data > /d/f && echo g-data > /d/sub/g"
        " && ln -s / /escape && ln -s ../../.. /up"
    )
    pod("run", "--name", "box", busybox, "sh", "-c", script, check=True)
    return "box"


def _tar(entries: list[tuple[tarfile.TarInfo, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in entries:
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data else None)
    return buf.getvalue()


def _stdin_cp(pod, data: bytes, dest: str) -> subprocess.CompletedProcess:
    return pod("cp", "-", dest, input=data, text=False)


def test_copy_out_file_and_dir(pod, stopped, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    assert pod("cp", "box:/d/f", out / "renamed").returncode == 0
    assert (out / "renamed").read_text() == "f-data\n"
    result = pod("cp", "box:/d", out)
    assert result.returncode == 0, result.stderr
    assert (out / "d" / "sub" / "g").read_text() == "g-data\n"
    result = pod("container", "cp", "box:/d/.", out / "contents")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (out / "contents").iterdir()) == ["f", "sub"]


def test_copy_in_then_read_back(pod, stopped, tmp_path):
    src = tmp_path / "src"
    (src / "inner").mkdir(parents=True)
    (src / "inner" / "h").write_text("h-data")
    (src / "top").write_text("top")
    assert pod("cp", src / "top", "box:/top-file").returncode == 0
    result = pod("cp", src, "box:/tmp")
    assert result.returncode == 0, result.stderr
    back = tmp_path / "back"
    back.mkdir()
    assert pod("cp", "box:/tmp/src/inner/h", back).returncode == 0
    assert (back / "h").read_text() == "h-data"
    assert pod("cp", "box:/top-file", back).returncode == 0
    assert (back / "top-file").read_text() == "top"


def test_created_container_and_streams(pod, busybox):
    pod("create", "--name", "fresh", busybox, "true", check=True)
    data = _tar([(tarfile.TarInfo("in-dir/file"), b"streamed")])
    result = _stdin_cp(pod, data, "fresh:/tmp")
    assert result.returncode == 0, result.stderr
    out = pod("cp", "fresh:/tmp/in-dir", "-", text=False)
    assert out.returncode == 0, out.stderr
    with tarfile.open(fileobj=io.BytesIO(out.stdout)) as tar:
        assert sorted(tar.getnames()) == ["in-dir", "in-dir/file"]
        member = tar.extractfile("in-dir/file")
        assert member is not None and member.read() == b"streamed"


def test_running_container(pod, busybox, tmp_path):
    pod("run", "-d", "--name", "live", busybox, "sleep", "300", check=True)
    (tmp_path / "x").write_text("live-data")
    result = pod("cp", tmp_path / "x", "live:/tmp/x")
    assert result.returncode == 0, result.stderr
    assert pod("exec", "live", "cat", "/tmp/x").stdout == "live-data"
    result = pod("cp", "live:/etc/passwd", tmp_path / "passwd")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "passwd").read_text().startswith("root:")


def test_errors(pod, stopped, tmp_path):
    result = pod("cp", "box:/nope", tmp_path)
    assert result.returncode == 125
    assert result.stderr.strip() == (
        'Error: "/nope" could not be found on container box: no such file or directory'
    )
    result = pod("cp", "nosuch:/etc", tmp_path)
    assert result.returncode == 125
    result = pod("cp", tmp_path / "nope", "box:/tmp")
    assert result.returncode == 125 and "could not be found on the host" in result.stderr


def test_container_symlinks_stay_inside(pod, stopped, tmp_path):
    sentinel = tmp_path / "sentinel"
    sentinel.mkdir()
    secret = sentinel / "secret"
    secret.write_text("host secret")
    src = tmp_path / "payload"
    src.write_text("payload")
    # In: through /escape -> / and /up -> ../../.. the host dir must not be reached.
    for link in ("escape", "up"):
        pod("cp", src, f"box:/{link}{sentinel}/payload")
        assert sorted(p.name for p in sentinel.iterdir()) == ["secret"]
        result = pod("cp", src, f"box:/{link}/tmp/")
        assert result.returncode == 0, result.stderr
    # Out: the host's file is not found through the links.
    for link in ("escape", "up"):
        out = tmp_path / f"out-{link}"
        result = pod("cp", f"box:/{link}{secret}", out)
        assert result.returncode == 125
        assert "could not be found on container box" in result.stderr
        assert not out.exists()
    assert secret.read_text() == "host secret"


def test_host_destination_symlinks_not_followed(pod, stopped, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "f").write_text("untouched")
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "d").symlink_to(outside)  # the copied dir's name: replaced, not written through
    result = pod("cp", "box:/d", dest)
    assert result.returncode == 0, result.stderr
    assert not (dest / "d").is_symlink()
    assert (dest / "d" / "f").read_text() == "f-data\n"
    (dest / "f").symlink_to(outside / "f")  # a file's name
    assert pod("cp", "box:/d/f", dest).returncode == 0
    assert not (dest / "f").is_symlink()
    assert (outside / "f").read_text() == "untouched"
    assert sorted(p.name for p in outside.iterdir()) == ["f"]


def test_hostile_stdin_tar(pod, stopped, tmp_path):
    sentinel = tmp_path / "sentinel"
    sentinel.mkdir()
    climb = _tar([(tarfile.TarInfo(f"../../../../../../..{sentinel}/evil"), b"x")])
    result = _stdin_cp(pod, climb, "box:/tmp")
    assert result.returncode == 125
    link = tarfile.TarInfo("l")
    link.type, link.linkname = tarfile.SYMTYPE, "/"
    through = _tar([(link, b""), (tarfile.TarInfo(f"l{sentinel}/evil"), b"x")])
    _stdin_cp(pod, through, "box:/tmp")
    hard = tarfile.TarInfo("h")
    hard.type, hard.linkname = tarfile.LNKTYPE, "../../../../etc/passwd"
    assert _stdin_cp(pod, _tar([(hard, b"")]), "box:/tmp").returncode == 125
    assert list(sentinel.iterdir()) == []


def test_rootless_stopped_container(rootless_user, rootless_pod, rootless_busybox):
    rootless_pod("run", "--name", "rl", rootless_busybox, "sh", "-c",
                 "mkdir /d && echo rl > /d/f && chown 1000:1000 /d/f", check=True)  # fmt: skip
    out = rootless_user.make_tmpdir("out")
    result = rootless_pod("cp", "rl:/d", out)
    assert result.returncode == 0, result.stderr
    assert (out / "d" / "f").read_text() == "rl\n"
    assert (out / "d" / "f").stat().st_uid == rootless_user.uid
    (out / "new").write_text("new")
    result = rootless_pod("cp", out / "new", "rl:/d/new")
    assert result.returncode == 0, result.stderr
    back = rootless_user.make_tmpdir("back")
    assert rootless_pod("cp", "rl:/d/new", back).returncode == 0
    assert (back / "new").read_text() == "new"


def test_rootless_running_container(rootless_user, rootless_pod, rootless_busybox):
    rootless_pod("run", "-d", "--name", "rlrun", rootless_busybox, "sleep", "60", check=True)
    share = rootless_user.make_tmpdir("share")
    (share / "in").write_text("into running")
    result = rootless_pod("cp", share / "in", "rlrun:/tmp/in")
    assert result.returncode == 0, result.stderr
    assert rootless_pod("exec", "rlrun", "cat", "/tmp/in").stdout == "into running"
    rootless_pod("exec", "rlrun", "sh", "-c", "echo made > /made; ln -s / /escape", check=True)
    result = rootless_pod("cp", "rlrun:/made", share / "made")
    assert result.returncode == 0, result.stderr
    assert (share / "made").read_text() == "made\n"
    result = rootless_pod("cp", f"rlrun:/escape{share}/in", share / "leak")
    assert result.returncode == 125 and not (share / "leak").exists()

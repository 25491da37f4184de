"""`pod cp` against podman 4.3.1: the same command lines through both engines, rootful and
rootless, running and stopped containers; exit codes, messages and the resulting files (on the
host and, listed from inside, in the containers) must be the same.

Where podman's message is a Go error dump (refused overwrites), the exit codes, the files and
the "copying to ..." part are compared. Left out on purpose, podman's slips that pod does not
copy: a relative `dir/.` to a missing destination spills the entries into its parent; a
destination below a regular file is written next to that file; a symlink to a file as the
destination is replaced instead of written through (which replaced a host's /dev/stdout).
What pod deliberately does otherwise (/etc files of a stopped container, /etc/hosts written in
place, devices refused in containers, one container to itself) is tested in test_cp.py.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import os
import tarfile
from pathlib import Path

import pytest
from differential import Twins, host_tree, tar_members
from mounts import private_dev

pytestmark = pytest.mark.needs_tool("podman")

STATES = ["running", "stopped"]
# The container `box`: a tree with a private file of user 1000, links, a fifo, a volume, a bind
# mount (the host directory's bind/) and a tmpfs; WORKDIR /home/tester (the image's owned.txt).
SETUP = (
    "mkdir -p /d/sub /d/emptydir && echo f > /d/f && echo g > /d/sub/g && ln -s f /d/fl"
    " && ln -s /d /dl && mkfifo /d/fifo && chown 1000:1000 /d/f && chmod 600 /d/f"
    " && echo v > /vol/v && echo t > /scratch/t"
)


def md5(text: str) -> str:
    """What the container's md5sum prints for a file holding `text` and a newline."""
    return hashlib.md5(text.encode() + b"\n").hexdigest()


def _bind_dir(host: Path) -> None:
    (host / "bind").mkdir()
    (host / "bind" / "b").write_text("b\n")


def make_box(twins: Twins, state: str) -> None:
    twins.make_host(_bind_dir)
    twins.both(
        "run", "-d", "--name", "box", "--network", "none", "-v", "vol:/vol",
        "-v", "{host}/bind:/bind", "--tmpfs", "/scratch", "-w", "/home/tester",
        twins.image, "sleep", "1000",
    )  # fmt: skip
    twins.both("exec", "box", "sh", "-c", SETUP)
    if state == "stopped":
        twins.both("stop", "-t", "0", "box")


def make_user_box(twins: Twins) -> None:
    """`usr`: running as 1000:1000, the owner files copied into it get."""
    twins.both(
        "run", "-d", "--name", "usr", "--network", "none", "--user", "1000:1000",
        twins.image, "sleep", "1000",
    )  # fmt: skip


def running(twins: Twins, state: str) -> None:
    """Start `box` again to look inside (its tmpfs is then empty)."""
    if state == "stopped":
        twins.both("start", "box")


def same_host_trees(twins: Twins, path: str) -> None:
    assert host_tree(twins.pod.host / path) == host_tree(twins.podman.host / path)


@pytest.mark.parametrize("state", STATES)
def test_copy_out(twins, state):
    make_box(twins, state)
    twins.make_host(lambda host: (host / "out").mkdir())
    (twins.pod.host / "out" / "a-file").write_text("x")
    (twins.podman.host / "out" / "a-file").write_text("x")
    for src, dest in [
        ("box:/d/f", "out/"),
        ("box:/d/f", "out/renamed"),
        ("box:/d", "out/"),
        ("box:/d/.", "out/contents"),
        ("box:/d/sub/.", "out/"),
        ("box:/dl", "out/dl-copy"),
        ("box:/bin/sh", "out/"),
        ("box:owned.txt", "out/"),
        ("box:/vol/v", "out/"),
        ("box:/bind/b", "out/"),
        ("box:/scratch/t", "out/"),
        ("box:/nope", "out/"),
        ("box:/d/f", "out/missing/x"),
        ("box:/d/f", "out/newdir/"),
        ("box:/d", "out/a-file"),
        ("box:/d/f", "{host}/out/absolute"),
    ]:
        twins.same("cp", src, dest)
    same_host_trees(twins, "out")
    assert (twins.pod.host / "out" / "f").stat().st_uid == twins.owner[0]
    assert (twins.pod.host / "out" / "v").read_text() == "v\n"
    assert (twins.pod.host / "out" / "t").exists() == (state == "running")


def _host_sources(host: Path) -> None:
    (host / "src" / "dir" / "sub").mkdir(parents=True)
    (host / "src" / "dir" / "a").write_text("a\n")
    (host / "src" / "dir" / "sub" / "b").write_text("b\n")
    (host / "src" / "file").write_text("file\n")
    (host / "src" / "link").symlink_to("file")
    (host / "src" / "dirlink").symlink_to("dir")
    (host / "src" / "file").chmod(0o640)


@pytest.mark.parametrize("state", STATES)
def test_copy_in(twins, state):
    make_box(twins, state)
    twins.make_host(_host_sources)
    for src, dest in [
        ("src/file", "box:/tmp/"),
        ("src/file", "box:/tmp/renamed"),
        ("src/dir", "box:/tmp/"),
        ("src/dir/.", "box:/tmp/contents"),
        ("src/dir/sub/.", "box:/tmp/"),
        ("src/link", "box:/tmp/"),
        ("src/dirlink", "box:/tmp/"),
        ("src/file", "box:rel-file"),
        ("src/file", "box:/vol/"),
        ("src/file", "box:/bind/in-bind"),
        ("src/file", "box:/scratch/"),
        ("nope", "box:/tmp/"),
        ("src/file", "box:/nope/x"),
        ("src/file", "box:/nope/"),
        ("src/dir", "box:/tmp/renamed"),
        ("{host}/src/file", "box:/tmp/absolute"),
    ]:
        twins.same("cp", src, dest)
    running(twins, state)
    # A stopped container's tmpfs is not there: what is copied lands in the directory below.
    # (Not compared after the restart: pod's runtime does not do runc's tmpcopyup.)
    for path in ("/tmp", "/home/tester", "/vol", "/scratch")[: 4 if state == "running" else 3]:
        twins.same_listing("box", path)
    same_host_trees(twins, "bind")
    assert (twins.pod.host / "bind" / "in-bind").read_text() == "file\n"


def test_overwrite(twins):
    make_box(twins, "running")
    twins.both("exec", "box", "sh", "-c", "mkdir -p /tmp/x/g && echo s > /tmp/x/sub")

    def clashing(host: Path) -> None:
        (host / "x" / "sub").mkdir(parents=True)
        (host / "x" / "sub" / "inner").write_text("inner\n")
        (host / "x" / "g").write_text("g\n")
        (host / "out" / "d" / "f").mkdir(parents=True)

    twins.make_host(clashing)
    for direction in (("x", "box:/tmp/"), ("box:/d", "out/")):
        refused = twins.same("cp", *direction, messages=False)
        target = "container" if direction[1].startswith("box:") else "host"
        for result in refused:
            assert result.returncode == 125
            assert f"copying to {target}: " in result.stderr
        twins.same_listing("box", "/tmp/x")
        same_host_trees(twins, "out")
        twins.same("cp", "--overwrite", *direction)
    replaced = twins.same_listing("box", "/tmp/x")
    assert f"./g 644 0:0 file {md5('g')}" in replaced
    assert "./sub 755 0:0 dir" in replaced
    same_host_trees(twins, "out")
    assert (twins.pod.host / "out" / "d" / "f").read_text() == "f\n"


def _owned_tar(uid: int, gid: int) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in (("tdir", None), ("tdir/t", b"t\n")):
            info = tarfile.TarInfo(name)
            info.uid, info.gid, info.mtime = uid, gid, 1704067200
            if data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_archive_ownership(twins):
    make_user_box(twins)
    twins.make_host(_host_sources)
    if twins.mode == "root":
        for engine in twins.engines:
            for top, dirs, files in os.walk(engine.host / "src"):
                for name in [".", *dirs, *files]:
                    os.lchown(os.path.join(top, name), 1234, 2345)
    twins.both("exec", "usr", "mkdir", "/tmp/c", "/tmp/d")
    tar = _owned_tar(3000, 3001)
    for args in [
        ("src", "usr:/tmp/a"),
        ("-a=false", "src", "usr:/tmp/b"),
        ("--archive=false", "src/file", "usr:/tmp/b-file"),
    ]:
        twins.same("cp", *args)
    twins.same("cp", "-", "usr:/tmp/c/", input=tar, text=False)
    twins.same("cp", "-a=false", "-", "usr:/tmp/d/", input=tar, text=False)
    listing = twins.same_listing("usr", "/tmp")
    assert f"./a/file 640 1000:1000 file {md5('file')}" in listing
    assert f"./c/tdir/t 644 1000:1000 file {md5('t')}" in listing
    assert f"./d/tdir/t 644 3000:3001 file {md5('t')}" in listing


def test_streams(twins):
    make_box(twins, "running")
    for src, owners in (("box:/d", True), ("box:/d/.", True), ("box:/d/f", False)):
        pod, podman = (engine("cp", src, "-", text=False, check=True) for engine in twins.engines)
        assert tar_members(pod.stdout, owners) == tar_members(podman.stdout, owners), src

    import zstandard

    raw = _owned_tar(0, 0)
    formats = {
        "plain": raw,
        "gzip": gzip.compress(raw),
        "bzip2": bz2.compress(raw),
        "xz": lzma.compress(raw),
        "zstd": zstandard.ZstdCompressor().compress(raw),
    }
    for name, data in formats.items():
        twins.both("exec", "box", "mkdir", f"/tmp/in-{name}")
        twins.same("cp", "-", f"box:/tmp/in-{name}", input=data, text=False)
        twins.same_listing("box", f"/tmp/in-{name}")
    for dest, data in [
        ("box:/tmp/in-plain/tdir/t", raw),
        ("box:/tmp/missing", raw),
        ("box:/tmp/missing/", raw),
        ("box:/tmp/", b"not a tar archive\n" * 40),
        ("box:/tmp/", b""),
    ]:
        twins.same("cp", "-", dest, input=data, text=False)


@pytest.mark.parametrize("state", STATES)
def test_between_containers(twins, state):
    make_box(twins, state)
    make_user_box(twins)
    for src, dest in [
        ("box:/d", "usr:/tmp/"),
        ("box:/d/f", "usr:/tmp/renamed"),
        ("box:/d/.", "usr:/tmp/contents"),
        ("box:/vol/v", "usr:/tmp/"),
        ("box:owned.txt", "usr:/tmp/"),
        ("usr:/tmp/renamed", "box:/tmp/back"),
        ("box:/nope", "usr:/tmp/"),
        ("nosuch:/d", "usr:/tmp/"),
        ("box:/d", "nosuch:/tmp/"),
        ("box:/d", "usr:/nope/x"),
        ("box:/d", "usr:/tmp/renamed"),
    ]:
        twins.same("cp", src, dest)
    twins.same_listing("usr", "/tmp")
    running(twins, state)
    twins.same_listing("box", "/tmp")


def test_invalid_destinations(twins):
    make_box(twins, "running")

    def specials(host: Path) -> None:
        os.mkfifo(host / "fifo")
        (host / "fifolink").symlink_to("fifo")
        (host / "nulllink").symlink_to("/dev/null")

    twins.make_host(specials)
    for src, dest in [
        ("box:/d/f", "fifo"),
        ("box:/d/f", "fifolink"),
        ("box:/d/f", "nulllink"),
        ("box:/d/f", "/dev/null"),
        ("box:/d/f", "fifo/x"),
        ("box:/d", "fifo"),
        ("box:/d/f", "/dev/stdout/"),
    ]:
        for result in twins.same("cp", src, dest):
            assert result.returncode == 125
    same_host_trees(twins, ".")
    assert (twins.pod.host / "fifo").is_fifo()

    reports = {}
    for engine in twins.engines:
        reports[engine.name] = engine.host.parent / f"{engine.host.name}-dev-report"
    results = []
    for engine in twins.engines:
        wrap = private_dev(reports[engine.name])
        results.append(engine("cp", "box:/d/f", "/dev/stdout", wrap=wrap))
    for result in results:
        assert result.returncode == 125
        assert result.stderr.strip() == (
            'Error: invalid destination: "/dev/stdout" must be a directory or a regular file'
        )
    assert {path.read_text().strip() for path in reports.values()} == {"symbolic link"}


def test_argument_errors(twins):
    make_box(twins, "running")
    twins.make_host(_host_sources)
    for args in [
        ("nosuch:/d", "out"),
        ("-", "-"),
        ("src/file", "{host}/elsewhere"),
        ("box:", "out"),
        ("src/file", "box:"),
    ]:
        for result in twins.same("cp", *args):
            assert result.returncode == 125
    for result in twins.same("cp", "box:/d/f", messages=False):
        assert result.returncode == 125

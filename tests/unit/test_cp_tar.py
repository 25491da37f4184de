"""pod.container.cp_tar: a tree written as a tar stream and a stream put into a tree, with a
stopped container's bind mounts given as a table, owners replaced, kernel file systems left out
and podman's refusal to replace a directory by a non-directory (or the reverse)."""

from __future__ import annotations

import io
import os
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from pod.container.cp_tar import Source, Target, Tree, put_tar, write_tar
from pod.errors import OverwriteError


@pytest.fixture
def tree_fd(root: Path) -> Iterator[int]:
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    yield fd
    os.close(fd)


def members(tree: Tree, source: Source) -> dict[str, tarfile.TarInfo]:
    out = io.BytesIO()
    write_tar(out, tree, source)
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tar:
        return {info.name.rstrip("/"): info for info in tar}


def test_a_directory_under_its_name_or_as_its_entries(root: Path, tree_fd: int) -> None:
    (root / "d" / "sub").mkdir(parents=True)
    (root / "d" / "f").write_text("f")
    os.link(root / "d" / "f", root / "d" / "sub" / "hard")
    (root / "d" / "l").symlink_to("/etc/passwd")
    tree = Tree(tree_fd, {}, container=True)
    named = members(tree, Source("d", "renamed", owner=(7, 8)))
    assert sorted(named) == ["renamed", "renamed/f", "renamed/l", "renamed/sub", "renamed/sub/hard"]
    assert named["renamed/l"].linkname == "/etc/passwd"
    assert named["renamed/sub/hard"].islnk() and named["renamed/sub/hard"].linkname == "renamed/f"
    assert {(i.uid, i.gid) for i in named.values()} == {(7, 8)}
    assert sorted(members(tree, Source("d", "", owner=None))) == ["f", "l", "sub", "sub/hard"]


def test_a_stopped_containers_mounts_are_followed(root: Path, tree_fd: int, tmp_path: Path) -> None:
    volume = tmp_path / "volume"
    volume.mkdir()
    (volume / "v").write_text("volume data")
    (tmp_path / "hosts").write_text("hosts data")
    for name in ("data", "etc", "proc", "dev"):
        (root / name).mkdir()
    (root / "etc" / "hosts").write_text("")
    (root / "proc" / "x").write_text("")
    tree = Tree(tree_fd, {"data": str(volume), "etc/hosts": str(tmp_path / "hosts")}, True)
    everything = members(tree, Source("", "", owner=(0, 0)))
    assert sorted(everything) == ["data", "data/v", "etc", "etc/hosts"]
    assert everything["etc/hosts"].size == len("hosts data")
    assert sorted(members(tree, Source("data", "data", owner=None))) == ["data", "data/v"]
    host = Tree(tree_fd, {}, container=False)
    assert "proc/x" in members(host, Source("", "", owner=None))


def _tar(*entries: tuple[str, bytes | None]) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            if data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    return buf


def _target(path: str, overwrite: bool) -> Target:
    return Target(path, owner=None, overwrite=overwrite, devices=False, where="/" + path)


def test_no_directory_replaces_a_file_nor_the_reverse(root: Path, tree_fd: int) -> None:
    (root / "t" / "was-dir").mkdir(parents=True)
    (root / "t" / "was-file").write_text("old")
    tree = Tree(tree_fd, {}, container=True)
    with pytest.raises(OverwriteError, match='directory "/t/was-dir" with non-directory'):
        put_tar(_tar(("was-dir", b"new")), tree, _target("t", overwrite=False))
    with pytest.raises(OverwriteError, match='non-directory "/t/was-file" with directory'):
        put_tar(_tar(("was-file", None)), tree, _target("t", overwrite=False))
    put_tar(_tar(("was-dir", b"new"), ("was-file", None)), tree, _target("t", overwrite=True))
    assert (root / "t" / "was-dir").read_text() == "new"
    assert (root / "t" / "was-file").is_dir()


def test_a_stream_lands_in_a_stopped_containers_volume(
    root: Path, tree_fd: int, tmp_path: Path
) -> None:
    volume = tmp_path / "volume"
    volume.mkdir()
    (root / "data").mkdir()
    tree = Tree(tree_fd, {"data": str(volume)}, container=True)
    put_tar(_tar(("in-volume", b"v")), tree, _target("data", overwrite=False))
    put_tar(_tar(("data", None), ("data/below", b"b")), tree, _target("", overwrite=False))
    assert sorted(p.name for p in volume.iterdir()) == ["below", "in-volume"]
    assert list((root / "data").iterdir()) == []


def test_a_refused_copy_leaves_what_it_made_with_its_modes(root: Path, tree_fd: int) -> None:
    (root / "t" / "was-dir").mkdir(parents=True)
    tree = Tree(tree_fd, {}, container=True)
    stream = _tar(("made", None), ("made/x", b"x"), ("was-dir", b"file"))
    with pytest.raises(OverwriteError):
        put_tar(stream, tree, _target("t", overwrite=False))
    assert (root / "t" / "made").stat().st_mode & 0o777 == 0o755
    assert (root / "t" / "made" / "x").read_text() == "x"

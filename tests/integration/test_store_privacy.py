"""The store and the run root are 0700 (as containers-storage's), rootful and rootless: another
unprivileged user can reach the directory holding them, yet cannot read a layer's files nor a
running container's merged and upper dirs. A store left 0755 (by an older pod) is tightened by
the next command; a rootless run root someone else made is refused."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from polling import wait_for
from runners import RootlessPod, isolated_pod, remove_leftovers

OTHER_USER = "nobody"
OPEN_BASE = Path("/var/tmp")


def as_other_user(*cmd: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["runuser", "-u", OTHER_USER, "--", *map(str, cmd)],
        capture_output=True,
        text=True,
        errors="replace",
    )


@contextlib.contextmanager
def open_parent(owner: tuple[int, int] = (0, 0)) -> Iterator[Path]:
    """A directory every user may enter (0755), where the store and run root will be made."""
    parent = Path(tempfile.mkdtemp(prefix="pod-privacy-", dir=OPEN_BASE))
    os.chown(parent, *owner)
    parent.chmod(0o755)
    try:
        yield parent
    finally:
        shutil.rmtree(parent, ignore_errors=True)


@pytest.fixture(params=["root", pytest.param("rootless", marks=pytest.mark.rootless)])
def exposed_pod(request, registry):
    """A pod runner (root, or the rootless user) whose store and run root sit in an open dir."""
    if request.param == "root":
        with open_parent() as parent, isolated_pod(parent, insecure=[registry.host]) as runner:
            yield runner
        return
    user = request.getfixturevalue("rootless_user")
    with open_parent((user.uid, user.gid)) as parent:
        runner = RootlessPod(user, parent)
        try:
            yield runner
        finally:
            remove_leftovers(runner, parent)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def graph_driver(runner, *args: str) -> dict:
    return json.loads(runner(*args, "--format", "json", check=True).stdout)[0]["GraphDriver"]


def private_paths(runner, image: str) -> list[Path]:
    """A layer file, and the merged and upper dirs of a running container with a file of its
    own: what no other user may read."""
    layer = Path(graph_driver(runner, "image", "inspect", image)["Data"]["UpperDir"])
    started = runner(
        "run", "-d", "--name", "private", "--network", "none", image,
        "sh", "-c", "echo secret > /secret; sleep 600",
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    data = graph_driver(runner, "inspect", "private")["Data"]
    upper, merged = Path(data["UpperDir"]), Path(data["MergedDir"])
    wait_for(lambda: (upper / "secret").exists())
    return [layer / "bin" / "busybox", upper / "secret", upper, merged]


def assert_unreachable(runner, paths: list[Path]) -> None:
    for path in (runner.root, runner.runroot):
        assert mode(path) == 0o700, (path, oct(mode(path)))
    assert as_other_user("ls", runner.root.parent).returncode == 0  # the parent is open
    for path in paths:
        denied = as_other_user("cat" if path.is_file() else "ls", path)
        assert denied.returncode != 0 and "Permission denied" in denied.stderr, (path, denied)
    for path in (runner.root, runner.runroot):
        assert as_other_user("ls", path).returncode != 0


def test_layers_and_containers_are_private(exposed_pod, test_images):
    exposed_pod("pull", "-q", test_images.busybox.ref, check=True)
    assert_unreachable(exposed_pod, private_paths(exposed_pod, test_images.busybox.ref))
    assert exposed_pod("rm", "-f", "-t", "0", "private").returncode == 0


def test_a_store_left_open_is_tightened_by_the_next_command(exposed_pod, test_images):
    exposed_pod("pull", "-q", test_images.busybox.ref, check=True)
    paths = private_paths(exposed_pod, test_images.busybox.ref)
    for path in (exposed_pod.root, exposed_pod.runroot):
        path.chmod(0o755)  # as an older pod made them
    opened = as_other_user("cat", paths[0])
    assert opened.returncode == 0, opened.stderr  # the hole being closed
    assert exposed_pod("ps", "-q").returncode == 0
    assert_unreachable(exposed_pod, paths)
    assert exposed_pod("rm", "-f", "-t", "0", "private").returncode == 0


@pytest.mark.rootless
def test_a_rootless_run_root_of_another_user_is_refused(rootless_pod):
    with open_parent() as parent:
        foreign = parent / "runroot"
        foreign.mkdir(mode=0o777)
        foreign.chmod(0o777)
        result = rootless_pod.user.run_pod("images", root=rootless_pod.root, runroot=foreign)
    assert result.returncode == 125, result
    assert result.stderr == (
        f"Error: {foreign} belongs to uid 0, not to you: pod keeps its store and run root in "
        "directories of your own (use --root/--runroot to choose others)\n"
    )

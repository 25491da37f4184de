"""--userns=nomap and --userns=auto (issue 14), rootless and rootful, against podman 4.3.1's
behaviour: the maps inside, the image's files owned by the container's root, disjoint ranges
for concurrent auto containers, inspect's UsernsMode/IDMappings, and the errors."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import pytest

SUBUID, SUBGID = Path("/etc/subuid"), Path("/etc/subgid")
AUTO_LINE = "containers:400000:300000"
PROBE = "cat /proc/self/uid_map; id -u; stat -c %u /bin/sh; touch /new && echo writable"


def _uid_map(text: str) -> list[tuple[int, int, int]]:
    return [tuple(int(x) for x in line.split()) for line in text.splitlines() if line.strip()]


@contextlib.contextmanager
def _edited(path: Path, line: str):
    """`line` appended to `path` for the block; exactly that line is taken out again (other
    tests' edits to the file stay)."""
    with path.open("a") as handle:
        handle.write(line + "\n")
    try:
        yield
    finally:
        kept = [x for x in path.read_text().splitlines() if x != line]
        path.write_text("".join(x + "\n" for x in kept))


@pytest.fixture
def containers_range():
    """The `containers` user's ranges rootful --userns=auto carves from (podman's default)."""
    with _edited(SUBUID, AUTO_LINE), _edited(SUBGID, AUTO_LINE):
        yield 400000, 300000


def _maps_of(runner, name: str) -> list[tuple[int, int, int]]:
    state = json.loads(runner("inspect", name, check=True).stdout)[0]["State"]
    return _uid_map(Path(f"/proc/{state['Pid']}/uid_map").read_text())


# --- rootless -----------------------------------------------------------------------------------


@pytest.mark.rootless
def test_rootless_nomap_leaves_the_user_out(rootless_user, rootless_pod, runtime, rootless_busybox):
    done = rootless_pod("run", "--rm", "--runtime", runtime, "--network", "none",
                        "--userns", "nomap", rootless_busybox, "sh", "-c", PROBE)  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    count = rootless_user.subuid_count
    assert _uid_map(lines[0]) == [(0, 1, count)]  # relative to the user's namespace
    assert lines[1:] == ["0", "0", "writable"]


@pytest.mark.rootless
def test_rootless_nomap_host_view_and_inspect(rootless_user, rootless_pod, rootless_busybox):
    started = rootless_pod("run", "-d", "--name", "nm", "--network", "none", "--userns",
                           "nomap", rootless_busybox, "sleep", "60")  # fmt: skip
    assert started.returncode == 0, started.stderr
    try:
        assert _maps_of(rootless_pod, "nm") == [(0, rootless_user.subuid_start,
                                                 rootless_user.subuid_count)]  # fmt: skip
        shown = rootless_pod(
            "inspect",
            "nm",
            "--format",
            "{{.HostConfig.UsernsMode}} {{json .HostConfig.IDMappings}}",
        )
        count = rootless_user.subuid_count
        assert shown.stdout == (f'private {{"UidMap":["0:1:{count}"],"GidMap":["0:1:{count}"]}}\n')
        listed = rootless_pod("exec", "nm", "stat", "-c", "%u:%g", "/etc/passwd")
        assert listed.stdout == "0:0\n", listed.stderr
    finally:
        rootless_pod("rm", "-f", "-t", "0", "nm")


@pytest.mark.rootless
def test_rootless_auto_ranges_are_disjoint(rootless_user, rootless_pod, runtime, rootless_busybox):
    names = ("a1", "a2")
    for name, mode in zip(names, ("auto", "auto:size=500"), strict=True):
        started = rootless_pod(
            "run",
            "-d",
            "--runtime",
            runtime,
            "--name",
            name,
            "--network",
            "none",
            "--userns",
            mode,
            rootless_busybox,
            "sleep",
            "60",
        )
        assert started.returncode == 0, started.stderr
    try:
        first, second = (_maps_of(rootless_pod, name) for name in names)
        start = rootless_user.subuid_start
        assert first == [(0, start, 1024)]
        assert second == [(0, start + 1024, 500)]
        probe = rootless_pod("exec", "a2", "sh", "-c", PROBE)
        assert probe.stdout.splitlines()[1:] == ["0", "0", "writable"], probe.stderr
    finally:
        rootless_pod("rm", "-f", "-t", "0", *names)
    # removed: the range is free again
    again = rootless_pod("run", "--rm", "--network", "none", "--userns", "auto",
                         rootless_busybox, "cat", "/proc/self/uid_map")  # fmt: skip
    assert _uid_map(again.stdout) == [(0, 1, 1024)], again.stderr


@pytest.mark.rootless
def test_rootless_auto_volume_cp_and_exec(rootless_user, rootless_pod, rootless_busybox):
    started = rootless_pod("run", "-d", "--name", "av", "--network", "none", "--userns", "auto",
                           "-v", "data:/data", rootless_busybox, "sleep", "60")  # fmt: skip
    assert started.returncode == 0, started.stderr
    try:
        wrote = rootless_pod("exec", "av", "sh", "-c", "touch /data/f && stat -c %u /data /data/f")
        assert wrote.stdout == "0\n0\n", wrote.stderr
        source = rootless_user.make_tmpdir("cp") / "file"
        source.write_text("hello\n")
        os.chown(source, rootless_user.uid, rootless_user.uid)
        copied = rootless_pod("cp", str(source), "av:/copied")
        assert copied.returncode == 0, copied.stderr
        owner = rootless_pod("exec", "av", "stat", "-c", "%u:%g", "/copied")
        assert owner.stdout == "0:0\n", owner.stderr
    finally:
        rootless_pod("rm", "-f", "-t", "0", "av")


# --- rootful ------------------------------------------------------------------------------------


def test_rootful_nomap_is_podmans_error(pod, busybox):
    done = pod("run", "--rm", "--userns", "nomap", busybox, "true")
    assert done.returncode == 125
    assert "nomap is only supported in rootless mode" in done.stderr


def test_rootful_auto_without_ranges_is_a_clear_error(pod, busybox):
    assert not any(x.startswith("containers:") for x in SUBUID.read_text().splitlines())
    done = pod("run", "--rm", "--userns", "auto", busybox, "true")
    assert done.returncode == 125
    assert "could not find enough available IDs" in done.stderr
    assert 'no subuid ranges found for user "containers"' in done.stderr


def test_rootful_auto(pod, runtime, busybox, containers_range):
    start, _count = containers_range
    names = ("r1", "r2")
    for name, mode in zip(names, ("auto", "auto:size=500"), strict=True):
        started = pod("run", "-d", "--runtime", runtime, "--name", name, "--network", "none",
                      "--userns", mode, busybox, "sleep", "60")  # fmt: skip
        assert started.returncode == 0, started.stderr
    try:
        assert _maps_of(pod, "r1") == [(0, start, 1024)]
        assert _maps_of(pod, "r2") == [(0, start + 1024, 500)]
        probe = pod("exec", "r1", "sh", "-c", PROBE)
        assert probe.stdout.splitlines()[1:] == ["0", "0", "writable"], probe.stderr
        shown = pod("inspect", "r2", "--format",
                    "{{.HostConfig.UsernsMode}} {{json .HostConfig.IDMappings}}")  # fmt: skip
        assert shown.stdout == (
            f'private {{"UidMap":["0:{start + 1024}:500"],"GidMap":["0:{start + 1024}:500"]}}\n'
        )
    finally:
        pod("rm", "-f", "-t", "0", *names)


def test_rootful_auto_run_rm_and_volume(pod, busybox, containers_range):
    start, _count = containers_range
    done = pod(
        "run",
        "--rm",
        "--network",
        "none",
        "--userns",
        "auto",
        "-v",
        "vol:/data",
        busybox,
        "sh",
        "-c",
        PROBE + "; touch /data/f && stat -c %u /data/f",
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert _uid_map(lines[0]) == [(0, start, 1024)]
    assert lines[1:] == ["0", "0", "writable", "0"]

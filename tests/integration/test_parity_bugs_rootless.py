"""The bugs of issue 14, rootless: --userns keep-id on every network in both host states of
/dev/net/tun (0600: loopback only; 0666, a normal Debian host: slirp4netns), slirp4netns left
behind by a failed start, -v ...:U, the rootfs and --tmpfs; against podman 4.3.1 where the
output is meant to be identical (podman runs with --network none where it would need
slirp4netns and the device is closed)."""

from __future__ import annotations

import os
import subprocess

import pytest
from polling import wait_for

pytestmark = pytest.mark.rootless
needs_podman = pytest.mark.needs_tool("podman")
TUN = "/dev/net/tun"


@pytest.fixture(params=[0o600, 0o666], ids=["tun-0600", "tun-0666"])
def tun_mode(request):
    """/dev/net/tun closed to users, then open to them (as udev leaves it on Debian), restored
    after the test."""
    saved = os.stat(TUN).st_mode & 0o777
    os.chmod(TUN, request.param)
    yield request.param
    os.chmod(TUN, saved)


def _slirp_pids(user) -> set[int]:
    found = subprocess.run(
        ["pgrep", "-u", str(user.uid), "-x", "slirp4netns"], capture_output=True, text=True
    )
    return {int(pid) for pid in found.stdout.split()}


@pytest.mark.parametrize("network", ["default", "pod-network"])
def test_keep_id_on_every_network(
    rootless_user, rootless_pod, rootless_busybox, runtime, tun_mode, network
):
    flags = ["--runtime", runtime, "--userns", "keep-id"]
    if network == "pod-network":
        rootless_pod("network", "create", "keepnet", check=True)
        flags += ["--network", "keepnet"]
    probe = "id -u; grep -c . /proc/self/uid_map; grep -w sysfs /proc/mounts | cut -d' ' -f2"
    done = rootless_pod("run", "--rm", *flags, rootless_busybox, "sh", "-c", probe)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{rootless_user.uid}\n3\n/sys\n"
    started = rootless_pod(
        "run", "-d", "--name", "kept", "-p", "80", *flags, rootless_busybox, "sleep", "60"
    )
    assert started.returncode == 0, started.stderr
    assert rootless_pod("exec", "kept", "id", "-u").stdout == f"{rootless_user.uid}\n"
    assert rootless_pod("exec", "-u", "0", "kept", "id", "-u").stdout == "0\n"
    rootless_pod("rm", "-f", "-t", "0", "kept", check=True)


@needs_podman
def test_keep_id_maps_as_podman(
    rootless_pod, rootless_busybox, rootless_podman, rootless_podman_busybox
):
    probe = ["sh", "-c", "id; cat /proc/self/uid_map /proc/self/gid_map"]
    ours = rootless_pod("run", "--rm", "--userns", "keep-id", rootless_busybox, *probe)
    theirs = rootless_podman(
        "run", "--rm", "--network", "none", "--userns", "keep-id", rootless_podman_busybox, *probe
    )
    assert ours.returncode == theirs.returncode == 0, ours.stderr + theirs.stderr
    assert ours.stdout == theirs.stdout  # `id` names the user and group both add to /etc


@needs_podman
def test_added_passwd_and_group_lines_as_podman(
    rootless_user, rootless_pod, rootless_busybox, rootless_podman, rootless_podman_busybox
):
    """keep-id's user and group, a numeric -u, --passwd-entry, a home mounted in: the lines
    podman adds to /etc/passwd and /etc/group, HOME and `id`; the image's files unchanged."""
    home = rootless_user.make_tmpdir("home")
    probe = ["sh", "-c", "id; echo HOME=$HOME; tail -n 2 /etc/passwd; tail -n 2 /etc/group"]
    cases = [
        ["--userns", "keep-id"],
        ["--userns", "keep-id", "-w", "/tmp"],
        ["--userns", "keep-id", "-v", f"{home}:{rootless_user.home}"],
        ["--userns", "keep-id", "--passwd-entry", "$USERNAME:x:$UID:$GID:$NAME:$HOME:/bin/false"],
        ["-u", "4242:4343"],
        ["-u", "4242", "-w", "/tmp"],
        ["-u", "4242", "--passwd-entry", "$USERNAME-$UID-$NAME"],
        ["-u", "tester:4343"],
        ["--read-only", "--userns", "keep-id"],
        [],  # after all of them: the image's own files
    ]
    for flags in cases:
        ours = rootless_pod("run", "--rm", *flags, rootless_busybox, *probe)
        theirs = rootless_podman(
            "run", "--rm", "--network", "none", *flags, rootless_podman_busybox, *probe
        )
        assert (ours.returncode, ours.stdout) == (theirs.returncode, theirs.stdout), (
            flags,
            ours.stderr,
            theirs.stderr,
        )
    # exec -u finds the added user, as inside podman's container
    kept = ["--name", "kept", "--userns", "keep-id"]
    rootless_pod("run", "-d", *kept, rootless_busybox, "sleep", "60", check=True)
    rootless_podman(
        "run", "-d", "--network", "none", *kept, rootless_podman_busybox, "sleep", "60", check=True
    )
    probe = ["exec", "-u", rootless_user.name, "kept", "sh", "-c", "id; echo $HOME"]
    assert rootless_pod(*probe).stdout == rootless_podman(*probe).stdout
    for runner in (rootless_pod, rootless_podman):
        runner("rm", "-f", "-t", "0", "kept", check=True)


def test_failed_start_with_a_port_in_use_leaves_no_slirp4netns(
    rootless_user, rootless_pod, rootless_busybox, tun_mode
):
    baseline = _slirp_pids(rootless_user)  # whatever else runs as the user stays out of it
    first = rootless_pod(
        "run", "-d", "--name", "holder", "-p", "80", rootless_busybox, "sleep", "60"
    )
    assert first.returncode == 0, first.stderr
    port = rootless_pod("port", "holder", "80").stdout.strip().rpartition(":")[2]
    before = _slirp_pids(rootless_user)
    for extra in (["-d"], []):
        failed = rootless_pod("run", *extra, "-p", f"{port}:80", rootless_busybox, "true")
        assert failed.returncode != 0 and "address already in use" in failed.stderr
    assert _slirp_pids(rootless_user) == before
    rootless_pod("rm", "-a", "-f", "-t", "0", check=True)
    assert wait_for(lambda: not _slirp_pids(rootless_user) - baseline)  # the holder's went too


def test_a_failed_create_leaves_no_slirp4netns(
    rootless_user, rootless_pod, rootless_busybox, tun_mode
):
    """slirp4netns starts with the container's network namespace, while the runtime creates the
    container: a create that fails (its command is missing) stops it again."""
    before = _slirp_pids(rootless_user)
    for extra in (["-d"], []):
        failed = rootless_pod("run", *extra, rootless_busybox, "/no/such/command")
        assert failed.returncode == 127, failed.stderr
    assert _slirp_pids(rootless_user) == before


@needs_podman
def test_volume_u_option_rootless_as_podman(
    rootless_user, rootless_pod, rootless_busybox, rootless_podman, rootless_podman_busybox
):
    seen = []
    for runner, image in (
        (rootless_pod, rootless_busybox),
        (rootless_podman, rootless_podman_busybox),
    ):
        source = rootless_user.make_tmpdir("owned")
        done = runner(
            "run",
            "--rm",
            "--network",
            "none",
            "--user",
            "1000:1000",
            "-v",
            f"{source}:/d:U",
            image,
            "sh",
            "-c",
            "touch /d/f && stat -c %u:%g /d",
        )
        assert done.returncode == 0, done.stderr
        seen.append((done.stdout, os.stat(source).st_uid, os.stat(source / "f").st_uid))
    assert seen[0] == seen[1]
    assert seen[0][1] == rootless_user.subuid_start + 999


@needs_podman
def test_rootfs_and_tmpfs_rootless_as_podman(
    rootless_pod, rootless_busybox, rootless_podman, rootless_podman_busybox
):
    script = (
        "readlink /etc/mtab; stat -c %a /; grep -E ' /(t|home/tester) ' /proc/mounts | "
        "cut -d' ' -f2,4 | sort; ls /home/tester"
    )
    flags = ["--network", "none", "--tmpfs", "/t", "--tmpfs", "/home/tester"]
    ours = rootless_pod("run", "--rm", *flags, rootless_busybox, "sh", "-c", script)
    theirs = rootless_podman("run", "--rm", *flags, rootless_podman_busybox, "sh", "-c", script)
    assert ours.returncode == theirs.returncode == 0, ours.stderr + theirs.stderr
    assert ours.stdout == theirs.stdout
    assert ours.stdout.startswith("/proc/mounts\n555\n")


@needs_podman
def test_build_copy_keeps_hard_links_rootless(
    rootless_user, rootless_pod, rootless_busybox, rootless_podman, rootless_podman_busybox
):
    context = rootless_user.make_tmpdir("context")
    (context / "d").mkdir()
    (context / "d" / "a").write_text("hi\n")
    os.link(context / "d" / "a", context / "d" / "b")
    os.link(context / "d" / "a", context / "c")
    for path in (context / "d", context / "d" / "a", context / "c"):
        os.lchown(path, rootless_user.uid, rootless_user.gid)
    counts = []
    for runner, image in (
        (rootless_pod, rootless_busybox),
        (rootless_podman, rootless_podman_busybox),
    ):
        (context / "Containerfile").write_text(f"FROM {image}\nCOPY . /all\n")
        runner("build", "-q", "-t", "links", str(context), check=True)
        script = "stat -c '%h %n' /all/c /all/d/a /all/d/b"
        counts.append(
            runner("run", "--rm", "--network", "none", "links", "sh", "-c", script).stdout
        )
    assert counts[0] == counts[1] == "3 /all/c\n3 /all/d/a\n3 /all/d/b\n"

"""`pod mount`/`umount` and `pod image mount`/`unmount`: counted mounts, a container's run and
exit leave a user's mount in place, rm and rmi unmount; rootless only inside `pod unshare`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from mounts import mounts_under


def test_mount_counts_lists_and_umount(pod, busybox):
    container_id = pod("create", "--name", "c1", busybox, check=True).stdout.strip()
    path = Path(pod("mount", "c1", check=True).stdout.strip())
    assert path == pod.root / "containers" / container_id / "merged"
    assert os.path.ismount(path) and (path / "bin" / "busybox").is_file()
    assert pod("mount", "c1", check=True).stdout.strip() == str(path)
    assert pod("mount", check=True).stdout == f"{container_id[:12]}  {path}\n"
    assert pod("mount", "--notruncate", check=True).stdout == f"{container_id}  {path}\n"
    assert pod("umount", "c1", check=True).stdout == "c1\n"
    assert os.path.ismount(path)  # mounted twice: one umount is not enough
    pod("umount", "c1", check=True)
    assert not os.path.ismount(path)
    assert pod("mount", check=True).stdout == ""
    assert pod("umount", "c1").returncode == 0  # not mounted: nothing to do, as podman
    missing = pod("mount", "no-such-container")
    assert missing.returncode == 125 and "no such container" in missing.stderr


def test_a_container_run_keeps_the_users_mount(pod, busybox):
    container_id = pod("create", "--name", "c1", busybox, "cat", "/root/marker", check=True)
    container_id = container_id.stdout.strip()
    path = Path(pod("mount", "c1", check=True).stdout.strip())
    (path / "root" / "marker").write_text("written through the mount\n")
    started = pod("start", "-a", "c1")
    assert started.stdout == "written through the mount\n", started.stderr
    assert os.path.ismount(path)  # the container's exit left the user's mount alone
    assert pod("umount", "-a", check=True).stdout == f"{container_id}\n"
    assert not os.path.ismount(path)
    pod("mount", "c1", check=True)
    pod("rm", "c1", check=True)
    assert mounts_under(pod.root / "containers") == []


def test_image_mount_is_read_only_and_rmi_unmounts(pod, test_images):
    image = test_images.layered
    pod("pull", "-q", image.ref, check=True)
    path = Path(pod("image", "mount", image.ref, check=True).stdout.strip())
    assert (path / "data" / "layer3.txt").read_text() == "layer 3\n"
    assert not (path / "data" / "gone.txt").exists()  # whiteouts applied
    with pytest.raises(OSError):
        (path / "new").write_text("x")
    pod("tag", image.ref, "second:name", check=True)
    # one line an image, by its first name (as podman), however many it has
    assert pod("image", "mount", check=True).stdout == f"{image.ref}  {path}\n"
    pod("rmi", "second:name", check=True)
    assert pod("image", "unmount", image.ref, check=True).stdout == f"{image.id}\n"
    assert not os.path.ismount(path)
    pod("image", "mount", image.ref, check=True)
    pod("rmi", image.ref, check=True)
    assert mounts_under(pod.root) == []


@pytest.mark.rootless
def test_rootless_mount_needs_unshare_as_podman(rootless_pod, rootless_busybox):
    rootless_pod("create", "--name", "c1", rootless_busybox, check=True)
    for command, name in ((["mount", "c1"], "mount"), (["image", "mount", rootless_busybox],
                          "image mount"), (["umount", "c1"], "umount")):  # fmt: skip
        done = rootless_pod(*command)
        assert done.returncode == 125
        assert done.stderr == (
            f'Error: cannot run command "pod {name}" in rootless mode, '
            "must execute `pod unshare` first\n"
        )


@pytest.mark.rootless
def test_rootless_mount_inside_unshare(rootless_user, rootless_pod, rootless_busybox):
    rootless_pod("create", "--name", "c1", rootless_busybox, check=True)
    pod = rootless_user.pod_bin
    script = (
        f'p=$({pod} mount c1) && cat "$p/etc/group" | head -1 && '
        f'stat -c %u "$p/home/tester/owned.txt" && {pod} mount | wc -l && '
        f"{pod} umount c1 && {pod} mount | wc -l && "
        f'i=$({pod} image mount {rootless_busybox}) && ls "$i/bin/busybox" && '
        f"{pod} image unmount -a >/dev/null && echo done"
    )
    done = rootless_pod("unshare", "sh", "-c", script)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:5] == ["root:x:0:", "1000", "1", "c1", "0"]
    assert lines[5].endswith("/bin/busybox") and lines[6:] == ["done"]
    assert mounts_under(rootless_pod.root) == []  # the session's mounts stayed in the session


@pytest.mark.rootless
def test_rootless_mount_of_a_running_container_is_refused(
    rootless_user, rootless_pod, rootless_busybox
):
    rootless_pod("run", "-d", "--name", "up", rootless_busybox, "sleep", "60", check=True)
    try:
        done = rootless_pod("unshare", rootless_user.pod_bin, "mount", "up")
        assert done.returncode == 125
        assert "container up is running: its root file system is mounted in its own" in (
            done.stderr
        )
    finally:
        rootless_pod("rm", "-f", "-t", "0", "up")

"""Rootless: a real unprivileged user with /etc/subuid ranges pulls, lists and removes images."""

from __future__ import annotations

import json
import os

import pytest

pytestmark = pytest.mark.rootless


def test_rootless_pull_keeps_image_owners_in_the_subuid_range(
    rootless_user, rootless_pod, test_images
):
    image = test_images.busybox
    result = rootless_pod("pull", image.ref)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == image.id
    assert "WARN" not in result.stderr
    inspect = json.loads(rootless_pod("image", "inspect", image.ref, check=True).stdout)[0]
    diff = inspect["GraphDriver"]["Data"]["UpperDir"]
    start = rootless_user.subuid_start
    owned = os.lstat(os.path.join(diff, test_images.busybox_files["owned_by_tester"].lstrip("/")))
    assert (owned.st_uid, owned.st_gid) == (start + 999, rootless_user.subgid_start + 999)
    busybox = os.lstat(os.path.join(diff, "bin/busybox"))
    assert busybox.st_uid == rootless_user.uid
    setuid = os.lstat(os.path.join(diff, test_images.busybox_files["setuid"].lstrip("/")))
    assert setuid.st_mode & 0o7777 == 0o4755


def test_rootless_store_defaults_to_the_users_data_home(rootless_user, test_images):
    result = rootless_user.run(rootless_user.pod_bin, "pull", "-q", test_images.busybox.ref)
    assert result.returncode == 0, result.stderr
    store = rootless_user.home / ".local" / "share" / "pod"
    assert (store / "blobs" / "oci-layout").is_file()
    listed = rootless_user.run(rootless_user.pod_bin, "images", "-q")
    assert listed.stdout.split() == [test_images.busybox.id[:12]]
    removed = rootless_user.run(rootless_user.pod_bin, "rmi", "-a")
    assert removed.returncode == 0, removed.stderr
    assert list((store / "layers").iterdir()) == []


def test_rootless_rmi_removes_layers_owned_by_subuids(rootless_pod, test_images):
    rootless_pod("pull", "-q", test_images.layered.ref, check=True)
    layers = rootless_pod.root / "layers"
    assert len(list(layers.iterdir())) == len(test_images.layered.layers)
    result = rootless_pod("rmi", test_images.layered.ref)
    assert result.returncode == 0, result.stderr
    assert list(layers.iterdir()) == []


def test_rootless_push_and_images_format(rootless_pod, test_images):
    image = test_images.busybox
    rootless_pod("pull", "-q", image.ref, check=True)
    target = f"{test_images.host}/rootless/busybox:1"
    pushed = rootless_pod("push", image.ref, target)
    assert pushed.returncode == 0, pushed.stderr
    out = rootless_pod("images", "--format", "{{.ID}} {{.Repository}}", check=True).stdout
    assert f"{image.id[:12]} {test_images.host}/test/busybox" in out

"""`pod pull` against a real registry: every manifest kind, layer sharing, and output."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest


def inspect(pod, name: str) -> dict:
    result = pod("image", "inspect", name, check=True)
    return json.loads(result.stdout)[0]


def layer_dirs(pod, name: str) -> list[str]:
    """The image's unpacked layer dirs, top first (overlay's lowerdir order)."""
    data = inspect(pod, name)["GraphDriver"]["Data"]
    lower = data.get("LowerDir", "")
    return [data["UpperDir"], *(lower.split(":") if lower else [])]


@pytest.fixture
def rootfs(pod, tmp_path):
    """Mount an image's layers read-only with overlayfs, as a container would see them."""
    mounted: list[Path] = []

    def mount(name: str) -> Path:
        target = tmp_path / f"mnt{len(mounted)}"
        target.mkdir()
        lowers = layer_dirs(pod, name)
        if len(lowers) == 1:
            subprocess.run(["mount", "--bind", "-o", "ro", lowers[0], target], check=True)
        else:
            subprocess.run(
                ["mount", "-t", "overlay", "overlay", "-o", "lowerdir=" + ":".join(lowers), target],
                check=True,
            )
        mounted.append(target)
        return target

    yield mount
    for target in reversed(mounted):
        subprocess.run(["umount", target], check=False)


def test_pull_prints_podman_lines_and_the_id(pod, test_images):
    image = test_images.busybox
    result = pod("pull", image.ref)
    assert result.returncode == 0, result.stderr
    assert result.stdout == image.id + "\n"
    assert f"Trying to pull {image.ref}..." in result.stderr
    assert f"Copying blob {image.layers[0]['digest']}" in result.stderr
    assert f"Copying config {image.config_digest}" in result.stderr
    assert "Writing manifest to image destination" in result.stderr
    again = pod("pull", image.ref)
    assert again.stdout == image.id + "\n"
    assert "skipped: already exists" in again.stderr


def test_quiet_pull_prints_only_the_id(pod, test_images):
    result = pod("pull", "-q", test_images.busybox.ref)
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        test_images.busybox.id + "\n",
        "",
    )


def test_file_owners_modes_and_links_are_kept(pod, test_images, rootfs):
    pod("pull", "-q", test_images.busybox.ref, check=True)
    root = rootfs(test_images.busybox.ref)
    files = test_images.busybox_files
    owned = os.lstat(root / files["owned_by_tester"].lstrip("/"))
    assert (owned.st_uid, owned.st_gid) == (1000, 1000)
    assert stat.S_IMODE(os.lstat(root / files["setuid"].lstrip("/")).st_mode) == 0o4755
    assert stat.S_IMODE(os.lstat(root / files["setgid"].lstrip("/")).st_mode) == 0o2755
    assert stat.S_IMODE(os.lstat(root / "tmp").st_mode) == 0o1777
    assert os.readlink(root / "bin/sh") in ("busybox", "/bin/busybox")
    out = subprocess.run(["chroot", root, "/bin/echo", "hello"], capture_output=True, text=True)
    assert out.stdout == "hello\n"


def test_layers_whiteouts_opaque_dirs_and_hardlinks(pod, test_images, rootfs):
    pod("pull", "-q", test_images.layered.ref, check=True)
    root = rootfs(test_images.layered.ref)
    expected = test_images.layered_expected
    for path, content in expected["files"].items():
        assert (root / path.lstrip("/")).read_text() == content, path
    for path in expected["absent"]:
        assert not os.path.lexists(root / path.lstrip("/")), path
    for first, second in expected["hardlinks"]:
        a, b = os.lstat(root / first.lstrip("/")), os.lstat(root / second.lstrip("/"))
        assert (a.st_ino, a.st_dev) == (b.st_ino, b.st_dev)
    for path, target in expected["symlinks"].items():
        assert os.readlink(root / path.lstrip("/")) == target


def test_layers_are_shared_between_images(pod, test_images):
    pod("pull", "-q", test_images.busybox.ref, check=True)
    result = pod("pull", test_images.layered.ref, check=True)
    base = test_images.busybox.layers[0]["digest"]
    assert f"Copying blob {base[7:19]} skipped: already exists" in result.stderr
    layers = [p for p in (pod.root / "layers").iterdir() if (p / "meta.json").exists()]
    assert len(layers) == len(test_images.layered.layers)


@pytest.mark.parametrize("name", ["zstd", "docker", "dockerlist"])
def test_manifest_and_compression_kinds(pod, test_images, name):
    image = test_images[name]
    result = pod("pull", image.ref)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == image.id
    assert inspect(pod, image.ref)["Id"] == image.id


def test_docker_schema2_media_type_recorded(pod, test_images):
    pod("pull", "-q", test_images.docker.ref, check=True)
    assert (
        inspect(pod, test_images.docker.ref)["ManifestType"]
        == "application/vnd.docker.distribution.manifest.v2+json"
    )


def test_index_resolves_host_platform_or_the_requested_one(pod, test_images):
    image = test_images.multiarch
    assert (
        pod("pull", "-q", image.ref, check=True).stdout.strip() == image.children["linux/amd64"].id
    )
    arm = pod("pull", "-q", "--arch", "arm64", image.ref, check=True).stdout.strip()
    assert arm == image.children["linux/arm64"].id
    assert inspect(pod, arm)["Labels"]["arch"] == "arm64"
    assert pod("pull", "-q", "--platform", "linux/amd64", image.ref).stdout.strip() == image.id
    missing = pod("pull", "--platform", "linux/s390x", image.ref)
    assert missing.returncode == 125
    assert "no image found in image index for architecture linux/s390x" in missing.stderr


def test_pull_by_digest_records_the_digest_name(pod, test_images):
    image = test_images.busybox
    result = pod("pull", "-q", image.digest_ref, check=True)
    assert result.stdout.strip() == image.id
    data = inspect(pod, image.id)
    assert f"{image.host}/{image.repo}@{image.digest}" in data["RepoDigests"]
    assert pod("image", "exists", image.digest_ref).returncode == 0


@pytest.mark.parametrize(
    "ref",
    [
        "BusyBox",
        "docker.io/Library/x",
        "busy box",
        "x@sha256:abc",
        "a:" + "t" * 129,
        "",
        "bad\x07name",
        "n" * 256,
    ],
)
def test_invalid_references_fail_before_any_network(pod, ref):
    result = pod("pull", ref)
    assert result.returncode == 125
    assert result.stderr.startswith("Error: ")
    assert result.stderr.count("\n") == 1
    assert "Trying to pull" not in result.stderr


def test_unknown_image_is_a_clear_error(pod, test_images):
    result = pod("pull", f"{test_images.host}/test/nothere:latest")
    assert result.returncode == 125
    assert result.stderr.splitlines()[-1].startswith("Error: ")
    assert "manifest unknown" in result.stderr.lower()
    assert pod("images", "-q").stdout == ""


def test_unreachable_registry(pod):
    result = pod("pull", "--tls-verify=false", "127.0.0.1:1/x/y:latest")
    assert result.returncode == 125
    assert "connection refused" in result.stderr


@pytest.mark.parametrize("name", ["bad_digest", "wrong_size"])
def test_content_that_does_not_match_its_digest_is_not_kept(pod, test_images, name):
    image = test_images.hostile[name]
    result = pod("pull", image.ref)
    assert result.returncode == 125, result.stdout
    assert result.stderr.splitlines()[-1].startswith("Error: ")
    assert pod("images", "-q").stdout == ""
    layers = pod.root / "layers"
    leftovers = [p.name for p in layers.iterdir()] if layers.exists() else []
    assert all((layers / n / "meta.json").exists() for n in leftovers), leftovers
    incoming = pod.root / "tmp" / "incoming"
    assert not incoming.exists() or not any(incoming.iterdir())


def test_short_names_use_search_registries(pod, test_images):
    pod.write_registries_conf(insecure=[test_images.host], unqualified_search=[test_images.host])
    result = pod("pull", "test/busybox")
    assert result.returncode == 0, result.stderr
    assert f"Trying to pull {test_images.host}/test/busybox:latest..." in result.stderr
    assert pod("image", "exists", "test/busybox").returncode == 0


def test_short_name_alias(pod, test_images):
    pod.write_registries_conf(
        insecure=[test_images.host],
        extra=f'[aliases]\n"tiny" = "{test_images.host}/test/busybox"\n',
    )
    result = pod("pull", "-q", "tiny")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == test_images.busybox.id


def test_tls_verify_is_required_unless_insecure(pod, test_images):
    pod.write_registries_conf()
    refused = pod("pull", test_images.busybox.ref)
    assert refused.returncode == 125
    assert "Error: " in refused.stderr
    allowed = pod("pull", "-q", "--tls-verify=false", test_images.busybox.ref)
    assert allowed.returncode == 0, allowed.stderr


def test_store_is_an_oci_layout_skopeo_reads(pod, test_images):
    image = test_images.busybox
    pod("pull", "-q", image.ref, check=True)
    result = subprocess.run(
        ["skopeo", "inspect", "--raw", f"oci:{pod.root / 'blobs'}:{image.ref}"],
        capture_output=True,
        check=True,
    )
    assert result.stdout == image.manifest
    config = subprocess.run(
        ["skopeo", "inspect", "--config", f"oci:{pod.root / 'blobs'}:{image.ref}"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(config.stdout)["rootfs"]["diff_ids"] == list(image.diff_ids)


def test_umoci_unpacks_from_the_store(pod, test_images, tmp_path):
    image = test_images.busybox
    pod("pull", "-q", image.ref, check=True)
    bundle = tmp_path / "bundle"
    subprocess.run(
        ["umoci", "unpack", "--image", f"{pod.root / 'blobs'}:{image.ref}", bundle],
        capture_output=True,
        check=True,
    )
    assert (bundle / "rootfs" / "bin" / "busybox").is_file()

"""Transports wherever an image is named: pull, push, run, create, build FROM, tag; skopeo reads
what pod pushes. Names as podman 4.3 gives them."""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.needs_tool("skopeo")


def skopeo(*args) -> str:
    done = subprocess.run(["skopeo", *map(str, args)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def names(runner) -> list[str]:
    shown = runner("images", "--format", "{{.Repository}}:{{.Tag}}", check=True).stdout
    return sorted(shown.split())


@pytest.fixture
def archives(test_images, tmp_path) -> dict[str, str]:
    """The busybox test image through skopeo in every file transport."""
    source = test_images.busybox.oci_ref
    found = {
        "oci": f"oci:{test_images.busybox.oci_layout_dir}:latest",
        "oci-archive": f"oci-archive:{tmp_path / 'b.oci.tar'}",
        "docker-archive": f"docker-archive:{tmp_path / 'b.docker.tar'}",
        "dir": f"dir:{tmp_path / 'b.dir'}",
    }
    skopeo("copy", "-q", source, found["oci-archive"] + ":app:1")
    skopeo("copy", "-q", source, found["docker-archive"] + ":test/bb:2")
    skopeo("copy", "-q", source, found["dir"])
    return found


def test_pull_from_every_transport_names_the_image_as_podman(pod, test_images, archives):
    image = test_images.busybox
    for ref in archives.values():
        done = pod("pull", "-q", ref)
        assert (done.returncode, done.stdout) == (0, image.id + "\n"), done.stderr
    layout = test_images.busybox.oci_layout_dir.resolve()
    assert names(pod) == sorted(
        [f"localhost{layout}:latest", "localhost/app:1", "docker.io/test/bb:2"]
    )


def test_docker_archive_references_pick_an_image(pod, test_images, tmp_path):
    archive = tmp_path / "two.tar"
    pod("pull", "-q", test_images.busybox.ref, check=True)
    pod("pull", "-q", test_images.layered.ref, check=True)
    pod("save", "-m", "-o", archive, test_images.busybox.ref, test_images.layered.ref, check=True)
    pod("rmi", "-a", check=True)
    refused = pod("pull", f"docker-archive:{archive}")
    assert refused.returncode == 125
    assert "holds 2 images" in refused.stderr
    assert pod("pull", "-q", f"docker-archive:{archive}:@1").stdout.strip() == (
        test_images.layered.id
    )
    by_name = pod("pull", "-q", f"docker-archive:{archive}:{test_images.busybox.ref}")
    assert by_name.stdout.strip() == test_images.busybox.id
    missing = pod("pull", f"docker-archive:{archive}:nothere:1")
    assert missing.returncode == 125 and "no image tagged" in missing.stderr


def test_push_to_every_transport_is_read_by_skopeo(pod, test_images, tmp_path):
    image = test_images.layered
    pod("pull", "-q", image.ref, check=True)
    targets = {
        "oci": f"oci:{tmp_path / 'layout'}:v1",
        "oci-archive": f"oci-archive:{tmp_path / 'a.oci.tar'}:v1",
        "docker-archive": f"docker-archive:{tmp_path / 'a.docker.tar'}:test/pushed:1",
        "dir": f"dir:{tmp_path / 'a.dir'}",
    }
    for target in targets.values():
        done = pod("push", image.ref, target)
        assert done.returncode == 0, done.stderr
        config = json.loads(skopeo("inspect", "--config", target))
        assert config["rootfs"]["diff_ids"] == list(image.diff_ids), target
    # the registry's digest is kept where the blobs are written as stored
    assert json.loads(skopeo("inspect", targets["dir"]))["Digest"] == image.digest
    assert json.loads(skopeo("inspect", targets["oci"]))["Digest"] == image.digest
    pod("push", test_images.layered.ref, f"oci:{tmp_path / 'layout'}:v2", check=True)
    index = json.loads((tmp_path / "layout" / "index.json").read_text())
    refs = [m["annotations"]["org.opencontainers.image.ref.name"] for m in index["manifests"]]
    assert refs == ["v1", "v2"]
    with tarfile.open(tmp_path / "a.docker.tar") as tar:  # layers uncompressed, as docker's
        for diff_id in image.diff_ids:
            assert tarfile.is_tarfile(tar.extractfile(f"{diff_id[7:]}.tar"))


def test_docker_scheme_is_the_registry_without_short_name_search(pod, test_images):
    image = test_images.busybox
    done = pod("pull", "-q", f"docker://{image.ref}")
    assert (done.returncode, done.stdout.strip()) == (0, image.id), done.stderr
    pushed = pod("push", image.ref, f"docker://{test_images.host}/pushed/bb:1")
    assert pushed.returncode == 0, pushed.stderr
    assert pod("pull", "-q", f"docker://{test_images.host}/pushed/bb:1").returncode == 0


def test_containers_storage_is_refused_naming_the_alternative(pod):
    for command in (["pull"], ["run", "--rm"], ["save", "-o", "/dev/null"]):
        done = pod(*command, "containers-storage:busybox")
        assert done.returncode == 125, command
        assert "podman save IMAGE | pod load" in done.stderr


def test_run_create_build_and_tag_take_transports(pod, test_images, archives, tmp_path):
    shown = pod("run", "--rm", archives["oci-archive"], "echo", "from an archive")
    assert (shown.returncode, shown.stdout) == (0, "from an archive\n"), shown.stderr
    created = pod("create", "--name", "c1", archives["dir"], "true")
    assert created.returncode == 0, created.stderr
    context = tmp_path / "context"
    context.mkdir()
    (context / "Containerfile").write_text(
        f"FROM {archives['docker-archive']}\nRUN echo built > /built.txt\n"
    )
    built = pod("build", "-q", "-t", "from-archive:1", context)
    assert built.returncode == 0, built.stderr
    out = pod("run", "--rm", "from-archive:1", "cat", "/built.txt")
    assert out.stdout == "built\n"
    tagged = pod("tag", archives["oci"], "tagged-from-oci:1")
    assert tagged.returncode == 0, tagged.stderr
    assert "localhost/tagged-from-oci:1" in names(pod)


@pytest.mark.rootless
def test_rootless_transports(rootless_user, rootless_pod, test_images):
    image = test_images.busybox
    work = Path(rootless_user.make_tmpdir("transports"))
    layout = work / "layout"
    shutil.copytree(image.oci_layout_dir, layout)
    subprocess.run(["chown", "-R", f"{rootless_user.uid}:{rootless_user.gid}", layout], check=True)
    archive = work / "b.tar"
    done = rootless_pod("pull", "-q", f"oci:{layout}:latest")
    assert (done.returncode, done.stdout.strip()) == (0, image.id), done.stderr
    pushed = rootless_pod("push", image.id, f"docker-archive:{archive}:test/rootless:1")
    assert pushed.returncode == 0, pushed.stderr
    rootless_pod("rmi", "-a", "-f", check=True)
    shown = rootless_pod("run", "--rm", f"docker-archive:{archive}", "cat", "/etc/group")
    assert shown.returncode == 0, shown.stderr
    assert "tester" in shown.stdout
    assert names(rootless_pod) == ["docker.io/test/rootless:1"]

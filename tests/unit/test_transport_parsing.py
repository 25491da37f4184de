"""Transport references as containers/image parses them (oci:, oci-archive:, docker-archive:,
dir:, docker://), and the names podman 4 gives images pulled from them."""

from __future__ import annotations

import os

import pytest

from pod.errors import InvalidReferenceError, PodError, UsageError
from pod.image import transports
from pod.image.transports import TransportRef


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("oci:/srv/layout", TransportRef("oci", "/srv/layout")),
        ("oci:/srv/layout:v1", TransportRef("oci", "/srv/layout", "v1")),
        ("oci:layout:repo/name:tag", TransportRef("oci", "layout", "repo/name:tag")),
        ("oci-archive:/tmp/a.tar", TransportRef("oci-archive", "/tmp/a.tar")),
        ("oci-archive:/tmp/a.tar:latest", TransportRef("oci-archive", "/tmp/a.tar", "latest")),
        ("dir:/srv/x:y", TransportRef("dir", "/srv/x:y")),
        ("docker-archive:a.tar", TransportRef("docker-archive", "a.tar")),
        (
            "docker-archive:a.tar:busybox",
            TransportRef("docker-archive", "a.tar", "docker.io/library/busybox:latest"),
        ),
        (
            "docker-archive:a.tar:quay.io/x/y:1",
            TransportRef("docker-archive", "a.tar", "quay.io/x/y:1"),
        ),
        ("docker-archive:a.tar:@2", TransportRef("docker-archive", "a.tar", index=2)),
        ("docker://busybox", TransportRef("docker", "", "docker.io/library/busybox:latest")),
        ("docker://quay.io/a/b:c", TransportRef("docker", "", "quay.io/a/b:c")),
    ],
)
def test_parses_like_containers_image(text, expected):
    assert transports.parse(text) == expected


@pytest.mark.parametrize(
    "text",
    ["busybox", "quay.io/a/b:c", "localhost:5000/x", "oci.example.com/x", "sha256:" + "a" * 64],
)
def test_plain_references_name_no_transport(text):
    assert transports.parse(text) is None
    assert not transports.has_transport(text)


def test_containers_storage_is_refused_naming_the_alternative():
    with pytest.raises(PodError, match="podman save IMAGE \\| pod load"):
        transports.parse("containers-storage:busybox")
    with pytest.raises(PodError, match="docker save IMAGE \\| pod load"):
        transports.parse("docker-daemon:busybox:latest")
    with pytest.raises(PodError, match="not supported"):
        transports.parse("ostree:/repo")


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("oci:", UsageError),
        ("dir:", UsageError),
        ("docker-archive:a.tar:@x", InvalidReferenceError),
        ("docker-archive:a.tar:Bad Name", InvalidReferenceError),
        ("docker-archive:a.tar:busybox@sha256:" + "a" * 64, InvalidReferenceError),
        ("oci:dir:bad\nname", InvalidReferenceError),
    ],
)
def test_malformed_transport_references_fail_fast(text, error):
    with pytest.raises(error):
        transports.parse(text)


def test_round_trips_as_text():
    for text in ("oci:/a:b", "docker-archive:/x.tar:@1", "dir:/d", "oci-archive:/a.tar"):
        assert str(transports.parse(text)) == text
    assert str(transports.parse("docker://busybox")) == "docker://docker.io/library/busybox:latest"


def test_oci_layout_names_as_podman_4_3(tmp_path, monkeypatch):
    layout = tmp_path / "my-layout"
    assert transports.oci_image_name(TransportRef("oci", str(layout), "v2")) == (
        f"localhost{layout}:latest"
    )
    assert transports.oci_image_name(TransportRef("oci", str(tmp_path / "Upper"))) is None
    # a relative path is named as given (podman: `oci:img/app` → localhost/img/app), and
    # where that is no name (podman refuses `./app`) by the absolute path
    relative = TransportRef("oci", "img/app/")
    assert transports.oci_image_name(relative) == "localhost/img/app:latest"
    monkeypatch.chdir(tmp_path)
    dotted = TransportRef("oci", "./app")
    absolute = os.path.realpath("app").strip("/")
    assert transports.oci_image_name(dotted) == f"localhost/{absolute}:latest"

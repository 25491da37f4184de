"""Reference parsing and normalization, as docker and podman do it."""

import pytest

from pod.errors import InvalidReferenceError
from pod.image import reference

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("busybox", "docker.io/library/busybox:latest"),
        ("busybox:1.36", "docker.io/library/busybox:1.36"),
        ("library/busybox", "docker.io/library/busybox:latest"),
        ("user/app:v1", "docker.io/user/app:v1"),
        ("docker.io/busybox", "docker.io/library/busybox:latest"),
        ("index.docker.io/busybox", "docker.io/library/busybox:latest"),
        ("quay.io/podman/stable", "quay.io/podman/stable:latest"),
        ("localhost/app", "localhost/app:latest"),
        ("localhost:5000/ns/repo:tag", "localhost:5000/ns/repo:tag"),
        ("127.0.0.1:5000/test/busybox", "127.0.0.1:5000/test/busybox:latest"),
        (f"busybox@{DIGEST}", f"docker.io/library/busybox@{DIGEST}"),
        (f"busybox:1@{DIGEST}", f"docker.io/library/busybox:1@{DIGEST}"),
        ("Registry.Example.com/a/b", "Registry.Example.com/a/b:latest"),
        ("a.b/c__d/e-f/g.h", "a.b/c__d/e-f/g.h:latest"),
        ("[::1]:5000/x", "[::1]:5000/x:latest"),
    ],
)
def test_normalizes_like_podman(text: str, expected: str) -> None:
    assert str(reference.parse(text)) == expected


def test_short_name_is_marked_for_resolution() -> None:
    ref = reference.parse("busybox")
    assert ref.is_short_name and ref.domain is None and ref.path == "busybox"
    assert not reference.parse("quay.io/x").is_short_name
    assert str(ref.with_domain("registry.example")) == "registry.example/busybox:latest"


def test_store_name_keeps_digest_only_references() -> None:
    assert reference.parse(f"quay.io/x@{DIGEST}").name_for_store == f"quay.io/x@{DIGEST}"
    assert reference.parse("quay.io/x").name_for_store == "quay.io/x:latest"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "at least one component"),
        ("BusyBox", "must be lowercase"),
        ("docker.io/Library/busybox", "must be lowercase"),
        ("busybox:" + "t" * 129, "128"),
        ("busybox:-bad", "invalid tag"),
        ("busybox@sha256:abc", "digest"),
        ("busybox@sha256:" + "g" * 64, "digest"),
        ("busybox@" + "a" * 64, "digest"),
        ("a" * 256, "255"),
        ("busy box", "whitespace"),
        ("busybox\n", "whitespace"),
        ("busybox\x00", "control"),
        ("bad..name", "invalid reference format"),
        ("-leading", "invalid reference format"),
        ("ex ample.com/x", "whitespace"),
        ("exa_mple.com/x", "invalid domain"),
        ("localhost:abc/x", 'invalid port "abc" in domain "localhost:abc"'),
        ("[::1]:p/x", 'invalid port "p"'),
        ("localhost:/x", 'invalid port ""'),
        ("repo/", "invalid reference format"),
        ("/repo", "invalid reference format"),
    ],
)
def test_rejects_invalid_references(text: str, why: str) -> None:
    with pytest.raises(InvalidReferenceError, match=why):
        reference.parse(text)


def test_error_is_one_line_and_exit_125() -> None:
    with pytest.raises(InvalidReferenceError) as info:
        reference.parse("Bad\nName")
    assert "\n" not in str(info.value).replace("\\n", "")
    assert info.value.exit_code == 125


def test_looks_like_id() -> None:
    assert reference.looks_like_id("a" * 64)
    assert reference.looks_like_id("sha256:" + "a" * 64)
    assert not reference.looks_like_id("a" * 12)

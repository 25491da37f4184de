"""Manifest validation and platform selection on untrusted documents."""

import json

import pytest

from pod.errors import PodError, UnsafeContentError
from pod.image import manifest as mf

D1, D2, D3 = ("sha256:" + c * 64 for c in "abc")


def index(*entries: dict) -> bytes:
    return json.dumps(
        {"schemaVersion": 2, "mediaType": mf.OCI_INDEX, "manifests": list(entries)}
    ).encode()


def entry(digest: str, arch: str, variant: str | None = None) -> dict:
    platform = {"os": "linux", "architecture": arch}
    if variant:
        platform["variant"] = variant
    return {"mediaType": mf.OCI_MANIFEST, "digest": digest, "size": 10, "platform": platform}


def test_selects_requested_platform() -> None:
    data = index(entry(D1, "amd64"), entry(D2, "arm64", "v8"), entry(D3, "arm", "v7"))
    assert mf.select_platform(data, mf.Platform("linux", "amd64")).digest == D1
    assert mf.select_platform(data, mf.Platform("linux", "arm64")).digest == D2
    assert mf.select_platform(data, mf.Platform("linux", "arm", "v7")).digest == D3


def test_missing_platform_is_a_clear_error() -> None:
    with pytest.raises(
        PodError, match="no image found in image index for architecture linux/s390x"
    ):
        mf.select_platform(index(entry(D1, "amd64")), mf.Platform("linux", "s390x"))


def test_parse_platform_flags() -> None:
    assert str(mf.parse_platform("linux/arm64/v8")) == "linux/arm64/v8"
    assert mf.parse_platform(None, arch="arm64").architecture == "arm64"
    with pytest.raises(PodError, match="invalid platform"):
        mf.parse_platform("linux")


def test_media_type_from_body_or_header() -> None:
    body = json.dumps({"schemaVersion": 2, "layers": [], "config": {}}).encode()
    assert mf.media_type_of(body, mf.DOCKER_MANIFEST) == mf.DOCKER_MANIFEST
    assert mf.media_type_of(body, None) == mf.OCI_MANIFEST
    with pytest.raises(PodError, match="schema 1"):
        mf.media_type_of(json.dumps({"schemaVersion": 1}).encode(), "application/json")


@pytest.mark.parametrize(
    "doc",
    [
        {"layers": "nope", "config": {}},
        {"layers": [{"digest": "sha256:short", "size": 1}], "config": {"digest": D1, "size": 1}},
        {"layers": [{"digest": D1, "size": -1}], "config": {"digest": D1, "size": 1}},
        {"layers": [{"digest": D1, "size": True}], "config": {"digest": D1, "size": 1}},
        {"layers": [], "config": "x"},
    ],
)
def test_malformed_manifests_are_rejected(doc: dict) -> None:
    with pytest.raises(UnsafeContentError):
        mf.parse_manifest(json.dumps(doc).encode(), mf.OCI_MANIFEST)


def test_not_json_is_rejected() -> None:
    with pytest.raises(UnsafeContentError):
        mf.parse_manifest(b"\xff", mf.OCI_MANIFEST)


def test_diff_ids_validated() -> None:
    assert mf.diff_ids({"rootfs": {"diff_ids": [D1]}}) == [D1]
    with pytest.raises(UnsafeContentError):
        mf.diff_ids({"rootfs": {"diff_ids": ["../x"]}})


@pytest.mark.parametrize("size", [mf.CONFIG_LIMIT, mf.CONFIG_LIMIT + 1])
def test_the_config_size_is_capped_like_the_manifest(size: int) -> None:
    doc = {
        "schemaVersion": 2,
        "config": {"mediaType": mf.OCI_CONFIG, "digest": "sha256:" + "c" * 64, "size": size},
        "layers": [],
    }
    data = json.dumps(doc).encode()
    if size <= mf.CONFIG_LIMIT:
        assert mf.parse_manifest(data, mf.OCI_MANIFEST).config.size == size
        return
    with pytest.raises(UnsafeContentError, match=f"is {size} bytes, more than the"):
        mf.parse_manifest(data, mf.OCI_MANIFEST)

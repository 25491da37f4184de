"""`pod pull` refuses what it cannot trust, stores nothing of it, and says so in one line:
an image config over the size cap (a real registry serves it), a manifest whose bytes do not
match the registry's Docker-Content-Digest (a fake registry, since a real one cannot lie), a
layer blob whose digest fails only at its end (after it unpacked while downloading), and
references whose port no connection can use. As root and as a rootless user."""

from __future__ import annotations

import os
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from image_builder import (
    BuiltImage,
    RegistryClient,
    busybox_applets,
    busybox_config,
    busybox_layer,
    make_image,
    sha256_digest,
)
from registry_server import fake_registry, fake_server, reply

from pod.image.manifest import CONFIG_LIMIT


@dataclass
class Engine:
    pod: object  # PodRunner or RootlessPod


@pytest.fixture(params=["root", pytest.param("rootless", marks=pytest.mark.rootless)])
def engine(request) -> Engine:
    name = "pod" if request.param == "root" else "rootless_pod"
    return Engine(request.getfixturevalue(name))


@pytest.fixture(scope="module")
def small_image() -> BuiltImage:
    layer = busybox_layer(Path("/bin/busybox"), busybox_applets(Path("/bin/busybox"))[:5])
    return make_image([layer], busybox_config([layer.diff_id]))


def assert_nothing_stored(pod) -> None:
    assert pod("images", "-q").stdout == ""
    blobs = pod.root / "blobs" / "blobs" / "sha256"
    assert not blobs.exists() or sorted(os.listdir(blobs)) == []
    layers = pod.root / "layers"
    assert not layers.exists() or sorted(os.listdir(layers)) == []


def assert_one_error_line(result, *fragments: str) -> None:
    assert result.returncode == 125, result
    assert result.stderr.splitlines()[-1].startswith("Error: "), result.stderr
    assert sum(line.startswith("Error") for line in result.stderr.splitlines()) == 1
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


def test_an_oversized_image_config_is_refused_before_it_is_fetched(engine, registry):
    layer = busybox_layer(Path("/bin/busybox"), ["sh"])
    config = busybox_config([layer.diff_id], labels={"padding": "x" * (CONFIG_LIMIT + 1)})
    image = make_image([layer], config)
    RegistryClient(registry.url).push_image(image, "hardening/bigconfig", "latest")
    result = engine.pod("pull", f"{registry.host}/hardening/bigconfig:latest")
    assert_one_error_line(result, f"image config {image.config.digest}", "more than the")
    assert_nothing_stored(engine.pod)


def serve_image(image: BuiltImage, digest_header: str | None, forged: dict | None = None):
    """A fake registry serving `image` as test/img:latest, naming `digest_header` as its
    Docker-Content-Digest (None: no header); `forged` blobs are served for their digests."""
    blobs = {blob.digest: blob.data for blob in image.blobs()} | (forged or {})

    def manifest(handler: BaseHTTPRequestHandler) -> None:
        headers = {"Content-Type": image.media_type}
        if digest_header:
            headers["Docker-Content-Digest"] = digest_header
        reply(handler, 200, image.manifest, headers)

    def blob(handler: BaseHTTPRequestHandler) -> None:
        data = blobs.get(handler.path.rsplit("/", 1)[-1])
        reply(handler, 200 if data else 404, data or b"")

    return fake_registry({"/v2/test/img/manifests/": manifest, "/v2/test/img/blobs/": blob})


@pytest.mark.parametrize("honest", [True, False], ids=["honest", "lying"])
def test_the_manifest_by_tag_must_match_docker_content_digest(engine, small_image, honest):
    header = small_image.digest if honest else sha256_digest(b"another manifest")
    with fake_server(serve_image(small_image, header)) as server:
        result = engine.pod("pull", "--tls-verify=false", f"{server.host}/test/img:latest")
        served = [seen.path for seen in server.seen]
    if honest:
        assert result.returncode == 0, result.stderr
        assert engine.pod("images", "-q").stdout.strip() == small_image.config.digest[7:19]
        return
    assert_one_error_line(result, "does not match the registry's Docker-Content-Digest", header)
    assert not [path for path in served if "/blobs/" in path]  # nothing fetched after it
    assert_nothing_stored(engine.pod)


def test_a_layer_blob_failing_its_digest_leaves_no_layer(engine, small_image):
    """A layer unpacks while it downloads. Here the served blob is the right layer but for one
    byte of its gzip header (the mtime): it unpacks to the right diff id, and only the blob's
    digest, known at its end, is wrong. No layer, layer blob or scratch dir may be left."""
    layer = small_image.layers[0]
    forged = layer.data[:4] + bytes([layer.data[4] ^ 1]) + layer.data[5:]
    with fake_server(serve_image(small_image, None, {layer.digest: forged})) as server:
        result = engine.pod("pull", "--tls-verify=false", f"{server.host}/test/img:latest")
    assert_one_error_line(result, f"fetching blob {layer.digest}", "digest mismatch")
    assert engine.pod("images", "-q").stdout == ""
    for leftovers in ("layers", "tmp/layers", "tmp/incoming"):
        where = engine.pod.root / leftovers
        assert not where.exists() or sorted(os.listdir(where)) == [], leftovers
    assert not (engine.pod.root / "blobs" / "blobs" / "sha256" / layer.digest[7:]).exists()


@pytest.mark.parametrize(
    ("reference", "fragment"),
    [
        ("localhost:99999/x", "dial tcp: address 99999: invalid port"),
        ("localhost:0/x", "dial tcp: address 0: invalid port"),
        ("localhost:abc/x", 'invalid port "abc" in domain "localhost:abc"'),
    ],
)
def test_a_bad_port_is_one_clear_line(engine, reference, fragment):
    result = engine.pod("pull", "--tls-verify=false", reference)
    assert_one_error_line(result, fragment)
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert_nothing_stored(engine.pod)

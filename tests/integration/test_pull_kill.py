"""`kill -9` of a `pod pull` at a chosen moment (mid-download, mid-unpack), as root and as a
rootless user: no process is left behind (the rootless unpack worker dies with its parent), the
next command (`pod images`) leaves no partial layer or download, and the next pull succeeds."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from image_builder import (
    BuiltImage,
    Dir,
    File,
    Layer,
    RegistryClient,
    build_tar,
    busybox_applets,
    busybox_config,
    busybox_layer,
    make_image,
)
from polling import poll, wait_for
from registry_server import fake_registry, fake_server, reply

BUSYBOX = Path("/bin/busybox")


@pytest.fixture(params=["root", pytest.param("rootless", marks=pytest.mark.rootless)])
def runner(request):
    return request.getfixturevalue("pod" if request.param == "root" else "rootless_pod")


@pytest.fixture(scope="module")
def slow_unpack_image(registry) -> str:
    """busybox plus a layer of 24,000 small files: unpacking it takes seconds, so a worker
    that outlived its pull would still be seen writing long after the kill."""
    base = busybox_layer(BUSYBOX, busybox_applets(BUSYBOX))
    entries = [Dir(f"d{i}") for i in range(120)]
    entries += [File(f"d{i}/f{j}", b"x" * 512) for i in range(120) for j in range(200)]
    layers = [base, Layer(build_tar(entries))]
    image = make_image(layers, busybox_config([layer.diff_id for layer in layers]))
    RegistryClient(registry.url).push_image(image, "kill/slow-unpack", "latest")
    return f"{registry.host}/kill/slow-unpack:latest"


@pytest.fixture(scope="module")
def download_image() -> BuiltImage:
    """busybox plus 4 MiB that do not compress: a download that takes more than one chunk."""
    layers = [
        busybox_layer(BUSYBOX, busybox_applets(BUSYBOX)),
        Layer(build_tar([File("random.bin", os.urandom(4 << 20))])),
    ]
    return make_image(layers, busybox_config([layer.diff_id for layer in layers]))


class StallingRegistry:
    """Serves `image`; its largest layer blob stalls after the first half until `release()`."""

    def __init__(self, image: BuiltImage) -> None:
        self.image = image
        self.released = threading.Event()
        self.blobs = {blob.digest: blob.data for blob in image.blobs()}
        self.stalling = max(image.layers, key=lambda blob: len(blob.data)).digest

    def release(self) -> None:
        self.released.set()

    def manifest(self, handler: BaseHTTPRequestHandler) -> None:
        reply(handler, 200, self.image.manifest, {"Content-Type": self.image.media_type})

    def blob(self, handler: BaseHTTPRequestHandler) -> None:
        digest = handler.path.rsplit("/", 1)[-1]
        data = self.blobs.get(digest)
        if data is None or digest != self.stalling or self.released.is_set():
            reply(handler, 200 if data else 404, data or b"")
            return
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data[: len(data) // 2])
        handler.wfile.flush()
        self.released.wait(60)

    def app(self):
        routes = {"/v2/test/img/manifests/": self.manifest, "/v2/test/img/blobs/": self.blob}
        return fake_registry(routes)


def unpack_workers(pull_pid: int) -> list[int]:
    """The unpack workers a pull started (they name their parent: `--parent <pid>`)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        marker = [b"--parent", str(pull_pid).encode()]
        if b"pod.store.unpack" in argv and any(
            argv[i : i + 2] == marker for i in range(len(argv) - 1)
        ):
            found.append(int(entry))
    return found


def leftovers(root: Path) -> list[str]:
    """Partial layers and downloads in the store: scratch dirs, incoming files, and layer
    dirs without their meta.json (an older pod's incomplete rename)."""
    found = []
    for scratch in ("tmp/layers", "tmp/incoming"):
        directory = root / scratch
        if directory.exists():
            found += [f"{scratch}/{name}" for name in os.listdir(directory)]
    layers = root / "layers"
    if layers.exists():
        found += [f"layers/{p.name}" for p in layers.iterdir() if not (p / "meta.json").exists()]
    return found


def kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)


def assert_recovered(runner, pull_pid: int, reference: str, *pull_args: str) -> None:
    """No worker of the killed pull (gone at once, not once its work is done), no partial
    layer once `pod images` ran, and a pull works."""
    assert poll(lambda: not unpack_workers(pull_pid), timeout=1.5), unpack_workers(pull_pid)
    images = runner("images")
    assert images.returncode == 0, images.stderr
    assert leftovers(runner.root) == []
    again = runner("pull", "-q", *pull_args, reference)
    assert again.returncode == 0, again.stderr
    assert leftovers(runner.root) == []


def test_kill_9_mid_download(runner, download_image):
    stalling = StallingRegistry(download_image)
    with fake_server(stalling.app()) as server:
        reference = f"{server.host}/test/img:latest"
        proc = runner.popen("pull", "--tls-verify=false", reference,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
        partial = runner.root / "tmp" / "incoming" / stalling.stalling.replace(":", "-")

        def partial_download() -> bool:
            return partial.exists() and partial.stat().st_size > 0

        try:
            wait_for(partial_download, timeout=60)
        finally:
            kill(proc)
        stalling.release()
        assert_recovered(runner, proc.pid, reference, "--tls-verify=false")


def test_kill_9_mid_unpack(runner, slow_unpack_image):
    proc = runner.popen("pull", slow_unpack_image, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    scratch = runner.root / "tmp" / "layers"

    def unpacking() -> bool:
        return scratch.exists() and any((p / "diff" / "d1").exists() for p in scratch.iterdir())

    try:
        wait_for(unpacking, timeout=60, interval=0.01)
        if os.stat(runner.root).st_uid != 0:  # rootless: the worker in the user namespace
            assert unpack_workers(proc.pid)  # writes the layer
    finally:
        kill(proc)
    assert leftovers(runner.root)  # the kill did leave a partial layer: the next command's job
    assert_recovered(runner, proc.pid, slow_unpack_image)
    result = runner("run", "--rm", "--network", "none", slow_unpack_image, "cat", "/d119/f199")
    assert (result.returncode, result.stdout) == (0, "x" * 512), result.stderr

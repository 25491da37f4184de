"""Many `pod pull` processes on one store, and a pull killed at any moment."""

from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest


def start(pod, *args) -> subprocess.Popen:
    return pod.popen(*args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_concurrent_pulls_of_same_and_different_images(pod, test_images):
    names = ["busybox", "layered", "zstd", "docker", "busybox", "layered", "multiarch", "zstd"]
    procs = [start(pod, "pull", "-q", test_images[n].ref) for n in names]
    outputs = [p.communicate(timeout=120) for p in procs]
    for proc, (_out, err), name in zip(procs, outputs, names, strict=True):
        assert proc.returncode == 0, f"{name}: {err}"
    listed = json.loads(pod("images", "--format", "json", check=True).stdout)
    ids = {image["Id"] for image in listed}
    assert {test_images[n].id for n in set(names) - {"multiarch"}} <= ids
    for name in set(names):
        assert pod("image", "exists", test_images[name].ref).returncode == 0
    layers = pod.root / "layers"
    assert all((p / "meta.json").exists() for p in layers.iterdir())


@pytest.mark.parametrize("delay", [0.05, 0.15, 0.3, 0.5, 0.8])
def test_kill_9_during_pull_leaves_a_usable_store(pod, test_images, delay):
    proc = start(pod, "pull", test_images.layered.ref)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    images = pod("images")
    assert images.returncode == 0, images.stderr
    again = pod("pull", "-q", test_images.layered.ref)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == test_images.layered.id
    layers = pod.root / "layers"
    assert all((p / "meta.json").exists() for p in layers.iterdir())
    assert pod("rmi", test_images.layered.ref).returncode == 0
    assert [p for p in layers.iterdir()] == []

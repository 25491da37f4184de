"""completions/pod.bash offers the names in a real store, by running `pod` at completion time."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))

from test_completions import bash_complete  # noqa: E402


def test_bash_completes_container_image_and_volume_names(pod, busybox):
    pod("create", "--name", "completeme", busybox, "true", check=True)
    pod("volume", "create", "volcomplete", check=True)
    store = {"POD_ROOT": str(pod.root), "POD_RUNROOT": str(pod.runroot)}
    assert bash_complete("pod", "rm", "", env=store) == ["completeme"]
    assert bash_complete("pod", "rm", "completeme", "comp", env=store) == ["completeme"]
    assert bash_complete("pod", "volume", "rm", "", env=store) == ["volcomplete"]
    assert bash_complete("pod", "rmi", "", env=store) == [busybox]
    flags = ("pod", "--root", str(pod.root), "--runroot", str(pod.runroot), "start", "")
    assert bash_complete(*flags) == ["completeme"]
    assert "volcomplete" in bash_complete("pod", "inspect", "", env=store)

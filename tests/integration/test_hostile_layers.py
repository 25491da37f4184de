"""Hostile images from a real registry: nothing may be written outside the layer directory."""

from __future__ import annotations

import pytest

HOSTILE = [
    "dotdot",
    "absolute",
    "symlink_then_write",
    "symlink_chain",
    "symlink_prior_layer",
    "hardlink_out",
    "whiteout_dotdot",
    "whiteout_through_symlink",
    "huge_size",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_layer_stays_contained(pod, test_images, name):
    hostile = test_images.hostile
    hostile.reset()
    result = pod("pull", hostile[name].ref)
    hostile.assert_untouched()
    assert hostile.find_escapes(pod.tmp, ignore_under=[pod.root / "layers"]) == []
    if result.returncode != 0:
        assert result.returncode == 125
        assert result.stderr.splitlines()[-1].startswith("Error: ")
        assert "Traceback" not in result.stderr
        assert pod("images", "-q").stdout == ""
        layers = pod.root / "layers"
        partial = [p.name for p in layers.iterdir() if not (p / "meta.json").exists()]
        assert partial == []


@pytest.mark.rootless
@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_layer_stays_contained_rootless(rootless_user, rootless_pod, test_images, name):
    hostile = test_images.hostile
    hostile.reset()
    result = rootless_user.run_pod(
        "pull", hostile[name].ref, root=rootless_pod.root, runroot=rootless_pod.runroot
    )
    hostile.assert_untouched()
    assert "Traceback" not in result.stderr
    assert result.returncode in (0, 125), result.stderr

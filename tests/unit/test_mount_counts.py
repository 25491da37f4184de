"""store.mount_counts: `pod mount` counts per mount namespace and boot, never below zero."""

from __future__ import annotations

import json

from pod.store import mount_counts


def test_counts_go_up_and_down_and_the_file_goes_with_the_last(tmp_path):
    path = tmp_path / "mounts.json"
    assert mount_counts.held(path) == 0
    assert mount_counts.change(path, +1) == 1
    assert mount_counts.change(path, +1) == 2
    assert mount_counts.held(path) == 2
    assert mount_counts.change(path, -1) == 1
    assert mount_counts.change(path, -1) == 0
    assert mount_counts.change(path, -1) == 0
    assert not path.exists()


def test_other_namespaces_and_boots_do_not_count_here(tmp_path):
    path = tmp_path / "mounts.json"
    path.write_text(json.dumps({"another-boot/4026531841": 3, "junk": "x"}))
    assert mount_counts.held(path) == 0
    mount_counts.change(path, +1)
    assert json.loads(path.read_text())["another-boot/4026531841"] == 3
    mount_counts.reset(path)
    assert json.loads(path.read_text()) == {"another-boot/4026531841": 3}


def test_a_damaged_file_counts_nothing(tmp_path):
    path = tmp_path / "mounts.json"
    path.write_text("{not json")
    assert mount_counts.held(path) == 0
    assert mount_counts.change(path, +1) == 1

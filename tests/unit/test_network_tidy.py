"""The tidy-up's decisions that need no netlink: which starts are in progress, what is left."""

from __future__ import annotations

import json
import os

import pytest

from pod.network import hostparts
from pod.network.setup import _bridges_being_started, _netlink_work, tidy
from pod.network.state import NetworkState, leftovers_possible, save_state
from pod.store.layout import Layout


@pytest.fixture(autouse=True)
def host_dir(tmp_path, monkeypatch):
    """The host-wide directory of rootful bridges, kept inside the test's own directory."""
    monkeypatch.setattr(hostparts, "HOST_DIR", tmp_path / "host")


def _layout(tmp_path, name: str = "store") -> Layout:
    return Layout(tmp_path / name / "root", tmp_path / name / "run")


def test_a_marker_being_written_is_neither_read_nor_removed(tmp_path):
    layout = _layout(tmp_path)
    starting = hostparts.starting_dir(layout)
    starting.mkdir(parents=True)
    (starting / str(os.getpid())).write_text(json.dumps(["pod0"]))
    temporary = starting / f".{os.getpid()}.abc123"  # atomic_write's file before its rename
    temporary.write_text("[")
    (starting / "999999999").write_text(json.dumps(["pod7"]))  # a worker that died
    assert _bridges_being_started(layout) == {"pod0"}
    assert temporary.exists()
    assert not (starting / "999999999").exists()


def test_nothing_left_to_delete_is_forgotten_without_netlink(tmp_path):
    layout = _layout(tmp_path)
    queue = layout.runroot / "network-tidy"
    queue.mkdir(parents=True)
    entry = queue / "abc.json"
    entry.write_text(json.dumps({"veths": ["vethgone0"], "networks": ["no-such-network"]}))
    assert not _netlink_work(layout, [entry])
    assert tidy(layout, grace=0.05) == []
    assert list(queue.iterdir()) == []


def test_rootful_stores_see_each_others_starts(tmp_path):
    """pod0 is the host's: one store's tidy must not delete it while another store's start is
    attaching to it (CI saw `attaching veth… to pod0: list index out of range`)."""
    mine, other = _layout(tmp_path, "mine"), _layout(tmp_path, "other")
    starting = hostparts.starting_dir(other)
    starting.mkdir(parents=True)
    (starting / str(os.getpid())).write_text(json.dumps(["pod0"]))
    expected = {"pod0"} if hostparts._on_the_host() else set()
    assert _bridges_being_started(mine) == expected


def test_leftovers_are_possible_only_where_tidy_or_disconnect_would_look(tmp_path):
    """A removal loads the network modules only for a network.json, pending host parts or a
    rootless network namespace; a plain store has none of them."""
    layout = _layout(tmp_path)
    assert not leftovers_possible(layout, "c1")
    layout.network_tidy_root.mkdir(parents=True)
    assert not leftovers_possible(layout, "c1")  # an empty queue
    (layout.network_tidy_root / "veth").write_text("{}")
    assert leftovers_possible(layout, "c1")
    (layout.network_tidy_root / "veth").unlink()
    save_state(layout, "c1", NetworkState(kind="bridge"))
    assert leftovers_possible(layout, "c1") and not leftovers_possible(layout, "c2")
    layout.rootless_netns_holder.parent.mkdir(parents=True, exist_ok=True)
    layout.rootless_netns_holder.write_text("1")
    assert leftovers_possible(layout, "c2")

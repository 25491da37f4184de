"""ContainerStore's lookups on a real store directory: full IDs, names and prefixes resolve as
podman resolves them, and a full ID is read without listing every container."""

from __future__ import annotations

import pytest

from pod.errors import NoSuchContainerError, PodError
from pod.store.containers import ContainerRecord, ContainerStore
from pod.store.layout import Layout

FIRST = "ab" + "1" * 62
SECOND = "ab" + "2" * 62


def _record(container_id: str, name: str) -> ContainerRecord:
    return ContainerRecord(
        id=container_id, name=name, image_id="0" * 64, image_name="localhost/bb", created=0.0,
        command=["true"], rootless=False, runtime="pod",
    )  # fmt: skip


@pytest.fixture
def store(tmp_path) -> ContainerStore:
    store = ContainerStore(Layout(tmp_path / "root", tmp_path / "run"))
    store.create(_record(FIRST, "first"))
    store.create(_record(SECOND, "second"))
    return store


def test_names_prefixes_and_full_ids_resolve(store):
    assert store.lookup("first").id == FIRST
    assert store.lookup(SECOND).name == "second"
    assert store.lookup("ab2").id == SECOND
    assert [r.name for r in store.lookup_all([FIRST, "second"])] == ["first", "second"]


def test_an_ambiguous_prefix_and_a_missing_container_are_errors(store):
    with pytest.raises(PodError, match='more than one result for container "ab"'):
        store.lookup("ab")
    with pytest.raises(NoSuchContainerError, match='no container with name or ID "x" found'):
        store.lookup("x")
    with pytest.raises(NoSuchContainerError):
        store.lookup("cd" + "1" * 62)  # a full ID nobody has


def test_a_full_id_is_read_without_listing_the_store(store, monkeypatch):
    def no_listing():
        raise AssertionError("listed every container for a full ID")

    monkeypatch.setattr(store, "list", no_listing)
    assert store.lookup(FIRST).name == "first"


def test_a_full_id_wins_over_a_name_that_spells_it(store):
    store.create(_record("cd" + "3" * 62, SECOND))  # a name that is another container's ID
    assert store.lookup(SECOND).id == SECOND


def test_a_state_written_not_durable_is_not_synced(store, monkeypatch):
    """The shim's start and stop steps wait for no disk flush (pod.store.lock.atomic_write)."""
    import os

    from pod.store.containers import ContainerState

    synced: list[int] = []
    monkeypatch.setattr(os, "fsync", synced.append)
    store.write_state(FIRST, ContainerState(status="running", pid=7), durable=False)
    assert synced == []
    assert store.read_state(FIRST).status == "running"
    store.write_state(FIRST, ContainerState(status="exited", exit_code=3))
    assert len(synced) == 2  # the file, then its directory
    assert store.read_state(FIRST).exit_code == 3


@pytest.mark.parametrize("left", [b"", b'{"status": "runn'])
def test_a_state_file_a_crash_left_unreadable_reads_as_a_fresh_state(store, left):
    """A write that was not durable may leave an empty file after a crash on some filesystems:
    `ps` and the rest still read the container (as not running)."""
    store.state_file(FIRST).write_bytes(left)
    state = store.read_state(FIRST)
    assert (state.status, state.pid, state.shim_pid) == ("created", 0, 0)
    assert sorted(r.name for r in store.list()) == ["first", "second"]

"""The file backend's follower across rotations: every event written reaches a running
`pod events`, however the rotations fall between its reads."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from pod import events


@pytest.fixture
def log(tmp_path: Path, monkeypatch) -> Path:
    """A log rotated past 400 bytes (two or three events), as containers.conf can ask."""
    conf = tmp_path / "containers.conf"
    conf.write_text('[engine]\nevents_logfile_max_size = "400"\n')
    monkeypatch.setenv("CONTAINERS_CONF", str(conf))
    events.configure("file")
    yield tmp_path / "events" / "events.log"
    events.configure()


def _write(log: Path, name: str) -> None:
    events.append(log, events.Event("container", "create", name=name, id="f" * 64))


def _deadline() -> int:
    """Where a follower gives up (its events would be lost): a failure, never a hang."""
    return time.time_ns() + 10 * 1_000_000_000


def _inode(path: Path) -> int:
    return os.stat(path).st_ino


def test_two_rotations_between_reads_lose_nothing(log):
    _write(log, "e0")
    follower = events.read(log, follow=True, history=True, stop_ns=_deadline())
    assert next(follower).name == "e0"
    rotated = log.with_name("events.log.1")
    written: list[str] = []
    generations = set()
    while len(generations) < 2:  # the follower sleeps through two rotations
        written.append(f"e{len(written) + 1}")
        _write(log, written[-1])
        if rotated.exists():
            generations.add(_inode(rotated))
    _write(log, "last")
    written.append("last")
    assert [next(follower).name for _ in written] == written


def test_a_write_and_a_rotation_after_the_last_read_are_not_lost(log, monkeypatch):
    """The old file is read once more after its rename: what was appended to it between the
    follower's last read and the rotation is still delivered."""
    _write(log, "first")
    follower = events.read(log, follow=True, history=True, stop_ns=_deadline())
    assert next(follower).name == "first"
    real = events._replaced
    raced = []

    def rotation_in_between(handle, path):
        if not raced:
            raced.append(True)
            _write(log, "late")  # into the file the follower holds, after its read
            os.replace(log, log.with_name(log.name + ".1"))  # what a rotation does
            _write(log, "next")
        return real(handle, path)

    monkeypatch.setattr(events, "_replaced", rotation_in_between)
    assert [next(follower).name for _ in range(2)] == ["late", "next"]


def test_a_removed_log_is_not_read_again_from_its_old_generation(log):
    """A log deleted (not rotated) leaves `.1` older than the file followed: not replayed."""
    for name in ("a", "b", "c", "d"):
        _write(log, name)
    old = log.with_name("events.log.1")
    assert old.exists()
    os.utime(old, (1, 1))  # written well before the current log
    follower = events.read(log, follow=True, history=True, stop_ns=_deadline())
    assert [next(follower).name for _ in range(4)] == ["a", "b", "c", "d"]
    log.unlink()
    _write(log, "after")
    assert next(follower).name == "after"

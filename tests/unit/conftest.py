"""Fixtures of the unit tests that write files: where to write, and a sentinel outside it."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A root directory (a container's file system, say) for the code under test to write in."""
    path = tmp_path / "root"
    path.mkdir()
    return path


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A sentinel directory next to what the test writes; hostile input must leave it as it is."""
    path = tmp_path / "outside"
    path.mkdir()
    (path / "secret").write_text("host data")
    return path

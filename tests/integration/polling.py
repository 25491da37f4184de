"""Waiting for something that happens in another process: one loop for every test."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def poll(predicate: Callable[[], T], timeout: float, interval: float = 0.05) -> T:
    """`predicate()`'s first true value, or its last (false) one once `timeout` seconds passed."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def wait_for(predicate: Callable[[], T], timeout: float = 15.0, interval: float = 0.05) -> T:
    """`predicate()`'s first true value; an AssertionError when `timeout` seconds pass first."""
    value = poll(predicate, timeout, interval)
    assert value, f"timed out after {timeout} s waiting for {predicate.__qualname__}"
    return value

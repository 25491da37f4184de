"""The names users give containers, volumes and networks: podman's rule, kept in one place.

podman checks names against `[a-zA-Z0-9][a-zA-Z0-9_.-]*`. It sets no length limit, but pod
caps names at 253 characters, a DNS name's limit: a container's name is published in its
/etc/hosts and to the peers on its networks, and a volume's name is a directory name (255
bytes at most), so longer names would fail later and less clearly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Protocol, TypeVar

from pod.errors import PodError

NAME_PATTERN = "[a-zA-Z0-9][a-zA-Z0-9_.-]*"
MAX_NAME_LENGTH = 253


def name_problem(name: str) -> str | None:
    """Why `name` cannot be used (podman's wording, ending in `: invalid argument`), or None."""
    if not re.fullmatch(NAME_PATTERN, name):
        return f"names must match {NAME_PATTERN}: invalid argument"
    if len(name) > MAX_NAME_LENGTH:
        return f"names must be at most {MAX_NAME_LENGTH} characters long: invalid argument"
    return None


class _Named(Protocol):
    id: str
    name: str


_R = TypeVar("_R", bound=_Named)


def resolve(records: Iterable[_R], text: str, kind: str) -> _R | None:
    """A record by full ID, name or unique ID prefix, as podman resolves containers and pods;
    None when nothing matches, PodError when a prefix matches several `kind`s."""
    records = list(records)
    for record in records:
        if text in (record.id, record.name):
            return record
    by_prefix = [r for r in records if text and r.id.startswith(text)]
    if len(by_prefix) > 1:
        raise PodError(f'more than one result for {kind} "{text}"')
    return by_prefix[0] if by_prefix else None

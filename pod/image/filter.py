"""`--filter` and `--sort` for image listings, as podman's `images` takes them."""

from __future__ import annotations

from collections.abc import Callable
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

from pod.errors import PodError
from pod.image.defaults import defaults_from_config
from pod.store.images import ImageRecord, ImageStore
from pod.util.humanize import parse_timestamp

if TYPE_CHECKING:
    from _typeshed import SupportsRichComparison

Predicate = Callable[[ImageRecord], bool]
SORT_KEYS = ("created", "id", "repository", "size", "tag")


def _reference_matches(pattern: str, record: ImageRecord) -> bool:
    """A glob matches the full name, or it without registry, or the repository, or its last part."""
    for name in record.names:
        repository, _, tag = name.rpartition(":")
        last = repository.rpartition("/")[2]
        candidates = (
            name,
            name.partition("/")[2],
            repository,
            repository.partition("/")[2],
            last,
            f"{last}:{tag}",
        )
        if any(fnmatchcase(candidate, pattern) for candidate in candidates):
            return True
    return False


def _labels(store: ImageStore, record: ImageRecord) -> dict[str, str]:
    from pod.image.defaults import image_config

    return defaults_from_config(image_config(store.blobs, record)).labels


def _created(record: ImageRecord) -> float:
    return parse_timestamp(record.created)


def build_filter(store: ImageStore, filters: list[str]) -> Predicate:
    """All filters must hold; several values of one key are alternatives (podman's rule)."""
    by_key: dict[str, list[str]] = {}
    for item in filters:
        key, sep, value = item.partition("=")
        if not sep:
            raise PodError(f'invalid filter "{item}": use key=value')
        by_key.setdefault(key, []).append(value)
    checks: list[Predicate] = []
    for key, values in by_key.items():
        checks.append(_one_filter(store, key, values))
    return lambda record: all(check(record) for check in checks)


def _one_filter(store: ImageStore, key: str, values: list[str]) -> Predicate:
    if key == "dangling":
        for value in values:
            if value not in ("true", "false"):
                raise PodError(f'invalid filter "dangling={value}": use true or false')
        return lambda r: any(r.dangling == (v == "true") for v in values)
    if key == "reference":
        return lambda r: any(_reference_matches(v, r) for v in values)
    if key == "label":

        def has_label(record: ImageRecord) -> bool:
            labels = _labels(store, record)
            for value in values:
                name, sep, wanted = value.partition("=")
                if name in labels and (not sep or labels[name] == wanted):
                    return True
            return False

        return has_label
    if key in ("before", "since"):
        anchors = [_created(store.lookup(v)) for v in values]
        if key == "before":
            return lambda r: any(_created(r) < a for a in anchors)
        return lambda r: any(_created(r) > a for a in anchors)
    if key == "id":
        return lambda r: any(r.id.startswith(v.removeprefix("sha256:")) for v in values)
    raise PodError(f'invalid filter "{key}": use dangling, reference, label, before, since or id')


def sort_key(key: str) -> Callable[[tuple[ImageRecord, str, str]], SupportsRichComparison]:
    """Rows are (record, repository, tag); created sorts newest first, as podman."""
    if key not in SORT_KEYS:
        raise PodError(f'invalid sort "{key}": use one of {", ".join(SORT_KEYS)}')
    return {
        "created": lambda row: -_created(row[0]),
        "id": lambda row: row[0].id,
        "repository": lambda row: row[1],
        "tag": lambda row: row[2],
        "size": lambda row: row[0].size,
    }[key]

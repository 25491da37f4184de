"""Image records: names → manifest, config and layers; tags; removal with reference counts.

All records live in one small JSON file (`images.json`) rewritten atomically under the store lock;
index.json of the blob store mirrors the names so OCI tools see the same images.
"""

from __future__ import annotations

import builtins
import json
import time
from collections.abc import Callable
from pathlib import Path

from pod import events
from pod.errors import NoSuchImageError, PodError
from pod.image import reference
from pod.store import build_cache
from pod.store.blobs import BlobStore, IndexEntry
from pod.store.layout import RECORD_FILE, Layout
from pod.store.lock import atomic_write_json, locked, read_json
from pod.util.records import asdict, dataclass, field, field_names


@dataclass
class ImageRecord:
    """What the store knows of one image; the ID is the config digest's hex, as podman's."""

    id: str
    manifest_digest: str
    manifest_media_type: str
    manifest_size: int
    config_digest: str
    layer_digests: list[str]
    chain_ids: list[str]
    size: int
    created: str
    names: list[str] = field(default_factory=list)
    repo_digests: list[str] = field(default_factory=list)
    added: float = field(default_factory=time.time)

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def top_layer(self) -> str | None:
        return self.chain_ids[-1] if self.chain_ids else None

    @property
    def dangling(self) -> bool:
        return not self.names

    @property
    def tags(self) -> list[str]:
        """The names with a tag (podman's RepoTags). A pull by digest adds `repo@sha256:...`
        to the names, as podman's store does: a name (untag and rmi take it), not a tag."""
        return [name for name in self.names if "@" not in name]

    def listed_as(self) -> list[tuple[str, str]]:
        """(repository, tag) rows as podman's `images` shows them: one per tag; with none, the
        first digested name's repository and <none>; with no name at all, <none> <none>."""
        if self.tags:
            return [(name.rpartition(":")[0], name.rpartition(":")[2]) for name in self.tags]
        if self.names:
            return [(self.names[0].partition("@")[0], "<none>")]
        return [("<none>", "<none>")]

    @classmethod
    def from_dict(cls, data: dict) -> ImageRecord:
        known = set(field_names(cls))
        return cls(**{key: value for key, value in data.items() if key in known})


def _short_name_matches(name: str, ref: reference.Reference) -> bool:
    """Does a full name match a short one (`busybox`, `test/busybox:1`) at a path boundary?"""
    wanted_tag = ref.tag_or_default
    repository, _, tag = name.rpartition(":")
    if tag != wanted_tag or "@" in name:
        return False
    _, _, path = repository.partition("/")
    return path == ref.path or path == f"library/{ref.path}" or path.endswith(f"/{ref.path}")


class ImageStore:
    """Reads and changes image records; every change holds the store lock and writes atomically."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.blobs = BlobStore(layout)

    # --- reading ---
    def _load(self) -> list[ImageRecord]:
        data = read_json(self.layout.images_file, {"images": []})
        return [ImageRecord.from_dict(item) for item in data.get("images", [])]

    def list(self) -> list[ImageRecord]:
        return self._load()

    def lookup(self, text: str) -> ImageRecord:
        """Find by ID (full or unique prefix, `sha256:` allowed), name, short name or digest."""
        found = self.find(text, self._load())
        if found is None:
            raise NoSuchImageError(f"{text}: image not known")
        return found

    def find(self, text: str, records: builtins.list[ImageRecord]) -> ImageRecord | None:
        found = self.resolve(text, records)
        return found[0] if found else None

    def resolve(
        self, text: str, records: builtins.list[ImageRecord]
    ) -> tuple[ImageRecord, str] | None:
        """The image `text` names and the name it stands for there (podman's ImageName of a
        container): the matched name, `repo@digest` for a digest, the first name for an ID."""
        bare = text.removeprefix("sha256:")
        if bare and all(ch in "0123456789abcdef" for ch in bare):
            by_id = [record for record in records if record.id.startswith(bare)]
            if len(by_id) == 1:
                return by_id[0], (by_id[0].names or [by_id[0].id])[0]
            if len(by_id) > 1 and not text.startswith("sha256:") and len(bare) < 64:
                raise PodError(f'"{text}" is ambiguous: it is a prefix of several image IDs')
        try:
            ref = reference.parse(text)
        except PodError:
            return None
        if ref.digest:
            name = f"{ref.repository}@{ref.digest}"
            for record in records:
                if name in record.repo_digests or (
                    ref.digest == record.manifest_digest and ref.repository in _repositories(record)
                ):
                    return record, name
            return None
        if not ref.is_short_name:
            candidates = [ref.name_for_store]
        else:
            candidates = [f"localhost/{ref.path}:{ref.tag_or_default}", ref.name_for_store]
        for candidate in candidates:
            match = next((record for record in records if candidate in record.names), None)
            if match:
                return match, candidate
        if not ref.is_short_name:
            return None
        for record in records:
            for name in record.names:
                if _short_name_matches(name, ref):
                    return record, name
        return None

    # --- changing ---
    def _save(self, records: builtins.list[ImageRecord]) -> None:
        atomic_write_json(self.layout.images_file, {"images": [asdict(r) for r in records]})
        entries = [
            IndexEntry(name, r.manifest_digest, r.manifest_media_type, r.manifest_size)
            for r in records
            for name in r.names
        ]
        self.blobs.write_index(entries)

    def add(
        self, new: ImageRecord, complete: Callable[[], bool] = lambda: True
    ) -> ImageRecord | None:
        """Record a pulled or built image; its names move off any image that had them.

        `complete` is checked under the store lock (where removals happen): when it says some
        part of the image went missing meanwhile, nothing is recorded and None is returned.
        """
        with locked(self.layout.store_lock):
            if not complete():
                return None
            records = self._load()
            existing = next((r for r in records if r.id == new.id), None)
            for record in records:
                if record is not existing:
                    record.names = [n for n in record.names if n not in new.names]
            if existing:
                existing.names = _merged(existing.names, new.names)
                existing.repo_digests = _merged(existing.repo_digests, new.repo_digests)
                result = existing
            else:
                records.append(new)
                result = new
            self._save(records)
            return result

    def tag(self, text: str, name: str) -> None:
        with locked(self.layout.store_lock):
            records = self._load()
            target = self._require(text, records)
            for record in records:
                if record is not target and name in record.names:
                    record.names.remove(name)
            target.names = _merged(target.names, [name])
            self._save(records)
        events.image_event(self.layout.runroot, "tag", target.id, name)

    def untag(self, text: str, names: builtins.list[str]) -> builtins.list[str]:
        """Remove the given names (all names when none given); returns what was removed."""
        with locked(self.layout.store_lock):
            records = self._load()
            target = self._require(text, records)
            removed = list(target.names) if not names else []
            for name in names:
                if name not in target.names:
                    raise NoSuchImageError(f"{name}: tag not known")
                removed.append(name)
            target.names = [n for n in target.names if n not in removed]
            self._save(records)
        for name in removed:
            events.image_event(self.layout.runroot, "untag", target.id, name)
        return removed

    def remove(
        self, image_id: str, forget_names: builtins.list[str] | None = None
    ) -> tuple[builtins.list[str], bool]:
        """Drop names (`forget_names`) or the whole record when none is left or none is given.

        Returns (untagged names, deleted). Called with the store lock held by the caller, which
        also removes the layers and blobs nothing references any more (see `unreferenced`).
        """
        records = self._load()
        target = next((r for r in records if r.id == image_id), None)
        if target is None:
            raise NoSuchImageError(f"{image_id}: image not known")
        untagged = forget_names if forget_names is not None else list(target.names)
        target.names = [n for n in target.names if n not in untagged]
        deleted = not target.names
        if deleted:
            records.remove(target)
        self._save(records)
        return untagged, deleted

    def unreferenced(self) -> tuple[set[str], set[str]]:
        """Chain ids and blob digests that no image record nor the build cache uses (with the
        store lock held)."""
        records = self._load()
        used_layers, used_blobs = build_cache.used(self.layout)
        used_layers |= {chain for r in records for chain in r.chain_ids}
        used_blobs |= {
            d for r in records for d in [r.manifest_digest, r.config_digest, *r.layer_digests]
        }
        layers = _present_layers(self.layout) - used_layers
        blobs = self.blobs.all_digests() - used_blobs
        return layers, blobs

    def _require(self, text: str, records: builtins.list[ImageRecord]) -> ImageRecord:
        found = self.find(text, records)
        if found is None:
            raise NoSuchImageError(f"{text}: image not known")
        return found


def name_matching(record: ImageRecord, text: str) -> str | None:
    """Which of `record`'s names `text` (a name or short name it was found by) stands for;
    None for an ID, or when none does."""
    try:
        ref = reference.parse(text)
    except PodError:
        return None
    if ref.digest:
        return None
    if not ref.is_short_name:
        return ref.name_for_store if ref.name_for_store in record.names else None
    for candidate in (f"localhost/{ref.path}:{ref.tag_or_default}", ref.name_for_store):
        if candidate in record.names:
            return candidate
    return next((name for name in record.names if _short_name_matches(name, ref)), None)


def _repositories(record: ImageRecord) -> set[str]:
    return {name.rpartition(":")[0] for name in record.names} | {
        d.partition("@")[0] for d in record.repo_digests
    }


def _merged(first: list[str], second: list[str]) -> list[str]:
    return first + [item for item in second if item not in first]


def _present_layers(layout: Layout) -> set[str]:
    root = layout.layers_root
    if not root.is_dir():
        return set()
    return {
        "sha256:" + entry.name
        for entry in root.iterdir()
        if len(entry.name) == 64 and layout.layer_meta(entry.name).exists()
    }


def containers_using(layout: Layout, image_id: str) -> list[str]:
    """IDs of containers whose record names this image (they keep it from being removed)."""
    root = layout.containers_root
    if not root.is_dir():
        return []
    users = []
    for record_file in root.glob(f"*/{RECORD_FILE}"):
        try:
            data = json.loads(Path(record_file).read_bytes())
        except (OSError, json.JSONDecodeError):
            continue
        if data.get("image_id") == image_id:
            users.append(record_file.parent.name)
    return users

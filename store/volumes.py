"""Named volumes: `<root>/volumes/<name>/_data` plus a small record, created on first use."""

from __future__ import annotations

import builtins
import os
import time
from pathlib import Path

from pod import events
from pod.errors import NoSuchVolumeError, PodError, UsageError, VolumeInUseError
from pod.store.layout import Layout
from pod.store.lock import atomic_write_json, locked, read_json
from pod.store.names import name_problem
from pod.util.filters import checked_regexps, group_filters, labels_match, parse_bool, regex_any
from pod.util.records import asdict, dataclass, field, field_names

LIST_FILTERS = ("name", "label", "driver", "dangling")


@dataclass
class VolumeRecord:
    """A volume's record in the store, with podman's fields."""

    name: str
    created: float
    driver: str = "local"
    labels: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    anonymous: bool = False
    # podman's NeedsChown: no container has taken the volume yet (podman chowns it to the
    # first container that mounts it; pod marks it when a container using it is created)
    needs_chown: bool = True

    @classmethod
    def from_dict(cls, data: dict) -> VolumeRecord:
        known = set(field_names(cls))
        return cls(**{k: v for k, v in data.items() if k in known})


class VolumeStore:
    """Volumes under the store lock; `users` is given by the caller (the container records)."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout

    @property
    def lock_path(self) -> Path:
        return self.layout.volumes_lock

    def directory(self, name: str) -> Path:
        return self.layout.volume_dir(name)

    def data_dir(self, name: str) -> Path:
        return self.layout.volume_data(name)

    def _record_file(self, name: str) -> Path:
        return self.layout.volume_record(name)

    def create(
        self,
        name: str | None = None,
        labels: dict[str, str] | None = None,
        ignore_existing: bool = False,
        owner: tuple[int, int] | None = None,
        options: dict[str, str] | None = None,
        rootless: bool = False,
    ) -> VolumeRecord:
        """A new volume (anonymous with a random 64-hex name when `name` is None); `options`
        are the driver's (pod.container.volume_mounts), `owner` its directory's (as the
        container sees ids: rootless, set from the user's namespace)."""
        anonymous = name is None
        name = name or os.urandom(32).hex()
        problem = name_problem(name)
        if problem:
            raise UsageError(f"running volume create option: {problem}")
        with locked(self.lock_path):
            existing = read_json(self._record_file(name))
            if existing:
                if ignore_existing:
                    return VolumeRecord.from_dict(existing)
                raise PodError(f"volume with name {name} already exists: volume already exists")
            record = VolumeRecord(
                name, time.time(), labels=labels or {}, options=options or {}, anonymous=anonymous
            )
            self.data_dir(name).mkdir(parents=True, exist_ok=True)
            if owner is not None:
                from pod.store.layers import chown_path  # the tar and userns code: not for reads

                chown_path(self.data_dir(name), *owner, rootless=rootless)
            atomic_write_json(self._record_file(name), asdict(record))
        events.volume_event(self.layout.runroot, "create", name)
        return record

    def mark_taken(self, name: str) -> None:
        """A container uses the volume now: it no longer waits for its first one."""
        with locked(self.lock_path):
            data = read_json(self._record_file(name))
            if data and data.get("needs_chown", True):
                atomic_write_json(self._record_file(name), {**data, "needs_chown": False})

    def get(self, name: str) -> VolumeRecord:
        data = read_json(self._record_file(name))
        if not data:
            raise NoSuchVolumeError(f'no volume with name "{name}" found: no such volume')
        return VolumeRecord.from_dict(data)

    def exists(self, name: str) -> bool:
        return self._record_file(name).exists()

    def list(self) -> list[VolumeRecord]:
        root = self.layout.volumes_root
        if not root.is_dir():
            return []
        records = [read_json(self._record_file(entry.name)) for entry in root.iterdir()]
        return [VolumeRecord.from_dict(data) for data in records if data]

    def remove(
        self, name: str, users: builtins.list[str], force: bool = False, rootless: bool = False
    ) -> None:
        """Remove a volume; in use by containers is exit 2 unless forced (caller removes them)."""
        self.get(name)
        if users and not force:
            raise VolumeInUseError(
                f"volume {name} is being used by the following container(s): "
                f"{', '.join(users)}: volume is being used"
            )
        with locked(self.lock_path):
            self._record_file(name).unlink(missing_ok=True)
            from pod.store.trees import remove_trees

            remove_trees([self.directory(name)], rootless=rootless)
        events.volume_event(self.layout.runroot, "remove", name)


def select(records: list[VolumeRecord], items: list[str], in_use: set[str]) -> list[VolumeRecord]:
    """`volume ls --filter` as podman's: `name` a regexp, `label` key or key=value, `driver`,
    `dangling` (no container uses it; `in_use` names those that are used). Any value of a key
    may match; every key must."""
    grouped = group_filters(items)
    checks = []
    for key, values in grouped.items():
        if key not in LIST_FILTERS:
            raise UsageError(f'"{key}" is an invalid volume filter')
        if key == "name":
            patterns = checked_regexps(values)
            checks.append(lambda r, v=patterns: regex_any(v, r.name))
        elif key == "label":
            checks.append(lambda r, v=values: labels_match(v, r.labels))
        elif key == "driver":
            checks.append(lambda r, v=values: r.driver in v)
        else:
            wanted = set()
            for value in values:
                dangling = parse_bool(value)
                if dangling is None:
                    raise UsageError(
                        f'"{value}" is not a valid value for the "dangling" filter - '
                        "must be true or false"
                    )
                wanted.add(dangling)
            checks.append(lambda r, w=wanted: (r.name not in in_use) in w)
    return [r for r in records if all(check(r) for check in checks)]

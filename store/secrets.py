"""Secrets: records in one index (`secrets.json`), each secret's data in its own 0600 file.

The data is the only copy on disk: containers get it from here when they start (a tmpfs the
shim fills, pod.container.secret_files), so nothing else ever holds it in clear. Every change
is made under the secrets lock with atomic writes; names are checked before they reach a path
(the data file is named by the secret's random id anyway).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import time
from pathlib import Path

from pod.errors import NoSuchSecretError, PodError
from pod.store.layout import Layout
from pod.store.lock import atomic_write, atomic_write_json, locked, read_json
from pod.util.records import asdict, dataclass, field, field_names

DRIVER = "file"  # the one driver pod has: the data in the store, unencrypted, as podman's
MAX_DATA = 512000  # bytes, podman's limit (exclusive)
_NAME = r"[a-zA-Z0-9](?:[a-zA-Z0-9_.-]{0,62}[a-zA-Z0-9])?"
ID_LENGTH = 25  # hex digits, as podman's secret ids


def check_name(name: str) -> str:
    """podman's rule: up to 64 of [a-zA-Z0-9-_.], starting and ending with a letter or digit."""
    if not re.fullmatch(_NAME, name):
        raise PodError(
            "only 64 [a-zA-Z0-9-_.] characters allowed, and the start and end character must "
            f"be [a-zA-Z0-9]: {name}: invalid secret name"
        )
    return name


@dataclass
class SecretRecord:
    """A secret's metadata as stored (its data is kept apart, by the driver)."""

    id: str
    name: str
    created: float
    updated: float
    driver: str = DRIVER
    labels: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict) -> SecretRecord:
        known = set(field_names(cls))
        return cls(**{k: v for k, v in data.items() if k in known})


class SecretStore:
    """The secrets of one store: create, look up, read the data, remove."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout

    @property
    def data_dir(self) -> Path:
        """Where the file driver keeps the data (inspect's Spec.Driver.Options.path)."""
        return self.layout.secrets_data_dir

    def _records(self) -> list[SecretRecord]:
        data = read_json(self.layout.secrets_file, []) or []
        return [SecretRecord.from_dict(item) for item in data]

    def _save(self, records: list[SecretRecord]) -> None:
        atomic_write_json(self.layout.secrets_file, [asdict(r) for r in records], mode=0o600)

    def list(self) -> list[SecretRecord]:
        """In the order they were created."""
        return self._records()

    def lookup(self, text: str) -> SecretRecord:
        """By name, full id or unique id prefix."""
        return _find(self._records(), text)

    def create(self, name: str, data: bytes, labels: dict[str, str] | None = None) -> SecretRecord:
        check_name(name)
        if not 0 < len(data) < MAX_DATA:
            raise PodError(f"secret data must be larger than 0 and less than {MAX_DATA} bytes")
        with locked(self.layout.secrets_lock):
            records = self._records()
            if any(r.name == name for r in records):
                raise PodError(f"{name}: secret name in use")
            taken = {r.id for r in records}
            secret_id = _new_id(taken)
            now = time.time()
            record = SecretRecord(secret_id, name, now, now, labels=dict(labels or {}))
            for directory in (self.layout.secrets_root, self.data_dir):
                directory.mkdir(mode=0o700, parents=True, exist_ok=True)
                os.chmod(directory, 0o700)
            atomic_write(self.layout.secret_data(secret_id), data, mode=0o600)
            self._save([*records, record])
        return record

    def read(self, record: SecretRecord) -> bytes:
        try:
            return self.layout.secret_data(record.id).read_bytes()
        except FileNotFoundError:
            raise NoSuchSecretError(f"{record.name}: the secret's data is missing") from None

    def data_file(self, record: SecretRecord) -> Path:
        return self.layout.secret_data(record.id)

    def remove(self, text: str) -> SecretRecord:
        """Remove the record first, then its data: a cut-short removal leaves only an orphan
        file nobody can name."""
        with locked(self.layout.secrets_lock):
            records = self._records()
            record = _find(records, text)
            self._save([r for r in records if r.id != record.id])
            self.layout.secret_data(record.id).unlink(missing_ok=True)
        return record


def _find(records: list[SecretRecord], text: str) -> SecretRecord:
    for record in records:
        if text in (record.name, record.id):
            return record
    matches = [r for r in records if text and r.id.startswith(text)]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise PodError(f'more than one result for secret "{text}"')
    raise NoSuchSecretError(f'no secret with name or id "{text}": no such secret')


def _new_id(taken: set[str]) -> str:
    while True:
        candidate = os.urandom(16).hex()[:ID_LENGTH]
        if candidate not in taken:
            return candidate


# --- Kubernetes Secrets (kube play): one store secret holds a Secret's keys and values -------


def kube_secret(name: str, values: dict[str, bytes], kind: str = "Opaque") -> bytes:
    """The data a Kubernetes Secret is stored as: the Secret's JSON, its values base64 (as the
    API has them), so containers and `kube play` can take one key's value out of it."""
    document = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name},
        "type": kind,
        "data": {key: base64.b64encode(value).decode() for key, value in sorted(values.items())},
    }
    return json.dumps(document, sort_keys=True).encode()


def kube_secret_values(data: bytes, name: str) -> dict[str, bytes]:
    """The keys and values of a Secret stored by `kube_secret`; any other data is an error
    (a secret made by `pod secret create` has no keys)."""
    try:
        document = json.loads(data)
        values = document["data"] if document.get("kind") == "Secret" else None
        if not isinstance(values, dict):
            raise ValueError
        return {str(key): base64.b64decode(value, validate=True) for key, value in values.items()}
    except (ValueError, TypeError, KeyError, AttributeError, binascii.Error):
        raise NoSuchSecretError(
            f"secret {name} is not a Kubernetes Secret (it was not made by kube play)"
        ) from None

"""A container's secrets while it runs: a tmpfs at <dir>/secrets the shim fills from the store.

`--secret` mounts are bind mounts (read-only) of files in that tmpfs, made with the uid, gid
and mode asked for; the tmpfs lives in the shim's mount namespace and goes with the container's
rootfs (pod.container.rootfs mounts and unmounts both), so the data is never written to the
container's upper dir or anywhere on disk but the store's own 0600 file. Env secrets are never
written into the bundle's config.json: `runtime_bundle` gives the runtime a copy of it on the
same tmpfs with the variables added, and `pod exec` adds them to its process (`environment`).

Standard library and the store only: the shim imports this module.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
from collections.abc import Mapping
from pathlib import Path

from pod.errors import NoSuchSecretError
from pod.store.containers import ContainerRecord
from pod.store.layout import ContainerPaths, Layout
from pod.store.lock import atomic_write
from pod.store.secrets import SecretStore, kube_secret_values

MOUNT_OPTIONS = ["ro", "nosuid", "nodev", "noexec"]
_BUNDLE = "bundle"
MNT_DETACH = 2


def file_name(index: int, entry: Mapping) -> str:
    """The file in the tmpfs for the `index`th --secret (one per request: the same secret may
    be mounted twice with different owners)."""
    return f"{index}-{entry['name']}"


def spec_mounts(directory: Path, secrets: list[dict]) -> list[dict]:
    """The engine's mount entries (pod.container.spec.user_mount) for the mount secrets."""
    paths = ContainerPaths(directory)
    return [
        {
            "type": "bind",
            "destination": entry["target"],
            "source": str(paths.secrets / file_name(index, entry)),
            "options": list(MOUNT_OPTIONS),
        }
        for index, entry in enumerate(secrets)
        if entry["type"] == "mount"
    ]


def _libc_call(name: str, *args: object) -> None:
    from pod.util import libc  # ctypes: loaded by the shim that mounts, not by every `pod run`

    libc.check(getattr(libc.libc, name)(*args), name)


def _data(store: SecretStore, entry: Mapping) -> bytes:
    """The secret's data, or with a `key` (kube play) that key's value of the Kubernetes
    Secret the store holds."""
    try:
        data = store.read(store.lookup(entry["id"]))
    except NoSuchSecretError:
        raise NoSuchSecretError(
            f'no secret with name or id "{entry["name"]}": no such secret'
        ) from None
    if not entry.get("key"):
        return data
    value = kube_secret_values(data, entry["name"]).get(entry["key"])
    if value is None:
        raise NoSuchSecretError(f"secret {entry['name']} has no key {entry['key']}")
    return value


def mount(layout: Layout, record: ContainerRecord, directory: Path) -> None:
    """Mount a fresh tmpfs at <dir>/secrets and write each mount secret's file there (run by
    the shim, in the container's user namespace when rootless, so the owners are the
    container's). Nothing to do for a container without secrets."""
    if not record.secrets:
        return
    target = ContainerPaths(directory).secrets
    unmount(directory)  # what a shim killed with -9 left
    target.mkdir(mode=0o700, exist_ok=True)
    _libc_call(
        "mount", b"tmpfs", os.fsencode(target), b"tmpfs",
        0, b"mode=0700",
    )  # fmt: skip
    store = SecretStore(layout)
    try:
        for index, entry in enumerate(record.secrets):
            if entry["type"] != "mount":
                continue
            path = target / file_name(index, entry)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            try:
                os.write(fd, _data(store, entry))
                os.fchown(fd, int(entry["uid"]), int(entry["gid"]))
                os.fchmod(fd, int(entry["mode"]))
            finally:
                os.close(fd)
    except BaseException:
        unmount(directory)
        raise


def environment(layout: Layout, record: ContainerRecord) -> list[str]:
    """VAR=value for each env secret, read from the store now."""
    store = SecretStore(layout)
    return [
        f"{entry['target']}={_data(store, entry).decode(errors='surrogateescape')}"
        for entry in record.secrets
        if entry["type"] == "env"
    ]


def with_environment(process_env: list[str], secrets: list[str]) -> list[str]:
    """The process's environment with the secrets' variables set (they win over the same
    names, as podman's)."""
    names = {item.partition("=")[0] for item in secrets}
    return [item for item in process_env if item.partition("=")[0] not in names] + secrets


def runtime_bundle(layout: Layout, record: ContainerRecord) -> Path:
    """The bundle directory to hand the runtime: the container's own, or, when it has env
    secrets, a copy of its config.json with them set, on the secrets tmpfs (mounted by
    `mount` before the first create; still there for every restart)."""
    paths = layout.container(record.id)
    if not any(entry["type"] == "env" for entry in record.secrets):
        return paths.directory
    config = json.loads(paths.config.read_bytes())
    process = config.setdefault("process", {})
    process["env"] = with_environment(list(process.get("env") or []), environment(layout, record))
    bundle = paths.secrets / _BUNDLE
    bundle.mkdir(mode=0o700, exist_ok=True)
    atomic_write(bundle / "config.json", json.dumps(config).encode(), mode=0o600)
    return bundle


def unmount(directory: Path) -> None:
    """Unmount the secrets tmpfs (lazily when busy) and remove its mount point; nothing
    mounted is fine."""
    target = ContainerPaths(directory).secrets
    if not os.path.lexists(target):
        return
    while os.path.ismount(target):
        try:
            _libc_call("umount2", os.fsencode(target), 0)
        except OSError as err:
            if err.errno in (errno.EINVAL, errno.ENOENT):
                break
            if err.errno != errno.EBUSY:
                raise
            _libc_call("umount2", os.fsencode(target), MNT_DETACH)
    with contextlib.suppress(OSError):  # gone already, or another namespace still has it
        os.rmdir(target)

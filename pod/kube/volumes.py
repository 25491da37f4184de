"""A Pod's volumes as pod mounts: hostPath (a bind mount, checked or made as its type says),
persistentVolumeClaim (a named volume), configMap (a named volume holding its keys as files),
emptyDir (an anonymous volume, or a tmpfs for medium Memory).

Every name and path from the YAML is checked before it is used: volume names as CLI names
(store.volumes), hostPath paths absolute, configMap item paths kept inside their volume
(store.safepath: no `..`, no symlink followed).
"""

from __future__ import annotations

import os
import posixpath
import stat
from pathlib import Path

from pod.container.options import MountSpec, SecretRequest
from pod.errors import KubeError
from pod.kube.documents import Node
from pod.store.volumes import VolumeStore
from pod.util.records import dataclass, field

HOST_PATH_TYPES = (
    "", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket", "CharDevice",
    "BlockDevice",
)  # fmt: skip
_CHECKS = {
    "Directory": stat.S_ISDIR,
    "File": stat.S_ISREG,
    "Socket": stat.S_ISSOCK,
    "CharDevice": stat.S_ISCHR,
    "BlockDevice": stat.S_ISBLK,
}


@dataclass
class PlayedVolume:
    """How a Pod volume is mounted: `kind` bind, volume, tmpfs or secret, and the source."""

    kind: str
    source: str = ""  # host path, volume name ("" anonymous), secret name
    files: dict[str, str] = field(default_factory=dict)  # secret: file path → the Secret's key
    mode: int = 0o644


def host_path(node: Node) -> PlayedVolume:
    path = node.required("path", str)
    kind = node.get("type", str, "")
    if not path.startswith("/"):
        raise KubeError(f"{node.where}.path must be an absolute path, not {path!r}")
    if kind not in HOST_PATH_TYPES:
        raise KubeError(f"{node.where}.type {kind!r} is not a hostPath type")
    if kind == "DirectoryOrCreate":
        os.makedirs(path, 0o755, exist_ok=True)
    elif kind == "FileOrCreate" and not os.path.exists(path):
        os.makedirs(os.path.dirname(path), 0o755, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644))
    try:
        info = os.stat(path)
    except OSError:
        raise KubeError(f"{node.where}: {path} does not exist (type {kind or 'unset'})") from None
    check = _CHECKS.get(kind.removesuffix("OrCreate"))
    if check is not None and not check(info.st_mode):
        raise KubeError(f"{node.where}: {path} is not a {kind.removesuffix('OrCreate')}")
    return PlayedVolume("bind", path)


def write_files(directory: Path, files: dict[str, bytes], mode: int) -> None:
    """Write `files` (relative paths from the YAML) inside `directory`, never outside it."""
    from pod.store.safepath import clean_relpath, open_parent

    root = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for name, data in files.items():
            relpath = clean_relpath(name)
            parent, last = open_parent(root, relpath, create=0o755, symlinks=False)
            try:
                flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
                fd = os.open(last, flags, mode, dir_fd=parent)
                try:
                    os.write(fd, data)
                    os.fchmod(fd, mode)
                finally:
                    os.close(fd)
            finally:
                os.close(parent)
    finally:
        os.close(root)


def key_files(node: Node, data: dict[str, bytes], source: str) -> dict[str, bytes]:
    """The files of a configMap or secret volume: every key, or the `items` asked for."""
    items = node.nodes("items")
    if not items:
        return dict(data)
    files = {}
    for item in items:
        key = item.required("key", str)
        if key not in data:
            raise KubeError(f"{item.where}: {source} has no key {key!r}")
        files[item.required("path", str)] = data[key]
    return files


def filled_volume(
    volumes: VolumeStore, name: str, files: dict[str, bytes], mode: int
) -> PlayedVolume:
    """A named volume (made when missing) holding `files` afresh."""
    volumes.create(name, ignore_existing=True)
    write_files(volumes.data_dir(name), files, mode)
    return PlayedVolume("volume", name)


def mount_spec(volume: PlayedVolume, destination: str, read_only: bool, sub_path: str) -> MountSpec:
    options = ["ro"] if read_only else []
    if volume.kind == "tmpfs":
        return MountSpec("tmpfs", destination, "", options)
    source = volume.source
    if sub_path:
        from pod.store.safepath import resolve_inside

        if volume.kind != "bind":
            raise KubeError(f"subPath {sub_path!r} is only supported with hostPath volumes")
        source = str(resolve_inside(Path(source), sub_path))  # never leads out of the path
    return MountSpec(volume.kind, destination, source, options)


def secret_mounts(volume: PlayedVolume, destination: str) -> list[SecretRequest]:
    """A secret volume's files, each a mount secret (pod.container.secret_files): read from
    the store into the container's secrets tmpfs when it starts, never written elsewhere."""
    from pod.store.safepath import clean_relpath

    return [
        SecretRequest(
            volume.source,
            "mount",
            posixpath.join(destination, clean_relpath(path)),
            mode=volume.mode,
            key=key,
        )
        for path, key in volume.files.items()
    ]

"""Image transports as podman names them: `docker://`, `oci:`, `oci-archive:`, `docker-archive:`,
`dir:`; a plain reference means the registry (or, where the command takes local images, the
store).

Parsing is pure and happens before anything is opened, so a malformed name fails fast. The
syntax is containers/image's: the part after the transport is split at its first colon into a
path and a reference (`oci:/srv/layout:v1`), `docker-archive:` takes a `NAME[:TAG]` or an
`@INDEX` into the archive's manifest, and `dir:` is a path alone.
"""

from __future__ import annotations

import os

from pod.errors import InvalidReferenceError, PodError, UsageError
from pod.image import reference
from pod.util.records import dataclass

DOCKER = "docker"
OCI = "oci"
OCI_ARCHIVE = "oci-archive"
DOCKER_ARCHIVE = "docker-archive"
DIR = "dir"
# Local formats: what `save --format` and `push TRANSPORT:...` write, `pull` and `load` read.
FILE_TRANSPORTS = (OCI, OCI_ARCHIVE, DOCKER_ARCHIVE, DIR)
_UNSUPPORTED = {
    "containers-storage": (
        "containers-storage: names podman's own store, which pod does not read: copy the image "
        "with `podman save IMAGE | pod load`, or `podman push IMAGE oci-archive:FILE` and "
        "`pod pull oci-archive:FILE`"
    ),
    "docker-daemon": (
        "docker-daemon: is not supported (pod talks to no daemon): "
        "use `docker save IMAGE | pod load`"
    ),
}
_UNSUPPORTED_OTHERS = ("ostree", "sif", "tarball")


@dataclass(frozen=True)
class TransportRef:
    """An image named through a transport: where it is and which image there.

    `name` is the reference after the path (an OCI ref name, a docker-archive NAME:TAG, the
    registry reference of `docker://`); `index` is docker-archive's `@N`.
    """

    transport: str
    path: str
    name: str | None = None
    index: int | None = None

    def __str__(self) -> str:
        if self.transport == DOCKER:
            return f"docker://{self.name}"
        if self.index is not None:
            return f"{self.transport}:{self.path}:@{self.index}"
        return f"{self.transport}:{self.path}" + (f":{self.name}" if self.name else "")


def has_transport(text: str) -> bool:
    """Whether `text` names a transport (supported or not) rather than a plain reference."""
    head, sep, _ = text.partition(":")
    if text.startswith("docker://"):
        return True
    return bool(sep) and head in (*FILE_TRANSPORTS, *_UNSUPPORTED, *_UNSUPPORTED_OTHERS)


def parse(text: str) -> TransportRef | None:
    """The transport reference `text` names, or None for a plain image reference."""
    if text.startswith("docker://"):
        rest = text.removeprefix("docker://")
        ref = reference.parse(rest)
        if ref.is_short_name:  # docker:// never searches registries: docker.io, as podman
            ref = ref.with_domain(reference.DOCKER_DOMAIN)
        return TransportRef(DOCKER, "", str(ref))
    if not has_transport(text):
        return None
    transport, _, rest = text.partition(":")
    if transport in _UNSUPPORTED:
        raise PodError(_UNSUPPORTED[transport])
    if transport in _UNSUPPORTED_OTHERS:
        raise PodError(f"the {transport}: transport is not supported by pod")
    if transport == DIR:
        return TransportRef(DIR, _path(text, rest))
    path, sep, name = rest.partition(":")
    path = _path(text, path)
    if not sep or not name:
        return TransportRef(transport, path)
    if transport == DOCKER_ARCHIVE:
        return _docker_archive(text, path, name)
    if any(ch.isspace() or ord(ch) < 32 for ch in name):
        raise InvalidReferenceError(f"invalid image reference {name!r} in {text!r}")
    return TransportRef(transport, path, name)


def _path(text: str, path: str) -> str:
    if not path:
        raise UsageError(f"invalid image name {text!r}: the transport needs a path")
    return path


def _docker_archive(text: str, path: str, name: str) -> TransportRef:
    if name.startswith("@"):
        if not name[1:].isdigit():
            raise InvalidReferenceError(f"invalid source index {name!r} in {text!r}")
        return TransportRef(DOCKER_ARCHIVE, path, index=int(name[1:]))
    ref = reference.parse(name)
    if ref.digest:
        raise InvalidReferenceError(
            f"docker-archive reference {name!r} must be NAME[:TAG], not a digest"
        )
    return TransportRef(DOCKER_ARCHIVE, path, archive_name(name))


def archive_name(text: str) -> str:
    """A NAME[:TAG] as docker archives record it: qualified as podman does (docker.io for a
    short name, `latest` when no tag)."""
    ref = reference.parse(text)
    if ref.is_short_name:
        ref = ref.with_domain(reference.DOCKER_DOMAIN)
    return ref.name_for_store


def oci_image_name(ref: TransportRef) -> str | None:
    """The name a pull from an OCI layout gives the image, as podman 4.3: the layout's path as
    given, under `localhost/`, tagged latest (`oci:/srv/app:v1` → `localhost/srv/app:latest`,
    `oci:app` → `localhost/app:latest`). Where that is no repository name (`./app`, `../app`,
    which podman refuses) the absolute path's; None when neither is (the image stays
    unnamed)."""
    for path in (ref.path, os.path.realpath(ref.path)):
        try:
            return reference.qualify_local(f"localhost/{path.strip('/')}")
        except PodError:
            continue
    return None

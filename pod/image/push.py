"""Push: a stored image → a registry, streaming blobs and sending the manifest's exact bytes.

Blobs the registry has are skipped; blobs of an image that came from another repository of the
same registry are mounted across repositories instead of uploaded. With `--format` the manifest
is converted between OCI and Docker schema2 (the config and layer bytes never change).
"""

from __future__ import annotations

import json

from pod import events
from pod.config import Settings
from pod.errors import PodError
from pod.image import manifest as mf
from pod.image import reference, transports
from pod.image.access import RegistryAccess
from pod.image.registries_conf import load as load_registries_conf
from pod.reporter import Reporter
from pod.store.blobs import BlobStore
from pod.store.images import ImageRecord, ImageStore, name_matching
from pod.store.layout import Layout
from pod.util.records import dataclass, field

# podman's --format names; "docker" is buildah's name for v2s2, which podman takes too
FORMATS = {"oci": mf.OCI_MANIFEST, "v2s2": mf.DOCKER_MANIFEST, "docker": mf.DOCKER_MANIFEST}
_TO_DOCKER = {mf.OCI_LAYER_GZIP: mf.DOCKER_LAYER_GZIP, mf.OCI_CONFIG: mf.DOCKER_CONFIG}
_TO_OCI = {value: key for key, value in _TO_DOCKER.items()}


@dataclass
class PushOptions:
    access: RegistryAccess = field(default_factory=RegistryAccess)
    format: str | None = None
    reporter: Reporter = field(default_factory=Reporter)


def push_image(
    settings: Settings, source: str, destination: str | None, options: PushOptions
) -> str:
    """Push the local image `source` to `destination` (default: its own name); return the digest."""
    if options.format == "v2s1":
        raise PodError("the v2s1 manifest format (docker schema 1) is not supported: use v2s2")
    if options.format is not None and options.format not in FORMATS:
        raise PodError(
            f'unknown format "{options.format}". Choose on of the supported formats: '
            "'oci', 'v2s1', or 'v2s2'"
        )
    layout = Layout(settings.root, settings.runroot)
    record = ImageStore(layout).lookup(source)
    file_target = transports.parse(destination) if destination else None
    if file_target is not None and file_target.transport != transports.DOCKER:
        from pod.image.file_transports import push_to

        options.reporter.copying()
        push_to(settings, record, file_target, name_matching(record, source))
        options.reporter.writing_manifest()
        events.image_event(settings.runroot, "push", name=str(destination))  # as typed
        return record.manifest_digest
    if file_target is not None:
        destination = file_target.name
    target = reference.parse(destination or _default_destination(record, source))
    if target.is_short_name:
        raise PodError(
            f'"{destination or source}" is not a fully qualified destination: include a registry'
        )
    blobs = BlobStore(layout)
    data, media_type = _manifest_for(blobs, record, options.format)
    conf = load_registries_conf()
    endpoint = conf.endpoints_for(target)[-1]
    client = options.access.client(endpoint.host, endpoint.repository, endpoint.insecure)
    mount_from = _mount_source(record, endpoint.host, endpoint.repository)
    for digest in [*record.layer_digests, record.config_digest]:
        _push_blob(client, blobs, endpoint.repository, digest, mount_from, options.reporter)
    options.reporter.writing_manifest()
    digest = client.put_manifest(
        endpoint.repository, target.digest or target.tag_or_default, data, media_type
    )
    events.image_event(settings.runroot, "push", name=destination or source)
    return digest


def _default_destination(record: ImageRecord, source: str) -> str:
    """The name the user gave, qualified by the local name it matched (podman's choice)."""
    if not reference.looks_like_id(source):
        ref = reference.parse(source)
        if not ref.is_short_name:
            return str(ref)
        for name in record.tags:
            if reference.parse(name).path.endswith(ref.path.split("/")[-1]):
                return name
    qualified = [name for name in record.tags if not name.startswith("localhost/")]
    if qualified:
        return qualified[0]
    raise PodError(f'"{source}" has no registry in its name: give a destination')


def _mount_source(record: ImageRecord, host: str, repository: str) -> str | None:
    """Another repository on the same registry that already holds these blobs."""
    for name in [*record.repo_digests, *record.names]:
        base = name.partition("@")[0] if "@" in name else name.rpartition(":")[0]
        other_host, _, other_repo = base.partition("/")
        if other_host == host and other_repo != repository:
            return other_repo
    return None


def _push_blob(
    client, blobs: BlobStore, repository: str, digest: str, mount_from, reporter
) -> None:
    if client.blob_exists(repository, digest):
        reporter.blob_skipped(digest, "already exists")
        return
    if mount_from and client.mount_blob(repository, digest, mount_from):
        reporter.blob_skipped(digest, f"mounted from {mount_from}")
        return
    path = blobs.path(digest)
    size = path.stat().st_size
    reporter.blob_started(digest, size)
    client.push_blob(repository, digest, size, path, lambda n: reporter.blob_progress(digest, n))
    reporter.blob_done(digest)


def _manifest_for(blobs: BlobStore, record: ImageRecord, wanted: str | None) -> tuple[bytes, str]:
    """The stored manifest bytes, or a converted one when `--format` asks for the other type."""
    data = blobs.read(record.manifest_digest)
    target = FORMATS.get(wanted or "", record.manifest_media_type)
    if target == record.manifest_media_type:
        return data, target
    mapping = _TO_DOCKER if target == mf.DOCKER_MANIFEST else _TO_OCI
    doc = json.loads(data)
    for descriptor in [doc["config"], *doc["layers"]]:
        media = descriptor.get("mediaType", "")
        if media not in mapping:
            raise PodError(f"cannot convert {media} to {wanted}: push with --format oci")
        descriptor["mediaType"] = mapping[media]
    doc["mediaType"] = target
    if target == mf.DOCKER_MANIFEST:
        doc.pop("annotations", None)
    return json.dumps(doc, indent=3).encode(), target

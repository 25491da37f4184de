"""Pull: reference → registry → verified blobs → unpacked layers → an image record.

Blobs download in parallel (bounded), each under its own lock so concurrent pulls of the same
image share one download; a layer unpacks while its blob downloads (the bytes go to the blob
file and to the unpacker at once), and becomes a layer only once the blob's digest checked; a
layer already unpacked is neither fetched nor unpacked again. The
image record is written last, under the store lock, after checking every part is still present
(a concurrent `rmi` may have removed a shared layer meanwhile).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from pod import events
from pod.config import Settings
from pod.errors import ManifestUnknownError, NoSuchImageError, PodError, RegistryError
from pod.image import manifest as mf
from pod.image import reference, transports
from pod.image.access import RegistryAccess
from pod.image.registries_conf import RegistryConfig
from pod.image.registries_conf import load as load_registries_conf
from pod.reporter import Reporter
from pod.store import layers
from pod.store.blobs import BlobStore, load_json_blob
from pod.store.images import ImageRecord, ImageStore
from pod.store.layout import Layout
from pod.store.lock import locked
from pod.util.records import dataclass, field

if TYPE_CHECKING:
    from pod.image.registry import RegistryClient  # requests and oras: imported when used

PULL_POLICIES = ("always", "missing", "never", "newer")
PARALLEL_DOWNLOADS = 4


@dataclass
class PullOptions:
    platform: mf.Platform = field(default_factory=mf.host_platform)
    access: RegistryAccess = field(default_factory=RegistryAccess)
    policy: str = "always"
    reporter: Reporter = field(default_factory=Reporter)


@dataclass
class _Source:
    """Where the manifest was found, and the manifest itself."""

    ref: reference.Reference
    client: RegistryClient
    repository: str
    manifest_bytes: bytes
    media_type: str
    digest: str
    index_digest: str | None


def pull_image(settings: Settings, text: str, options: PullOptions) -> ImageRecord:
    """Pull `text` per the policy and return the stored image record. A transport reference
    (`oci:DIR`, `docker-archive:FILE`, ...) is read from its files; `docker://` is the
    registry, its name never resolved as a short name."""
    if options.policy not in PULL_POLICIES:
        raise PodError(
            f'invalid pull policy "{options.policy}": use one of {", ".join(PULL_POLICIES)}'
        )
    target = transports.parse(text)
    if target is not None and target.transport != transports.DOCKER:
        from pod.image.file_transports import pull_from

        record = pull_from(settings, target, options.platform, options.reporter)
        events.image_event(settings.runroot, "pull", name=text)  # as typed, as libimage
        return record
    if target is not None:
        text = str(target.name)
    ref = reference.parse(text)
    layout = Layout(settings.root, settings.runroot)
    images = ImageStore(layout)
    if options.policy in ("missing", "never"):
        local = images.find(text, images.list())
        if local is not None:
            return local
        if options.policy == "never":
            raise NoSuchImageError(f"{text}: image not known")
    conf = load_registries_conf()
    try:
        source = _find_manifest(conf, ref, options)
    except RegistryError:
        local = images.find(text, images.list()) if options.policy == "newer" else None
        if local is None:
            raise
        record = local  # "newer" with no registry to ask: the local image, as podman does
    else:
        local = images.find(str(source.ref), images.list()) if options.policy == "newer" else None
        if local is not None and local.manifest_digest == source.digest:
            record = local
        else:
            record = _store_image(settings, layout, images, source, options)
    events.image_event(settings.runroot, "pull", name=text)
    return record


def _candidates(conf: RegistryConfig, ref: reference.Reference) -> list[reference.Reference]:
    return conf.resolve_short_name(ref) if ref.is_short_name else [ref]


def _find_manifest(conf: RegistryConfig, ref: reference.Reference, options: PullOptions) -> _Source:
    """Try each candidate name and each endpoint (mirrors first) until one has the manifest."""
    errors: list[str] = []
    for candidate in _candidates(conf, ref):
        options.reporter.trying(str(candidate))
        for endpoint in conf.endpoints_for(candidate):
            client = options.access.client(endpoint.host, endpoint.repository, endpoint.insecure)
            try:
                return _resolve(client, candidate, endpoint.repository, options.platform)
            except (ManifestUnknownError, RegistryError) as err:
                errors.append(f"{endpoint.host}/{endpoint.repository}: {err}")
                last = err
    if len(errors) == 1:
        raise last
    raise RegistryError(f"initializing source {ref}: " + "; ".join(errors))


def _resolve(client, ref: reference.Reference, repository: str, wanted: mf.Platform) -> _Source:
    target = ref.digest or ref.tag_or_default
    data, header_type, digest = client.get_manifest(repository, target, mf.ACCEPT)
    media_type = mf.media_type_of(data, header_type)
    index_digest = None
    if media_type in mf.INDEX_TYPES:
        index_digest = digest
        entry = mf.select_platform(data, wanted)
        data, header_type, digest = client.get_manifest(repository, entry.digest, mf.ACCEPT)
        media_type = mf.media_type_of(data, header_type)
    if media_type not in mf.MANIFEST_TYPES:
        raise PodError(f"unsupported manifest media type {media_type}")
    return _Source(ref, client, repository, data, media_type, digest, index_digest)


def _store_image(
    settings: Settings, layout: Layout, images: ImageStore, source: _Source, options: PullOptions
) -> ImageRecord:
    blobs = BlobStore(layout)
    blobs.ensure()
    layers.cleanup_partial_layers(layout, rootless=settings.rootless)
    manifest = mf.parse_manifest(source.manifest_bytes, source.media_type)
    _fetch(blobs, source, manifest.config, options.reporter, kind="config")
    config = load_json_blob(blobs, manifest.config.digest)
    diff_ids = mf.diff_ids(config)
    if len(diff_ids) != len(manifest.layers):
        raise PodError(
            f"image config lists {len(diff_ids)} layers but the manifest has {len(manifest.layers)}"
        )
    chains = layers.chain_ids(diff_ids)
    sizes = _fetch_and_unpack(settings, layout, blobs, source, manifest, diff_ids, chains, options)
    options.reporter.writing_manifest()
    record = ImageRecord(
        id=manifest.config.digest.removeprefix("sha256:"),
        manifest_digest=source.digest,
        manifest_media_type=source.media_type,
        manifest_size=len(source.manifest_bytes),
        config_digest=manifest.config.digest,
        layer_digests=[layer.digest for layer in manifest.layers],
        chain_ids=chains,
        size=sum(sizes),
        created=str(config.get("created") or ""),
        names=[source.ref.name_for_store],
        repo_digests=[
            f"{source.ref.repository}@{d}" for d in (source.digest, source.index_digest) if d
        ],
        added=time.time(),
    )
    return _record(settings, layout, images, record, source, manifest, diff_ids, options)


def _record(settings, layout, images, record, source, manifest, diff_ids, options) -> ImageRecord:
    """Add the record under the store lock once every blob and layer is (still) present."""
    blobs = BlobStore(layout)

    def complete() -> bool:
        parts = (record.manifest_digest, record.config_digest)
        return all(blobs.has(d) for d in parts) and all(
            blobs.has(layer.digest) and layers.layer_exists(layout, record.chain_ids[i])
            for i, layer in enumerate(manifest.layers)
        )

    for _attempt in range(3):
        blobs.put_bytes(source.manifest_bytes, expected=source.digest)
        stored = images.add(record, complete)
        if stored is not None:
            return stored
        _fetch(blobs, source, manifest.config, options.reporter, kind="config")
        _fetch_and_unpack(
            settings, layout, blobs, source, manifest, diff_ids, record.chain_ids, options
        )
    raise PodError("the image's layers kept being removed by another process while pulling")


def _fetch(
    blobs: BlobStore,
    source: _Source,
    descriptor: mf.Descriptor,
    reporter,
    kind="blob",
    sink: Callable[[bytes], None] | None = None,
) -> None:
    """Download one blob unless present; the per-blob lock makes concurrent pulls share it.

    `sink` gets the blob's bytes in order as they arrive (from the file when another pull
    stored it meanwhile); they are known to be right once this returns."""
    if blobs.has(descriptor.digest) and sink is None:
        reporter.blob_skipped(descriptor.digest, "already exists", kind)
        return
    with locked(blobs.layout.blob_lock(descriptor.digest)):
        if blobs.has(descriptor.digest):
            reporter.blob_skipped(descriptor.digest, "already exists", kind)
            if sink is not None:
                blobs.replay(descriptor.digest, sink)
            return
        reporter.blob_started(descriptor.digest, descriptor.size, kind)
        progress: Callable[[int], None] = lambda n: reporter.blob_progress(descriptor.digest, n)  # noqa: E731
        source.client.fetch_blob(
            source.repository,
            descriptor.digest,
            descriptor.size,
            blobs.incoming_path(descriptor.digest),
            progress,
            sink,
        )
        blobs.commit_incoming(descriptor.digest)
        reporter.blob_done(descriptor.digest)


def _fetch_and_unpack(
    settings, layout, blobs, source, manifest, diff_ids, chains, options
) -> list[int]:
    """Each layer: download and unpack at once (only what is missing); layers run in parallel."""

    def one(i: int) -> int:
        layer = manifest.layers[i]
        # One read: a layer removed after an existence check would have no size to give.
        known = layers.read_layer_info(layout, chains[i])
        if known is not None:
            _fetch(blobs, source, layer, options.reporter)  # the record lists the blob too
            return known.size
        # The unpack worker reads the blob as it downloads (or from the store, when it is there).
        feed = lambda write: _fetch(blobs, source, layer, options.reporter, sink=write)  # noqa: E731
        info = layers.ensure_layer(
            layout,
            chains[i],
            chains[i - 1] if i else None,
            blobs.path(layer.digest),
            diff_ids[i],
            rootless=settings.rootless,
            feed=feed,
        )
        if info.warning:
            options.reporter.warning(info.warning)
        return info.size

    with ThreadPoolExecutor(max_workers=PARALLEL_DOWNLOADS) as pool:
        return list(pool.map(one, range(len(manifest.layers))))

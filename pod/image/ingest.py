"""Storing images read from archives and directories (`load`, `pull oci:...`, `import`).

All or nothing: every layer of every image is copied into a scratch file and checked (its blob
digest, its diff id), and unpacked, before anything is recorded; only then are the blobs moved
into the store and the images recorded. When anything fails, the scratch files go and so do
the layers this call unpacked that no image uses: a refused archive leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pod.config import Settings
from pod.errors import DigestMismatchError, PodError, UnsafeContentError
from pod.image import manifest as mf
from pod.image.archive_files import CHUNK, Member
from pod.image.archive_model import SourceImage, SourceLayer
from pod.image.writer import ImageLayer, canonical_json, manifest_document
from pod.reporter import Reporter
from pod.store import layers
from pod.store.blobs import BlobStore
from pod.store.images import ImageRecord, ImageStore
from pod.store.layout import Layout
from pod.store.lock import locked
from pod.util.archive import compression_of, decode_errors, decompressed
from pod.util.records import dataclass

PARALLEL = 4
_MEDIA_TYPES = {None: mf.OCI_LAYER_TAR, "gzip": mf.OCI_LAYER_GZIP, "zstd": mf.OCI_LAYER_ZSTD}


@dataclass
class StagedLayer:
    """A layer ready to be stored: its verified blob (a scratch file, or None when the store
    has the blob already) and the unpacked layer `chain_id`."""

    chain_id: str
    diff_id: str
    digest: str
    media_type: str
    blob_size: int
    size: int
    scratch: Path | None


class Ingest:
    """One all-or-nothing storing of images; use as a context manager around `stage` and
    `commit` (leaving it by an exception undoes what was unpacked)."""

    def __init__(self, settings: Settings, reporter: Reporter) -> None:
        self.settings = settings
        self.rootless = settings.rootless
        self.layout = Layout(settings.root, settings.runroot)
        self.blobs = BlobStore(self.layout)
        self.reporter = reporter
        self.created: list[str] = []
        self._scratch = contextlib.ExitStack()

    def __enter__(self) -> Ingest:
        layers.cleanup_partial_layers(self.layout, rootless=self.rootless)
        self.blobs.remove_stale_scratch()
        return self

    def __exit__(self, kind, value, traceback) -> None:
        try:
            if kind is not None:
                self._forget_created()
        finally:
            self._scratch.close()

    # --- staging: copy, verify, unpack ---

    def stage(self, images: list[SourceImage]) -> list[list[StagedLayer]]:
        """Every layer of `images` verified and unpacked (layers shared by images once)."""
        jobs: dict[tuple[str, str], tuple[SourceLayer, str, str | None]] = {}
        per_image: list[list[tuple[str, str]]] = []
        for image in images:
            chains = layers.chain_ids([layer.diff_id for layer in image.layers])
            keys = []
            for i, layer in enumerate(image.layers):
                key = (chains[i], layer.digest or layer.member.name)
                jobs.setdefault(key, (layer, chains[i], chains[i - 1] if i else None))
                keys.append(key)
            per_image.append(keys)
        with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
            results = pool.map(lambda job: self._stage_layer(*job), jobs.values())
            done = dict(zip(jobs, results, strict=True))
        return [[done[key] for key in keys] for keys in per_image]

    def _stage_layer(self, layer: SourceLayer, chain: str, parent: str | None) -> StagedLayer:
        compression = compression_of(layer.member.head(6))
        digest = layer.digest or (layer.diff_id if compression is None else None)
        media_type = layer.media_type or _MEDIA_TYPES.get(compression, mf.OCI_LAYER_TAR)
        unpacked = layers.layer_exists(self.layout, chain)

        def staged(blob_digest: str, size: int, scratch: Path | None) -> StagedLayer:
            return StagedLayer(
                chain, layer.diff_id, blob_digest, media_type, layer.member.size, size, scratch
            )

        if digest and unpacked and self.blobs.has(digest):
            self.reporter.blob_skipped(digest, "already exists")
            return staged(digest, self._unpacked_size(chain), None)
        scratch: Path | None = None
        if digest is None or not self.blobs.has(digest):
            scratch = self._scratch.enter_context(self.blobs.scratch(".blob"))
            # A plain layer about to be unpacked is verified by unpacking (its digest is its
            # diff id): the kernel copies it. Anything else is hashed while it is copied.
            trusted_by_unpack = not unpacked and compression is None and digest == layer.diff_id
            digest = self._copy(layer, scratch, hashed=not trusted_by_unpack, expected=digest)
        assert digest is not None
        blob = scratch or self.blobs.path(digest)
        try:
            if unpacked:
                _check_diff_id(blob, layer.diff_id)
                return staged(digest, self._unpacked_size(chain), scratch)
            self.created.append(chain)
            info = layers.ensure_layer(
                self.layout, chain, parent, blob, layer.diff_id, rootless=self.rootless
            )
        except (DigestMismatchError, UnsafeContentError) as err:
            # Said of the scratch copy: name the layer as the archive does instead.
            named = str(err).replace(f"layer {blob.name}", f"layer {layer.member.name}")
            raise type(err)(named) from None
        if info.warning:
            self.reporter.warning(info.warning)
        return staged(digest, info.size, scratch)

    def _unpacked_size(self, chain: str) -> int:
        info = layers.read_layer_info(self.layout, chain)
        return info.size if info else 0

    def _copy(
        self, layer: SourceLayer, scratch: Path, *, hashed: bool, expected: str | None
    ) -> str:
        """Copy the layer into `scratch`; its digest (checked against `expected` if hashed)."""
        member = layer.member
        self.reporter.blob_started(expected or layer.diff_id, member.size)
        fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        try:
            if not hashed:
                member.copy_to(fd)
                digest = expected
            else:
                digest = _hashed_copy(member, fd, self.reporter, expected or layer.diff_id)
        finally:
            os.close(fd)
        if expected is not None and digest != expected:
            raise DigestMismatchError(
                f"layer {member.name}: content has digest {digest}, but {expected} was expected"
            )
        self.reporter.blob_done(expected or layer.diff_id)
        assert digest is not None
        return digest

    # --- committing: blobs into place, configs, manifests, records ---

    def commit(
        self, images: list[SourceImage], staged: list[list[StagedLayer]]
    ) -> list[ImageRecord]:
        self.blobs.ensure()
        for layer in {id(s): s for group in staged for s in group}.values():
            if layer.scratch is not None and layer.scratch.exists():
                if self.blobs.has(layer.digest):
                    layer.scratch.unlink()
                else:
                    self.blobs.keep(layer.scratch, layer.digest)
        return [self._record(image, group) for image, group in zip(images, staged, strict=True)]

    def _record(self, image: SourceImage, staged: list[StagedLayer]) -> ImageRecord:
        self.reporter.blob_started(image.config_digest, len(image.config), "config")
        self.blobs.put_bytes(image.config, expected=image.config_digest)
        self.reporter.blob_done(image.config_digest)
        self.reporter.writing_manifest()
        manifest, media_type = image.manifest, image.manifest_media_type
        if manifest is None:
            described = [
                ImageLayer(s.chain_id, s.diff_id, s.digest, s.media_type, s.blob_size, s.size)
                for s in staged
            ]
            document = manifest_document(image.config_digest, len(image.config), described, "oci")
            manifest, media_type = canonical_json(document), mf.OCI_MANIFEST
        digest = self.blobs.put_bytes(manifest, expected=image.manifest_digest)
        config = mf.load_document(image.config, "image config")
        record = ImageRecord(
            id=image.config_digest.removeprefix("sha256:"),
            manifest_digest=digest,
            manifest_media_type=media_type,
            manifest_size=len(manifest),
            config_digest=image.config_digest,
            layer_digests=[s.digest for s in staged],
            chain_ids=[s.chain_id for s in staged],
            size=sum(s.size for s in staged),
            created=str(config.get("created") or ""),
            names=list(image.names),
            added=time.time(),
        )

        def complete() -> bool:
            parts = [record.manifest_digest, record.config_digest, *record.layer_digests]
            return all(self.blobs.has(d) for d in parts) and all(
                layers.layer_exists(self.layout, chain) for chain in record.chain_ids
            )

        stored = ImageStore(self.layout).add(record, complete)
        if stored is None:
            raise PodError("a layer of the image was removed by another process meanwhile: retry")
        return stored

    def _forget_created(self) -> None:
        """Remove the layers this call unpacked that no image record uses."""
        if not self.created:
            return
        store = ImageStore(self.layout)
        with contextlib.suppress(OSError, PodError), locked(self.layout.store_lock):
            unused, _ = store.unreferenced()
            for chain in set(self.created) & unused:
                layers.remove_layer(self.layout, chain, rootless=self.rootless)


def _hashed_copy(member: Member, fd: int, reporter: Reporter, label: str) -> str:
    hasher = hashlib.sha256()
    with open(os.dup(fd), "wb", buffering=0) as out:
        for data in member.chunks():
            hasher.update(data)
            out.write(data)
            reporter.blob_progress(label, len(data))
    return "sha256:" + hasher.hexdigest()


def _check_diff_id(blob: Path, diff_id: str) -> None:
    """A blob stored for a layer the store has unpacked already must still be that layer."""
    hasher = hashlib.sha256()
    try:
        with open(blob, "rb") as raw, decompressed(raw) as stream:
            while data := stream.read(CHUNK):
                hasher.update(data)
    except decode_errors() as err:
        raise UnsafeContentError(f"layer {blob.name} cannot be decompressed: {err}") from None
    found = "sha256:" + hasher.hexdigest()
    if found != diff_id:
        raise DigestMismatchError(
            f"layer {blob.name}: uncompressed content has digest {found}, "
            f"but the image config says {diff_id}"
        )


def ingest(settings: Settings, images: list[SourceImage], reporter: Reporter) -> list[ImageRecord]:
    """Store `images` all or nothing; return their records in order."""
    reporter.copying()
    with Ingest(settings, reporter) as run:
        return run.commit(images, run.stage(images))

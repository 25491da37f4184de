"""`pod import`: a tarball of a file system (a file, a URL or stdin; plain or compressed) becomes
a one-layer image, its config set by `--change` instructions as `pod commit` sets them.

The tarball is untrusted: it is unpacked by the store's safe extractor, stored all or nothing
(pod.image.ingest), and kept as an uncompressed layer, as podman stores it.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from pod import events
from pod.builder.config_steps import apply_change
from pod.builder.working import WorkingImage
from pod.config import Settings
from pod.errors import PodError
from pod.image import manifest as mf
from pod.image import reference
from pod.image.archive_files import CHUNK, MAX_ARCHIVE_SIZE, Member, plain_archive
from pod.image.archive_model import SourceImage, SourceLayer
from pod.image.ingest import ingest
from pod.image.writer import canonical_json
from pod.reporter import Reporter
from pod.store.blobs import BlobStore
from pod.store.images import ImageRecord
from pod.store.layout import Layout
from pod.util.humanize import created_time
from pod.util.records import dataclass, field

_URL_SCHEMES = ("http://", "https://")


@dataclass
class ImportOptions:
    changes: list[str] = field(default_factory=list)
    message: str = ""
    platform: mf.Platform = field(default_factory=mf.host_platform)
    reference: str | None = None


def _working(options: ImportOptions) -> WorkingImage:
    """The config so far: the platform and the `--change`s (a bad one fails here, early)."""
    work = WorkingImage.scratch()
    for change in options.changes:
        apply_change(work, change)
    platform = options.platform
    work.config.update(architecture=platform.architecture, os=platform.os)
    work.config.pop("variant", None)
    if platform.variant:
        work.config["variant"] = platform.variant
    return work


def _config(work: WorkingImage, options: ImportOptions, diff_id: str) -> bytes:
    created = created_time()
    entry = {"created": created, "created_by": f"/bin/sh -c #(nop) ADD file:{diff_id[7:]} in /"}
    if options.message:
        entry["comment"] = options.message
    config = {
        **work.config,
        "created": created,
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [entry],
    }
    return canonical_json(config)


def _download(url: str, target: Path) -> None:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=60) as answer, open(target, "wb") as out:
            copied = 0
            while data := answer.read(CHUNK):
                copied += len(data)
                if copied > MAX_ARCHIVE_SIZE:
                    raise PodError(f"{url} is larger than {MAX_ARCHIVE_SIZE} bytes")
                out.write(data)
    except (urllib.error.URLError, OSError) as err:
        raise PodError(f"downloading {url}: {getattr(err, 'reason', err)}") from None


def _file_digest(fd: int, size: int) -> str:
    hasher = hashlib.sha256()
    for data in Member("tarball", size, fd, 0).chunks():
        hasher.update(data)
    return "sha256:" + hasher.hexdigest()


def import_tarball(
    settings: Settings, source: str, options: ImportOptions, reporter: Reporter
) -> ImageRecord:
    """Store the tarball `source` ("-": stdin, or an http(s) URL) as an image."""
    record = _import(settings, source, options, reporter)
    events.image_event(settings.runroot, "import", record.id, source)
    return record


def _import(
    settings: Settings, source: str, options: ImportOptions, reporter: Reporter
) -> ImageRecord:
    names = [reference.qualify_local(options.reference)] if options.reference else []
    work = _working(options)
    blobs = BlobStore(Layout(settings.root, settings.runroot))
    with blobs.scratch(".download") as download, blobs.scratch(".tar") as spool:
        if source.startswith(_URL_SCHEMES):
            _download(source, download)
            source = str(download)
        elif source != "-" and not os.path.exists(source):
            raise PodError(f"{source}: no such file")
        elif source != "-" and os.path.isdir(source):
            raise PodError(f"{source} is a directory: import takes a tarball")
        with plain_archive(source, spool) as path:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                size = os.fstat(fd).st_size
                diff_id = _file_digest(fd, size)
                config = _config(work, options, diff_id)
                layer = SourceLayer(Member(os.path.basename(path), size, fd, 0), diff_id)
                digest = "sha256:" + hashlib.sha256(config).hexdigest()
                image = SourceImage(names, config, digest, [layer])
                return ingest(settings, [image], reporter)[0]
            finally:
                os.close(fd)

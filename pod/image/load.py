"""`pod load`: the images of a docker-archive or oci-archive (a file or stdin, plain or
compressed) into the store, names and tags as the archive records them.

The archive is untrusted (pod.image.archive_files, the format readers) and stored all or
nothing (pod.image.ingest). A directory is read too, as an OCI layout or a `dir:` image.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from pod import events
from pod.config import Settings
from pod.errors import PodError
from pod.image import dir_image, docker_archive, oci_layout
from pod.image import manifest as mf
from pod.image.archive_files import DirFiles, Files, TarFiles, plain_archive
from pod.image.archive_model import SourceImage
from pod.image.ingest import ingest
from pod.reporter import Reporter
from pod.store.blobs import BlobStore
from pod.store.images import ImageRecord
from pod.store.layout import Layout
from pod.util.records import dataclass


@contextlib.contextmanager
def opened(settings: Settings, source: str, description: str) -> Iterator[Files]:
    """The files of the archive or directory `source` ("-": stdin), read in place when it is
    a plain file, else through a decompressed scratch copy in the store."""
    if source != "-" and os.path.isdir(source):
        files: Files = DirFiles(source, description)
        try:
            yield files
        finally:
            files.close()
        return
    blobs = BlobStore(Layout(settings.root, settings.runroot))
    with blobs.scratch(".tar") as spool, plain_archive(source, spool) as path:
        files = TarFiles(path, description)
        try:
            yield files
        finally:
            files.close()


def archive_images(files: Files, platform: mf.Platform) -> list[SourceImage]:
    """Every image in an archive or directory of any format pod reads."""
    if docker_archive.is_docker_archive(files) and not files.exists(dir_image.VERSION_FILE):
        return docker_archive.read_images(files)
    if oci_layout.is_layout(files):
        return oci_layout.read_images(files, None, platform, every=True)
    if files.exists(dir_image.VERSION_FILE):
        return [dir_image.read_image(files, platform)]
    raise PodError(
        f"{files.description}: payload does not match any of the supported image formats "
        "(docker-archive, oci-archive, oci-dir, docker-dir)"
    )


@dataclass(frozen=True)
class Loaded:
    """One image a `load` stored, and the names it reports it by ("sha256:ID" if unnamed)."""

    record: ImageRecord
    names: list[str]


def load_archive(settings: Settings, source: str, reporter: Reporter) -> list[Loaded]:
    """Store every image of `source`, in the archive's order."""
    description = "the archive on stdin" if source == "-" else source
    with opened(settings, source, description) as files:
        images = archive_images(files, mf.host_platform())
        records = ingest(settings, images, reporter)
    events.image_event(settings.runroot, "loadfromarchive", name=source)  # podman's one event
    return [
        Loaded(record, image.names or [f"sha256:{record.id}"])
        for image, record in zip(images, records, strict=True)
    ]

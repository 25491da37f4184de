"""Images to and from files: `oci:`, `oci-archive:`, `docker-archive:` and `dir:`.

`pull` from them reads the image (untrusted, as a registry's) and stores it all or nothing;
`push` to them and `save` write stored images. Names follow podman 4: an OCI layout's path
under localhost/, an oci-archive's ref-name annotation, a docker archive's RepoTags; a `dir:`
image stays unnamed.
"""

from __future__ import annotations

import contextlib
import os

from pod.config import Settings
from pod.errors import PodError
from pod.image import dir_image, docker_archive, oci_layout, outgoing, transports
from pod.image import manifest as mf
from pod.image.archive_files import DirFiles
from pod.image.archive_model import OutImage, SourceImage
from pod.image.output import archive_output, directory_output
from pod.reporter import Reporter
from pod.store.images import ImageRecord
from pod.store.layout import Layout
from pod.util.records import replace

ARCHIVES = (transports.OCI_ARCHIVE, transports.DOCKER_ARCHIVE)


def pull_from(
    settings: Settings, ref: transports.TransportRef, platform: mf.Platform, reporter: Reporter
) -> ImageRecord:
    """Store the image `ref` names and return its record."""
    from pod.image.ingest import ingest
    from pod.image.load import opened

    description = str(ref)
    if ref.transport in ARCHIVES:
        with opened(settings, ref.path, description) as files:
            return ingest(settings, [_read(files, ref, platform)], reporter)[0]
    files = DirFiles(ref.path, description)
    try:
        return ingest(settings, [_read(files, ref, platform)], reporter)[0]
    finally:
        files.close()


def _read(files, ref: transports.TransportRef, platform: mf.Platform) -> SourceImage:
    if ref.transport == transports.DOCKER_ARCHIVE:
        return docker_archive.read_images(files, ref)[0]
    if ref.transport == transports.DIR:
        return dir_image.read_image(files, platform)
    image = oci_layout.read_images(files, ref.name, platform)[0]
    if ref.transport == transports.OCI:
        name = transports.oci_image_name(ref)
        return replace(image, names=[name] if name else [])
    return image


# --- writing ----------------------------------------------------------------------------------


def write_images(
    settings: Settings,
    transport: str,
    destination: str | None,
    images: list[tuple[ImageRecord, list[str]]],
    *,
    encoding: str,
    manifest_format: str | None,
) -> None:
    """Write stored images to `destination` (None: stdout, for the archives) in the format of
    `transport`; each image carries its names (RepoTags, or one OCI ref name)."""
    layout = Layout(settings.root, settings.runroot)
    with contextlib.ExitStack() as scratch:
        out = [
            (outgoing.outgoing_image(layout, record, scratch, encoding=encoding,
                                     manifest_format=manifest_format), names)
            for record, names in images
        ]  # fmt: skip
        if transport == transports.DOCKER_ARCHIVE:
            _refuse_existing(destination)
            with archive_output(destination) as writer:
                docker_archive.write_archive(writer, out)
        elif transport == transports.OCI_ARCHIVE:
            with archive_output(destination) as writer:
                oci_layout.write_layout(writer, _ref_names(out))
        elif destination is None:
            raise PodError(f"{transport} writes a directory: name it")
        elif transport == transports.OCI:
            index = _existing_index(destination)
            with directory_output(destination) as writer:
                oci_layout.write_layout(writer, _ref_names(out), index)
        else:
            if len(out) != 1:
                raise PodError("a dir: destination holds one image")
            with directory_output(destination) as writer:
                dir_image.write_image(writer, out[0][0])


def _ref_names(out: list[tuple[OutImage, list[str]]]) -> list[tuple[OutImage, str | None]]:
    return [(image, names[0] if names else None) for image, names in out]


def _refuse_existing(destination: str | None) -> None:
    """As podman: a docker archive is written whole, never added to."""
    if destination is not None and os.path.exists(destination) and os.path.getsize(destination):
        raise PodError(f"{destination}: docker-archive doesn't support modifying existing images")


def _existing_index(destination: str) -> list[dict]:
    """The index of an OCI layout being added to (empty when the directory is new or empty)."""
    if not os.path.isdir(destination) or not os.listdir(destination):
        return []
    files = DirFiles(destination, destination)
    try:
        return oci_layout.existing_index(files)
    finally:
        files.close()


def push_to(
    settings: Settings, record: ImageRecord, ref: transports.TransportRef, source_name: str | None
) -> None:
    """`pod push IMAGE TRANSPORT:...`: blobs as stored (an OCI layout needs an OCI manifest),
    a docker archive's layers uncompressed, tagged with the destination's name or the
    image's."""
    if ref.transport == transports.DOCKER_ARCHIVE:
        names = [ref.name] if ref.name else [source_name] if source_name else []
        write_images(
            settings, ref.transport, ref.path, [(record, names)],
            encoding=outgoing.PLAIN, manifest_format=None,
        )  # fmt: skip
        return
    oci = ref.transport in (transports.OCI, transports.OCI_ARCHIVE)
    write_images(
        settings, ref.transport, ref.path, [(record, [ref.name] if ref.name else [])],
        encoding=outgoing.KEEP, manifest_format=outgoing.OCI if oci else None,
    )  # fmt: skip

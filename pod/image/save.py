"""`pod save`: stored images to an archive or directory, in podman's four formats.

As podman: without `--multi-image-archive` the first name picks the image and every name given
becomes one of its tags in the archive; with it each name is an image of its own (docker-archive
only). An ID adds no tag.
"""

from __future__ import annotations

from pod import events
from pod.config import Settings
from pod.errors import NoSuchImageError, PodError, UsageError
from pod.image import outgoing, transports
from pod.image.file_transports import write_images
from pod.image.resolve import local_image
from pod.reporter import Reporter
from pod.store.images import ImageRecord, name_matching
from pod.util.records import dataclass

DOCKER_ARCHIVE = "docker-archive"
OCI_ARCHIVE = "oci-archive"
OCI_DIR = "oci-dir"
DOCKER_DIR = "docker-dir"
FORMATS = (DOCKER_ARCHIVE, OCI_ARCHIVE, OCI_DIR, DOCKER_DIR)
_TRANSPORTS = {
    DOCKER_ARCHIVE: transports.DOCKER_ARCHIVE,
    OCI_ARCHIVE: transports.OCI_ARCHIVE,
    OCI_DIR: transports.OCI,
    DOCKER_DIR: transports.DIR,
}


@dataclass
class SaveOptions:
    output: str | None = None  # None: stdout
    format: str = DOCKER_ARCHIVE
    multi_image: bool = False
    compress: bool = False
    uncompressed: bool = False


def check_options(options: SaveOptions) -> None:
    """podman's rules for the flags, before any image is looked at."""
    if options.format not in FORMATS:
        raise UsageError(
            "format value must be one of oci-dir oci-archive docker-dir docker-archive"
        )
    if options.compress and options.format != DOCKER_DIR:
        raise UsageError("--compress can only be set when --format is 'docker-dir'")
    if options.output is None and options.format in (OCI_DIR, DOCKER_DIR):
        raise UsageError(f"--format {options.format} writes a directory: name it with --output")


def _tag(record: ImageRecord, text: str) -> list[str]:
    """The tag `text` gives in the archive: the image's name it stands for (none for an ID)."""
    bare = text.removeprefix("sha256:")
    if bare and all(ch in "0123456789abcdef" for ch in bare) and record.id.startswith(bare):
        return []
    if transports.has_transport(text):
        return record.names[:1]
    found = name_matching(record, text)
    return [found] if found else []


def save_images(
    settings: Settings, names: list[str], options: SaveOptions, reporter: Reporter
) -> list[ImageRecord]:
    """Write the images `names` name; the images written."""
    check_options(options)
    if options.multi_image and len(names) > 1 and options.format != DOCKER_ARCHIVE:
        raise UsageError(
            f'unsupported format "{options.format}" for saving multiple images '
            "(only docker-archive)"
        )
    try:
        found = [(local_image(settings, name, reporter), name) for name in names]
    except NoSuchImageError as err:  # rmi's exit 1; save exits 125 as podman
        raise PodError(str(err)) from None
    if options.multi_image:
        images = [(record, _tag(record, name)) for record, name in found]
    else:
        tags = [tag for record, name in found for tag in _tag(record, name)]
        images = [(found[0][0], tags)]
    if options.format == DOCKER_ARCHIVE:
        encoding, manifest_format = outgoing.PLAIN, None
    elif options.format in (OCI_ARCHIVE, OCI_DIR):
        encoding = outgoing.PLAIN if options.uncompressed else outgoing.COMPRESSED
        manifest_format = outgoing.OCI
    else:
        encoding = outgoing.COMPRESSED if options.compress else outgoing.KEEP
        manifest_format = outgoing.DOCKER
    reporter.copying()
    write_images(
        settings,
        _TRANSPORTS[options.format],
        options.output,
        images,
        encoding=encoding,
        manifest_format=manifest_format,
    )
    reporter.writing_manifest()
    for record, _ in images:
        events.image_event(settings.runroot, "save", record.id, options.output or "/dev/stdout")
    return [record for record, _ in images]

"""The image a command that takes a local image means (save, tag, image mount): a name or ID in
the store, or a transport reference (`oci:DIR`, `docker-archive:FILE`, `docker://REF`), which
is copied into the store first, as podman does."""

from __future__ import annotations

from pod.config import Settings
from pod.image import transports
from pod.reporter import Reporter
from pod.store.images import ImageRecord, ImageStore
from pod.store.layout import Layout


def local_image(settings: Settings, text: str, reporter: Reporter) -> ImageRecord:
    ref = transports.parse(text)
    if ref is None:
        return ImageStore(Layout(settings.root, settings.runroot)).lookup(text)
    from pod.image.pull import PullOptions, pull_image

    return pull_image(settings, text, PullOptions(reporter=reporter))

"""Images on their way into the store (read from an archive or directory) and out of it.

The readers (docker_archive, oci_layout, dir_image) turn untrusted files into SourceImages with
their metadata checked; pod.image.ingest verifies the content and stores it. Writers take
OutImages that pod.image.export_layers made from stored images.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from pod.errors import StoreError, UnsafeContentError
from pod.image import manifest as mf
from pod.store.blobs import CHUNK
from pod.util.records import dataclass

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pod.image.archive_files import Member

MAX_LAYERS = 1000
MAX_IMAGES = 1000


@dataclass(frozen=True)
class SourceLayer:
    """A layer in an archive: its bytes, what the manifest says they are, and its diff id.

    `digest` is the blob digest the manifest names (checked while copying); None when the format
    does not record one (docker-archive: the digest is what the bytes hash to).
    """

    member: Member
    diff_id: str
    digest: str | None = None
    media_type: str = ""


@dataclass(frozen=True)
class SourceImage:
    """One image found in an archive or directory.

    `manifest` is kept byte for byte when the source has one whose blobs are stored as they
    are (OCI layouts, `dir:`), so the image keeps its digest; None when pod writes one.
    """

    names: list[str]
    config: bytes
    config_digest: str
    layers: list[SourceLayer]
    manifest: bytes | None = None
    manifest_media_type: str = mf.OCI_MANIFEST
    manifest_digest: str | None = None


def diff_ids_of(config: dict, layer_count: int, where: str) -> list[str]:
    """The config's diff ids, which must be one per layer."""
    ids = mf.diff_ids(config)
    if len(ids) != layer_count:
        raise UnsafeContentError(
            f"{where}: the image config lists {len(ids)} layers but there are {layer_count}"
        )
    if layer_count > MAX_LAYERS:
        raise UnsafeContentError(f"{where}: more than {MAX_LAYERS} layers")
    return ids


@dataclass(frozen=True)
class OutLayer:
    """A layer as it is written out: the blob at `path`, or its decompressed stream when
    `decompress` (then `digest` is the diff id and `size` the uncompressed size)."""

    digest: str
    size: int
    media_type: str
    diff_id: str
    path: Path
    decompress: bool = False

    def chunks(self) -> Iterator[bytes]:
        if not self.decompress:
            with open(self.path, "rb") as handle:
                while data := handle.read(CHUNK):
                    yield data
            return
        yield from _decompressed_chunks(self.path, self.size)


def _decompressed_chunks(path: Path, size: int) -> Iterator[bytes]:
    """A stored layer blob decompressed; its length must be the size the store recorded."""
    from pod.util.archive import decompressed

    total = 0
    with open(path, "rb") as raw, decompressed(raw) as stream:
        while data := stream.read(CHUNK):
            total += len(data)
            if total > size:
                break
            yield data
    if total != size:
        raise StoreError(f"blob {path.name} does not decompress to the {size} bytes recorded")


@dataclass
class OutImage:
    """A stored image as a writer sees it: names, config and manifest bytes, layers."""

    image_id: str
    names: list[str]
    config: bytes
    config_digest: str
    layers: list[OutLayer]
    manifest: bytes
    manifest_media_type: str
    manifest_digest: str

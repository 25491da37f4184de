"""Tar archives that may be compressed: gzip, bzip2, xz or zstd, told apart by their magic
bytes (never by a file name or a media type), as docker and podman accept them for `ADD` and
`cp -`, and as image layers come. Standard library only, but zstandard, imported when a zstd
stream is met, and python-isal for gzip when it is installed (stdlib gzip otherwise)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import IO, Any, cast

MAGIC_BYTES = 6
_MAGIC = (
    ("gzip", b"\x1f\x8b"),
    ("zstd", b"\x28\xb5\x2f\xfd"),
    ("bzip2", b"BZh"),
    ("xz", b"\xfd7zXZ\x00"),
)


def compression_of(head: bytes) -> str | None:
    """The compression a stream's first MAGIC_BYTES announce (gzip, zstd, bzip2, xz), else None."""
    for name, magic in _MAGIC:
        if head.startswith(magic):
            return name
    return None


def decompressor(raw: IO[bytes], compression: str) -> IO[bytes]:
    """A reader decompressing `raw` (need not be seekable) as `compression` (compression_of)."""
    if compression == "gzip":
        return gzip_reader(raw)
    if compression == "bzip2":
        import bz2

        return bz2.BZ2File(raw, "rb")
    if compression == "xz":
        import lzma

        return lzma.LZMAFile(raw, "rb")
    import zstandard  # only zstd streams pay for the import

    return zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)


class _Prepended(io.RawIOBase):
    """`raw` with the bytes already read from it (to sniff its compression) put back in
    front: a pipe cannot seek back to them."""

    def __init__(self, head: bytes, raw: IO[bytes]) -> None:
        self._head = head
        self._raw = raw

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._head:
            size = min(len(buffer), len(self._head))
            buffer[:size] = self._head[:size]
            self._head = self._head[size:]
            return size
        data = self._raw.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def prepended(head: bytes, raw: IO[bytes], buffer_size: int = io.DEFAULT_BUFFER_SIZE) -> IO[bytes]:
    """A buffered reader of `head` then the rest of `raw` (every decompressor accepts it)."""
    return io.BufferedReader(_Prepended(head, raw), buffer_size)


def read_head(raw: IO[bytes], size: int) -> bytes:
    """The first `size` bytes of `raw` (fewer only at its end), however a pipe splits them."""
    head = b""
    while len(head) < size and (chunk := raw.read(size - len(head))):
        head += chunk
    return head


def gzip_reader(raw: IO[bytes]) -> IO[bytes]:
    """A reader inflating the gzip stream `raw` (need not be seekable; concatenated members
    read as one): ISA-L's inflate (python-isal, 2-2.5x stdlib zlib's speed on image layers)
    when it is installed, else the standard library's. Both are binary file objects, which
    their stubs do not declare IO[bytes]."""
    try:
        from isal.igzip import IGzipFile
    except ImportError:
        import gzip

        return cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb"))
    return cast(IO[bytes], IGzipFile(fileobj=raw, mode="rb"))


def decompressed(raw: IO[bytes]) -> IO[bytes]:
    """The decompressed stream of `raw` (a seekable file), or `raw` itself when it is plain."""
    head = raw.read(MAGIC_BYTES)
    raw.seek(0)
    compression = compression_of(head)
    return raw if compression is None else decompressor(raw, compression)


def decode_errors() -> tuple[type[BaseException], ...]:
    """What the decompressors raise on corrupt input (zstandard's and ISA-L's only when they
    were loaded)."""
    import lzma
    import sys
    import zlib

    errors: list[type[BaseException]] = [EOFError, OSError, zlib.error, lzma.LZMAError]
    zstd = sys.modules.get("zstandard")
    if zstd is not None:
        errors.append(zstd.ZstdError)
    isal_zlib = sys.modules.get("isal.isal_zlib")
    if isal_zlib is not None:
        errors.append(isal_zlib.error)
    return tuple(errors)


def _read_exactly(stream: IO[bytes], size: int) -> bytes:
    data = b""
    while len(data) < size and (chunk := stream.read(size - len(data))):
        data += chunk
    return data


def is_tar_archive(archive: Path) -> bool:
    """Whether `archive` is a tar, plain or compressed: its first header block must parse
    (checksum included), as docker decides with Go's tar reader."""
    with open(archive, "rb") as raw:
        try:
            block = _read_exactly(decompressed(raw), tarfile.BLOCKSIZE)
        except decode_errors():
            return False
    if len(block) < tarfile.BLOCKSIZE:
        return False
    try:
        tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
    except (tarfile.HeaderError, ValueError):
        return False
    return True

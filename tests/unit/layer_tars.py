"""Building layer tars member by member, for the tests of extraction, diffs and squashing."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile

import zstandard

Member = tuple[tarfile.TarInfo, bytes | None]
MTIME = 1_600_000_000


def member(name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"", **attrs) -> Member:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mtime = MTIME
    info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    for key, value in attrs.items():
        setattr(info, key, value)
    if kind == tarfile.REGTYPE:
        info.size = len(data)
        return info, data
    return info, None


def directory(name: str, **attrs) -> Member:
    return member(name, tarfile.DIRTYPE, **attrs)


def symlink(name: str, target: str, **attrs) -> Member:
    return member(name, tarfile.SYMTYPE, linkname=target, **attrs)


def hardlink(name: str, target: str) -> Member:
    return member(name, tarfile.LNKTYPE, linkname=target)


def make_tar(members: list[Member]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def compress(data: bytes, compression: str) -> bytes:
    if compression == "gzip":
        return gzip.compress(data)
    if compression == "zstd":
        return zstandard.ZstdCompressor().compress(data)
    return data


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()

"""pod.store.tar_reader against tarfile (and GNU tar as another writer): the same entries, the
same content, and clear errors for what is malformed or refused."""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from pod.errors import UnsafeContentError
from pod.store.tar_reader import TarFormatError, TarReader

FIELDS = ("name", "type", "size", "mode", "uid", "gid", "mtime", "linkname", "pax_headers")


def entry(name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"", **fields):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.size = len(data) if kind in (tarfile.REGTYPE, tarfile.AREGTYPE) else 0
    for key, value in fields.items():
        setattr(info, key, value)
    return info, data


def write(entries, fmt: int = tarfile.PAX_FORMAT) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt, encoding="utf-8",
                      errors="surrogateescape") as tar:  # fmt: skip
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if data else None)
    return out.getvalue()


def tarfile_view(raw: bytes) -> list[tuple]:
    seen = []
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:", encoding="utf-8",
                      errors="surrogateescape") as tar:  # fmt: skip
        for info in tar:
            source = tar.extractfile(info) if info.isreg() else None
            data = source.read() if source else b""
            dev = (info.devmajor, info.devminor) if info.ischr() or info.isblk() else None
            seen.append((*(getattr(info, f) for f in FIELDS), dev, info.offset_data, data))
    return seen


def reader_view(stream, seekable: bool = False) -> list[tuple]:
    seen = []
    reader = TarReader.of_file(stream) if seekable else TarReader(stream)
    while (info := reader.next()) is not None:
        data = b"" if seekable else b"".join(reader.data())
        dev = (info.devmajor, info.devminor) if info.ischr() or info.isblk() else None
        seen.append((*(getattr(info, f) for f in FIELDS), dev, info.offset_data, data))
    return seen


class Trickle(io.RawIOBase):
    """A stream that returns a few bytes per read, as a pipe or a decompressor may."""

    def __init__(self, data: bytes) -> None:
        self.data, self.at, self.step = data, 0, 1

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        self.step = self.step % 7 + 1
        size = min(size if size >= 0 else len(self.data), self.step)
        chunk = self.data[self.at : self.at + size]
        self.at += len(chunk)
        return chunk


EVERY_KIND = [
    entry("dir", tarfile.DIRTYPE, mode=0o755, mtime=1_700_000_000),
    entry("dir/file", data=b"hello\n" * 300, mode=0o4755, uid=1000, gid=100),
    entry("dir/empty", data=b""),
    entry("dir/link", tarfile.SYMTYPE, linkname="../elsewhere/" + "t" * 120),
    entry("dir/hard", tarfile.LNKTYPE, linkname="dir/file"),
    entry("dev/null", tarfile.CHRTYPE, devmajor=1, devminor=3, mode=0o666),
    entry("dev/loop0", tarfile.BLKTYPE, devmajor=7, devminor=0),
    entry("fifo", tarfile.FIFOTYPE),
    entry("deep/" + "/".join(["segment"] * 20) + "/leaf", data=b"x"),
    entry("ünïcödé/ファイル", data=b"unicode"),
    entry("old", mtime=-86_400),
]


@pytest.mark.parametrize("fmt", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
def test_every_kind_of_entry_reads_as_tarfile_reads_it(fmt):
    entries = [e for e in EVERY_KIND if fmt != tarfile.USTAR_FORMAT or e[0].mtime >= 0]
    if fmt == tarfile.USTAR_FORMAT:  # no long link names, no non-ASCII names in ustar
        entries = [e for e in entries if len(e[0].linkname) <= 100 and e[0].name.isascii()]
    raw = write(entries, fmt)
    assert reader_view(io.BytesIO(raw)) == tarfile_view(raw)


def test_pax_extras_read_as_tarfile_reads_them():
    raw = write([
        entry("big-ids", data=b"1", uid=3_000_000_000, gid=2**31, mtime=1_700_000_000.25),
        entry("xattrs", data=b"2", pax_headers={"SCHILY.xattr.user.note": "héllo",
                                                "SCHILY.xattr.security.capability": "\x01\x02"}),
        entry("n" * 300, data=b"3"),
        entry(os.fsdecode(b"latin-\xe9"), data=b"4"),
    ])  # fmt: skip
    assert reader_view(io.BytesIO(raw)) == tarfile_view(raw)


def test_a_global_header_applies_to_every_later_entry():
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT,
                      pax_headers={"comment": "everyone"}) as tar:  # fmt: skip
        for name in ("a", "b"):
            tar.addfile(tarfile.TarInfo(name))
    raw = out.getvalue()
    found = reader_view(io.BytesIO(raw))
    assert found == tarfile_view(raw)
    assert [row[FIELDS.index("pax_headers")] for row in found] == [{"comment": "everyone"}] * 2


def test_base256_numbers_of_gnu_tar_read_as_tarfile_reads_them():
    raw = write([entry("huge-uid", data=b"z", uid=2**40, mtime=-(2**40))], tarfile.GNU_FORMAT)
    assert reader_view(io.BytesIO(raw)) == tarfile_view(raw)
    assert reader_view(io.BytesIO(raw))[0][4] == 2**40


def test_an_old_tar_marks_a_directory_with_its_slash():
    raw = write([entry("olddir/", tarfile.AREGTYPE)], tarfile.USTAR_FORMAT)
    (found,) = reader_view(io.BytesIO(raw))
    assert found == tarfile_view(raw)[0]
    assert (found[0], found[1]) == ("olddir", tarfile.DIRTYPE)


def test_short_reads_give_the_same_entries():
    raw = write(EVERY_KIND)
    assert reader_view(Trickle(raw)) == reader_view(io.BytesIO(raw))


def test_a_seekable_archive_is_indexed_with_tarfile_s_data_offsets(tmp_path: Path):
    raw = write(EVERY_KIND)
    path = tmp_path / "a.tar"
    path.write_bytes(raw)
    with open(path, "rb") as handle:
        indexed = reader_view(handle, seekable=True)
    assert [row[:-1] for row in indexed] == [row[:-1] for row in tarfile_view(raw)]


@pytest.mark.needs_tool("tar")
@pytest.mark.parametrize("fmt", ["gnu", "posix", "ustar", "v7"])
def test_gnu_tar_archives_read_as_tarfile_reads_them(tmp_path: Path, fmt: str):
    src = tmp_path / "src"
    (src / "sub" / ("a" * 60) / ("b" * 60)).mkdir(parents=True)  # ustar: a prefix field
    (src / "sub" / "file").write_bytes(b"data" * 1000)
    (src / "sub" / "link").symlink_to("file")
    os.link(src / "sub" / "file", src / "sub" / "hard")
    archive = tmp_path / "a.tar"
    names = ["sub"] if fmt != "v7" else ["sub/file", "sub/link", "sub/hard"]
    subprocess.run(["tar", f"--format={fmt}", "-cf", archive, "-C", src, *names], check=True)
    raw = archive.read_bytes()
    assert reader_view(io.BytesIO(raw)) == tarfile_view(raw)


def test_an_archive_without_end_blocks_ends_at_its_last_entry():
    raw = write([entry("a", data=b"1")])
    cut = raw[: 3 * tarfile.BLOCKSIZE]  # header, data block; no end-of-archive blocks
    assert [row[0] for row in reader_view(io.BytesIO(cut[:1024]))] == ["a"]


def test_an_empty_archive_has_no_entries_but_an_empty_file_is_no_archive():
    assert reader_view(io.BytesIO(b"\0" * 1024)) == []
    with pytest.raises(TarFormatError, match="empty file"):
        TarReader(io.BytesIO(b"")).next()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"not a tar at all" * 64, "bad checksum|invalid header"),
        (write([entry("a", data=b"1")])[:300], "unexpected end of data"),
        (write([entry("a", data=b"1"), entry("b", data=b"2")])[:1300], "unexpected end of data"),
    ],
)
def test_malformed_headers_are_format_errors(raw: bytes, message: str):
    reader = TarReader(io.BytesIO(raw))
    with pytest.raises(TarFormatError, match=message):
        while reader.next() is not None:
            pass


def test_a_truncated_entry_is_a_format_error_when_its_data_is_read():
    raw = write([entry("big", data=b"x" * 5000)])[:2048]
    reader = TarReader(io.BytesIO(raw))
    assert reader.next() is not None
    with pytest.raises(TarFormatError, match="unexpected end of data"):
        b"".join(reader.data())


def test_a_truncated_entry_in_a_seekable_archive_is_a_format_error(tmp_path: Path):
    raw = write([entry("big", data=b"x" * 5000)])[:2048]
    path = tmp_path / "cut.tar"
    path.write_bytes(raw)
    with open(path, "rb") as handle:
        reader = TarReader.of_file(handle)
        assert reader.next() is not None
        with pytest.raises(TarFormatError, match="unexpected end of data"):
            reader.next()


def _pax_block(records: bytes) -> bytes:
    header = tarfile.TarInfo("././@PaxHeader")
    header.type = tarfile.XHDTYPE
    header.size = len(records)
    padding = b"\0" * (-len(records) % tarfile.BLOCKSIZE)
    return header.tobuf(tarfile.USTAR_FORMAT) + records + padding


@pytest.mark.parametrize(
    "records",
    [b"5 a=b", b"99 path=x\n", b"x path=x\n", b"10 pathx\n\n\n", b"11 uid=abc\n", b"10 size=-5\n"],
)
def test_malformed_pax_records_are_format_errors(records: bytes):
    raw = _pax_block(records) + write([entry("f", data=b"1")], tarfile.USTAR_FORMAT)
    with pytest.raises(TarFormatError):
        TarReader(io.BytesIO(raw)).next()


def test_an_oversized_extended_header_is_refused_before_it_is_read():
    header = tarfile.TarInfo("././@PaxHeader")
    header.type = tarfile.XHDTYPE
    header.size = (1 << 20) + 1  # claimed only
    raw = header.tobuf(tarfile.USTAR_FORMAT) + b"\0" * 1024
    with pytest.raises(UnsafeContentError, match="extended header"):
        TarReader(io.BytesIO(raw)).next()


def test_sparse_entries_are_refused():
    gnu_sparse = tarfile.TarInfo("holes")
    gnu_sparse.type = tarfile.GNUTYPE_SPARSE
    raw = gnu_sparse.tobuf(tarfile.GNU_FORMAT) + b"\0" * 1024
    with pytest.raises(UnsafeContentError, match="sparse"):
        TarReader(io.BytesIO(raw)).next()
    pax_sparse = _pax_block(b"22 GNU.sparse.major=1\n") + write([entry("f")], tarfile.USTAR_FORMAT)
    with pytest.raises(UnsafeContentError, match="sparse"):
        TarReader(io.BytesIO(pax_sparse)).next()


def test_unread_data_is_skipped_to_the_next_header():
    raw = write([entry("a", data=b"1" * 3000), entry("b", data=b"2")])
    reader = TarReader(io.BytesIO(raw))
    assert reader.next().name == "a"
    second = reader.next()
    assert second.name == "b" and b"".join(reader.data()) == b"2"
    assert reader.next() is None

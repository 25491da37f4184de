"""pod leans on three private parts of the standard library. Each test here fails loudly when a
Python release changes one, instead of pod quietly losing what it built on it:

- `atexit._run_exitfuncs` (pod.commands.boundary.exit_now: the handlers run, then os._exit);
- the C socket's `_accept` (pod.shim.supervisor: the supervisor loads no Python socket module);
- tarfile's per-header `_proc_member` and `_proc_gnusparse_10` hooks (pod.store.layers'
  BoundedTarInfo caps extended headers and refuses sparse files through them).
"""

from __future__ import annotations

import io
import socket
import subprocess
import sys
import tarfile

import pytest

from pod.errors import UnsafeContentError
from pod.store.layers import BoundedTarInfo


def test_exit_now_runs_the_atexit_handlers_and_exits_with_the_code():
    script = (
        "import atexit\n"
        "from pod.commands import boundary\n"
        "atexit.register(print, 'handler ran', flush=True)\n"
        "print('buffered output', end='')\n"
        "boundary.exit_now(3)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert (done.returncode, done.stdout) == (3, "buffered outputhandler ran\n"), done.stderr


def test_the_c_socket_accept_returns_a_descriptor(tmp_path):
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    path = str(tmp_path / "s")
    listener.bind(path)
    listener.listen(1)
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.connect(path)
    try:
        fd, _ = listener._accept()  # type: ignore[attr-defined]
        accepted = socket.socket(fileno=fd)
        client.sendall(b"x")
        assert accepted.recv(1) == b"x"
        accepted.close()
    finally:
        client.close()
        listener.close()


def _archive(member: tarfile.TarInfo, data: bytes = b"") -> io.BytesIO:
    block = member.tobuf(format=tarfile.GNU_FORMAT)
    padding = b"\0" * (-len(data) % tarfile.BLOCKSIZE)
    return io.BytesIO(block + data + padding + b"\0" * tarfile.BLOCKSIZE * 2)


def _first_member(stream: io.BytesIO) -> tarfile.TarInfo | None:
    with tarfile.open(fileobj=stream, mode="r|", tarinfo=BoundedTarInfo) as tar:
        return tar.next()


def test_an_oversized_extended_header_is_refused_through_proc_member():
    header = tarfile.TarInfo("././@PaxHeader")
    header.type = tarfile.XHDTYPE
    header.size = (1 << 20) + 1  # claimed only: the cap must act before tarfile reads it
    with pytest.raises(UnsafeContentError, match="extended header"):
        _first_member(_archive(header))


def test_a_sparse_member_is_refused_through_proc_member():
    sparse = tarfile.TarInfo("holes")
    sparse.type = tarfile.GNUTYPE_SPARSE
    with pytest.raises(UnsafeContentError, match="sparse"):
        _first_member(_archive(sparse))


def test_the_pax_sparse_hook_still_exists():
    """tarfile calls `_proc_gnusparse_10` for GNU.sparse.major=1 PAX headers; BoundedTarInfo's
    refusal only works while that name is tarfile's."""
    assert hasattr(tarfile.TarInfo, "_proc_gnusparse_10")
    with pytest.raises(UnsafeContentError):
        BoundedTarInfo()._proc_gnusparse_10(None, None, None)


def test_a_plain_member_still_reads():
    member = tarfile.TarInfo("file")
    member.size = 5
    found = _first_member(_archive(member, b"hello"))
    assert found is not None and (found.name, found.size) == ("file", 5)

"""pod leans on three private parts of the standard library. Each test here fails loudly when a
Python release changes one, instead of pod quietly losing what it built on it:

- `atexit._run_exitfuncs` (pod.commands.boundary.exit_now: the handlers run, then os._exit);
- the C socket's `_accept` (pod.shim.supervisor: the supervisor loads no Python socket module);
- a writing tarfile's `members` list (pod.store.layers.forget_members keeps the memory of
  writing a layer bounded). Reading untrusted tars needs no private part of tarfile: pod
  parses their headers itself (pod.store.tar_reader).
"""

from __future__ import annotations

import io
import socket
import subprocess
import sys
import tarfile

from pod.store.layers import forget_members


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


def test_forget_members_empties_a_writing_tarfile_s_member_list():
    """layer_diff and layer_squash write layers of any size with bounded memory by dropping
    the header tarfile keeps of each member written (its `members` list)."""
    with tarfile.open(fileobj=io.BytesIO(), mode="w|") as tar:
        tar.addfile(tarfile.TarInfo("file"), io.BytesIO(b""))
        assert len(tar.getmembers()) == 1
        forget_members(tar)
        assert tar.getmembers() == []

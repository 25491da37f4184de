"""pod.shim.prefork: the shim child `pod run` forks first thing, handed its work later.

The child is a real fork of the test process (forked again: it is no child of ours, as a
daemonized shim is not); `run_shim` (which would run set-up against a store) is replaced
before the fork by a probe that reports what the child was given: the command line, the
environment and the fds at the numbers the caller had them.
"""

from __future__ import annotations

import json
import os
import select

import pytest

from pod.shim import prefork, setup


def _ended(pid: int, timeout: float = 10.0) -> bool:
    """Whether the process ends within `timeout` seconds (it is no child of ours: no status)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([fd], [], [], timeout)[0])
    finally:
        os.close(fd)


def _probe(argv: list[str], err_w: int, pass_fds: list[int], daemonized: bool = False) -> None:
    """Stands for run_shim in the child: report what it got on its stderr pipe and exit."""
    report = {
        "daemonized": daemonized,
        "sid": os.getsid(0),
        "pid": os.getpid(),
        "argv": argv,
        "env": os.environ.get("PREFORK_PROBE"),
        "fds": {str(fd): os.read(fd, 100).decode() for fd in pass_fds},
        "cloexec": [not os.get_inheritable(fd) for fd in pass_fds],
    }
    os.write(err_w, json.dumps(report).encode())
    os._exit(0)


@pytest.fixture
def probed(monkeypatch):
    monkeypatch.setattr(prefork, "run_shim", _probe)
    monkeypatch.setattr(setup, "preload", lambda handed: None)


def test_the_child_becomes_the_shim_with_the_argv_env_and_fds_it_is_handed(probed, monkeypatch):
    prefork.start()
    early = prefork.take()
    assert early is not None and prefork.take() is None  # taken once
    monkeypatch.setenv("PREFORK_PROBE", "set after the fork")  # as run sets NOTIFY_SOCKET & co
    pipes = [os.pipe() for _ in range(2)]
    for number, (_, w) in enumerate(pipes):
        os.write(w, f"pipe {number}".encode())
        os.close(w)
    err_r, err_w = os.pipe()
    argv = ["python", "-m", "pod.shim.setup", "--ready-fd", str(pipes[0][0])]
    assert early.hand_over(argv, [r for r, _ in pipes], err_w)
    os.close(err_w)
    assert _ended(early.pid)
    with pytest.raises(ChildProcessError):  # our child, which forked it, was reaped
        os.waitpid(early.forked, os.WNOHANG)
    with os.fdopen(err_r, "rb") as stream:
        report = json.loads(stream.read())
    for r, _ in pipes:
        os.close(r)
    assert report["argv"] == argv
    assert report["env"] == "set after the fork"
    assert report["fds"] == {str(pipes[0][0]): "pipe 0", str(pipes[1][0]): "pipe 1"}
    assert report["cloexec"] == [True, True]  # as the CLI's own pipes are
    # Detached as set-up's daemonize would: a session of its own, not its leader (so it can
    # never get a controlling terminal); set-up is told not to fork again.
    assert report["pid"] == early.pid and report["daemonized"]
    assert report["sid"] not in (os.getsid(0), report["pid"])


def test_a_child_not_handed_a_shim_ends_on_eof(probed):
    prefork.start()
    early = prefork.take()
    assert early is not None
    pid = early.shim_pid()
    assert pid > 0
    prefork.release(early)
    assert _ended(pid)


def test_the_waiting_child_holds_none_of_the_callers_pipes(probed):
    """`cid=$(pod run -d ...)` must see EOF when pod exits, whatever the child does."""
    r, w = os.pipe()
    prefork.start()
    early = prefork.take()
    assert early is not None
    pid = early.shim_pid()
    try:
        os.close(w)
        ready, _, _ = select.select([r], [], [], 10.0)
        assert ready and os.read(r, 1) == b""  # EOF: the child closed its copy of `w`
        assert not _ended(pid, timeout=0)  # while it still waits
    finally:
        os.close(r)
        prefork.release(early)
        assert _ended(pid)


def test_a_child_that_is_gone_is_not_handed_anything(probed):
    prefork.start()
    early = prefork.take()
    assert early is not None
    os.kill(early.shim_pid(), 9)
    assert _ended(early.pid)
    err_r, err_w = os.pipe()
    try:
        assert not early.hand_over(["python", "-m", "pod.shim.setup"], [], err_w)
    finally:
        os.close(err_r)
        os.close(err_w)


def test_the_preloaded_modules_are_the_ones_a_first_run_imports():
    """Each name is importable (a rename would otherwise only cost the speed, silently)."""
    import importlib

    for name in setup.FIRST_RUN_MODULES:
        importlib.import_module(name)


def test_its_socket_is_not_where_preserve_fds_looks(probed):
    """`--preserve-fds N` passes fds 3..N+2 on, and refuses when one is not open: pod's own
    socket must be neither passed on nor taken for the user's."""
    from pod.util.own_fds import OWN_FD_FLOOR

    prefork.start()
    early = prefork.take()
    assert early is not None
    pid = early.shim_pid()
    try:
        assert early.sock.fileno() >= OWN_FD_FLOOR
    finally:
        prefork.release(early)
        assert _ended(pid)


def test_run_forks_it_unless_a_bridge_worker_takes_the_second_cpu(monkeypatch):
    from pod.entry import wants_early_shim

    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert wants_early_shim(["run", "--network", "none", "busybox", "true"])
    assert wants_early_shim(["--root", "/r", "run", "--network=host", "busybox"])
    assert not wants_early_shim(["run", "busybox", "true"])  # rootful bridge: the worker
    assert not wants_early_shim(["run", "--help"])
    assert not wants_early_shim(["ps", "-a"])
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert wants_early_shim(["run", "busybox", "true"])  # rootless: no bridge worker

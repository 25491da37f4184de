"""The supervisor runs in the C locale; its helpers (restart, health checks) get the locale
set-up started with, whether the supervisor was exec'd with supervisor_environment or set-up
supervised in its own process (a short attached run) with its environment unchanged."""

from __future__ import annotations

import os
import posix
import subprocess
import sys

import pytest

from pod.shim import supervisor


def helper_environment_after(monkeypatch, environ: dict[str, str]) -> dict[bytes, bytes]:
    monkeypatch.setattr(posix, "environ", {k.encode(): v.encode() for k, v in environ.items()})
    return supervisor._helper_environment()


@pytest.mark.parametrize("lc_all", [None, "", "de_DE.UTF-8"])
def test_helpers_get_the_locale_back_from_an_execd_supervisor(monkeypatch, lc_all) -> None:
    original = {"PATH": "/bin"} | ({} if lc_all is None else {"LC_ALL": lc_all})
    execd = supervisor.supervisor_environment(original)
    assert execd["LC_ALL"] == "C"
    helper = helper_environment_after(monkeypatch, execd)
    assert helper == {k.encode(): v.encode() for k, v in original.items()}


@pytest.mark.parametrize("lc_all", [None, "de_DE.UTF-8"])
def test_a_supervisor_in_set_ups_process_leaves_the_environment(monkeypatch, lc_all) -> None:
    original = {"PATH": "/bin"} | ({} if lc_all is None else {"LC_ALL": lc_all})
    helper = helper_environment_after(monkeypatch, original)
    assert helper == {k.encode(): v.encode() for k, v in original.items()}


def test_the_execd_environment_is_one_execve_takes() -> None:
    """No value may hold what execve refuses (a NUL byte, say): the exec would fail."""
    env = supervisor.supervisor_environment(dict(os.environ))
    out = subprocess.run(
        [sys.executable, "-c", "import os; print(os.environ['LC_ALL'])"],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert out.stdout == "C\n"

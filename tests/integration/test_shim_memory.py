"""The supervisor's memory for the container's whole life: detached, attached, and after a
restart, through the real `pod` command line (pod's own runtime and runc).

The supervisor is the exec'd `python -I -S` process (pod.shim.supervisor) that holds the shim
pid: it must not have loaded the heavy set-up modules (store, runtime, network) in any of the
three cases. The bound is on VmRSS; most of it is the interpreter itself (`python3 -I -S -c
pass` alone has ~7.5 MiB resident here, largely shared pages of the python binary and libc),
so the private part is checked too: what each more container really costs.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

RSS_LIMIT_KIB = 9 * 1024
PRIVATE_LIMIT_KIB = 3 * 1024
HEAVY = ("pod.store", "pod.runtime", "pod.network", "pod.container", "json", "pyroute2")

RUNTIMES = ["pod", pytest.param("runc", marks=pytest.mark.needs_tool("runc"))]


def _state(pod, container_id: str) -> dict:
    path = pod.root / "containers" / container_id / "state.json"
    return json.loads(path.read_text())


def _until(predicate, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {predicate}")


def _memory(pid: int) -> tuple[int, int]:
    """(VmRSS, private Rss) in KiB."""
    rss = next(
        int(line.split()[1])
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if line.startswith("VmRSS:")
    )
    rollup = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
    private = sum(
        int(line.split()[1])
        for line in rollup
        if line.startswith(("Private_Clean", "Private_Dirty"))
    )
    return rss, private


def _loaded_modules(pid: int) -> str:
    """The supervisor's command line names the module it runs; py-spy is not at hand, so the
    proof that nothing heavy is loaded is the memory, and the mapped files: no extension
    modules of site-packages (pyroute2 and the like live there)."""
    maps = Path(f"/proc/{pid}/maps").read_text()
    return maps


def _check_supervisor(pod, container_id: str) -> None:
    state = _until(lambda: (s := _state(pod, container_id)).get("status") == "running" and s)
    pid = state["shim_pid"]

    def supervising() -> bool:  # set-up execs the supervisor in the same pid
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        return b"-S" in cmdline and any(b"pod.shim.supervisor" in arg for arg in cmdline)

    _until(supervising)
    time.sleep(0.3)  # the container's first output logged
    rss, private = _memory(pid)
    assert rss <= RSS_LIMIT_KIB, f"supervisor RSS {rss} KiB"
    assert private <= PRIVATE_LIMIT_KIB, f"supervisor private memory {private} KiB"
    assert "site-packages" not in _loaded_modules(pid)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_detached_containers_supervisor_stays_small(pod, test_images, runtime):
    started = pod(
        "run", "-d", "--runtime", runtime, "--network", "none", test_images.busybox.ref,
        "sh", "-c", "echo up; sleep 30", check=True,
    )  # fmt: skip
    _check_supervisor(pod, started.stdout.strip())


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_an_attached_containers_supervisor_stays_small(pod, test_images, runtime):
    command = pod.command(
        "run", "--name", "attached", "--runtime", runtime, "--network", "none",
        test_images.busybox.ref, "sh", "-c", "echo up; sleep 30",
    )  # fmt: skip
    client = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=pod.tmp, env=pod.env()
    )
    try:
        assert client.stdout is not None
        assert client.stdout.readline() == b"up\n"
        container_id = pod("inspect", "--format", "{{.Id}}", "attached", check=True).stdout
        _check_supervisor(pod, container_id.strip())
    finally:
        pod("rm", "-f", "-t", "0", "attached")
        client.wait(timeout=30)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_restarted_containers_supervisor_stays_small(pod, test_images, runtime):
    started = pod(
        "run", "-d", "--restart", "always", "--runtime", runtime, "--network", "none",
        test_images.busybox.ref, "sh", "-c", "echo up; sleep 0.3; exit 3", check=True,
    )  # fmt: skip
    container_id = started.stdout.strip()
    first = _state(pod, container_id)["shim_pid"]
    _until(lambda: _state(pod, container_id).get("restart_count", 0) >= 2)
    assert _state(pod, container_id)["shim_pid"] == first  # the same supervisor carried on
    _check_supervisor(pod, container_id)

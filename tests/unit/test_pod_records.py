"""Pods without containers: the records (store/pods.py), --share, the pod state podman derives
from its containers', what joining a pod does to a container's options, and pod's own pause
program (run for real: it is a process, not a mock)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from pod.container.options import RunOptions
from pod.errors import NoSuchPodError, PodError, UsageError
from pod.network.ports import PortMapping
from pod.pods.infra import is_static
from pod.pods.list import pod_status
from pod.pods.members import join_options
from pod.pods.options import PodOptions, check, parse_share
from pod.pods.pause import pause_program
from pod.store.layout import Layout
from pod.store.pods import PodRecord, PodStore


@pytest.fixture
def pods(tmp_path: Path) -> PodStore:
    return PodStore(Layout(tmp_path / "root", tmp_path / "run"))


# --- records ---


def test_create_gives_an_id_and_a_random_name(pods):
    record = pods.create(PodRecord(id="", name=""))
    assert len(record.id) == 64 and record.name
    assert pods.lookup(record.name) == record
    assert pods.lookup(record.id[:8]) == record
    assert pods.get(record.id) == record


def test_names_are_unique_and_checked(pods):
    pods.create(PodRecord(id="", name="web"))
    with pytest.raises(PodError, match='name "web" is in use: pod already exists'):
        pods.create(PodRecord(id="", name="web"))
    with pytest.raises(UsageError, match="running pod create option: names must match"):
        pods.create(PodRecord(id="", name="../escape"))
    assert [r.name for r in pods.list()] == ["web"]


def test_lookup_and_removal(pods):
    record = pods.create(PodRecord(id="", name="db"))
    pods.remove(record.id)
    assert pods.get(record.id) is None
    with pytest.raises(NoSuchPodError, match="no pod with name or ID db found: no such pod"):
        pods.lookup("db")


def test_joining_a_removed_pod_fails(pods):
    record = pods.create(PodRecord(id="", name="gone"))
    with pods.joining(record.id) as held:
        assert held.name == "gone"
    pods.remove(record.id)
    with pytest.raises(NoSuchPodError), pods.joining(record.id):
        pass


# --- options ---


def test_share_parsing():
    assert parse_share(None) == ["ipc", "net", "uts"]
    assert parse_share("none") == []
    assert parse_share("pid,ipc") == ["pid", "ipc"]
    assert parse_share("+pid") == ["pid", "ipc", "net", "uts"]
    with pytest.raises(UsageError, match="invalid kernel namespace to share: foo"):
        parse_share("foo")


def test_ports_need_an_infra_container():
    with pytest.raises(UsageError, match="must have an infra container to publish"):
        check(PodOptions(infra=False, publish=[PortMapping("", 8080, 80)]))
    with pytest.raises(UsageError, match="cannot set --infra-command without an infra"):
        check(PodOptions(share=[], infra_command="/pause"))


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        ([], "Created"),
        (["running", "running"], "Running"),
        (["running", "exited"], "Degraded"),
        (["paused", "paused"], "Paused"),
        (["paused", "created"], "Created"),
        (["exited", "stopped"], "Exited"),
        (["exited", "created"], "Stopped"),
        (["created", "configured"], "Created"),
        (["removing"], "Error"),
    ],
)
def test_pod_status_as_podman_derives_it(states, expected):
    assert pod_status(states) == expected


def _pod(**fields) -> PodRecord:
    return PodRecord(id="p" * 64, name="web", infra_id="i" * 64, **fields)


def test_joining_shares_network_and_hostname():
    joined = join_options(RunOptions(image="busybox"), _pod(add_hosts=["db:10.0.0.2"]), False)
    assert joined.pod == "p" * 64
    assert joined.network == "container"
    assert joined.network_mode is not None and joined.network_mode.target == "i" * 64
    assert joined.hostname == "web"
    assert joined.add_hosts == ["db:10.0.0.2"]


def test_joining_refuses_what_the_pod_fixes():
    with pytest.raises(UsageError, match="ports must be defined when the pod is created"):
        join_options(RunOptions(image="b", publish=[PortMapping("", 1, 2)]), _pod(), False)
    with pytest.raises(UsageError, match="network cannot be configured"):
        join_options(RunOptions(image="b"), _pod(), True)
    with pytest.raises(UsageError, match="cannot set hostname when joining the pod UTS"):
        join_options(RunOptions(image="b", hostname="x"), _pod(), False)


def test_a_pod_without_infra_fixes_nothing():
    pod = PodRecord(id="p" * 64, name="bare", shared=[])
    joined = join_options(RunOptions(image="b", hostname="x"), pod, True)
    assert joined.network == "private" and joined.hostname == "x" and joined.pod == pod.id


# --- the pause program ---


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="pod's pause is x86-64 code")
def test_pause_program_waits_reaps_and_stops_on_sigterm(tmp_path: Path):
    program = tmp_path / "pause"
    program.write_bytes(pause_program())
    program.chmod(0o755)
    assert is_static(str(program))
    process = subprocess.Popen([str(program)])
    try:
        time.sleep(0.2)
        os.kill(process.pid, signal.SIGCHLD)  # reaps (nothing) and goes on waiting
        time.sleep(0.1)
        assert process.poll() is None
        process.send_signal(signal.SIGTERM)
        assert process.wait(5) == 0
    finally:
        if process.poll() is None:
            process.kill()


def test_other_machines_are_told_to_install_catatonit():
    with pytest.raises(PodError, match="install catatonit"):
        pause_program("riscv64")


def test_dynamic_executables_are_not_static():
    assert not is_static("/bin/sh") or Path("/bin/sh").resolve().name.startswith("busybox")
    assert not is_static("/nonexistent")

"""pod.systemd: container units against podman 4.3.1's own output, command-line splitting, the
escaping, and the sd_notify messages a Type=notify unit waits for.

tests/unit/golden/systemd/podman-*.service are `podman generate systemd --no-header` outputs
for two containers (web: `create --name web -e A=1 -p 8089:80 bb sleep 1000`; db: `create
--name db --restart=on-failure:5 -e HOSTV -h myhost bb sh -c 'echo "$x" 100% \\back'`). pod's
unit must be podman's with only the differences pod.systemd.container_unit documents.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from pathlib import Path

import pytest

from pod.commands.generate import _run_value_options
from pod.reporter import Reporter
from pod.store.containers import ContainerRecord
from pod.store.layout import ContainerPaths, Layout
from pod.systemd import container_unit, notify, units

GOLDEN = Path(__file__).parent / "golden" / "systemd"
PODMAN_ROOT = "/var/tmp/podman-ref-secrets/root"
PODMAN_RUNROOT = "/var/tmp/podman-ref-secrets/run"
ROOT_FLAGS = ["--root", PODMAN_ROOT, "--runroot", PODMAN_RUNROOT]
WEB = "9cbf728817ecc739bd1f15ab764beb89ec724e00f3da2fc8143de9cfc05b103a"
DB = "17235deeca91f2b378ef3a1dcb90da22ee5b7d4ee932eed691a9bea12d11d39f"
EXE = "/usr/bin/pod"
VALUE_OPTIONS = _run_value_options()


class Warnings(Reporter):
    def __init__(self) -> None:
        self.lines: list[str] = []

    def warning(self, message: str) -> None:
        self.lines.append(message)


def _record(container_id: str, name: str, args: list[str], **extra) -> ContainerRecord:
    return ContainerRecord(
        id=container_id, name=name, image_id="i" * 64, image_name="localhost/bb:latest",
        created=0.0, command=[], rootless=False, runtime="pod",
        create_command=["pod", *ROOT_FLAGS, "create", *args], **extra,
    )  # fmt: skip


WEB_ARGS = ["--name", "web", "-e", "A=1", "-p", "8089:80", "bb", "sleep", "1000"]
DB_ARGS = ["--name", "db", "--restart=on-failure:5", "-e", "HOSTV", "-h", "myhost", "bb", "sh",
           "-c", 'echo "$x" 100% \\back']  # fmt: skip


@pytest.fixture
def layout(tmp_path) -> Layout:
    layout = Layout(tmp_path / "root", tmp_path / "run")
    config = {"process": {"env": ["HOSTV=from host", "PATH=/usr/bin", "container=podman"]}}
    layout.container_dir(DB).mkdir(parents=True)
    layout.container(DB).config.write_text(json.dumps(config))
    return layout


def _unit(layout: Layout, record: ContainerRecord, reporter=None, **options) -> str:
    context = container_unit.UnitContext(EXE, "0.1.0", layout)
    generate = container_unit.GenerateOptions(no_header=True, **options)
    unit = container_unit.container_unit(
        record, generate, context, VALUE_OPTIONS.__contains__, reporter or Reporter()
    )
    return units.render(unit)


def _expected(golden: str, layout: Layout, container_id: str) -> str:
    """podman's unit with pod's documented differences applied."""
    text = (GOLDEN / f"podman-{golden}.service").read_text()
    root = "".join(f" \\\n\t{flag}" if flag.startswith("-") else f" {flag}" for flag in ROOT_FLAGS)
    text = text.replace("Description=Podman ", "Description=pod ")
    text = text.replace("Documentation=man:podman-generate-systemd(1)\n", "")
    text = text.replace("\t--cgroups=no-conmon \\\n", "")
    text = text.replace("RequiresMountsFor=%t/containers", "RequiresMountsFor=%t/pod")
    text = text.replace(
        f"RequiresMountsFor={PODMAN_RUNROOT}", f"RequiresMountsFor={layout.runroot}"
    )
    pid_file = f"{PODMAN_RUNROOT}/overlay-containers/{container_id}/userdata/conmon.pid"
    text = text.replace(
        pid_file, str(ContainerPaths(layout.container_dir(container_id)).shim_pid_file)
    )
    for verb in ("start ", "stop  ", "stop \\", "rm \\"):  # every pod command has the root flags
        text = text.replace(f"/usr/bin/podman {verb}", f"{EXE}{root} {verb}")
    return text.replace("/usr/bin/podman", EXE)


@pytest.mark.parametrize(
    ("golden", "options"),
    [
        ("start", {}),
        ("new", {"new": True}),
        ("template", {"new": True, "template": True}),
        ("names", {"use_name": True, "container_prefix": "ctr", "separator": "_"}),
    ],
)
def test_web_units_are_podmans(layout, golden, options):
    record = _record(WEB, "web", WEB_ARGS)
    assert _unit(layout, record, **options) == _expected(golden, layout, WEB)


def test_unit_options_are_podmans(layout):
    record = _record(WEB, "web", WEB_ARGS)
    text = _unit(
        layout, record, restart_policy="always", restart_sec=5, start_timeout=30,
        stop_timeout=5, wants=["a.service"], after=["b.service"], requires=["c.service"],
        env=["X=1", "Y=a b"],
    )  # fmt: skip
    expected = _expected("options", layout, WEB)
    # podman 4.3 drops --restart-sec for containers (4.4 writes it here)
    expected = expected.replace("Restart=always\n", "Restart=always\nRestartSec=5\n")
    assert text == expected


def test_a_new_unit_keeps_the_containers_restart_policy_escapes_and_host_env(layout):
    record = _record(DB, "db", DB_ARGS, restart_policy="on-failure", restart_retries=5)
    assert _unit(layout, record, new=True) == _expected("db-new", layout, DB)


def test_a_start_unit_warns_about_a_restart_policy(layout):
    record = _record(DB, "db", DB_ARGS, restart_policy="on-failure", restart_retries=5)
    warnings = Warnings()
    assert _unit(layout, record, warnings) == _expected("db-start", layout, DB)
    assert warnings.lines == [
        f"Container {DB} has restart policy 'on-failure' which can lead to issues on shutdown: "
        "consider recreating the container without a restart policy and use systemd's restart "
        "mechanism instead"
    ]


def test_new_needs_the_create_command(layout):
    record = _record(WEB, "web", WEB_ARGS)
    record.create_command = []
    with pytest.raises(Exception, match="no create command found"):
        _unit(layout, record, new=True)
    start = _unit(layout, record)
    assert f"ExecStart={EXE} start {WEB}\n" in start  # no root flags known: none written


def test_the_header_and_json_shape(layout):
    record = _record(WEB, "web", WEB_ARGS)
    context = container_unit.UnitContext(EXE, "0.1.0", layout, "Sun Dec  6 17:02:48 UTC 2026")
    unit = container_unit.container_unit(
        record, container_unit.GenerateOptions(), context, VALUE_OPTIONS.__contains__, Reporter()
    )
    lines = units.render(unit).splitlines()
    assert lines[:4] == [
        f"# container-{WEB}.service",
        "# autogenerated by pod 0.1.0",
        "# Sun Dec  6 17:02:48 UTC 2026",
        "",
    ]


@pytest.mark.parametrize(
    ("args", "kept", "positional", "detach"),
    [
        (["-d", "--name", "x", "i", "sh", "-c", "-d"], ["-d", "--name", "x"],
         ["i", "sh", "-c", "-d"], True),
        (["-dit", "img"], ["-dit"], ["img"], True),
        (["-it", "-p80:80", "img"], ["-it", "-p80:80"], ["img"], False),
        (["-ip", "80:80", "img", "x"], ["-ip", "80:80"], ["img", "x"], False),
        (["--rm", "--detach=false", "img"], [], ["img"], False),
        (["--replace=false", "--cidfile", "/f", "--restart", "always", "img"], [], ["img"], False),
        (["--sdnotify=conmon", "-e", "A", "--", "i", "--rm"], ["-e", "A"], ["i", "--rm"], False),
    ],
)  # fmt: skip
def test_create_commands_split_as_pod_run_parses_them(args, kept, positional, detach):
    parsed = container_unit.split_create_command(
        ["pod", "run", *args], VALUE_OPTIONS.__contains__, "x"
    )
    flags = container_unit.examine_flags(parsed.flags, VALUE_OPTIONS.__contains__)
    assert (flags.kept, parsed.positional, flags.detach) == (kept, positional, detach)


def test_a_template_without_a_name_gets_the_services():
    record = _record(WEB, "", ["bb", "true"])
    text = _unit(Layout(Path("/r"), Path("/rr")), record, new=True, template=True)
    assert f" run \\\n\t--name=container-{WEB}-%i \\\n\t--cidfile=" in text  # after run


@pytest.mark.parametrize(
    ("word", "escaped"),
    [
        ("plain", "plain"),
        ("$HOME", "$$HOME"),
        ("100%", "100%%"),
        ("a b", '"a b"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("back\\slash", "back\\\\slash"),
        ("tab\there", '"tab\\there"'),
        ("a b\x01", '"a b\\x01"'),
    ],
)
def test_escape_arg(word, escaped):
    assert units.escape_arg(word) == escaped


def test_restart_policies():
    container_unit.check_restart_policy("on-abnormal")
    with pytest.raises(Exception, match="bogus is not a valid restart policy"):
        container_unit.check_restart_policy("bogus")


def test_pod_units_fit_the_same_record():
    """A pod's service lists its containers; each container binds to the pod's."""
    pod_unit = units.ServiceUnit(
        "pod-p",
        "/run/pod",
        "/usr/bin/pod pod start p",
        pod=True,
        required_services=["container-b", "container-a"],
        header=False,
    )
    text = units.render(pod_unit)
    assert "Wants=container-a.service container-b.service\n" in text
    assert "Before=container-a.service container-b.service\n" in text
    member = units.ServiceUnit("container-a", "/run/pod", "x", bound_to=["pod-p"], header=False)
    assert "BindsTo=pod-p.service\nAfter=pod-p.service\n" in units.render(member)


# --- sd_notify ------------------------------------------------------------------------------


def _listen(path: str):
    """A stand-in for systemd's notify socket: the messages, barrier fds closed."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    received: list[str] = []

    def serve():
        for _ in range(2):
            data, fds, _flags, _addr = socket.recv_fds(sock, 4096, 4)
            received.append(data.decode())
            for fd in fds:
                os.close(fd)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return sock, thread, received


def test_announce_started_tells_systemd_and_waits_for_the_barrier(tmp_path):
    path = str(tmp_path / "notify.sock")
    sock, thread, received = _listen(path)
    assert notify.wants_announcement("conmon", path)
    notify.announce_started(4242, path)
    thread.join(5)
    sock.close()
    assert received == ["MAINPID=4242\nREADY=1\n", "BARRIER=1"]


def test_only_conmon_mode_under_systemd_is_announced(tmp_path):
    assert not notify.wants_announcement("ignore", str(tmp_path / "nobody-listens"))
    assert not notify.wants_announcement("container", str(tmp_path / "nobody-listens"))
    assert not notify.wants_announcement("conmon", "")


def test_the_pid_file_is_the_supervisors_pid_alone(tmp_path):
    paths = ContainerPaths(tmp_path)
    notify.write_pid_file(paths, 77)
    assert paths.shim_pid_file.read_text() == "77\n"
    assert paths.shim_pid_file.stat().st_mode & 0o777 == 0o600


def test_take_socket_removes_it_from_the_environment(monkeypatch):
    monkeypatch.setenv("NOTIFY_SOCKET", "@abstract")
    assert notify.take_socket() == "@abstract"
    assert "NOTIFY_SOCKET" not in os.environ
    assert notify.take_socket() == ""

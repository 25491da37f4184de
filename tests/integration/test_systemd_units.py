"""`pod generate systemd` with real containers: the units pass `systemd-analyze verify` (system
and user units), and their commands do what systemd would have them do, run here as systemd
would run them (no systemd runs on the test machines): a start unit's ExecStart starts the
container and leaves the supervisor's pid in PIDFile; a --new unit's ExecStart re-creates the
container from its create command (CreateCommand in inspect) and, as Type=notify needs, tells
the NOTIFY_SOCKET its MAINPID and READY=1. Rootful and rootless. Unit contents are compared
with podman 4.3.1's in tests/unit/test_systemd_units.py.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import threading
from pathlib import Path

import pytest
from polling import wait_for
from runners import IDLE

VERIFY = pytest.mark.needs_tool("systemd-analyze")


def _unit_commands(text: str) -> dict[str, list[list[str]]]:
    """Key → the argv of each Exec*/PIDFile line, continuation lines joined."""
    joined = text.replace(" \\\n\t", " ")
    found: dict[str, list[list[str]]] = {}
    for line in joined.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.startswith("Exec"):
            found.setdefault(key, []).append(shlex.split(value))
    return found


def _expand(argv: list[str], runtime_dir: Path, unit: str) -> list[str]:
    """systemd's specifiers (%t, %n, %%) and $$, as systemd expands them."""
    out = []
    for word in argv:
        word = re.sub(r"%%|%t|%n", lambda m: {"%%": "%", "%t": str(runtime_dir),
                                               "%n": unit}[m.group()], word)  # fmt: skip
        out.append(word.replace("$$", "$"))
    return out


def _verify(path: Path, user_env: dict | None = None, run=None) -> subprocess.CompletedProcess:
    args = ["systemd-analyze", *(["--user"] if user_env is not None else []), "verify", str(path)]
    if run is not None:
        return run(*args, env=user_env)
    return subprocess.run(args, capture_output=True, text=True, timeout=60)


class NotifySocket:
    """systemd's side of NOTIFY_SOCKET: the messages received, barrier fds closed."""

    def __init__(self, path: Path, owner: tuple[int, int] | None = None) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        if owner is not None:
            os.chown(path, *owner)
        self.messages: list[str] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while len(self.messages) < 2:
            data, fds, _flags, _addr = socket.recv_fds(self.sock, 4096, 4)
            self.messages.append(data.decode())
            for fd in fds:
                os.close(fd)

    def close(self) -> None:
        self.thread.join(10)
        self.sock.close()


def _shim_pid(pod, name: str) -> int:
    container_id = pod("inspect", "--format", "{{.Id}}", name, check=True).stdout.strip()
    state = json.loads((pod.root / "containers" / container_id / "state.json").read_text())
    return state["shim_pid"]


@VERIFY
def test_a_start_unit_starts_and_stops_the_container(pod, busybox, tmp_path):
    pod("run", "-d", "--name", "web", busybox, *IDLE, check=True)
    units = tmp_path / "units"
    units.mkdir()
    written = pod("generate", "systemd", "--name", "--files", "web", cwd=units, check=True)
    path = units / "container-web.service"
    assert written.stdout == f"{path}\n"
    text = path.read_text()
    assert "\nType=forking\n" in text and "\nRestart=on-failure\n" in text
    verified = _verify(path)
    assert verified.returncode == 0, verified.stderr
    commands = _unit_commands(text)
    pid_file = Path(re.search(r"^PIDFile=(.*)$", text, re.M).group(1))
    stop = subprocess.run(commands["ExecStop"][0], capture_output=True, text=True, timeout=60)
    assert stop.returncode == 0, stop.stderr
    assert pod("ps", "--format", "{{.Names}}").stdout == ""
    start = subprocess.run(commands["ExecStart"][0], capture_output=True, text=True, timeout=60)
    assert start.returncode == 0, start.stderr
    pid = int(pid_file.read_text())
    assert pid == _shim_pid(pod, "web") and os.path.exists(f"/proc/{pid}")
    subprocess.run(commands["ExecStopPost"][0], check=True, capture_output=True, timeout=60)
    assert pod("ps", "-a", "--format", "{{.Status}}").stdout.startswith("Exited")


@VERIFY
def test_a_new_unit_recreates_the_container_and_notifies(pod, busybox, tmp_path):
    script = "trap 'exit 0' TERM; echo started; sleep 600 & wait"  # a stop takes no time
    created = pod("create", "--name", "web", "-e", "A=1", "--label", "x=y z", busybox,
                  "sh", "-c", script, check=True)  # fmt: skip
    command = json.loads(pod("inspect", "--format", "{{json .Config.CreateCommand}}", "web").stdout)
    assert command == ["pod", "--root", str(pod.root), "--runroot", str(pod.runroot), "create",
                       "--name", "web", "-e", "A=1", "--label", "x=y z", busybox, "sh", "-c",
                       script]  # fmt: skip
    text = pod("generate", "systemd", "--new", "--name", "web", check=True).stdout
    unit = tmp_path / "container-web.service"
    unit.write_text(text)
    verified = _verify(unit)
    assert verified.returncode == 0, verified.stderr
    assert "\nType=notify\nNotifyAccess=all\n" in text
    commands = _unit_commands(text)
    runtime_dir = tmp_path / "run"
    runtime_dir.mkdir()
    notify = NotifySocket(tmp_path / "notify.sock")
    env = {**os.environ, "NOTIFY_SOCKET": str(notify.path)}

    def run(key: str, index: int = 0) -> subprocess.CompletedProcess:
        argv = _expand(commands[key][index], runtime_dir, unit.name)
        return subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env)

    assert run("ExecStartPre").returncode == 0
    started = run("ExecStart")
    assert started.returncode == 0, started.stderr
    notify.close()
    new_id = started.stdout.strip()
    assert (runtime_dir / f"{unit.name}.ctr-id").read_text() == new_id
    assert new_id != created.stdout.strip()  # --replace: the unit's own container
    assert notify.messages == [f"MAINPID={_shim_pid(pod, 'web')}\nREADY=1\n", "BARRIER=1"]
    assert "A=1" in pod("exec", "web", "env", check=True).stdout.splitlines()
    labels = json.loads(pod("inspect", "--format", "{{json .Config.Labels}}", "web").stdout)
    assert labels["x"] == "y z"  # beside the image's own labels, which a container inherits
    wait_for(lambda: pod("logs", "web").stdout == "started\n")
    env.pop("NOTIFY_SOCKET")
    assert run("ExecStop").returncode == 0
    assert run("ExecStopPost").returncode == 0
    assert pod("ps", "-a", "-q").stdout == ""
    assert run("ExecStopPost").returncode == 0  # --ignore: gone already is fine
    (runtime_dir / f"{unit.name}.ctr-id").unlink()
    assert run("ExecStop").returncode == 0  # --ignore: a run that never wrote the cidfile


def test_generate_errors(pod, busybox):
    missing = pod("generate", "systemd", "nosuch")
    assert missing.returncode == 125
    assert missing.stderr.startswith("Error: nosuch does not refer to a container or pod: ")
    pod("run", "-d", "--name", "web", busybox, "sleep", "600", check=True)
    bad = pod("generate", "systemd", "--restart-policy", "bogus", "web")
    assert (bad.returncode, bad.stderr) == (125, "Error: bogus is not a valid restart policy\n")
    both = pod("generate", "systemd", "--time", "3", "--stop-timeout", "4", "web")
    assert both.returncode == 125 and "redundant" in both.stderr
    as_json = json.loads(pod("generate", "systemd", "--format", "json", "-t", "3", "web").stdout)
    [(name, text)] = as_json.items()
    assert name.startswith("container-") and "\nTimeoutStopSec=63\n" in text


def test_sdnotify_conmon_and_cidfile_flags(pod, busybox, tmp_path):
    notify = NotifySocket(tmp_path / "notify.sock")
    cidfile = tmp_path / "cid"
    started = pod("run", "-d", "--sdnotify=conmon", "--cidfile", str(cidfile), busybox, "sleep",
                  "600", env={"NOTIFY_SOCKET": str(notify.path)}, check=True)  # fmt: skip
    notify.close()
    assert notify.messages[0].startswith("MAINPID=") and "READY=1" in notify.messages[0]
    container_id = started.stdout.strip()
    env = pod("exec", container_id, "env", check=True).stdout
    assert "NOTIFY_SOCKET" not in env  # the container never sees systemd's socket
    mode = pod("inspect", "--format", "{{.Config.SdNotifyMode}}", container_id).stdout
    assert mode == "conmon\n"
    assert pod("stop", "-t", "0", "--cidfile", str(cidfile), check=True).stdout == (
        f"{container_id}\n"
    )
    assert pod("rm", "--cidfile", str(cidfile), check=True).stdout == f"{container_id}\n"
    unknown = pod("run", "--sdnotify=container", busybox, "true")
    assert unknown.returncode == 125 and 'unsupported --sdnotify "container"' in unknown.stderr
    both = pod("stop", "--cidfile", str(cidfile), "other")
    assert (
        both.returncode == 125
        and "no arguments are needed with --latest or --cidfile" in both.stderr
    )


@pytest.mark.rootless
@VERIFY
def test_rootless_units(rootless_pod, rootless_busybox, rootless_user):
    rootless_pod("run", "-d", "--name", "web", rootless_busybox, *IDLE, check=True)
    workdir = rootless_user.make_tmpdir("units")
    user_env = {"XDG_RUNTIME_DIR": str(rootless_user.runtime_dir)}
    for args in (["--name"], ["--new", "--name"]):
        text = rootless_pod("generate", "systemd", *args, "web", check=True).stdout
        unit = workdir / "container-web.service"
        unit.write_text(text)
        os.chown(unit, rootless_user.uid, rootless_user.gid)
        verified = _verify(unit, user_env, rootless_user.run)
        assert verified.returncode == 0, verified.stderr
    commands = _unit_commands(text)  # the --new unit: run as the user would
    runtime_dir = rootless_user.make_tmpdir("xdg")
    notify = NotifySocket(workdir / "notify.sock", (rootless_user.uid, rootless_user.gid))

    def run(key: str) -> subprocess.CompletedProcess:
        argv = _expand(commands[key][0], runtime_dir, unit.name)
        return rootless_user.run(*argv, env={"NOTIFY_SOCKET": str(notify.path)}, timeout=120)

    assert run("ExecStartPre").returncode == 0
    started = run("ExecStart")
    assert started.returncode == 0, started.stderr
    notify.close()
    assert notify.messages[0].startswith("MAINPID=") and notify.messages[1] == "BARRIER=1"
    assert rootless_pod("ps", "--format", "{{.Names}}").stdout == "web\n"
    assert run("ExecStop").returncode == 0
    assert run("ExecStopPost").returncode == 0
    assert rootless_pod("ps", "-a", "-q").stdout == ""


# --- a pod's units ------------------------------------------------------------------------


def _run_line(argv: list[str]) -> subprocess.CompletedProcess:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, (argv, done.stderr)
    return done


def _pod_names(pod) -> list[str]:
    return sorted(pod("ps", "--format", "{{.Names}} {{.PodName}}").stdout.splitlines())


@VERIFY
def test_pod_units_start_and_stop_the_pod(pod, busybox, tmp_path):
    pod("pod", "create", "--name", "web", check=True)
    pod("create", "--pod", "web", "--name", "app", busybox, *IDLE, check=True)
    infra = pod("pod", "inspect", "--format", "{{.InfraContainerID}}", "web").stdout.strip()
    infra_name = pod("inspect", "--format", "{{.Name}}", infra).stdout.strip()
    units = tmp_path / "units"
    units.mkdir()
    written = pod("generate", "systemd", "--name", "--files", "web", cwd=units, check=True)
    pod_path, app_path = units / "pod-web.service", units / "container-app.service"
    assert written.stdout == f"{pod_path}\n{app_path}\n"
    for path in (pod_path, app_path):
        verified = _verify(path)
        assert verified.returncode == 0, verified.stderr
    pod_text, app_text = pod_path.read_text(), app_path.read_text()
    assert "\nWants=container-app.service\nBefore=container-app.service\n" in pod_text
    assert "\nBindsTo=pod-web.service\nAfter=pod-web.service\n" in app_text
    pod_unit, app_unit = _unit_commands(pod_text), _unit_commands(app_text)
    _run_line(pod_unit["ExecStart"][0])  # systemd starts the pod's unit first (Before=)
    pid_file = Path(re.search(r"^PIDFile=(.*)$", pod_text, re.M).group(1))
    assert int(pid_file.read_text()) == _shim_pid(pod, infra)
    _run_line(app_unit["ExecStart"][0])
    assert _pod_names(pod) == sorted([f"{infra_name} web", "app web"])
    _run_line(app_unit["ExecStop"][0])  # and stops it last (After=, BindsTo=)
    _run_line(pod_unit["ExecStop"][0])
    _run_line(pod_unit["ExecStopPost"][0])  # stopped already: nothing to do
    assert pod("ps", "-q").stdout == ""
    statuses = pod("ps", "-a", "--format", "{{.Status}}").stdout.splitlines()
    assert [status.split(" (")[0] for status in statuses] == ["Exited", "Exited"]


def _new_pod_units_round(pod, image, workdir: Path, runtime_dir: Path, run, verify, owner=None):
    """--new units of a pod with one container, generated, verified (`verify(path)`), and their
    lines run as systemd would run them (`run(argv, env)`: as the store's user, `env` added;
    `owner`: that user's uid and gid when not root): the pod is made anew by the pod's unit,
    the container joins it by the pod ID file and tells systemd it is ready, and stopping the
    units removes both."""
    pod("pod", "create", "--name", "web", check=True)
    pod("create", "--pod", "web", "--name", "app", image, *IDLE, check=True)
    generated = pod("generate", "systemd", "--new", "--name", "--format", "json", "web")
    texts = json.loads(generated.stdout)
    assert list(texts) == ["container-app", "pod-web"]
    paths = [workdir / f"{name}.service" for name in texts]
    for path, text in zip(paths, texts.values(), strict=True):
        path.write_text(text)
        if owner is not None:
            os.chown(path, *owner)
    for path in paths:  # each unit's dependencies are found beside it
        verified = verify(path)
        assert verified.returncode == 0, verified.stderr
    pod("pod", "rm", "-f", "web", check=True)  # the units make the pod and its container anew
    pod_unit, app_unit = _unit_commands(texts["pod-web"]), _unit_commands(texts["container-app"])

    def line(commands: dict, key: str, index: int = 0, env: dict | None = None):
        argv = _expand(commands[key][index], runtime_dir, "container-app.service")
        done = run(argv, env or {})
        assert done.returncode == 0, (argv, done.stderr)
        return done

    line(pod_unit, "ExecStartPre", 0)
    pod_id = line(pod_unit, "ExecStartPre", 1).stdout.strip()
    assert (runtime_dir / "pod-web.pod-id").read_text() == pod_id
    line(pod_unit, "ExecStart")
    infra = pod("pod", "inspect", "--format", "{{.InfraContainerID}} {{.ExitPolicy}}", "web")
    infra_id, exit_policy = infra.stdout.split()
    assert exit_policy == "stop"
    assert int((runtime_dir / "pod-web.pid").read_text()) == _shim_pid(pod, infra_id)
    notify = NotifySocket(workdir / "notify.sock", owner)
    line(app_unit, "ExecStartPre")
    line(app_unit, "ExecStart", env={"NOTIFY_SOCKET": str(notify.path)})
    notify.close()
    assert notify.messages == [f"MAINPID={_shim_pid(pod, 'app')}\nREADY=1\n", "BARRIER=1"]
    assert pod("inspect", "--format", "{{.Pod}}", "app").stdout.strip() == pod_id
    for commands, key in [(app_unit, "ExecStop"), (app_unit, "ExecStopPost"),
                          (pod_unit, "ExecStop"), (pod_unit, "ExecStopPost")]:  # fmt: skip
        line(commands, key)
    assert pod("pod", "ps", "-q").stdout == "" and pod("ps", "-a", "-q").stdout == ""


@VERIFY
def test_new_pod_units_make_the_pod_afresh(pod, busybox, tmp_path):
    runtime_dir = tmp_path / "run"
    runtime_dir.mkdir()

    def run(argv: list[str], env: dict) -> subprocess.CompletedProcess:
        return subprocess.run(argv, capture_output=True, text=True, timeout=60,
                              env={**os.environ, **env})  # fmt: skip

    _new_pod_units_round(pod, busybox, tmp_path, runtime_dir, run, _verify)


@pytest.mark.rootless
@VERIFY
def test_rootless_new_pod_units(rootless_pod, rootless_busybox, rootless_user):
    workdir = rootless_user.make_tmpdir("pod-units")
    runtime_dir = rootless_user.make_tmpdir("pod-units-xdg")
    user_env = {"XDG_RUNTIME_DIR": str(rootless_user.runtime_dir)}

    def run(argv: list[str], env: dict) -> subprocess.CompletedProcess:
        return rootless_user.run(*argv, env=env or None, timeout=60)

    def verify(path: Path) -> subprocess.CompletedProcess:
        return _verify(path, user_env, rootless_user.run)

    owner = (rootless_user.uid, rootless_user.gid)
    _new_pod_units_round(rootless_pod, rootless_busybox, workdir, runtime_dir, run, verify, owner)


def test_generate_for_a_pod_without_infra_and_pod_id_files(pod, tmp_path):
    """podman 4.3.1's errors; --ignore skips a pod that is gone, not a missing ID file."""
    pod("pod", "create", "--infra=false", "--name", "bare", check=True)
    refused = pod("generate", "systemd", "bare")
    assert (refused.returncode, refused.stderr) == (
        125,
        'Error: generating systemd unit files: Pod "bare" has no infra container\n',
    )
    missing = tmp_path / "missing"
    for args, message in [
        (["pod", "stop", "--ignore", "--pod-id-file", str(missing)],
         f"reading pod ID file: open {missing}: no such file or directory"),
        (["pod", "stop", "--pod-id-file", str(missing), "bare"],
         "no arguments are needed with --latest or --pod-id-file"),
        (["create", "--pod", "bare", "--pod-id-file", str(missing), "busybox"],
         "cannot specify both --pod and --pod-id-file"),
        (["pod", "create", "--exit-policy", "bogus"],
         'running pod create option: invalid pod exit policy: "bogus"'),
    ]:  # fmt: skip
        failed = pod(*args)
        assert (failed.returncode, failed.stderr) == (125, f"Error: {message}\n"), args
    gone = tmp_path / "gone"
    gone.write_text("0" * 64)
    assert pod("pod", "rm", "--ignore", "-f", "--pod-id-file", str(gone)).returncode == 0
    assert pod("pod", "rm", "-f", "--pod-id-file", str(gone)).returncode == 1

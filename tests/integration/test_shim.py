"""The shim (pod.shim) with real containers, through its real path: containers made by
`pod run` / `pod create --runtime R`, each test once with pod's own OCI runtime and once with
runc (the `runtime` fixture), rootful and rootless.

The CLI is the shim's client: `pod run` (in a pty for -t), `pod run -d`, `pod start -a`. For the
two client steps the CLI has no verb of its own (attaching to a running container, and a client
that dies between creating its container and starting it) a child process makes the calls of
pod.shim.client that `pod run` makes (CLIENT below). The image is the layered test image (busybox
with whiteouts and an opaque directory above it); the containers have no network (the network's
tests are elsewhere): these are about stdio, exit codes, the rootfs, signals and the shim's size.
"""

from __future__ import annotations

import ast
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from image_builder import RegistryClient, many_layers_image
from polling import wait_for
from runners import PodRunner, RootlessPod
from terminal import exit_code, read_until, spawn, wait_for_prompt

from pod.shim.client import shim_alive
from pod.store.containers import ContainerRecord, ContainerState, ContainerStore
from pod.store.layout import LOG_FILE, Layout
from pod.util.records import asdict

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))

from module_imports import POD_PACKAGE_DIRS, find_modules, imports_of  # noqa: E402

LAYERED_SCRIPT = "cat /data/keep.txt; test -e /data/gone.txt || echo gone-gone; ls /data/opaque"
LAYERED_OUTPUT = ["keep", "gone-gone", "new.txt"]  # a whiteout and an opaque dir applied

pytestmark = [
    pytest.mark.needs_tool("runc"),
    pytest.mark.skipif(os.geteuid() != 0, reason="creates mounts and users: needs root"),
]

CLIENT = """
import sys
from pathlib import Path
from pod.shim.client import attach, start_shim
from pod.store.containers import ContainerStore
from pod.store.layout import LOG_FILE, Layout

root, runroot, container_id, step = sys.argv[1:]
layout = Layout(Path(root), Path(runroot))
record = ContainerStore(layout).lookup(container_id)
if step == "create-then-exit":  # a `pod run` killed after the creation, before its START
    start_shim(layout, record, start_now=False)
    sys.exit(0)
code = attach(layout, record.id, stdin=record.interactive, tty=record.tty, sig_proxy=True,
              send_start=False)
sys.exit(0 if code is None else code)
"""


@dataclass
class Shimmed:
    """Containers of one runtime in `pod`'s store (root or rootless), and what their shims
    record: `run`/`create`/`popen` take the container's command and pod's flags."""

    pod: PodRunner | RootlessPod
    runtime: str
    image: str
    cidfiles: list[Path] = field(default_factory=list)

    def __post_init__(self):
        self.store = ContainerStore(Layout(self.pod.root, self.pod.runroot))

    def args(self, verb: str, command: tuple[str, ...], flags, driver: str | None) -> list:
        cidfile = self.pod.tmp / f"cid-{len(self.cidfiles)}"
        self.cidfiles.append(cidfile)
        storage = ["--storage-driver", driver] if driver else []
        return [*storage, verb, "--runtime", self.runtime, "--network", "none",
                "--cidfile", cidfile, *flags, self.image, *command]  # fmt: skip

    def run(self, *command, flags=(), driver=None, input=None):
        """`pod run`: (its result, the container's id)."""
        result = self.pod(*self.args("run", command, flags, driver), input=input, timeout=60)
        return result, self.cidfiles[-1].read_text()

    def create(self, *command, flags=()) -> str:
        return self.pod(*self.args("create", command, flags, None), check=True).stdout.strip()

    def popen(self, *command, flags=(), **kwargs) -> subprocess.Popen:
        """`pod run` left running (the id, once created: `.last_id()`)."""
        return self.pod.popen(*self.args("run", command, flags, None), **kwargs)

    def last_id(self) -> str:
        return wait_for(lambda: self.cidfiles[-1].exists() and self.cidfiles[-1].read_text())

    def state(self, container_id: str) -> ContainerState:
        return self.store.read_state(container_id)

    def directory(self, container_id: str) -> Path:
        return self.store.layout.container_dir(container_id)

    def client(self, container_id: str, step: str = "attach") -> list[str]:
        """The command line of a client process doing `step` (attach, create-then-exit)."""
        paths = (self.pod.root, self.pod.runroot)
        return [sys.executable, "-c", CLIENT, *map(str, paths), container_id, step]


@pytest.fixture
def shimmed(pod, runtime, test_images) -> Shimmed:
    pod("pull", "-q", test_images.layered.ref, check=True)
    return Shimmed(pod, runtime, test_images.layered.ref)


def shim_gone(made: Shimmed, container_id: str) -> bool:
    return not shim_alive(made.state(container_id))


# --- the tests ----------------------------------------------------------------------------------


def test_foreground_run_separates_streams_and_passes_the_exit_code(shimmed):
    script = "echo out; echo err >&2; printf partial; exit 3"
    result, cid = shimmed.run("sh", "-c", script)
    assert (result.stdout, result.stderr, result.returncode) == ("out\npartial", "err\n", 3)
    state = shimmed.state(cid)
    assert (state.status, state.exit_code, state.error) == ("exited", 3, "")
    assert state.started_at > 0 and state.finished_at >= state.started_at
    assert state.rootfs_driver == "overlay"
    wait_for(lambda: shim_gone(shimmed, cid))
    log = (shimmed.directory(cid) / LOG_FILE).read_text().splitlines()
    entries = sorted(line.split(" ", 1)[1] for line in log)  # two pipes: no order between them
    assert entries == ["stderr F err", "stdout F out", "stdout P partial"]
    stamp = log[0].split(" ", 1)[0]
    assert len(stamp) == len("2024-01-02T03:04:05.123456789+00:00") and stamp[10] == "T"
    assert not os.path.ismount(shimmed.directory(cid) / "merged")


@pytest.mark.parametrize("driver", ["overlay", "vfs"])
def test_rootfs_honours_whiteouts_and_opaque_dirs_in_every_driver(shimmed, driver):
    result, cid = shimmed.run("sh", "-c", LAYERED_SCRIPT, driver=driver)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == LAYERED_OUTPUT
    assert shimmed.state(cid).rootfs_driver == driver


def test_exec_failures_are_127_and_126_with_the_runtime_error(shimmed):
    result, missing = shimmed.run("/no/such/command")
    assert result.returncode == 127, result.stderr
    assert "no such file" in result.stderr.lower()
    state = shimmed.state(missing)
    assert (state.status, state.exit_code) == ("exited", 127) and state.error
    assert not os.path.ismount(shimmed.directory(missing) / "merged")
    not_executable = shimmed.create("/etc/passwd")
    started = shimmed.pod("start", not_executable)
    assert started.returncode == 126, started.stderr
    assert shimmed.state(not_executable).exit_code == 126
    result, gone = shimmed.run("/no/such/command", flags=["--rm"])
    assert result.returncode == 127
    assert not shimmed.directory(gone).exists()


@pytest.mark.parametrize("remove", [False, True], ids=["kept", "rm"])
def test_a_client_that_dies_before_its_start_leaves_nothing_running(shimmed, remove):
    """A `pod run` killed after the container was created but before its START: the shim
    undoes the container; with --rm it removes it, else it stays as `pod create` leaves one."""
    cid = shimmed.create("echo", "started later", flags=["--rm"] if remove else [])
    died = subprocess.run(shimmed.client(cid, "create-then-exit"), capture_output=True, text=True)
    assert died.returncode == 0, died.stderr
    first = shimmed.state(cid)
    assert first.status == "created" and first.pid > 0
    wait_for(lambda: not shim_alive(first))
    assert not os.path.exists(f"/proc/{first.pid}")
    if remove:
        assert not shimmed.directory(cid).exists()
        return
    state = shimmed.state(cid)
    assert (state.status, state.pid, state.exit_code) == ("configured", 0, None)
    assert state.started_at == 0
    assert not os.path.ismount(shimmed.directory(cid) / "merged")
    again = shimmed.pod("start", "-a", cid)
    assert (again.stdout, again.returncode) == ("started later\n", 0), again.stderr


def test_stdin_pipe_and_eof(shimmed):
    result, _ = shimmed.run("sh", "-c", "cat; echo done", flags=["-i"], input="line one\nline two")
    assert (result.stdout, result.returncode) == ("line one\nline twodone\n", 0), result.stderr


def test_signals_are_forwarded(shimmed):
    script = "trap 'echo got-term; exit 42' TERM; echo ready; while :; do sleep 0.1; done"
    proc = shimmed.popen("sh", "-c", script, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "ready\n"
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=20)
    assert (out, proc.returncode) == ("got-term\n", 42)


def test_detached_then_attach_later(shimmed):
    script = "echo early; read -t 30 x < /tmp/go-fifo 2>/dev/null; echo late; exit 7"
    result, cid = shimmed.run("sh", "-c", f"mkfifo /tmp/go-fifo; {script}", flags=["-d"])
    assert result.returncode == 0, result.stderr
    state = shimmed.state(cid)
    assert state.status == "running" and shim_alive(state)
    log = shimmed.directory(cid) / LOG_FILE
    wait_for(lambda: log.exists() and "early" in log.read_text())
    proc = subprocess.Popen(shimmed.client(cid), stdout=subprocess.PIPE, text=True)
    time.sleep(0.5)  # attached by now; the container then writes "late"
    subprocess.run(["sh", "-c", f"echo go > /proc/{state.pid}/root/tmp/go-fifo"], check=True)
    out, _ = proc.communicate(timeout=20)
    assert (out, proc.returncode) == ("late\n", 7)
    assert shimmed.state(cid).exit_code == 7


def test_tty_interactive_with_a_real_pty_and_detach_keys(shimmed):
    run = shimmed.pod.command(*shimmed.args("run", ("sh",), ["-it"], None))
    pid, master = spawn(run, shimmed.pod.env(), size=(33, 101))
    try:
        wait_for_prompt(master)  # the shell reads its terminal from here on
        os.write(master, b"stty size; echo hello $((6*7))\r")
        output = read_until(master, b"hello 42", timeout=20)
        assert b"hello 42" in output and b"33 101" in output, output
        os.write(master, b"\x10\x11")  # ctrl-p ctrl-q
        assert exit_code(pid, timeout=20) == 0
    finally:
        os.close(master)
    cid = shimmed.last_id()
    assert shimmed.state(cid).status == "running"
    pid, master = spawn(shimmed.client(cid), shimmed.pod.env(), size=(20, 70))
    try:
        time.sleep(0.5)
        os.write(master, b"stty size; exit 5\r")
        assert b"20 70" in read_until(master, b"20 70", timeout=20)
        assert exit_code(pid, timeout=20) == 5
    finally:
        os.close(master)
    assert shimmed.state(cid).exit_code == 5


def test_rm_cleans_up_after_the_attached_client_is_killed(shimmed):
    script = "echo up; sleep 1; exit 0"
    proc = shimmed.popen("sh", "-c", script, flags=["--rm"], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "up\n"
    cid = shimmed.last_id()
    proc.kill()
    proc.wait()
    wait_for(lambda: not shimmed.directory(cid).exists())
    assert cid not in [r.id for r in shimmed.store.list()]


def test_killed_shim_is_noticed_as_dead(shimmed):
    result, cid = shimmed.run("sleep", "60", flags=["-d"])
    assert result.returncode == 0, result.stderr
    state = shimmed.state(cid)
    assert shim_alive(state)
    os.kill(state.shim_pid, signal.SIGKILL)
    wait_for(lambda: shim_gone(shimmed, cid))
    assert shimmed.state(cid).status == "running"  # the engine fixes it when it looks


def test_twenty_containers_at_once(shimmed):
    procs = []
    for n in range(20):
        script = f"echo c{n}; exit {n}"
        procs.append(shimmed.popen("sh", "-c", script, stdout=subprocess.PIPE, text=True))
    for n, proc in enumerate(procs):
        out, _ = proc.communicate(timeout=120)
        assert (out, proc.returncode) == (f"c{n}\n", n)
    ids = [cidfile.read_text() for cidfile in shimmed.cidfiles]
    assert all(shimmed.state(cid).status == "exited" for cid in ids)


@pytest.fixture(scope="module")
def many_layers(registry) -> str:
    """An image of busybox and 120 small layers more, pushed to `registry`: its reference."""
    repo = "test/many-layers"
    RegistryClient(registry.url).push_image(many_layers_image(120), repo, "latest")
    return f"{registry.host}/{repo}:latest"


def test_many_layers_fit_the_overlay_mount(pod, runtime, many_layers):
    pod("pull", "-q", many_layers, check=True)
    made = Shimmed(pod, runtime, many_layers)
    result, cid = made.run("sh", "-c", "cat /extra/f0 /extra/f119; ls /extra | wc -l")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0", "119", "120"]
    assert made.state(cid).rootfs_driver == "overlay"


# --- what the shim imports and how much memory it keeps ---------------------------------------

LEAN_MODULES = ("pod.shim.supervisor", "pod.shim.protocol")  # alive for the container's life


def test_the_supervisor_imports_only_c_modules_and_the_protocol():
    """At module level the long-lived supervisor imports built-in (C) modules and the protocol
    only; pod.shim.steps (the heavy end of a run) only inside finish(), at the end of its life."""
    modules = find_modules(POD_PACKAGE_DIRS)
    for name in LEAN_MODULES:
        ours = {imp.imported for imp in imports_of(modules[name], modules)}
        assert ours <= {*LEAN_MODULES, "pod.shim.steps"}, (name, ours)
        tree = ast.parse(modules[name].path.read_text())
        for node in tree.body:  # module level: what lives as long as the supervisor
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for imported in names:
                assert imported in sys.builtin_module_names or imported in LEAN_MODULES, (
                    name,
                    imported,
                )
    probe = (
        "import sys; sys.path.append(sys.argv[1]); import pod.shim.supervisor; "
        "print(' '.join(sorted(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", probe, str(POD_PACKAGE_DIRS["pod"].parent)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    loaded = set(done.stdout.split())
    outside = {m for m in loaded - {"__main__"} if m.split(".")[0] not in sys.stdlib_module_names}
    assert outside == {"pod", "pod.shim", *LEAN_MODULES}
    python_level = {"typing", "enum", "re", "json", "socket", "signal", "selectors", "os"}
    assert not loaded & python_level


# --- rootless -------------------------------------------------------------------------------------


@pytest.mark.rootless
def test_rootless_shim_in_a_user_namespace_with_native_overlay(
    rootless_user, rootless_pod, runtime, test_images
):
    rootless_pod("pull", "-q", test_images.layered.ref, check=True)
    made = Shimmed(rootless_pod, runtime, test_images.layered.ref)
    script = (
        f"id -u; {LAYERED_SCRIPT}; echo err >&2; touch /tmp/new; chown 1000:1000 /tmp/new; exit 4"
    )
    result, cid = made.run("sh", "-c", script)
    assert result.returncode == 4, result.stderr
    assert result.stdout.split() == ["0", *LAYERED_OUTPUT]
    assert result.stderr == "err\n"
    state = made.state(cid)
    assert (state.status, state.exit_code, state.rootfs_driver) == ("exited", 4, "overlay")
    upper_file = made.directory(cid) / "upper" / "tmp" / "new"
    assert os.lstat(upper_file).st_uid == rootless_user.subuid_start + 999  # container uid 1000
    assert os.stat(made.directory(cid) / LOG_FILE).st_uid == rootless_user.uid


def test_record_roundtrip_keeps_the_new_fields():
    record = ContainerRecord(
        id="a" * 64, name="n", image_id="i", image_name="busybox", created=1.0, command=["sh"],
        rootless=True, runtime="runc", layers=["sha256:" + "1" * 64],
        userns={"uid_map": [[0, 1000, 1], [1, 100000, 65536]]},
    )  # fmt: skip
    assert ContainerRecord.from_dict(json.loads(json.dumps(asdict(record)))) == record

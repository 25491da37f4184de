"""The shim with real containers: runc behind the runtime contract (shim_runc_adapter), and pod's
own runtime too once pod.runtime.api exists.

Each test builds a store by hand: busybox-static in a layer (plus whiteout/opaque layers), a
container dir with config.json from `runc spec`, container.json and state.json. The CLI side runs
in a child process (this file run as a script: start_shim + attach, like `pod run`), so SIGKILL,
ptys and exit codes are real. Run as a script: `test_shim.py ROOT RUNROOT ID run|run-d|attach`.
"""

from __future__ import annotations

import ast
import contextlib
import errno
import fcntl
import hashlib
import json
import os
import pty
import pwd
import select
import shutil
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import termios
import time
from dataclasses import asdict
from pathlib import Path

import pytest

from pod.container import rootfs as rootfs_mount
from pod.container.state import runtime_state_root
from pod.errors import PodError
from pod.shim import supervisor as shim
from pod.shim.client import attach, shim_alive, start_shim
from pod.store.containers import ContainerRecord, ContainerStore, new_id
from pod.store.layout import Layout

HERE = Path(__file__).resolve().parent
ADAPTER = "shim_runc_adapter:runtime_for"
BUSYBOX = Path("/bin/busybox")
SHIM_USER = "podshimtest"
SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
RSS_LIMIT_KIB = 12 * 1024

pytestmark = [
    pytest.mark.needs_tool("runc"),
    pytest.mark.skipif(os.geteuid() != 0, reason="creates mounts and users: needs root"),
    pytest.mark.skipif(not BUSYBOX.is_file(), reason="needs busybox-static at /bin/busybox"),
]


def _runtimes() -> list[str]:
    """The adapter always; pod's own runtime once its module exists."""
    names = ["runc-adapter"]
    if (Path(__file__).resolve().parents[2] / "pod" / "runtime" / "api.py").exists():
        names.append("pod")
    return names


def wait_for(predicate, timeout: float = 15.0, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {predicate}")


# --- building a store by hand -------------------------------------------------------------------


def _fake_chain_id(name: str) -> str:
    return "sha256:" + hashlib.sha256(name.encode()).hexdigest()


def _busybox_layer(diff: Path) -> None:
    (diff / "bin").mkdir(parents=True)
    shutil.copy2(BUSYBOX, diff / "bin" / "busybox")
    applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True, check=True)
    for applet in applets.stdout.split():
        if applet != "busybox":
            os.symlink("busybox", diff / "bin" / applet)
    for name in ("etc", "tmp", "proc", "sys", "dev", "opaque"):
        (diff / name).mkdir(exist_ok=True)
    (diff / "tmp").chmod(0o1777)
    (diff / "etc" / "kept").write_text("kept\n")
    (diff / "etc" / "removed").write_text("should be hidden\n")
    (diff / "opaque" / "old").write_text("old\n")


def _whiteout_layer(diff: Path, opaque_xattr: str) -> None:
    (diff / "etc").mkdir(parents=True)
    os.mknod(diff / "etc" / "removed", stat.S_IFCHR | 0o600, 0)
    (diff / "opaque").mkdir()
    (diff / "opaque" / "new").write_text("new\n")
    os.setxattr(diff / "opaque", opaque_xattr, b"y")


def _runc_spec() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["runc", "spec"], cwd=tmp, check=True)
        return json.loads(Path(tmp, "config.json").read_text())


class Store:
    """A store with image layers, making containers the way the engine will."""

    def __init__(self, base: Path, runtime: str, *, rootless: bool = False, layers: int = 0):
        self.base = base
        self.layout = Layout(base / "root", base / "runroot")
        self.store = ContainerStore(self.layout)
        self.runtime = runtime
        self.rootless = rootless
        self.spec = _runc_spec()
        xattr = "user.overlay.opaque" if rootless else "trusted.overlay.opaque"
        self.layers = [_fake_chain_id("busybox"), _fake_chain_id("whiteouts")]
        _busybox_layer(self.layout.layer_diff(self.layers[0]))
        _whiteout_layer(self.layout.layer_diff(self.layers[1]), xattr)
        for index in range(layers):  # many small layers: a long overlay option string
            chain_id = _fake_chain_id(f"extra-{index}")
            diff = self.layout.layer_diff(chain_id)
            (diff / "extra").mkdir(parents=True)
            (diff / "extra" / f"f{index}").write_text(f"{index}\n")
            self.layers.append(chain_id)

    def create(self, command: list[str], **options) -> ContainerRecord:
        record = ContainerRecord(
            id=new_id(), name="", image_id="sha256:" + "0" * 64, image_name="busybox",
            created=time.time(), command=command, rootless=self.rootless,
            runtime="pod" if self.runtime == "pod" else "runc", layers=self.layers, **options,
        )  # fmt: skip
        self.store.create(record)
        directory = self.layout.container_dir(record.id)
        spec = json.loads(json.dumps(self.spec))
        spec["process"].update(args=command, terminal=record.tty)
        caps = spec["process"]["capabilities"]
        caps.pop("ambient", None)  # as podman's specs: none for root
        for kind in caps:
            caps[kind] = sorted({*caps[kind], "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER"})
        spec["root"] = {"path": str(directory / "merged"), "readonly": False}
        if self.rootless:  # cgroup v1 cannot be mounted in a user namespace; sysfs is bound
            spec["mounts"] = [m for m in spec["mounts"] if m["type"] not in ("cgroup", "sysfs")]
            spec["mounts"].append(
                {"destination": "/sys", "type": "none", "source": "/sys",
                 "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]}
            )  # fmt: skip
        (directory / "config.json").write_text(json.dumps(spec))
        return record

    def state(self, record: ContainerRecord):
        return self.store.read_state(record.id)

    def cli(self, record: ContainerRecord, mode: str) -> list[str]:
        layout = self.layout
        return [sys.executable, __file__, str(layout.root), str(layout.runroot), record.id, mode]

    def cleanup(self) -> None:
        """Containers a failed or shim-killing test left behind: kill, delete, unmount."""
        for record in self.store.list():
            state = self.store.read_state(record.id)
            if state.pid and state.status in ("created", "running"):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(state.pid, signal.SIGKILL)
            with contextlib.suppress(AssertionError):
                wait_for(lambda s=state: not shim_alive(s), timeout=10)
            state_root = runtime_state_root(self.layout, record.runtime)
            with contextlib.suppress(Exception):
                shim.load_runtime(record.runtime).delete(state_root, record.id, force=True)
            with contextlib.suppress(OSError):
                rootfs_mount.unmount(self.layout.container_dir(record.id))


def _shim_env() -> dict[str, str]:
    return {shim.RUNTIME_FACTORY_ENV: ADAPTER, "PYTHONPATH": str(HERE)}


@pytest.fixture(params=_runtimes())
def store(request, tmp_path, monkeypatch):
    if request.param == "runc-adapter":
        for key, value in _shim_env().items():
            monkeypatch.setenv(key, value)
    sys.path.insert(0, str(HERE))
    made = Store(tmp_path, request.param)
    yield made
    made.cleanup()


def run_cli(store: Store, record: ContainerRecord, mode: str = "run", **kwargs):
    return subprocess.run(
        store.cli(record, mode), capture_output=True, text=True, timeout=60, cwd="/", **kwargs
    )


# --- the tests ----------------------------------------------------------------------------------


def test_foreground_run_separates_streams_and_passes_the_exit_code(store):
    script = "echo out; echo err >&2; printf partial; exit 3"
    record = store.create(["sh", "-c", script])
    result = run_cli(store, record)
    assert (result.stdout, result.stderr, result.returncode) == ("out\npartial", "err\n", 3)
    state = store.state(record)
    assert (state.status, state.exit_code, state.error) == ("exited", 3, "")
    assert state.started_at > 0 and state.finished_at >= state.started_at
    assert state.rootfs_driver == "overlay"
    assert not shim_alive(state) or wait_for(lambda: not shim_alive(store.state(record)))
    log = (store.layout.container_dir(record.id) / shim.LOG_FILE).read_text().splitlines()
    entries = sorted(line.split(" ", 1)[1] for line in log)  # two pipes: no order between them
    assert entries == ["stderr F err", "stdout F out", "stdout P partial"]
    stamp = log[0].split(" ", 1)[0]
    assert len(stamp) == len("2024-01-02T03:04:05.123456789+00:00") and stamp[10] == "T"
    assert not os.path.ismount(store.layout.container_dir(record.id) / "merged")


def test_rootfs_honours_whiteouts_and_opaque_dirs_in_every_driver(store):
    script = "cat /etc/kept; test -e /etc/removed || echo removed-gone; ls /opaque"
    for driver, expected in (("overlay", "overlay"), ("vfs", "vfs")):
        record = store.create(["sh", "-c", script], storage_driver=driver)
        result = run_cli(store, record)
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == ["kept", "removed-gone", "new"]
        assert store.state(record).rootfs_driver == expected


def test_exec_failures_are_127_and_126_with_the_runtime_error(store):
    missing = store.create(["/no/such/command"])
    result = run_cli(store, missing)
    assert result.returncode == 127, result.stderr
    assert "no such file" in result.stderr.lower()
    state = store.state(missing)
    assert (state.status, state.exit_code) == ("exited", 127) and state.error
    assert not os.path.ismount(store.layout.container_dir(missing.id) / "merged")
    not_executable = store.create(["/etc/kept"])
    with pytest.raises(PodError) as raised:
        start_shim(store.layout, not_executable, start_now=True)
    assert raised.value.exit_code == 126
    assert store.state(not_executable).exit_code == 126
    gone = store.create(["/no/such/command"], remove=True)
    assert run_cli(store, gone).returncode == 127
    assert not store.layout.container_dir(gone.id).exists()


@pytest.mark.parametrize("remove", [False, True], ids=["kept", "rm"])
def test_a_client_that_dies_before_its_start_leaves_nothing_running(store, remove):
    """A `pod run` killed after the container was created but before its START: the shim
    undoes the container; with --rm it removes it, else it stays as `pod create` leaves one."""
    record = store.create(["echo", "started later"], remove=remove)
    assert run_cli(store, record, "create-then-exit").returncode == 0
    first = store.state(record)
    assert first.status == "created" and first.pid > 0
    wait_for(lambda: not shim_alive(first))
    assert not os.path.exists(f"/proc/{first.pid}")
    directory = store.layout.container_dir(record.id)
    if remove:
        assert not directory.exists()
        return
    state = store.state(record)
    assert (state.status, state.pid, state.exit_code) == ("configured", 0, None)
    assert state.started_at == 0
    assert not os.path.ismount(directory / "merged")
    again = run_cli(store, record)
    assert (again.stdout, again.returncode) == ("started later\n", 0), again.stderr


def test_stdin_pipe_and_eof(store):
    record = store.create(["sh", "-c", "cat; echo done"], interactive=True)
    result = run_cli(store, record, input="line one\nline two")
    assert (result.stdout, result.returncode) == ("line one\nline twodone\n", 0)


def test_signals_are_forwarded(store):
    script = "trap 'echo got-term; exit 42' TERM; echo ready; while :; do sleep 0.1; done"
    record = store.create(["sh", "-c", script])
    proc = subprocess.Popen(store.cli(record, "run"), stdout=subprocess.PIPE, text=True, cwd="/")
    assert proc.stdout.readline() == "ready\n"
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=20)
    assert (out, proc.returncode) == ("got-term\n", 42)


def test_detached_then_attach_later(store):
    script = "echo early; read -t 30 x < /tmp/go-fifo 2>/dev/null; echo late; exit 7"
    record = store.create(["sh", "-c", f"mkfifo /tmp/go-fifo; {script}"])
    start_shim(store.layout, record, start_now=True)
    state = store.state(record)
    assert state.status == "running" and shim_alive(state)
    log = store.layout.container_dir(record.id) / shim.LOG_FILE
    wait_for(lambda: log.exists() and "early" in log.read_text())
    proc = subprocess.Popen(store.cli(record, "attach"), stdout=subprocess.PIPE, text=True)
    time.sleep(0.5)  # attached by now; the container then writes "late"
    subprocess.run(["sh", "-c", f"echo go > /proc/{state.pid}/root/tmp/go-fifo"], check=True)
    out, _ = proc.communicate(timeout=20)
    assert (out, proc.returncode) == ("late\n", 7)
    assert store.state(record).exit_code == 7


def _read_until(fd: int, needle: bytes, timeout: float = 20.0) -> bytes:
    data = b""
    deadline = time.monotonic() + timeout
    while needle not in data:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise AssertionError(f"no {needle!r} in {data!r}")
        try:
            chunk = os.read(fd, 4096)
        except OSError as err:
            if err.errno != errno.EIO:
                raise
            chunk = b""
        if not chunk:
            raise AssertionError(f"EOF before {needle!r}: {data!r}")
        data += chunk
    return data


def _pty_cli(argv: list[str], rows: int, cols: int) -> tuple[int, int]:
    pid, master = pty.fork()
    if pid == 0:
        os.execv(argv[0], argv)
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    return pid, master


def _wait_exit(pid: int, timeout: float = 20.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    raise AssertionError("the CLI did not exit")


def test_tty_interactive_with_a_real_pty_and_detach_keys(store):
    record = store.create(["sh"], tty=True, interactive=True)
    pid, master = _pty_cli(store.cli(record, "run"), rows=33, cols=101)
    try:
        _read_until(master, b"# ")  # the prompt: the shell reads its terminal from here on
        os.write(master, b"stty size; echo hello $((6*7))\r")
        output = _read_until(master, b"hello 42")
        assert b"33 101" in output
        os.write(master, b"\x10\x11")  # ctrl-p ctrl-q
        assert b"DETACHED" in _read_until(master, b"DETACHED")
        assert _wait_exit(pid) == 0
    finally:
        os.close(master)
    assert store.state(record).status == "running"
    pid, master = _pty_cli(store.cli(record, "attach"), rows=20, cols=70)
    try:
        time.sleep(0.5)
        os.write(master, b"stty size; exit 5\r")
        assert b"20 70" in _read_until(master, b"20 70")
        assert _wait_exit(pid) == 5
    finally:
        os.close(master)
    assert store.state(record).exit_code == 5


def test_rm_cleans_up_after_the_attached_client_is_killed(store):
    record = store.create(["sh", "-c", "echo up; sleep 1; exit 0"], remove=True)
    proc = subprocess.Popen(store.cli(record, "run"), stdout=subprocess.PIPE, text=True, cwd="/")
    assert proc.stdout.readline() == "up\n"
    proc.kill()
    proc.wait()
    directory = store.layout.container_dir(record.id)
    wait_for(lambda: not directory.exists())
    assert record.id not in [r.id for r in store.store.list()]


def test_killed_shim_is_noticed_as_dead(store):
    record = store.create(["sleep", "60"])
    start_shim(store.layout, record, start_now=True)
    state = store.state(record)
    assert shim_alive(state)
    os.kill(state.shim_pid, signal.SIGKILL)
    wait_for(lambda: not shim_alive(store.state(record)))
    assert store.state(record).status == "running"  # the engine fixes it when it looks


def test_twenty_containers_at_once(store):
    records = [store.create(["sh", "-c", f"echo c{n}; exit {n}"]) for n in range(20)]
    procs = [
        subprocess.Popen(store.cli(r, "run"), stdout=subprocess.PIPE, text=True, cwd="/")
        for r in records
    ]
    for n, proc in enumerate(procs):
        out, _ = proc.communicate(timeout=120)
        assert (out, proc.returncode) == (f"c{n}\n", n)
    assert all(store.state(r).status == "exited" for r in records)


def test_many_layers_fit_the_overlay_mount(tmp_path, monkeypatch):
    for key, value in _shim_env().items():
        monkeypatch.setenv(key, value)
    many = Store(tmp_path, "runc-adapter", layers=120)
    try:
        record = many.create(["sh", "-c", "cat /extra/f0 /extra/f119; ls /extra | wc -l"])
        result = run_cli(many, record)
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == ["0", "119", "120"]
        assert many.state(record).rootfs_driver == "overlay"
    finally:
        many.cleanup()


# --- what the shim imports and how much memory it keeps ---------------------------------------

ALLOWED_POD_MODULES = {
    "pod",
    "pod.errors",
    "pod.shim.supervisor",
    "pod.container.restart_policy",  # imported only when a container exits under a restart policy
    "pod.container.rootfs",
    "pod.container.rootfs_prepare",
    "pod.runtime.netif",
    "pod.container.state",  # runtime_state_root
    "pod.util.lean_python",  # the supervisor's command line
    # The network: pyroute2 only in its worker process and in the tidy-up after the exit
    # has been reported (site-packages added then); the supervisor's loop never loads it.
    "pod.network",
    "pod.network.modes",  # what a container's network mode implies: standard library only
    "pod.network.rootless_netns",  # joining the shared user namespace: standard library only
    "pod.network.setup",
    "pod.network.plan",  # releasing a --rm container's addresses: files only
    "pod.runtime",
    "pod.runtime.userns",
    "pod.runtime.syscalls",
    "pod.runtime.api",
    "pod.runtime.cgroups",  # oom_killed() at the exit; standard library only
    "pod.runtime.external",
    "pod.store",
    "pod.store.lock",
    "pod.store.layout",
    "pod.store.containers",
    "pod.store.safepath",
}


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            if node.module == "pod":
                names.update(f"pod.{alias.name}" for alias in node.names)
    return names


def test_shim_imports_only_the_standard_library_and_pods_own_modules():
    pod_dir = Path(shim.__file__).parent
    for module in ("shim.py", "rootfs_mount.py"):
        for name in _imports(pod_dir / module):
            top = name.split(".")[0]
            assert top in sys.stdlib_module_names or name in ALLOWED_POD_MODULES, (module, name)
    probe = (
        "import sys; sys.path.append(sys.argv[1]); import pod.shim.supervisor; "
        "print(' '.join(sorted(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", probe, str(pod_dir.parent)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    loaded = set(done.stdout.split())
    outside = {m for m in loaded - {"__main__"} if m.split(".")[0] not in sys.stdlib_module_names}
    assert outside == {"pod", "pod.shim.supervisor"}
    assert not loaded & {"typing", "enum", "re", "json", "socket", "signal", "selectors"}


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_detached_shim_stays_small(store):
    record = store.create(["sh", "-c", "while :; do echo tick; sleep 0.05; done"])
    start_shim(store.layout, record, start_now=True)
    state = store.state(record)
    time.sleep(1.0)  # it has been copying output to the log for a while
    cmdline = Path(f"/proc/{state.shim_pid}/cmdline").read_bytes().split(b"\0")
    assert b"-S" in cmdline and b"-I" in cmdline
    rss = _rss_kib(state.shim_pid)
    assert rss <= RSS_LIMIT_KIB, f"shim RSS {rss} KiB"
    assert os.stat(f"/proc/{state.shim_pid}").st_uid == 0
    assert shim_alive(state)
    os.kill(state.pid, signal.SIGKILL)
    wait_for(lambda: store.state(record).status == "exited")
    assert store.state(record).exit_code == 137


# --- rootless -------------------------------------------------------------------------------------


@pytest.fixture
def shim_user():
    """A throwaway user with a subuid/subgid range, removed afterwards."""
    for tool in ("useradd", "userdel", "runuser", "newuidmap", "newgidmap"):
        if shutil.which(tool, path=SAFE_PATH) is None:
            pytest.skip(f"needs {tool}")
    with contextlib.suppress(KeyError):
        pwd.getpwnam(SHIM_USER)
        subprocess.run(["userdel", "-r", SHIM_USER], capture_output=True)
    subprocess.run(["useradd", "--user-group", "--shell", "/bin/sh", SHIM_USER], check=True)
    pw = pwd.getpwnam(SHIM_USER)
    saved = {path: path.read_text() for path in (Path("/etc/subuid"), Path("/etc/subgid"))}
    start = 2_000_000 + pw.pw_uid * 65536 % 1_000_000_000
    for path in saved:
        path.write_text(saved[path] + f"{SHIM_USER}:{start}:65536\n")
    base = Path(tempfile.mkdtemp(prefix="pod-shim-rootless-", dir="/var/tmp"))
    os.chmod(base, 0o755)
    runtime_dir = base / "xdg"
    runtime_dir.mkdir(mode=0o700)
    os.chown(runtime_dir, pw.pw_uid, pw.pw_gid)
    try:
        yield pw, base, runtime_dir
    finally:
        subprocess.run(["umount", "-R", "-l", str(base)], capture_output=True)
        subprocess.run(["pkill", "-KILL", "-u", SHIM_USER], capture_output=True)
        for path, text in saved.items():
            path.write_text(text)
        subprocess.run(["userdel", SHIM_USER], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.rootless
def test_rootless_shim_in_a_user_namespace_with_native_overlay(shim_user):
    pw, base, runtime_dir = shim_user
    made = Store(base / "store", "runc-adapter", rootless=True)
    subprocess.run(["chown", "-R", f"{pw.pw_uid}:{pw.pw_gid}", str(base / "store")], check=True)
    script = (
        "id -u; cat /etc/kept; test -e /etc/removed || echo removed-gone; ls /opaque; "
        "echo err >&2; touch /tmp/new; chown 1000:1000 /tmp/new; exit 4"
    )
    record = made.create(["sh", "-c", script])
    subprocess.run(["chown", "-R", f"{pw.pw_uid}:{pw.pw_gid}", str(base / "store")], check=True)
    env = {
        "HOME": str(base), "USER": SHIM_USER, "PATH": SAFE_PATH, "LANG": "C.UTF-8",
        "XDG_RUNTIME_DIR": str(runtime_dir), **_shim_env(),
    }  # fmt: skip
    argv = [
        "runuser", "-u", SHIM_USER, "--", "env", "-i",
        *(f"{k}={v}" for k, v in env.items()), "/opt/pod-venv/bin/python",
        *made.cli(record, "run")[1:],
    ]  # fmt: skip
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd="/")
    assert result.returncode == 4, result.stderr
    assert result.stdout.split() == ["0", "kept", "removed-gone", "new"]
    assert result.stderr == "err\n"
    state = made.state(record)
    assert (state.status, state.exit_code, state.rootfs_driver) == ("exited", 4, "overlay")
    upper_file = made.layout.container_dir(record.id) / "upper" / "tmp" / "new"
    start = int(Path("/etc/subuid").read_text().split(f"{SHIM_USER}:")[1].split(":")[0])
    assert os.lstat(upper_file).st_uid == start + 999  # container uid 1000 → subuid range
    assert os.stat(made.layout.container_dir(record.id) / shim.LOG_FILE).st_uid == pw.pw_uid


def test_record_roundtrip_keeps_the_new_fields():
    record = ContainerRecord(
        id="a" * 64, name="n", image_id="i", image_name="busybox", created=1.0, command=["sh"],
        rootless=True, runtime="runc", layers=["sha256:" + "1" * 64],
        userns={"uid_map": [[0, 1000, 1], [1, 100000, 65536]]},
    )  # fmt: skip
    assert ContainerRecord.from_dict(json.loads(json.dumps(asdict(record)))) == record


# --- the CLI side, run as a child process ---------------------------------------------------------


def _drive(argv: list[str]) -> int:
    """`pod run` (start_shim + attach + START), `pod run -d`, `pod attach`, or a `pod run`
    killed between the container's creation and its START (create-then-exit)."""
    root, runroot, container_id, mode = argv
    layout = Layout(Path(root), Path(runroot))
    record = ContainerStore(layout).lookup(container_id)
    try:
        if mode in ("run", "run-d", "create-then-exit"):
            start_shim(layout, record, start_now=mode == "run-d")
            if mode != "run":
                return 0
        code = attach(
            layout, record.id, stdin=record.interactive, tty=record.tty, sig_proxy=True,
            send_start=mode == "run",
        )  # fmt: skip
    except PodError as err:
        sys.stderr.write(f"Error: {err}\n")
        return err.exit_code
    if code is None:
        sys.stdout.write("\r\nDETACHED\r\n")
        sys.stdout.flush()
        return 0
    return code


if __name__ == "__main__":
    sys.exit(_drive(sys.argv[1:]))

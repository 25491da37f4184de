"""pod's OCI runtime and runc, through the same API, on real bundles built from busybox-static.

Each container runs under a tiny "shim" (a `python -c` helper below) that does what pod's shim
does: PR_SET_CHILD_SUBREAPER, create with stdio fds, start, waitpid, state, delete. The rootless
cases run that helper as an unprivileged user, either inside a user namespace made by `unshare`
(the engine's rootless shape: no user namespace in config.json) or with a user namespace and
id mappings in config.json (newuidmap/newgidmap).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

BUSYBOX = "/bin/busybox"
APPLETS = [
    "sh",
    "echo",
    "true",
    "false",
    "id",
    "cat",
    "ls",
    "hostname",
    "sleep",
    "ps",
    "wc",
    "grep",
    "touch",
    "pwd",
    "readlink",
    "tty",
]
DEFAULT_CAPS = [
    f"CAP_{name}"
    for name in [
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "NET_BIND_SERVICE",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    ]
]
DEFAULT_CAPS_MASK = "00000000800405fb"
PYTHON = sys.executable

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="runtime tests need root")

HELPER = r"""
import json, os, socket, sys
from pod.errors import PodError
from pod.runtime import runtime_for
from pod.runtime.syscalls import PR_SET_CHILD_SUBREAPER, prctl

a = json.loads(sys.argv[1])
prctl(PR_SET_CHILD_SUBREAPER, 1)
rt = runtime_for(a["runtime"])
out = os.open(a["out"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
err = os.open(a["err"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
null = os.open("/dev/null", os.O_RDONLY)
listener = None
console = None
if a.get("terminal"):
    console = a["root"] + ".console"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(console)
    listener.listen(1)
result = {}
try:
    pid = rt.create(a["root"], a["id"], a["bundle"], stdio=(null, out, err),
                    console_socket=console)
except PodError as e:
    print(json.dumps({"error": str(e), "exit_code": e.exit_code, "type": type(e).__name__}))
    sys.exit(0)
result["created"] = rt.state(a["root"], a["id"])
master = None
if listener is not None:
    conn, _ = listener.accept()
    _, fds, _, _ = socket.recv_fds(conn, 1024, 1)
    master = fds[0]
rt.start(a["root"], a["id"])
if a.get("lifecycle"):
    result["running"] = rt.state(a["root"], a["id"])
    try:
        rt.delete(a["root"], a["id"])
    except PodError as e:
        result["delete_running"] = type(e).__name__
    rt.kill(a["root"], a["id"], 9)
if master is not None:
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    result["tty"] = b"".join(chunks).decode(errors="replace")
_, status = os.waitpid(pid, 0)
result["exit"] = os.waitstatus_to_exitcode(status)
result["stopped"] = rt.state(a["root"], a["id"])
rt.delete(a["root"], a["id"])
try:
    rt.state(a["root"], a["id"])
except PodError as e:
    result["after_delete"] = type(e).__name__
print(json.dumps(result))
"""


def make_rootfs(root: Path) -> None:
    (root / "bin").mkdir(parents=True)
    shutil.copy(BUSYBOX, root / "bin" / "busybox")
    for applet in APPLETS:
        (root / "bin" / applet).symlink_to("busybox")
    for name in ("proc", "sys", "dev", "etc", "tmp", "work"):
        (root / name).mkdir(exist_ok=True)
    (root / "tmp").chmod(0o1777)
    (root / "notexec").write_text("#!/bin/sh\necho no\n")
    (root / "garbage").write_bytes(b"\x7fELF garbage")
    (root / "garbage").chmod(0o755)


def make_config(args: list[str], **changes) -> dict:
    """runc's `runc spec` defaults, with podman's default capabilities."""
    caps = {kind: list(DEFAULT_CAPS) for kind in ("bounding", "effective", "permitted")}
    config = {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "cwd": "/",
            "capabilities": caps,
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": False},
        "hostname": "ctr",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
        ],
        "linux": {
            "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")],
            "maskedPaths": ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"],
            "readonlyPaths": ["/proc/sys", "/proc/sysrq-trigger", "/proc/bus"],
        },
    }  # fmt: skip
    for key, value in changes.items():
        if key == "process":
            config["process"].update(value)
        elif key == "linux":
            config["linux"].update(value)
        else:
            config[key] = value
    return config


class Bundle:
    """A bundle directory plus a runner that drives one container through the helper."""

    def __init__(self, base: Path, runtime: str, user: str | None = None) -> None:
        self.base = base
        self.runtime = runtime
        self.user = user
        self.bundle = base / "bundle"
        self.rootfs = self.bundle / "rootfs"
        make_rootfs(self.rootfs)

    def run(self, args: list[str], prefix: list[str] | None = None, **changes) -> dict:
        lifecycle = changes.pop("lifecycle", False)
        (self.bundle / "config.json").write_text(json.dumps(make_config(args, **changes)))
        cid = "t" + uuid.uuid4().hex[:10]
        request = {
            "runtime": self.runtime,
            "id": cid,
            "bundle": str(self.bundle),
            "root": str(self.base / "state"),
            "out": str(self.base / f"{cid}.out"),
            "err": str(self.base / f"{cid}.err"),
            "terminal": bool(changes.get("process", {}).get("terminal")),
            "lifecycle": lifecycle,
        }
        cmd = [PYTHON, "-c", HELPER, json.dumps(request)]
        env = dict(os.environ, PATH="/usr/sbin:/usr/bin:/sbin:/bin")
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *(prefix or []), *cmd]
            env = {"PATH": env["PATH"], "HOME": "/", "XDG_RUNTIME_DIR": str(self.base)}
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env,
                              cwd=self.base)  # fmt: skip
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout.splitlines()[-1])
        if "error" not in result:
            result["out"] = Path(request["out"]).read_text()
            result["err"] = Path(request["err"]).read_text()
        return result

    def ok(self, args: list[str], **changes) -> str:
        result = self.run(args, **changes)
        assert "error" not in result, result
        assert result["exit"] == 0, result
        return result["out"]


@pytest.fixture
def bundle(runtime, tmp_path):
    if runtime != "pod" and shutil.which(runtime) is None:
        pytest.skip(f"{runtime} is not installed")
    return Bundle(tmp_path, runtime)


def test_echo_and_exit_codes(bundle):
    result = bundle.run(["echo", "hello"])
    assert (result["exit"], result["out"]) == (0, "hello\n")
    assert result["created"]["status"] == "created"
    assert result["stopped"]["status"] == "stopped"
    assert result["after_delete"] == "RuntimeContainerNotFoundError"
    assert bundle.run(["sh", "-c", "exit 3"])["exit"] == 3


@pytest.mark.parametrize(
    ("command", "code"), [("nosuch", 127), ("/nosuch", 127), ("/bin", 126), ("/notexec", 126)]
)
def test_exec_failures_reported_at_create(bundle, command, code):
    result = bundle.run([command])
    assert result["type"] == "RuntimeExecError", result
    assert result["exit_code"] == code


def test_exec_failing_after_start_is_exit_126(tmp_path):
    result = Bundle(tmp_path, "pod").run(["/garbage"])
    assert result["exit"] == 126
    assert "Exec format error" in result["err"]


def test_hostname_user_and_groups(bundle):
    assert bundle.ok(["hostname"]) == "ctr\n"
    user = {"uid": 1000, "gid": 1001, "additionalGids": [10, 20]}
    assert bundle.ok(["id"], process={"user": user}) == "uid=1000 gid=1001 groups=10,20\n"


def test_pid_namespace(bundle):
    out = bundle.ok(["sh", "-c", "echo $$; ls -d /proc/[0-9]*"]).split()
    assert out[0] == "1"
    assert all(int(p.rsplit("/", 1)[1]) < 20 for p in out[1:])


def test_masked_and_readonly_paths(bundle):
    script = (
        "wc -c < /proc/timer_list; ls /sys/firmware | wc -l; "
        "grep -E ' /sys | /proc/sys ' /proc/self/mountinfo | grep -c ' ro,'; "
        "touch /sys/kernel/x 2>/dev/null || echo sys-ro"
    )
    assert bundle.ok(["sh", "-c", script]).split() == ["0", "0", "2", "sys-ro"]


def test_bind_destination_symlinks_stay_inside(bundle, tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    (source / "marker").write_text("inside\n")
    victim = tmp_path / "victim"
    victim.mkdir()
    name = "pod-rt-escape-" + uuid.uuid4().hex[:8]
    (bundle.rootfs / "up").symlink_to("../../../../../..")
    (bundle.rootfs / "slash").symlink_to("/")
    (bundle.rootfs / "victim").symlink_to(str(victim))
    mounts = make_config([])["mounts"] + [
        {"destination": f"/slash/{name}", "type": "bind", "source": str(source),
         "options": ["rbind", "ro"]},
        {"destination": f"/up/{name}-2", "type": "bind", "source": str(source),
         "options": ["bind"]},
        {"destination": "/victim", "type": "bind", "source": str(source), "options": ["bind"]},
    ]  # fmt: skip
    out = bundle.ok(["sh", "-c", f"cat /{name}/marker /{name}-2/marker"], mounts=mounts)
    assert out == "inside\ninside\n"
    assert not Path("/" + name).exists() and not Path(f"/{name}-2").exists()
    assert list(victim.iterdir()) == []
    assert str(victim) not in Path("/proc/self/mountinfo").read_text()


def test_readonly_root_and_cwd(bundle):
    out = bundle.ok(
        ["sh", "-c", "touch /x 2>/dev/null || echo ro; pwd; readlink /proc/self/cwd"],
        root={"path": "rootfs", "readonly": True},
        process={"cwd": "/work"},
    )
    assert out.split() == ["ro", "/work", "/work"]


def test_capabilities_no_new_privs_rlimits_fds(bundle):
    script = (
        "grep -E '^(CapEff|CapBnd|NoNewPrivs)' /proc/self/status; ulimit -n; ls /proc/$$/fd; true"
    )
    out = bundle.ok(["sh", "-c", script])
    lines = out.splitlines()
    assert lines[0].split() == ["CapEff:", DEFAULT_CAPS_MASK]
    assert lines[1].split() == ["CapBnd:", DEFAULT_CAPS_MASK]
    assert lines[2].split() == ["NoNewPrivs:", "1"]
    assert lines[3] == "1024"
    assert lines[4:] == ["0", "1", "2"]


def test_rlimit_above_hard_limit_is_clamped(tmp_path):
    hard = __import__("resource").getrlimit(__import__("resource").RLIMIT_NOFILE)[1]
    rlimits = [{"type": "RLIMIT_NOFILE", "hard": hard * 100, "soft": hard * 100}]
    out = Bundle(tmp_path, "pod").ok(["sh", "-c", "ulimit -n"], process={"rlimits": rlimits})
    assert out == f"{hard}\n"


def test_lifecycle_kill_state_delete(bundle):
    result = bundle.run(["sleep", "100"], lifecycle=True)
    assert result["running"]["status"] == "running"
    assert result["running"]["pid"] > 0
    assert result["delete_running"] in ("RuntimeStateError", "OCIRuntimeError")
    assert result["exit"] == -9
    assert result["stopped"]["status"] == "stopped"


def test_terminal_through_console_socket(bundle):
    result = bundle.run(["sh", "-c", "tty; echo hello"], process={"terminal": True})
    assert result["exit"] == 0, result
    assert result["tty"].replace("\r", "").split() == ["/dev/pts/0", "hello"]


def pod_runtime_cli(tmp_path: Path):
    """`pod-runtime --root <tmp>/state ARGS...` as a function returning the finished process."""
    cli = [str(Path(PYTHON).parent / "pod-runtime"), "--root", str(tmp_path / "state")]

    def run(*args: str) -> subprocess.CompletedProcess:
        # Files, not pipes: the container inherits them and would hold a pipe open.
        with open(tmp_path / "out", "w+") as out, open(tmp_path / "err", "w+") as err:
            done = subprocess.run([*cli, *args], stdout=out, stderr=err, timeout=30,
                                  stdin=subprocess.DEVNULL)  # fmt: skip
            out.seek(0)
            err.seek(0)
            return subprocess.CompletedProcess(done.args, done.returncode, out.read(), err.read())

    return run


def test_cli_lifecycle(tmp_path):
    bundle = Bundle(tmp_path, "pod")
    (bundle.bundle / "config.json").write_text(json.dumps(make_config(["sleep", "100"])))
    run = pod_runtime_cli(tmp_path)
    created = run("create", "--bundle", str(bundle.bundle), "--pid-file",
                  str(tmp_path / "pid"), "c1")  # fmt: skip
    assert created.returncode == 0, created.stderr
    pid = int((tmp_path / "pid").read_text())
    assert json.loads(run("state", "c1").stdout)["status"] == "created"
    assert run("start", "c1").returncode == 0
    assert json.loads(run("state", "c1").stdout) == {
        "ociVersion": "1.0.2", "id": "c1", "status": "running", "pid": pid,
        "bundle": str(bundle.bundle), "annotations": {},
    }  # fmt: skip
    refused = run("delete", "c1")
    assert refused.returncode != 0 and "running" in refused.stderr
    assert run("kill", "c1", "KILL").returncode == 0
    assert run("delete", "--force", "c1").returncode == 0
    missing = run("state", "c1")
    assert missing.returncode == 1 and missing.stderr.count("\n") == 1
    assert "does not exist" in missing.stderr
    assert run("features").returncode == 0


def test_cli_spec_rules(tmp_path):
    """runtime.md's rules: deleting a container that is not stopped is an error (created
    included: --force kills it) and so is deleting one that does not exist (--force excepted,
    as runc), a config without a process can be created but not started (start stops it), and
    ociVersion must be SemVer."""
    bundle = Bundle(tmp_path, "pod")
    config = bundle.bundle / "config.json"
    run = pod_runtime_cli(tmp_path)
    config.write_text(json.dumps(make_config(["true"])))
    assert run("create", "--bundle", str(bundle.bundle), "c1").returncode == 0
    refused = run("delete", "c1")
    assert refused.returncode == 1 and "cannot delete created container c1" in refused.stderr
    assert json.loads(run("state", "c1").stdout)["status"] == "created"
    assert run("delete", "--force", "c1").returncode == 0
    gone = run("delete", "c1")  # gone: an error, but not with --force (runc's rule, podman's use)
    assert gone.returncode == 1 and "does not exist" in gone.stderr
    assert (run("delete", "--force", "c1").returncode, run("delete", "-f", "c1").stderr) == (0, "")
    no_process = make_config([])
    del no_process["process"]
    config.write_text(json.dumps(no_process))
    assert run("create", "--bundle", str(bundle.bundle), "c2").returncode == 0
    start = run("start", "c2")
    assert start.returncode == 1 and "its config has no process" in start.stderr
    assert json.loads(run("state", "c2").stdout)["status"] == "stopped"
    assert run("delete", "c2").returncode == 0
    config.write_text(json.dumps(make_config(["true"], ociVersion="invalid")))
    bad = run("create", "--bundle", str(bundle.bundle), "c3")
    assert bad.returncode == 1 and "ociVersion 'invalid' is not a SemVer version" in bad.stderr


def test_without_a_mount_namespace(tmp_path):
    """A config without a mount namespace shares ours (the spec's "inherit"): the container's
    root is a chroot into the rootfs (read-only when asked), and delete detaches every mount
    it left on the rootfs here."""
    bundle = Bundle(tmp_path, "pod")
    namespaces = [{"type": t} for t in ("pid", "ipc", "uts")]
    script = "readlink /proc/self/ns/mnt; ls /; touch /x 2>/dev/null || echo ro"
    out = bundle.ok(["sh", "-c", script], linux={"namespaces": namespaces},
                    root={"path": "rootfs", "readonly": True})  # fmt: skip
    lines = out.split()
    assert lines[0] == os.readlink("/proc/self/ns/mnt")
    assert "bin" in lines and "garbage" in lines and lines[-1] == "ro"
    assert str(bundle.rootfs) not in Path("/proc/self/mountinfo").read_text()
    (bundle.rootfs / "x").touch()  # the bind was read-only, the directory is not


@pytest.mark.parametrize(
    ("propagation", "tag"),
    [("shared", "shared:"), ("private", None), ("unbindable", "unbindable"), ("slave", None)],
)
def test_rootfs_propagation(tmp_path, propagation, tag):
    """linux.rootfsPropagation is the container root's own: a shared root gets a peer group of
    its own, an unbindable one cannot be bound (a slave root is a slave of the host's root, or
    private when that one is private, as here)."""
    out = Bundle(tmp_path, "pod").ok(["cat", "/proc/self/mountinfo"],
                                     linux={"rootfsPropagation": propagation})  # fmt: skip
    root = next(line.split(" - ")[0].split()[6:] for line in out.splitlines()
                if line.split()[4] == "/")  # fmt: skip
    own = [f for f in root if not f.startswith("master:")]
    assert [f.rstrip("0123456789") for f in own] == ([tag] if tag else [])
    if tag == "shared:":  # a peer group no mount of ours belongs to
        assert own[0] not in Path("/proc/self/mountinfo").read_text().split()


def test_unknown_runtime_binary():
    from pod.errors import PodError
    from pod.runtime import runtime_for

    with pytest.raises(PodError, match="could not find a working binary"):
        runtime_for("no-such-runtime")


@pytest.mark.skipif(shutil.which("crun") is None, reason="crun is not installed")
def test_crun_refusal_is_explained(tmp_path):
    if Path("/sys/fs/cgroup/cgroup.controllers").exists():
        pytest.skip("pure cgroup v2 host: crun works here")
    result = Bundle(tmp_path, "crun").run(["true"])
    if "error" not in result:
        pytest.skip("this crun accepts the host's cgroup layout")
    assert "hybrid cgroup layout" in result["error"] and "runc" in result["error"]


# -- rootless ---------------------------------------------------------------------------------


@pytest.fixture
def user_bundle(runtime, rootless_user):
    """A bundle the rootless test user owns, in a directory of its own (its XDG_RUNTIME_DIR)."""
    base = rootless_user.make_tmpdir("runtime")
    bundle = Bundle(base, runtime, user=rootless_user.name)
    uid_gid = f"{rootless_user.uid}:{rootless_user.gid}"
    subprocess.run(["chown", "-R", uid_gid, str(base)], check=True)
    yield bundle
    shutil.rmtree(base, ignore_errors=True)


IN_USERNS = ["unshare", "--map-root-user", "--map-auto", "--mount"]


@pytest.mark.rootless
def test_rootless_inside_engine_userns(user_bundle):
    """The engine's shape: the shim already runs in a user namespace; no userns in config."""
    result = user_bundle.run(["sh", "-c", "echo hello; id; hostname; exit 4"], prefix=IN_USERNS)
    assert "error" not in result, result
    assert result["out"] == "hello\nuid=0 gid=0\nctr\n"
    assert result["exit"] == 4
    missing = user_bundle.run(["nosuch"], prefix=IN_USERNS)
    assert missing["exit_code"] == 127


@pytest.mark.rootless
def test_rootless_no_netns_falls_back_to_sys_bind(user_bundle):
    if user_bundle.runtime == "runc":
        pytest.skip("runc 1.1.5 has no /sys bind fallback when it did not create the userns")
    namespaces = [{"type": t} for t in ("pid", "ipc", "uts", "mount")]
    script = "ls /sys | grep -c kernel; touch /sys/kernel/x 2>/dev/null || echo ro; id -u"
    result = user_bundle.run(
        ["sh", "-c", script], prefix=IN_USERNS, linux={"namespaces": namespaces}
    )
    assert "error" not in result, result
    assert result["out"].split() == ["1", "ro", "0"]


@pytest.mark.rootless
def test_rootless_config_user_namespace_with_mappings(user_bundle, rootless_user):
    user = rootless_user
    linux = {
        "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount", "user")],
        "uidMappings": [{"containerID": 0, "hostID": user.uid, "size": 1},
                        {"containerID": 1, "hostID": user.subuid_start, "size": 65536}],
        "gidMappings": [{"containerID": 0, "hostID": user.gid, "size": 1},
                        {"containerID": 1, "hostID": user.subgid_start, "size": 65536}],
    }  # fmt: skip
    script = "id; cat /proc/self/uid_map; touch /tmp/f && ls -n /tmp/f"
    result = user_bundle.run(
        ["sh", "-c", script], linux=linux, process={"user": {"uid": 1000, "gid": 1000}}
    )
    assert "error" not in result, result
    lines = result["out"].splitlines()
    assert lines[0].startswith("uid=1000 gid=1000")
    assert lines[1].split() == ["0", str(user.uid), "1"]
    assert lines[2].split() == ["1", str(user.subuid_start), "65536"]


@pytest.mark.skipif(
    not Path("/sys/fs/cgroup/memory/cgroup.procs").exists(), reason="needs cgroup v1 memory"
)
def test_cgroup_v1_limits_and_view(tmp_path):
    mounts = make_config([])["mounts"] + [
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
         "options": ["nosuid", "noexec", "nodev", "ro"]},
    ]  # fmt: skip
    resources = {"memory": {"limit": 64 << 20}, "pids": {"limit": 50}, "cpu": {"shares": 512}}
    script = (
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max "
        "/sys/fs/cgroup/cpu/cpu.shares; grep -c ':/pod/' /proc/self/cgroup"
    )
    out = Bundle(tmp_path, "pod").ok(
        ["sh", "-c", script], mounts=mounts, linux={"resources": resources}
    )
    lines = out.split()
    assert lines[:3] == [str(64 << 20), "50", "512"]
    assert int(lines[3]) >= 5


@pytest.mark.skipif(
    not Path("/sys/fs/cgroup/pids/cgroup.procs").exists(), reason="needs cgroup v1 pids"
)
def test_cgroup_v1_init_is_placed_before_its_cgroup_namespace(tmp_path):
    """On v1 the init moves itself into its cgroups at "go", before it makes its cgroup
    namespace: the namespace's root is then the container's cgroup in every hierarchy (made
    before the move, /proc/self/cgroup would say /pod/<id>)."""
    namespaces = make_config([])["linux"]["namespaces"] + [{"type": "cgroup"}]
    linux = {"namespaces": namespaces, "resources": {"pids": {"limit": 42}}}
    out = Bundle(tmp_path, "pod").ok(["cat", "/proc/self/cgroup"], linux=linux)
    v1 = [line for line in out.splitlines() if not line.startswith("0::")]
    assert len(v1) >= 5, out
    assert all(line.endswith(":/") for line in v1), out


@pytest.mark.skipif(
    not Path("/sys/fs/cgroup/cpuset/cgroup.procs").exists() or os.geteuid() != 0,
    reason="needs cgroup v1 cpuset, as root",
)
def test_a_failed_self_move_names_the_cgroup(tmp_path):
    """A cpuset cgroup without cpus takes no task: the error says which cgroup refused, the
    process stays where it was and the files are closed either way."""
    from pod.errors import OCIRuntimeError
    from pod.runtime import cgroups

    empty = Path("/sys/fs/cgroup/cpuset") / f"pod-test-{uuid.uuid4().hex[:8]}"
    empty.mkdir()
    try:
        files = cgroups.self_move_files([str(empty)])
        assert [path for path, _ in files] == [str(empty)]
        read, write = os.pipe()
        child = os.fork()
        if child == 0:
            try:
                cgroups.move_self(files)
                message = "moved"
            except OCIRuntimeError as err:
                message = str(err)
            os.write(write, message.encode())
            os._exit(0)
        cgroups.close_self_move(files)
        os.close(write)
        os.waitpid(child, 0)
        message = os.read(read, 4096).decode()
        os.close(read)
        assert message == f"cgroups: joining {empty}: No space left on device"
        assert (empty / "tasks").read_text() == ""
    finally:
        empty.rmdir()

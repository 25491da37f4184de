"""Real clients of podman's command line with pod standing in for podman (a `podman` link to
pod's entry point first on PATH), driven as a user drives them: podman-compose rootful and
rootless (with /dev/net/tun closed to users and open to them: its services talk over a pod
network), distrobox and toolbox rootless.

The clients come from .ci/run (Debian's distrobox and podman-toolbox) and the test extras
(podman-compose); the images from the test registry: busybox, a `build:` FROM it, and
image_builder.distro_image for distrobox and toolbox. One compose project per mode and one
distrobox and one toolbox container: each test is the next step of its flow.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import image_builder
import pytest
from runners import SAFE_PATH, RootlessPod, isolated_pod, remove_leftovers

TUN = "/dev/net/tun"
PROJECT = "clients"  # the compose project's name (its directory's)
SYSTEM_BUS = Path("/run/dbus/system_bus_socket")


@dataclass
class Client:
    """Runs a client's command line with `podman` on PATH being pod (with its own store), as
    root or as the rootless test user; stdin is empty, as in a script."""

    run_as: Callable[..., subprocess.CompletedProcess]
    podman: Callable[..., subprocess.CompletedProcess]  # pod itself, for checks
    tmp: Path

    def __call__(self, *argv: str, cwd: Path | None = None, timeout: float = 300):
        return self.run_as(*argv, cwd=cwd, timeout=timeout)


def _link_dir(directory: Path, pod_entry: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "podman").symlink_to(pod_entry)
    return directory


def _podman_compose() -> str:
    """podman-compose from the test extras, beside this interpreter (world-readable in CI's
    venv, so the rootless user runs the same one)."""
    path = Path(sys.executable).parent / "podman-compose"
    assert path.exists(), "podman-compose is a test extra: pip install -e '.[test]'"
    return str(path)


@contextlib.contextmanager
def _root_client(tmp: Path, registry) -> Iterator[Client]:
    with isolated_pod(tmp / "store", insecure=[registry.host]) as runner:
        bin_dir = _link_dir(tmp / "bin", Path(sys.executable).parent / "pod")
        env = runner.env(
            {
                "PATH": f"{bin_dir}:{SAFE_PATH}",
                "POD_ROOT": str(runner.root),
                "POD_RUNROOT": str(runner.runroot),
            }
        )

        def run_as(*argv, cwd=None, timeout=300):
            return subprocess.run(
                list(argv), env=env, cwd=cwd or tmp, input="", capture_output=True, text=True,
                timeout=timeout,
            )  # fmt: skip

        yield Client(run_as, runner, tmp)


@contextlib.contextmanager
def _rootless_client(user) -> Iterator[Client]:
    tmp = user.make_tmpdir("clients")
    runner = RootlessPod(user, tmp)
    bin_dir = user.make_tmpdir("clients-bin")
    _link_dir(bin_dir, user.pod_bin)
    env = {
        "PATH": f"{bin_dir}:{SAFE_PATH}",
        "POD_ROOT": str(runner.root),
        "POD_RUNROOT": str(runner.runroot),
        "SHELL": "/bin/sh",  # the user's login shell: distrobox and toolbox look it up
    }

    def run_as(*argv, cwd=None, timeout=300):
        return user.run(*argv, env=env, cwd=cwd or tmp, input="", timeout=timeout)

    try:
        yield Client(run_as, runner, tmp)
    finally:
        remove_leftovers(runner, tmp)


# --------------------------------------------------------------------------------------------
# podman-compose


COMPOSE_FILE = """\
services:
  web:
    build: ./web
    stop_grace_period: 1s
    volumes:
      - shared:/shared
  app:
    image: {busybox}
    depends_on:
      - web
    env_file: app.env
    stop_grace_period: 1s
    command: ["sh", "-c", "echo $$GREETING > /shared/greeting; echo app started; exec sleep 600"]
    volumes:
      - shared:/shared
volumes:
  shared:
"""
CONTAINERFILE = """\
FROM {busybox}
RUN mkdir /www && echo built-by-compose > /www/index.html
CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]
"""


def _write_project(directory: Path, busybox: str, owner: tuple[int, int] | None) -> Path:
    project = directory / PROJECT
    (project / "web").mkdir(parents=True)
    (project / "compose.yaml").write_text(COMPOSE_FILE.format(busybox=busybox))
    (project / "app.env").write_text("GREETING=hello-from-env-file\n")
    (project / "web" / "Containerfile").write_text(CONTAINERFILE.format(busybox=busybox))
    if owner is not None:
        for path in [project, *project.rglob("*")]:
            os.chown(path, *owner)
    return project


@dataclass
class ComposeProject:
    client: Client
    directory: Path

    def __call__(self, *args: str) -> subprocess.CompletedProcess:
        return self.client(_podman_compose(), *args, cwd=self.directory)


ROOTLESS = pytest.mark.rootless
MODES = [
    "root",
    pytest.param("rootless-tun-0600", marks=ROOTLESS),
    pytest.param("rootless-tun-0666", marks=ROOTLESS),
]


@pytest.fixture(scope="module", params=MODES)
def compose(request, registry, test_images, tmp_path_factory) -> Iterator[ComposeProject]:
    """The project, up (-d): as root, and rootless with /dev/net/tun closed to users and
    open to them (restored after)."""
    busybox = test_images.busybox.ref
    if request.param == "root":
        tmp = tmp_path_factory.mktemp("compose-root")
        client_context = _root_client(tmp, registry)
        owner = None
    else:
        user = request.getfixturevalue("rootless_user")
        client_context = _rootless_client(user)
        owner = (user.uid, user.gid)
    saved = os.stat(TUN).st_mode & 0o777
    if request.param.startswith("rootless-tun-"):
        os.chmod(TUN, int(request.param.removeprefix("rootless-tun-"), 8))
    try:
        with client_context as client:
            project = ComposeProject(client, _write_project(client.tmp, busybox, owner))
            up = project("up", "-d")
            assert up.returncode == 0, up.stdout + up.stderr
            yield project
            project("down", "-v")  # when the test of down failed
    finally:
        os.chmod(TUN, saved)


def test_compose_up_puts_the_services_in_a_pod(compose):
    listed = compose.client.podman("ps", "--format", "{{.Names}} {{.PodName}}", check=True)
    assert sorted(listed.stdout.splitlines()) == [
        f"{PROJECT}_app_1 pod_{PROJECT}",
        f"{PROJECT}_web_1 pod_{PROJECT}",
    ]
    pods = compose.client.podman("pod", "ps", "--format", "{{.Name}} {{.NumberOfContainers}}")
    assert pods.stdout == f"pod_{PROJECT} 2\n"


def test_compose_depends_on_starts_web_first(compose):
    podman = compose.client.podman
    web = podman("inspect", "--format", "{{.Id}}", f"{PROJECT}_web_1", check=True).stdout.strip()
    deps = podman("inspect", "--format", "{{json .Dependencies}}", f"{PROJECT}_app_1", check=True)
    assert json.loads(deps.stdout) == [web]


def test_compose_ps(compose):
    listed = compose("ps")
    assert listed.returncode == 0, listed.stderr
    rows = listed.stdout.splitlines()[1:]
    assert sorted(row.split()[-1] for row in rows) == [f"{PROJECT}_app_1", f"{PROJECT}_web_1"]
    assert all(" Up " in row for row in rows), listed.stdout


def test_compose_logs(compose):
    logs = compose("logs", "app")
    assert logs.returncode == 0, logs.stderr
    assert "app started" in logs.stdout


def test_compose_exec_env_file_and_shared_volume(compose):
    """app wrote GREETING (from its env_file) into the named volume web mounts too."""
    done = compose("exec", "web", "cat", "/shared/greeting")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "hello-from-env-file"


def test_compose_services_reach_each_other_by_name(compose):
    """app fetches the page the `build:` service's image serves, by the service's name."""
    done = compose("exec", "app", "wget", "-q", "-O", "-", "http://web:8080/")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "built-by-compose"


def test_compose_down_removes_everything(compose):
    down = compose("down", "-v")
    assert down.returncode == 0, down.stdout + down.stderr
    podman = compose.client.podman
    assert podman("ps", "-a", "-q").stdout == ""
    assert podman("pod", "ps", "-q").stdout == ""
    assert f"{PROJECT}_shared" not in podman("volume", "ls", "-q").stdout
    assert f"{PROJECT}_default" not in podman("network", "ls", "--format", "{{.Name}}").stdout


# --------------------------------------------------------------------------------------------
# distrobox and toolbox (rootless)


@pytest.fixture(scope="module")
def distro(registry) -> str:
    """image_builder.distro_image, pushed to the test registry: its reference."""
    client = image_builder.RegistryClient(registry.url)
    client.push_image(image_builder.distro_image(), "test/distro", "latest")
    return f"{registry.host}/test/distro:latest"


@pytest.fixture(scope="module")
def rootless_client(rootless_user) -> Iterator[Client]:
    with _rootless_client(rootless_user) as client:
        yield client


@pytest.fixture(scope="module")
def system_bus() -> Iterator[None]:
    """toolbox bind-mounts the D-Bus system socket and refuses to create without one: a
    system bus for the module when the host runs none (no systemd here)."""
    if SYSTEM_BUS.exists():
        yield
        return
    SYSTEM_BUS.parent.mkdir(parents=True, exist_ok=True)
    started = subprocess.run(
        ["dbus-daemon", "--system", "--fork", "--print-pid", "--nopidfile"],
        capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip
    try:
        yield
    finally:
        os.kill(int(started.stdout.split()[0]), signal.SIGTERM)
        SYSTEM_BUS.unlink(missing_ok=True)  # dbus-daemon leaves its socket file behind


distrobox_tool = pytest.mark.needs_tool("distrobox")


@distrobox_tool
@pytest.mark.rootless
def test_distrobox_create(rootless_client, distro):
    done = rootless_client("distrobox", "create", "--yes", "--name", "dbx", "--image", distro)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "successfully created" in done.stderr


@distrobox_tool
@pytest.mark.rootless
def test_distrobox_enter_runs_as_the_user_after_init(rootless_client, rootless_user):
    """enter starts the container: distrobox-init, as root of a --privileged --userns keep-id
    container, mounts the host's directories, adds the user, and only then runs the command."""
    probe = "id -un; id -u; head -1 /etc/os-release; test -d /run/host/etc && echo host-mounted"
    done = rootless_client("distrobox", "enter", "dbx", "--", "sh", "-c", probe)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-4:] == [
        rootless_user.name, str(rootless_user.uid), "ID=podtest", "host-mounted",
    ]  # fmt: skip
    logs = rootless_client.podman("logs", "dbx").stdout
    assert "container_setup_done" in logs and "Warning" not in logs, logs


@distrobox_tool
@pytest.mark.rootless
def test_distrobox_list_and_stop(rootless_client):
    listed = rootless_client("distrobox", "list", "--no-color")
    assert listed.returncode == 0, listed.stderr
    row = [line for line in listed.stdout.splitlines() if "| dbx " in line]
    assert len(row) == 1 and "| Up " in row[0], listed.stdout  # ps's {{.State}}, as podman's
    stopped = rootless_client("distrobox", "stop", "--yes", "dbx")
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    listed = rootless_client("distrobox", "list", "--no-color")
    assert "| Exited (" in next(line for line in listed.stdout.splitlines() if "| dbx " in line)


@distrobox_tool
@pytest.mark.rootless
def test_distrobox_rm(rootless_client):
    done = rootless_client("distrobox", "rm", "--force", "dbx")
    assert done.returncode == 0, done.stdout + done.stderr
    assert rootless_client.podman("ps", "-a", "-q").stdout == ""


toolbox_tool = pytest.mark.needs_tool("toolbox", "dbus-daemon")


@toolbox_tool
@pytest.mark.rootless
def test_toolbox_create(rootless_client, distro, system_bus):
    done = rootless_client("toolbox", "create", "--image", distro, "tbx")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Created container: tbx" in done.stdout


@toolbox_tool
@pytest.mark.rootless
def test_toolbox_run_as_the_user(rootless_client, rootless_user, system_bus):
    """run starts the container (toolbox init-container: the user, sudo group, links to the
    host's /etc files), then runs the command as the user without capabilities, in the
    current directory (here the user's home: toolbox mounts it)."""
    probe = "id; pwd; grep CapEff /proc/self/status"
    done = rootless_client(
        "toolbox", "run", "--container", "tbx", "sh", "-c", probe, cwd=rootless_user.home
    )
    assert done.returncode == 0, done.stdout + done.stderr
    uid, gid, name = rootless_user.uid, rootless_user.gid, rootless_user.name
    assert done.stdout.splitlines() == [
        f"uid={uid}({name}) gid={gid}({name}) groups={gid}({name}),27(sudo)",
        str(rootless_user.home),
        "CapEff:\t0000000000000000",
    ]


@toolbox_tool
@pytest.mark.rootless
def test_toolbox_rm(rootless_client):
    done = rootless_client("toolbox", "rm", "--force", "tbx")
    assert done.returncode == 0, done.stdout + done.stderr
    assert rootless_client.podman("ps", "-a", "-q").stdout == ""


def test_volume_inspect_of_a_missing_volume_exits_125(pod):
    done = pod("volume", "inspect", "nosuch")
    assert (done.returncode, done.stdout) == (125, "[]\n")
    assert done.stderr == "Error: inspecting object: no such volume nosuch\n"

"""run/create flags of podman's that scripts and clients use (issue 14), with real containers.

Where pod's output is meant to be podman's, the same command line runs through podman 4.3 too
(podman_reference) and the exit codes and messages or outputs are compared.
"""

from __future__ import annotations

import json
import os
import re
import socket
from pathlib import Path

import podman_reference
import pytest
from podman_reference import error_line


@pytest.fixture(scope="module")
def podman(tmp_path_factory, test_images):
    ref = podman_reference.start(tmp_path_factory.mktemp("podman"), test_images.busybox.ref)
    yield ref
    ref.cleanup()


def same_failure(pod, podman, *args) -> None:
    """The command fails in pod as in podman: the same exit code and `Error:` line."""
    ours, theirs = pod(*args), podman(*args)
    assert ours.returncode == theirs.returncode != 0, (ours.stderr, theirs.stderr)
    assert error_line(ours.stderr) == error_line(theirs.stderr)


def namespaces(runner, *args) -> list[str]:
    done = runner(*args, "sh", "-c", "for f in ipc pid uts; do readlink /proc/self/ns/$f; done")
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


HOST_NAMESPACES = [os.readlink(f"/proc/self/ns/{kind}") for kind in ("ipc", "pid", "uts")]


# --- --ipc, --pid, --uts -------------------------------------------------------------------------


def test_host_namespaces(pod, runtime, busybox):
    run = ("run", "--rm", "--runtime", runtime, "--ipc", "host", "--pid", "host", "--uts", "host")
    assert namespaces(pod, *run, busybox) == HOST_NAMESPACES
    hostname = pod(*run, busybox, "hostname").stdout.strip()
    assert hostname == socket.gethostname()
    assert namespaces(pod, "run", "--rm", "--runtime", runtime, busybox) != HOST_NAMESPACES


@pytest.mark.rootless
def test_rootless_host_namespaces(rootless_pod, rootless_busybox, runtime):
    run = ("run", "--rm", "--runtime", runtime, "--ipc", "host", "--pid", "host", "--uts", "host")
    assert namespaces(rootless_pod, *run, rootless_busybox) == HOST_NAMESPACES
    # no pid namespace of its own: the kernel refuses a new proc, the host's is bound in
    seen = rootless_pod(*run, rootless_busybox, "sh", "-c", "test -d /proc/1 && ls /proc | wc -l")
    assert seen.returncode == 0 and int(seen.stdout) > 20, seen.stderr


def test_namespaces_of_another_container(pod, busybox):
    pod("run", "-d", "--name", "owner", busybox, "sleep", "300", check=True)
    pid = pod("inspect", "owner", "--format", "{{.State.Pid}}").stdout.strip()
    theirs = [os.readlink(f"/proc/{pid}/ns/{kind}") for kind in ("ipc", "pid", "uts")]
    joined = ("--ipc", "container:owner", "--pid", "container:owner", "--uts", "container:owner")
    assert namespaces(pod, "run", "--rm", *joined, busybox) == theirs
    seen = pod("run", "--rm", "--pid", "container:owner", busybox, "ps", "-o", "args")
    assert "sleep 300" in seen.stdout
    # it joined the owner's namespaces: the owner depends on nothing, but outlives nothing
    pod("create", "--name", "joiner", "--pid", "container:owner", busybox, check=True)
    refused = pod("rm", "-f", "owner")
    assert refused.returncode == 125 and "has dependent containers" in refused.stderr


def test_ipc_none_and_shareable(pod, podman, busybox):
    for mode in ("none", "shareable"):
        ours = pod("run", "--rm", "--ipc", mode, busybox, "ls", "/dev/shm")
        theirs = podman("run", "--rm", "--ipc", mode, podman.image, "ls", "/dev/shm")
        assert (ours.returncode, ours.stdout) == (theirs.returncode, theirs.stdout), mode


@pytest.mark.parametrize(
    "args",
    [
        ["--ipc", "bogus"],
        ["--pid", "bogus"],
        ["--uts", "bogus"],
        ["--uts", "host", "--hostname", "named"],
        ["--pid", "container:nosuch"],
        ["--ipc", "container:nosuch"],
        ["--uts", "ns:/nonexistent"],
    ],
)
def test_namespace_errors_as_podman(shared_pod, podman, test_images, args):
    pod, busybox = shared_pod, test_images.busybox.ref
    ours = pod("run", "--rm", *args, busybox, "true")
    theirs = podman("run", "--rm", *args, podman.image, "true")
    assert ours.returncode == theirs.returncode == 125
    assert error_line(ours.stderr) == error_line(theirs.stderr)


# --- --sysctl, --group-add, --annotation, --label-file ------------------------------------------


def test_sysctls(pod, busybox):
    done = pod("run", "--rm", "--sysctl", "net.ipv4.ip_forward=1", "--sysctl",
               "kernel.msgmax=1000", busybox, "cat", "/proc/sys/net/ipv4/ip_forward",
               "/proc/sys/kernel/msgmax")  # fmt: skip
    assert (done.returncode, done.stdout.split()) == (0, ["1", "1000"]), done.stderr


@pytest.mark.rootless
def test_rootless_sysctls(rootless_pod, rootless_busybox):
    done = rootless_pod("run", "--rm", "--sysctl", "kernel.msgmax=2000", "--sysctl",
                        "fs.mqueue.msg_max=20", rootless_busybox, "cat",
                        "/proc/sys/kernel/msgmax", "/proc/sys/fs/mqueue/msg_max")  # fmt: skip
    assert (done.returncode, done.stdout.split()) == (0, ["2000", "20"]), done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--sysctl", "kernel.hostname=x"],
        ["--sysctl", "foo"],
        ["--net", "host", "--sysctl", "net.ipv4.ip_forward=1"],
        ["--group-add", "keep-groups", "--group-add", "10"],
        ["--annotation", "novalue"],
        ["--label-file", "/nonexistent"],
        ["--no-hosts", "--add-host", "a:1.2.3.4"],
        ["--systemd", "bogus"],
        ["--volumes-from", "nosuch"],
        ["--tz", "Bogus/Zone"],
        ["-a", "bogus"],
        ["--platform", "linux/amd64", "--arch", "arm64"],
        ["--timeout", "-1"],
        ["--stop-timeout", "abc"],
        ["--stop-signal", "99"],
        ["--shm-size", "bogus"],
        ["--log-opt", "foo"],
        ["--log-opt", "max-size=abc"],
        ["--preserve-fds", "2"],
        ["--mount", "type=devpts"],
        ["--mount", "type=image,destination=/x"],
        ["--mount", "type=devpts,destination=/dev/pts,ro"],
        ["--requires", "nosuch"],
        ["--userns", "bogus"],
        ["--userns", "nomap"],
        ["--userns", "keep-id"],
        ["--userns", "auto:bogus"],
        ["--userns", "auto:size=abc"],
    ],
)
def test_flag_errors_as_podman(shared_pod, podman, test_images, args):
    pod, busybox = shared_pod, test_images.busybox.ref
    ours = pod("run", "--rm", *args, busybox, "true")
    theirs = podman("run", "--rm", *args, podman.image, "true")
    assert ours.returncode == theirs.returncode == 125, (ours.stderr, theirs.stderr)
    assert error_line(ours.stderr) == error_line(theirs.stderr)


def test_group_add(pod, busybox):
    done = pod("run", "--rm", "--group-add", "10", "--group-add", "tester", busybox, "id", "-G")
    assert (done.returncode, done.stdout.split()) == (0, ["0", "10", "1000"]), done.stderr
    missing = pod("run", "--rm", "--group-add", "nosuch", busybox, "id")
    assert missing.returncode == 125
    assert re.search(
        r"^Error: looking up supplemental groups for container [0-9a-f]{64}: Unable to find "
        "group nosuch: no matching entries in group file$",
        missing.stderr,
        re.M,
    )


def status_groups(text: str) -> list[int]:
    line = next(line for line in text.splitlines() if line.startswith("Groups:"))
    return [int(gid) for gid in line.split()[1:]]


@pytest.mark.rootless
def test_rootless_keep_groups(rootless_pod, rootless_busybox, rootless_user):
    """keep-groups: the process keeps the user's supplementary groups (the user's own gid is
    the container's 0, others show as the overflow gid), as with crun; without it, none."""
    kept = rootless_pod("run", "--rm", "--group-add", "keep-groups", rootless_busybox, "cat",
                        "/proc/self/status")  # fmt: skip
    plain = rootless_pod("run", "--rm", rootless_busybox, "cat", "/proc/self/status")
    own = os.getgrouplist(rootless_user.name, rootless_user.gid)
    wanted = sorted({0 if gid == rootless_user.gid else 65534 for gid in own})
    assert sorted(status_groups(kept.stdout)) == wanted, kept.stderr
    assert status_groups(plain.stdout) == [], plain.stderr


def test_annotations_and_label_files(pod, podman, busybox, tmp_path):
    labels = tmp_path / "labels"
    labels.write_text("a=1\n# comment\n\nbare\nc=3 4\n")
    args = ("--annotation", "x=y", "--annotation", "k=a=b", "--label-file", labels, "-l", "z=9")
    cid = pod("create", *args, busybox, "true", check=True).stdout.strip()
    theirs = podman("create", *args, podman.image, "true").stdout.strip()
    template = "{{json .Config.Labels}}"
    assert (
        pod("inspect", cid, "--format", template).stdout
        == podman("inspect", theirs, "--format", template).stdout
    )
    annotations = json.loads(pod("inspect", cid, "--format", "{{json .Config.Annotations}}").stdout)
    assert (annotations["x"], annotations["k"]) == ("y", "a=b")


# --- the environment ------------------------------------------------------------------------------


def env_lines(runner, image, *args, env=None) -> set[str]:
    done = runner("run", "--rm", *args, image, "/bin/env", env=env)
    assert done.returncode == 0, done.stderr
    return {line for line in done.stdout.splitlines() if not line.startswith("HOSTNAME=")}


def test_environment_flags_as_podman(pod, podman, busybox):
    """--unsetenv, --unsetenv-all, --http-proxy: the same variables as podman's, but for pod's
    own container=pod (podman's is container=podman)."""

    def ours(*args, env=None):
        lines = env_lines(pod, busybox, *args, env=env)
        return {line.replace("container=pod", "container=podman") for line in lines}

    cases = [
        (["--unsetenv", "PATH", "--unsetenv", "TERM"], None),
        (["--unsetenv-all", "-e", "A=1"], None),
        ([], {"http_proxy": "http://proxy:3128", "NO_PROXY": "local"}),
        (["--http-proxy=false"], {"http_proxy": "http://proxy:3128"}),
    ]
    for args, env in cases:
        assert ours(*args, env=env) == env_lines(podman, podman.image, *args, env=env), args


def test_env_host(pod, busybox):
    lines = env_lines(pod, busybox, "--env-host", env={"POD_TEST_FROM_HOST": "yes"})
    assert "POD_TEST_FROM_HOST=yes" in lines
    assert f"PATH={os.environ['PATH']}" in lines  # the host's wins over the image's


# --- /etc files: --tz, --hostuser, --no-hosts -----------------------------------------------------


def test_timezone_and_host_user_as_podman(pod, podman, busybox):
    user = "daemon"  # a host user the test image lacks
    cases = [
        (["--tz", "Europe/Paris"], ["date", "+%Z"]),
        (["--tz", "local"], ["date", "+%Z"]),
        (["--hostuser", user, "--hostuser", "0"], ["tail", "-n", "2", "/etc/passwd"]),
        (["--no-hosts"], ["cat", "/etc/hosts"]),
    ]
    for args, command in cases:
        ours = pod("run", "--rm", *args, busybox, *command)
        theirs = podman("run", "--rm", *args, podman.image, *command)
        assert (ours.returncode, ours.stdout) == (theirs.returncode, theirs.stdout), args


@pytest.mark.rootless
def test_rootless_timezone_and_host_user(rootless_pod, rootless_busybox, rootless_user):
    script = "date +%Z; tail -n 1 /etc/passwd"
    done = rootless_pod("run", "--rm", "--tz", "Asia/Tokyo", "--hostuser", rootless_user.name,
                        rootless_busybox, "sh", "-c", script)  # fmt: skip
    assert done.stdout.splitlines() == [
        "JST",
        f"{rootless_user.name}:*:{rootless_user.uid}:{rootless_user.gid}::/root:/bin/sh",
    ], done.stderr


# --- mounts: --systemd, devpts, --volumes-from, image ---------------------------------------------


def test_systemd_mode(pod, busybox):
    cid = pod("create", "--systemd=always", busybox, "sh", "-c",
              "mount; echo $container_uuid", check=True).stdout.strip()  # fmt: skip
    assert pod("inspect", cid, "--format", "{{.Config.StopSignal}}").stdout.strip() == "37"
    done = pod("start", "-a", cid)
    mounted = {line.split()[2]: line.split()[4] for line in done.stdout.splitlines()[:-1]}
    for directory in ("/run", "/run/lock", "/tmp", "/var/log/journal"):
        assert mounted.get(directory) == "tmpfs", done.stdout
    assert done.stdout.splitlines()[-1] == cid[:32]
    # --systemd=true: only a command that is an init or systemd
    plain = pod("create", busybox, "true", check=True).stdout.strip()
    assert pod("inspect", plain, "--format", "{{.Config.StopSignal}}").stdout.strip() == "15"


def test_devpts_mounts_as_podman(pod, podman, busybox):
    for mount in ("type=devpts,destination=/dev/pts2",
                  "type=devpts,destination=/dev/pts",
                  "type=devpts,destination=/dev/pts,uid=0,gid=5,mode=600,max=10"):  # fmt: skip
        script = "grep ' - devpts ' /proc/self/mountinfo | cut -d' ' -f5,10- | sort"
        ours = pod("run", "--rm", "--mount", mount, busybox, "sh", "-c", script)
        theirs = podman("run", "--rm", "--mount", mount, podman.image, "sh", "-c", script)
        assert ours.stdout == theirs.stdout, mount


@pytest.mark.rootless
def test_rootless_devpts_and_image_mounts(rootless_pod, rootless_busybox):
    done = rootless_pod("run", "--rm", "--mount", "type=devpts,destination=/dev/pts",
                        "--mount", f"type=image,source={rootless_busybox},destination=/img",
                        rootless_busybox, "sh", "-c", "grep -c ' /dev/pts ' /proc/mounts; "
                        "ls /img/bin/busybox; touch /img/x")  # fmt: skip
    assert done.stdout.split() == ["1", "/img/bin/busybox"], done.stderr
    assert "Read-only file system" in done.stderr


def test_volumes_from_as_podman(pod, podman, busybox, tmp_path):
    host_dir = tmp_path / "shared"
    host_dir.mkdir()
    source = ("-v", f"{host_dir}:/data", "-v", "namedvol:/named:ro", "-v", "/anon")
    pod("create", "--name", "src", *source, busybox, check=True)
    podman("create", "--name", "src", *source, podman.image)
    script = "for d in /data /named /anon; do grep \" $d \" /proc/mounts | cut -d' ' -f2; done"
    for wanted in ("src", "src:ro", "src:rw"):
        ours = pod("run", "--rm", "--volumes-from", wanted, busybox, "sh", "-c", script)
        theirs = podman("run", "--rm", "--volumes-from", wanted, podman.image, "sh", "-c", script)
        assert (ours.returncode, ours.stdout) == (theirs.returncode, theirs.stdout), wanted
        modes = pod("run", "--rm", "--volumes-from", wanted, busybox, "sh", "-c",
                    "for d in /data /named /anon; do grep \" $d \" /proc/mounts | "
                    "cut -d' ' -f4 | cut -d, -f1; done").stdout.split()  # fmt: skip
        assert modes == {"src": ["rw", "ro", "rw"], "src:ro": ["ro"] * 3,
                         "src:rw": ["rw"] * 3}[wanted]  # fmt: skip
    same_failure(pod, podman, "run", "--rm", "--volumes-from", "src:bogus", busybox, "true")
    # a -v of the same destination wins over the other container's
    mine = pod("run", "--rm", "--volumes-from", "src", "-v", f"{tmp_path}:/data", busybox,
               "ls", "/data")  # fmt: skip
    assert "shared" in mine.stdout.split()


def test_image_mount(pod, busybox):
    read_only = pod("run", "--rm", "--mount", f"type=image,source={busybox},destination=/img",
                    busybox, "sh", "-c", "ls /img/bin/busybox; touch /img/x")  # fmt: skip
    assert read_only.stdout == "/img/bin/busybox\n"
    assert "Read-only file system" in read_only.stderr
    writable = pod("run", "--name", "rw", "--mount",
                   f"type=image,source={busybox},destination=/img,rw=true", busybox, "sh", "-c",
                   "echo kept > /img/new && cat /img/new")  # fmt: skip
    assert writable.stdout == "kept\n", writable.stderr
    pod("rm", "rw", check=True)
    assert "image-mounts" not in Path("/proc/self/mountinfo").read_text()
    unknown = pod("run", "--rm", "--mount", "type=image,src=nosuch,dst=/img", busybox, "true")
    assert error_line(unknown.stderr) == (
        'Error: creating image volume "nosuch":"/img": nosuch: image not known'
    )


# --- dependencies, attach streams, --rmi, networks ----------------------------------------------


def test_requires(pod, podman, busybox):
    pod("create", "--name", "base", busybox, "sleep", "300", check=True)
    pod("create", "--name", "dependent", "--requires", "base", busybox, "true", check=True)
    assert pod("start", "dependent").stdout == "dependent\n"
    state = pod("inspect", "base", "--format", "{{.State.Status}}").stdout.strip()
    assert state == "running"
    base_id = pod("inspect", "base", "--format", "{{.Id}}").stdout.strip()
    dependent = pod("inspect", "dependent", "--format", "{{json .Dependencies}}").stdout
    assert json.loads(dependent) == [base_id]
    podman("create", "--name", "base", podman.image, "sleep", "300")
    podman("create", "--name", "dependent", "--requires", "base", podman.image, "true")
    ours, theirs = pod("rm", "-f", "base"), podman("rm", "-f", "base")
    assert ours.returncode == theirs.returncode == 125
    pattern = (r"^Error: container [0-9a-f]{64} has dependent containers which must be removed "
               r"before it: [0-9a-f]{64}: container already exists$")  # fmt: skip
    assert re.match(pattern, error_line(ours.stderr)) and re.match(
        pattern, error_line(theirs.stderr)
    )
    assert pod("rm", "-a", "-f", "-t", "0").returncode == 0  # dependents go first
    assert pod("ps", "-a", "-q").stdout == ""


def test_attach_streams_as_podman(pod, podman, busybox):
    script = "echo out; echo err >&2"
    for streams in (["-a", "stdout"], ["-a", "stderr"], ["-a", "stdout", "-a", "STDERR"]):
        ours = pod("run", "--rm", *streams, busybox, "sh", "-c", script)
        theirs = podman("run", "--rm", *streams, podman.image, "sh", "-c", script)
        assert (ours.returncode, ours.stdout, ours.stderr) == (
            theirs.returncode,
            theirs.stdout,
            theirs.stderr,
        ), streams
    # attached to stdin alone, podman runs the container detached and prints its ID
    alone = pod("run", "-a", "stdin", busybox, "true")
    assert re.fullmatch(r"[0-9a-f]{64}\n", alone.stdout), alone.stderr


def test_rmi_removes_the_name_it_ran(pod, busybox):
    pod("tag", busybox, "localhost/copy:latest", check=True)
    done = pod("run", "--name", "once", "--rmi", "localhost/copy", "echo", "ran")
    assert done.stdout == "ran\n", done.stderr
    names = pod("images", "--format", "{{.Repository}}").stdout.split()
    assert "localhost/copy" not in names and names  # the image stays under its other name
    assert pod("ps", "-a", "--format", "{{.Names}}").stdout == "once\n"  # not --rm


def test_published_ports_discarded_with_podmans_notice(pod, podman, busybox):
    for network in ("host", "none"):
        ours = pod("run", "--rm", "--net", network, "-p", "8080:80", busybox, "true")
        theirs = podman("run", "--rm", "--net", network, "-p", "8080:80", podman.image, "true")
        assert (
            (ours.returncode, ours.stderr)
            == (theirs.returncode, theirs.stderr)
            == (
                0,
                "Port mappings have been discarded as one of the Host, Container, Pod, and None "
                "network modes are in use\n",
            )
        )


def test_conmon_pidfile_as_podman(pod, podman, busybox, tmp_path):
    """--conmon-pidfile: the supervisor's pid, the bare number (conmon's), left after rm."""
    for runner, image in ((pod, busybox), (podman, podman.image)):
        path = tmp_path / f"{runner is pod}.pid"
        runner("run", "-d", "--name", "supervised", "--conmon-pidfile", path, image, "sleep",
               "300")  # fmt: skip
        pid = runner("inspect", "supervised", "--format", "{{.State.ConmonPid}}").stdout.strip()
        assert path.read_text() == pid and int(pid) > 0
        assert oct(path.stat().st_mode & 0o777) == "0o644"
        shown = runner("inspect", "supervised", "--format", "{{.ConmonPidFile}}").stdout.strip()
        assert shown == str(path)
        runner("rm", "-f", "-t", "0", "supervised")
        assert path.exists()


def test_network_of_a_stopped_container(pod, busybox):
    pod("create", "--name", "holder", busybox, "sleep", "300", check=True)
    pod("create", "--name", "guest", "--net", "container:holder", busybox, check=True)
    done = pod("run", "--rm", "--net", "container:holder", busybox, "echo", "joined")
    assert done.stdout == "joined\n", done.stderr
    assert pod("inspect", "holder", "--format", "{{.State.Status}}").stdout.strip() == "running"


def test_platform_of_a_local_image(pod, test_images):
    """A local image for another platform does not satisfy --platform: that one is pulled."""
    image = test_images.multiarch.ref
    pod("pull", "-q", "--arch", "arm64", image, check=True)
    assert pod("image", "inspect", image, "--format", "{{.Architecture}}").stdout == "arm64\n"
    native = test_images.multiarch.children[f"linux/{image_arch()}"].id
    cid = pod("create", "--platform", f"linux/{image_arch()}", image, "true", check=True)
    assert pod("inspect", cid.stdout.strip(), "--format", "{{.Image}}").stdout.strip() == native
    # now the name is the native image's: with --pull never, arm64 is not to be had
    never = pod("create", "--pull", "never", "--arch", "arm64", image, "true")
    assert never.returncode == 125 and "image not known" in never.stderr


def image_arch() -> str:
    from image_builder import native_arch

    return native_arch()


# --- rootless: what distrobox's init needs --------------------------------------------------------


@pytest.mark.rootless
def test_rootless_privileged_keep_id_root_can_mount(rootless_pod, rootless_busybox):
    done = rootless_pod("run", "--rm", "--privileged", "--userns", "keep-id", "--user",
                        "root:root", "--net", "none", "--pid", "host", "--ipc", "host",
                        "--mount", "type=devpts,destination=/dev/pts", "--annotation",
                        "run.oci.keep_original_groups=1", rootless_busybox, "sh", "-c",
                        "mkdir -p /tmp/m && mount -t tmpfs tmpfs /tmp/m && "
                        "mount --bind /etc /tmp/m && echo mounted")  # fmt: skip
    assert (done.returncode, done.stdout) == (0, "mounted\n"), done.stderr


# --- slirp4netns with options, rootful and rootless -----------------------------------------------

SLIRP_OPTIONS = "slirp4netns:cidr=10.42.0.0/24,allow_host_loopback=true,port_handler=slirp4netns"
TAP_SCRIPT = "ip -4 addr show tap0 | grep inet; ip route"


def test_rootful_slirp4netns_options_as_podman(pod, podman, busybox):
    ours = pod("run", "--rm", "--network", SLIRP_OPTIONS, busybox, "sh", "-c", TAP_SCRIPT)
    theirs = podman("run", "--rm", "--network", SLIRP_OPTIONS, podman.image, "sh", "-c",
                    TAP_SCRIPT)  # fmt: skip
    assert (ours.returncode, ours.stdout) == (theirs.returncode, theirs.stdout), ours.stderr
    assert "10.42.0.100/24" in ours.stdout
    bad_options = ("bogus=1", "cidr=abc", "mtu=abc", "allow_host_loopback=maybe",
                   "enable_ipv6=maybe")  # fmt: skip
    for bad in (f"slirp4netns:{option}" for option in bad_options):
        ours = pod("run", "--rm", "--network", bad, busybox, "true")
        theirs = podman("run", "--rm", "--network", bad, podman.image, "true")
        assert ours.returncode != 0 and theirs.returncode != 0, bad
        assert error_line(ours.stderr) == error_line(theirs.stderr), bad

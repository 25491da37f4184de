"""podman's global flags, build's flags and exec's (issue 14), with podman 4.3 as the
reference where the output is meant to be the same."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import time

import podman_reference
import pytest
import terminal
from podman_reference import error_line


@pytest.fixture(scope="module")
def podman(tmp_path_factory, test_images):
    ref = podman_reference.start(tmp_path_factory.mktemp("podman"), test_images.busybox.ref)
    yield ref
    ref.cleanup()


# --- global flags ---------------------------------------------------------------------------------


def test_log_level_values_as_podman(pod, podman):
    ours, theirs = pod("--log-level", "bogus", "ps"), podman("--log-level", "bogus", "ps")
    assert (ours.returncode, ours.stdout) == (theirs.returncode, theirs.stdout) == (1, "")
    assert (
        ours.stderr.splitlines()[0]
        == theirs.stderr.splitlines()[0]
        == (
            'Log Level "bogus" is not supported, choose from: trace, debug, info, warn, warning, '
            "error, fatal, panic"
        )
    )
    for level in ("trace", "debug", "info", "warning", "error", "fatal", "panic"):
        assert pod("--log-level", level, "ps", "-q").returncode == 0, level


@pytest.mark.parametrize(
    "args",
    [
        ["--cgroup-manager", "bogus", "ps"],
        ["--storage-opt", "bogus", "ps"],
        ["--storage-opt", "foo=bar", "ps"],
    ],
)
def test_global_flag_errors_as_podman(pod, podman, args):
    ours, theirs = pod(*args), podman(*args)
    assert ours.returncode == theirs.returncode == 125
    assert error_line(ours.stderr) == error_line(theirs.stderr)


def test_noout(pod, podman, busybox):
    for runner in (pod, podman):
        assert runner("--noout", "images").stdout == ""
        assert runner("--noout", "volume", "create", "quiet").stdout == ""
    assert pod("volume", "ls", "-q").stdout == "quiet\n"


def test_volumepath_must_be_the_stores_own(pod):
    mine = pod.root / "volumes"
    assert pod("--volumepath", mine, "volume", "ls").returncode == 0
    other = pod("--volumepath", pod.tmp / "elsewhere", "volume", "ls")
    assert other.returncode == 125
    assert error_line(other.stderr) == (
        f'Error: database volume path "{mine}" does not match our volume path '
        f'"{pod.tmp / "elsewhere"}": database configuration mismatch'
    )


def test_default_mounts_file(pod, podman, busybox, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "s.txt").write_text("secret\n")
    conf = tmp_path / "mounts.conf"
    conf.write_text(f"{shared}:/run/dm\n/nonexistent:/run/gone\n")
    script = "cat /run/dm/s.txt; echo x > /run/dm/new && echo wrote; ls /run/gone"
    for runner, image in ((pod, busybox), (podman, podman.image)):
        done = runner("--default-mounts-file", conf, "run", "--rm", image, "sh", "-c", script)
        assert done.stdout == "secret\nwrote\n", done.stderr
    assert sorted(os.listdir(shared)) == ["s.txt"]  # the container wrote to its own copy
    assert pod("--default-mounts-file", tmp_path / "nonexistent", "ps").returncode == 0


def test_runtime_flags_reach_runc(pod, busybox):
    assert pod("run", "--rm", "--runtime", "runc", busybox, "true").returncode == 0
    bad = pod("--runtime-flag", "no-such-runc-flag", "run", "--rm", "--runtime", "runc", busybox,
              "true")  # fmt: skip
    assert bad.returncode != 0 and "runc" in bad.stderr
    ok = pod("--runtime-flag", "debug", "run", "--rm", "--runtime", "runc", busybox, "echo", "ok")
    assert ok.stdout == "ok\n", ok.stderr


def test_storage_opts(pod, busybox):
    done = pod("--storage-opt", "overlay.mountopt=nodev", "run", "--rm", busybox, "sh", "-c",
               "grep ' / overlay ' /proc/mounts | cut -d' ' -f4 | cut -d, -f1-2")  # fmt: skip
    assert done.stdout == "rw,nodev\n", done.stderr


def test_cgroup_manager_systemd_needs_systemd(pod, busybox):
    if os.path.isdir("/run/systemd/system"):
        pytest.skip("systemd runs here: pod then warns and uses cgroupfs")
    done = pod("--cgroup-manager", "systemd", "run", "--rm", busybox, "true")
    assert error_line(done.stderr) == (
        "Error: systemd not running on this host, cannot use systemd cgroups manager"
    )
    assert pod("--cgroup-manager", "cgroupfs", "run", "--rm", busybox, "true").returncode == 0


# --- build ----------------------------------------------------------------------------------------


@pytest.fixture
def context(tmp_path, busybox):
    directory = tmp_path / "context"
    directory.mkdir()
    (directory / "Containerfile").write_text(f"FROM {busybox}\nRUN echo step > /step\n")
    return directory


def test_build_pull_values(pod, busybox, context):
    pod("tag", busybox, "localhost/local-only", check=True)
    (context / "Local").write_text("FROM localhost/local-only\nRUN true\n")
    local = ("-f", context / "Local", context)
    assert pod("build", "-q", *local).returncode == 0  # missing: the local image will do
    for args in (["--pull"], ["--pull=always"], ["--pull=true"]):
        assert pod("build", "-q", *args, *local).returncode == 125, args  # not in a registry
    for args in (["--pull=never"], ["--pull-never"], ["--pull=false"], ["--pull=newer"]):
        assert pod("build", "-q", *args, *local).returncode == 0, args
    # a bare --pull never takes the next word: it means always (and fails here), where
    # taking "." as its value would have meant missing (and worked)
    assert pod("build", "-q", "--pull", ".", "-f", context / "Local",
               cwd=context).returncode == 125  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--cache-ttl", "bogus"],
            'Error: unable to parse value provided "bogus" as --cache-ttl: time: invalid duration '
            '"bogus"',
        ),
        (
            ["--jobs", "-1"],
            "Error: building: invalid value for jobs.  It must be a positive integer",
        ),
    ],
)
def test_build_flag_errors_as_podman(pod, podman, context, args, message):
    ours, theirs = pod("build", *args, context), podman("build", *args, context)
    assert ours.returncode == theirs.returncode == 125
    assert error_line(ours.stderr) == error_line(theirs.stderr) == message


def test_build_cache_flags(pod, context):
    first = pod("build", context)
    assert "Using cache" not in first.stdout, first.stderr
    assert "Using cache" in pod("build", context).stdout
    assert "Using cache" in pod("build", "--cache-ttl", "1h", context).stdout
    time.sleep(0.01)
    assert "Using cache" not in pod("build", "--cache-ttl", "1ms", context).stdout
    assert "Using cache" not in pod("build", "--layers=false", context).stdout
    layers_off = pod("build", context, env={"BUILDAH_LAYERS": "false"})
    assert "Using cache" not in layers_off.stdout
    assert "Using cache" in pod("build", "--jobs", "4", context).stdout


def test_build_ignorefile_logfile_ulimit(pod, context, tmp_path):
    (context / "keep").write_text("kept\n")
    (context / "drop").write_text("dropped\n")
    ignore = tmp_path / "my.ignore"
    ignore.write_text("drop\n")
    (context / "Containerfile").write_text(
        (context / "Containerfile").read_text() + "COPY . /ctx\nRUN ulimit -n > /nofile\n"
    )
    log = tmp_path / "build.log"
    done = pod("build", "--ignorefile", ignore, "--logfile", log, "--ulimit", "nofile=321:321",
               "-t", "localhost/flagged", context)  # fmt: skip
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    text = log.read_text()
    assert "STEP 1/4" in text and re.search(r"^[0-9a-f]{64}$", text, re.M)
    listing = pod("run", "--rm", "localhost/flagged", "sh", "-c", "ls /ctx; cat /nofile")
    assert "drop" not in listing.stdout.split() and "keep" in listing.stdout.split()
    assert listing.stdout.split()[-1] == "321"
    missing = pod("build", "--ignorefile", tmp_path / "nonexistent", context)
    assert missing.returncode == 125


def test_build_registry_access_flags(pod, tls_registry, busybox, context, tmp_path):
    """--tls-verify, --cert-dir, --authfile and --creds reach the base image's pull."""
    user = f"{tls_registry.username}:{tls_registry.password}"
    base = f"{tls_registry.host}/flags/base:latest"
    certs = ("--cert-dir", tls_registry.certs_d / tls_registry.host)
    assert pod("push", *certs, "--creds", user, busybox, base).returncode == 0
    (context / "Remote").write_text(f"FROM {base}\nRUN true\n")
    remote = ("-q", "--pull=always", "-f", context / "Remote", context)
    assert pod("build", *certs, *remote).returncode == 125  # no credentials
    assert pod("build", *certs, "--creds", user, *remote).returncode == 0
    assert pod("build", "--creds", user, *remote).returncode == 125  # an unknown CA
    assert pod("build", "--tls-verify=false", "--creds", user, *remote).returncode == 0
    auth = tmp_path / "auth.json"
    login = pod("login", "--authfile", auth, *certs, "-u", tls_registry.username,
                "-p", tls_registry.password, tls_registry.host)  # fmt: skip
    assert login.returncode == 0, login.stderr
    assert pod("build", *certs, "--authfile", auth, *remote).returncode == 0


# --- exec -----------------------------------------------------------------------------------------


def passing_fd3(command: list[str], path) -> list[str]:
    """`command` run with `path` open on fd 3, as a shell hands it on."""
    return ["sh", "-c", f"exec 3<{shlex.quote(str(path))}; exec {shlex.join(map(str, command))}"]


def test_exec_preserve_fds(pod, runtime, busybox, tmp_path):
    passed = tmp_path / "passed"
    passed.write_text("through fd 3\n")
    pod("run", "-d", "--runtime", runtime, "--name", "target", busybox, "sleep", "300",
        check=True)  # fmt: skip
    command = pod.command("exec", "--preserve-fds", "1", "target", "cat", "/proc/self/fd/3")
    done = subprocess.run(passing_fd3(command, passed), env=pod.env(), capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert (done.returncode, done.stdout) == (0, "through fd 3\n"), done.stderr
    missing = pod("exec", "--preserve-fds", "2", "target", "true")
    assert missing.returncode == 125
    assert error_line(missing.stderr).startswith("Error: file descriptor ")


@pytest.mark.rootless
def test_rootless_exec_preserve_fds(rootless_pod, rootless_busybox, rootless_user):
    passed = rootless_pod.tmp / "passed"
    passed.write_text("rootless fd 3\n")
    os.chown(passed, rootless_user.uid, rootless_user.gid)
    rootless_pod("run", "-d", "--name", "target", rootless_busybox, "sleep", "300", check=True)
    command = [rootless_user.pod_bin, "--root", rootless_pod.root, "--runroot",
               rootless_pod.runroot, "exec", "--preserve-fds", "1", "target", "cat",
               "/proc/self/fd/3"]  # fmt: skip
    done = rootless_user.run(*passing_fd3(command, passed))
    assert (done.returncode, done.stdout) == (0, "rootless fd 3\n"), done.stderr


def test_exec_detach_keys(pod, busybox):
    pod("run", "-d", "--name", "target", busybox, "sleep", "300", check=True)
    pid, master = terminal.spawn(
        pod.command("exec", "-it", "--detach-keys", "ctrl-x", "target", "sh"), pod.env()
    )
    terminal.wait_for_prompt(master)
    assert terminal.type_until_answered(master)
    os.write(master, b"\x18")
    assert terminal.exit_code(pid) == 0
    os.close(master)
    # "" turns them off (distrobox's way): ctrl-p reaches the shell
    pid, master = terminal.spawn(
        pod.command("exec", "-it", "--detach-keys", "", "target", "sh"), pod.env()
    )
    terminal.wait_for_prompt(master)
    os.write(master, b"\x10\x11exit 4\r")
    assert terminal.exit_code(pid) == 4
    os.close(master)

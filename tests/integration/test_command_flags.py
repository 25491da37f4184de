"""attach, start, stop, diff, logs --color, volumes, push --format docker, buildx (issue 14),
with podman 4.3 as the reference where the output is meant to be the same."""

from __future__ import annotations

import io
import os
import re
import tarfile

import podman_reference
import pytest
import requests
import terminal
from podman_reference import error_line
from polling import wait_for


@pytest.fixture(scope="module")
def podman(tmp_path_factory, test_images):
    ref = podman_reference.start(tmp_path_factory.mktemp("podman"), test_images.busybox.ref)
    yield ref
    ref.cleanup()


def both(pod, podman, busybox, *args):
    """The same command through pod and podman, the image named by `{image}` in `args`."""
    ours = pod(*(busybox if a == "{image}" else a for a in args))
    theirs = podman(*(podman.image if a == "{image}" else a for a in args))
    return ours, theirs


# --- attach ---------------------------------------------------------------------------------------


def test_attach_as_podman(pod, podman, busybox):
    script = "sleep 1; echo late; exit 3"
    for runner, image in ((pod, busybox), (podman, podman.image)):
        runner("run", "-d", "--name", "late", image, "sh", "-c", script)
    ours, theirs = pod("attach", "--no-stdin", "late"), podman("attach", "--no-stdin", "late")
    # podman 4.3 exits 0 whatever the container's code (it adds a blank line of its own)
    assert (ours.returncode, ours.stdout.strip()) == (theirs.returncode, theirs.stdout.strip())
    assert ours.returncode == 0 and ours.stdout == "late\n"
    for name in ("late", "nosuch"):
        ours, theirs = pod("attach", name), podman("attach", name)
        assert ours.returncode == theirs.returncode == 125
        assert error_line(ours.stderr) == error_line(theirs.stderr)


def test_attach_forwards_stdin(pod, busybox):
    pod("run", "-d", "-i", "--name", "reader", busybox, "sh", "-c", "read x; echo got $x",
        check=True)  # fmt: skip
    done = pod("attach", "reader", input="hello\n")
    assert (done.returncode, done.stdout) == (0, "got hello\n"), done.stderr


def test_attach_detach_keys_leave_it_running(pod, busybox):
    pod("run", "-d", "-i", "-t", "--name", "shell", busybox, "sh", check=True)
    pid, master = terminal.spawn(pod.command("attach", "--detach-keys", "ctrl-x", "shell"),
                                 pod.env())  # fmt: skip
    assert terminal.type_until_answered(master)
    os.write(master, b"\x18")
    assert terminal.exit_code(pid) == 0
    os.close(master)
    state = pod("inspect", "shell", "--format", "{{.State.Status}}").stdout.strip()
    assert state == "running"


# --- start, stop, diff ----------------------------------------------------------------------------


def test_start_all_filter_latest(pod, podman, busybox):
    for runner, image in ((pod, busybox), (podman, podman.image)):
        runner("create", "--name", "s1", "--label", "pick=1", image, "true")
        runner("create", "--name", "s2", image, "sleep", "60")
    started = pod("start", "--all")
    ids = {pod("inspect", n, "--format", "{{.Id}}").stdout.strip() for n in ("s1", "s2")}
    assert set(started.stdout.split()) == ids, started.stderr
    wait_for(lambda: pod("inspect", "s1", "--format", "{{.State.Status}}").stdout == "exited\n")
    again = pod("start", "--filter", "label=pick=1")
    assert again.stdout.split() == [pod("inspect", "s1", "--format", "{{.Id}}").stdout.strip()]
    for args in (["s1", "s2", "-a"], ["--all", "s1"], []):
        ours, theirs = pod("start", *args), podman("start", *args)
        assert ours.returncode == theirs.returncode == 125, args
        assert error_line(ours.stderr) == error_line(theirs.stderr)
    stopped = pod("stop", "--timeout", "0", "--latest")
    assert stopped.returncode == 0 and stopped.stdout.strip() in ids


def test_stop_with_no_timeout_kills_without_the_stop_signal_as_podman(pod, podman, busybox):
    """`stop -t 0`: SIGKILL alone, so a SIGTERM handler never runs (podman's exit 137)."""
    script = 'trap "echo got-TERM; exit 3" TERM; echo ready; while true; do :; done'
    seen = []
    for runner, image in ((pod, busybox), (podman, podman.image)):
        assert runner("run", "-d", "--name", "trapper", image, "sh", "-c", script).returncode == 0
        wait_for(lambda runner=runner: runner("logs", "trapper").stdout == "ready\n")
        assert runner("stop", "-t", "0", "trapper").returncode == 0
        code = runner("inspect", "--format", "{{.State.ExitCode}}", "trapper").stdout
        seen.append((runner("logs", "trapper").stdout, code))
    assert seen[0] == seen[1] == ("ready\n", "137\n")


def test_start_attach_interactive_as_podman(pod, podman, busybox):
    """start -a -i: stdin reaches the container, its output and exit code come back."""
    script = "read line; echo got $line; exit 3"
    for runner, image in ((pod, busybox), (podman, podman.image)):
        runner("create", "-i", "--name", "reader", image, "sh", "-c", script)
    ours = pod("start", "-a", "-i", "reader", input="hello\n")
    theirs = podman("start", "-a", "-i", "reader", input="hello\n")
    assert (
        (ours.returncode, ours.stdout) == (theirs.returncode, theirs.stdout) == (3, "got hello\n")
    )


def test_diff_latest(pod, busybox):
    pod("run", "--name", "changer", busybox, "touch", "/new-file", check=True)
    assert "A /new-file" in pod("diff", "-l").stdout.splitlines()


# --- logs --color ---------------------------------------------------------------------------------


def test_logs_color_as_podman(pod, podman, busybox):
    for runner, image in ((pod, busybox), (podman, podman.image)):
        for name in ("c1", "c2", "c3"):
            runner("run", "--name", name, image, "echo", f"from-{name}")
    for args in (["-n", "c1", "c2", "c3"], ["c2"], ["-n", "c3", "c1"]):
        ours, theirs = pod("logs", "--color", *args), podman("logs", "--color", *args)
        # the colours follow the order named; podman prints the containers in any order
        assert (ours.returncode, sorted(ours.stdout.splitlines())) == (
            theirs.returncode,
            sorted(theirs.stdout.splitlines()),
        ), args
    assert pod("logs", "--color", "-n", "c1", "c2").stdout == (
        "\x1b[37mc1 from-c1\x1b[0m\n\x1b[31mc2 from-c2\x1b[0m\n"
    )


# --- volumes --------------------------------------------------------------------------------------


def test_volume_options_as_podman(pod, podman, busybox):
    opts = ("-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=uid=1000,nr_inodes=100")
    for runner in (pod, podman):
        assert runner("volume", "create", *opts, "tv").stdout == "tv\n"
    template = "{{json .Options}}"
    ours, theirs = both(pod, podman, busybox, "volume", "inspect", "tv", "--format", template)
    assert ours.stdout == theirs.stdout
    script = "grep ' /tv ' /proc/mounts | cut -d' ' -f1,3; ls -nd /tv | tr -s ' ' | cut -d' ' -f3"
    ours, theirs = both(pod, podman, busybox, "run", "--rm", "-v", "tv:/tv", "{image}", "sh",
                        "-c", script)  # fmt: skip
    assert ours.stdout == theirs.stdout == "tmpfs tmpfs\n1000\n", (ours.stderr, theirs.stderr)
    data = pod.root / "volumes" / "tv" / "_data"
    assert not os.path.ismount(data)  # unmounted with its last user
    assert pod("volume", "mount", "tv").stdout == f"{data}\n"
    assert os.path.ismount(data)
    assert pod("volume", "unmount", "tv").stdout == "tv\n"
    assert not os.path.ismount(data)
    assert pod("volume", "rm", "tv").returncode == 0
    for args in (["-o", "bogus=1", "bv"], ["-o", "o=size=10m", "sv"], ["--driver", "foo", "dv"]):
        ours, theirs = both(pod, podman, busybox, "volume", "create", *args)
        assert ours.returncode == theirs.returncode == 125, args
        assert error_line(ours.stderr) == error_line(theirs.stderr)


def test_volume_owner_option(pod, busybox):
    pod("volume", "create", "-o", "o=uid=5,gid=6", "owned", check=True)
    done = pod("run", "--rm", "-v", "owned:/o", busybox, "stat", "-c", "%u %g", "/o")
    assert done.stdout == "5 6\n", done.stderr


def tar_listing(data: bytes) -> list[tuple[str, int, int, int, str]]:
    """Names, owners, permission bits and link targets (Go's tar also sets the file type bits
    in the mode field, which tar readers ignore)."""
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return [(m.name, m.uid, m.gid, m.mode & 0o7777, m.linkname) for m in tar.getmembers()]


def test_volume_export_import_as_podman(pod, podman, busybox, tmp_path):
    script = "mkdir -p /e/d && echo hi > /e/d/f && chown 5:6 /e/d/f && ln -s f /e/d/link"
    exported = {}
    for name, runner, image in (("pod", pod, busybox), ("podman", podman, podman.image)):
        runner("volume", "create", "ev")
        runner("run", "--rm", "-v", "ev:/e", image, "sh", "-c", script)
        out = tmp_path / f"{name}.tar"
        assert runner("volume", "export", "ev", "-o", out).returncode == 0
        exported[name] = tar_listing(out.read_bytes())
    assert exported["pod"] == exported["podman"]
    streamed = pod("volume", "export", "ev", text=False).stdout
    assert tar_listing(streamed) == exported["pod"]
    pod("volume", "create", "iv", check=True)
    assert pod("volume", "import", "iv", tmp_path / "podman.tar").returncode == 0
    seen = pod("run", "--rm", "-v", "iv:/i", busybox, "stat", "-c", "%n %u %g", "/i/d/f")
    assert seen.stdout == "/i/d/f 5 6\n", seen.stderr
    pod("volume", "create", "sv", check=True)
    assert pod("volume", "import", "sv", "-", input=(tmp_path / "pod.tar").read_bytes(),
               text=False).returncode == 0  # fmt: skip
    for args in (["import", "iv", "/nonexistent"], ["import", "nosuch", tmp_path / "pod.tar"],
                 ["export", "nosuch"]):  # fmt: skip
        ours, theirs = both(pod, podman, busybox, "volume", *args)
        assert ours.returncode == theirs.returncode == 125, args
        assert error_line(ours.stderr) == error_line(theirs.stderr)
    assert pod("volume", "list", "-q").stdout.split() == ["ev", "iv", "sv"]


def test_hostile_volume_import_stays_inside(pod, tmp_path):
    hostile = tmp_path / "hostile.tar"
    with tarfile.open(hostile, "w") as tar:
        info = tarfile.TarInfo("../../escaped")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"evil"))
    pod("volume", "create", "target", check=True)
    done = pod("volume", "import", "target", hostile)
    assert done.returncode == 125
    assert not list(tmp_path.rglob("escaped")) and not (pod.root / "escaped").exists()


@pytest.mark.rootless
def test_rootless_volumes(rootless_pod, rootless_busybox, tmp_path):
    pod = rootless_pod
    pod("volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=uid=1000", "tv",
        check=True)  # fmt: skip
    done = pod("run", "--rm", "-v", "tv:/tv", rootless_busybox, "sh", "-c",
               "grep -c ' /tv tmpfs ' /proc/mounts; stat -c %u /tv")  # fmt: skip
    assert done.stdout.split() == ["1", "1000"], done.stderr
    refused = pod("volume", "mount", "tv")
    assert refused.returncode == 125 and "in rootless mode" in refused.stderr
    pod("volume", "create", "-o", "o=uid=5,gid=6", "owned", check=True)
    pod("run", "--rm", "-v", "owned:/o", rootless_busybox, "sh", "-c",
        "echo hi > /o/f && chown 7:8 /o/f && chmod 600 /o/f", check=True)  # fmt: skip
    exported = pod("volume", "export", "owned")  # the files belong to subordinate ids
    assert exported.returncode == 0, exported.stderr
    pod("volume", "create", "copy", check=True)
    pod("volume", "export", "owned", "-o", f"{pod.tmp}/owned.tar", check=True)
    assert pod("volume", "import", "copy", f"{pod.tmp}/owned.tar").returncode == 0
    seen = pod("run", "--rm", "-v", "copy:/c", rootless_busybox, "stat", "-c", "%u %g %a",
               "/c/f")  # fmt: skip
    assert seen.stdout == "7 8 600\n", seen.stderr
    assert pod("volume", "rm", "tv", "owned", "copy").returncode == 0


# --- push --format docker, buildx -----------------------------------------------------------------


def test_push_format_docker(pod, podman, busybox, registry):
    target = f"{registry.host}/flags/docker-format:latest"
    assert pod("push", "--format", "docker", busybox, target).returncode == 0
    manifest = requests.get(
        f"{registry.url}/v2/flags/docker-format/manifests/latest",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
        timeout=30,
    ).json()
    assert manifest["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    ours, theirs = both(pod, podman, busybox, "push", "--format", "bogus", "{image}", target)
    assert ours.returncode == theirs.returncode == 125
    assert error_line(ours.stderr) == error_line(theirs.stderr)


def test_buildx_build(pod, busybox, tmp_path):
    (tmp_path / "Containerfile").write_text(f"FROM {busybox}\nRUN echo built > /built\n")
    done = pod("buildx", "build", "-q", "-t", "localhost/bx", tmp_path)
    assert re.fullmatch(r"[0-9a-f]{64}\n", done.stdout), done.stderr
    assert pod("run", "--rm", "localhost/bx", "cat", "/built").stdout == "built\n"

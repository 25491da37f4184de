"""Bad input on the command line: exit 125, one `Error:` line, nothing created; and the
container's own arguments are never taken for pod's flags. As root and as a rootless user."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class Engine:
    pod: object  # the runner: PodRunner or RootlessPod
    image: str
    tmp: Path  # a directory the runner's user can read


@pytest.fixture(params=["root", pytest.param("rootless", marks=pytest.mark.rootless)])
def engine(request, test_images) -> Engine:
    if request.param == "root":
        pod = request.getfixturevalue("pod")
        tmp = pod.tmp
    else:
        pod = request.getfixturevalue("rootless_pod")
        tmp = pod.tmp
    pod("pull", "-q", test_images.busybox.ref, check=True)
    return Engine(pod, test_images.busybox.ref, tmp)


def _nul_env_file(engine: Engine) -> str:
    path = engine.tmp / "nul.env"
    path.write_bytes(b"GOOD=1\nBAD=x\x00y\n")
    os.chown(path, engine.tmp.stat().st_uid, engine.tmp.stat().st_gid)
    return str(path)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", "-dash"], "running container create option: names must match"),
        (["--name", "a/b"], "running container create option: names must match"),
        (["--name", "x" * 254], "names must be at most 253 characters long"),
        (["--workdir", "relative"], 'invalid workdir "relative", must be an absolute path'),
        (["--env-file", "{nul_env}"], 'environment variable "BAD" contains a NUL byte'),
    ],
    ids=["name-dash", "name-slash", "name-long", "workdir", "env-nul"],
)
@pytest.mark.parametrize("verb", ["run", "create"])
def test_bad_flags_exit_125_and_create_nothing(engine, verb, args, message):
    args = [a.replace("{nul_env}", _nul_env_file(engine)) if "{" in a else a for a in args]
    result = engine.pod(verb, *args, engine.image, "true")
    assert result.returncode == 125, result
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, result.stderr
    assert message in result.stderr
    assert engine.pod("ps", "-a", "-q").stdout == ""
    containers = engine.pod.root / "containers"
    assert not containers.exists() or not list(containers.iterdir())


def test_a_long_valid_name_is_accepted(engine):
    name = "n" * 253
    result = engine.pod("run", "--rm", "--name", name, engine.image, "echo", "ok")
    assert (result.returncode, result.stdout) == (0, "ok\n"), result.stderr


def test_the_containers_own_flags_are_passed_as_written(engine):
    """`--flag=false` after the image belongs to the container: podman's pflag stops there."""
    result = engine.pod(
        "run", "--rm=true", engine.image, "echo", "--quiet=false", "--rm=true", "-d=1"
    )
    assert (result.returncode, result.stdout) == (0, "--quiet=false --rm=true -d=1\n"), result
    assert engine.pod("ps", "-a", "-q").stdout == ""  # and --rm=true was pod's own


def test_exec_passes_the_command_line_as_written(engine):
    started = engine.pod("run", "-d", "--name", "target", engine.image, "sleep", "60")
    assert started.returncode == 0, started.stderr
    try:
        result = engine.pod("exec", "--interactive=false", "target", "echo", "--tty=true", "-i=0")
        assert (result.returncode, result.stdout) == (0, "--tty=true -i=0\n"), result
        relative = engine.pod("exec", "--workdir", "tmp", "target", "pwd")
        assert relative.returncode == 125
        assert relative.stderr == 'Error: invalid workdir "tmp", must be an absolute path\n'
    finally:
        engine.pod("rm", "-f", "-t", "0", "target")

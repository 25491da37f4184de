"""pod.commands.fastpath parses the commands it runs (commands/fastpath_table.py) exactly as the
typer CLI does, or hands the command line to it: checked against click's own parse of the same
argv."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import typer

from pod.commands import boolflags, cli, fastpath, fastpath_table

GENERATOR = Path(__file__).resolve().parents[2] / "tools" / "fastpath_table.py"
ROOT = ["--root", "/tmp/r", "--runroot", "/tmp/rr"]


def _generator():
    spec = importlib.util.spec_from_file_location("fastpath_table_generator", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_checked_in_table_is_what_the_typer_cli_declares():
    """Regenerate with `python tools/fastpath_table.py` after changing these commands' flags."""
    current = _generator().tables()
    assert current["ROOT_FLAGS"] == fastpath_table.ROOT_FLAGS
    assert current["ROOT_DEFAULTS"] == fastpath_table.ROOT_DEFAULTS
    assert current["COMMANDS"] == fastpath_table.COMMANDS


def _plain(params: dict) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()}


def click_parse(argv: list[str]) -> tuple[str, dict, dict]:
    """What typer's click commands make of argv: (command, root params, command params)."""
    name = next(word for word in argv if word in fastpath_table.COMMANDS)
    group = typer.main.get_command(cli.build_app(cli.MODULES_FOR[name]))
    argv = boolflags.normalize(group, argv)  # as pod.commands.cli does before click parses
    context = group.make_context("pod", list(argv))  # context.args: what follows the command
    sub = group.commands[name].make_context(name, context.args, parent=context)
    root = _plain(context.params)
    root.pop("version")
    return name, root, _plain(sub.params)


ACCEPTED = [
    ["ps"],
    ["ps", "-a"],
    ["ps", "-aq", "--no-trunc"],
    ["ps", "-n", "3", "--format", "{{.ID}}", "--filter", "status=exited", "-f", "name=x"],
    ["ps", "--last=-1", "--sort", "names", "--size", "--pod", "--external", "--noheading"],
    ["ps", "--format=json", "-l"],
    ["images"],
    ["images", "busybox", "-a", "--digests", "--history", "-n"],
    ["images", "--sort=size", "--filter", "dangling=true", "-q", "--format", "table {{.ID}}"],
    ["inspect", "a"],
    ["inspect", "a", "b", "--type", "image", "-f", "{{.Id}}"],
    ["inspect", "-t", "container", "a", "--format=json"],
    ["--log-level", "error", "--storage-opt", "overlay.mountopt=x", "--noout", "images", "-q"],
    ["--runtime-flag", "debug", "--cgroup-manager=cgroupfs", "--events-backend", "none", "ps"],
    ["--volumepath", "/v", "--default-mounts-file", "/m", "--storage-driver", "vfs", "ps"],
    ["run", "busybox"],
    ["run", "--rm", "-it", "-e", "A=1", "--env=B=2", "-v", "/a:/b", "busybox", "sh", "-c", "x"],
    ["run", "--rm", "busybox", "echo", "--rm", "-it", "--quiet=false", "--", "-"],  # the command's
    ["run", "-d", "--name", "web", "-p", "8080:80", "--network", "none", "--net=host", "bb"],
    ["run", "-h", "host", "--no-http-proxy", "--no-sig-proxy", "--health-retries", "3", "bb"],
    ["run", "--cap-add", "NET_ADMIN", "--cap-add=SYS_TIME", "-q", "--pull", "never", "bb", "-"],
    ["create", "--name", "x", "-w", "/tmp", "-u", "1000:1000", "busybox", "sleep", "1"],
    ["create", "busybox"],
    ["exec", "ctr", "true"],
    ["exec", "-it", "-e", "A=1", "-u", "0", "-w", "/", "ctr", "sh", "-c", "x", "-i"],
    ["exec", "-l", "--detach-keys", "ctrl-a", "--preserve-fds", "1", "echo", "--", "-"],
    ["stop", "a", "b", "-t", "0"],
    ["stop", "--all", "--time=3", "-i"],
    ["stop", "--timeout", "5", "--cidfile", "/f", "--cidfile=/g", "-l"],
    ["rm", "a"],
    ["rm", "-fv", "-t", "0", "a", "b"],
    ["rm", "--all", "--ignore", "--cidfile", "/f"],
    ["ps", "-af", "x"],  # a value option last in a group takes the next word
    ["ps", "-afstatus=exited", "-n3"],  # or the rest of the word
    ["run", "-p8080:80", "-eA=1", "-it", "-dit", "busybox"],
    ["rm", "-ft", "0", "a"],
    ["stop", "-t0", "a"],
    ["build"],
    ["build", "-t", "x", "-q", "ctx"],
    ["build", "ctx", "--pull", "-f", "F", "--build-arg", "A=1", "--no-cache", "--tag=y"],
    ["build", "--pull", "ctx"],  # bare: always, and ctx stays the context
    ["build", "--pull=never", "--no-layers", "--tls-verify", "--jobs", "2", "-"],
    ["build", "-v", "/a:/b", "--layers", "--no-tls-verify", "--squash-all", "ctx"],
    ["pull", "-q", "a", "b"],
    ["pull", "--platform", "linux/arm64", "--policy=missing", "-a", "--creds", "u:p", "a"],
    ["pull", "--os", "linux", "--arch", "arm", "--variant", "v7", "--no-tls-verify", "a"],
    ["logs", "a"],
    ["logs", "-f", "-t", "--tail", "3", "--since", "10s", "--names", "a", "b"],
    ["logs", "-l", "--color", "--until=2024-01-01"],
    ["logs", "-ft", "a"],
    ["start", "a", "b"],
    ["start", "-ai", "--detach-keys", "ctrl-x", "--no-sig-proxy", "a"],
    ["start", "--all", "-f", "status=exited", "--filter", "label=x"],
    ["kill", "-s", "TERM", "a"],
    ["kill", "--signal=HUP", "-a"],
    ["restart", "-t", "3", "a", "b"],
    ["restart", "--all", "--running"],
    ["wait", "a", "--condition", "running", "--condition", "stopped", "-i", "100ms"],
    ["init", "-l"],
    ["pause", "a"],
    ["unpause", "--all"],
    ["rmi", "a", "b"],
    ["rmi", "-fa"],
    ["rmi", "--ignore", "--force", "a"],
    ["tag", "a", "b", "c"],
    ["untag", "a"],
    ["untag", "a", "b"],
]


@pytest.mark.parametrize("argv", ACCEPTED, ids=[" ".join(a) for a in ACCEPTED])
def test_the_same_parameters_as_click(argv):
    argv = [*ROOT, *argv]
    assert fastpath.parse(argv) == click_parse(argv)


HANDED_OVER = [
    ["ps", "--help"],
    ["ps", "-h"],
    ["ps", "--bogus"],
    ["ps", "-n"],  # its value missing: click's error
    ["ps", "-n", "x"],  # not an int: click's error
    ["ps", "--all=true"],  # a boolean with a value: pod.commands.boolflags' forms
    ["ps", "--", "x"],
    ["ps", "extra"],
    ["images", "a", "b"],
    ["inspect"],  # its required argument missing
    ["--log-level", "loud", "ps"],  # podman's own message, from the root callback
    ["run"],  # the image missing
    ["run", "--rm", "--", "busybox"],
    ["run", "--rm=false", "busybox"],  # pod.commands.boolflags' form
    ["run", "--health-retries", "x", "busybox"],
    ["run", "--help"],
    ["create", "--bogus", "busybox"],
    ["exec", "--", "ctr", "true"],
    ["exec", "-e"],
    ["stop", "-t", "soon", "a"],
    ["stop", "-tx", "a"],  # not an int
    ["ps", "-ax"],  # no -x
    ["ps", "-an"],  # its value missing
    ["build", "--layers=false", "ctx"],  # pod.commands.boolflags' form
    ["build", "a", "b"],
    ["build", "--jobs", "x"],
    ["pull"],  # the image missing
    ["pull", "--tls-verify=false", "a"],  # pod.commands.boolflags' form
    ["image", "pull", "a"],
    ["logs", "--tail", "x", "a"],  # not an int
    ["container", "logs", "a"],
    ["wait"],  # its required argument missing
    ["restart", "-t", "soon", "a"],
    ["start", "--sig-proxy=false", "a"],
    ["tag", "a"],  # the new names missing
    ["tag"],
    ["untag"],
    [],
]


@pytest.mark.parametrize("argv", HANDED_OVER, ids=[" ".join(a) or "nothing" for a in HANDED_OVER])
def test_what_it_does_not_take_goes_to_typer(argv):
    assert fastpath.parse([*ROOT, *argv]) is None


@pytest.mark.parametrize("argv", [["--version"], ["-v", "ps"], ["--root", "/r", "--version", "x"]])
def test_version_before_any_command_is_printed_as_typer_would(argv):
    assert fastpath.parse(argv)[0] == "--version"


def test_version_after_a_command_is_typers():
    assert fastpath.parse(["ps", "--version"]) is None
    name, _, params = fastpath.parse(["run", "-v", "/a:/b", "bb"])  # run's -v: a volume
    assert (name, params["volume"], params["image"]) == ("run", ["/a:/b"], "bb")


def test_an_option_from_the_environment_goes_to_typer(monkeypatch):
    """BUILDAH_LAYERS sets `build --layers` in click; this parser reads no environment."""
    monkeypatch.delenv("BUILDAH_LAYERS", raising=False)
    assert fastpath.parse(["build", "ctx"]) is not None
    monkeypatch.setenv("BUILDAH_LAYERS", "false")
    assert fastpath.parse(["build", "ctx"]) is None

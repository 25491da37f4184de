"""The fast path stays fast (DESIGN.md rule 7): `pod --help`, `pod ps` and `pod run --help`
import none of the heavy libraries (rich, oras, pyroute2, requests: 0.05-0.5 s each).

Each command runs in a fresh interpreter of the installed venv under `python -X importtime`,
whose report names every module the process imported and, by its indentation, who imported it.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass

import pytest

HEAVY = ("rich", "oras", "pyroute2", "requests")
COMMANDS = {
    "help": ["--help"],
    "ps": ["--root", "{tmp}/root", "--runroot", "{tmp}/runroot", "ps"],
    "run-help": ["run", "--help"],
}


@dataclass(frozen=True)
class Imported:
    """One line of -X importtime's report: a module, its depth and its own microseconds."""

    name: str
    depth: int
    self_us: int

    @property
    def top(self) -> str:
        return self.name.split(".")[0]


def parse_importtime(stderr: str) -> list[Imported]:
    """The report's lines in order: a module comes after everything it imported."""
    found = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        own, _, name_column = line[len("import time:") :].split("|")
        name = name_column.lstrip(" ")
        depth = (len(name_column) - len(name) - 1) // 2
        found.append(Imported(name.strip(), depth, int(own)))
    return found


def importer_chain(report: list[Imported], index: int) -> list[str]:
    """Who imported report[index]: its importer, that one's importer, ... up to the top."""
    chain, depth = [], report[index].depth
    for entry in report[index + 1 :]:
        if entry.depth < depth:
            chain.append(entry.name)
            depth = entry.depth
    return chain


def heavy_imports(report: list[Imported]) -> list[str]:
    """For each heavy library imported: its modules' cost, and who first pulled it in."""
    lines = []
    for top in HEAVY:
        own = [e for e in report if e.top == top]
        if not own:
            continue
        first = report.index(own[0])
        chain = [name for name in importer_chain(report, first) if name.split(".")[0] != top]
        by = " <- ".join(chain) or "the command itself"
        cost = sum(e.self_us for e in own) / 1000
        lines.append(f"{top} ({len(own)} modules, {cost:.1f} ms), imported by {by}")
    return lines


@pytest.mark.parametrize("command", COMMANDS, ids=list(COMMANDS))
def test_the_fast_path_imports_no_heavy_library(command, tmp_path):
    args = [arg.format(tmp=tmp_path) for arg in COMMANDS[command]]
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "pod", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # not the checkout: ./pod must not shadow the installed package
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = parse_importtime(done.stderr)
    assert any(e.name == "pod" for e in report), "no import report"
    found = heavy_imports(report)
    if found:
        text = "\n  ".join(found)
        pytest.fail(f"`pod {' '.join(args)}` imports heavy libraries:\n  {text}", pytrace=False)


def test_the_report_parser_finds_who_imported_what():
    stderr = (
        "import time: self [us] | cumulative | imported package\n"
        "import time:        50 |         50 |       rich._loop\n"
        "import time:       250 |        300 |     rich\n"
        "import time:        10 |        310 |   pod.commands.render\n"
        "import time:         5 |          5 |   json\n"
        "import time:        30 |        345 | pod.commands\n"
    )
    report = parse_importtime(stderr)
    assert [(e.name, e.depth) for e in report] == [
        ("rich._loop", 3), ("rich", 2), ("pod.commands.render", 1), ("json", 1),
        ("pod.commands", 0),
    ]  # fmt: skip
    assert importer_chain(report, 0) == ["rich", "pod.commands.render", "pod.commands"]
    assert heavy_imports(report) == [
        "rich (2 modules, 0.3 ms), imported by pod.commands.render <- pod.commands"
    ]


@pytest.mark.parametrize("command", ["ps", "images"])
def test_listing_commands_run_without_typer(command, tmp_path):
    """pod.commands.fastpath runs them (typer alone costs ~35 ms); a flag it does not take
    still goes through typer (`--help` here)."""
    store = ["--root", str(tmp_path / "root"), "--runroot", str(tmp_path / "runroot")]

    def imported(*args: str) -> set[str]:
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "pod", *store, command, *args],
            capture_output=True, text=True, cwd=tmp_path, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        return {entry.top for entry in parse_importtime(done.stderr)}

    assert "typer" not in imported("--format", "{{.ID}}")
    assert "typer" in imported("--help")


def test_a_build_runs_without_typer(tmp_path):
    """`pod build` too: a build from scratch needs no registry and no container."""
    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx" / "Containerfile").write_text("FROM scratch\nLABEL fast=yes\n")
    store = ["--root", str(tmp_path / "root"), "--runroot", str(tmp_path / "runroot")]
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "pod", *store, "build", "-q", "-t", "x", "ctx"],
        capture_output=True, text=True, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(done.stdout.strip()) == 64, done.stdout
    assert "typer" not in {entry.top for entry in parse_importtime(done.stderr)}


def test_a_pull_runs_without_typer_or_jsonschema(tmp_path):
    """`pod pull` takes the fast path too, and oras' jsonschema (~35 ms) stays unloaded: pod's
    RegistryClient replaces every oras method that validates. A registry that refuses the
    connection is enough: the error comes after the client (oras included) is imported."""
    store = ["--root", str(tmp_path / "root"), "--runroot", str(tmp_path / "runroot")]
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "pod", *store, "pull", "-q", "127.0.0.1:9/x"],
        capture_output=True, text=True, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert done.returncode == 125, done.stderr[-3000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and "pinging container registry" in errors[0], done.stderr[-3000:]
    imported = {entry.name for entry in parse_importtime(done.stderr)}
    assert "oras.provider" in imported
    assert "typer" not in imported
    assert not any(name.startswith("jsonschema") for name in imported)


@pytest.mark.parametrize("command", ["logs", "start", "kill", "restart", "wait", "pause"])
def test_lifecycle_commands_run_without_typer(command, tmp_path):
    """The commands scripts run one container at a time take the fast path too (typer would
    cost more than their work): a missing container's error comes from the fast path's body,
    in podman's words."""
    store = ["--root", str(tmp_path / "root"), "--runroot", str(tmp_path / "runroot")]
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "pod", *store, command, "nope"],
        capture_output=True, text=True, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert done.returncode == 125, done.stderr[-3000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error: ")]
    assert errors == ['Error: no container with name or ID "nope" found: no such container']
    assert "typer" not in {entry.top for entry in parse_importtime(done.stderr)}

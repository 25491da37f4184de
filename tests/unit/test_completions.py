"""completions/: generated from the CLI, up to date, and working in real shells."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer

REPO = Path(__file__).resolve().parents[2]
COMPLETIONS = REPO / "completions"
REGENERATE = "python completions/generate.py"


def _generator():
    spec = importlib.util.spec_from_file_location("pod_completions", COMPLETIONS / "generate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while defining
    spec.loader.exec_module(module)
    return module


def bash_complete(*words: str, env: dict | None = None) -> list[str]:
    """COMPREPLY of `_pod` for a command line whose last word is being completed."""
    script = (
        f"source {COMPLETIONS / 'pod.bash'}; COMP_WORDS=({' '.join(map(repr, words))}); "
        f"COMP_CWORD={len(words) - 1}; _pod; printf '%s\\n' \"${{COMPREPLY[@]}}\""
    )
    run_env = dict(os.environ)
    run_env["PATH"] = f"{Path(sys.executable).parent}:{run_env.get('PATH', '')}"
    run_env.update(env or {})
    result = subprocess.run(
        ["bash", "--norc", "-c", script], capture_output=True, text=True, env=run_env, check=True
    )
    return sorted(line for line in result.stdout.splitlines() if line)


def cli_commands(*path: str) -> list[str]:
    """The visible subcommands of `pod PATH...`, from the CLI itself."""
    from pod.commands import app

    group = typer.main.get_command(app)
    for name in path:
        group = group.commands[name]
    return sorted(name for name, command in group.commands.items() if not command.hidden)


def test_checked_in_files_are_up_to_date():
    for shell, text in _generator().render_all().items():
        path = COMPLETIONS / f"pod.{shell}"
        current = path.read_text() if path.exists() else ""
        assert current == text, f"{path.name} is out of date: run `{REGENERATE}` and commit it"


def test_bash_completes_commands_from_the_cli():
    assert shutil.which("bash"), "bash is needed to test completions/pod.bash"
    assert bash_complete("pod", "sta") == [c for c in cli_commands() if c.startswith("sta")]
    assert bash_complete("pod", "") == cli_commands()
    assert bash_complete("pod", "system", "") == cli_commands("system")
    assert bash_complete("pod", "--root", "/x", "image", "r") == [
        c for c in cli_commands("image") if c.startswith("r")
    ]


def test_bash_completes_flags():
    assert "--force" in bash_complete("pod", "rm", "--")
    assert "--format" in bash_complete("pod", "inspect", "--f")
    assert bash_complete("pod", "rm", "--fo") == ["--force"]


@pytest.mark.needs_tool("zsh")
def test_zsh_script_parses_and_registers():
    subprocess.run(["zsh", "-n", str(COMPLETIONS / "pod.zsh")], check=True)
    out = subprocess.run(
        ["zsh", "-f", "-c", f"autoload -U compinit; compinit -u -D; "
         f"source {COMPLETIONS / 'pod.zsh'}; print -r -- $_comps[pod]"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert out.strip() == "_pod"


@pytest.mark.needs_tool("fish")
def test_fish_script_parses_and_completes():
    subprocess.run(["fish", "-n", str(COMPLETIONS / "pod.fish")], check=True)
    out = subprocess.run(
        ["fish", "--no-config", "-c", f"source {COMPLETIONS / 'pod.fish'}; complete -C 'pod sta'"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert sorted(line.split("\t")[0] for line in out.splitlines()) == [
        c for c in cli_commands() if c.startswith("sta")
    ]

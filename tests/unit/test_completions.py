"""completions/: what `pod completion` prints, up to date, and working in real shells."""

from __future__ import annotations

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
POD = Path(sys.executable).parent / "pod"  # the installed command, as a user runs it


def pod_completion(*args: str) -> str:
    done = subprocess.run([POD, "completion", *args], capture_output=True, text=True, check=True)
    return done.stdout


def bash_complete(*words: str, env: dict | None = None, script: Path | None = None) -> list[str]:
    """COMPREPLY of `_pod` for a command line whose last word is being completed."""
    script = script or COMPLETIONS / "pod.bash"
    code = (
        f"source {script}; COMP_WORDS=({' '.join(map(repr, words))}); "
        f"COMP_CWORD={len(words) - 1}; _pod; printf '%s\\n' \"${{COMPREPLY[@]}}\""
    )
    run_env = dict(os.environ)
    run_env["PATH"] = f"{Path(sys.executable).parent}:{run_env.get('PATH', '')}"
    run_env.pop("COLUMNS", None)  # the script then assumes 80
    run_env.update(env or {})
    result = subprocess.run(
        ["bash", "--norc", "-c", code], capture_output=True, text=True, env=run_env, check=True
    )
    return sorted(line for line in result.stdout.splitlines() if line)


def first_words(replies: list[str]) -> list[str]:
    """The names of described replies ("start  (Start created ...)" → "start")."""
    return sorted(reply.split()[0] for reply in replies)


def cli_commands(*path: str) -> list[str]:
    """The visible subcommands of `pod PATH...`, from the CLI itself."""
    from pod.commands import app

    group = typer.main.get_command(app)
    for name in path:
        group = group.commands[name]
    return sorted(name for name, command in group.commands.items() if not command.hidden)


def test_checked_in_files_are_what_pod_completion_prints(tmp_path):
    for shell in ("bash", "zsh", "fish"):
        path = COMPLETIONS / f"pod.{shell}"
        current = path.read_text() if path.exists() else ""
        printed = pod_completion(shell)
        assert current == printed, f"{path.name} is out of date: run `{REGENERATE}` and commit it"
        written = tmp_path / "sub" / f"_{shell}"
        assert pod_completion(shell, "-f", str(written)) == ""
        assert written.read_text() == printed


def test_unknown_shell_is_refused_as_podman_does():
    done = subprocess.run([POD, "completion", "powershell"], capture_output=True, text=True)
    assert done.returncode == 125
    assert done.stderr.startswith('Error: invalid argument "powershell" for "pod completion"')


def test_bash_completes_commands_from_the_cli():
    assert shutil.which("bash"), "bash is needed to test completions/pod.bash"
    sta = [c for c in cli_commands() if c.startswith("sta")]
    assert len(sta) > 1 and first_words(bash_complete("pod", "sta")) == sta
    assert first_words(bash_complete("pod", "")) == cli_commands()
    assert first_words(bash_complete("pod", "system", "")) == cli_commands("system")
    assert first_words(bash_complete("pod", "--root", "/x", "image", "r")) == [
        c for c in cli_commands("image") if c.startswith("r")
    ]


def test_bash_describes_several_candidates_and_inserts_a_single_one_bare():
    described = bash_complete("pod", "sta")
    assert all("  (" in reply and reply.endswith(")") for reply in described), described
    assert any("(Start " in reply for reply in described), described
    assert all(len(reply) <= 80 for reply in bash_complete("pod", "")), "cut to the width"
    assert bash_complete("pod", "star") == ["start"]


def test_no_desc_scripts_complete_bare_names(tmp_path):
    plain = tmp_path / "pod.bash"
    plain.write_text(pod_completion("bash", "--no-desc"))
    assert "_pod_help" not in plain.read_text()
    sta = [c for c in cli_commands() if c.startswith("sta")]
    assert bash_complete("pod", "sta", script=plain) == sta
    for shell in ("zsh", "fish"):
        text = pod_completion(shell, "--no-desc")
        assert "_pod_help" not in text and "__pod_table help" not in text, shell
        assert text != (COMPLETIONS / f"pod.{shell}").read_text()


def test_bash_completes_flags():
    assert "--force" in bash_complete("pod", "rm", "--")
    assert "--format" in bash_complete("pod", "inspect", "--f")
    assert bash_complete("pod", "rm", "--fo") == ["--force"]


@pytest.mark.needs_tool("zsh")
def test_zsh_script_parses_and_registers(tmp_path):
    plain = tmp_path / "pod.zsh"
    plain.write_text(pod_completion("zsh", "--no-desc"))
    for script in (COMPLETIONS / "pod.zsh", plain):
        subprocess.run(["zsh", "-n", str(script)], check=True)
    out = subprocess.run(
        ["zsh", "-f", "-c", f"autoload -U compinit; compinit -u -D; "
         f"source {COMPLETIONS / 'pod.zsh'}; print -r -- $_comps[pod]"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert out.strip() == "_pod"


@pytest.mark.needs_tool("fish")
def test_fish_script_parses_and_completes(tmp_path):
    plain = tmp_path / "pod.fish"
    plain.write_text(pod_completion("fish", "--no-desc"))
    sta = [c for c in cli_commands() if c.startswith("sta")]
    for script in (COMPLETIONS / "pod.fish", plain):
        subprocess.run(["fish", "-n", str(script)], check=True)
        out = subprocess.run(
            ["fish", "--no-config", "-c", f"source {script}; complete -C 'pod sta'"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        assert sorted(line.split("\t")[0] for line in out.splitlines()) == sta
        described = all("\t" in line for line in out.splitlines())
        assert described == (script != plain), out

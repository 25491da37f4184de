"""`pod completion bash|zsh|fish [-f FILE] [--no-desc]`: the shell completion script, as podman's.

The script is rendered from the CLI's own command tree (commands/completion_scripts.py), so it
always knows every command and flag of the pod that prints it.
"""

from __future__ import annotations

from pathlib import Path

import typer

from pod.errors import PodError, UsageError


def completion_command(
    shell: str = typer.Argument(..., metavar="SHELL", help="bash, zsh or fish."),
    file: str = typer.Option(
        None, "--file", "-f", help="Output the completion to file rather than stdout."
    ),
    no_desc: bool = typer.Option(
        False, "--no-desc", help="Don't include descriptions in the completion output."
    ),
) -> None:
    """Generate shell autocompletions.

    Valid arguments are bash, zsh, and fish (README.md says how to enable each).
    """
    from pod.commands import completion_scripts  # the renderers: only when asked for

    if shell not in completion_scripts.SHELLS:
        raise UsageError(f'invalid argument "{shell}" for "pod completion": use bash, zsh or fish')
    text = completion_scripts.script(shell, descriptions=not no_desc)
    if file is None:
        print(text, end="")
        return
    from pod.store.lock import atomic_write

    try:
        atomic_write(Path(file), text.encode())
    except OSError as err:
        raise PodError(f"writing {file}: {err.strerror or err}") from None


def register(app: typer.Typer, image_app: typer.Typer) -> None:
    app.command("completion", rich_help_panel="System")(completion_command)

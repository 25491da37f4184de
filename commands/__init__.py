"""The `pod` command line. The typer CLI is pod.commands.cli; this package itself imports
nothing, so pod.commands.fastpath (ps, images and inspect without typer) can live beside it."""

from __future__ import annotations

from typing import Any

_FROM_CLI = ("main", "app", "build_app", "COMMAND_MODULES", "MODULES_FOR")


def __getattr__(name: str) -> Any:
    """`pod.commands.main`, `pod.commands.app`, ...: the typer CLI's, imported when asked for."""
    if name in _FROM_CLI:
        from pod.commands import cli

        return getattr(cli, name)
    raise AttributeError(name)

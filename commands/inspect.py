"""`pod inspect` (containers, images, volumes by name) and `pod container inspect`."""

from __future__ import annotations

import typer

from pod.commands import common
from pod.commands.inspect_output import inspect_objects


def inspect_command(
    names: list[str] = typer.Argument(..., metavar="NAME...", help="Containers, images, volumes."),
    kind: str = typer.Option(
        "all", "--type", "-t", help="Look only for: container, image, volume or all."
    ),
    fmt: str = typer.Option(None, "--format", "-f", help="Format with a Go template or json."),
) -> None:
    """Show details of containers, images or volumes (found in that order)."""
    inspect_objects(names, kind, fmt)


def container_inspect_command(
    names: list[str] = typer.Argument(..., metavar="CONTAINER...", help="Containers."),
    fmt: str = typer.Option(None, "--format", "-f", help="Format with a Go template or json."),
) -> None:
    """Show details of containers in podman's JSON shape."""
    inspect_objects(names, "container", fmt)


def register(app: typer.Typer, image_app: typer.Typer) -> None:
    app.command("inspect", rich_help_panel="Containers")(inspect_command)
    common.container_group(app).command("inspect")(container_inspect_command)

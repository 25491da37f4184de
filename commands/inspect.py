"""`pod inspect` (containers, images, volumes by name) and `pod container inspect`."""

from __future__ import annotations

import typer

from pod.commands import common

INDENT = 5  # podman's inspect output: json.MarshalIndent with five spaces


def _print(documents: list[dict], fmt: str | None) -> None:
    from pod import format as gotemplate

    if fmt and not gotemplate.is_json(fmt):
        text = gotemplate.render_rows(documents, fmt, name="inspect")
    else:
        text = gotemplate.format_json(documents, indent=INDENT)
    print(text, end="")


def _inspect(names: list[str], kind: str, fmt: str | None) -> None:
    from pod.container.object_inspect import inspect_objects

    result = inspect_objects(common.settings(), names, kind)
    _print(result.documents, fmt)
    if result.error is not None:
        raise result.error


def inspect_command(
    names: list[str] = typer.Argument(..., metavar="NAME...", help="Containers, images, volumes."),
    kind: str = typer.Option(
        "all", "--type", "-t", help="Look only for: container, image, volume or all."
    ),
    fmt: str = typer.Option(None, "--format", "-f", help="Format with a Go template or json."),
) -> None:
    """Show details of containers, images or volumes (found in that order)."""
    _inspect(names, kind, fmt)


def container_inspect_command(
    names: list[str] = typer.Argument(..., metavar="CONTAINER...", help="Containers."),
    fmt: str = typer.Option(None, "--format", "-f", help="Format with a Go template or json."),
) -> None:
    """Show details of containers in podman's JSON shape."""
    _inspect(names, "container", fmt)


def register(app: typer.Typer, image_app: typer.Typer) -> None:
    app.command("inspect", rich_help_panel="Containers")(inspect_command)
    common.container_group(app).command("inspect")(container_inspect_command)

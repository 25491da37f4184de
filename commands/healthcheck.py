"""`pod healthcheck run`: a container's health check, now (podman's exit codes: 0 healthy,
1 unhealthy, 125 when the container has none)."""

from __future__ import annotations

import typer

from pod.commands import common


def run_command(
    container: str = typer.Argument(..., metavar="CONTAINER", help="The container."),
) -> None:
    """Run the health check of a container."""
    from pod.container.health import check_now
    from pod.errors import NoSuchContainerError, PodError
    from pod.store.layout import Layout

    settings = common.settings()
    try:
        healthy = check_now(Layout(settings.root, settings.runroot), container)
    except NoSuchContainerError as err:
        raise PodError(f"unable to look up {container} to perform a health check: {err}") from None
    if not healthy:
        print("unhealthy")
        raise typer.Exit(1)


def register(app: typer.Typer, image_app: typer.Typer) -> None:
    group = common.new_typer(help="Manage health checks on containers.", no_args_is_help=True)
    group.command("run")(run_command)
    app.add_typer(group, name="healthcheck", rich_help_panel="Containers")

"""`pod pull`: fetch an image from a registry into the store and print its ID."""

from __future__ import annotations

import typer

from pod.commands import common, pull_image


def pull_command(
    ctx: typer.Context,
    images: list[str] = typer.Argument(..., metavar="IMAGE...", help="Image references to pull."),
    all_tags: bool = typer.Option(
        False, "--all-tags", "-a", help="Pull every tagged image in the repository."
    ),
    arch: str = typer.Option(None, "--arch", help="Architecture to pull instead of the host's."),
    os_name: str = typer.Option(
        None, "--os", help="Operating system to pull instead of the host's."
    ),
    variant: str = typer.Option(None, "--variant", help="Architecture variant to pull."),
    platform: str = typer.Option(None, "--platform", help="OS/ARCH or OS/ARCH/VARIANT to pull."),
    policy: str = typer.Option(
        "always", "--policy", help="Pull policy: always, missing, never, newer."
    ),
    quiet: bool = common.quiet_option("Print only the image ID."),
    tls_verify: bool = common.tls_verify_option(),
    authfile: str = common.authfile_option(),
    creds: str = common.creds_option(),
    cert_dir: str = common.cert_dir_option(),
) -> None:
    """Pull images from a registry."""
    pull_image.pull(**ctx.params)


def register(app: typer.Typer, image_app: typer.Typer) -> None:
    app.command("pull", rich_help_panel="Images")(pull_command)
    image_app.command("pull")(pull_command)

"""`pod push`: publish a stored image to a registry."""

from __future__ import annotations

from pathlib import Path

import typer

from pod.commands import common


def push_command(
    image: str = typer.Argument(..., help="The local image to push."),
    destination: str = typer.Argument(None, help="Where to push it (default: the image's name)."),
    manifest_format: str = typer.Option(
        None, "--format", "-f", help="Manifest type: oci, v2s2 (docker)."
    ),
    digestfile: Path = typer.Option(
        None, "--digestfile", help="Write the pushed manifest's digest here."
    ),
    quiet: bool = common.quiet_option("Do not print progress."),
    tls_verify: bool = common.tls_verify_option(),
    authfile: str = common.authfile_option(),
    creds: str = common.creds_option(),
    cert_dir: str = common.cert_dir_option(),
) -> None:
    """Push an image to a registry."""
    from pod.commands.progress import reporter_for
    from pod.image.access import RegistryAccess, parse_creds
    from pod.image.push import PushOptions, push_image
    from pod.store.lock import atomic_write

    access = RegistryAccess(tls_verify, authfile, parse_creds(creds), cert_dir)
    reporter = reporter_for(quiet)
    try:
        digest = push_image(
            common.settings(), image, destination, PushOptions(access, manifest_format, reporter)
        )
    finally:
        reporter.close()
    if digestfile is not None:
        atomic_write(digestfile, digest.encode())


def register(app: typer.Typer, image_app: typer.Typer) -> None:
    app.command("push", rich_help_panel="Images")(push_command)
    image_app.command("push")(push_command)

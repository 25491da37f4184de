"""`pod pull`: fetch an image from a registry into the store and print its ID."""

from __future__ import annotations

import typer

from pod.commands import common


def pull_command(
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
    from pod.commands.progress import reporter_for
    from pod.image import manifest
    from pod.image.access import RegistryAccess, parse_creds
    from pod.image.pull import PullOptions, pull_image

    wanted = manifest.parse_platform(platform, arch, variant)
    if os_name:
        wanted = manifest.Platform(os_name, wanted.architecture, wanted.variant)
    access = RegistryAccess(tls_verify, authfile, parse_creds(creds), cert_dir)
    names = images if not all_tags else _all_tags(images, access)
    for name in names:
        reporter = reporter_for(quiet)
        try:
            record = pull_image(
                common.settings(), name, PullOptions(wanted, access, policy, reporter)
            )
        finally:
            reporter.close()
        print(record.id)


def _all_tags(images: list[str], access) -> list[str]:
    """Every tag of each repository (podman's `--all-tags`)."""
    from pod.errors import UsageError
    from pod.image import reference
    from pod.image.registries_conf import load

    conf = load()
    names: list[str] = []
    for text in images:
        ref = reference.parse(text)
        if ref.tag or ref.digest:
            raise UsageError("--all-tags requires a reference without a tag or digest")
        candidate = conf.resolve_short_name(ref)[0] if ref.is_short_name else ref
        endpoint = conf.endpoints_for(candidate)[-1]
        client = access.client(endpoint.host, endpoint.repository, endpoint.insecure)
        names += [f"{candidate.repository}:{tag}" for tag in client.list_tags(endpoint.repository)]
    return names


def register(app: typer.Typer, image_app: typer.Typer) -> None:
    app.command("pull", rich_help_panel="Images")(pull_command)
    image_app.command("pull")(pull_command)

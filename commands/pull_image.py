"""The body of `pod pull`, without typer: the typer command (pod.commands.pull) and the
typer-free fast path (pod.commands.fastpath) both call it with the command's parameters by name,
so a pull does not pay ~30 ms for importing typer and building the CLI."""

from __future__ import annotations

from pod.commands import common


def pull(
    images: list[str],
    all_tags: bool,
    arch: str | None,
    os_name: str | None,
    variant: str | None,
    platform: str | None,
    policy: str,
    quiet: bool,
    tls_verify: bool | None,
    authfile: str | None,
    creds: str | None,
    cert_dir: str | None,
) -> None:
    """`pod pull`: pull each image (every tag with `all_tags`) and print its ID."""
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

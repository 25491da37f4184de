"""Images and containers as files: `save`, `load`, `import`, `export`."""

from __future__ import annotations

import sys

import typer

from pod.commands import common


def save_command(
    images: list[str] = typer.Argument(..., metavar="IMAGE...", help="Images to save."),
    output: str = typer.Option(
        None, "--output", "-o", help="Write to this file or directory (default: stdout)."
    ),
    fmt: str = typer.Option(
        "docker-archive",
        "--format",
        help="docker-archive, oci-archive, oci-dir (a directory) or docker-dir (a directory).",
    ),
    multi_image: bool = typer.Option(
        False,
        "--multi-image-archive",
        "-m",
        help="Several images in one docker-archive (otherwise more names are tags).",
    ),
    compress: bool = typer.Option(
        False, "--compress", help="Compress uncompressed layers (docker-dir only)."
    ),
    uncompressed: bool = typer.Option(
        False, "--uncompressed", help="Keep layers uncompressed in the OCI formats."
    ),
    quiet: bool = common.quiet_option("Do not print progress."),
) -> None:
    """Save images to an archive or a directory."""
    from pod.commands.progress import reporter_for
    from pod.errors import PodError
    from pod.image.save import SaveOptions, save_images

    if output is None and sys.stdout.isatty():
        raise PodError("refusing to save to terminal. Use -o flag or redirect")
    options = SaveOptions(output, fmt, multi_image, compress, uncompressed)
    reporter = reporter_for(quiet or output is None)
    try:
        save_images(common.settings(), images, options, reporter)
    finally:
        reporter.close()


def load_command(
    source: str = typer.Option(
        None, "--input", "-i", help="Read from this archive (default: stdin)."
    ),
    quiet: bool = common.quiet_option("Do not print progress."),
) -> None:
    """Load images from a docker-archive or oci-archive (plain or compressed)."""
    from pod.commands.progress import reporter_for
    from pod.errors import PodError
    from pod.image.load import load_archive

    if source is None and sys.stdin.isatty():
        raise PodError(
            "cannot read from terminal, use command-line redirection or the --input flag"
        )
    reporter = reporter_for(quiet)
    try:
        loaded = load_archive(common.settings(), source or "-", reporter)
    finally:
        reporter.close()
    shown: list[str] = []
    for image in loaded:
        shown += [name for name in image.names if name not in shown]
    for name in shown:
        print(f"Loaded image: {name}")


def import_command(
    source: str = typer.Argument(..., metavar="FILE|URL|-", help="The tarball to import."),
    name: str = typer.Argument(None, metavar="[REFERENCE]", help="The new image's name."),
    changes: list[str] = typer.Option(
        [], "--change", "-c", help="Apply a Containerfile instruction (CMD, ENV, ...)."
    ),
    message: str = typer.Option(None, "--message", "-m", help="Commit message (history)."),
    arch: str = typer.Option(None, "--arch", help="The image's architecture."),
    os_name: str = typer.Option(None, "--os", help="The image's operating system."),
    variant: str = typer.Option(None, "--variant", help="The image's architecture variant."),
    quiet: bool = common.quiet_option("Do not print progress."),
) -> None:
    """Import a tarball as a file system image."""
    from pod.builder.importer import ImportOptions, import_tarball
    from pod.commands.progress import reporter_for
    from pod.format.values import go_quote
    from pod.image import manifest

    platform = manifest.parse_platform(None, arch, variant)
    if os_name:
        platform = manifest.Platform(os_name, platform.architecture, platform.variant)
    options = ImportOptions(list(changes), message or "", platform, name)
    if source.startswith(("http://", "https://")):
        print(f"Downloading from {go_quote(source)}", flush=True)  # podman's, -q or not
    reporter = reporter_for(quiet)
    try:
        record = import_tarball(common.settings(), source, options, reporter)
    finally:
        reporter.close()
    print(f"sha256:{record.id}")


def export_command(
    container: str = typer.Argument(..., help="The container to export."),
    output: str = typer.Option(
        None, "--output", "-o", help="Write to this file (default: stdout)."
    ),
) -> None:
    """Export a container's file system as a tar archive."""
    from pod.commands.progress import QuietReporter
    from pod.container.export import export
    from pod.errors import PodError

    if output is None and sys.stdout.isatty():
        raise PodError("refusing to export to terminal. Use -o flag or redirect")
    export(common.settings(), container, output, QuietReporter())


def register(app: typer.Typer, image_app: typer.Typer) -> None:
    panel = "Images"
    app.command("save", rich_help_panel=panel)(save_command)
    app.command("load", rich_help_panel=panel)(load_command)
    app.command("import", rich_help_panel=panel)(import_command)
    app.command("export", rich_help_panel="Containers")(export_command)
    image_app.command("save")(save_command)
    image_app.command("load")(load_command)
    image_app.command("import")(import_command)
    common.container_group(app).command("export")(export_command)

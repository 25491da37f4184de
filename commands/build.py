"""`pod build` and `pod commit`: images from a Containerfile or from a container's changes."""

from __future__ import annotations

import typer

from pod.commands import build_image, common


def build_command(
    ctx: typer.Context,
    context: str = typer.Argument(".", metavar="[CONTEXT]", help="The build context (or -)."),
    tags: list[str] = typer.Option([], "--tag", "-t", help="Name the image (repeatable)."),
    files: list[str] = typer.Option([], "--file", "-f", help="The Containerfile to use."),
    build_args: list[str] = typer.Option([], "--build-arg", help="ARG value: KEY=VALUE."),
    target: str = typer.Option(None, "--target", help="Build up to this stage."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not use cached steps."),
    layers: bool = typer.Option(
        True, "--layers/--no-layers", envvar="BUILDAH_LAYERS", help="Cache each step."
    ),
    pull: str = typer.Option(
        "missing", "--pull", help="Pull base images: missing, always (bare --pull), never, newer."
    ),
    pull_always: bool = typer.Option(False, "--pull-always", help="Always pull base images."),
    pull_never: bool = typer.Option(False, "--pull-never", help="Never pull base images."),
    tls_verify: bool = common.tls_verify_option(),
    authfile: str = common.authfile_option(),
    creds: str = common.creds_option(),
    cert_dir: str = common.cert_dir_option(),
    ignorefile: str = typer.Option(
        None, "--ignorefile", help="An ignore file instead of the context's .containerignore."
    ),
    logfile: str = typer.Option(None, "--logfile", help="Write the output to this file."),
    ulimit: list[str] = typer.Option([], "--ulimit", help="RUN steps' ulimits: name=soft[:hard]."),
    cache_ttl: str = typer.Option(
        None, "--cache-ttl", help="Use cached steps younger than this duration only (1h30m)."
    ),
    jobs: int = typer.Option(1, "--jobs", help="Stages run in parallel (pod runs them in turn)."),
    quiet: bool = common.quiet_option("Print only the image ID."),
    iidfile: str = typer.Option(None, "--iidfile", help="Write the image ID to this file."),
    labels: list[str] = typer.Option([], "--label", help="Image label KEY=VALUE."),
    annotations: list[str] = typer.Option([], "--annotation", help="Manifest annotation."),
    image_format: str = typer.Option("oci", "--format", help="Image format: oci or docker."),
    network: str = typer.Option(None, "--network", help="Network mode for RUN steps."),
    platform: str = typer.Option(None, "--platform", help="OS/ARCH (the host's only)."),
    timestamp: int = typer.Option(
        None, "--timestamp", help="Seconds since the epoch for every date in the image."
    ),
    secrets: list[str] = typer.Option([], "--secret", help="id=ID,src=PATH for RUN mounts."),
    env: list[str] = typer.Option([], "--env", help="Set KEY=VALUE in the image."),
    volumes: list[str] = typer.Option([], "--volume", "-v", help="Bind mount for RUN steps."),
    build_contexts: list[str] = typer.Option(
        [], "--build-context", help="name=DIRECTORY: an extra context for COPY --from."
    ),
    runtime: str = typer.Option(None, "--runtime", help="OCI runtime for RUN steps."),
    squash: bool = typer.Option(False, "--squash", help="The new layers as one layer."),
    squash_all: bool = typer.Option(False, "--squash-all", help="The image as one layer."),
) -> None:
    """Build an image from a Containerfile."""
    build_image.build(**ctx.params)


def commit_command(
    container: str = typer.Argument(..., help="The container to commit."),
    image: str = typer.Argument(None, help="The new image's name."),
    changes: list[str] = typer.Option(
        [], "--change", "-c", help="Apply a Containerfile instruction (CMD, ENV, ...)."
    ),
    message: str = typer.Option(None, "--message", "-m", help="Commit message (history)."),
    author: str = typer.Option(None, "--author", "-a", help="The image's author."),
    pause: bool = typer.Option(False, "--pause", "-p", help="Pause the container meanwhile."),
    squash: bool = typer.Option(False, "--squash", "-s", help="The image as one layer."),
    quiet: bool = common.quiet_option("Print only the image ID."),
    image_format: str = typer.Option("oci", "--format", "-f", help="Image format: oci or docker."),
) -> None:
    """Create an image from a container's changes."""
    from pod.builder.commit import CommitOptions, commit_container
    from pod.commands.progress import reporter_for

    record = commit_container(
        common.settings(),
        container,
        CommitOptions(
            name=image,
            changes=list(changes),
            message=message or "",
            author=author or "",
            pause=pause,
            image_format=image_format,
            squash=squash,
        ),
        reporter_for(quiet),
    )
    print(record.id)


def register(app: typer.Typer, image_app: typer.Typer) -> None:
    panel = "Images"
    app.command("build", rich_help_panel=panel)(build_command)
    image_app.command("build")(build_command)
    buildx = common.new_typer(help="Build images (Docker's buildx, as podman offers it).",
                              no_args_is_help=True)  # fmt: skip
    buildx.command("build")(build_command)
    app.add_typer(buildx, name="buildx", rich_help_panel=panel)
    app.command("commit", rich_help_panel=panel)(commit_command)
    common.container_group(app).command("commit")(commit_command)

"""The bodies of `pod rmi`, `pod tag` and `pod untag`, without typer: the typer commands and the
typer-free fast path (pod.commands.fastpath) call them with the commands' parameters by name
(build scripts tag and clean up images one command at a time)."""

from __future__ import annotations

from pod.commands import common


def rmi(images: list[str] | None, force: bool, all_images: bool, ignore: bool) -> None:
    """`pod rmi`: untag or delete each image, as podman reports it."""
    from pod.errors import UsageError
    from pod.image.remove import remove_images

    if not images and not all_images:
        raise UsageError("image name or ID must be specified")
    if images and all_images:
        raise UsageError("when using the --all switch, you may not pass any images names or IDs")
    # podman: --force ignores images that do not exist
    report = remove_images(common.settings(), images or [], force, all_images, ignore or force)
    for name in report.untagged:
        print(f"Untagged: {name}")
    for ident in report.deleted:
        print(f"Deleted: {ident}")
    common.raise_collected(report.errors)


def tag(image: str, names: list[str]) -> None:
    """`pod tag`: add each name to the image (one named by a transport is copied in first)."""
    from pod.image import reference, transports

    store = common.image_store()
    if transports.has_transport(image):  # oci:DIR, docker-archive:FILE, ...: copied in first
        from pod.commands.progress import reporter_for
        from pod.image.resolve import local_image

        image = local_image(common.settings(), image, reporter_for(True)).id
    for name in names:
        store.tag(image, reference.qualify_local(name))


def untag(image: str, names: list[str] | None) -> None:
    """`pod untag`: remove the names (all without any) from the image, which stays."""
    from pod.image import reference

    common.image_store().untag(image, [reference.local_name(name) for name in names or []])

"""`pod mount`, `pod umount` and `pod image mount|unmount`: root file systems for the user."""

from __future__ import annotations

import typer

from pod.commands import common


def mount_command(
    containers: list[str] = typer.Argument(
        None, metavar="[CONTAINER...]", help="Containers to mount (none: list the mounted)."
    ),
    notruncate: bool = typer.Option(False, "--notruncate", help="Do not truncate IDs."),
) -> None:
    """Mount a container's root file system and print where (rootless: in `pod unshare`)."""
    from pod.container.mount import mount_container, mounted_containers

    settings = common.settings()
    if containers:
        for name in containers:
            print(mount_container(settings, name))
        return
    for found in mounted_containers(settings):
        print(f"{found.id if notruncate else found.id[:12]}  {found.path}")


def umount_command(
    containers: list[str] = typer.Argument(
        None, metavar="CONTAINER...", help="Containers to unmount."
    ),
    all_containers: bool = typer.Option(
        False, "--all", "-a", help="Unmount every container pod mount holds."
    ),
    force: bool = typer.Option(
        False, "--force", "-f", help="Unmount even if mounted several times."
    ),
) -> None:
    """Unmount a container's root file system (when its last `pod mount` is undone)."""
    from pod.container.mount import held_containers, require_privileges, unmount_container
    from pod.errors import UsageError

    require_privileges("umount")
    settings = common.settings()
    if all_containers:
        for ident in held_containers(settings):
            print(unmount_container(settings, ident, force=True))
        return
    if not containers:
        raise UsageError("at least one container name or ID must be specified")
    for name in containers:
        unmount_container(settings, name, force=force)
        print(name)


def image_mount_command(
    images: list[str] = typer.Argument(
        None, metavar="[IMAGE...]", help="Images to mount (none: list the mounted)."
    ),
) -> None:
    """Mount an image's file system read-only and print where (rootless: in `pod unshare`)."""
    from pod.image.mount import mount_image, mounted_images

    settings = common.settings()
    if images:
        for name in images:
            print(mount_image(settings, name))
        return
    for found in mounted_images(settings):  # podman: one line an image, its first name
        print(f"{(found.record.names or [found.record.id])[0]}  {found.path}")


def image_unmount_command(
    images: list[str] = typer.Argument(None, metavar="IMAGE...", help="Images to unmount."),
    all_images: bool = typer.Option(False, "--all", "-a", help="Unmount every mounted image."),
    force: bool = typer.Option(
        False, "--force", "-f", help="Unmount even if mounted several times."
    ),
) -> None:
    """Unmount an image's file system (when its last `image mount` is undone)."""
    from pod.container.mount import require_privileges
    from pod.errors import UsageError
    from pod.image.mount import mounted_images, unmount_image
    from pod.store.images import ImageStore
    from pod.store.layout import Layout

    require_privileges("image unmount")
    settings = common.settings()
    if all_images:
        for found in mounted_images(settings):
            unmount_image(settings, found.record, force=True)
            print(found.record.id)
        return
    if not images:
        raise UsageError("at least one image name or ID must be specified")
    store = ImageStore(Layout(settings.root, settings.runroot))
    for name in images:
        record = store.lookup(name)
        unmount_image(settings, record, force=force)
        print(record.id)


def register(app: typer.Typer, image_app: typer.Typer) -> None:
    panel = "Containers"
    app.command("mount", rich_help_panel=panel)(mount_command)
    app.command("umount", rich_help_panel=panel)(umount_command)
    app.command("unmount", rich_help_panel=panel, hidden=True)(umount_command)
    group = common.container_group(app)
    group.command("mount")(mount_command)
    group.command("umount")(umount_command)
    group.command("unmount", hidden=True)(umount_command)
    image_app.command("mount")(image_mount_command)
    image_app.command("unmount")(image_unmount_command)
    image_app.command("umount", hidden=True)(image_unmount_command)

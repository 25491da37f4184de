"""The bodies of `pod stop` and `pod rm`, and the per-container loop the lifecycle commands
share, without typer: the typer commands and the typer-free fast path (pod.commands.fastpath)
call them with the commands' parameters by name (`stop` then `rm` is what scripts and units
run to end a container: each saves ~35 ms of CLI start-up)."""

from __future__ import annotations

from collections.abc import Callable

from pod.commands import common


def each(names: list[str], action: Callable[[str], object], ignore_missing: bool = False) -> None:
    """Run `action` per container; print every error but the last, raise that one (exit 125)."""
    from pod.container.lifecycle import engine_error
    from pod.errors import NoSuchContainerError, PodError

    if not ignore_missing:
        try:
            look_up_all(names)
        except PodError as err:
            raise engine_error(err) from None
    errors: list[PodError] = []
    for text in names:
        try:
            action(text)
        except NoSuchContainerError as err:
            if not ignore_missing:
                errors.append(engine_error(err))
        except PodError as err:
            errors.append(engine_error(err))
    common.raise_collected(errors)


def look_up_all(names: list[str]) -> None:
    """podman looks every named container up before it acts on any: a missing one fails the
    command with nothing done, on the first missing name's error. (One name needs no look-up
    of its own: its action fails alike.)"""
    if len(names) > 1:
        from pod.store.containers import ContainerStore
        from pod.store.layout import Layout

        settings = common.settings()
        ContainerStore(Layout(settings.root, settings.runroot)).lookup_all(names)


def targets(containers: list[str] | None, all_containers: bool, running_only: bool) -> list[str]:
    from pod.container.lifecycle import all_ids
    from pod.errors import UsageError

    if all_containers:
        if containers:
            raise UsageError("--all and containers cannot be used together")
        return all_ids(common.settings(), running_only)
    if not containers:
        raise UsageError("you must provide at least one container name or ID")
    return containers


def stop(
    containers: list[str] | None,
    timeout: int | None,
    all_containers: bool,
    ignore: bool,
    latest: bool,
    cidfile: list[str],
) -> None:
    """Stop containers; prints each one as it was typed."""
    from pod.commands.progress import QuietReporter
    from pod.container.lifecycle import all_ids, stop_container

    def action(text: str) -> None:
        stop_container(common.settings(), text, timeout, QuietReporter())
        print(text)

    if latest:
        containers = all_ids(common.settings(), False)[-1:]
    if cidfile:
        chosen = common.container_ids_from(cidfile, containers, ignore)
    else:
        chosen = targets(containers, all_containers, True)
    each(chosen, action, ignore)


def remove(
    containers: list[str] | None,
    force: bool,
    all_containers: bool,
    volumes: bool,
    timeout: int,
    ignore: bool,
    cidfile: list[str],
) -> None:
    """Remove containers (exit 1: no such container; 2: running without -f)."""
    from pod.commands.progress import QuietReporter
    from pod.container.remove import removal_order, remove_container, remove_orphans
    from pod.errors import NoSuchContainerError, PodError, UsageError
    from pod.store.containers import ContainerStore
    from pod.store.layout import Layout

    settings = common.settings()
    reporter = QuietReporter()
    infra: list[tuple[str, str]] = []  # --all: the infra containers go with their pods
    if cidfile:
        containers = common.container_ids_from(cidfile, containers, ignore)
    elif all_containers:
        records = ContainerStore(Layout(settings.root, settings.runroot)).list()
        containers = [r.id for r in removal_order(records) if not r.infra]
        infra = [(r.id, r.pod) for r in records if r.infra]
    elif not containers:
        raise UsageError("must specify at least one container or --all")
    elif not (ignore or force):  # podman: --force evicts each name, a missing one passed over
        look_up_all(containers)
    errors: list[PodError] = []
    for text in containers:
        try:
            remove_container(settings, text, force, volumes, timeout, reporter)
            print(text)  # what was typed, as podman prints it
        except NoSuchContainerError as err:
            if not (ignore or force):  # podman: --force ignores containers that do not exist
                errors.append(err)
        except PodError as err:
            errors.append(err)
    for container_id, pod_id in infra:
        from pod.pods.remove import remove_pod

        try:
            remove_pod(settings, pod_id, force, timeout, reporter)
            print(container_id)
        except PodError as err:
            errors.append(err)
    remove_orphans(settings)
    common.raise_collected(errors)

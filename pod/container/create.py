"""`pod create` (and the first half of `pod run`): options + image → a record and an OCI bundle.

The container's directory is claimed first (unique name under the containers lock); every
later step writes inside it, and any failure removes it again, so a bad flag or a missing
image never leaves a half-made container behind.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import asdict, dataclass

from pod import events
from pod.config import Settings
from pod.container import etc_files, restart_policy, seccomp_profile, secret_files, spec
from pod.container import user as passwd
from pod.container.health import healthcheck_config, parse_on_failure
from pod.container.options import MountSpec, RunOptions
from pod.errors import NoSuchImageError, PodError
from pod.image.defaults import ImageDefaults, defaults_from_config, image_config
from pod.reporter import Reporter
from pod.store.blobs import BlobStore
from pod.store.containers import ContainerRecord, ContainerState, ContainerStore, new_id
from pod.store.images import ImageRecord, ImageStore
from pod.store.layout import Layout
from pod.store.lock import atomic_write, atomic_write_json, locked
from pod.store.volumes import VolumeStore
from pod.util.capabilities import host_bounding_set
from pod.util.userns import current_mapping


@dataclass(frozen=True)
class BaseImage:
    """An image a container can start from that need not be in the store: a build's state."""

    record: ImageRecord
    config: dict


def create_container(
    settings: Settings,
    options: RunOptions,
    reporter: Reporter,
    base: BaseImage | None = None,
) -> ContainerRecord:
    layout = Layout(settings.root, settings.runroot)
    if base is None:
        image = find_or_pull(settings, layout, options.image, options.pull, reporter)
        defaults = defaults_from_config(image_config(BlobStore(layout), image))
    else:
        image, defaults = base.record, defaults_from_config(base.config)
    store = ContainerStore(layout)
    record = _record(settings, options, image, defaults)
    record.secrets = _secrets(layout, options)

    def replace(old: ContainerRecord) -> None:
        from pod.container.remove import remove_container

        remove_container(settings, old.id, force=True, timeout=old.stop_timeout)

    with _joining_pod(layout, options):
        store.create(record, replace, options.replace)
        try:
            _write_bundle(settings, layout, store, record, options, image, defaults, reporter)
            with locked(store.container_lock(record.id)):
                store.write_state(record.id, ContainerState(status="configured"))
        except BaseException:
            from pod.network.plan import release

            release(layout, record.id, record.networks)
            store.remove_files(record.id)
            raise
    events.container_event(settings.runroot, record, "create")
    return record


def _joining_pod(layout: Layout, options: RunOptions) -> contextlib.AbstractContextManager:
    """A pod's container is made while the pod is held: `pod rm` waits, and a pod removed
    meanwhile fails the creation (the infra is made before its pod is complete: not held)."""
    if not options.pod or options.infra:
        return contextlib.nullcontext()
    from pod.store.pods import PodStore

    return PodStore(layout).joining(options.pod)


def find_or_pull(
    settings: Settings, layout: Layout, text: str, policy: str, reporter: Reporter
) -> ImageRecord:
    """The local image when the policy allows (run, create, build's FROM); the registry code
    is imported only on a miss."""
    if policy in ("missing", "never"):
        images = ImageStore(layout)
        local = images.find(text, images.list())
        if local is not None:
            return local
    from pod.image.pull import PullOptions, pull_image

    try:
        return pull_image(settings, text, PullOptions(policy=policy, reporter=reporter))
    except NoSuchImageError as err:  # rmi's exit 1; for run/create podman exits 125
        raise PodError(str(err)) from None


def _userns(options: RunOptions, rootless: bool) -> spec.UsernsMapping | None:
    """The maps for the user namespace a rootless container's shim lives in."""
    mapping = current_mapping()
    return spec.userns_mapping(
        options,
        rootless,
        os.geteuid(),
        os.getegid(),
        mapping.uids.ranges,
        mapping.gids.ranges,
    )


def _shim_maps(userns: spec.UsernsMapping | None) -> dict[str, list]:
    """The id maps in the shape the shim writes with newuidmap/newgidmap."""
    if userns is None:
        return {}
    return {
        "uid_map": [[m.inside, m.outside, m.count] for m in userns.uids],
        "gid_map": [[m.inside, m.outside, m.count] for m in userns.gids],
    }


def _record(
    settings: Settings, options: RunOptions, image: ImageRecord, defaults: ImageDefaults
) -> ContainerRecord:
    container_id = new_id()
    entrypoint, cmd = spec.entrypoint_and_cmd(options, defaults)
    policy = restart_policy.parse(options.restart)
    return ContainerRecord(
        id=container_id,
        name=options.name or "",
        image_id=image.id,
        image_name=image.names[0] if image.names else image.id,
        created=time.time(),
        command=spec.command_line(options, defaults),
        rootless=settings.rootless,
        runtime=options.runtime or "pod",
        tty=options.tty,
        interactive=options.interactive,
        remove=options.remove,
        log_driver=options.log_driver,
        labels=options.labels,
        hostname=options.hostname or container_id[:12],
        stop_signal=options.stop_signal or defaults.stop_signal or "SIGTERM",
        stop_timeout=options.stop_timeout,
        restart_policy=policy.name,
        restart_retries=policy.retries,
        network=options.network,
        storage_driver=settings.storage_driver,
        entrypoint=entrypoint,
        cmd=cmd,
        user=options.user or defaults.user or "",
        cap_add=spec.normalize_capabilities(options.cap_add),
        cap_drop=spec.normalize_capabilities(options.cap_drop),
        builder=options.builder,
        privileged=options.privileged,
        security_opt=list(options.security_opt),
        devices=[[d.host_path, d.container_path, d.permissions] for d in options.devices],
        healthcheck={}
        if options.builder
        else healthcheck_config(options.health, defaults.healthcheck),
        health_on_failure=parse_on_failure(options.health.on_failure),
        events_backend=events.override(),
        pod=options.pod,
        infra=options.infra,
        sd_notify=options.sd_notify,
        create_command=list(options.create_command),
    )


def _secrets(layout: Layout, options: RunOptions) -> list[dict]:
    """--secret resolved against the store (a missing secret fails the create): names and
    ids only, the data stays in the store."""
    if not options.secrets:
        return []
    from pod.store.secrets import SecretStore

    store = SecretStore(layout)
    resolved = []
    for request in options.secrets:
        found = store.lookup(request.source)
        target = request.destination if request.type == "mount" else request.variable
        resolved.append(
            {"name": found.name, "id": found.id, "type": request.type, "target": target,
             "uid": request.uid, "gid": request.gid, "mode": request.mode, "key": request.key}
        )  # fmt: skip
    return resolved


def _volume_mounts(
    layout: Layout, options: RunOptions, defaults: ImageDefaults, rootless: bool
) -> tuple[list[dict], list[str]]:
    """Resolve -v/--mount/--tmpfs and the image's VOLUMEs into runtime mounts and volume names."""
    volumes = VolumeStore(layout)
    requested = list(options.mounts)
    taken = {m.destination for m in requested}
    if not options.builder:
        requested += [
            MountSpec("volume", v.rstrip("/") or "/") for v in defaults.volumes if v not in taken
        ]
    mounts: list[dict] = []
    names: list[str] = []
    for item in requested:
        entry = {"type": item.type, "destination": item.destination, "options": list(item.options)}
        if item.type == "bind":
            if not os.path.exists(item.source):
                raise PodError(f"statfs {item.source}: no such file or directory")
            entry["source"] = item.source
        elif item.type == "volume":
            record = volumes.create(item.source or None, ignore_existing=True)
            names.append(record.name)
            entry["source"] = str(volumes.data_dir(record.name))
            entry["volume"] = record.name
            entry["copy_up"] = not any(volumes.data_dir(record.name).iterdir())
        mounts.append(entry)
    return mounts, names


def _network(
    settings: Settings,
    layout: Layout,
    store: ContainerStore,
    record: ContainerRecord,
    options: RunOptions,
    defaults: ImageDefaults,
    reporter: Reporter,
):
    """Settle the network (pod.network.plan) and note it in the record."""
    from pod.network.plan import plan_network

    network = plan_network(
        layout, options, defaults.exposed_ports, record.id, record.name, settings.rootless,
        reporter.warning,
    )  # fmt: skip
    record.network = network.mode.describe()
    record.networks = [a.to_json() for a in network.mode.networks]
    record.ports = [p.to_json() for p in network.ports]
    record.exposed = network.exposed
    record.dns, record.dns_search = list(options.dns), list(options.dns_search)
    record.dns_options = list(options.dns_options)
    # Written at once: a failure from here on releases the addresses the record names.
    atomic_write_json(store.record_file(record.id), asdict(record))
    return network


def _seccomp_profile(options: RunOptions) -> dict | None:
    """The profile to resolve into linux.seccomp (read even for runc/crun: pod writes it for
    every runtime); None when the container runs unconfined."""
    choice = seccomp_profile.SeccompChoice(options.seccomp_profile)
    if options.privileged or choice.unconfined:
        return None
    return seccomp_profile.read_profile(choice.path())


def _write_bundle(
    settings: Settings,
    layout: Layout,
    store: ContainerStore,
    record: ContainerRecord,
    options: RunOptions,
    image: ImageRecord,
    defaults: ImageDefaults,
    reporter: Reporter,
) -> None:
    paths = layout.container(record.id)
    layer_dirs = [layout.layer_diff(chain) for chain in reversed(image.chain_ids)]
    userns = _userns(options, settings.rootless)
    user = passwd.resolve_user(
        layer_dirs,
        spec.user_spec(options, defaults, userns),
        available_gids=userns.available_gids if userns else None,
    )
    mounts, volume_names = _volume_mounts(layout, options, defaults, settings.rootless)
    network = _network(settings, layout, store, record, options, defaults, reporter)
    files = etc_files.write_all(
        paths.directory,
        record.hostname,
        options,
        user,
        container_id=record.id,
        container_name=record.name,
        image_name=record.image_name,
        image_id=record.image_id,
        rootless=settings.rootless,
        container_ips=network.container_ips,
        host_internal_ip=network.host_internal_ip,
    )
    config = spec.build_spec(
        options,
        defaults,
        container_id=record.id,
        hostname=record.hostname,
        rootfs=str(paths.merged),
        user=user,
        mounts=[*mounts, *secret_files.spec_mounts(paths.directory, record.secrets)],
        etc_files=files,
        rootless=settings.rootless,
        in_user_namespace=settings.rootless,
        cgroups_path=None if settings.rootless else f"/pod/{record.id}",
        annotations=dict(options.labels),
        userns=userns,
        cgroup_v2=os.path.exists("/sys/fs/cgroup/cgroup.controllers"),
        bounding_set=host_bounding_set(),
        rlimit_ceiling=spec.host_rlimits(),
        swap_limit=spec.host_swap_limit(),
        devices=spec.host_devices() if options.privileged and not settings.rootless else (),
        netns_path=network.netns_path,
        user_devices=spec.user_devices(options.devices),
        seccomp=_seccomp_profile(options),
    )
    record.userns = _shim_maps(userns)
    for path in (paths.upper, paths.work, paths.merged):
        path.mkdir(exist_ok=True)
    atomic_write(paths.config, spec.to_json(config))
    record.mounts = mounts
    record.volumes = volume_names
    record.layers = list(image.chain_ids)
    atomic_write_json(store.record_file(record.id), asdict(record))
    store.write_state(record.id, ContainerState(status="created"))

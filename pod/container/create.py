"""`pod create` (and the first half of `pod run`): options + image → a record and an OCI bundle.

The container's directory is claimed first (unique name under the containers lock); every
later step writes inside it, and any failure removes it again, so a bad flag or a missing
image never leaves a half-made container behind.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from pod import events
from pod.config import Settings
from pod.container import (
    etc_files,
    etc_users,
    namespaces,
    restart_policy,
    seccomp_profile,
    secret_files,
    spec,
    userns_modes,
    volume_mounts,
)
from pod.container import user as passwd
from pod.container.health import healthcheck_config, parse_on_failure
from pod.container.options import MountSpec, RunOptions
from pod.container.state import current_state
from pod.errors import NoSuchContainerError, NoSuchImageError, PodError
from pod.image.defaults import ImageDefaults, defaults_from_config, image_config
from pod.reporter import Reporter
from pod.store import safepath
from pod.store.blobs import BlobStore
from pod.store.containers import ContainerRecord, ContainerState, ContainerStore, new_id
from pod.store.images import ImageRecord, ImageStore
from pod.store.layout import ContainerPaths, Layout, root_dir_mode
from pod.store.lock import atomic_write, atomic_write_json, fsync_dir, locked
from pod.store.volumes import VolumeStore
from pod.util.capabilities import host_bounding_set
from pod.util.records import asdict, dataclass, replace
from pod.util.userns import current_mapping

if TYPE_CHECKING:
    from pod.image.access import RegistryAccess


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
    _check_cgroup_manager(settings, reporter)
    if base is None:
        image = find_or_pull(
            settings, layout, options.image, options.pull, reporter, options.platform
        )
        defaults = defaults_from_config(image_config(BlobStore(layout), image))
        images = ImageStore(layout)
        found = images.resolve(options.image, [image])
        image_name = found[1] if found else (image.names or [image.id])[0]
    else:
        image, defaults = base.record, defaults_from_config(base.config)
        image_name = (image.names or [image.id])[0]
    store = ContainerStore(layout)
    record = _record(settings, options, image, image_name, defaults)
    record.requires = dependency_ids(store, options)
    record.namespaces = options.namespaces.to_json()
    record.secrets = _secrets(layout, options)

    def replace(old: ContainerRecord) -> None:
        from pod.container.remove import remove_container

        remove_container(settings, old.id, force=True, timeout=old.stop_timeout)

    with _joining_pod(layout, options):
        store.create(record, replace, options.replace)
        try:
            _write_bundle(settings, layout, store, record, options, image, defaults, reporter)
            fsync_dir(layout.container_dir(record.id))  # the bundle's renames, then the commit
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


def _check_cgroup_manager(settings: Settings, reporter: Reporter) -> None:
    """--cgroup-manager systemd: refused without systemd (as podman's runtime refuses it);
    with it, pod still places the container's cgroup itself and says so."""
    if settings.cgroup_manager != "systemd" or settings.rootless:
        return
    if not os.path.isdir("/run/systemd/system"):
        raise PodError("systemd not running on this host, cannot use systemd cgroups manager")
    reporter.warning("pod manages container cgroups itself: using cgroupfs, not systemd")


def find_or_pull(
    settings: Settings,
    layout: Layout,
    text: str,
    policy: str,
    reporter: Reporter,
    platform: str = "",
    access: RegistryAccess | None = None,
) -> ImageRecord:
    """The local image when the policy allows (run, create, build's FROM) and it is for the
    `platform` asked for ("": any); the registry code is imported only on a miss. `access`:
    the command's --tls-verify, --authfile, --creds, --cert-dir."""
    if policy in ("missing", "never"):
        images = ImageStore(layout)
        local = images.find(text, images.list())
        if local is not None and _for_platform(layout, local, platform):
            return local
        if local is not None and policy == "never":
            raise PodError(f"{text}: image not known")
    from pod.image import manifest
    from pod.image.pull import PullOptions, pull_image

    # a local image for another platform must not satisfy "missing": fetch the wanted one
    wanted_policy = "always" if platform and policy == "missing" else policy
    pull = PullOptions(policy=wanted_policy, reporter=reporter)
    if access is not None:
        pull.access = access
    if platform:
        parts = platform.split("/")
        pull.platform = manifest.Platform(parts[0], parts[1], parts[2] if len(parts) > 2 else "")
    try:
        return pull_image(settings, text, pull)
    except NoSuchImageError as err:  # rmi's exit 1; for run/create podman exits 125
        raise PodError(str(err)) from None


def _for_platform(layout: Layout, image: ImageRecord, platform: str) -> bool:
    """Whether a stored image is for `platform` (os/arch[/variant]; "" matches any)."""
    if not platform:
        return True
    config = image_config(BlobStore(layout), image)
    have = [config.get("os", ""), config.get("architecture", ""), config.get("variant", "")]
    wanted = platform.split("/")
    return have[: len(wanted)] == wanted


def _userns(
    options: RunOptions, rootless: bool, allocated: spec.UsernsMapping | None = None
) -> spec.UsernsMapping | None:
    """The maps of the container's user namespace (host ids); `allocated`: --userns=auto's."""
    mapping = current_mapping()
    return spec.userns_mapping(
        options,
        rootless,
        os.geteuid(),
        os.getegid(),
        mapping.uids.ranges,
        mapping.gids.ranges,
        allocated,
    )


def _nested_userns(
    options: RunOptions, rootless: bool, userns: spec.UsernsMapping | None
) -> tuple[spec.UsernsMapping | None, spec.UsernsMapping | None]:
    """(the shim's namespace, the one the runtime nests in it): rootless --userns=keep-id,
    nomap and auto get a namespace of their own inside the user's default one, as podman
    does, so its shim, its network namespace and the rootless network namespace of pod
    networks are the default namespace's, as every other rootless container's."""
    nested = userns_modes.mode(options) in ("keep-id", "nomap", "auto")
    if not (rootless and nested) or userns is None:
        return userns, None
    default = _userns(replace(options, userns=None), rootless)
    assert default is not None
    return default, spec.nested_mapping(userns, default)


def _own_maps(
    options: RunOptions,
    rootless: bool,
    userns: spec.UsernsMapping | None,
    nested: spec.UsernsMapping | None,
) -> spec.UsernsMapping | None:
    """A nomap or auto container's maps as its record keeps them: relative to the user's
    namespace rootless (the runtime's nested one), host ids rootful; None for other modes."""
    if userns_modes.mode(options) not in ("nomap", "auto"):
        return None
    return nested if rootless else userns


def _shim_maps(userns: spec.UsernsMapping | None) -> dict[str, list]:
    """The id maps in the shape the shim writes with newuidmap/newgidmap."""
    if userns is None:
        return {}
    return {
        "uid_map": [[m.inside, m.outside, m.count] for m in userns.uids],
        "gid_map": [[m.inside, m.outside, m.count] for m in userns.gids],
    }


def dependency_ids(store: ContainerStore, options: RunOptions) -> list[str]:
    """The IDs of --requires containers and of those whose namespaces this one joins: each
    is started first and cannot be removed before this one (podman's dependencies)."""
    found = []
    for name, why in options.dependencies:
        if why != "requires":
            found.append(_joined_container(store, why, name).id)
            continue
        try:
            found.append(store.lookup(name).id)
        except NoSuchContainerError as err:
            raise PodError(
                f'"{name}" is not a valid container, cannot be used as a dependency: {err}'
            ) from None
    return list(dict.fromkeys(found))


def _joined_container(store: ContainerStore, kind: str, name: str) -> ContainerRecord:
    try:
        return store.lookup(name)
    except NoSuchContainerError as err:
        raise PodError(f"looking up container to share {kind} namespace with: {err}") from None


def _joined_pids(store: ContainerStore, options: RunOptions, rootless: bool) -> dict[str, int]:
    """namespace → pid of the running container --ipc/--pid/--uts container:X join. Rootless,
    its namespaces belong to its own user namespace, which this container's shim joins only
    when it also joins X's network (--network container:X)."""
    pids = {}
    for kind in namespaces.KINDS:
        mode = options.namespaces.mode(kind)
        if mode.kind != "container":
            continue
        target = _joined_container(store, kind, mode.target)
        network = options.network_mode
        same_userns = (
            network is not None
            and network.kind == "container"
            and (store.lookup(network.target).id == target.id)
        )
        if rootless and not same_userns:
            raise PodError(
                f"--{kind} container:{mode.target} needs --network container:{mode.target} "
                "rootless: each rootless container has a user namespace of its own, and only "
                "one sharing that container's network joins its user namespace"
            )
        state = current_state(store, target)
        if state.status != "running" or not state.pid:
            raise PodError(
                f"cannot get namespace path unless container {target.id} is running: "
                "container is stopped"
            )
        pids[kind] = state.pid
    return pids


def _record(
    settings: Settings,
    options: RunOptions,
    image: ImageRecord,
    image_name: str,
    defaults: ImageDefaults,
) -> ContainerRecord:
    container_id = new_id()
    entrypoint, cmd = spec.entrypoint_and_cmd(options, defaults)
    policy = restart_policy.parse(options.restart)
    return ContainerRecord(
        id=container_id,
        name=options.name or "",
        image_id=image.id,
        image_name=image_name,
        created=time.time(),
        command=spec.command_line(options, defaults),
        rootless=settings.rootless,
        runtime=options.runtime or settings.runtime or "pod",  # run --runtime, pod --runtime
        tty=options.tty,
        interactive=options.interactive,
        remove=options.remove,
        log_driver=options.log_driver,
        labels={**defaults.labels, **options.labels},  # the image's too, as podman's
        hostname=_hostname(options, container_id),
        stop_signal=spec.stop_signal(options, defaults),
        stop_timeout=options.stop_timeout,
        restart_policy=policy.name,
        restart_retries=policy.retries,
        network=options.network,
        storage_driver=settings.storage_driver,
        mount_program=settings.storage_opts.get("mount_program", ""),
        overlay_mountopt=settings.storage_opts.get("mountopt", ""),
        entrypoint=entrypoint,
        cmd=cmd,
        user=options.user or defaults.user or "",
        cap_add=spec.normalize_capabilities(options.cap_add),
        cap_drop=spec.normalize_capabilities(options.cap_drop),
        builder=options.builder,
        privileged=options.privileged,
        security_opt=list(options.security_opt),
        devices=[[d.host_path, d.container_path, d.permissions] for d in options.devices],
        group_add=list(options.group_add),
        userns_mode=options.userns or "",
        volumes_from=list(options.volumes_from),
        timeout=options.timeout,
        conmon_pidfile=options.conmon_pidfile or "",
        preserve_fds=options.preserve_fds,
        log_path=options.log.path or "",
        log_max_size=options.log.max_size or 0,
        log_tag=options.log.tag,
        systemd=options.systemd,
        timezone=options.timezone or "",
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


def _hostname(options: RunOptions, container_id: str) -> str:
    """--hostname, else the host's in the host's UTS namespace, else the short ID."""
    namespaces.check_hostname(options.namespaces, options.hostname)
    if options.namespaces.uts.kind == "host":
        import socket

        return socket.gethostname()
    return options.hostname or container_id[:12]


def _volumes_from(store: ContainerStore, values: list[str]) -> list[MountSpec]:
    """--volumes-from CTR[:ro|rw]: the bind mounts and volumes of another container, at the
    same places, with its options unless ro or rw is given."""
    found = []
    for value in values:
        name, _, wanted = value.partition(":")
        try:
            source = store.lookup(name)
        except NoSuchContainerError as err:
            raise PodError(f'looking up container "{name}" for volumes-from: {err}') from None
        mode = [option for option in wanted.split(",") if option in ("ro", "rw")]
        for mount in source.mounts:
            if mount.get("type") not in ("bind", "volume"):
                continue
            options = [o for o in mount.get("options") or [] if not mode or o not in ("ro", "rw")]
            where = mount.get("volume", "") if mount["type"] == "volume" else mount["source"]
            found.append(MountSpec(mount["type"], mount["destination"], where, options + mode))
    return found


def _image_mount(layout: Layout, container_id: str, index: int, item: MountSpec) -> dict:
    """--mount type=image: the image's layers, mounted by the shim beside the rootfs (see
    pod.container.rootfs) and bound in read-only unless rw."""
    images = ImageStore(layout)
    image = images.find(item.source, images.list())
    if image is None:
        raise PodError(
            f'creating image volume "{item.source}":"{item.destination}": {item.source}: '
            "image not known"
        )
    directory = layout.container(container_id).image_mount(index)
    return {
        "type": "image",
        "destination": item.destination,
        "options": list(item.options),
        "source": str(directory / "merged"),
        "image": image.id,
        "layers": list(image.chain_ids),
    }


def _default_mounts(mounts_file: Path | None, paths: ContainerPaths) -> list[MountSpec]:
    """--default-mounts-file: each `HOST:CONTAINER` line's files, copied into the container's
    directory (what the container changes there stays its own) and bound in; missing host
    paths and a missing file are skipped, as podman does."""
    try:
        lines = mounts_file.read_text().splitlines() if mounts_file else []
    except OSError:
        return []
    found: list[MountSpec] = []
    for line in (line.strip() for line in lines):
        source, sep, destination = line.partition(":")
        if not sep or line.startswith("#") or not os.path.exists(source):
            continue
        copy = paths.default_mount(len(found))
        copy.parent.mkdir(exist_ok=True)
        import shutil  # only with a mounts.conf entry: every other start skips it

        if os.path.isdir(source):
            shutil.copytree(source, copy, symlinks=True)
        else:
            shutil.copy2(source, copy)
        found.append(MountSpec("bind", os.path.normpath(destination), str(copy), []))
    return found


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
    layout: Layout,
    store: ContainerStore,
    container_id: str,
    options: RunOptions,
    defaults: ImageDefaults,
    default_mounts_file: Path | None = None,
) -> tuple[list[dict], list[str]]:
    """Resolve -v/--mount/--tmpfs, --volumes-from, --default-mounts-file and the image's VOLUMEs
    into runtime mounts and volume names; a destination given twice keeps the first."""
    volumes = VolumeStore(layout)
    requested = list(options.mounts)
    taken = {m.destination for m in requested}
    extra = _volumes_from(store, options.volumes_from)
    extra += _default_mounts(default_mounts_file, layout.container(container_id))
    for item in extra:
        if item.destination not in taken:
            requested.append(item)
            taken.add(item.destination)
    if not options.builder:
        requested += [
            MountSpec("volume", v.rstrip("/") or "/") for v in defaults.volumes if v not in taken
        ]
    mounts: list[dict] = []
    names: list[str] = []
    for index, item in enumerate(requested):
        entry: dict[str, object] = {
            "type": item.type,
            "destination": item.destination,
            "options": list(item.options),
        }
        if item.type == "bind":
            if not os.path.exists(item.source):
                raise PodError(f"statfs {item.source}: no such file or directory")
            entry["source"] = item.source
        elif item.type == "volume":
            record = volumes.create(item.source or None, ignore_existing=True)
            volumes.mark_taken(record.name)
            names.append(record.name)
            entry["source"] = str(volumes.data_dir(record.name))
            entry["volume"] = record.name
            if volume_mounts.mounts_filesystem(record.options):  # the shim mounts it
                entry["volume_options"] = dict(record.options)
            entry["copy_up"] = not any(volumes.data_dir(record.name).iterdir())
        elif item.type == "image":
            entry = _image_mount(layout, container_id, index, item)
        mounts.append(entry)
    return mounts, names


def _chown_for_user(
    settings: Settings,
    mounts: list[dict],
    user: passwd.ResolvedUser,
    nested: spec.UsernsMapping | None,
) -> None:
    """`-v SRC:DST:U`: SRC and all below it become the container user's, as the host (or,
    rootless, the user's namespace, where the ids are made) sees that user (podman's :U)."""
    sources = [
        m["source"]
        for m in mounts
        if m["type"] in ("bind", "volume") and "U" in m["options"] and m.get("source")
    ]
    if not sources:
        return
    uid, gid = user.uid, user.gid
    if nested is not None:  # the ids as the shim's namespace (rootful: the host) has them
        uid, gid = spec.outside_id(nested.uids, uid), spec.outside_id(nested.gids, gid)
    if not settings.rootless:
        for source in sources:
            safepath.chown_tree(Path(source), uid, gid)
        return
    from pod.store.layers import WORKER_MODULE
    from pod.util.userns import run_in_userns

    ops = [{"op": "chown", "path": s, "uid": uid, "gid": gid, "recursive": True} for s in sources]
    run_in_userns(WORKER_MODULE, {"ops": ops})


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
    # Written at once when it names addresses or ports: a failure from here on releases the
    # addresses, after a crash the record is what gives them back, and other creations see
    # the ports taken. Without either, the bundle's last write has it all.
    if record.networks or record.ports:
        path, durable = store.record_file(record.id), bool(record.networks)
        atomic_write_json(path, asdict(record), sync_dir=durable)
    return network


def _seccomp_profile(options: RunOptions) -> dict | None:
    """The profile to resolve into linux.seccomp (read even for runc/crun: pod writes it for
    every runtime); None when the container runs unconfined (seccomp=unconfined, or
    --privileged with the default profile)."""
    choice = seccomp_profile.SeccompChoice(options.seccomp_profile)
    if not choice.applies(options.privileged):
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
    allocated = userns_modes.allocate_auto(settings, store, record, options, layer_dirs, reporter)
    userns = _userns(options, settings.rootless, allocated)
    user_spec = spec.user_spec(options, defaults, userns)
    image_files = passwd.account_files(layer_dirs)
    user = _resolve_user(record, options, user_spec, userns, image_files)
    joined_pids = _joined_pids(store, options, settings.rootless)
    mounts, volume_names = _volume_mounts(
        layout, store, record.id, options, defaults, settings.default_mounts_file
    )
    accounts = _etc_accounts(settings, options, defaults, user_spec, mounts, image_files)
    if accounts.passwd is not None:  # podman: the ids as the image has them, HOME as added
        added = (accounts.passwd, image_files[1])
        user = replace(user, home=_resolve_user(record, options, user_spec, userns, added).home)
    shim_userns, nested_userns = _nested_userns(options, settings.rootless, userns)
    own = _own_maps(options, settings.rootless, userns, nested_userns)
    if own is not None:
        userns_modes.note(record, own)
    _chown_for_user(settings, mounts, user, nested_userns or own)
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
        accounts=accounts,
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
        annotations={**options.labels, **options.annotations},
        userns=shim_userns,
        nested_userns=nested_userns,
        cgroup_v2=os.path.exists("/sys/fs/cgroup/cgroup.controllers"),
        bounding_set=host_bounding_set(),
        rlimit_ceiling=spec.host_rlimits(),
        swap_limit=spec.host_swap_limit(),
        devices=spec.host_devices() if options.privileged and not settings.rootless else (),
        netns_path=network.netns_path,
        user_devices=spec.user_devices(options.devices),
        seccomp=_seccomp_profile(options),
        joined_pids=joined_pids,
        host_mqueue=os.path.isdir("/dev/mqueue"),
    )
    record.userns = _shim_maps(shim_userns)
    for path in (paths.upper, paths.work, paths.merged):
        path.mkdir(exist_ok=True)
    # The rootfs's / is the upper dir's (overlay): the image's, as containers/storage does.
    paths.upper.chmod(root_dir_mode(layout, image.top_layer))
    if own is not None:
        fresh = [m["source"] for m in mounts if m.get("volume") and m.get("copy_up")]
        userns_modes.prepare_rootfs(settings, layout, record.id, image.chain_ids, own, fresh)
    atomic_write(paths.config, spec.to_json(config), sync_dir=False)
    record.mounts = mounts
    record.volumes = volume_names
    record.layers = list(image.chain_ids)
    atomic_write_json(store.record_file(record.id), asdict(record), sync_dir=False)


def _resolve_user(
    record: ContainerRecord,
    options: RunOptions,
    user_spec: str,
    userns: spec.UsernsMapping | None,
    files: tuple[bytes | None, bytes | None],
) -> passwd.ResolvedUser:
    """The container's user from the given /etc/passwd and /etc/group contents."""
    try:
        return passwd.resolve_user_from(
            files,
            user_spec,
            available_gids=userns.available_gids if userns else None,
            group_add=options.group_add,
        )
    except PodError as err:
        if not options.group_add:
            raise
        raise PodError(f"looking up supplemental groups for container {record.id}: {err}") from None


def _etc_accounts(
    settings: Settings,
    options: RunOptions,
    defaults: ImageDefaults,
    user_spec: str,
    mounts: list[dict],
    image_files: tuple[bytes | None, bytes | None],
) -> etc_users.EtcAccounts:
    """The container's /etc/passwd and /etc/group with podman's added lines: --hostuser,
    rootless keep-id's own user, a numeric user or group the image lacks (--passwd-entry)."""
    current_user = current_group = None
    if settings.rootless and options.userns == "keep-id":
        current_user, current_group = etc_users.current_account(os.getuid(), os.getgid())
    request = etc_users.AccountRequest(
        user_spec=user_spec,
        host_users=[etc_users.host_account(name) for name in options.host_users],
        current_user=current_user,
        current_group=current_group,
        workdir=passwd.resolve_workdir(options.workdir, defaults.working_dir),
        mount_destinations=[str(m.get("destination", "")) for m in mounts],
        passwd_entry=options.passwd_entry,
    )
    return etc_users.etc_accounts(request, *image_files)

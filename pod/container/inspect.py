"""`pod container inspect`: podman's JSON shape, built from the three files a container keeps.

container.json (what create decided), config.json (the OCI spec: process, mounts, resources)
and state.json through `current_state`, so a dead shim is noticed here as in `ps`. Scripts
read these documents with `--format`, so every key podman 4.3 has that scripts use is present,
even when pod has nothing to put in it (empty network settings).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pod.config import Settings
from pod.container.namespaces import Namespaces
from pod.container.state import current_state, podman_status
from pod.format import GoFields, GoMap, NilMap, NilSlice
from pod.network import report
from pod.store.containers import ContainerRecord, ContainerState, ContainerStore
from pod.store.layout import Layout
from pod.store.lock import read_json
from pod.util.gotime import GoTime
from pod.util.humanize import human_size

PROPAGATIONS = ("private", "rprivate", "slave", "rslave", "shared", "rshared")


def _health(record: ContainerRecord, state: ContainerState) -> dict[str, Any]:
    """podman's State.Health: "starting" with no results until a check ran; empty without one."""
    if not record.healthcheck:
        return {"Status": "", "FailingStreak": 0, "Log": NilSlice()}
    health = {"Status": "starting", "FailingStreak": 0, "Log": NilSlice(), **state.health}
    if health["Log"]:  # podman's key order (the state file keeps its keys sorted)
        fields = ("Start", "End", "ExitCode", "Output")
        health["Log"] = [{key: entry.get(key) for key in fields} for entry in health["Log"]]
    return health


def _state_section(record: ContainerRecord, state: ContainerState) -> dict[str, Any]:
    status = podman_status(state.status)
    has_process = status in ("running", "paused", "initialized")  # initialized: its init waits
    return {
        "OciVersion": "1.0.2-dev",
        "Status": status,
        "Running": status == "running",
        "Paused": status == "paused",
        "Restarting": False,
        "OOMKilled": state.oom_killed,
        "Dead": False,
        "Pid": state.pid if has_process else 0,
        "ConmonPid": state.shim_pid if has_process else 0,
        "ExitCode": state.exit_code or 0,
        "Error": state.error,
        "StartedAt": GoTime.from_seconds(state.started_at),
        "FinishedAt": GoTime.from_seconds(state.finished_at),
        "Health": _health(record, state),
        "CheckpointedAt": GoTime(None),
        "RestoredAt": GoTime(None),
    }


def _mount_entry(entry: dict) -> dict[str, Any] | None:
    """One user mount as podman lists it (tmpfs mounts go to HostConfig.Tmpfs instead)."""
    kind = entry.get("type", "bind")
    if kind == "tmpfs":
        return None
    options = [str(o) for o in entry.get("options", [])]
    propagation = next((o for o in options if o in PROPAGATIONS), "rprivate")
    shown = [o for o in options if o not in PROPAGATIONS and o not in ("ro", "rw")]
    item: dict[str, Any] = {"Type": kind}
    if kind == "volume":
        item["Name"] = entry.get("volume", "")
    item.update(
        {
            "Source": entry.get("source", ""),
            "Destination": entry.get("destination", ""),
            "Driver": "local" if kind == "volume" else "",
            "Mode": "",
            "Options": shown or ["rbind"],
            "RW": "ro" not in options and "readonly" not in options,
            "Propagation": propagation,
        }
    )
    return item


def _tmpfs(record: ContainerRecord) -> GoMap:
    """HostConfig.Tmpfs: each tmpfs with the options it got (podman's defaults included)."""
    tmpfs = [m for m in record.mounts if m.get("type") == "tmpfs"]
    if not tmpfs:
        return GoMap()  # the spec builder's import (~15 ms) is for the containers that have one
    from pod.container.spec import tmpfs_options

    return GoMap(
        (m.get("destination", ""), ",".join(tmpfs_options(m.get("options", [])))) for m in tmpfs
    )


def _go_ports(ports: dict[str, Any]) -> GoMap:
    """PortBindings / NetworkSettings.Ports as Go sees them: a map of InspectHostPort lists
    (`HostIp` in JSON, `.HostIP` in templates), an exposed-only port a nil list."""
    return GoMap(
        (
            key,
            [GoFields(entry, {"HostIP": "HostIp"}) for entry in entries] if entries else NilSlice(),
        )
        for key, entries in ports.items()
    )


def _network_settings(layout: Layout, record: ContainerRecord, running: bool) -> dict[str, Any]:
    settings = report.network_settings(layout, record, running)
    settings["Ports"] = _go_ports(settings["Ports"])
    if "Networks" in settings:
        settings["Networks"] = GoMap(settings["Networks"])
    return settings


def _ulimits(spec: dict) -> list[dict[str, Any]]:
    """HostConfig.Ulimits: the rlimits the spec sets, named as podman names them."""
    return [
        {
            "Name": str(r.get("type", "")),
            "Soft": int(r.get("soft", 0)),
            "Hard": int(r.get("hard", 0)),
        }
        for r in (spec.get("process") or {}).get("rlimits") or []
    ]


def _resources(spec: dict) -> dict[str, Any]:
    """The limits HostConfig shows, read back from linux.resources in config.json."""
    res = (spec.get("linux") or {}).get("resources") or {}
    memory, cpu, pids = res.get("memory") or {}, res.get("cpu") or {}, res.get("pids") or {}
    quota, period = int(cpu.get("quota") or 0), int(cpu.get("period") or 0)
    return {
        "CpuShares": int(cpu.get("shares") or 0),
        "Memory": int(memory.get("limit") or 0),
        "NanoCpus": quota * 1_000_000_000 // period if quota > 0 and period else 0,
        "CpuPeriod": period,
        "CpuQuota": quota,
        "CpusetCpus": str(cpu.get("cpus") or ""),
        "CpusetMems": str(cpu.get("mems") or ""),
        "MemoryReservation": int(memory.get("reservation") or 0),
        "MemorySwap": int(memory.get("swap") or 0),
        "MemorySwappiness": int(memory.get("swappiness", -1) if memory else -1),
        "OomKillDisable": bool(memory.get("disableOOMKiller", False)),
        "PidsLimit": int(pids.get("limit") or 0),
    }


def _restart_policy(record: ContainerRecord) -> dict[str, Any]:
    return {"Name": record.restart_policy, "MaximumRetryCount": record.restart_retries}


def _host_config(record: ContainerRecord, spec: dict, log_path: str) -> dict[str, Any]:
    """HostConfig in podman 4.3's key order (InspectContainerHostConfig)."""
    linux = spec.get("linux") or {}
    modes = Namespaces.from_json(record.namespaces)
    binds = [
        f"{m.get('volume') or m.get('source', '')}:{m.get('destination', '')}"
        for m in record.mounts
        if m.get("type") in ("bind", "volume")
    ]
    network = report.host_config(record)
    resources = _resources(spec)
    return {
        "Binds": binds,
        "CgroupManager": "cgroupfs",
        "CgroupMode": "host",
        "ContainerIDFile": "",
        "LogConfig": {
            "Type": record.log_driver,
            "Config": NilMap(),
            "Path": log_path,
            "Tag": record.log_tag,
            "Size": human_size(record.log_max_size, sep=""),
        },
        "NetworkMode": network["NetworkMode"],
        "PortBindings": _go_ports(network["PortBindings"]),
        "RestartPolicy": _restart_policy(record),
        "AutoRemove": record.remove,
        "VolumeDriver": "",
        "VolumesFrom": list(record.volumes_from) or NilSlice(),
        "CapAdd": list(record.cap_add),
        "CapDrop": list(record.cap_drop),
        "Dns": list(record.dns),
        "DnsOptions": list(record.dns_options),
        "DnsSearch": list(record.dns_search),
        "ExtraHosts": [],
        "GroupAdd": list(record.group_add),
        "IpcMode": modes.ipc.describe("ipc"),
        "Cgroup": "",
        "Cgroups": "default",
        "Links": NilSlice(),
        "OomScoreAdj": int((spec.get("process") or {}).get("oomScoreAdj") or 0),
        "PidMode": modes.pid.describe("pid"),
        # pod.container.spec masks paths unless privileged (records older than the field;
        # --security-opt unmask=ALL leaves none masked either)
        "Privileged": record.privileged or ("maskedPaths" not in linux and not record.security_opt),
        "PublishAllPorts": False,
        "ReadonlyRootfs": bool((spec.get("root") or {}).get("readonly", False)),
        "SecurityOpt": inspect_security_opts(
            record.security_opt, bool((spec.get("process") or {}).get("noNewPrivileges"))
        ),
        "Tmpfs": _tmpfs(record),
        "UTSMode": modes.uts.describe("uts"),
        "UsernsMode": _userns_mode(record),
        **({"IDMappings": _id_mappings(record)} if record.idmappings else {}),
        "ShmSize": 65536000,
        "Runtime": "oci",
        "ConsoleSize": [0, 0],
        "Isolation": "",
        "CpuShares": resources["CpuShares"],
        "Memory": resources["Memory"],
        "NanoCpus": resources["NanoCpus"],
        "CgroupParent": "",
        "BlkioWeight": 0,
        "BlkioWeightDevice": NilSlice(),
        "BlkioDeviceReadBps": NilSlice(),
        "BlkioDeviceWriteBps": NilSlice(),
        "BlkioDeviceReadIOps": NilSlice(),
        "BlkioDeviceWriteIOps": NilSlice(),
        "CpuPeriod": resources["CpuPeriod"],
        "CpuQuota": resources["CpuQuota"],
        "CpuRealtimePeriod": 0,
        "CpuRealtimeRuntime": 0,
        "CpusetCpus": resources["CpusetCpus"],
        "CpusetMems": resources["CpusetMems"],
        "Devices": [
            {"PathOnHost": host, "PathInContainer": inside, "CgroupPermissions": ""}
            for host, inside, _ in record.devices
        ],
        "DiskQuota": 0,
        "KernelMemory": 0,
        "MemoryReservation": resources["MemoryReservation"],
        "MemorySwap": resources["MemorySwap"],
        "MemorySwappiness": resources["MemorySwappiness"],
        "OomKillDisable": resources["OomKillDisable"],
        "PidsLimit": resources["PidsLimit"],
        "Ulimits": _ulimits(spec),
        "CpuCount": 0,
        "CpuPercent": 0,
        "IOMaximumIOps": 0,
        "IOMaximumBandwidth": 0,
        "CgroupConf": NilMap(),
    }


def _stop_signal(spec: dict, record: ContainerRecord) -> int:
    text = ((spec.get("annotations") or {}).get("org.opencontainers.image.stopSignal")) or ""
    if text.isdigit():
        return int(text)
    import signal

    name = record.stop_signal.upper()
    return int(getattr(signal, name if name.startswith("SIG") else f"SIG{name}", 15))


def _config(record: ContainerRecord, spec: dict) -> dict[str, Any]:
    process = spec.get("process") or {}
    entrypoint, cmd = record.entrypoint, record.cmd
    if not entrypoint and not cmd:  # a record from before entrypoint/cmd were kept
        cmd = list(record.command)
    return GoFields(
        {
            "Hostname": spec.get("hostname") or record.hostname,
            "Domainname": "",
            "User": record.user,
            "AttachStdin": False,
            "AttachStdout": False,
            "AttachStderr": False,
            "Tty": record.tty,
            "OpenStdin": record.interactive,
            "StdinOnce": False,
            "Env": list(process.get("env") or []),
            "Cmd": cmd or NilSlice(),
            "Image": record.image_name,
            "Volumes": NilMap(),
            "WorkingDir": process.get("cwd") or "/",
            "Entrypoint": " ".join(entrypoint),  # podman 4.3 shows it as one string
            "OnBuild": None,
            "Labels": GoMap(record.labels),
            "Annotations": GoMap(spec.get("annotations") or {}),
            "StopSignal": _stop_signal(spec, record),
            **({"Healthcheck": record.healthcheck} if record.healthcheck else {}),
            "HealthcheckOnFailureAction": record.health_on_failure,
            **({"CreateCommand": list(record.create_command)} if record.create_command else {}),
            "Umask": "0022",
            **({"Secrets": secrets} if (secrets := _mounted_secrets(record)) else {}),
            "Timeout": record.timeout,
            "StopTimeout": record.stop_timeout,
            **({"Timezone": record.timezone} if record.timezone else {}),
            "Passwd": True,
            "sdNotifyMode": record.sd_notify,
        },
        {"DomainName": "Domainname", "SdNotifyMode": "sdNotifyMode"},
    )


def _mounted_secrets(record: ContainerRecord) -> list[dict[str, Any]]:
    """Config.Secrets as podman's: the mount secrets (env ones are not listed, and their
    values are never in config.json: pod.container.secret_files)."""
    return [
        {"Name": e["name"], "ID": e["id"], "UID": e["uid"], "GID": e["gid"], "Mode": e["mode"]}
        for e in record.secrets
        if e["type"] == "mount"
    ]


def inspect_container(
    settings: Settings, store: ContainerStore, record: ContainerRecord
) -> GoFields:
    """The `podman container inspect` document for one container."""
    layout: Layout = store.layout
    paths = layout.container(record.id)
    spec = read_json(paths.config, {}) or {}
    state = current_state(store, record)
    log_path = record.log_path or str(paths.log)
    command = list(record.command)
    driver = state.rootfs_driver or record.storage_driver
    capabilities = (spec.get("process") or {}).get("capabilities") or {}
    document = {
        "Id": record.id,
        "Created": GoTime.from_seconds(record.created),
        "Path": command[0] if command else "",
        "Args": command[1:] if len(command) > 1 else command,
        "State": _state_section(record, state),
        "Image": record.image_id,
        "ImageDigest": "",
        "ImageName": record.image_name,
        "Rootfs": "",
        "Pod": record.pod,  # the pod's full ID ("" for none)
        "ResolvConfPath": _etc_path(paths.resolv_conf),
        "HostnamePath": _etc_path(paths.hostname),
        "HostsPath": _etc_path(paths.hosts),
        "StaticDir": str(paths.directory),
        "OCIConfigPath": str(paths.config),
        "OCIRuntime": record.runtime,
        "ConmonPidFile": record.conmon_pidfile,
        "PidFile": str(paths.pid_file),
        "Name": record.name,
        "RestartCount": state.restart_count,
        "Driver": record.storage_driver,
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "EffectiveCaps": list(capabilities.get("effective", [])),
        "BoundingCaps": list(capabilities.get("bounding", [])),
        "ExecIDs": [],
        "GraphDriver": {
            "Name": driver,
            "Data": GoMap(
                LowerDir=":".join(str(layout.layer_diff(c)) for c in reversed(record.layers)),
                UpperDir=str(paths.upper),
                WorkDir=str(paths.work),
                MergedDir=str(paths.merged),
            ),
        },
        "Mounts": [m for m in map(_mount_entry, record.mounts) if m is not None],
        "Dependencies": list(record.requires),
        "NetworkSettings": _network_settings(layout, record, state.status in ("running", "paused")),
        "Namespace": "",
        "IsInfra": False,
        "IsService": False,
        "Config": _config(record, spec),
        "HostConfig": _host_config(record, spec, log_path),
    }
    return GoFields(document, {"ID": "Id"}, "interface {}")  # podman's inspect: []interface{}


def _etc_path(path: Path) -> str:
    """The host file bound over its /etc file, when create wrote one (pod.container.etc_files)."""
    return str(path) if path.is_file() else ""


def _userns_mode(record: ContainerRecord) -> str:
    """HostConfig.UsernsMode as podman 4.3.1 fills it: "private" for a namespace of the
    container's own (keep-id, nomap, and auto rootful: its spec's userns mode), "" otherwise
    (rootless auto included, which podman leaves unset)."""
    mode = record.userns_mode.partition(":")[0]
    if mode in ("keep-id", "nomap") or (mode == "auto" and not record.rootless):
        return "private"
    return ""


def _id_mappings(record: ContainerRecord) -> GoFields:
    """podman's IDMappingOptions as inspect shows them: UidMap, then GidMap."""
    maps = record.idmappings
    return GoFields({"UidMap": maps.get("UidMap", []), "GidMap": maps.get("GidMap", [])}, {})


def inspect_security_opts(given: list[str], no_new_privileges: bool) -> list[str]:
    """HostConfig.SecurityOpt as podman 4.3 shows it (libpod's GetSecurityOptions): the
    spec's no_new_privs, then the labels, the seccomp profile and the AppArmor profile as
    last given; the other keys are not shown."""
    shown = ["no-new-privileges"] if no_new_privileges else []
    labels: list[str] = []
    last: dict[str, str] = {}
    for value in given:
        key, sep, content = value.partition("=" if "=" in value else ":")
        if sep and key == "label":
            labels.append(content)
        elif sep and key in ("seccomp", "apparmor"):
            last[key] = content
    if labels:
        shown.append("label=" + ",label=".join(labels))
    shown += [f"{key}={last[key]}" for key in ("seccomp", "apparmor") if key in last]
    return shown

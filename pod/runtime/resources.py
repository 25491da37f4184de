"""linux.resources as cgroup files: every runtime-spec field is written or refused, never skipped.

`settings_v1` / `settings_v2` turn the resources object into (controller, file, value) writes
in the order they must happen; `apply` writes them into the container's cgroups and refuses,
with the spec field's name, a field whose controller this host has not mounted or whose file
this kernel lacks (hugetlb or net_cls not mounted, blkio.weight without BFQ, ...), or that it
accepts and drops (kernel memory limits on a recent kernel: the value is read back).
Device rules are the v1 devices controller's here; on cgroup v2 devices.py attaches a
BPF_CGROUP_DEVICE program instead.
"""

from __future__ import annotations

import os
from typing import Any, NoReturn

from pod.errors import OCIRuntimeError
from pod.runtime import devices
from pod.util.records import dataclass


@dataclass(frozen=True)
class Setting:
    """One write: `value` into `name` of the hierarchy with `controller`; `field` for errors."""

    controller: str
    name: str
    value: str
    field: str
    read_back: bool = False  # the kernel may accept the write and keep no limit


def _number(value: Any) -> str:
    return "-1" if value is not None and int(value) < 0 else str(value)


def _refuse(field: str, why: str) -> NoReturn:
    raise OCIRuntimeError(f"linux.resources.{field} {why}")


def _device_key(entry: dict[str, Any]) -> str:
    return f"{int(entry['major'])}:{int(entry['minor'])}"


def _blkio_v1(blkio: dict[str, Any]) -> list[Setting]:
    out = []
    if blkio.get("weight") is not None:
        out.append(Setting("blkio", "blkio.weight", str(blkio["weight"]), "blockIO.weight"))
    if blkio.get("leafWeight") is not None:
        out.append(Setting("blkio", "blkio.leaf_weight", str(blkio["leafWeight"]),
                           "blockIO.leafWeight"))  # fmt: skip
    for entry in blkio.get("weightDevice") or []:
        if entry.get("weight") is not None:
            out.append(Setting("blkio", "blkio.weight_device",
                               f"{_device_key(entry)} {entry['weight']}",
                               "blockIO.weightDevice"))  # fmt: skip
        if entry.get("leafWeight") is not None:
            out.append(Setting("blkio", "blkio.leaf_weight_device",
                               f"{_device_key(entry)} {entry['leafWeight']}",
                               "blockIO.weightDevice.leafWeight"))  # fmt: skip
    throttles = (
        ("throttleReadBpsDevice", "blkio.throttle.read_bps_device"),
        ("throttleWriteBpsDevice", "blkio.throttle.write_bps_device"),
        ("throttleReadIOPSDevice", "blkio.throttle.read_iops_device"),
        ("throttleWriteIOPSDevice", "blkio.throttle.write_iops_device"),
    )
    for key, name in throttles:
        for entry in blkio.get(key) or []:
            out.append(Setting("blkio", name, f"{_device_key(entry)} {entry['rate']}",
                               f"blockIO.{key}"))  # fmt: skip
    return out


def settings_v1(res: dict[str, Any]) -> list[Setting]:
    """The cgroup v1 writes for linux.resources, in order."""
    out: list[Setting] = []
    memory, cpu = res.get("memory") or {}, res.get("cpu") or {}
    memory_files = (
        ("limit", "memory.limit_in_bytes"),
        ("reservation", "memory.soft_limit_in_bytes"),
        ("swap", "memory.memsw.limit_in_bytes"),
        ("kernel", "memory.kmem.limit_in_bytes"),
        ("kernelTCP", "memory.kmem.tcp.limit_in_bytes"),
        ("swappiness", "memory.swappiness"),
    )
    for key, name in memory_files:
        if memory.get(key) is not None:
            out.append(Setting("memory", name, _number(memory[key]), f"memory.{key}",
                               read_back=name.startswith("memory.kmem.")))  # fmt: skip
    if memory.get("disableOOMKiller"):
        out.append(Setting("memory", "memory.oom_control", "1", "memory.disableOOMKiller"))
    if memory.get("useHierarchy") is not None:
        value = "1" if memory["useHierarchy"] else "0"
        out.append(Setting("memory", "memory.use_hierarchy", value, "memory.useHierarchy"))
    cpu_files = (
        ("shares", "cpu", "cpu.shares"),
        ("period", "cpu", "cpu.cfs_period_us"),
        ("quota", "cpu", "cpu.cfs_quota_us"),
        ("burst", "cpu", "cpu.cfs_burst_us"),
        ("realtimePeriod", "cpu", "cpu.rt_period_us"),
        ("realtimeRuntime", "cpu", "cpu.rt_runtime_us"),
        ("idle", "cpu", "cpu.idle"),
        ("cpus", "cpuset", "cpuset.cpus"),
        ("mems", "cpuset", "cpuset.mems"),
    )
    for key, controller, name in cpu_files:
        if cpu.get(key) not in (None, ""):
            out.append(Setting(controller, name, str(cpu[key]), f"cpu.{key}"))
    pids = res.get("pids") or {}
    if pids.get("limit") is not None:
        value = "max" if int(pids["limit"]) <= 0 else str(pids["limit"])
        out.append(Setting("pids", "pids.max", value, "pids.limit"))
    out += _blkio_v1(res.get("blockIO") or {})
    for entry in res.get("hugepageLimits") or []:
        out.append(Setting("hugetlb", f"hugetlb.{entry['pageSize']}.limit_in_bytes",
                           str(entry["limit"]), "hugepageLimits"))  # fmt: skip
    network = res.get("network") or {}
    if network.get("classID") is not None:
        out.append(Setting("net_cls", "net_cls.classid", str(network["classID"]),
                           "network.classID"))  # fmt: skip
    for entry in network.get("priorities") or []:
        out.append(Setting("net_prio", "net_prio.ifpriomap",
                           f"{entry['name']} {entry['priority']}",
                           "network.priorities"))  # fmt: skip
    if res.get("unified"):
        _refuse("unified", "needs cgroup v2: this host's cgroups are v1")
    if res.get("rdma"):
        _refuse("rdma", "is not supported by pod's runtime")
    if res.get("devices"):
        for name, value in devices.v1_writes(devices.rules(res["devices"])):
            out.append(Setting("devices", name, value, "devices"))
    return out


def settings_v2(res: dict[str, Any]) -> list[Setting]:
    """The cgroup v2 writes for linux.resources, in order (devices: a BPF program instead)."""
    out: list[Setting] = []
    memory, cpu = res.get("memory") or {}, res.get("cpu") or {}
    for key in ("kernel", "kernelTCP", "swappiness", "disableOOMKiller", "useHierarchy"):
        if memory.get(key) not in (None, False):
            _refuse(f"memory.{key}", "has no cgroup v2 equivalent")

    def amount(value: Any) -> str:
        return "max" if int(value) < 0 else str(value)

    limit, swap = memory.get("limit"), memory.get("swap")
    if limit is not None:
        out.append(Setting("memory", "memory.max", amount(limit), "memory.limit"))
    if memory.get("reservation") is not None:
        out.append(Setting("memory", "memory.low", amount(memory["reservation"]),
                           "memory.reservation"))  # fmt: skip
    if swap is not None:
        if int(swap) < 0:
            value = "max"
        elif limit is None:
            _refuse("memory.swap", "needs memory.limit on cgroup v2 (swap is limit + swap)")
        else:
            value = str(max(int(swap) - int(limit), 0))
        out.append(Setting("memory", "memory.swap.max", value, "memory.swap"))
    for key in ("realtimeRuntime", "realtimePeriod"):
        if cpu.get(key) is not None:
            _refuse(f"cpu.{key}", "has no cgroup v2 equivalent")
    if cpu.get("shares"):
        weight = 1 + ((int(cpu["shares"]) - 2) * 9999) // 262142
        out.append(Setting("cpu", "cpu.weight", str(weight), "cpu.shares"))
    if cpu.get("quota") is not None or cpu.get("period") is not None:
        quota = cpu.get("quota")
        text = "max" if quota is None or int(quota) < 0 else str(quota)
        out.append(Setting("cpu", "cpu.max", f"{text} {cpu.get('period') or 100000}",
                           "cpu.quota"))  # fmt: skip
    if cpu.get("burst") is not None:
        out.append(Setting("cpu", "cpu.max.burst", str(cpu["burst"]), "cpu.burst"))
    if cpu.get("idle") is not None:
        out.append(Setting("cpu", "cpu.idle", str(cpu["idle"]), "cpu.idle"))
    for key in ("cpus", "mems"):
        if cpu.get(key):
            out.append(Setting("cpuset", f"cpuset.{key}", str(cpu[key]), f"cpu.{key}"))
    pids = res.get("pids") or {}
    if pids.get("limit") is not None:
        value = "max" if int(pids["limit"]) <= 0 else str(pids["limit"])
        out.append(Setting("pids", "pids.max", value, "pids.limit"))
    out += _io_v2(res.get("blockIO") or {})
    for entry in res.get("hugepageLimits") or []:
        out.append(Setting("hugetlb", f"hugetlb.{entry['pageSize']}.max", str(entry["limit"]),
                           "hugepageLimits"))  # fmt: skip
    if res.get("network"):
        _refuse("network", "needs the net_cls/net_prio controllers, which cgroup v2 lacks")
    if res.get("rdma"):
        _refuse("rdma", "is not supported by pod's runtime")
    for name, value in (res.get("unified") or {}).items():
        if "/" in name or name.startswith("."):
            _refuse("unified", f"key {name!r} is not a cgroup file name")
        out.append(Setting(name.split(".")[0], name, str(value), f"unified.{name}"))
    return out


def _io_v2(blkio: dict[str, Any]) -> list[Setting]:
    out = []
    if blkio.get("leafWeight") is not None or any(
        e.get("leafWeight") is not None for e in blkio.get("weightDevice") or []
    ):
        _refuse("blockIO.leafWeight", "has no cgroup v2 equivalent")
    if blkio.get("weight") is not None:
        out.append(Setting("io", "io.weight", f"default {blkio['weight']}", "blockIO.weight"))
    for entry in blkio.get("weightDevice") or []:
        if entry.get("weight") is not None:
            out.append(Setting("io", "io.weight", f"{_device_key(entry)} {entry['weight']}",
                               "blockIO.weightDevice"))  # fmt: skip
    keys = (
        ("throttleReadBpsDevice", "rbps"),
        ("throttleWriteBpsDevice", "wbps"),
        ("throttleReadIOPSDevice", "riops"),
        ("throttleWriteIOPSDevice", "wiops"),
    )
    for key, word in keys:
        for entry in blkio.get(key) or []:
            out.append(Setting("io", "io.max", f"{_device_key(entry)} {word}={entry['rate']}",
                               f"blockIO.{key}"))  # fmt: skip
    return out


def _write(path: str, value: str, field: str) -> None:
    try:  # no O_CREAT: cgroupfs answers a missing file with EACCES, which misleads
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        _refuse(field, f"is not supported by this kernel ({os.path.basename(path)} is missing)")
    except OSError as err:
        raise OCIRuntimeError(f"linux.resources.{field}: opening {path}: {err.strerror}") from None
    try:
        os.write(fd, value.encode())
    except OSError as err:
        raise OCIRuntimeError(
            f"linux.resources.{field}: writing {value!r} to {path}: {err.strerror}"
        ) from None
    finally:
        os.close(fd)


_UNLIMITED = 1 << 62  # cgroup v1 shows "no limit" as PAGE_COUNTER_MAX pages in bytes, ~2**63


def _check_kept(path: str, value: str, field: str) -> None:
    """Refuse a limit the kernel took without error but does not keep (it reads back as none)."""
    if int(value) < 0 or int(value) >= _UNLIMITED:
        return
    with open(path) as handle:
        kept = int(handle.read().strip() or 0)
    if kept >= _UNLIMITED:
        _refuse(field, f"is not supported by this kernel (it accepts {os.path.basename(path)} "
                       "but keeps no limit)")  # fmt: skip


def apply(targets: dict[str, str], settings: list[Setting]) -> None:
    """Write each setting into the cgroup directory of its controller (`targets`: controller →
    directory); a controller this host lacks refuses the field."""
    for setting in settings:
        directory = targets.get(setting.controller)
        if directory is None:
            _refuse(setting.field,
                    f"needs the {setting.controller} cgroup controller, which is not available "
                    "on this host")  # fmt: skip
        path = os.path.join(directory, setting.name)
        _write(path, setting.value, setting.field)
        if setting.read_back:
            _check_kept(path, setting.value, setting.field)


def has_limits(res: dict[str, Any]) -> bool:
    """Whether anything but device rules is asked for."""
    return any(value for key, value in res.items() if key != "devices")

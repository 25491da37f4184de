"""Device cgroup rules (linux.resources.devices): v1 devices.allow/deny, v2 a BPF program.

The rules are the config's in order, then the devices every container needs (runc's
AllowedDevices: null, zero, full, random, urandom, tty, ptmx, pts, tun, and mknod of any
character or block device); the last matching rule decides. cgroup v1 gets them as writes to
devices.deny/devices.allow; cgroup v2 has no devices files: as runc and crun, a small
BPF_CGROUP_DEVICE program is assembled from the rules (checking the request's type, access,
major and minor, newest rule first, denying what nothing allows), loaded with bpf(2) and
attached to the container's cgroup.
"""

from __future__ import annotations

import ctypes
import os
import struct
from typing import Any

from pod.errors import OCIRuntimeError
from pod.util.records import dataclass

ANY = -1
DEFAULT_ALLOWED = (
    ("c", ANY, ANY, "m"),
    ("b", ANY, ANY, "m"),
    ("c", 1, 3, "rwm"),  # /dev/null
    ("c", 1, 8, "rwm"),  # /dev/random
    ("c", 1, 7, "rwm"),  # /dev/full
    ("c", 5, 0, "rwm"),  # /dev/tty
    ("c", 1, 5, "rwm"),  # /dev/zero
    ("c", 1, 9, "rwm"),  # /dev/urandom
    ("c", 5, 1, "rwm"),  # /dev/console
    ("c", 136, ANY, "rwm"),  # /dev/pts/*
    ("c", 5, 2, "rwm"),  # /dev/ptmx
    ("c", 10, 200, "rwm"),  # /dev/net/tun
)


@dataclass(frozen=True)
class DeviceRule:
    allow: bool
    kind: str  # "a" (all), "c", "b"
    major: int  # ANY: every major
    minor: int
    access: str  # a subset of "rwm"


def rules(entries: list[dict[str, Any]], defaults: bool = True) -> list[DeviceRule]:
    """The config's rules, checked, then the defaults every container gets."""
    found = []
    for entry in entries:
        kind = entry.get("type") or "a"
        access = entry.get("access") or "rwm"
        if kind not in ("a", "b", "c") or set(access) - set("rwm"):
            raise OCIRuntimeError(f"linux.resources.devices: invalid rule {entry!r}")
        major = ANY if entry.get("major") is None else int(entry["major"])
        minor = ANY if entry.get("minor") is None else int(entry["minor"])
        found.append(DeviceRule(bool(entry.get("allow")), kind, major, minor, access))
    if defaults:
        found += [DeviceRule(True, k, maj, mnr, acc) for k, maj, mnr, acc in DEFAULT_ALLOWED]
    return found


def _number(value: int) -> str:
    return "*" if value == ANY else str(value)


def v1_writes(device_rules: list[DeviceRule]) -> list[tuple[str, str]]:
    """(file, line) writes for a v1 devices cgroup: a leading "all" rule resets the list."""
    writes = []
    for rule in device_rules:
        name = "devices.allow" if rule.allow else "devices.deny"
        if rule.kind == "a" and rule.major == ANY and rule.minor == ANY:
            writes.append((name, "a"))  # the whole list: deny a = empty, allow a = everything
            continue
        kinds = ("c", "b") if rule.kind == "a" else (rule.kind,)
        for kind in kinds:
            writes.append((name, f"{kind} {_number(rule.major)}:{_number(rule.minor)} "
                                 f"{rule.access}"))  # fmt: skip
    return writes


# -- cgroup v2: the BPF program ----------------------------------------------------------------

# struct bpf_cgroup_dev_ctx { u32 access_type (access << 16 | type); u32 major; u32 minor; }
_DEV_BLOCK, _DEV_CHAR = 1, 2
_ACC = {"m": 1, "r": 2, "w": 4}
_LDX_W = 0x61  # BPF_LDX | BPF_MEM | BPF_W
_AND_K = 0x57  # BPF_ALU64 | BPF_AND | BPF_K
_RSH_K = 0x77  # BPF_ALU64 | BPF_RSH | BPF_K
_MOV_X = 0xBF  # BPF_ALU64 | BPF_MOV | BPF_X
_MOV_K = 0xB7  # BPF_ALU64 | BPF_MOV | BPF_K
_JNE_K = 0x55  # BPF_JMP | BPF_JNE | BPF_K
_JEQ_K = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_EXIT = 0x95  # BPF_JMP | BPF_EXIT


@dataclass(frozen=True)
class Insn:
    code: int
    dst: int = 0
    src: int = 0
    off: int = 0
    imm: int = 0

    def encode(self) -> bytes:
        return struct.pack("<BBhi", self.code, self.dst | (self.src << 4), self.off, self.imm)


def _access_mask(access: str) -> int:
    return sum(_ACC[char] for char in set(access))


def _rule_block(rule: DeviceRule) -> list[Insn]:
    """Instructions that return the rule's verdict when the request matches, else fall
    through (every jump's offset is filled in to skip the rest of the block)."""
    checks: list[Insn] = []
    if rule.kind != "a":
        checks.append(Insn(_JNE_K, 2, imm=_DEV_CHAR if rule.kind == "c" else _DEV_BLOCK))
    mask = _access_mask(rule.access)
    if rule.allow and mask != 7:  # allowed only if every requested access is in the rule
        checks += [Insn(_MOV_X, 1, 3), Insn(_AND_K, 1, imm=7 & ~mask), Insn(_JNE_K, 1, imm=0)]
    elif not rule.allow and mask != 7:  # denied if any requested access is in the rule
        checks += [Insn(_MOV_X, 1, 3), Insn(_AND_K, 1, imm=mask), Insn(_JEQ_K, 1, imm=0)]
    if rule.major != ANY:
        checks.append(Insn(_JNE_K, 4, imm=rule.major))
    if rule.minor != ANY:
        checks.append(Insn(_JNE_K, 5, imm=rule.minor))
    tail = [Insn(_MOV_K, 0, imm=1 if rule.allow else 0), Insn(_EXIT)]
    block = checks + tail
    fixed = []
    for index, insn in enumerate(block):
        if insn.code in (_JNE_K, _JEQ_K):
            insn = Insn(insn.code, insn.dst, insn.src, len(block) - index - 1, insn.imm)
        fixed.append(insn)
    return fixed


def program(device_rules: list[DeviceRule]) -> list[Insn]:
    """The BPF_PROG_TYPE_CGROUP_DEVICE program for the rules (the last match wins)."""
    prologue = [
        Insn(_LDX_W, 2, 1, 0),  # r2 = access_type
        Insn(_AND_K, 2, imm=0xFFFF),  # r2 = type
        Insn(_LDX_W, 3, 1, 0),
        Insn(_RSH_K, 3, imm=16),  # r3 = access
        Insn(_LDX_W, 4, 1, 4),  # r4 = major
        Insn(_LDX_W, 5, 1, 8),  # r5 = minor
    ]
    body: list[Insn] = []
    for rule in reversed(device_rules):
        block = _rule_block(rule)
        body += block
        if len(block) == 2:  # matches every request: older rules are unreachable
            return prologue + body
    return prologue + body + [Insn(_MOV_K, 0, imm=0), Insn(_EXIT)]


_SYS_BPF = 321  # x86_64
_BPF_PROG_LOAD = 5
_BPF_PROG_ATTACH = 8
_PROG_TYPE_CGROUP_DEVICE = 15
_ATTACH_CGROUP_DEVICE = 6
_F_ALLOW_MULTI = 2
_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _bpf(command: int, attr: ctypes.Array) -> int:
    result = _libc.syscall(_SYS_BPF, command, attr, len(attr))
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return result


def load_program(insns: list[Insn]) -> int:
    """BPF_PROG_LOAD: an fd for the program (the kernel's verifier log in the error)."""
    code = ctypes.create_string_buffer(b"".join(i.encode() for i in insns))
    license_text = ctypes.create_string_buffer(b"Apache")
    log = ctypes.create_string_buffer(65536)
    attr = ctypes.create_string_buffer(128)
    struct.pack_into("<IIQQIIQ", attr, 0, _PROG_TYPE_CGROUP_DEVICE, len(insns),
                     ctypes.addressof(code), ctypes.addressof(license_text), 1, len(log),
                     ctypes.addressof(log))  # fmt: skip
    try:
        return _bpf(_BPF_PROG_LOAD, attr)
    except OSError as err:
        detail = log.value.decode(errors="replace").strip().splitlines()[:1] or [""]
        raise OCIRuntimeError(
            f"loading the device cgroup BPF program: {err.strerror} {detail[0]}".strip()
        ) from None


def attach(cgroup_dir: str, device_rules: list[DeviceRule]) -> None:
    """Load the rules' program and attach it to a cgroup v2 directory (BPF_PROG_ATTACH)."""
    prog = load_program(program(device_rules))
    try:
        target = os.open(cgroup_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            attr = ctypes.create_string_buffer(128)
            struct.pack_into("<IIII", attr, 0, target, prog, _ATTACH_CGROUP_DEVICE,
                             _F_ALLOW_MULTI)  # fmt: skip
            _bpf(_BPF_PROG_ATTACH, attr)
        except OSError as err:
            raise OCIRuntimeError(
                f"attaching the device cgroup BPF program to {cgroup_dir}: {err.strerror}"
            ) from None
        finally:
            os.close(target)
    finally:
        os.close(prog)

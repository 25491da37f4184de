"""Parsing of the resource flags of `run`/`create` (--memory, --cpus, --ulimit, ...).

Pure and unit-tested: every value is checked here, before anything is created, and a bad one
raises UsageError (exit 125) worded as podman's flag parsing (pflag + go-units) words it:
`invalid argument "abc" for "-m, --memory" flag: invalid size: 'abc'`. The only host fact
needed, the online CPUs, is passed in (see `online_cpus`).
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

from pod.container.options import ResourceLimits, Ulimit
from pod.errors import UsageError
from pod.util.records import dataclass, field

MIN_MEMORY = 6 * 1024 * 1024  # podman's (and docker's) least memory limit
CPU_PERIOD = 100_000  # the CFS period podman gives --cpus
MIN_CPU_QUOTA = 1000  # the kernel refuses a CFS quota below 1 ms
MIN_CPU_SHARES, MAX_CPU_SHARES = 2, 262144
INT64_MAX = (1 << 63) - 1
INT32_MAX = (1 << 31) - 1
# go-units ParseUlimit's names; `locks` is RLIMIT_LOCKS (10), which Python's resource lacks.
ULIMIT_NAMES = (
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
)
_SIZE = r"^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$"


@dataclass
class ResourceFlags:
    """The resource flags as typed on the command line (None or [] when not given)."""

    memory: str | None = None
    memory_swap: str | None = None
    cpus: str | None = None
    cpu_shares: str | None = None
    cpuset_cpus: str | None = None
    pids_limit: str | None = None
    ulimit: list[str] = field(default_factory=list)
    shm_size: str | None = None
    oom_score_adj: str | None = None


def _bad(value: str, flag: str, reason: str) -> UsageError:
    return UsageError(f'invalid argument "{value}" for "{flag}" flag: {reason}')


def size_in_bytes(value: str, base: int = 1024) -> float | None:
    """go-units' size parsing: 512, 10m, 1.5g, 2GiB in powers of `base` (1024: RAMInBytes,
    1000: FromHumanSize, which ignores the `i`); None when it is no size at all."""
    match = re.match(_SIZE, value)
    if not match or match.group(1).count(".") > 1:
        return None
    unit = (match.group(2) or "").lower()
    power = "kmgtp".index(unit) + 1 if unit else 0
    return float(match.group(1)) * base**power


def parse_size(value: str, flag: str) -> int:
    """go-units RAMInBytes: 512, 10m, 1.5g, 2GiB (powers of 1024); no sign, no overflow."""
    size = size_in_bytes(value)
    if size is None:
        raise _bad(value, flag, f"invalid size: '{value}'")
    if size > INT64_MAX:
        raise _bad(value, flag, "value out of range")
    return int(size)


def parse_int(value: str, flag: str, bits: int = 64, unsigned: bool = False) -> int:
    """strconv.ParseInt / ParseUint with Go's messages."""
    func = "ParseUint" if unsigned else "ParseInt"
    pattern = r"\d+" if unsigned else r"[+-]?\d+"
    if not re.fullmatch(pattern, value):
        raise _bad(value, flag, f'strconv.{func}: parsing "{value}": invalid syntax')
    number = int(value)
    top = (1 << bits) - 1 if unsigned else (1 << (bits - 1)) - 1
    if number > top or number < -top - 1:
        raise _bad(value, flag, f'strconv.{func}: parsing "{value}": value out of range')
    return number


def parse_memory(value: str) -> int | None:
    """--memory: bytes; 0 means no limit (None), anything else at least 6 MB."""
    limit = parse_size(value, "-m, --memory")
    if limit == 0:
        return None
    if limit < MIN_MEMORY:
        raise UsageError("minimum memory limit allowed is 6MB")
    return limit


def parse_memory_swap(value: str) -> int:
    """--memory-swap: memory plus swap in bytes; -1 is unlimited."""
    if value == "-1":
        return -1
    return parse_size(value, "--memory-swap")


def check_memory(memory: int | None, swap: int | None) -> None:
    """podman's checks of the pair (pkg/specgen/generate/validate.go)."""
    if swap is None:
        return
    if memory is None:
        raise UsageError(
            "you should always set a memory limit when using a memoryswap limit, see usage"
        )
    if swap != -1 and swap < memory:
        raise UsageError("minimum memoryswap limit should be larger than memory limit, see usage")


def parse_cpus(value: str, cpu_count: int) -> float | None:
    """--cpus: a float number of CPUs (0: no limit), turned into a CFS quota by the spec."""
    try:
        cpus = float(value)
    except ValueError:
        reason = f'strconv.ParseFloat: parsing "{value}": invalid syntax'
        raise _bad(value, "--cpus", reason) from None
    if not math.isfinite(cpus):
        raise _bad(value, "--cpus", f'strconv.ParseFloat: parsing "{value}": value out of range')
    if cpus == 0:
        return None
    if cpus < 0 or cpus > cpu_count or int(cpus * CPU_PERIOD) < MIN_CPU_QUOTA:
        raise UsageError(
            f"range of CPUs is from 0.01 to {cpu_count}.00, as there are only {cpu_count} "
            "CPUs available"
        )
    return cpus


def cpu_quota(cpus: float) -> int:
    """podman's CoresToPeriodAndQuota, with the period fixed at 100000 us."""
    return int(cpus * CPU_PERIOD)


def parse_cpu_shares(value: str) -> int | None:
    """--cpu-shares: a relative weight, 2..262144 (the kernel's range); 0 means unset."""
    shares = parse_int(value, "-c, --cpu-shares", unsigned=True)
    if shares == 0:
        return None
    if shares < MIN_CPU_SHARES:
        raise UsageError(f"the minimum allowed cpu-shares is {MIN_CPU_SHARES}")
    if shares > MAX_CPU_SHARES:
        raise UsageError(f"the maximum allowed cpu-shares is {MAX_CPU_SHARES}")
    return shares


def parse_cpu_list(text: str) -> set[int]:
    """A kernel CPU list (`0-2,4`) as a set; ValueError when it is not one."""
    found: set[int] = set()
    for part in text.split(","):
        low, dash, high = part.partition("-")
        if not low.isdigit() or (dash and not high.isdigit()):
            raise ValueError(text)
        first, last = int(low), int(high) if dash else int(low)
        if last < first:
            raise ValueError(text)
        found.update(range(first, last + 1))
    return found


def parse_cpuset(value: str, online: str) -> str | None:
    """--cpuset-cpus: a CPU list, every CPU in it online (`online` in the same syntax)."""
    if value == "":
        return None
    try:
        wanted = parse_cpu_list(value)
    except ValueError:
        raise UsageError(f"invalid value {value} for cpuset cpus") from None
    if not wanted <= parse_cpu_list(online):
        raise UsageError(
            f"requested CPUs are not available - requested {value}, available: {online}"
        )
    return value


def parse_pids_limit(value: str) -> int:
    """--pids-limit: -1 and 0 are unlimited (-1 in the spec), as podman; else at least 1."""
    limit = parse_int(value, "--pids-limit", bits=32)
    if limit < -1:
        raise _bad(value, "--pids-limit", "must be -1 (unlimited), 0 (unlimited) or positive")
    return -1 if limit <= 0 else limit


def parse_ulimit(value: str) -> Ulimit:
    """--ulimit name=soft[:hard] (go-units ParseUlimit), wrapped as podman wraps its errors."""

    def fail(reason: str) -> UsageError:
        return UsageError(
            f'ulimit option "{value}" requires name=SOFT:HARD, failed to be parsed: {reason}'
        )

    name, equals, limits = value.partition("=")
    if not equals:
        raise fail(f"invalid ulimit argument: {value}")
    if name not in ULIMIT_NAMES:
        raise fail(f"invalid ulimit type: {name}")
    parts = limits.split(":")
    if len(parts) > 2:
        raise fail(
            f"too many limit value arguments - {limits}, can only have up to two, `soft[:hard]`"
        )
    numbers = []
    for part in parts:
        if not re.fullmatch(r"[+-]?\d+", part):
            raise fail(f'strconv.ParseInt: parsing "{part}": invalid syntax')
        if abs(int(part)) > INT64_MAX:
            raise fail(f'strconv.ParseInt: parsing "{part}": value out of range')
        numbers.append(int(part))
    soft, hard = numbers[0], numbers[-1]
    for number in (soft, hard):
        if number < -1:
            raise fail(f"invalid ulimit value {number}: use -1 for unlimited")
    if hard != -1 and (soft == -1 or soft > hard):
        shown = "unlimited" if soft == -1 else soft
        raise fail(f"ulimit soft limit must be less than or equal to hard limit: {shown} > {hard}")
    return Ulimit(name, soft, hard)


def parse_shm_size(value: str) -> int:
    """--shm-size: the size of /dev/shm in bytes (0: a tmpfs without a limit, as podman's)."""
    size = size_in_bytes(value)
    if size is None:
        raise UsageError(f"unable to translate --shm-size: invalid size: '{value}'")
    if size > INT64_MAX:
        raise _bad(value, "--shm-size", "value out of range")
    return int(size)


def parse_oom_score_adj(value: str) -> int:
    adj = parse_int(value, "--oom-score-adj", bits=64)
    if not -1000 <= adj <= 1000:
        raise UsageError(f"oom_score_adj must be between -1000 and 1000: {adj}")
    return adj


def online_cpus(path: Path = Path("/sys/devices/system/cpu/online")) -> str:
    """The host's online CPUs as the kernel lists them (`0-3`)."""
    try:
        return path.read_text().strip() or "0"
    except OSError:
        return f"0-{(os.cpu_count() or 1) - 1}"


def parse_resources(flags: ResourceFlags, online: str) -> ResourceLimits:
    """All resource flags at once, checked together; `online` from online_cpus()."""
    limits = ResourceLimits()
    if flags.memory is not None:
        limits.memory = parse_memory(flags.memory)
    if flags.memory_swap is not None:
        limits.memory_swap = parse_memory_swap(flags.memory_swap)
    check_memory(limits.memory, limits.memory_swap)
    if flags.cpus is not None:
        limits.cpus = parse_cpus(flags.cpus, len(parse_cpu_list(online)))
    if flags.cpu_shares is not None:
        limits.cpu_shares = parse_cpu_shares(flags.cpu_shares)
    if flags.cpuset_cpus is not None:
        limits.cpuset_cpus = parse_cpuset(flags.cpuset_cpus, online)
    if flags.pids_limit is not None:
        limits.pids_limit = parse_pids_limit(flags.pids_limit)
    for value in flags.ulimit:
        if value == "host":  # as podman: the host's limits, whatever else was given
            limits.ulimit_host, limits.ulimits = True, []
            break
        limits.ulimits.append(parse_ulimit(value))
    if flags.shm_size is not None:
        limits.shm_size = parse_shm_size(flags.shm_size)
    if flags.oom_score_adj is not None:
        limits.oom_score_adj = parse_oom_score_adj(flags.oom_score_adj)
    return limits

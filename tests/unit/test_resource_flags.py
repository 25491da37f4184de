"""container.resource_flags: run/create resource flags, parsed and checked as podman does."""

from __future__ import annotations

import pytest

from pod.container import resource_flags as rf
from pod.container.options import ResourceLimits, Ulimit
from pod.errors import UsageError


def parse(**flags) -> ResourceLimits:
    ulimit = flags.pop("ulimit", [])
    return rf.parse_resources(rf.ResourceFlags(ulimit=ulimit, **flags), "0-3")


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("512", 512),
        ("10b", 10),
        ("1k", 1024),
        ("10m", 10 << 20),
        ("10M", 10 << 20),
        ("2g", 2 << 30),
        ("1.5g", 3 << 29),
        ("64MiB", 64 << 20),
        ("1 kb", 1024),
    ],
)
def test_sizes_are_powers_of_1024(text, size):
    assert rf.parse_size(text, "-m, --memory") == size


@pytest.mark.parametrize("text", ["abc", "-1", "10x", "", "1.2.3m", "m"])
def test_bad_sizes(text):
    with pytest.raises(UsageError) as err:
        rf.parse_size(text, "-m, --memory")
    assert (
        str(err.value)
        == f'invalid argument "{text}" for "-m, --memory" flag: invalid size: \'{text}\''
    )


def test_size_overflow():
    with pytest.raises(UsageError, match="value out of range"):
        rf.parse_size("99999999999p", "--shm-size")


def test_memory_minimum_and_zero():
    with pytest.raises(UsageError, match="^minimum memory limit allowed is 6MB$"):
        parse(memory="5m")
    assert parse(memory="6m").memory == 6 << 20
    assert parse(memory="0").memory is None


def test_memory_swap_rules():
    assert parse(memory="10m", memory_swap="-1").memory_swap == -1
    assert parse(memory="10m", memory_swap="20m").memory_swap == 20 << 20
    assert parse(memory="10m", memory_swap="10m").memory_swap == 10 << 20
    with pytest.raises(UsageError) as err:
        parse(memory="20m", memory_swap="10m")
    assert str(err.value) == (
        "minimum memoryswap limit should be larger than memory limit, see usage"
    )
    with pytest.raises(UsageError, match="you should always set a memory limit"):
        parse(memory_swap="20m")
    with pytest.raises(UsageError, match="invalid size: 'x'"):
        parse(memory="10m", memory_swap="x")


def test_cpus():
    assert parse(cpus="1.5").cpus == 1.5
    assert rf.cpu_quota(1.5) == 150000
    assert rf.cpu_quota(0.01) == 1000
    assert parse(cpus="0").cpus is None
    with pytest.raises(UsageError) as err:
        parse(cpus="abc")
    assert str(err.value) == (
        'invalid argument "abc" for "--cpus" flag: strconv.ParseFloat: parsing "abc": '
        "invalid syntax"
    )
    for bad in ("-1", "0.001", "5"):
        with pytest.raises(UsageError, match="range of CPUs is from 0.01 to 4.00"):
            parse(cpus=bad)
    with pytest.raises(UsageError, match="value out of range"):
        parse(cpus="inf")


def test_cpu_shares():
    assert parse(cpu_shares="512").cpu_shares == 512
    assert parse(cpu_shares="0").cpu_shares is None
    with pytest.raises(UsageError, match=r'"-c, --cpu-shares" flag: strconv.ParseUint: parsing'):
        parse(cpu_shares="-5")
    with pytest.raises(UsageError, match="value out of range"):
        parse(cpu_shares="99999999999999999999999")
    with pytest.raises(UsageError, match="the minimum allowed cpu-shares is 2"):
        parse(cpu_shares="1")
    with pytest.raises(UsageError, match="the maximum allowed cpu-shares is 262144"):
        parse(cpu_shares="262145")


def test_cpuset_against_online_cpus():
    assert parse(cpuset_cpus="0-1,3").cpuset_cpus == "0-1,3"
    with pytest.raises(UsageError, match="^invalid value 1-a for cpuset cpus$"):
        parse(cpuset_cpus="1-a")
    with pytest.raises(UsageError, match="invalid value 3-1 for cpuset cpus"):
        parse(cpuset_cpus="3-1")
    with pytest.raises(UsageError) as err:
        parse(cpuset_cpus="0,7")
    assert str(err.value) == "requested CPUs are not available - requested 0,7, available: 0-3"
    assert rf.parse_cpu_list("0-2,5") == {0, 1, 2, 5}


def test_pids_limit():
    assert parse(pids_limit="10").pids_limit == 10
    assert parse(pids_limit="-1").pids_limit == -1
    assert parse(pids_limit="0").pids_limit == -1
    assert parse().pids_limit is None
    with pytest.raises(UsageError, match='"--pids-limit" flag: strconv.ParseInt: parsing "x"'):
        parse(pids_limit="x")
    with pytest.raises(UsageError, match="value out of range"):
        parse(pids_limit="4294967296")
    with pytest.raises(UsageError, match='invalid argument "-5" for "--pids-limit"'):
        parse(pids_limit="-5")


def test_ulimits():
    limits = parse(ulimit=["nofile=1024:2048", "core=0", "nproc=-1", "stack=-1:-1"])
    assert limits.ulimits == [
        Ulimit("nofile", 1024, 2048),
        Ulimit("core", 0, 0),
        Ulimit("nproc", -1, -1),
        Ulimit("stack", -1, -1),
    ]
    host = parse(ulimit=["nofile=10", "host"])
    assert host.ulimit_host and host.ulimits == []


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("nofile", "invalid ulimit argument: nofile"),
        ("files=10", "invalid ulimit type: files"),
        ("nofile=abc", 'strconv.ParseInt: parsing "abc": invalid syntax'),
        ("nofile=1:2:3", "too many limit value arguments - 1:2:3"),
        ("nofile=20:10", "ulimit soft limit must be less than or equal to hard limit: 20 > 10"),
        ("nofile=-1:10", "soft limit must be less than or equal to hard limit: unlimited > 10"),
        ("nofile=99999999999999999999", "value out of range"),
        ("nofile=-2", "invalid ulimit value -2"),
    ],
)
def test_bad_ulimits(value, reason):
    with pytest.raises(UsageError) as err:
        parse(ulimit=[value])
    text = str(err.value)
    assert text.startswith(
        f'ulimit option "{value}" requires name=SOFT:HARD, failed to be parsed: '
    )
    assert reason in text


def test_shm_size_and_oom_score_adj():
    limits = parse(shm_size="128m", oom_score_adj="-500")
    assert (limits.shm_size, limits.oom_score_adj) == (128 << 20, -500)
    with pytest.raises(UsageError, match="^oom_score_adj must be between -1000 and 1000: 1001$"):
        parse(oom_score_adj="1001")
    with pytest.raises(UsageError, match='"--oom-score-adj" flag: strconv.ParseInt'):
        parse(oom_score_adj="high")
    with pytest.raises(UsageError, match="^unable to translate --shm-size: invalid size: 'big'$"):
        parse(shm_size="big")
    assert parse(shm_size="0").shm_size == 0  # podman: a tmpfs without a limit


def test_cgroup_limits_and_dropping_them():
    limits = parse(memory="10m", cpus="1", pids_limit="5", shm_size="1m", ulimit=["core=0"])
    assert limits.cgroup_limits
    kept = limits.without_cgroup_limits()
    assert not kept.cgroup_limits
    assert (kept.shm_size, kept.ulimits) == (1 << 20, [Ulimit("core", 0, 0)])
    assert not parse(shm_size="1m", oom_score_adj="5").cgroup_limits


def test_online_cpus(tmp_path):
    online = tmp_path / "online"
    online.write_text("0-7\n")
    assert rf.online_cpus(online) == "0-7"
    assert rf.online_cpus(tmp_path / "missing").startswith("0-")

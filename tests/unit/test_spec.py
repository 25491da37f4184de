"""container.spec: config.json against golden files, command merging, capabilities, user namespaces.

Golden files live in tests/unit/golden/spec/<case>.json. After an intended change to the spec,
regenerate them with

    POD_UPDATE_GOLDEN=1 pytest tests/unit/test_spec.py

and review the diff like any other code change.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pod.container import spec
from pod.container.options import MountSpec, ResourceLimits, RunOptions, Ulimit
from pod.container.user import ResolvedUser
from pod.errors import PodError
from pod.image.defaults import ImageDefaults
from pod.util import records
from pod.util.capabilities import ALL_CAPABILITIES, host_bounding_set
from pod.util.proc_info import in_user_namespace
from pod.util.userns import IdMapLine, SubIdRange

GOLDEN = Path(__file__).parent / "golden" / "spec"
UPDATE = os.environ.get("POD_UPDATE_GOLDEN") == "1"
CID = "0123456789ab" + "c" * 52
ETC = {
    "/etc/hosts": "/store/containers/c/hosts",
    "/etc/hostname": "/store/containers/c/hostname",
    "/etc/resolv.conf": "/store/containers/c/resolv.conf",
    "/run/.containerenv": "/store/containers/c/.containerenv",
}
BUSYBOX = ImageDefaults(cmd=["sh"])
ROOT = ResolvedUser(0, 0, (10,), "/root", "")
SUBIDS = [SubIdRange(100000, 65536)]
FAKE_DEVICES = [
    {
        "path": "/dev/null",
        "type": "c",
        "major": 1,
        "minor": 3,
        "fileMode": 0o666,
        "uid": 0,
        "gid": 0,
    },
    {
        "path": "/dev/tty1",
        "type": "c",
        "major": 4,
        "minor": 1,
        "fileMode": 0o620,
        "uid": 0,
        "gid": 5,
    },
    {
        "path": "/dev/sda",
        "type": "b",
        "major": 8,
        "minor": 0,
        "fileMode": 0o660,
        "uid": 0,
        "gid": 6,
    },
]


def no_init() -> str:
    raise AssertionError("init lookup must not run")


def build(options: RunOptions, *, rootless: bool = False, **overrides) -> dict:
    kwargs: dict = {
        "container_id": CID,
        "hostname": CID[:12],
        "rootfs": "/store/containers/c/merged",
        "user": ROOT,
        "mounts": [],
        "etc_files": ETC,
        "rootless": rootless,
        "in_user_namespace": rootless,
        "cgroups_path": None if rootless else f"/pod/{CID}",
        "annotations": {},
        "init_lookup": no_init,
    }
    if rootless:
        kwargs["userns"] = spec.userns_mapping(options, True, 1000, 1000, SUBIDS, SUBIDS)
    defaults = overrides.pop("defaults", BUSYBOX)
    kwargs.update(overrides)
    return spec.build_spec(options, defaults, **kwargs)


def check_golden(name: str, config: dict) -> None:
    path = GOLDEN / f"{name}.json"
    text = spec.to_json(config).decode()
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"{path} is missing: run with POD_UPDATE_GOLDEN=1 to create it"
    assert json.loads(text) == json.loads(path.read_text()), f"{name} differs from {path}"


def opts(**fields) -> RunOptions:
    return RunOptions(image="busybox", **fields)


# --- golden config.json files ----------------------------------------------------------------


def test_default_busybox_rootful():
    check_golden("default_rootful", build(opts()))


def test_default_busybox_rootless():
    check_golden("default_rootless", build(opts(), rootless=True))


def test_tty_interactive():
    config = build(opts(tty=True, interactive=True))
    assert config["process"]["terminal"] is True
    assert "TERM=xterm" in config["process"]["env"]
    check_golden("tty_interactive", config)


def test_user_numeric():
    user = ResolvedUser(1000, 1000, (1000,), "/", "1000:1000")
    config = build(opts(user="1000:1000"), user=user)
    assert config["process"]["user"] == {
        "uid": 1000,
        "gid": 1000,
        "umask": 0o022,
        "additionalGids": [1000],
    }
    caps = config["process"]["capabilities"]
    assert caps["effective"] == caps["permitted"] == caps["ambient"] == []
    assert "CAP_CHOWN" in caps["bounding"]
    check_golden("user_numeric", config)


def test_user_by_name_with_cap_add():
    user = ResolvedUser(1001, 1001, (1001, 10, 20), "/home/bob", "bob")
    config = build(opts(user="bob", cap_add=["net_admin"]), user=user)
    caps = config["process"]["capabilities"]
    assert caps["effective"] == caps["inheritable"] == caps["ambient"] == ["CAP_NET_ADMIN"]
    assert "HOME=/home/bob" in config["process"]["env"]
    check_golden("user_name", config)


def test_cap_add_drop():
    config = build(opts(cap_add=["sys_admin", "CAP_NET_RAW"], cap_drop=["chown", "Kill"]))
    bounding = config["process"]["capabilities"]["bounding"]
    assert "CAP_SYS_ADMIN" in bounding and "CAP_NET_RAW" in bounding
    assert "CAP_CHOWN" not in bounding and "CAP_KILL" not in bounding
    assert bounding == sorted(bounding)
    check_golden("cap_add_drop", config)


def test_cap_drop_all_keeps_only_added():
    config = build(opts(cap_drop=["ALL"], cap_add=["chown"]))
    assert config["process"]["capabilities"]["bounding"] == ["CAP_CHOWN"]
    check_golden("cap_drop_all", config)


def test_cap_add_all():
    config = build(opts(cap_add=["all"]))
    assert config["process"]["capabilities"]["effective"] == sorted(ALL_CAPABILITIES)


def test_cap_add_all_respects_bounding_set():
    config = build(opts(cap_add=["ALL"]), bounding_set=["CAP_CHOWN", "CAP_KILL", "CAP_SETUID"])
    assert config["process"]["capabilities"]["bounding"] == ["CAP_CHOWN", "CAP_KILL", "CAP_SETUID"]


def test_privileged_rootful():
    config = build(opts(privileged=True), devices=FAKE_DEVICES)
    linux = config["linux"]
    assert "maskedPaths" not in linux and "readonlyPaths" not in linux
    assert linux["devices"] == FAKE_DEVICES
    assert linux["resources"]["devices"] == [{"allow": True, "access": "rwm"}]
    sys_mount = next(m for m in config["mounts"] if m["destination"] == "/sys")
    assert "rw" in sys_mount["options"]
    check_golden("privileged_rootful", config)


def test_privileged_rootless_binds_devices():
    config = build(opts(privileged=True), rootless=True, devices=FAKE_DEVICES)
    destinations = [m["destination"] for m in config["mounts"]]
    assert "/dev/null" in destinations and "/dev/sda" in destinations
    assert "/dev/tty1" not in destinations  # podman skips ttys and ptmx
    assert "devices" not in config["linux"]
    check_golden("privileged_rootless", config)


def test_read_only():
    config = build(opts(read_only=True))
    assert config["root"]["readonly"] is True
    tmpfs = {m["destination"]: m for m in config["mounts"] if m["type"] == "tmpfs"}
    for destination in ("/tmp", "/var/tmp", "/run"):
        assert tmpfs[destination]["options"] == ["rw", "rprivate", "nosuid", "nodev", "tmpcopyup"]
    hosts = next(m for m in config["mounts"] if m["destination"] == "/etc/hosts")
    assert hosts["options"] == ["bind", "rprivate", "ro", "nosuid", "noexec", "nodev"]
    check_golden("read_only", config)


def test_volumes_mounts_tmpfs():
    mounts = [
        {"type": "bind", "destination": "/data", "source": "/srv/data", "options": ["ro", "Z"]},
        {
            "type": "volume",
            "destination": "/var/lib/db",
            "source": "/store/volumes/db/_data",
            "options": [],
            "volume": "db",
            "copy_up": True,
        },
        {"type": "tmpfs", "destination": "/scratch", "options": ["size=10m", "mode=1777"]},
        {"type": "bind", "destination": "/opt/x/", "source": "/x", "options": ["rshared", "bind"]},
    ]
    config = build(opts(), mounts=mounts)
    by_dest = {m["destination"]: m for m in config["mounts"]}
    assert by_dest["/data"] == {
        "destination": "/data",
        "type": "bind",
        "source": "/srv/data",
        "options": ["ro", "rprivate", "rbind"],
    }
    assert by_dest["/var/lib/db"]["options"] == ["rw", "rprivate", "rbind"]
    assert by_dest["/scratch"]["options"] == [
        "size=10m",
        "mode=1777",
        "rw",
        "rprivate",
        "nosuid",
        "nodev",
        "tmpcopyup",
    ]
    assert by_dest["/opt/x"]["options"] == ["rshared", "bind", "rw"]
    check_golden("mounts", config)


def test_network_none():
    config = build(opts(network="none"))
    assert {"type": "network"} in config["linux"]["namespaces"]
    check_golden("network_none", config)


def test_network_host_rootful():
    config = build(opts(network="host"))
    assert {"type": "network"} not in config["linux"]["namespaces"]
    sys_mount = next(m for m in config["mounts"] if m["destination"] == "/sys")
    assert sys_mount["type"] == "sysfs"
    check_golden("network_host_rootful", config)


def test_network_host_rootless_binds_sys():
    config = build(opts(network="host"), rootless=True)
    sys_mount = next(m for m in config["mounts"] if m["destination"] == "/sys")
    assert sys_mount == {
        "destination": "/sys",
        "type": "bind",
        "source": "/sys",
        "options": ["rprivate", "nosuid", "noexec", "nodev", "ro", "rbind"],
    }
    assert "/sys/fs/cgroup" not in [m["destination"] for m in config["mounts"]]
    assert "/sys/kernel" in config["linux"]["maskedPaths"]
    check_golden("network_host_rootless", config)


def test_keep_id():
    options = opts(userns="keep-id")
    userns = spec.userns_mapping(options, True, 1000, 1000, SUBIDS, SUBIDS)
    assert userns is not None and userns.user == "1000:1000"
    assert spec.user_spec(options, BUSYBOX, userns) == "1000:1000"
    user = ResolvedUser(1000, 1000, (1000,), "/", "1000:1000")
    config = build(options, rootless=True, userns=userns, user=user)
    assert config["process"]["user"]["uid"] == 1000
    assert config["process"]["capabilities"]["effective"] == []
    check_golden("keep_id", config)


def test_nomap_leaves_the_user_out():
    """nomap: container ids from 0 take the subordinate ids; the user's own id is not mapped
    (podman's GetNoMapMapping); rootless only, with podman's message."""
    mapping = spec.userns_mapping(opts(userns="nomap"), True, 1000, 1000, SUBIDS, SUBIDS)
    assert mapping is not None and mapping.user is None
    assert mapping.uids == tuple(spec._subordinate(SUBIDS, 0, 0, sum(r.count for r in SUBIDS)))
    assert all(line.outside != 1000 for line in mapping.uids)
    with pytest.raises(PodError, match="nomap is only supported in rootless mode"):
        spec.userns_mapping(opts(userns="nomap"), False, 0, 0, SUBIDS, SUBIDS)
    with pytest.raises(PodError, match="nomap requires additional UIDs"):
        spec.userns_mapping(opts(userns="nomap"), True, 1000, 1000, [], [])


def test_auto_is_the_allocated_range():
    """auto: rootful, the carved host range as it is; rootless, the carved ids of the user's
    namespace followed through its maps to host ids (1 → the first subordinate id)."""
    carved = spec.UsernsMapping((IdMapLine(0, 1, 1024),), (IdMapLine(0, 1, 1024),))
    rootful = spec.UsernsMapping((IdMapLine(0, 300000, 1024),), (IdMapLine(0, 300000, 1024),))
    assert spec.userns_mapping(opts(userns="auto"), False, 0, 0, [], [], rootful) == rootful
    ranges = [SubIdRange(100000, 65536)]
    rootless = spec.userns_mapping(opts(userns="auto"), True, 1000, 1000, ranges, ranges, carved)
    assert rootless is not None
    assert rootless.uids == (IdMapLine(0, 100000, 1024),)
    default = spec.userns_mapping(opts(), True, 1000, 1000, ranges, ranges)
    assert default is not None
    assert spec.nested_mapping(rootless, default).uids == carved.uids


def test_rootful_runtime_made_user_namespace():
    userns = spec.UsernsMapping((IdMapLine(0, 200000, 65536),), (IdMapLine(0, 200000, 65536),))
    config = build(opts(), userns=userns)
    assert config["linux"]["namespaces"][-1] == {"type": "user"}
    assert config["linux"]["uidMappings"] == [{"containerID": 0, "hostID": 200000, "size": 65536}]
    assert "devices" not in config["linux"].get("resources", {})
    check_golden("rootful_userns", config)


def test_init():
    config = build(opts(init=True, command=["top"]), init_lookup=lambda: "/usr/bin/catatonit")
    assert config["process"]["args"] == ["/run/pod-init", "--", "top"]
    init = next(m for m in config["mounts"] if m["destination"] == "/run/pod-init")
    assert init == {
        "destination": "/run/pod-init",
        "type": "bind",
        "source": "/usr/bin/catatonit",
        "options": ["bind", "ro"],
    }
    check_golden("init", config)


def test_init_path_option_wins():
    config = build(opts(init=True, init_path="/opt/tini"))
    assert any(m["source"] == "/opt/tini" for m in config["mounts"])


def test_init_missing_is_an_error():
    def missing() -> str:
        raise PodError("no init")

    with pytest.raises(PodError, match="no init"):
        build(opts(init=True), init_lookup=missing)


def test_env_ordering():
    defaults = ImageDefaults(
        cmd=["sh"], env=["PATH=/image/bin", "LANG=C", "HOME=/image-home", "A=image"]
    )
    config = build(opts(env=["A=user", "B=x=y", "LANG=", "HOSTNAME=custom"]), defaults=defaults)
    assert config["process"]["env"] == [
        "PATH=/image/bin",
        "TERM=xterm",
        "container=pod",
        "HOSTNAME=custom",
        "HOME=/image-home",
        "LANG=",
        "A=user",
        "B=x=y",
    ]
    check_golden("env_ordering", config)


def test_workdir_and_annotations():
    defaults = ImageDefaults(cmd=["sh"], working_dir="/app", stop_signal="SIGQUIT")
    config = build(opts(), defaults=defaults, annotations={"x": "y"})
    assert config["process"]["cwd"] == "/app"
    assert config["annotations"] == {
        "io.container.manager": "pod",
        "org.opencontainers.image.stopSignal": "3",
        "x": "y",
    }
    assert build(opts(workdir="/w"), defaults=defaults)["process"]["cwd"] == "/w"


def test_empty_hostname_defaults_to_short_id():
    assert build(opts(), hostname="")["hostname"] == CID[:12]


# --- command merging -------------------------------------------------------------------------

ENTRYPOINT_CASES = [
    # image ENTRYPOINT, image CMD, --entrypoint, args → argv
    ([], ["sh"], None, [], ["sh"]),
    ([], ["sh"], None, ["echo", "hi"], ["echo", "hi"]),
    (["/docker-entrypoint.sh"], ["nginx", "-g", "daemon off;"], None, [], None),
    (["/entry"], ["default"], None, ["arg"], ["/entry", "arg"]),
    (["/entry"], ["default"], ["/bin/sh"], [], ["/bin/sh"]),  # image CMD dropped
    (["/entry"], ["default"], ["/bin/sh"], ["-c", "ls"], ["/bin/sh", "-c", "ls"]),
    (["/entry"], ["default"], [], ["ls", "-l"], ["ls", "-l"]),  # --entrypoint "" clears it
    ([], ["sh"], ["/bin/echo", "json"], [], ["/bin/echo", "json"]),  # JSON array form
    ([""], ["sh"], None, [], ["sh"]),  # an image entrypoint of [""] counts as none
    ([], ["sh"], [""], ["ls"], ["ls"]),
]


@pytest.mark.parametrize(
    ("image_ep", "image_cmd", "entrypoint", "args", "expected"), ENTRYPOINT_CASES
)
def test_command_line(image_ep, image_cmd, entrypoint, args, expected):
    defaults = ImageDefaults(entrypoint=image_ep, cmd=image_cmd)
    options = opts(entrypoint=entrypoint, command=args)
    if expected is None:
        expected = image_ep + image_cmd
    assert spec.command_line(options, defaults) == expected


@pytest.mark.parametrize(
    ("image_ep", "image_cmd", "entrypoint", "args"),
    [([], [], None, []), (["/e"], ["c"], [], []), ([], ["sh"], [""], [])],
)
def test_no_command_is_an_error(image_ep, image_cmd, entrypoint, args):
    defaults = ImageDefaults(entrypoint=image_ep, cmd=image_cmd)
    with pytest.raises(PodError) as err:
        spec.command_line(opts(entrypoint=entrypoint, command=args), defaults)
    assert (
        str(err.value) == "no command or entrypoint provided, and no CMD or ENTRYPOINT from image"
    )
    assert err.value.exit_code == 125


# --- capabilities ----------------------------------------------------------------------------


def test_unknown_capability():
    with pytest.raises(PodError, match='"CAP_FOO": unknown capability') as err:
        build(opts(cap_add=["foo"]))
    assert err.value.exit_code == 125


def test_capability_added_and_dropped():
    with pytest.raises(PodError, match='capability "CAP_NET_RAW" cannot be dropped and added'):
        build(opts(cap_add=["net_raw"], cap_drop=["NET_RAW"]))


def test_add_and_drop_all():
    with pytest.raises(PodError, match="adding all caps and removing all caps not allowed"):
        build(opts(cap_add=["all"], cap_drop=["all"]))


def test_root_by_name_keeps_caps():
    user = ResolvedUser(0, 0, (0,), "/root", "root:root")
    caps = build(opts(user="root:root"), user=user)["process"]["capabilities"]
    assert caps["effective"] == list(spec.DEFAULT_CAPABILITIES)


# --- mounts ----------------------------------------------------------------------------------


def test_user_mounts_override_defaults():
    mounts = [
        {"type": "tmpfs", "destination": "/dev/shm", "options": ["size=1g"]},
        {"type": "bind", "destination": "/etc/hosts", "source": "/my/hosts", "options": []},
    ]
    config = build(opts(), mounts=mounts)
    shm = [m for m in config["mounts"] if m["destination"] == "/dev/shm"]
    hosts = [m for m in config["mounts"] if m["destination"] == "/etc/hosts"]
    assert len(shm) == 1 and shm[0]["options"][0] == "size=1g"
    assert len(hosts) == 1 and hosts[0]["source"] == "/my/hosts"


def test_user_dev_drops_default_dev_mounts():
    mounts = [{"type": "bind", "destination": "/dev", "source": "/dev", "options": []}]
    destinations = [m["destination"] for m in build(opts(), mounts=mounts)["mounts"]]
    assert destinations.count("/dev") == 1
    assert not [d for d in destinations if d.startswith("/dev/")]


def test_mounts_sorted_parents_first():
    mounts = [
        {"type": "bind", "destination": "/a/b/c", "source": "/x", "options": []},
        {"type": "bind", "destination": "/a", "source": "/y", "options": []},
    ]
    destinations = [m["destination"] for m in build(opts(), mounts=mounts)["mounts"]]
    assert destinations.index("/a") < destinations.index("/a/b/c")
    depths = [d.count("/") for d in destinations]
    assert depths == sorted(depths)


def test_unknown_mount_option():
    mounts = [{"type": "bind", "destination": "/a", "source": "/x", "options": ["size=1m"]}]
    with pytest.raises(PodError, match='unknown mount option "size=1m"'):
        build(opts(), mounts=mounts)


def test_tmpfs_u_option_owns_it_by_the_user():
    user = ResolvedUser(1000, 100, (100,), "/", "1000:100")
    mount = spec.user_mount({"type": "tmpfs", "destination": "/t", "options": ["U"]}, user)
    assert mount["options"][:2] == ["uid=1000", "gid=100"]


def test_mountspec_dicts_from_the_record_work():
    entry = records.asdict(MountSpec("bind", "/data", "/srv", ["rw"]))
    assert spec.user_mount(entry)["options"] == ["rw", "rprivate", "rbind"]


def test_devpts_gid_needs_a_mapped_tty_group():
    single = spec.UsernsMapping((IdMapLine(0, 1000, 1),), (IdMapLine(0, 1000, 1),))
    config = build(opts(), rootless=True, userns=single)
    pts = next(m for m in config["mounts"] if m["destination"] == "/dev/pts")
    assert "gid=5" not in pts["options"]
    rootless = build(opts(), rootless=True)
    pts = next(m for m in rootless["mounts"] if m["destination"] == "/dev/pts")
    assert "gid=5" in pts["options"]


def test_cgroup_v1():
    rootful = build(opts(), cgroup_v2=False)
    assert {"type": "cgroup"} not in rootful["linux"]["namespaces"]
    assert any(m["destination"] == "/sys/fs/cgroup" for m in rootful["mounts"])
    rootless = build(opts(), rootless=True, cgroup_v2=False)
    assert not any(m["destination"] == "/sys/fs/cgroup" for m in rootless["mounts"])


# --- user namespace maps ---------------------------------------------------------------------


def test_userns_default_rootless():
    mapping = spec.userns_mapping(opts(), True, 1000, 1001, SUBIDS, [SubIdRange(200000, 10)])
    assert mapping is not None and mapping.user is None
    assert mapping.uids == (IdMapLine(0, 1000, 1), IdMapLine(1, 100000, 65536))
    assert mapping.gids == (IdMapLine(0, 1001, 1), IdMapLine(1, 200000, 10))
    assert mapping.available_gids == 11


def test_userns_host_rootless_is_the_default():
    host = spec.userns_mapping(opts(userns="host"), True, 1000, 1000, SUBIDS, SUBIDS)
    assert host == spec.userns_mapping(opts(), True, 1000, 1000, SUBIDS, SUBIDS)


def test_userns_without_subids_maps_the_user_alone():
    mapping = spec.userns_mapping(opts(), True, 1000, 1000, [], [])
    assert mapping is not None and mapping.uids == (IdMapLine(0, 1000, 1),)


def test_userns_rootful_is_none():
    assert spec.userns_mapping(opts(), False, 0, 0, [], []) is None
    assert spec.userns_mapping(opts(userns="host"), False, 0, 0, [], []) is None


def test_keep_id_maps():
    mapping = spec.userns_mapping(opts(userns="keep-id"), True, 1000, 1000, SUBIDS, SUBIDS)
    assert mapping is not None
    assert mapping.uids == (
        IdMapLine(0, 100000, 1000),
        IdMapLine(1000, 1000, 1),
        IdMapLine(1001, 101000, 64536),
    )


def test_keep_id_maps_across_ranges():
    ranges = [SubIdRange(100000, 600), SubIdRange(300000, 1000)]
    mapping = spec.userns_mapping(opts(userns="keep-id"), True, 1000, 1000, ranges, ranges)
    assert mapping is not None
    assert mapping.uids == (
        IdMapLine(0, 100000, 600),
        IdMapLine(600, 300000, 400),
        IdMapLine(1000, 1000, 1),
        IdMapLine(1001, 300400, 600),
    )
    inside = sorted((line.inside, line.count) for line in mapping.uids)
    assert sum(count for _, count in inside) == 1601  # every subordinate id once, plus the user


def test_keep_id_small_range():
    ranges = [SubIdRange(100000, 10)]
    mapping = spec.userns_mapping(opts(userns="keep-id"), True, 1000, 1000, ranges, ranges)
    assert mapping is not None
    assert mapping.uids == (IdMapLine(0, 100000, 10), IdMapLine(1000, 1000, 1))


def test_keep_id_errors():
    with pytest.raises(PodError, match="keep-id is only supported in rootless mode"):
        spec.userns_mapping(opts(userns="keep-id"), False, 0, 0, SUBIDS, SUBIDS)
    with pytest.raises(PodError, match="keep-id requires additional UIDs"):
        spec.userns_mapping(opts(userns="keep-id"), True, 1000, 1000, [], [])


def test_user_spec_order():
    userns = spec.UsernsMapping((), (), "1000:1000")
    assert spec.user_spec(opts(user="0"), ImageDefaults(user="nginx"), userns) == "0"
    assert spec.user_spec(opts(), ImageDefaults(user="nginx"), userns) == "nginx"
    assert spec.user_spec(opts(), ImageDefaults(), userns) == "1000:1000"
    assert spec.user_spec(opts(), ImageDefaults(), None) == ""


# --- small helpers ---------------------------------------------------------------------------


def test_rlimits_clamped_to_ceiling():
    limits = spec.rlimits({"RLIMIT_NOFILE": (1024, 524288), "RLIMIT_NPROC": (2**63, 2**63)})
    assert limits == [
        {"type": "RLIMIT_NOFILE", "hard": 524288, "soft": 1024},
        {"type": "RLIMIT_NPROC", "hard": 1048576, "soft": 1048576},
    ]


def test_bad_stop_signal():
    with pytest.raises(PodError, match="invalid signal: SIGNOPE"):
        build(opts(stop_signal="SIGNOPE"))


def test_host_bounding_set(tmp_path):
    status = tmp_path / "status"
    status.write_text("Name:\tx\nCapBnd:\t0000000000000021\n")
    assert host_bounding_set(status) == ["CAP_CHOWN", "CAP_KILL"]


def test_host_devices_finds_dev_null():
    devices = spec.host_devices()
    null = next((d for d in devices if d["path"] == "/dev/null"), None)
    if null is None:
        pytest.skip("no /dev/null device node here")
    assert (null["type"], null["major"], null["minor"]) == ("c", 1, 3)
    assert not any(d["path"].startswith("/dev/pts/") for d in devices)


def test_to_json_is_bytes_with_newline():
    data = spec.to_json({"a": 1})
    assert data.endswith(b"\n") and json.loads(data) == {"a": 1}


# --- resource limits -----------------------------------------------------------------------------


def limits(**fields) -> ResourceLimits:
    return ResourceLimits(**fields)


def test_resource_limits_rootful():
    resources = limits(
        memory=64 << 20,
        cpus=1.5,
        cpu_shares=512,
        cpuset_cpus="0-1",
        pids_limit=10,
        ulimits=[Ulimit("nofile", 1024, 2048), Ulimit("core", -1, -1)],
        shm_size=128 << 20,
        oom_score_adj=500,
    )
    config = build(opts(resources=resources))
    linux = config["linux"]["resources"]
    assert linux["memory"] == {"limit": 64 << 20, "swap": 128 << 20}  # podman: swap = 2 x memory
    assert linux["cpu"] == {"shares": 512, "quota": 150000, "period": 100000, "cpus": "0-1"}
    assert linux["pids"] == {"limit": 10}
    assert config["process"]["oomScoreAdj"] == 500
    assert config["process"]["rlimits"] == [
        {"type": "RLIMIT_NOFILE", "hard": 2048, "soft": 1024},
        {"type": "RLIMIT_CORE", "hard": spec.RLIM_INFINITY, "soft": spec.RLIM_INFINITY},
        {"type": "RLIMIT_NPROC", "hard": 1048576, "soft": 1048576},
    ]
    shm = next(m for m in config["mounts"] if m["destination"] == "/dev/shm")
    assert f"size={128 << 20}" in shm["options"]
    check_golden("resources_rootful", config)


def test_memory_swap_given_unlimited_or_unaccounted():
    config = build(opts(resources=limits(memory=10 << 20, memory_swap=-1)))
    assert config["linux"]["resources"]["memory"] == {"limit": 10 << 20, "swap": -1}
    config = build(opts(resources=limits(memory=10 << 20)), swap_limit=False)
    assert config["linux"]["resources"]["memory"] == {"limit": 10 << 20}


def test_pids_unlimited_replaces_the_default():
    config = build(opts(resources=limits(pids_limit=-1)))
    assert config["linux"]["resources"]["pids"] == {"limit": -1}


def test_rootless_limits_are_written_when_given():
    # The engine only passes them on when the user's cgroup v2 tree is delegated.
    config = build(opts(resources=limits(memory=10 << 20, pids_limit=5)), rootless=True)
    assert config["linux"]["resources"] == {
        "memory": {"limit": 10 << 20, "swap": 20 << 20},
        "pids": {"limit": 5},
    }
    check_golden("resources_rootless", config)


def test_ulimits_clamped_to_the_host_hard_limits():
    ceiling = {"RLIMIT_NOFILE": (1024, 20000), "RLIMIT_CORE": (0, -1), "RLIMIT_NPROC": (50, 100)}
    resources = limits(ulimits=[Ulimit("nofile", 100000, 200000), Ulimit("core", -1, -1)])
    config = build(opts(resources=resources), rlimit_ceiling=ceiling)
    assert config["process"]["rlimits"] == [
        {"type": "RLIMIT_NOFILE", "hard": 20000, "soft": 20000},
        {"type": "RLIMIT_CORE", "hard": spec.RLIM_INFINITY, "soft": spec.RLIM_INFINITY},
        {"type": "RLIMIT_NPROC", "hard": 100, "soft": 50},
    ]


def test_ulimit_host_leaves_rlimits_out():
    config = build(opts(resources=limits(ulimit_host=True)))
    assert "rlimits" not in config["process"]
    assert "oomScoreAdj" not in build(opts())["process"]


def test_host_rlimits_only_when_raising_is_not_allowed(tmp_path):
    status = tmp_path / "status"
    status.write_text("CapEff:\t000001fffeffffff\n")  # every capability but CAP_SYS_RESOURCE
    ceiling = spec.host_rlimits(status)
    assert {"RLIMIT_NOFILE", "RLIMIT_NPROC", "RLIMIT_LOCKS", "RLIMIT_CORE"} <= set(ceiling)
    status.write_text("CapEff:\t000001ffffffffff\n")
    if not in_user_namespace():
        assert spec.host_rlimits(status) == {}


def test_host_swap_limit(tmp_path):
    assert not spec.host_swap_limit(tmp_path)
    (tmp_path / "memory").mkdir()
    (tmp_path / "memory" / "memory.memsw.limit_in_bytes").write_text("-1\n")
    assert spec.host_swap_limit(tmp_path)
    (tmp_path / "cgroup.controllers").write_text("memory\n")
    assert spec.host_swap_limit(tmp_path)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, None),
        ({"seccomp_profile": "/etc/profile.json"}, "/etc/profile.json"),
        ({"seccomp_profile": "unconfined"}, "unconfined"),
        ({"seccomp_profile": "unconfined", "privileged": True}, "unconfined"),
        ({"privileged": True}, None),
    ],
)
def test_seccomp_annotation_records_the_option_as_podman(fields, expected):
    """podman's io.podman.annotations.seccomp: whatever --security-opt seccomp= said."""
    annotations = build(opts(**fields))["annotations"]
    assert annotations.get(spec.SECCOMP_ANNOTATION) == expected

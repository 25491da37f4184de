"""The pure parts of issue 14's bug fixes: signals read as podman reads them, keep-id's nested
maps, list filters, image names, mount flags, /etc/hosts lines, the rootfs touches, the
runtime's tmpfs copy-up, and the CLI with no command."""

from __future__ import annotations

import os
import signal
import stat

import pytest

from pod.container import spec
from pod.container.flags import parse_mounts, parse_tmpfs
from pod.errors import PodError, UsageError
from pod.util.signals import parse_signal, signal_name
from pod.util.userns import IdMapLine, SubIdRange

# --- signals (kill -s, --stop-signal, STOPSIGNAL) ----------------------------------------------


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("TERM", 15),
        ("SIGTERM", 15),
        ("sigterm", 15),
        ("15", 15),
        ("-1", 1),
        ("-HUP", 1),
        ("-usr1", 10),
        ("64", 64),
        ("RTMIN", int(signal.SIGRTMIN)),
        ("RTMIN+3", int(signal.SIGRTMIN) + 3),
        ("-SIGRTMAX", int(signal.SIGRTMAX)),
        ("rtmax-2", int(signal.SIGRTMAX) - 2),
        ("CLD", 17),
        ("IOT", 6),
    ],
)
def test_signals_read_as_podman(text, number):
    assert parse_signal(text) == number


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0", "invalid signal: 0"),
        ("-0", "invalid signal: 0"),
        ("65", "valid signals are 1 through 64"),
        ("--1", "valid signals are 1 through 64"),
        ("FOO", "invalid signal: FOO"),
        ("-FOO", "invalid signal: FOO"),
        ("SIGRTMIN+40", "invalid signal: SIGRTMIN+40"),
        (" 1", "invalid signal:  1"),
        ("1x", "invalid signal: 1x"),
        ("", "invalid signal: "),
    ],
)
def test_bad_signals_fail_with_podmans_words(text, message):
    with pytest.raises(UsageError) as caught:
        parse_signal(text)
    assert str(caught.value) == message


def test_signal_names_for_messages():
    assert signal_name(15) == "SIGTERM"
    assert signal_name(int(signal.SIGRTMIN) + 1) == str(int(signal.SIGRTMIN) + 1)


# --- keep-id: a user namespace nested in the user's default one --------------------------------


def _lines(*triples) -> tuple[IdMapLine, ...]:
    return tuple(IdMapLine(*t) for t in triples)


def test_keep_id_nested_in_the_default_namespace_is_podmans_mapping():
    ranges = [SubIdRange(100000, 65536)]
    keep = spec.UsernsMapping(spec._keep_id_map(1001, ranges), spec._keep_id_map(1001, ranges))
    default = spec.UsernsMapping(spec._default_map(1001, ranges), spec._default_map(1001, ranges))
    nested = spec.nested_mapping(keep, default)
    podmans = _lines((0, 1, 1001), (1001, 0, 1), (1002, 1002, 64535))
    assert nested.uids == nested.gids == podmans
    assert spec.outside_id(nested.uids, 1001) == 0 and spec.outside_id(nested.uids, 1000) == 1001
    with pytest.raises(PodError):
        spec.outside_id(nested.uids, 70000)


def test_nested_mapping_splits_across_the_parents_ranges_and_refuses_unmapped_ids():
    parent = spec.UsernsMapping(_lines((0, 500, 1), (1, 1000, 10), (11, 1010, 10)), _lines())
    child = spec.UsernsMapping(_lines((0, 1005, 10), (10, 500, 1)), _lines())
    assert spec.nested_mapping(child, parent).uids == _lines((0, 6, 5), (5, 11, 5), (10, 0, 1))
    with pytest.raises(PodError, match="not mapped"):
        spec.nested_mapping(spec.UsernsMapping(_lines((0, 9000, 1)), _lines()), parent)


def test_the_spec_of_a_nested_namespace_lists_it_with_relative_maps():
    from test_spec import build, opts  # the spec tests' builders

    nested = spec.UsernsMapping(_lines((0, 1, 1000), (1000, 0, 1)), _lines((0, 1, 1000)))
    config = build(opts(), rootless=True, in_user_namespace=True, nested_userns=nested)
    assert {"type": "user"} in config["linux"]["namespaces"]
    assert config["linux"]["uidMappings"][1] == {"containerID": 1000, "hostID": 0, "size": 1}


# --- filters ---------------------------------------------------------------------------------


def test_filters_group_values_and_read_regexps_as_go():
    from pod.util.filters import checked_regexps, group_filters, regex_any

    assert group_filters(["name=a", "NAME=b", "label=x=y"]) == {
        "name": ["a", "b"],
        "label": ["x=y"],
    }
    with pytest.raises(UsageError, match="filter=value: name is invalid"):
        group_filters(["name"])
    assert regex_any(["^ab", "zz"], "abc") and not regex_any(["[", "c$x"], "abc")
    with pytest.raises(UsageError, match="error parsing regexp"):
        checked_regexps(["["])


def test_volume_filters_as_podman():
    from pod.store.volumes import VolumeRecord, select

    records = [VolumeRecord(n, 0.0, labels={"k": n}) for n in ("abc", "abd", "xabc", "data1")]

    def names(*items: str, in_use=frozenset()) -> list[str]:
        return [r.name for r in select(records, list(items), set(in_use))]

    assert names("name=abc") == ["abc", "xabc"]
    assert names("name=^ab") == ["abc", "abd"]
    assert names("name=abd", "name=data") == ["abd", "data1"]
    assert names("name=^ab", "label=k=abd") == ["abd"]
    assert names("dangling=true", in_use={"abc"}) == ["abd", "xabc", "data1"]
    assert names("driver=local") == ["abc", "abd", "xabc", "data1"]
    for bad, message in (
        ("bogus=1", '"bogus" is an invalid volume filter'),
        ("dangling=maybe", '"maybe" is not a valid value'),
    ):
        with pytest.raises(UsageError, match=message):
            names(bad)


def test_ps_filters_refuse_unknown_states(tmp_path):
    from pod.config import Settings
    from pod.container.list import list_containers

    settings = Settings(tmp_path / "root", tmp_path / "run")
    for value in ("configured", "Running", "up"):
        with pytest.raises(UsageError, match=f"unknown container state: {value}"):
            list_containers(settings, True, [f"status={value}"])
    for value in ("created", "stopped", "unknown", "initialized", "removing"):
        assert list_containers(settings, True, [f"status={value}"]) == []
    with pytest.raises(UsageError, match="bogus is an invalid filter"):
        list_containers(settings, True, ["bogus=1"])


def test_states_have_podmans_names():
    """libpod's Configured is "created", its Created (made in the runtime: `pod init`, or a
    run about to attach) "initialized"; the others keep their names."""
    from pod.container.state import podman_status

    assert podman_status("configured") == "created"
    assert podman_status("created") == "initialized"
    for same in ("running", "paused", "exited", "stopping", "removing"):
        assert podman_status(same) == same


# --- image names --------------------------------------------------------------------------------


def _record(names: list[str], image_id: str = "ab" * 32):
    from pod.store.images import ImageRecord

    return ImageRecord(
        id=image_id,
        manifest_digest="sha256:" + "cd" * 32,
        manifest_media_type="",
        manifest_size=0,
        config_digest="sha256:" + image_id,
        layer_digests=[],
        chain_ids=[],
        size=0,
        created="",
        names=names,
        repo_digests=[f"r.io/app@sha256:{'cd' * 32}"],
    )


def test_a_digested_name_is_a_name_not_a_tag():
    digested = f"r.io/app@sha256:{'cd' * 32}"
    both = _record(["r.io/app:1", digested, "localhost/x:2"])
    assert both.tags == ["r.io/app:1", "localhost/x:2"]
    assert both.listed_as() == [("r.io/app", "1"), ("localhost/x", "2")]
    assert _record([digested]).listed_as() == [("r.io/app", "<none>")]
    assert _record([]).listed_as() == [("<none>", "<none>")]


def test_the_name_a_reference_resolves_to(tmp_path):
    from pod.store.images import ImageStore
    from pod.store.layout import Layout

    store = ImageStore(Layout(tmp_path, tmp_path / "run"))
    record = _record(["r.io/app:1", "localhost/short:2"])
    for text, name in (
        ("r.io/app:1", "r.io/app:1"),
        ("short:2", "localhost/short:2"),
        ("app:1", "r.io/app:1"),
        ("abababababab", "r.io/app:1"),
        (f"r.io/app@sha256:{'cd' * 32}", f"r.io/app@sha256:{'cd' * 32}"),
    ):
        assert store.resolve(text, [record]) == (record, name), text
    assert store.resolve("other:1", [record]) is None


def test_untag_names_may_hold_a_digest():
    from pod.image import reference

    digested = f"r.io/app@sha256:{'cd' * 32}"
    assert reference.local_name(digested) == digested
    assert reference.local_name("x:1") == "localhost/x:1"
    with pytest.raises(UsageError, match="a tag cannot contain a digest"):
        reference.qualify_local(digested)


# --- mount flags ---------------------------------------------------------------------------


def test_duplicate_mount_destinations_are_refused_as_podman():
    assert [m.destination for m in parse_mounts(["/a:/d", "/a:/d"], [], ["/t", "/t"])] == [
        "/d",
        "/t",
    ]
    for volumes, mounts, tmpfs in (
        (["/a:/d", "/b:/d"], [], []),
        (["/a:/d", "/a:/d/"], [], []),
        (["/a:/d"], [], ["/d"]),
        ([], ["type=bind,src=/a,dst=/d", "type=bind,src=/a,dst=/d"], []),
        ([], [], ["/t", "/t:ro"]),
    ):
        with pytest.raises(UsageError, match="/d|/t: duplicate mount destination"):
            parse_mounts(volumes, mounts, tmpfs)


def test_tmpfs_defaults_are_podmans():
    assert parse_tmpfs("/t").options == []
    assert spec.tmpfs_options([]) == ["rw", "rprivate", "nosuid", "nodev", "tmpcopyup"]
    assert spec.tmpfs_options(["ro", "size=1m"]) == [
        "ro",
        "size=1m",
        "rprivate",
        "nosuid",
        "nodev",
        "tmpcopyup",
    ]


# --- /etc/hosts on connect and disconnect --------------------------------------------------


def test_the_containers_own_hosts_line_follows_its_address(tmp_path):
    from pod.network.members import own_address
    from pod.store.containers import ContainerRecord
    from pod.store.layout import Layout

    layout = Layout(tmp_path, tmp_path / "run")
    record = ContainerRecord(
        id="e" * 64,
        name="web",
        image_id="",
        image_name="",
        created=0.0,
        command=[],
        rootless=False,
        runtime="pod",
        hostname="eeeeeeeeeeee",
    )
    hosts = layout.container(record.id).hosts
    hosts.parent.mkdir(parents=True)
    hosts.write_text("127.0.0.1\tlocalhost\n10.0.0.2\teeeeeeeeeeee web\n10.0.0.9\tother\n")
    inode = hosts.stat().st_ino
    own_address(layout, record, "10.0.0.2", present=False)
    assert hosts.read_text() == "127.0.0.1\tlocalhost\n10.0.0.9\tother\n"
    own_address(layout, record, "10.0.0.3", present=True)
    assert hosts.read_text().endswith("10.0.0.9\tother\n10.0.0.3\teeeeeeeeeeee web\n")
    assert hosts.stat().st_ino == inode  # rewritten in place: it is bind-mounted


# --- the rootfs: /etc/mtab, /'s mode, :U, diff ---------------------------------------------


def test_mtab_is_made_once_and_never_followed_out(tmp_path):
    from pod.container.rootfs_prepare import ensure_mtab

    bare = tmp_path / "bare"
    bare.mkdir()
    ensure_mtab(bare)
    assert os.readlink(bare / "etc" / "mtab") == "/proc/mounts"
    ensure_mtab(bare)  # there already: kept
    hostile = tmp_path / "hostile"
    hostile.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (hostile / "etc").symlink_to(outside)
    ensure_mtab(hostile)
    assert not (outside / "mtab").exists()


def test_what_the_rootful_engine_makes_for_a_mapped_container_is_its_roots(tmp_path):
    """--userns=auto, rootful: an /etc the engine had to make (and its mtab link) belong to
    container root's host ids, or the runtime cannot create the bind targets in it; an image's
    own /etc keeps its owner."""
    from pod.container.rootfs_prepare import ensure_mtab

    bare = tmp_path / "bare"
    bare.mkdir()
    ensure_mtab(bare, (400000, 400001))
    made = os.stat(bare / "etc")
    link = os.lstat(bare / "etc" / "mtab")
    assert (made.st_uid, made.st_gid, link.st_uid, link.st_gid) == (400000, 400001) * 2
    image = tmp_path / "image"
    (image / "etc").mkdir(parents=True)
    os.chown(image / "etc", 400500, 400500)  # as an idmapped lower shows the image's /etc
    ensure_mtab(image, (400000, 400001))
    assert os.stat(image / "etc").st_uid == 400500


def test_a_layers_root_starts_as_its_parents(tmp_path):
    from pod.store.layout import DEFAULT_ROOT_MODE, Layout, root_dir_mode

    layout = Layout(tmp_path, tmp_path / "run")
    assert root_dir_mode(layout, None) == DEFAULT_ROOT_MODE == 0o555
    assert root_dir_mode(layout, "sha256:" + "1" * 64) == 0o555  # not there (yet)
    diff = layout.layer_diff("sha256:" + "2" * 64)
    diff.mkdir(parents=True)
    diff.chmod(0o710)
    assert root_dir_mode(layout, "sha256:" + "2" * 64) == 0o710


def test_chown_tree_follows_no_link(tmp_path):
    from pod.store.safepath import chown_tree

    (tmp_path / "src" / "sub").mkdir(parents=True)
    (tmp_path / "src" / "sub" / "f").write_text("x")
    (tmp_path / "victim").write_text("y")
    (tmp_path / "src" / "link").symlink_to(tmp_path / "victim")
    uid, gid = (1234, 4321) if os.geteuid() == 0 else (os.getuid(), os.getgid())
    chown_tree(tmp_path / "src", uid, gid)
    for path in ("src", "src/sub", "src/sub/f", "src/link"):
        st = (tmp_path / path).lstat()
        assert (st.st_uid, st.st_gid) == (uid, gid), path
    assert (tmp_path / "victim").stat().st_uid == os.geteuid()


def test_diff_leaves_out_what_the_engine_adds(tmp_path):
    from pod.container.diff import _changes

    upper, lower = tmp_path / "upper", tmp_path / "lower"
    for directory in (upper / "etc", upper / "run", lower / "etc"):
        directory.mkdir(parents=True)
    for name in ("etc/hosts", "etc/hostname", "etc/resolv.conf", "run/.containerenv", "etc/new"):
        (upper / name).write_text("")
    (upper / "etc" / "mtab").symlink_to("/proc/mounts")
    assert _changes(upper, [lower], []) == [("C", "/etc"), ("A", "/etc/new")]


# --- pod's runtime: tmpfs over a directory ----------------------------------------------------


def test_tmpfs_over_a_directory_copies_it_up_and_keeps_its_mode(tmp_path):
    from pod.runtime import syscalls as sc
    from pod.runtime.rootfs import RootfsBuilder
    from pod.runtime.syscalls import Recorder

    rootfs = tmp_path / "rootfs"
    (rootfs / "etc").mkdir(parents=True, mode=0o750)
    (rootfs / "etc").chmod(0o750)
    recorder = Recorder(root=str(rootfs))
    builder = RootfsBuilder(recorder, str(rootfs), {}, in_userns=False)
    builder.root_fd = os.open(rootfs, os.O_RDONLY | os.O_DIRECTORY)
    try:
        builder.mount_one(
            {"type": "tmpfs", "source": "tmpfs", "options": ["rw", "tmpcopyup"]}, "/etc"
        )
        builder.mount_one({"type": "tmpfs", "source": "tmpfs", "options": ["rw"]}, "/new")
    finally:
        os.close(builder.root_fd)
    assert recorder.calls == [
        ("mount", "tmpfs", "<rootfs>/etc", "tmpfs", 0, None),
        ("copy_tree", "<rootfs>/etc", "<rootfs>/etc"),
        ("fchmod", "<rootfs>/etc", 0o750),
        ("mount", "tmpfs", "<rootfs>/new", "tmpfs", 0, None),
    ]
    assert sc.MS_RDONLY  # the flags above: "rw" clears it


def test_copy_tree_keeps_what_a_tmpfs_can_hold(tmp_path):
    from pod.runtime.syscalls import copy_tree

    source, target = tmp_path / "source", tmp_path / "target"
    (source / "d").mkdir(parents=True)
    (source / "d" / "f").write_bytes(b"data" * 1000)
    (source / "d" / "f").chmod(0o640)
    (source / "l").symlink_to("/etc/passwd")
    os.mkfifo(source / "p", 0o600)
    os.utime(source / "d" / "f", ns=(10**18, 10**18))
    target.mkdir()
    fds = [os.open(p, os.O_RDONLY | os.O_DIRECTORY) for p in (source, target)]
    try:
        copy_tree(*fds)
    finally:
        for fd in fds:
            os.close(fd)
    assert (target / "d" / "f").read_bytes() == b"data" * 1000
    assert stat.S_IMODE((target / "d" / "f").stat().st_mode) == 0o640
    assert (target / "d" / "f").stat().st_mtime_ns == 10**18
    assert os.readlink(target / "l") == "/etc/passwd"
    assert stat.S_ISFIFO((target / "p").lstat().st_mode)


# --- what pod prints ---------------------------------------------------------------------------


def test_the_runtime_dir_check_names_the_run_root_in_use(tmp_path, monkeypatch):
    from pod.system import checks

    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    assert (
        checks.check_runtime_dir(False, tmp_path).detail == f"rootful: the run root is {tmp_path}"
    )
    assert checks.check_runtime_dir(True, tmp_path).detail.endswith(f"the run root is {tmp_path}")


def test_no_command_prints_the_help_and_podmans_error(capsys):
    from pod.commands import main

    for argv, path in (([], "pod"), (["image"], "pod image")):
        with pytest.raises(SystemExit) as done:
            main(argv)
        assert done.value.code == 125
        out, err = capsys.readouterr()
        assert out.startswith("Usage: ") and "Commands:" in out
        assert err == f"Error: missing command '{path} COMMAND'\n"


def test_hard_links_of_one_copy_stay_links(tmp_path):
    from pod.builder.context import BuildContext
    from pod.builder.copier import copy_sources

    context, root = tmp_path / "ctx", tmp_path / "root"
    (context / "d").mkdir(parents=True)
    root.mkdir()
    (context / "d" / "a").write_text("hi\n")
    os.link(context / "d" / "a", context / "d" / "b")
    os.link(context / "d" / "a", context / "c")
    ctx = BuildContext(context)
    owner = (os.getuid(), os.getgid())
    options = {"workdir": "/", "owner": owner, "chmod": None, "matcher": ctx.matcher}
    copy_sources(root, ctx.sources("d"), "/one", **options)
    copy_sources(root, ctx.sources("."), "/all", **options)
    assert (root / "one" / "a").stat().st_nlink == 2
    assert (root / "one" / "a").stat().st_ino == (root / "one" / "b").stat().st_ino
    inodes = {(root / "all" / p).stat().st_ino for p in ("c", "d/a", "d/b")}
    assert len(inodes) == 1 and (root / "all" / "c").stat().st_nlink == 3
    assert (root / "all" / "c").stat().st_ino != (root / "one" / "a").stat().st_ino

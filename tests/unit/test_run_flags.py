"""`run` flag values → RunOptions parts, with podman's error style."""

import pytest

from pod.container.flags import (
    check_workdir,
    expand_env,
    parse_add_host,
    parse_entrypoint,
    parse_env,
    parse_labels,
    parse_mount,
    parse_tmpfs,
    parse_volume,
)
from pod.errors import UsageError
from pod.store.containers import check_name
from pod.store.names import MAX_NAME_LENGTH, name_problem


def test_env_order_host_lookup_and_files(tmp_path):
    env_file = tmp_path / "env"
    env_file.write_text("# comment\nA=1\n\nB=from-file\nHOSTVAR\n")
    host = {"HOSTVAR": "h", "PREFIX_X": "1", "PREFIX_Y": "2"}
    result = expand_env(parse_env(["B=2", "HOSTVAR", "MISSING", "PREFIX_*"], [str(env_file)], host))
    assert result == [
        "A=1",
        "B=from-file",
        "HOSTVAR=h",
        "B=2",
        "HOSTVAR=h",
        "PREFIX_X=1",
        "PREFIX_Y=2",
    ]
    with pytest.raises(UsageError):
        parse_env(["=x"], [], host)
    with pytest.raises(UsageError, match="reading env file"):
        parse_env([], [str(tmp_path / "nope")], host)


@pytest.mark.parametrize(
    ("text", "kind", "source", "destination", "options"),
    [
        ("/data", "volume", "", "/data", []),
        ("named:/data", "volume", "named", "/data", []),
        ("named:/data:ro", "volume", "named", "/data", ["ro"]),
        ("/host:/ctr", "bind", "/host", "/ctr", []),
        ("/host:/ctr:ro,Z", "bind", "/host", "/ctr", ["ro", "Z"]),
        ("/host/../x:/ctr/../y", "bind", "/host/../x", "/y", []),
    ],
)
def test_volume(text, kind, source, destination, options):
    mount = parse_volume(text)
    assert (mount.type, mount.source, mount.destination, mount.options) == (
        kind,
        source,
        destination,
        options,
    )


@pytest.mark.parametrize("text", ["a:b:c:d", "/x:relative", "/x:/y:bogus", ":/x", "rel"])
def test_bad_volumes(text):
    with pytest.raises(UsageError):
        parse_volume(text)


def test_mount_forms():
    bind = parse_mount("type=bind,source=/src,destination=/dst,readonly")
    assert (bind.type, bind.source, bind.destination, bind.read_only) == (
        "bind",
        "/src",
        "/dst",
        True,
    )
    volume = parse_mount("type=volume,src=v,target=/data")
    assert (volume.type, volume.source) == ("volume", "v")
    tmpfs = parse_mount("type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1777")
    assert tmpfs.options == ["size=1m", "mode=1777"]
    for bad in (
        "type=nfs,dst=/x",
        "type=bind,dst=/x",
        "type=volume",
        "type=bind,src=/a,dst=/b,x=y",
    ):
        with pytest.raises(UsageError):
            parse_mount(bad)


def test_tmpfs_labels_hosts_entrypoint():
    assert parse_tmpfs("/t").options == []  # podman's defaults: spec.tmpfs_options
    assert parse_tmpfs("/t:size=1m").options == ["size=1m"]
    assert parse_labels(["a=1", "b"]) == {"a": "1", "b": ""}
    assert parse_add_host("db:10.0.0.2") == "db:10.0.0.2"
    with pytest.raises(UsageError):
        parse_add_host("nohost")
    assert parse_entrypoint(None) is None
    assert parse_entrypoint("") == []
    assert parse_entrypoint("/bin/sh") == ["/bin/sh"]
    assert parse_entrypoint('["/bin/sh", "-c"]') == ["/bin/sh", "-c"]


def test_a_nul_byte_in_the_environment_is_refused(tmp_path):
    env_file = tmp_path / "env"
    env_file.write_bytes(b"A=1\nSECRET=x\x00y\n")
    with pytest.raises(UsageError, match=f'env file {env_file}: .*"SECRET" contains a NUL') as err:
        parse_env([], [str(env_file)], {})
    assert "x" not in str(err.value).split('"SECRET"')[1]  # the value is not shown
    with pytest.raises(UsageError, match='--env: environment variable "B" contains a NUL'):
        parse_env(["B=\x00"], [], {})
    env_file.write_bytes(b"A=\xff\n")
    with pytest.raises(UsageError, match="not UTF-8"):
        parse_env([], [str(env_file)], {})


def test_env_file_lines_end_at_newlines_only(tmp_path):
    env_file = tmp_path / "env"
    env_file.write_text("A=x\x1ey\r\nB=2\n")
    assert parse_env([], [str(env_file)], {}) == ["A=x\x1ey", "B=2"]


def test_workdir_must_be_absolute():
    assert check_workdir("/srv") == "/srv"
    assert check_workdir(None) is None
    for relative in ("rel", "./x", "~/x"):
        with pytest.raises(UsageError, match=f'invalid workdir "{relative}", must be an absolute'):
            check_workdir(relative)


@pytest.mark.parametrize(
    "name", ["-x", "_x", ".x", "a/b", "a b", "a:b", "", "é", "a\nb", "x" * (MAX_NAME_LENGTH + 1)]
)
def test_bad_names_are_refused_as_podman(name):
    with pytest.raises(UsageError, match="^running container create option: names must"):
        check_name(name)


@pytest.mark.parametrize("name", ["a", "A.b-c_d", "0x", "x" * MAX_NAME_LENGTH])
def test_good_names(name):
    assert name_problem(name) is None
    check_name(name)

"""store.secrets and `--secret` parsing: names, ids, the data file, and podman's flag rules."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from pod.container.flags import parse_secret
from pod.container.options import SecretRequest
from pod.container.secret_files import spec_mounts, with_environment
from pod.errors import NoSuchSecretError, PodError, UsageError
from pod.store.layout import Layout
from pod.store.secrets import SecretStore, check_name


@pytest.fixture
def store(tmp_path) -> SecretStore:
    return SecretStore(Layout(tmp_path / "root", tmp_path / "run"))


def test_create_lookup_read_remove(store):
    record = store.create("db-pass", b"s3cr3t", {"a": "b"})
    assert len(record.id) == 25 and record.labels == {"a": "b"}
    data = store.data_file(record)
    assert data == store.layout.secrets_data_dir / record.id
    assert stat.S_IMODE(data.stat().st_mode) == 0o600
    assert b"s3cr3t" not in store.layout.secrets_file.read_bytes()
    for text in ("db-pass", record.id, record.id[:5]):
        assert store.lookup(text) == record
    assert store.read(record) == b"s3cr3t"
    with pytest.raises(PodError, match="db-pass: secret name in use"):
        store.create("db-pass", b"x")
    assert store.remove("db-pass") == record
    assert not data.exists() and store.list() == []
    with pytest.raises(NoSuchSecretError, match='no secret with name or id "db-pass"'):
        store.lookup("db-pass")


@pytest.mark.parametrize("name", ["a", "a.b_c-d", "A1", "x" * 64])
def test_good_names(name):
    assert check_name(name) == name


@pytest.mark.parametrize("name", ["", "-a", "a-", ".a", "a/b", "../x", "a b", "x" * 65, "é"])
def test_bad_names(name):
    with pytest.raises(PodError, match="invalid secret name"):
        check_name(name)


@pytest.mark.parametrize("size", [0, 512000])
def test_data_size_limits(store, size):
    with pytest.raises(PodError, match="larger than 0 and less than 512000 bytes"):
        store.create("s", b"x" * size)


@pytest.mark.parametrize(
    ("text", "request_"),
    [
        ("s", SecretRequest("s")),
        ("s,type=env", SecretRequest("s", "env")),
        ("s,type=env,target=FOO", SecretRequest("s", "env", "FOO")),
        ("source=s,target=/etc/k,uid=5,GID=6,mode=0400",
         SecretRequest("s", "mount", "/etc/k", 5, 6, 0o400)),
    ],
)  # fmt: skip
def test_parse_secret(text, request_):
    assert parse_secret(text) == request_


def test_where_secrets_go():
    assert SecretRequest("s").destination == "/run/secrets/s"
    assert SecretRequest("s", target="k").destination == "/run/secrets/k"
    assert SecretRequest("s", target="/etc/k").destination == "/etc/k"
    assert SecretRequest("s", "env").variable == "s"
    entries = [{"name": "s", "type": "mount", "target": "/run/secrets/s"},
               {"name": "s", "type": "env", "target": "S"}]  # fmt: skip
    assert spec_mounts(Path("/c"), entries) == [
        {"type": "bind", "destination": "/run/secrets/s", "source": "/c/secrets/0-s",
         "options": ["ro", "nosuid", "nodev", "noexec"]},
    ]  # fmt: skip
    assert with_environment(["A=1", "S=old"], ["S=new"]) == ["A=1", "S=new"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("s,type=bogus", "type bogus is invalid"),
        ("s,type=env,type=mount", "cannot set more than one secret type"),
        ("s,bogus=1", "option bogus=1 invalid"),
        ("s,novalue", "option novalue must be in form option=value"),
        ("s,type=env,mode=0400", "UID, GID, Mode options cannot be set with secret type env"),
        ("s,uid=-1", "UID -1 invalid"),
        ("s,mode=9", "mode 9 invalid"),
        ("type=env", "no source found type=env"),
    ],
)
def test_parse_secret_refuses(text, message):
    with pytest.raises(UsageError, match=message):
        parse_secret(text)

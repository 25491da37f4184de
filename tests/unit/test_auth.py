"""Auth files as podman keeps them: lookup order, per-repository keys, modes, logout, helpers."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from pod.errors import PodError
from pod.image import auth
from pod.image.auth import Credentials


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """A rootless user's environment entirely under tmp_path."""
    home = tmp_path / "home"
    run = tmp_path / "run"
    home.mkdir()
    run.mkdir(mode=0o700)
    for var in ("REGISTRY_AUTH_FILE", "DOCKER_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(run))
    monkeypatch.setattr(auth, "is_rootless", lambda: True)
    return {
        "home": home,
        "runtime": run / "containers" / "auth.json",
        "config": home / ".config" / "containers" / "auth.json",
        "docker": home / ".docker" / "config.json",
        "legacy": home / ".dockercfg",
    }


def encoded(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def write_auths(path: Path, auths: dict[str, tuple[str, str]], **extra: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    doc: dict = {"auths": {key: {"auth": encoded(*pair)} for key, pair in auths.items()}}
    doc.update(extra)
    path.write_text(json.dumps(doc))
    return path


def test_read_order(env: dict[str, Path]) -> None:
    write_auths(env["docker"], {"r.io": ("docker", "d")})
    assert auth.find_credentials("r.io") == Credentials("docker", "d")
    write_auths(env["config"], {"r.io": ("config", "c")})
    assert auth.find_credentials("r.io") == Credentials("config", "c")
    write_auths(env["runtime"], {"r.io": ("runtime", "r")})
    assert auth.find_credentials("r.io") == Credentials("runtime", "r")
    assert auth.find_credentials("other.io") is None


def test_docker_config_env_and_legacy_file(env: dict[str, Path], monkeypatch, tmp_path) -> None:
    env["legacy"].write_text(json.dumps({"https://old.io": {"auth": encoded("old", "o")}}))
    assert auth.find_credentials("old.io") == Credentials("old", "o")
    docker_dir = tmp_path / "dockercfg"
    write_auths(docker_dir / "config.json", {"old.io": ("new", "n")})
    monkeypatch.setenv("DOCKER_CONFIG", str(docker_dir))
    assert auth.find_credentials("old.io") == Credentials("new", "n")


def test_registry_auth_file_and_authfile_are_read_alone(env, monkeypatch, tmp_path) -> None:
    write_auths(env["runtime"], {"r.io": ("runtime", "r"), "only.io": ("x", "y")})
    chosen = write_auths(tmp_path / "chosen.json", {"r.io": ("chosen", "c")})
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(chosen))
    assert auth.find_credentials("r.io") == Credentials("chosen", "c")
    assert auth.find_credentials("only.io") is None
    flag = write_auths(tmp_path / "flag.json", {"r.io": ("flag", "f")})
    assert auth.find_credentials("r.io", authfile=flag) == Credentials("flag", "f")


def test_longest_prefix_match(env: dict[str, Path]) -> None:
    write_auths(
        env["runtime"],
        {
            "quay.io": ("host", "h"),
            "quay.io/team": ("team", "t"),
            "quay.io/team/app": ("app", "a"),
        },
    )
    assert auth.find_credentials("quay.io", "team/app").username == "app"
    assert auth.find_credentials("quay.io", "quay.io/team/app").username == "app"
    assert auth.find_credentials("quay.io", "team/other").username == "team"
    assert auth.find_credentials("quay.io", "teamx/app").username == "host"
    assert auth.find_credentials("quay.io").username == "host"


def test_docker_hub_keys_are_normalized(env: dict[str, Path]) -> None:
    write_auths(env["docker"], {"https://index.docker.io/v1/": ("hub", "h")})
    assert auth.find_credentials("docker.io", "library/busybox") == Credentials("hub", "h")


def test_identity_token(env: dict[str, Path]) -> None:
    env["runtime"].parent.mkdir(parents=True)
    env["runtime"].write_text(json.dumps({"auths": {"t.io": {"identitytoken": "refresh-me"}}}))
    assert auth.find_credentials("t.io") == Credentials(identity_token="refresh-me")


def test_store_writes_private_file_and_keeps_others(env: dict[str, Path]) -> None:
    write_auths(env["runtime"], {"keep.io": ("k", "k")}, credHelpers={"x.io": "none"})
    path = auth.store_credentials("new.io", Credentials("user", "p:ss"))
    assert path == env["runtime"]
    doc = json.loads(path.read_text())
    assert doc["auths"]["new.io"] == {"auth": encoded("user", "p:ss")}
    assert doc["auths"]["keep.io"] == {"auth": encoded("k", "k")}
    assert doc["credHelpers"] == {"x.io": "none"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert auth.find_credentials("new.io") == Credentials("user", "p:ss")
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".auth.json.")] in (
        [],
        [".auth.json.lock"],
    )


def test_store_creates_private_directories(env: dict[str, Path]) -> None:
    path = auth.store_credentials("new.io", Credentials("u", "p"))
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_store_without_runtime_dir_uses_config_home(env, monkeypatch) -> None:
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    assert auth.default_auth_file() == env["config"]
    assert auth.store_credentials("a.io", Credentials("u", "p")) == env["config"]


def test_rootful_default_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REGISTRY_AUTH_FILE", raising=False)
    monkeypatch.setattr(auth, "is_rootless", lambda: False)
    assert auth.default_auth_file() == Path("/run/containers/0/auth.json")
    assert auth.auth_files()[0].path == Path("/run/containers/0/auth.json")


def test_store_honours_registry_auth_file(env, monkeypatch, tmp_path) -> None:
    target = tmp_path / "elsewhere" / "auth.json"
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(target))
    assert auth.store_credentials("a.io", Credentials("u", "p")) == target
    assert not env["runtime"].exists()


def test_store_replaces_scheme_spelled_key(env: dict[str, Path]) -> None:
    write_auths(env["runtime"], {"https://a.io": ("old", "o")})
    auth.store_credentials("a.io", Credentials("new", "n"))
    assert list(json.loads(env["runtime"].read_text())["auths"]) == ["a.io"]


def test_remove_credentials(env: dict[str, Path]) -> None:
    assert auth.remove_credentials("a.io") is False
    assert not env["runtime"].exists(), "logout must not create files"
    auth.store_credentials("a.io", Credentials("u", "p"))
    auth.store_credentials("b.io", Credentials("v", "q"))
    assert auth.remove_credentials("a.io") is True
    assert auth.remove_credentials("a.io") is False
    assert auth.find_credentials("a.io") is None
    assert auth.find_credentials("b.io") == Credentials("v", "q")


def test_remove_all_leaves_no_entries(env: dict[str, Path]) -> None:
    auth.store_credentials("a.io", Credentials("u", "p"))
    auth.store_credentials("b.io/team", Credentials("v", "q"))
    auth.remove_all()
    doc = json.loads(env["runtime"].read_text())
    assert doc["auths"] == {}
    assert "a.io" not in env["runtime"].read_text()
    assert auth.find_credentials("b.io", "team/x") is None
    auth.remove_all()


def test_get_login(env: dict[str, Path]) -> None:
    assert auth.get_login("a.io") is None
    auth.store_credentials("a.io", Credentials("someone", "secret"))
    assert auth.get_login("a.io") == "someone"


def test_invalid_files_are_clear_errors(env: dict[str, Path]) -> None:
    env["runtime"].parent.mkdir(parents=True)
    env["runtime"].write_text("{not json")
    with pytest.raises(PodError, match="reading auth file"):
        auth.find_credentials("a.io")
    env["runtime"].write_text(json.dumps({"auths": {"a.io": {"auth": "bm9jb2xvbg=="}}}))
    with pytest.raises(PodError, match="user:password"):
        auth.find_credentials("a.io")


def test_credentials_repr_hides_the_password() -> None:
    assert "hunter2" not in repr(Credentials("me", "hunter2"))


HELPER = """#!/bin/sh
# A docker-credential helper for tests: knows one server, logs store/erase calls.
action="$1"
input=$(cat)
echo "$action $input" >> "{log}"
case "$action" in
get)
    if [ "$input" = "helped.io" ]; then
        echo '{{"ServerURL":"helped.io","Username":"helper-user","Secret":"helper-pass"}}'
    elif [ "$input" = "token.io" ]; then
        echo '{{"ServerURL":"token.io","Username":"<token>","Secret":"id-token"}}'
    else
        echo "credentials not found in native keychain"; exit 1
    fi ;;
store|erase) ;;
esac
"""


@pytest.fixture
def helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "helper.log"
    script = bin_dir / "docker-credential-podtest"
    script.write_text(HELPER.format(log=log))
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    return log


def test_cred_helpers(env: dict[str, Path], helper: Path) -> None:
    env["docker"].parent.mkdir(parents=True)
    env["docker"].write_text(
        json.dumps({"credHelpers": {"helped.io": "podtest", "token.io": "podtest"}})
    )
    assert auth.find_credentials("helped.io") == Credentials("helper-user", "helper-pass")
    assert auth.find_credentials("token.io") == Credentials(identity_token="id-token")
    assert "get helped.io" in helper.read_text()


def test_creds_store_and_missing_helper(env: dict[str, Path], helper: Path) -> None:
    env["docker"].parent.mkdir(parents=True)
    env["docker"].write_text(json.dumps({"credsStore": "podtest"}))
    assert auth.find_credentials("helped.io") == Credentials("helper-user", "helper-pass")
    assert auth.find_credentials("unknown.io") is None
    env["docker"].write_text(json.dumps({"credsStore": "not-installed"}))
    assert auth.find_credentials("helped.io") is None


def test_store_and_remove_through_helper(env: dict[str, Path], helper: Path) -> None:
    write_auths(env["runtime"], {}, credHelpers={"helped.io": "podtest"})
    auth.store_credentials("helped.io", Credentials("u", "p"))
    stored = [line for line in helper.read_text().splitlines() if line.startswith("store ")]
    assert json.loads(stored[-1][6:]) == {"ServerURL": "helped.io", "Username": "u", "Secret": "p"}
    assert json.loads(env["runtime"].read_text())["auths"] == {}
    assert auth.remove_credentials("helped.io") is True
    assert "erase helped.io" in helper.read_text()
    auth.remove_all()
    assert helper.read_text().count("erase helped.io") == 2

"""Registry credentials in podman's auth files (login, logout, and lookup for pull/push).

The same files and order as podman (containers/image), so `podman login` and `docker login` carry
over. Standard library only: `pod login --get-login` and the credential lookup must stay cheap.

Read order: `--authfile` or REGISTRY_AUTH_FILE alone (as podman, which treats the variable as the
default of --authfile); otherwise $XDG_RUNTIME_DIR/containers/auth.json (rootful:
/run/containers/0/auth.json), $XDG_CONFIG_HOME/containers/auth.json, $DOCKER_CONFIG/config.json or
~/.docker/config.json, then the legacy ~/.dockercfg. Writes go to the first of those podman writes.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pod.config import config_home, home, is_rootless, runtime_dir
from pod.errors import PodError
from pod.store.lock import atomic_write, locked
from pod.util.records import dataclass

DOCKER_HOSTS = ("docker.io", "index.docker.io", "registry-1.docker.io")
HELPER_TIMEOUT = 30


@dataclass(frozen=True)
class Credentials:
    """A user name and password, or an OAuth2 identity (refresh) token."""

    username: str = ""
    password: str = ""
    identity_token: str = ""

    def __repr__(self) -> str:
        """Never print a secret, even in a debug log."""
        return f"Credentials(username={self.username!r}, password=***)"


@dataclass(frozen=True)
class AuthFile:
    """One file in the lookup order; legacy ~/.dockercfg has no `auths` wrapper."""

    path: Path
    legacy: bool = False


def default_auth_file() -> Path:
    """Where `login` writes: REGISTRY_AUTH_FILE, else the runtime dir, else the config dir."""
    env = os.environ.get("REGISTRY_AUTH_FILE")
    if env:
        return Path(env)
    if not is_rootless():
        return Path("/run/containers/0/auth.json")
    run = runtime_dir()
    if run is not None:
        return run / "containers" / "auth.json"
    return config_home() / "containers" / "auth.json"


def auth_files(authfile: str | Path | None = None) -> list[AuthFile]:
    """The files searched for credentials, highest priority first."""
    chosen = authfile or os.environ.get("REGISTRY_AUTH_FILE")
    if chosen:
        return [AuthFile(Path(chosen))]
    files: list[AuthFile] = []
    run = runtime_dir()
    if not is_rootless():
        files.append(AuthFile(Path("/run/containers/0/auth.json")))
    elif run is not None:
        files.append(AuthFile(run / "containers" / "auth.json"))
    files.append(AuthFile(config_home() / "containers" / "auth.json"))
    docker_config = os.environ.get("DOCKER_CONFIG")
    docker_dir = Path(docker_config) if docker_config else home() / ".docker"
    files.append(AuthFile(docker_dir / "config.json"))
    files.append(AuthFile(home() / ".dockercfg", legacy=True))
    return files


def normalize_key(key: str) -> str:
    """Auth-file keys as containers/image reads them: no scheme, docker hub spelled docker.io.

    Keys written with a scheme (docker's `https://index.docker.io/v1/`) only name a host.
    """
    for scheme in ("https://", "http://"):
        if key.startswith(scheme):
            key = key[len(scheme) :].split("/", 1)[0]
            break
    host, sep, rest = key.partition("/")
    if host in DOCKER_HOSTS:
        host = "docker.io"
    return f"{host}{sep}{rest}".rstrip("/")


def _candidate_keys(host: str, repository: str | None) -> list[str]:
    """`host/ns/repo`, `host/ns`, `host`: the longest prefix wins, as podman's per-repo logins."""
    host = normalize_key(host)
    if repository and repository.startswith(host + "/"):
        repository = repository[len(host) + 1 :]
    parts = [host] + (repository.split("/") if repository else [])
    return ["/".join(parts[:n]) for n in range(len(parts), 0, -1)]


def _load(path: Path, legacy: bool = False) -> dict[str, Any]:
    try:
        data = json.loads(path.read_bytes() or b"{}")
    except FileNotFoundError:
        return {}
    except PermissionError:
        return {}
    except (OSError, ValueError) as err:
        raise PodError(f"reading auth file {path}: {err}") from None
    if not isinstance(data, dict):
        raise PodError(f"reading auth file {path}: not a JSON object")
    if legacy:
        return {"auths": data}
    return data


def _auths(data: dict[str, Any]) -> dict[str, Any]:
    auths = data.get("auths")
    return auths if isinstance(auths, dict) else {}


def _decode(entry: Any, path: Path) -> Credentials | None:
    """An `auths` entry: base64 `user:password` and/or an identity token."""
    if not isinstance(entry, dict):
        return None
    token = entry.get("identitytoken") or ""
    encoded = entry.get("auth") or ""
    if not encoded:
        return Credentials(identity_token=token) if token else None
    try:
        user, sep, password = base64.b64decode(encoded, validate=False).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise PodError(f"reading auth file {path}: invalid base64 credentials") from None
    if not sep:
        raise PodError(f"reading auth file {path}: credentials are not user:password")
    return Credentials(user, password, token)


def _encode(creds: Credentials) -> dict[str, str]:
    entry: dict[str, str] = {}
    if creds.username or creds.password:
        entry["auth"] = base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()
    if creds.identity_token:
        entry["identitytoken"] = creds.identity_token
    return entry


def _helper(name: str, action: str, payload: str) -> subprocess.CompletedProcess[bytes] | None:
    """Run `docker-credential-<name> <action>`; None when the helper is not installed."""
    try:
        return subprocess.run(
            [f"docker-credential-{name}", action],
            input=payload.encode(),
            capture_output=True,
            timeout=HELPER_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        return None
    except (OSError, subprocess.TimeoutExpired) as err:
        raise PodError(f"credential helper docker-credential-{name}: {err}") from None


def helper_get(name: str, server: str) -> Credentials | None:
    """Ask a credential helper; its "not found" answer (non-zero exit) means no credentials."""
    proc = _helper(name, "get", server)
    if proc is None or proc.returncode != 0:
        return None
    try:
        reply = json.loads(proc.stdout)
    except ValueError:
        raise PodError(f"credential helper docker-credential-{name}: invalid reply") from None
    user, secret = reply.get("Username", ""), reply.get("Secret", "")
    if not secret:
        return None
    if user == "<token>":
        return Credentials(identity_token=secret)
    return Credentials(user, secret)


def _helper_store(name: str, server: str, creds: Credentials) -> None:
    user, secret = (
        ("<token>", creds.identity_token)
        if creds.identity_token
        else (creds.username, creds.password)
    )
    payload = json.dumps({"ServerURL": server, "Username": user, "Secret": secret})
    proc = _helper(name, "store", payload)
    if proc is None:
        raise PodError(f"credential helper docker-credential-{name} is not in PATH")
    if proc.returncode != 0:
        why = (proc.stderr or proc.stdout).decode(errors="replace").strip()
        raise PodError(f"storing credentials with docker-credential-{name}: {why}")


def _helper_erase(name: str, server: str) -> bool:
    proc = _helper(name, "erase", server)
    return proc is not None and proc.returncode == 0


def _helper_server(host: str) -> str:
    """Docker stores Docker Hub credentials in helpers under its legacy index URL."""
    return "https://index.docker.io/v1/" if host == "docker.io" else host


def _in_file(data: dict[str, Any], path: Path, keys: list[str]) -> Credentials | None:
    """One file: a per-registry helper, then inline `auths` (longest prefix), then credsStore."""
    host = keys[-1]
    for key, name in _helpers(data).items():
        if normalize_key(key) == host:
            return helper_get(name, key)
    entries = {normalize_key(k): v for k, v in _auths(data).items()}
    for key in keys:
        if key in entries:
            creds = _decode(entries[key], path)
            if creds is not None:
                return creds
    store = data.get("credsStore")
    if isinstance(store, str) and store:
        return helper_get(store, _helper_server(host))
    return None


def _helpers(data: dict[str, Any]) -> dict[str, str]:
    helpers = data.get("credHelpers")
    return helpers if isinstance(helpers, dict) else {}


def find_credentials(
    host: str, repository: str | None = None, authfile: str | Path | None = None
) -> Credentials | None:
    """Credentials for `host` (and optionally `repository` under it), first file that has them."""
    keys = _candidate_keys(host, repository)
    for auth in auth_files(authfile):
        data = _load(auth.path, auth.legacy)
        if data:
            creds = _in_file(data, auth.path, keys)
            if creds is not None:
                return creds
    return None


def get_login(host: str, authfile: str | Path | None = None) -> str | None:
    """The user name `login --get-login` prints; None when not logged in."""
    creds = find_credentials(host, authfile=authfile)
    if creds is None:
        return None
    return creds.username or "<token>"


@contextlib.contextmanager
def _editing(authfile: str | Path | None) -> Iterator[tuple[Path, dict[str, Any]]]:
    """Read-modify-write the target auth file under its lock; written back 0600 in a 0700 dir."""
    path = Path(authfile) if authfile else default_auth_file()
    _make_private_dir(path.parent)
    with locked(path.with_name(f".{path.name}.lock")):
        data = _load(path)
        before = json.dumps(data, sort_keys=True)
        yield path, data
        if json.dumps(data, sort_keys=True) != before:
            text = json.dumps(data, indent="\t") + "\n"
            atomic_write(path, text.encode(), mode=0o600)


def _make_private_dir(directory: Path) -> None:
    """Create missing directories 0700 (an existing directory's mode is the user's choice)."""
    if directory.is_dir():
        return
    _make_private_dir(directory.parent)
    with contextlib.suppress(FileExistsError):
        directory.mkdir(mode=0o700)


def store_credentials(host: str, creds: Credentials, authfile: str | Path | None = None) -> Path:
    """Save credentials for `host` (or `host/namespace`), keeping every other entry."""
    key = normalize_key(host)
    with _editing(authfile) as (path, data):
        helpers = _helpers(data)
        if key in helpers:
            _helper_store(helpers[key], key, creds)
            return path
        auths = data.setdefault("auths", {})
        if not isinstance(auths, dict):
            raise PodError(f"reading auth file {path}: auths is not a JSON object")
        for existing in [k for k in auths if k != key and normalize_key(k) == key]:
            del auths[existing]
        auths[key] = _encode(creds)
    return path


def remove_credentials(host: str, authfile: str | Path | None = None) -> bool:
    """Forget `host` in the file `login` writes; True when there was something to remove."""
    key = normalize_key(host)
    path = Path(authfile) if authfile else default_auth_file()
    if not path.exists():
        return False
    removed = False
    with _editing(path) as (_, data):
        helpers = _helpers(data)
        if key in helpers:
            removed = _helper_erase(helpers[key], key)
        auths = _auths(data)
        for existing in [k for k in auths if normalize_key(k) == key]:
            del auths[existing]
            removed = True
    return removed


def remove_all(authfile: str | Path | None = None) -> None:
    """`logout --all`: drop every entry (and erase per-registry helper entries)."""
    path = Path(authfile) if authfile else default_auth_file()
    if not path.exists():
        return
    with _editing(path) as (_, data):
        for server, name in _helpers(data).items():
            _helper_erase(name, server)
        data["auths"] = {}

"""pod.image.registry against real registries (Debian's docker-registry) and small fake servers.

Each defect of oras 0.2.43 that RegistryClient replaces has a test here that would catch it:
tokens per scope, no credentials on cross-host redirects, bounded retries with timeouts, digest and
size checks while streaming (with Range resume), exact manifest bytes, streamed uploads.

The registries are started by this module (plain http, TLS + htpasswd, token auth with a token
server written below); no fixture from conftest.py is used.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import ctypes.util
import hashlib
import http.server
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from pod.errors import (
    AuthenticationError,
    DigestMismatchError,
    ManifestUnknownError,
    RegistryError,
    UnsafeContentError,
)
from pod.image.auth import Credentials
from pod.image.registry import RegistryClient, parse_challenges, scope_params

REGISTRY_BINARY = shutil.which("docker-registry") or "/usr/bin/docker-registry"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
USER, PASSWORD = "alice", "wonderland"

pytestmark = pytest.mark.needs_tool("docker-registry", "openssl")


# --- helpers: ports, blobs, certificates, htpasswd ---------------------------------------------


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen | None = None, timeout: float = 15) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"registry exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def blob_file(directory: Path, data: bytes) -> tuple[Path, str]:
    path = directory / f"blob-{uuid.uuid4().hex}"
    path.write_bytes(data)
    return path, sha256(data)


def openssl(*args: str, data: bytes | None = None) -> bytes:
    return subprocess.run(["openssl", *args], input=data, capture_output=True, check=True).stdout


def _self_signed(key: Path, crt: Path, subject: str) -> None:
    openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(crt),
        "-subj", subject, "-days", "2",
    )  # fmt: skip


def make_tls_files(directory: Path) -> tuple[Path, Path, Path]:
    """(ca.crt, server.crt, server.key): a CA and a 127.0.0.1/localhost certificate it signed."""
    ca_key, ca_crt = directory / "ca.key", directory / "ca.crt"
    key, csr, crt = directory / "server.key", directory / "server.csr", directory / "server.crt"
    ext = directory / "ext.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _self_signed(ca_key, ca_crt, "/CN=pod-test-ca")
    openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr),
        "-subj", "/CN=127.0.0.1",
    )  # fmt: skip
    openssl(
        "x509", "-req", "-in", str(csr), "-CA", str(ca_crt), "-CAkey", str(ca_key),
        "-CAcreateserial", "-out", str(crt), "-days", "2", "-extfile", str(ext),
    )  # fmt: skip
    return ca_crt, crt, key


def bcrypt_hash(password: str) -> str:
    """htpasswd wants bcrypt; libcrypt (libxcrypt) makes it without a Python dependency."""
    lib = ctypes.CDLL(ctypes.util.find_library("crypt") or "libcrypt.so.1")
    lib.crypt_gensalt.restype = ctypes.c_char_p
    lib.crypt_gensalt.argtypes = [ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p, ctypes.c_int]
    lib.crypt.restype = ctypes.c_char_p
    lib.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    salt = lib.crypt_gensalt(b"$2b$", 4, None, 0)
    return lib.crypt(password.encode(), salt).decode()


# --- helpers: docker-registry ----------------------------------------------------------------


@dataclass
class Registry:
    """A running docker-registry; `host` is what a RegistryClient is given."""

    proc: subprocess.Popen
    port: int
    workdir: Path

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def start_registry(
    workdir: Path, extra: str = "", tls: tuple[Path, Path] | None = None
) -> Registry:
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    http_tls = f"  tls:\n    certificate: {tls[0]}\n    key: {tls[1]}\n" if tls else ""
    config = workdir / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: error\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {workdir / 'data'}\n"
        "  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n  secret: pod-test-secret\n{http_tls}"
        f"{extra}"
    )
    log = open(workdir / "registry.log", "wb")  # noqa: SIM115 - lives as long as the process
    proc = subprocess.Popen([REGISTRY_BINARY, "serve", str(config)], stdout=log, stderr=log)
    log.close()
    wait_for_port(port, proc)
    return Registry(proc, port, workdir)


# --- helpers: a token server for `auth: token` -----------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class TokenServer:
    """Issues RS256 JWTs (signed with `openssl dgst`) granting exactly the requested scopes.

    alice gets everything she asks for; anonymous callers get pull on public/* only; a wrong
    password gets 401. Every request is recorded as (user, [scopes]).
    """

    key: Path
    cert_der: bytes
    issuer: str = "pod-test-issuer"
    service: str = "pod-test-registry"
    field_name: str = "token"
    requests: list[tuple[str, list[str]]] = field(default_factory=list)
    port: int = 0
    server: http.server.ThreadingHTTPServer | None = None

    def token(self, user: str, scopes: list[str]) -> str:
        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            granted = actions.split(",") if user == USER else []
            if not user and name.startswith("public/"):
                granted = [a for a in actions.split(",") if a == "pull"]
            access.append({"type": kind, "name": name, "actions": granted})
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(self.cert_der).decode()]}
        claims = {
            "iss": self.issuer,
            "sub": user,
            "aud": self.service,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        signing_input = (
            f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
        )
        signature = openssl("dgst", "-sha256", "-sign", str(self.key), data=signing_input.encode())
        return f"{signing_input}.{b64url(signature)}"

    def handle(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        query = parse_qs(urlsplit(handler.path).query)
        user = ""
        header = handler.headers.get("Authorization", "")
        if header.startswith("Basic "):
            name, _, password = base64.b64decode(header[6:]).decode().partition(":")
            if (name, password) != (USER, PASSWORD):
                reply(handler, 401, b'{"errors":[{"code":"UNAUTHORIZED","message":"bad"}]}')
                return
            user = name
        scopes = query.get("scope", [])
        self.requests.append((user, scopes))
        body = {self.field_name: self.token(user, scopes), "expires_in": 300}
        reply(handler, 200, json.dumps(body).encode(), {"Content-Type": "application/json"})


@dataclass
class TokenRegistry:
    registry: Registry
    tokens: TokenServer


def start_token_registry(workdir: Path) -> tuple[TokenRegistry, FakeServer]:
    workdir.mkdir(parents=True, exist_ok=True)
    key, crt = workdir / "token.key", workdir / "token.crt"
    _self_signed(key, crt, "/CN=pod-test-token-issuer")
    der = openssl("x509", "-in", str(crt), "-outform", "DER")
    tokens = TokenServer(key, der)
    server = FakeServer(lambda h: tokens.handle(h))
    extra = (
        "auth:\n  token:\n"
        f"    realm: {server.url}/token\n"
        f"    service: {tokens.service}\n"
        f"    issuer: {tokens.issuer}\n"
        f"    rootcertbundle: {crt}\n"
    )
    return TokenRegistry(start_registry(workdir / "registry", extra), tokens), server


# --- helpers: fake HTTP servers --------------------------------------------------------------


def reply(
    handler: http.server.BaseHTTPRequestHandler,
    status: int,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> None:
    handler.send_response(status)
    headers = dict(headers or {})
    headers.setdefault("Content-Length", str(len(body)))
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.end_headers()
    if handler.command != "HEAD" and body:
        with contextlib.suppress(OSError):
            handler.wfile.write(body)


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class FakeServer:
    """A threaded HTTP server calling `app(handler)` for every request, recording each one."""

    def __init__(self, app: Callable[[http.server.BaseHTTPRequestHandler], None], host="127.0.0.1"):
        self.app = app
        self.seen: list[Seen] = []
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fake.seen.append(Seen(self.command, self.path, dict(self.headers), body))
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    fake.app(self)

            do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _any

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False

            def handle_error(self, request: object, client_address: object) -> None:
                pass

        self.server = Server((host, 0), Handler)
        self.host = f"{host}:{self.server.server_address[1]}"
        self.url = f"http://{self.host}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def requests_to(self, fragment: str) -> list[Seen]:
        return [s for s in self.seen if fragment in s.path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextlib.contextmanager
def fake_server(app: Callable, host: str = "127.0.0.1") -> Iterator[FakeServer]:
    server = FakeServer(app, host)
    try:
        yield server
    finally:
        server.close()


def fake_registry(routes: dict[str, Callable], require_basic: bool = False) -> Callable:
    """An app mimicking /v2/: `routes` maps a path prefix to a handler function."""

    def app(handler: http.server.BaseHTTPRequestHandler) -> None:
        authorized = handler.headers.get("Authorization", "").startswith("Basic ")
        if require_basic and not authorized:
            reply(handler, 401, b"{}", {"WWW-Authenticate": 'Basic realm="fake"'})
            return
        path = urlsplit(handler.path).path
        if path == "/v2/":
            reply(handler, 200, b"{}")
            return
        for prefix, route in routes.items():
            if path.startswith(prefix):
                route(handler)
                return
        reply(handler, 404, b'{"errors":[{"code":"NOT_FOUND","message":"no route"}]}')

    return app


def fake_client(server: FakeServer, **kwargs: object) -> RegistryClient:
    return RegistryClient(server.host, insecure=True, cert_dirs=[], **kwargs)  # type: ignore[arg-type]


def image_manifest(config: tuple[str, int], layers: list[tuple[str, int]]) -> bytes:
    """An OCI manifest with unusual formatting: the bytes must survive exactly."""
    doc = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config[0], "size": config[1]},
        "layers": [{"mediaType": OCI_LAYER, "digest": d, "size": s} for d, s in layers],
        "annotations": {"z.last": "1", "a.first": "2"},
    }
    return json.dumps(doc, indent=7).encode() + b"\n\n"


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("transport")


@pytest.fixture(scope="module")
def plain_reg(workdir: Path) -> Iterator[Registry]:
    registry = start_registry(workdir / "plain")
    yield registry
    registry.stop()


@pytest.fixture(scope="module")
def tls_reg(workdir: Path) -> Iterator[tuple[Registry, Path]]:
    """TLS with a private CA + htpasswd; yields the registry and a certs.d root holding its CA."""
    directory = workdir / "tls"
    directory.mkdir()
    ca, crt, key = make_tls_files(directory)
    htpasswd = directory / "htpasswd"
    htpasswd.write_text(f"{USER}:{bcrypt_hash(PASSWORD)}\n")
    extra = f"auth:\n  htpasswd:\n    realm: pod-test\n    path: {htpasswd}\n"
    registry = start_registry(directory / "registry", extra, tls=(crt, key))
    certs_d = directory / "certs.d"
    (certs_d / registry.host).mkdir(parents=True)
    shutil.copy(ca, certs_d / registry.host / "ca.crt")
    yield registry, certs_d
    registry.stop()


@pytest.fixture(scope="module")
def token_reg(workdir: Path) -> Iterator[TokenRegistry]:
    token_registry, server = start_token_registry(workdir / "token")
    yield token_registry
    token_registry.registry.stop()
    server.close()


@pytest.fixture
def plain(plain_reg: Registry) -> RegistryClient:
    return RegistryClient(plain_reg.host, insecure=True, cert_dirs=[])


def push_image(client: RegistryClient, repository: str, tmp: Path, tag: str = "v1") -> dict:
    """Push a config and one layer plus a manifest; returns what was pushed."""
    layer, config = os.urandom(300_000), b'{"architecture":"amd64","os":"linux"}'
    layer_path, layer_digest = blob_file(tmp, layer)
    config_path, config_digest = blob_file(tmp, config)
    client.push_blob(repository, layer_digest, len(layer), layer_path)
    client.push_blob(repository, config_digest, len(config), config_path)
    manifest = image_manifest((config_digest, len(config)), [(layer_digest, len(layer))])
    digest = client.put_manifest(repository, tag, manifest, OCI_MANIFEST)
    return {"layer": layer, "layer_digest": layer_digest, "manifest": manifest, "digest": digest}


# --- real registry: round trips --------------------------------------------------------------


def test_round_trip_keeps_exact_manifest_bytes(plain: RegistryClient, tmp_path: Path) -> None:
    pushed = push_image(plain, "round/trip", tmp_path)
    assert pushed["digest"] == sha256(pushed["manifest"])
    data, media_type, digest = plain.get_manifest("round/trip", "v1", [OCI_MANIFEST])
    assert (data, media_type, digest) == (pushed["manifest"], OCI_MANIFEST, pushed["digest"])
    by_digest = plain.get_manifest("round/trip", pushed["digest"], [OCI_MANIFEST])
    assert by_digest == (pushed["manifest"], OCI_MANIFEST, pushed["digest"])
    dest = tmp_path / "layer"
    plain.fetch_blob("round/trip", pushed["layer_digest"], len(pushed["layer"]), dest)
    assert dest.read_bytes() == pushed["layer"]
    assert plain.list_tags("round/trip") == ["v1"]


def test_put_manifest_keeps_media_type(plain: RegistryClient, tmp_path: Path) -> None:
    pushed = push_image(plain, "media/type", tmp_path)
    size = len(pushed["manifest"])
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [{"mediaType": OCI_MANIFEST, "digest": pushed["digest"], "size": size}],
        },
        separators=(",", ":"),
    ).encode()
    digest = plain.put_manifest("media/type", "multi", index, OCI_INDEX)
    assert plain.get_manifest("media/type", "multi", [OCI_INDEX, OCI_MANIFEST]) == (
        index,
        OCI_INDEX,
        digest,
    )


def test_push_blob_skips_existing_and_mounts(plain: RegistryClient, tmp_path: Path) -> None:
    path, digest = blob_file(tmp_path, os.urandom(1000))
    assert plain.push_blob("mount/source", digest, 1000, path) is True
    assert plain.push_blob("mount/source", digest, 1000, path) is False
    assert plain.blob_exists("mount/target", digest) is False
    assert plain.mount_blob("mount/target", digest, "mount/source") is True
    assert plain.blob_exists("mount/target", digest) is True
    missing = sha256(b"not pushed anywhere")
    assert plain.mount_blob("mount/other", missing, "mount/source") is False


def test_push_blob_streams_the_file(plain: RegistryClient, tmp_path: Path) -> None:
    """oras' monolithic upload reads the whole blob into memory; ours keeps memory flat."""
    size = 48 * 1024 * 1024
    path = tmp_path / "big"
    with open(path, "wb") as handle:
        for _ in range(size // (1024 * 1024)):
            handle.write(os.urandom(1024 * 1024))
    hasher = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            hasher.update(chunk)
    digest = "sha256:" + hasher.hexdigest()
    seen: list[int] = []
    tracemalloc.start()
    try:
        assert plain.push_blob("stream/up", digest, size, path, progress=seen.append)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 12 * 1024 * 1024
    assert sum(seen) == size
    assert plain.blob_exists("stream/up", digest)


def test_resume_from_partial_file(plain: RegistryClient, tmp_path: Path) -> None:
    data = os.urandom(2_000_000)
    path, digest = blob_file(tmp_path, data)
    plain.push_blob("resume/me", digest, len(data), path)
    dest = tmp_path / "partial"
    dest.write_bytes(data[:700_000])
    reported: list[int] = []
    plain.fetch_blob("resume/me", digest, len(data), dest, progress=reported.append)
    assert dest.read_bytes() == data
    assert reported[0] == 700_000 and sum(reported) == len(data)


def test_corrupt_partial_file_is_deleted(plain: RegistryClient, tmp_path: Path) -> None:
    data = os.urandom(100_000)
    path, digest = blob_file(tmp_path, data)
    plain.push_blob("resume/bad", digest, len(data), path)
    dest = tmp_path / "partial"
    dest.write_bytes(b"x" * 5000)
    with pytest.raises(DigestMismatchError):
        plain.fetch_blob("resume/bad", digest, len(data), dest)
    assert not dest.exists()
    plain.fetch_blob("resume/bad", digest, len(data), dest)
    assert dest.read_bytes() == data


def test_unknown_manifest(plain: RegistryClient) -> None:
    with pytest.raises(ManifestUnknownError, match="manifest unknown|name unknown"):
        plain.get_manifest("no/such", "latest", [OCI_MANIFEST])


def test_plain_http_needs_insecure(plain_reg: Registry) -> None:
    client = RegistryClient(plain_reg.host, cert_dirs=[])
    with pytest.raises(RegistryError, match="server gave HTTP response to HTTPS client"):
        client.get_manifest("any/thing", "latest", [OCI_MANIFEST])
    insecure = RegistryClient(plain_reg.host, tls_verify=False, cert_dirs=[])
    insecure.ping()
    assert insecure.prefix == "http"


# --- TLS + htpasswd --------------------------------------------------------------------------


def test_tls_with_ca_from_certs_d(tls_reg: tuple[Registry, Path], tmp_path: Path) -> None:
    registry, certs_d = tls_reg
    creds = Credentials(USER, PASSWORD)
    client = RegistryClient(registry.host, credentials=creds, cert_dirs=[certs_d])
    client.check_login()
    pushed = push_image(client, "tls/repo", tmp_path)
    assert client.get_manifest("tls/repo", "v1", [OCI_MANIFEST])[0] == pushed["manifest"]
    assert client.prefix == "https"


def test_tls_unknown_ca_is_one_clear_line(tls_reg: tuple[Registry, Path]) -> None:
    registry, _ = tls_reg
    client = RegistryClient(registry.host, credentials=Credentials(USER, PASSWORD), cert_dirs=[])
    with pytest.raises(RegistryError) as caught:
        client.check_login()
    message = str(caught.value)
    assert message.startswith(f'pinging container registry {registry.host}: Get "https://')
    assert "x509: certificate signed by unknown authority" in message
    assert "\n" not in message


def test_tls_insecure_skips_verification(tls_reg: tuple[Registry, Path]) -> None:
    registry, _ = tls_reg
    creds = Credentials(USER, PASSWORD)
    client = RegistryClient(registry.host, insecure=True, credentials=creds, cert_dirs=[])
    client.check_login()
    assert client.prefix == "https"


def test_basic_auth_wrong_password(tls_reg: tuple[Registry, Path]) -> None:
    registry, certs_d = tls_reg
    bad = Credentials(USER, "wrong")
    client = RegistryClient(registry.host, credentials=bad, cert_dirs=[certs_d])
    with pytest.raises(AuthenticationError, match="invalid username/password"):
        client.check_login()
    anonymous = RegistryClient(registry.host, cert_dirs=[certs_d])
    with pytest.raises(AuthenticationError):
        anonymous.get_manifest("tls/repo", "v1", [OCI_MANIFEST])


# --- token auth ------------------------------------------------------------------------------


def test_tokens_are_per_scope(token_reg: TokenRegistry, tmp_path: Path) -> None:
    """oras re-used the first token for every scope: the second repository or a push failed."""
    client = RegistryClient(
        token_reg.registry.host, insecure=True, credentials=Credentials(USER, PASSWORD)
    )
    start = len(token_reg.tokens.requests)
    first = push_image(client, "team/one", tmp_path)
    second = push_image(client, "team/two", tmp_path)
    assert client.get_manifest("team/one", "v1", [OCI_MANIFEST])[0] == first["manifest"]
    assert client.get_manifest("team/two", "v1", [OCI_MANIFEST])[0] == second["manifest"]
    asked = [tuple(scope) for _, scope in token_reg.tokens.requests[start:]]
    assert len(asked) == len(set(asked)), f"a token was re-used for another scope: {asked}"
    scopes = set(asked)
    assert ("repository:team/one:pull",) in scopes
    assert ("repository:team/one:pull,push",) in scopes
    assert ("repository:team/two:pull,push",) in scopes

    reader = RegistryClient(
        token_reg.registry.host, insecure=True, credentials=Credentials(USER, PASSWORD)
    )
    reader.get_manifest("team/one", "v1", [OCI_MANIFEST])
    reader.get_manifest("team/two", "v1", [OCI_MANIFEST])
    push_image(reader, "team/one", tmp_path, tag="v2")
    before = len(token_reg.tokens.requests)
    reader.get_manifest("team/one", "v2", [OCI_MANIFEST])
    assert len(token_reg.tokens.requests) == before, "a cached pull,push token covers pull"


def test_token_mount_asks_for_both_repositories(token_reg: TokenRegistry, tmp_path: Path) -> None:
    creds = Credentials(USER, PASSWORD)
    client = RegistryClient(token_reg.registry.host, insecure=True, credentials=creds)
    pushed = push_image(client, "mount/from", tmp_path)
    assert client.mount_blob("mount/to", pushed["layer_digest"], "mount/from") is True
    assert [
        "repository:mount/from:pull",
        "repository:mount/to:pull,push",
    ] in [scopes for _, scopes in token_reg.tokens.requests]


def test_anonymous_token_and_access_token_field(token_reg: TokenRegistry, tmp_path: Path) -> None:
    creds = Credentials(USER, PASSWORD)
    writer = RegistryClient(token_reg.registry.host, insecure=True, credentials=creds)
    pushed = push_image(writer, "public/image", tmp_path)
    token_reg.tokens.field_name = "access_token"
    try:
        anonymous = RegistryClient(token_reg.registry.host, insecure=True)
        data, _, _ = anonymous.get_manifest("public/image", "v1", [OCI_MANIFEST])
        assert data == pushed["manifest"]
        assert token_reg.tokens.requests[-1][0] == ""
        path, digest = blob_file(tmp_path, b"anonymous push")
        with pytest.raises(AuthenticationError):
            anonymous.push_blob("public/image", digest, 14, path)
    finally:
        token_reg.tokens.field_name = "token"


def test_token_login_checks_password(token_reg: TokenRegistry) -> None:
    good = RegistryClient(
        token_reg.registry.host, insecure=True, credentials=Credentials(USER, PASSWORD)
    )
    good.check_login()
    bad = RegistryClient(token_reg.registry.host, insecure=True, credentials=Credentials(USER, "x"))
    with pytest.raises(AuthenticationError, match="invalid username/password"):
        bad.check_login()
    with pytest.raises(AuthenticationError, match="invalid username/password"):
        bad.get_manifest("team/one", "v1", [OCI_MANIFEST])


# --- fake servers: what a real registry will not do ------------------------------------------


def test_credentials_never_follow_a_redirect_to_another_host(tmp_path: Path) -> None:
    data = os.urandom(50_000)
    digest = sha256(data)

    def storage_app(handler: http.server.BaseHTTPRequestHandler) -> None:
        reply(handler, 200, data)

    with fake_server(storage_app, host="127.0.0.2") as storage:

        def blob(handler: http.server.BaseHTTPRequestHandler) -> None:
            reply(handler, 307, b"", {"Location": f"{storage.url}/bucket/blob?sig=abc"})

        app = fake_registry({"/v2/repo/blobs/": blob}, require_basic=True)
        with fake_server(app) as registry:
            client = fake_client(registry, credentials=Credentials(USER, PASSWORD))
            client.fetch_blob("repo", digest, len(data), tmp_path / "blob")
            assert (tmp_path / "blob").read_bytes() == data
            assert registry.requests_to("/blobs/")[-1].headers.get("Authorization")
    assert storage.seen, "the redirect was not followed"
    assert all("Authorization" not in s.headers for s in storage.seen)


def test_wrong_blob_content_is_rejected_and_deleted(tmp_path: Path) -> None:
    good, evil = os.urandom(10_000), os.urandom(10_000)
    app = fake_registry({"/v2/repo/blobs/": lambda h: reply(h, 200, evil)})
    with fake_server(app) as server:
        dest = tmp_path / "blob"
        with pytest.raises(DigestMismatchError, match="digest mismatch"):
            fake_client(server).fetch_blob("repo", sha256(good), len(good), dest)
        assert not dest.exists()


@pytest.mark.parametrize("declare_length", [True, False])
def test_blob_larger_than_declared_stops_early(tmp_path: Path, declare_length: bool) -> None:
    sent: list[int] = []

    def endless(handler: http.server.BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        if declare_length:
            handler.send_header("Content-Length", str(1024 * 1024 * 1024))
        handler.end_headers()
        chunk = b"z" * 65536
        for _ in range(16 * 1024):
            handler.wfile.write(chunk)
            sent.append(len(chunk))

    app = fake_registry({"/v2/repo/blobs/": endless})
    with fake_server(app) as server:
        dest = tmp_path / "blob"
        started = time.monotonic()
        with pytest.raises(DigestMismatchError):
            fake_client(server).fetch_blob("repo", sha256(b"small"), 5, dest)
        assert time.monotonic() - started < 10
        assert not dest.exists()
    assert sum(sent) < 256 * 1024 * 1024


def test_short_blob_is_rejected(tmp_path: Path) -> None:
    data = os.urandom(1000)
    app = fake_registry({"/v2/repo/blobs/": lambda h: reply(h, 200, data[:600])})
    with fake_server(app) as server:
        with pytest.raises(DigestMismatchError, match="got 600 bytes"):
            fake_client(server).fetch_blob("repo", sha256(data), len(data), tmp_path / "b")
        assert not (tmp_path / "b").exists()


def _ranged(data: bytes, honour: bool) -> Callable:
    def app(handler: http.server.BaseHTTPRequestHandler) -> None:
        wanted = handler.headers.get("Range", "")
        if honour and wanted.startswith("bytes="):
            start = int(wanted[6:].rstrip("-"))
            headers = {"Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"}
            reply(handler, 206, data[start:], headers)
        else:
            reply(handler, 200, data)

    return app


@pytest.mark.parametrize("honour", [True, False])
def test_range_resume_and_full_download_fallback(tmp_path: Path, honour: bool) -> None:
    data = os.urandom(300_000)
    app = fake_registry({"/v2/repo/blobs/": _ranged(data, honour)})
    with fake_server(app) as server:
        dest = tmp_path / "blob"
        dest.write_bytes(data[:123_456])
        fake_client(server).fetch_blob("repo", sha256(data), len(data), dest)
        assert dest.read_bytes() == data
        assert server.requests_to("/blobs/")[0].headers.get("Range") == "bytes=123456-"


def test_interrupted_stream_resumes(tmp_path: Path) -> None:
    """A connection dropped mid-body keeps the partial file and resumes from it."""
    data = os.urandom(400_000)
    calls: list[str] = []

    def flaky(handler: http.server.BaseHTTPRequestHandler) -> None:
        calls.append(handler.headers.get("Range", ""))
        if len(calls) == 1:
            handler.send_response(200)
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data[:150_000])
            handler.wfile.flush()
            handler.connection.shutdown(socket.SHUT_RDWR)
            return
        _ranged(data, True)(handler)

    with fake_server(fake_registry({"/v2/repo/blobs/": flaky})) as server:
        dest = tmp_path / "blob"
        fake_client(server).fetch_blob("repo", sha256(data), len(data), dest)
        assert dest.read_bytes() == data
    assert calls[0] == "" and calls[1].startswith("bytes=")


def test_server_errors_are_retried_a_bounded_number_of_times() -> None:
    """oras slept up to 131 s; three attempts with a short backoff finish in seconds."""
    app = fake_registry({"/v2/": lambda h: reply(h, 500, b'{"errors":[{"code":"X"}]}')})
    with fake_server(app) as server:
        started = time.monotonic()
        with pytest.raises(RegistryError):
            fake_client(server).get_manifest("repo", "latest", [OCI_MANIFEST])
        assert time.monotonic() - started < 5
        assert len(server.requests_to("/manifests/")) == 3


def test_a_transient_error_is_retried() -> None:
    manifest = image_manifest((sha256(b"c"), 1), [])
    answers = iter([503, 200])

    def flaky(handler: http.server.BaseHTTPRequestHandler) -> None:
        status = next(answers)
        reply(handler, status, manifest if status == 200 else b"", {"Content-Type": OCI_MANIFEST})

    with fake_server(fake_registry({"/v2/repo/manifests/": flaky})) as server:
        data, media_type, _ = fake_client(server).get_manifest("repo", "v1", [OCI_MANIFEST])
        assert (data, media_type) == (manifest, OCI_MANIFEST)


def test_connection_reset_is_retried() -> None:
    manifest = image_manifest((sha256(b"c"), 1), [])
    calls: list[int] = []

    def drop_first(handler: http.server.BaseHTTPRequestHandler) -> None:
        calls.append(1)
        if len(calls) == 1:
            handler.connection.shutdown(socket.SHUT_RDWR)
            return
        reply(handler, 200, manifest, {"Content-Type": OCI_MANIFEST})

    with fake_server(fake_registry({"/v2/repo/manifests/": drop_first})) as server:
        assert fake_client(server).get_manifest("repo", "v1", [OCI_MANIFEST])[0] == manifest
    assert len(calls) == 2


def test_client_errors_are_not_retried() -> None:
    app = fake_registry({"/v2/repo/manifests/": lambda h: reply(h, 400, b"{}")})
    with fake_server(app) as server:
        with pytest.raises(RegistryError):
            fake_client(server).get_manifest("repo", "v1", [OCI_MANIFEST])
        assert len(server.requests_to("/manifests/")) == 1


def test_requests_time_out() -> None:
    def silent(handler: http.server.BaseHTTPRequestHandler) -> None:
        time.sleep(3)

    with fake_server(fake_registry({"/v2/repo/manifests/": silent})) as server:
        client = RegistryClient(server.host, insecure=True, cert_dirs=[], timeout=(1, 0.5))
        started = time.monotonic()
        with pytest.raises(RegistryError, match="i/o timeout"):
            client.get_manifest("repo", "v1", [OCI_MANIFEST])
        assert time.monotonic() - started < 2.5


def test_oversized_manifest_is_refused() -> None:
    huge = b'{"pad":"' + b"a" * (5 * 1024 * 1024) + b'"}'
    app = fake_registry({"/v2/repo/manifests/": lambda h: reply(h, 200, huge)})
    with fake_server(app) as server, pytest.raises(UnsafeContentError):
        fake_client(server).get_manifest("repo", "v1", [OCI_MANIFEST])


def test_manifest_by_digest_is_verified() -> None:
    asked = image_manifest((sha256(b"a"), 1), [])
    served = image_manifest((sha256(b"b"), 1), [])
    app = fake_registry({"/v2/repo/manifests/": lambda h: reply(h, 200, served)})
    with fake_server(app) as server, pytest.raises(DigestMismatchError):
        fake_client(server).get_manifest("repo", sha256(asked), [OCI_MANIFEST])


def test_manifest_media_type_from_body_when_header_is_generic() -> None:
    body = image_manifest((sha256(b"a"), 1), [])
    headers = {"Content-Type": "application/json; charset=utf-8"}
    app = fake_registry({"/v2/repo/manifests/": lambda h: reply(h, 200, body, headers)})
    with fake_server(app) as server:
        assert fake_client(server).get_manifest("repo", "v1", [OCI_MANIFEST])[1] == OCI_MANIFEST


def test_put_manifest_sends_exact_bytes_and_checks_digest() -> None:
    body = image_manifest((sha256(b"a"), 1), [])
    reported = {"digest": sha256(body)}

    def put(handler: http.server.BaseHTTPRequestHandler) -> None:
        reply(handler, 201, b"", {"Docker-Content-Digest": reported["digest"]})

    with fake_server(fake_registry({"/v2/repo/manifests/": put})) as server:
        client = fake_client(server)
        assert client.put_manifest("repo", "v1", body, "application/x-custom") == sha256(body)
        seen = server.requests_to("/manifests/")[-1]
        assert (seen.method, seen.body) == ("PUT", body)
        assert seen.headers["Content-Type"] == "application/x-custom"
        reported["digest"] = sha256(b"something else")
        with pytest.raises(DigestMismatchError):
            client.put_manifest("repo", "v1", body, OCI_MANIFEST)


def test_connection_refused_is_one_podman_style_line() -> None:
    port = free_port()
    with pytest.raises(RegistryError) as caught:
        RegistryClient(f"127.0.0.1:{port}", cert_dirs=[]).ping()
    assert str(caught.value) == (
        f"pinging container registry 127.0.0.1:{port}: "
        f'Get "https://127.0.0.1:{port}/v2/": '
        f"dial tcp 127.0.0.1:{port}: connect: connection refused"
    )


def test_replaced_oras_methods_refuse_to_run(tmp_path: Path) -> None:
    client = RegistryClient("127.0.0.1:1", cert_dirs=[])
    for name in ("download_blob", "upload_blob", "upload_manifest", "chunked_upload", "push"):
        with pytest.raises(Exception, match="not available"):
            getattr(client, name)("127.0.0.1:1/x", "sha256:0", str(tmp_path / "x"))


def test_challenge_parsing() -> None:
    header = (
        'Bearer realm="https://auth.example.com/token",service="registry.example.com",'
        'scope="repository:a/b:pull,push", Basic realm="x\\"y"'
    )
    bearer, basic = parse_challenges(header)
    assert bearer.scheme == "bearer" and basic.scheme == "basic"
    assert bearer.params == {
        "realm": "https://auth.example.com/token",
        "service": "registry.example.com",
        "scope": "repository:a/b:pull,push",
    }
    assert basic.params == {"realm": 'x"y'}
    items = frozenset({"repository:a:push", "repository:a:pull", "repository:b:pull"})
    assert scope_params(items) == ["repository:a:pull,push", "repository:b:pull"]

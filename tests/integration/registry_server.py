"""Start and stop Debian's `docker-registry` (distribution v2.8) for the integration tests.

Three flavours, one class: plain HTTP, TLS + htpasswd (bcrypt), and token auth with a small token
server (`TokenServer`) that signs RS256 JWTs with `openssl dgst` and really checks scopes.
The registry config is written as JSON, which distribution's YAML parser reads as it is.
`FakeServer` (with `fake_registry`) is a tiny HTTP server for what a real registry will not do:
lie about digests, stall mid-blob, misbehave.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import hashlib
import json
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

REGISTRY_BINARIES = ("docker-registry", "registry")
TOKEN_FIELDS = ("token", "access_token")  # where a token server's answer carries the token


class RegistryError(RuntimeError):
    """A test registry or token server could not be set up."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the caller retries on a race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def registry_binary() -> str:
    for name in REGISTRY_BINARIES:
        found = shutil.which(name)
        if found:
            return found
    raise RegistryError(
        "docker-registry not found: `apt-get install docker-registry` (Debian's distribution v2.8)"
    )


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM when the test process dies, even by SIGKILL."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG


def _openssl(*args: str, cwd: Path | None = None, input: bytes | None = None) -> bytes:
    proc = subprocess.run(["openssl", *args], cwd=cwd, input=input, capture_output=True)
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace")
        raise RegistryError(f"openssl {' '.join(args)} failed: {err}")
    return proc.stdout


# --------------------------------------------------------------------------------------------
# certificates and passwords


@dataclass(frozen=True)
class TLSFiles:
    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path


def make_tls_files(directory: Path, *, cn: str = "localhost") -> TLSFiles:
    """A throw-away CA and a server certificate for 127.0.0.1 and localhost, signed by it."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = directory / "ca.key", directory / "ca.crt"
    key, csr, cert = directory / "server.key", directory / "server.csr", directory / "server.crt"
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "3650",
        "-keyout", str(ca_key), "-out", str(ca_cert), "-subj", "/CN=pod test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    _openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-sha256",
        "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={cn}",
    )  # fmt: skip
    ext = directory / "server.ext"
    ext.write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
        "basicConstraints=CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
    )
    _openssl(
        "x509", "-req", "-sha256", "-days", "825", "-in", str(csr),
        "-CA", str(ca_cert), "-CAkey", str(ca_key), "-CAcreateserial",
        "-out", str(cert), "-extfile", str(ext),
    )  # fmt: skip
    for path in (ca_cert, cert):
        path.chmod(0o644)
    return TLSFiles(ca_cert=ca_cert, ca_key=ca_key, server_cert=cert, server_key=key)


def write_htpasswd(path: Path, users: dict[str, str]) -> Path:
    """An htpasswd file with bcrypt entries (the only kind distribution accepts)."""
    import bcrypt

    lines = []
    for user, password in users.items():
        # Cost 4 (the minimum) because distribution checks the hash on every request.
        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
        lines.append(f"{user}:{hashed}\n")
    path.write_text("".join(lines))
    return path


def write_registries_conf(
    path: Path,
    *,
    insecure: list[str] | tuple[str, ...] = (),
    secure: list[str] | tuple[str, ...] = (),
    unqualified_search: list[str] | tuple[str, ...] = (),
    extra: str = "",
) -> Path:
    """A containers-registries.conf(5) v2 file: one `[[registry]]` block per location."""

    def toml_list(items) -> str:
        return "[" + ", ".join(json.dumps(item) for item in items) + "]"

    parts = [f"unqualified-search-registries = {toml_list(unqualified_search)}\n"]
    for location in insecure:
        parts.append(f'\n[[registry]]\nlocation = "{location}"\ninsecure = true\n')
    for location in secure:
        parts.append(f'\n[[registry]]\nlocation = "{location}"\ninsecure = false\n')
    if extra:
        parts.append("\n" + extra.strip("\n") + "\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(parts))
    return path


# --------------------------------------------------------------------------------------------
# the registry process


@dataclass
class RegistryServer:
    """One docker-registry process with its own config file, storage and log under `workdir`."""

    workdir: Path
    tls: TLSFiles | None = None
    htpasswd: Path | None = None
    token: dict | None = None  # distribution's auth.token section
    username: str | None = None
    password: str | None = None
    port: int = 0
    process: subprocess.Popen | None = field(default=None, repr=False)
    certs_d: Path | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}"

    @property
    def ca_cert(self) -> Path | None:
        return self.tls.ca_cert if self.tls else None

    @property
    def storage_dir(self) -> Path:
        return self.workdir / "storage"

    @property
    def config_path(self) -> Path:
        return self.workdir / "config.yml"

    @property
    def log_path(self) -> Path:
        return self.workdir / "registry.log"

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def _config(self) -> dict:
        config: dict = {
            "version": "0.1",
            "log": {"level": "info", "formatter": "text", "accesslog": {"disabled": False}},
            "storage": {
                "filesystem": {"rootdirectory": str(self.storage_dir)},
                "delete": {"enabled": True},
                "maintenance": {"uploadpurging": {"enabled": False}},
            },
            "http": {
                "addr": self.host,
                "secret": secrets.token_hex(16),
                "headers": {"X-Content-Type-Options": ["nosniff"]},
            },
        }
        if self.tls:
            config["http"]["tls"] = {
                "certificate": str(self.tls.server_cert),
                "key": str(self.tls.server_key),
            }
        if self.htpasswd:
            config["auth"] = {"htpasswd": {"realm": "pod-test", "path": str(self.htpasswd)}}
        if self.token:
            config["auth"] = {"token": self.token}
        return config

    def _ready(self) -> bool:
        try:
            resp = requests.get(
                f"{self.url}/v2/", timeout=2, verify=str(self.ca_cert) if self.tls else True
            )
        except requests.RequestException:
            return False
        return resp.status_code in (200, 401)

    def start(self, *, timeout: float = 30.0, attempts: int = 5) -> RegistryServer:
        binary = registry_binary()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.storage_dir.mkdir(exist_ok=True)
        for _attempt in range(attempts):
            self.port = free_port()
            self.config_path.write_text(json.dumps(self._config(), indent=2))
            log = open(self.log_path, "ab")  # noqa: SIM115 - the child keeps writing to it
            try:
                self.process = subprocess.Popen(
                    [binary, "serve", str(self.config_path)],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.workdir,
                    start_new_session=True,
                    preexec_fn=_die_with_parent,
                )
            finally:
                log.close()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    break  # exited: most likely lost the port race, try another port
                if self._ready():
                    return self
                time.sleep(0.05)
            self.stop()
        raise RegistryError(
            f"docker-registry did not answer on /v2/ after {attempts} attempts; "
            f"log {self.log_path}:\n{self.log_text()[-3000:]}"
        )

    def stop(self) -> None:
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def __enter__(self) -> RegistryServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def start_plain_registry(workdir: Path) -> RegistryServer:
    return RegistryServer(workdir=workdir).start()


def start_tls_registry(
    workdir: Path, *, username: str = "podtester", password: str | None = None
) -> RegistryServer:
    password = password or "pw-" + secrets.token_hex(8)
    tls = make_tls_files(workdir / "tls")
    htpasswd = write_htpasswd(workdir / "htpasswd", {username: password})
    server = RegistryServer(
        workdir=workdir, tls=tls, htpasswd=htpasswd, username=username, password=password
    ).start()
    # certs.d layout as containers-certs.d(5): <certs_d>/<host:port>/ca.crt
    certs_d = workdir / "certs.d"
    for host in (server.host, f"localhost:{server.port}"):
        (certs_d / host).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(tls.ca_cert, certs_d / host / "ca.crt")
    server.certs_d = certs_d
    return server


# --------------------------------------------------------------------------------------------
# fake registries: for what a real registry will not do (lie about digests, stall, misbehave)


def reply(
    handler: BaseHTTPRequestHandler,
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

    def __init__(self, app: Callable[[BaseHTTPRequestHandler], None], host="127.0.0.1"):
        self.app = app
        self.seen: list[Seen] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fake.seen.append(Seen(self.command, self.path, dict(self.headers), body))
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    fake.app(self)

            do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _any

        class Server(ThreadingHTTPServer):
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

    def app(handler: BaseHTTPRequestHandler) -> None:
        authorized = handler.headers.get("Authorization", "").startswith("Basic ")
        if require_basic and not authorized:
            reply(handler, 401, b"{}", {"WWW-Authenticate": 'Basic realm="fake"'})
            return
        path = urllib.parse.urlsplit(handler.path).path
        if path == "/v2/":
            reply(handler, 200, b"{}")
            return
        for prefix, route in routes.items():
            if path.startswith(prefix):
                route(handler)
                return
        reply(handler, 404, b'{"errors":[{"code":"NOT_FOUND","message":"no route"}]}')

    return app


# --------------------------------------------------------------------------------------------
# the token server


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def libtrust_key_id(public_key_der: bytes) -> str:
    """distribution's key id for a public key: base32 of sha256(DER)[:30], in groups of four."""
    encoded = base64.b32encode(hashlib.sha256(public_key_der).digest()[:30]).decode().rstrip("=")
    return ":".join(encoded[i : i + 4] for i in range(0, len(encoded), 4))


@dataclass
class TokenRequest:
    """One request the token server answered (the `.requests` log)."""

    method: str
    path: str
    service: str | None
    scopes: list[str]  # as requested, e.g. ["repository:test/x:pull,push"]
    account: str | None
    username: str | None  # the authenticated user, None for anonymous
    status: int
    granted: list[dict]  # the token's access claim


class TokenServer:
    """A docker token-auth server (GET /token, POST /token for OAuth2) in a thread.

    Policy: a repository's `pull` is granted to anyone (unless `anonymous_pull` is False or the
    repository is in `private_repos`); every other action (push, delete, *) only to the user with
    the right password. Access is granted only for exactly the repositories that were requested.
    Wrong credentials get 401, as from a real token server.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        service: str = "pod-test-registry",
        issuer: str = "pod-test-token-issuer",
        username: str = "tokenuser",
        password: str | None = None,
        ttl: int = 300,
    ) -> None:
        self.workdir = workdir
        self.service = service
        self.issuer = issuer
        self.username = username
        self.password = password or "pw-" + secrets.token_hex(8)
        self.ttl = ttl
        self.anonymous_pull = True
        self.token_fields = TOKEN_FIELDS  # ("access_token",): an OAuth2-only server's answer
        self.private_repos: set[str] = set()
        self.requests: list[TokenRequest] = []
        self._lock = threading.Lock()
        self._refresh_tokens: dict[str, str] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        workdir.mkdir(parents=True, exist_ok=True)
        self.key_path = workdir / "token.key"
        self.cert_path = workdir / "token.crt"
        _openssl(
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-sha256",
            "-days",
            "3650",
            "-keyout",
            str(self.key_path),
            "-out",
            str(self.cert_path),
            "-subj",
            "/CN=pod test token signer",
        )
        der = _openssl("x509", "-in", str(self.cert_path), "-noout", "-pubkey")
        der = _openssl("pkey", "-pubin", "-outform", "DER", input=der)
        self.key_id = libtrust_key_id(der)

    # -- lifecycle

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/token"

    def start(self) -> TokenServer:
        handler = _make_handler(self)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="pod-test-token-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    # -- the log

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    def requested_scopes(self) -> list[str]:
        with self._lock:
            return [scope for req in self.requests for scope in req.scopes]

    def _record(self, req: TokenRequest) -> None:
        with self._lock:
            self.requests.append(req)

    # -- policy and signing

    def allowed(self, user: str | None, rtype: str, name: str, action: str) -> bool:
        if rtype == "repository":
            if action == "pull":
                if user == self.username:
                    return True
                return self.anonymous_pull and name not in self.private_repos
            return user == self.username and action in ("push", "delete", "*")
        if rtype == "registry" and name == "catalog":
            return user == self.username
        return False

    def grant(self, user: str | None, scopes: list[str]) -> list[dict]:
        access: list[dict] = []
        for scope in scopes:
            parts = scope.split(":")
            if len(parts) < 3:
                continue
            rtype, name, actions = parts[0], ":".join(parts[1:-1]), parts[-1].split(",")
            wanted = [a for a in dict.fromkeys(actions) if a]
            granted = [a for a in wanted if self.allowed(user, rtype, name, a)]
            for entry in access:  # merge repeated requests for one resource
                if entry["type"] == rtype and entry["name"] == name:
                    entry["actions"] = list(dict.fromkeys(entry["actions"] + granted))
                    break
            else:
                access.append({"type": rtype, "name": name, "actions": granted})
        return access

    def sign(self, claims: dict) -> str:
        header = {"typ": "JWT", "alg": "RS256", "kid": self.key_id}
        signing_input = (
            _b64url(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + _b64url(json.dumps(claims, separators=(",", ":")).encode())
        )
        signature = _openssl(
            "dgst", "-sha256", "-sign", str(self.key_path), input=signing_input.encode()
        )
        return signing_input + "." + _b64url(signature)

    def issue(self, user: str | None, access: list[dict]) -> str:
        now = int(time.time())
        return self.sign(
            {
                "iss": self.issuer,
                "sub": user or "",
                "aud": self.service,
                "exp": now + self.ttl,
                "nbf": now - 10,
                "iat": now,
                "jti": secrets.token_hex(12),
                "access": access,
            }
        )

    def registry_auth_config(self) -> dict:
        """The `auth.token` section for distribution's config."""
        return {
            "realm": self.url,
            "service": self.service,
            "issuer": self.issuer,
            "rootcertbundle": str(self.cert_path),
        }


def _make_handler(server: TokenServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *args):  # noqa: A002 - the base class's name
            pass

        def _reply(self, status: int, body: dict, headers: dict | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def _basic_user(self) -> tuple[str | None, bool]:
            """(user, bad): the user from a Basic header, and whether credentials were wrong."""
            header = self.headers.get("Authorization", "")
            if not header.lower().startswith("basic "):
                return None, False
            try:
                user, _, password = base64.b64decode(header[6:].strip()).decode().partition(":")
            except ValueError:
                return None, True
            return self._check(user, password)

        def _check(self, user: str | None, password: str | None) -> tuple[str | None, bool]:
            if user == server.username and password == server.password:
                return user, False
            return None, True

        def _answer(self, params: dict[str, list[str]], user: str | None, bad: bool) -> None:
            scopes = [s for value in params.get("scope", []) for s in value.split(" ") if s]
            service = (params.get("service") or [None])[0]
            account = (params.get("account") or params.get("username") or [None])[0]
            path = urllib.parse.urlsplit(self.path).path
            record = TokenRequest(self.command, path, service, scopes, account, user, 0, [])
            if path != "/token":
                record.status = 404
                server._record(record)
                return self._reply(404, {"errors": [{"code": "NOT_FOUND"}]})
            if bad:
                record.status = 401
                server._record(record)
                return self._reply(
                    401,
                    {"errors": [{"code": "UNAUTHORIZED", "message": "bad credentials"}]},
                    {"WWW-Authenticate": 'Basic realm="pod-test-token"'},
                )
            if service is not None and service != server.service:
                record.status = 400
                server._record(record)
                return self._reply(400, {"errors": [{"code": "DENIED", "message": "bad service"}]})
            access = server.grant(user, scopes)
            token = server.issue(user, access)
            record.status, record.granted = 200, access
            server._record(record)
            body = {
                **dict.fromkeys(server.token_fields, token),
                "expires_in": server.ttl,
                "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
            offline = (params.get("offline_token") or ["false"])[0] == "true"
            if user and (offline or self.command == "POST"):
                refresh = secrets.token_hex(16)
                server._refresh_tokens[refresh] = user
                body["refresh_token"] = refresh
            self._reply(200, body)

        def do_GET(self):  # noqa: N802 - http.server's naming
            params = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
            user, bad = self._basic_user()
            self._answer(params, user, bad)

        def do_POST(self):  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length") or 0)
            form = urllib.parse.parse_qs(self.rfile.read(length).decode(errors="replace"))
            grant_type = (form.get("grant_type") or [""])[0]
            if grant_type == "password":
                user, bad = self._check(
                    (form.get("username") or [None])[0], (form.get("password") or [None])[0]
                )
            elif grant_type == "refresh_token":
                user = server._refresh_tokens.get((form.get("refresh_token") or [""])[0])
                bad = user is None
            else:
                user, bad = self._basic_user()
            self._answer(form, user, bad)

    return Handler


@dataclass
class TokenRegistry:
    """A token-auth registry and its token server, as the `token_registry` fixture gives them."""

    registry: RegistryServer
    tokens: TokenServer

    @property
    def host(self) -> str:
        return self.registry.host

    @property
    def url(self) -> str:
        return self.registry.url

    @property
    def token_server_url(self) -> str:
        return self.tokens.url

    @property
    def service(self) -> str:
        return self.tokens.service

    @property
    def username(self) -> str:
        return self.tokens.username

    @property
    def password(self) -> str:
        return self.tokens.password

    @property
    def requests(self) -> list[TokenRequest]:
        return self.tokens.requests

    def clear_requests(self) -> None:
        self.tokens.clear_requests()

    def requested_scopes(self) -> list[str]:
        return self.tokens.requested_scopes()

    def stop(self) -> None:
        self.registry.stop()
        self.tokens.stop()


def start_token_registry(workdir: Path, **token_kwargs) -> TokenRegistry:
    tokens = TokenServer(workdir / "token", **token_kwargs).start()
    try:
        server = RegistryServer(
            workdir=workdir / "registry",
            token=tokens.registry_auth_config(),
            username=tokens.username,
            password=tokens.password,
        ).start()
    except BaseException:
        tokens.stop()
        raise
    return TokenRegistry(server, tokens)

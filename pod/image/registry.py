"""The registry transport: one RegistryClient per registry host, built on oras-py 0.2.43.

oras 0.2.43 has defects an engine cannot live with, so this subclass replaces them and never calls
the defective parents (each replacement has a test in tests/integration/test_registry_transport.py):

- one Bearer token re-used for every scope → tokens cached per scope set, challenge parsed here;
- Authorization headers follow redirects to other hosts → redirects followed here, header dropped
  when the origin changes (blob storage never sees registry credentials);
- retries sleep up to 131 s on any error, requests have no timeout → 3 attempts, backoff ≤ 2 s,
  only on 429/5xx/connection reset, every request with (connect, read) timeouts;
- download_blob never checks the digest → fetch_blob streams to disk, resumes with Range, verifies
  digest and size (stops as soon as a blob is longer than declared), and hands the bytes on as
  they arrive to whoever unpacks them (a layer is unpacked while it downloads);
- upload_manifest re-serializes JSON with a fixed media type → put_manifest sends the exact bytes;
- monolithic upload reads the blob into memory → push_blob streams the file; mount_blob mounts
  across repositories.

The remaining inherited helpers (get_tags, delete_tag, ...) go through the safe `do_request`.
Every failure is a pod.errors.RegistryError (or subclass) with one line in podman's wording.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import json
import logging
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter

from pod.config import config_home, is_rootless
from pod.errors import (
    AuthenticationError,
    DigestMismatchError,
    ManifestUnknownError,
    PodError,
    RegistryError,
    StoreError,
    UnsafeContentError,
)
from pod.image.auth import Credentials
from pod.image.oras_base import OrasRegistry
from pod.util.records import dataclass, field

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 60.0
ATTEMPTS = 3
BACKOFF = 0.5
MAX_BACKOFF = 2.0
MAX_REDIRECTS = 10
MANIFEST_LIMIT = 4 * 1024 * 1024
ERROR_BODY_LIMIT = 64 * 1024
TOKEN_BODY_LIMIT = 1024 * 1024
CHUNK = 1024 * 1024
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
GENERIC_CONTENT_TYPES = ("", "application/json", "text/plain", "application/octet-stream")
USER_AGENT = "pod/0.1 (+podman-compatible)"

Progress = Callable[[int], None]
Sink = Callable[[bytes], None]
Body = bytes | Callable[[], Any] | None


# --- WWW-Authenticate ------------------------------------------------------------------------


@dataclass
class Challenge:
    """One auth challenge from a WWW-Authenticate header (scheme lower-cased)."""

    scheme: str
    params: dict[str, str] = field(default_factory=dict)


_TOKEN_RE = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"


def parse_challenges(header: str) -> list[Challenge]:
    """Parse `Bearer realm="...",service="..." , Basic realm="..."` (RFC 7235, quoted strings)."""
    challenges: list[Challenge] = []
    token = re.compile(_TOKEN_RE)  # from re's cache after the first time
    pos, end = 0, len(header)
    while pos < end:
        while pos < end and header[pos] in " \t,":
            pos += 1
        match = token.match(header, pos)
        if not match:
            break
        word, pos = match.group(), match.end()
        look = pos
        while look < end and header[look] in " \t":
            look += 1
        if challenges and look < end and header[look] == "=":
            value, pos = _param_value(header, look + 1)
            challenges[-1].params[word.lower()] = value
        else:
            challenges.append(Challenge(word.lower()))
    return challenges


def _param_value(header: str, pos: int) -> tuple[str, int]:
    while pos < len(header) and header[pos] in " \t":
        pos += 1
    if pos < len(header) and header[pos] == '"':
        out: list[str] = []
        pos += 1
        while pos < len(header) and header[pos] != '"':
            if header[pos] == "\\" and pos + 1 < len(header):
                pos += 1
            out.append(header[pos])
            pos += 1
        return "".join(out), pos + 1
    match = re.compile(r"[^,\s]*").match(header, pos)
    assert match is not None
    return match.group(), match.end()


# --- scopes and tokens -----------------------------------------------------------------------


def repo_scope(repository: str, push: bool = False) -> frozenset[str]:
    """`repository:<name>:pull` (and `:push`) as a set of single actions, for subset lookups."""
    actions = ("pull", "push") if push else ("pull",)
    return frozenset(f"repository:{repository}:{action}" for action in actions)


def _split_scope(text: str) -> frozenset[str]:
    """`repository:a:pull,push repository:b:pull` → single-action items."""
    items: set[str] = set()
    for scope in text.split():
        resource, _, actions = scope.rpartition(":")
        items.update(f"{resource}:{action}" for action in actions.split(",") if action)
    return frozenset(items)


def scope_params(scope: frozenset[str]) -> list[str]:
    """Single-action items regrouped per resource for the token request."""
    grouped: dict[str, list[str]] = {}
    for item in sorted(scope):
        resource, _, action = item.rpartition(":")
        grouped.setdefault(resource, []).append(action)
    return [f"{resource}:{','.join(actions)}" for resource, actions in grouped.items()]


@dataclass(frozen=True)
class _Token:
    scope: frozenset[str]
    value: str
    expires: float


# --- TLS -------------------------------------------------------------------------------------


def default_cert_dirs() -> list[Path]:
    """certs.d roots in containers/image's order (the user's first when rootless)."""
    dirs = [config_home() / "containers" / "certs.d"] if is_rootless() else []
    return dirs + [Path("/etc/containers/certs.d"), Path("/etc/docker/certs.d")]


def host_cert_dir(host: str, roots: Iterable[Path]) -> Path | None:
    """The first `<root>/<host[:port]>` that exists: containers/image uses only that one."""
    for root in roots:
        candidate = Path(root) / host
        if candidate.is_dir():
            return candidate
    return None


def tls_context(cert_dir: Path | None, verify: bool) -> ssl.SSLContext:
    """System CAs plus the host's certs.d `*.crt`; `*.cert`+`*.key` pairs as client certificates."""
    if verify:
        context = ssl.create_default_context()
    else:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if cert_dir is None:
        return context
    try:
        for ca in sorted(cert_dir.glob("*.crt")):
            if verify:
                context.load_verify_locations(cafile=str(ca))
        for cert in sorted(cert_dir.glob("*.cert")):
            key = cert.with_suffix(".key")
            if not key.exists():
                raise RegistryError(f"missing key {key.name} for client certificate {cert}")
            context.load_cert_chain(str(cert), str(key))
        for key in sorted(cert_dir.glob("*.key")):
            if not key.with_suffix(".cert").exists():
                raise RegistryError(f"missing client certificate {key.stem}.cert for key {key}")
    except (OSError, ssl.SSLError) as err:
        raise RegistryError(f"loading certificates from {cert_dir}: {err}") from None
    return context


class _TLSAdapter(HTTPAdapter):
    """An HTTPAdapter whose TLS settings all come from one ssl context (no certifi bundle)."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self._context = context
        super().__init__(pool_connections=4, pool_maxsize=16, max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self._context
        super().init_poolmanager(*args, **kwargs)

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        kwargs["ssl_context"] = self._context
        return super().proxy_manager_for(proxy, **kwargs)

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        host, pool = super().build_connection_pool_key_attributes(request, verify, cert)
        pool["ssl_context"] = self._context
        return host, pool

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        """Only the verify mode; the context already holds the CAs and client certificates."""
        conn.cert_reqs = "CERT_REQUIRED" if verify else "CERT_NONE"


# --- errors ----------------------------------------------------------------------------------


class _Transient(RegistryError):
    """A failure worth another attempt (connection reset, 429, 5xx)."""


class _Interrupted(Exception):
    """A blob stream broke mid-body: the partial file is kept for a Range resume."""


def _causes(err: BaseException) -> Iterator[BaseException]:
    """The exception and everything it wraps (requests → urllib3 → socket errors)."""
    seen: set[int] = set()
    stack = [err]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        linked = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        linked += [arg for arg in getattr(current, "args", ()) if isinstance(arg, BaseException)]
        stack.extend(e for e in linked if isinstance(e, BaseException))


def _hostport(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    try:
        port = parts.port
    except ValueError:  # not a number, or out of range: shown as written
        return parts.netloc
    return f"{host}:{port if port is not None else (443 if parts.scheme == 'https' else 80)}"


def invalid_port(host: str) -> str | None:
    """The port of `host` ("name:port", "[v6]:port") when no TCP connection can use it (0,
    above 65535, not a number); None when it has a usable port or none at all."""
    _, colon, port = host.rpartition(":")
    if not colon or "]" in port:
        return None
    return None if port.isdigit() and 0 < int(port) < 65536 else port


def describe_error(err: BaseException, url: str) -> str:
    """A Go-style one-line reason, as podman prints it (`dial tcp ...: connection refused`)."""
    causes = list(_causes(err))
    where = _hostport(url)
    for cause in causes:
        if isinstance(cause, ssl.SSLCertVerificationError):
            unknown = cause.verify_code in (18, 19, 20, 21)
            why = "certificate signed by unknown authority" if unknown else cause.verify_message
            return f"tls: failed to verify certificate: x509: {why}"
    for cause in causes:
        if isinstance(cause, ssl.SSLError):
            if cause.reason in ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE"):
                return "http: server gave HTTP response to HTTPS client"
            return f"tls: {cause.reason or cause}"
    for cause in causes:
        if isinstance(cause, ConnectionRefusedError):
            return f"dial tcp {where}: connect: connection refused"
        if isinstance(cause, socket.gaierror):
            return f"dial tcp: lookup {urlsplit(url).hostname}: no such host"
    if isinstance(err, requests.ConnectTimeout):
        return f"dial tcp {where}: i/o timeout"
    if isinstance(err, requests.ReadTimeout):
        return f"read tcp {where}: i/o timeout"
    for cause in causes:
        if isinstance(cause, http.client.RemoteDisconnected):
            return "EOF"
        if isinstance(cause, ConnectionResetError):
            return f"read tcp {where}: read: connection reset by peer"
        if isinstance(cause, OSError) and cause.strerror:
            return f"dial tcp {where}: {cause.strerror.lower()}"
    return str(err) or type(err).__name__


def _is_transient(err: BaseException) -> bool:
    """Connection resets and dropped connections; not refusals, DNS, TLS or timeouts."""
    causes = list(_causes(err))
    if any(isinstance(c, (ssl.SSLError, ConnectionRefusedError, socket.gaierror)) for c in causes):
        return False
    if isinstance(err, requests.Timeout):
        return False
    if any(isinstance(c, (ConnectionResetError, BrokenPipeError)) for c in causes):
        return True
    return isinstance(err, requests.exceptions.ChunkedEncodingError) or any(
        isinstance(c, urllib3.exceptions.ProtocolError) for c in causes
    )


def _go_method(method: str) -> str:
    return method.capitalize()


def _read_limited(response: requests.Response, limit: int, decode: bool = True) -> bytes | None:
    """The body, or None when it is longer than `limit` (stops reading there)."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    data = bytearray()
    for chunk in response.raw.stream(64 * 1024, decode_content=decode):
        data += chunk
        if len(data) > limit:
            return None
    return bytes(data)


def registry_message(response: requests.Response) -> str:
    """The registry's error list as podman prints it (`manifest unknown: manifest unknown`)."""
    try:
        body = _read_limited(response, ERROR_BODY_LIMIT) or b""
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError):
        body = b""
    messages: list[str] = []
    with contextlib.suppress(ValueError, AttributeError, TypeError):
        for error in json.loads(body).get("errors") or []:
            code = str(error.get("code", "")).lower().replace("_", " ")
            text = str(error.get("message", "")).strip()
            messages.append(f"{code}: {text}" if code and text else code or text)
    if messages:
        return "; ".join(messages)
    return f"StatusCode: {response.status_code}, {response.reason or 'error'}"


def _hasher(digest: str) -> Any:
    algorithm, sep, hexdigest = digest.partition(":")
    if not sep or algorithm not in ("sha256", "sha384", "sha512") or not hexdigest:
        raise UnsafeContentError(f"unsupported digest {digest!r}")
    return hashlib.new(algorithm)


def _digest_of(data: bytes, like: str) -> str:
    """`data`'s digest with the algorithm of the digest `like` (sha256, sha384, sha512)."""
    hasher = _hasher(like)
    hasher.update(data)
    return f"{like.partition(':')[0]}:{hasher.hexdigest()}"


def _is_digest(reference: str) -> bool:
    return ":" in reference


def _media_type(content_type: str | None, data: bytes) -> str:
    """Content-Type unless it is generic; then the body's own mediaType."""
    value = (content_type or "").split(";", 1)[0].strip().lower()
    if value not in GENERIC_CONTENT_TYPES:
        return value
    with contextlib.suppress(ValueError, AttributeError):
        body = json.loads(data)
        if isinstance(body.get("mediaType"), str):
            return body["mediaType"]
        if body.get("schemaVersion") == 1:
            return "application/vnd.docker.distribution.manifest.v1+prettyjws"
    return value


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc.lower()


class _Tee:
    """Hands a blob's bytes to `write` once each and in order, however the download went:
    a resumed download continues where the last attempt stopped, a restarted one (the registry
    would not resume) sends again what `write` had already."""

    def __init__(self, write: Sink | None) -> None:
        self._write = write
        self._delivered = 0

    def __call__(self, position: int, chunk: bytes) -> None:
        if self._write is None:
            return
        skip = self._delivered - position
        if skip < len(chunk):
            self._write(chunk[skip:] if skip > 0 else chunk)
            self._delivered = position + len(chunk)


def _with_query(url: str, **params: str) -> str:
    return f"{url}{'&' if urlsplit(url).query else '?'}{urlencode(params)}"


class _FileBody:
    """A file streamed as a request body with a known length (requests sets Content-Length)."""

    def __init__(self, path: Path, size: int, progress: Progress | None) -> None:
        self.path, self.size, self.progress = path, size, progress

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[bytes]:
        sent = 0
        with open(self.path, "rb") as handle:
            while sent < self.size:
                chunk = handle.read(min(CHUNK, self.size - sent))
                if not chunk:
                    raise OSError(f"{self.path} shrank while uploading")
                sent += len(chunk)
                if self.progress:
                    self.progress(len(chunk))
                yield chunk


def _replaced(name: str, replacement: str) -> Callable[..., Any]:
    """Stand in for an oras method that must never run (it skips checks pod relies on)."""

    def method(self: RegistryClient, *args: Any, **kwargs: Any) -> Any:
        raise PodError(f"RegistryClient.{name} is not available: use {replacement}")

    method.__name__ = name
    method.__doc__ = f"oras' {name} is unsafe for an engine; pod uses {replacement}."
    return method


# --- the client ------------------------------------------------------------------------------


class RegistryClient(OrasRegistry):
    """Talks to one registry host; safe to share between threads (parallel layer fetch)."""

    def __init__(
        self,
        host: str,
        *,
        tls_verify: bool = True,
        insecure: bool = False,
        credentials: Credentials | None = None,
        cert_dirs: Iterable[Path] | None = None,
        cert_dir: Path | None = None,
        timeout: tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT),
        attempts: int = ATTEMPTS,
    ) -> None:
        api_host = DOCKER_HUB_API if host == DOCKER_HUB else host
        super().__init__(hostname=api_host, insecure=False, tls_verify=True, auth_backend="token")
        self.host = host
        self.api_host = api_host
        self.insecure = insecure or not tls_verify
        self.credentials = credentials
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self._tls_verify = not self.insecure
        self.prefix = "https"
        roots = list(cert_dirs) if cert_dirs is not None else default_cert_dirs()
        directory = cert_dir or host_cert_dir(self.api_host, roots)
        self.session = self._make_session(tls_context(directory, verify=not self.insecure))
        self._ping_lock = threading.Lock()
        self._token_lock = threading.Lock()
        self._pinged = False
        self._challenge: Challenge | None = None
        self._tokens: list[_Token] = []

    def __str__(self) -> str:
        return f"[registry {self.host}]"

    def _make_session(self, context: ssl.SSLContext) -> requests.Session:
        """No env-driven surprises: proxies are taken from the environment per request, but no
        netrc credentials and no REQUESTS_CA_BUNDLE replacing the certs.d configuration."""
        session = requests.Session()
        session.trust_env = False
        session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        session.headers["User-Agent"] = USER_AGENT
        session.mount("https://", _TLSAdapter(context))
        session.mount("http://", HTTPAdapter(pool_connections=4, pool_maxsize=16, max_retries=0))
        if self.insecure:
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        return session

    @property
    def base_url(self) -> str:
        return f"{self.prefix}://{self.api_host}"

    # --- low level: send, redirects, retries, auth ---

    def _send(
        self, method: str, url: str, headers: dict[str, str], body: Body, stream: bool
    ) -> requests.Response:
        """One request; GET/HEAD redirects followed here so credentials never change hosts."""
        origin = _origin(url)
        for _ in range(MAX_REDIRECTS + 1):
            response = self.session.request(
                method,
                url,
                headers=headers,
                data=body() if callable(body) else body,
                stream=stream,
                timeout=self.timeout,
                allow_redirects=False,
                verify=not self.insecure,
                proxies=requests.utils.get_environ_proxies(url),
            )
            location = response.headers.get("Location")
            if response.status_code not in REDIRECT_STATUSES or method not in ("GET", "HEAD"):
                return response
            if not location:
                return response
            response.close()
            url = urljoin(url, location)
            if _origin(url) != origin:
                headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        raise RegistryError(
            f'{_go_method(method)} "{url}": stopped after {MAX_REDIRECTS} redirects'
        )

    def _retrying(
        self, method: str, url: str, send: Callable[[], requests.Response], attempts: int
    ) -> requests.Response:
        """Bounded retries: only connection resets, 429 and 5xx; short backoff."""
        for attempt in range(1, attempts + 1):
            try:
                response = send()
            except requests.RequestException as err:
                transient = _is_transient(err)
                if transient and attempt < attempts:
                    log.debug("%s %s: %s, retrying", method, url, err)
                    time.sleep(self._delay(attempt))
                    continue
                kind = _Transient if transient else RegistryError
                raise kind(f'{_go_method(method)} "{url}": {describe_error(err, url)}') from None
            status = response.status_code
            if (status == 429 or status >= 500) and attempt < attempts:
                delay = self._delay(attempt, response.headers.get("Retry-After"))
                log.debug("%s %s: status %d, retrying in %.1fs", method, url, status, delay)
                response.close()
                time.sleep(delay)
                continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _delay(attempt: int, retry_after: str | None = None) -> float:
        if retry_after and retry_after.isdigit():
            return min(float(retry_after), MAX_BACKOFF)
        return min(BACKOFF * 2 ** (attempt - 1), MAX_BACKOFF)

    def _request(
        self,
        method: str,
        path: str,
        *,
        scope: frozenset[str] = frozenset(),
        headers: dict[str, str] | None = None,
        body: Body = None,
        stream: bool = False,
        retry: bool = True,
    ) -> requests.Response:
        """A registry API request (path or absolute URL) with auth for `scope` and retries."""
        self.ping()
        url = urljoin(self.base_url + "/", path)
        return self._retrying(
            method,
            url,
            lambda: self._send_authorized(method, url, scope, dict(headers or {}), body, stream),
            self.attempts if retry else 1,
        )

    def _send_authorized(
        self,
        method: str,
        url: str,
        scope: frozenset[str],
        headers: dict[str, str],
        body: Body,
        stream: bool,
    ) -> requests.Response:
        """Send with the credentials the registry asked for; answer one 401 challenge."""
        own_host = _origin(url)[1] == self.api_host.lower()
        sent = self._authorization(scope) if own_host else None
        if sent:
            headers["Authorization"] = sent
        response = self._send(method, url, headers, body, stream)
        if response.status_code != 401 or not own_host:
            return response
        challenge = self._learn(response)
        if challenge is None:
            return response
        wanted = scope | _split_scope(challenge.params.get("scope", ""))
        retry = self._authorization(wanted, refresh=True)
        if not retry or retry == sent:
            return response
        response.close()
        headers["Authorization"] = retry
        return self._send(method, url, headers, body, stream)

    def _learn(self, response: requests.Response) -> Challenge | None:
        """Remember the registry's preferred challenge (Bearer over Basic)."""
        challenges = parse_challenges(response.headers.get("WWW-Authenticate", ""))
        chosen = next((c for c in challenges if c.scheme == "bearer"), None) or next(
            (c for c in challenges if c.scheme == "basic"), None
        )
        if chosen is not None:
            self._challenge = chosen
        return chosen

    def _authorization(self, scope: frozenset[str], refresh: bool = False) -> str | None:
        """The Authorization value for `scope`: Basic credentials or a Bearer token."""
        challenge = self._challenge
        if challenge is None:
            return None
        creds = self.credentials
        if challenge.scheme == "basic":
            if not creds or not (creds.username or creds.password):
                return None
            pair = f"{creds.username}:{creds.password}".encode()
            return "Basic " + base64.b64encode(pair).decode()
        if challenge.scheme != "bearer":
            return None
        with self._token_lock:
            token = None if refresh else self._cached_token(scope)
            if token is None:
                token = self._fetch_token(challenge, scope)
                self._tokens = [t for t in self._tokens if t.expires > time.time()] + [token]
        return f"Bearer {token.value}"

    def _cached_token(self, scope: frozenset[str]) -> _Token | None:
        now = time.time()
        for token in self._tokens:
            if token.expires > now and scope <= token.scope:
                return token
        return None

    def _fetch_token(self, challenge: Challenge, scope: frozenset[str]) -> _Token:
        """GET realm?service=&scope= (Basic credentials if any) or the OAuth2 refresh-token POST."""
        realm = challenge.params.get("realm", "")
        if not realm.startswith(("https://", "http://")):
            raise AuthenticationError(f"{self.host}: bearer challenge without a usable realm")
        service = challenge.params.get("service", "")
        creds = self.credentials
        send: Callable[[], requests.Response]
        common: dict[str, Any] = {"timeout": self.timeout, "verify": not self.insecure}
        common["proxies"] = requests.utils.get_environ_proxies(realm)
        if creds and creds.identity_token:
            form = {
                "grant_type": "refresh_token",
                "refresh_token": creds.identity_token,
                "client_id": "pod",
                "service": service,
                "scope": " ".join(scope_params(scope)),
            }
            send = lambda: self.session.post(realm, data=form, stream=True, **common)  # noqa: E731
            method = "POST"
        else:
            params = ([("service", service)] if service else []) + [
                ("scope", s) for s in scope_params(scope)
            ]
            basic = (creds.username, creds.password) if creds and creds.username else None
            send = lambda: self.session.get(  # noqa: E731
                realm, params=params, auth=basic, stream=True, **common
            )
            method = "GET"
        response = self._retrying(method, realm, send, self.attempts)
        with response:
            if response.status_code in (401, 403):
                why = "invalid username/password" if creds else "authentication required"
                raise AuthenticationError(
                    f"unable to retrieve auth token: {why}: {registry_message(response)}"
                )
            if response.status_code != 200:
                raise RegistryError(
                    f"unable to retrieve auth token from {realm}: {registry_message(response)}"
                )
            body = _read_limited(response, TOKEN_BODY_LIMIT)
        try:
            reply = json.loads(body or b"")
            value = reply.get("token") or reply.get("access_token")
            lifetime = float(reply.get("expires_in") or 60)
        except (ValueError, AttributeError, TypeError):
            value, lifetime = None, 0.0
        if not isinstance(value, str) or not value:
            raise AuthenticationError(f"unable to retrieve auth token from {realm}: no token")
        return _Token(scope, value, time.time() + max(lifetime, 10) - 5)

    def _error(self, response: requests.Response, action: str) -> RegistryError:
        message = registry_message(response)
        kind = AuthenticationError if response.status_code in (401, 403) else RegistryError
        if response.status_code == 429 or response.status_code >= 500:
            kind = _Transient
        return kind(f"{action}: {message}")

    # --- ping and login ---

    def ping(self) -> None:
        """GET /v2/ once: picks https (http for an insecure registry), learns the challenge."""
        with self._ping_lock:
            if self._pinged:
                return
            try:
                self._ping_scheme("https")
            except RegistryError as https_error:
                if not self.insecure:
                    hint = self._hint(https_error)
                    raise RegistryError(
                        f"pinging container registry {self.host}: {https_error}{hint}"
                    ) from None
                try:
                    self._ping_scheme("http")
                except RegistryError:
                    raise RegistryError(
                        f"pinging container registry {self.host}: {https_error}"
                    ) from None
                self.prefix = "http"
            self._pinged = True

    def _hint(self, error: RegistryError) -> str:
        text = str(error)
        if "tls:" in text or "HTTPS client" in text:
            return (
                f" (for a registry without valid TLS use --tls-verify=false or `insecure = true` in"
                f" registries.conf; a private CA goes in /etc/containers/certs.d/{self.api_host}/)"
            )
        return ""

    def _ping_scheme(self, scheme: str) -> None:
        url = f"{scheme}://{self.api_host}/v2/"
        port = invalid_port(self.api_host)
        if port is not None:  # urllib3 would dial port 0 as the scheme's default port
            raise RegistryError(f'Get "{url}": dial tcp: address {port}: invalid port')
        response = self._retrying(
            "GET", url, lambda: self._send("GET", url, {}, None, True), self.attempts
        )
        with response:
            if response.status_code == 401:
                self._learn(response)
            elif response.status_code != 200:
                raise RegistryError(f'Get "{url}": {registry_message(response)}')

    def check_login(self) -> None:
        """Verify the credentials (podman login): GET /v2/ with them, a token when Bearer."""
        self.ping()
        failed = AuthenticationError(f'logging into "{self.host}": invalid username/password')
        if self._challenge is None:
            return
        if not self.credentials:
            raise AuthenticationError(f'logging into "{self.host}": authentication required')
        try:
            response = self._request("GET", "/v2/", scope=frozenset())
        except AuthenticationError as err:
            if "invalid username/password" in str(err):
                raise failed from None
            raise
        with response:
            if response.status_code == 401:
                raise failed
            if response.status_code != 200:
                raise self._error(response, f'logging into "{self.host}"')

    def login(self, username: str, password: str, *args: Any, **kwargs: Any) -> dict[str, str]:
        """oras-compatible login: verify the credentials; storing them is pod.image.auth's job."""
        self.credentials = Credentials(username, password)
        self.logout_tokens()
        self.check_login()
        return {"Status": "Login Succeeded"}

    def logout(self, hostname: str | None = None) -> None:
        """Forget credentials and tokens held by this client (auth files: pod.image.auth)."""
        self.credentials = None
        self.logout_tokens()

    def logout_tokens(self) -> None:
        with self._token_lock:
            self._tokens = []

    # --- manifests ---

    def get_manifest(
        self, repository: str, reference: str, accept: list[str]
    ) -> tuple[bytes, str, str]:
        """Raw manifest bytes, media type and digest (verified when fetched by digest)."""
        where = f"reading manifest {reference} in {self.host}/{repository}"
        response = self._request(
            "GET",
            f"/v2/{repository}/manifests/{reference}",
            scope=repo_scope(repository),
            headers={"Accept": ", ".join(accept)},
            stream=True,
        )
        with response:
            if response.status_code == 404:
                raise ManifestUnknownError(f"{where}: {registry_message(response)}")
            if response.status_code != 200:
                raise self._error(response, where)
            try:
                data = _read_limited(response, MANIFEST_LIMIT)
            except (urllib3.exceptions.HTTPError, OSError) as err:
                raise RegistryError(f"{where}: {describe_error(err, response.url)}") from None
            content_type = response.headers.get("Content-Type")
            reported = response.headers.get("Docker-Content-Digest")
        if data is None:
            raise UnsafeContentError(f"{where}: manifest is larger than {MANIFEST_LIMIT} bytes")
        if _is_digest(reference):
            actual = _digest_of(data, reference)
            if actual != reference:
                raise DigestMismatchError(f"{where}: manifest digest {actual} does not match")
            return data, _media_type(content_type, data), reference
        reported = (reported or "").strip()
        if reported:
            # By tag nothing else vouches for the bytes: what the registry says it stored must
            # be what arrived (a proxy or a broken mirror could have changed them).
            try:
                actual = _digest_of(data, reported)
            except UnsafeContentError as err:
                raise UnsafeContentError(f"{where}: Docker-Content-Digest: {err}") from None
            if actual != reported:
                raise DigestMismatchError(
                    f"{where}: manifest digest {actual} does not match the registry's "
                    f"Docker-Content-Digest {reported}"
                )
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        return data, _media_type(content_type, data), digest

    def put_manifest(self, repository: str, reference: str, data: bytes, media_type: str) -> str:
        """PUT the exact bytes with their media type; returns the sha256 digest of the bytes."""
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        where = f"uploading manifest {reference} to {self.host}/{repository}"
        if _is_digest(reference) and reference != digest:
            raise DigestMismatchError(f"{where}: the manifest's digest is {digest}")
        response = self._request(
            "PUT",
            f"/v2/{repository}/manifests/{reference}",
            scope=repo_scope(repository, push=True),
            headers={"Content-Type": media_type},
            body=data,
        )
        with response:
            if response.status_code not in (200, 201, 202):
                raise self._error(response, where)
            reported = response.headers.get("Docker-Content-Digest")
        if reported and reported.startswith("sha256:") and reported != digest:
            raise DigestMismatchError(f"{where}: registry stored {reported}, sent {digest}")
        return digest

    # --- blobs ---

    def blob_exists(self, repository: str, digest: str) -> bool:
        """HEAD the blob: True when the registry has it in this repository."""
        response = self._request(
            "HEAD", f"/v2/{repository}/blobs/{digest}", scope=repo_scope(repository)
        )
        with response:
            if response.status_code == 200:
                return True
            if response.status_code == 404:
                return False
            raise self._error(response, f"checking blob {digest} in {self.host}/{repository}")

    def fetch_blob(
        self,
        repository: str,
        digest: str,
        size: int,
        dest: Path,
        progress: Progress | None = None,
        sink: Sink | None = None,
    ) -> None:
        """Stream a blob to `dest`, resuming a partial file; verify size and digest.

        On a mismatch the file is deleted and DigestMismatchError raised; when the connection
        breaks the partial file is kept and resumed on the next attempt. `sink` gets the blob's
        bytes in order as they arrive (a partial file's first); that they are right is known
        only when this returns.
        """
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        where = f"fetching blob {digest} from {self.host}/{repository}"
        _hasher(digest)
        tee = _Tee(sink)
        for attempt in range(1, self.attempts + 1):
            try:
                self._fetch_blob_once(repository, digest, size, dest, progress, tee, where)
                return
            except _Interrupted as err:
                if attempt == self.attempts:
                    raise RegistryError(f"{where}: {err}") from None
                log.debug("%s: %s, resuming", where, err)
                time.sleep(self._delay(attempt))

    def _fetch_blob_once(
        self,
        repository: str,
        digest: str,
        size: int,
        dest: Path,
        progress: Progress | None,
        tee: _Tee,
        where: str,
    ) -> None:
        hasher, offset = self._partial(dest, digest, size, tee)
        if offset == size:
            self._verify_blob(dest, digest, hasher, offset, size, where)
            return
        path = f"/v2/{repository}/blobs/{digest}"
        headers = {"Accept-Encoding": "identity"}
        if offset:
            headers["Range"] = f"bytes={offset}-"
        try:
            response = self._request(
                "GET", path, scope=repo_scope(repository), headers=headers, stream=True, retry=False
            )
        except _Transient as err:
            raise _Interrupted(str(err)) from None
        with response:
            status = response.status_code
            if offset and (status == 416 or (status == 206 and _range_start(response) != offset)):
                dest.unlink()
                raise _Interrupted("the registry refused to resume; downloading again")
            if status == 200 or (status == 206 and offset):
                if status == 200:
                    hasher, offset = _hasher(digest), 0
                elif progress:
                    progress(offset)
                total = self._stream_to(response, dest, offset, size, hasher, progress, tee, where)
            elif status == 429 or status >= 500:
                raise _Interrupted(registry_message(response))
            else:
                raise self._error(response, where)
        self._verify_blob(dest, digest, hasher, total, size, where)

    @staticmethod
    def _partial(dest: Path, digest: str, size: int, tee: _Tee) -> tuple[Any, int]:
        """Hash (and hand on) what an earlier attempt left in `dest` (too long: start again)."""
        hasher = _hasher(digest)
        try:
            offset = dest.stat().st_size
        except FileNotFoundError:
            return hasher, 0
        if offset > size:
            dest.unlink()
            return hasher, 0
        position = 0
        with open(dest, "rb") as handle:
            for chunk in iter(lambda: handle.read(CHUNK), b""):
                hasher.update(chunk)
                tee(position, chunk)
                position += len(chunk)
        return hasher, offset

    @staticmethod
    def _stream_to(
        response: requests.Response,
        dest: Path,
        offset: int,
        size: int,
        hasher: Any,
        progress: Progress | None,
        tee: _Tee,
        where: str,
    ) -> int:
        """Append the body to `dest` (truncate when not resuming); stop past the declared size.

        Not fsynced, as store.blobs commits blobs: every use checks content again."""
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and offset + int(declared) > size:
            dest.unlink(missing_ok=True)
            raise DigestMismatchError(
                f"{where}: the registry sends {offset + int(declared)} bytes, expected {size}"
            )
        total = offset
        chunks = response.raw.stream(CHUNK, decode_content=False)
        try:
            with open(dest, "ab" if offset else "wb") as out:
                while True:
                    try:
                        chunk = next(chunks)
                    except StopIteration:
                        break
                    except (
                        urllib3.exceptions.HTTPError,
                        requests.RequestException,
                        OSError,
                    ) as err:
                        raise _Interrupted(describe_error(err, response.url)) from None
                    if total + len(chunk) > size:
                        out.close()
                        dest.unlink(missing_ok=True)
                        raise DigestMismatchError(
                            f"{where}: more data than the declared size of {size} bytes"
                        )
                    out.write(chunk)
                    hasher.update(chunk)
                    tee(total, chunk)
                    total += len(chunk)
                    if progress:
                        progress(len(chunk))
        except OSError as err:
            raise StoreError(f"writing {dest}: {err.strerror or err}") from None
        return total

    @staticmethod
    def _verify_blob(
        dest: Path, digest: str, hasher: Any, total: int, size: int, where: str
    ) -> None:
        if total != size:
            dest.unlink(missing_ok=True)
            raise DigestMismatchError(f"{where}: got {total} bytes, expected {size}")
        actual = f"{digest.partition(':')[0]}:{hasher.hexdigest()}"
        if actual != digest:
            dest.unlink(missing_ok=True)
            raise DigestMismatchError(f"{where}: digest mismatch: got {actual}")

    def push_blob(
        self,
        repository: str,
        digest: str,
        size: int,
        path: Path,
        progress: Progress | None = None,
    ) -> bool:
        """Upload a file (streamed, never read whole); False when the registry already has it."""
        path = Path(path)
        where = f"uploading blob {digest} to {self.host}/{repository}"
        actual = path.stat().st_size
        if actual != size:
            raise DigestMismatchError(f"{where}: {path} has {actual} bytes, expected {size}")
        if self.blob_exists(repository, digest):
            return False
        for attempt in range(1, self.attempts + 1):
            try:
                self._upload(repository, digest, size, path, progress, where)
                return True
            except _Transient as err:
                if attempt == self.attempts:
                    raise RegistryError(str(err)) from None
                log.debug("%s: %s, starting over", where, err)
                time.sleep(self._delay(attempt))
        return True  # pragma: no cover

    def _start_upload(self, repository: str, where: str) -> str:
        response = self._request(
            "POST",
            f"/v2/{repository}/blobs/uploads/",
            scope=repo_scope(repository, push=True),
            body=b"",
            retry=False,
        )
        with response:
            if response.status_code != 202 or not response.headers.get("Location"):
                raise self._error(response, where)
            return urljoin(response.url, response.headers["Location"])

    def _upload(
        self,
        repository: str,
        digest: str,
        size: int,
        path: Path,
        progress: Progress | None,
        where: str,
    ) -> None:
        """POST a session, then one PUT streaming the file (monolithic, constant memory)."""
        location = self._start_upload(repository, where)
        body: Body = (lambda: _FileBody(path, size, progress)) if size else b""
        response = self._request(
            "PUT",
            _with_query(location, digest=digest),
            scope=repo_scope(repository, push=True),
            headers={"Content-Type": "application/octet-stream"},
            body=body,
            retry=False,
        )
        with response:
            if response.status_code != 201:
                error = self._error(response, where)
                if "digest invalid" in str(error):
                    raise DigestMismatchError(str(error))
                raise error
            reported = response.headers.get("Docker-Content-Digest")
        if reported and reported != digest:
            raise DigestMismatchError(f"{where}: registry stored {reported}")

    def mount_blob(self, repository: str, digest: str, from_repository: str) -> bool:
        """Cross-repository mount: True when mounted (201); False (session cancelled) on 202."""
        scope = repo_scope(repository, push=True) | repo_scope(from_repository)
        query = urlencode({"mount": digest, "from": from_repository})
        response = self._request(
            "POST", f"/v2/{repository}/blobs/uploads/?{query}", scope=scope, body=b""
        )
        with response:
            if response.status_code == 201:
                return True
            if response.status_code != 202:
                raise self._error(response, f"mounting blob {digest} into {repository}")
            location = response.headers.get("Location")
            if location:
                location = urljoin(response.url, location)
        if location:
            with contextlib.suppress(RegistryError):
                self._request("DELETE", location, scope=scope, retry=False).close()
        return False

    def list_tags(self, repository: str, limit: int = 100_000) -> list[str]:
        """All tags of a repository, following the registry's pagination (`Link` headers)."""
        tags: list[str] = []
        path: str | None = f"/v2/{repository}/tags/list?n=1000"
        where = f"listing tags of {self.host}/{repository}"
        while path and len(tags) < limit:
            response = self._request("GET", path, scope=repo_scope(repository), stream=True)
            with response:
                if response.status_code != 200:
                    raise self._error(response, where)
                body = _read_limited(response, MANIFEST_LIMIT)
                link = response.headers.get("Link", "")
                url = response.url
            try:
                page = json.loads(body or b"").get("tags") or []
            except (ValueError, AttributeError):
                raise RegistryError(f"{where}: invalid reply") from None
            tags += [tag for tag in page if isinstance(tag, str)]
            match = re.match(r"\s*<([^>]+)>\s*;\s*rel=\"?next\"?", link)
            path = urljoin(url, match.group(1)) if match else None
        return tags[:limit]

    # --- oras API surface ---

    def do_request(
        self,
        url: str,
        method: str = "GET",
        data: bytes | None = None,  # oras sends bytes (its own signature says dict too)
        headers: dict | None = None,
        json: dict | None = None,
        stream: bool = False,
    ) -> requests.Response:
        """oras' request entry point, rerouted through the safe transport."""
        headers = dict(headers or {})
        if json is not None:
            data = _json_bytes(json)
            headers.setdefault("Content-Type", "application/json")
        match = re.search(r"/v2/(.+?)/(?:manifests|blobs|tags)/", urlsplit(url).path)
        scope: frozenset[str] = frozenset()
        if match:
            name = match.group(1)
            scope = repo_scope(name, push=method not in ("GET", "HEAD"))
            if method == "DELETE":
                scope |= {f"repository:{name}:delete"}
        return self._request(method, url, scope=scope, headers=headers, body=data, stream=stream)

    download_blob = _replaced("download_blob", "fetch_blob")
    _download_blob = _replaced("_download_blob", "fetch_blob")
    upload_blob = _replaced("upload_blob", "push_blob")
    _upload_blob = _replaced("_upload_blob", "push_blob")
    put_upload = _replaced("put_upload", "push_blob")
    _put_upload = _replaced("_put_upload", "push_blob")
    chunked_upload = _replaced("chunked_upload", "push_blob")
    _chunked_upload = _replaced("_chunked_upload", "push_blob")
    upload_manifest = _replaced("upload_manifest", "put_manifest")
    _upload_manifest = _replaced("_upload_manifest", "put_manifest")
    push = _replaced("push", "push_blob and put_manifest")
    pull = _replaced("pull", "get_manifest and fetch_blob")


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value).encode()


def _range_start(response: requests.Response) -> int:
    """The first byte of a 206 answer (`Content-Range: bytes 100-999/1000`); -1 if unreadable."""
    match = re.match(r"bytes\s+(\d+)-", response.headers.get("Content-Range", ""))
    return int(match.group(1)) if match else -1

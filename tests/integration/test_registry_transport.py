"""pod.image.registry against real registries (Debian's docker-registry) and small fake servers.

Each defect of oras 0.2.43 that RegistryClient replaces has a test here that would catch it:
tokens per scope, no credentials on cross-host redirects, bounded retries with timeouts, digest and
size checks while streaming (with Range resume), exact manifest bytes, streamed uploads.

The real registries are the session's (conftest.py: `registry`, `tls_registry`, `token_registry`
with its token server); the fake servers, for what a real registry will not do, are
registry_server's FakeServer.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import socket
import time
import tracemalloc
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from image_builder import (
    MT_OCI_CONFIG,
    MT_OCI_INDEX,
    MT_OCI_LAYER,
    MT_OCI_MANIFEST,
    served_manifest,
    sha256_digest,
)
from registry_server import (
    TOKEN_FIELDS,
    FakeServer,
    fake_registry,
    fake_server,
    free_port,
    reply,
)

from pod.errors import (
    AuthenticationError,
    DigestMismatchError,
    ManifestUnknownError,
    RegistryError,
    UnsafeContentError,
)
from pod.image.auth import Credentials
from pod.image.registry import RegistryClient

pytestmark = pytest.mark.needs_tool("docker-registry", "openssl")


def blob_file(directory: Path, data: bytes) -> tuple[Path, str]:
    path = directory / f"blob-{uuid.uuid4().hex}"
    path.write_bytes(data)
    return path, sha256_digest(data)


def fake_client(server: FakeServer, **kwargs: object) -> RegistryClient:
    return RegistryClient(server.host, insecure=True, cert_dirs=[], **kwargs)  # type: ignore[arg-type]


def image_manifest(config: tuple[str, int], layers: list[tuple[str, int]]) -> bytes:
    """An OCI manifest with unusual formatting: the bytes must survive exactly."""
    doc = {
        "schemaVersion": 2,
        "mediaType": MT_OCI_MANIFEST,
        "config": {"mediaType": MT_OCI_CONFIG, "digest": config[0], "size": config[1]},
        "layers": [{"mediaType": MT_OCI_LAYER, "digest": d, "size": s} for d, s in layers],
        "annotations": {"z.last": "1", "a.first": "2"},
    }
    return json.dumps(doc, indent=7).encode() + b"\n\n"


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture
def plain(registry) -> RegistryClient:
    return RegistryClient(registry.host, insecure=True, cert_dirs=[])


def push_image(client: RegistryClient, repository: str, tmp: Path, tag: str = "v1") -> dict:
    """Push a config and one layer plus a manifest; returns what was pushed."""
    layer, config = os.urandom(300_000), b'{"architecture":"amd64","os":"linux"}'
    layer_path, layer_digest = blob_file(tmp, layer)
    config_path, config_digest = blob_file(tmp, config)
    client.push_blob(repository, layer_digest, len(layer), layer_path)
    client.push_blob(repository, config_digest, len(config), config_path)
    manifest = image_manifest((config_digest, len(config)), [(layer_digest, len(layer))])
    digest = client.put_manifest(repository, tag, manifest, MT_OCI_MANIFEST)
    return {"layer": layer, "layer_digest": layer_digest, "manifest": manifest, "digest": digest}


# --- real registry: round trips --------------------------------------------------------------


def test_round_trip_keeps_exact_manifest_bytes(plain: RegistryClient, tmp_path: Path) -> None:
    pushed = push_image(plain, "round/trip", tmp_path)
    assert pushed["digest"] == sha256_digest(pushed["manifest"])
    data, media_type, digest = plain.get_manifest("round/trip", "v1", [MT_OCI_MANIFEST])
    assert (data, media_type, digest) == (pushed["manifest"], MT_OCI_MANIFEST, pushed["digest"])
    by_digest = plain.get_manifest("round/trip", pushed["digest"], [MT_OCI_MANIFEST])
    assert by_digest == (pushed["manifest"], MT_OCI_MANIFEST, pushed["digest"])
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
            "mediaType": MT_OCI_INDEX,
            "manifests": [{"mediaType": MT_OCI_MANIFEST, "digest": pushed["digest"], "size": size}],
        },
        separators=(",", ":"),
    ).encode()
    digest = plain.put_manifest("media/type", "multi", index, MT_OCI_INDEX)
    assert plain.get_manifest("media/type", "multi", [MT_OCI_INDEX, MT_OCI_MANIFEST]) == (
        index,
        MT_OCI_INDEX,
        digest,
    )


def test_push_blob_skips_existing_and_mounts(plain: RegistryClient, tmp_path: Path) -> None:
    path, digest = blob_file(tmp_path, os.urandom(1000))
    assert plain.push_blob("mount/source", digest, 1000, path) is True
    assert plain.push_blob("mount/source", digest, 1000, path) is False
    assert plain.blob_exists("mount/target", digest) is False
    assert plain.mount_blob("mount/target", digest, "mount/source") is True
    assert plain.blob_exists("mount/target", digest) is True
    missing = sha256_digest(b"not pushed anywhere")
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
        plain.get_manifest("no/such", "latest", [MT_OCI_MANIFEST])


def test_plain_http_needs_insecure(registry) -> None:
    client = RegistryClient(registry.host, cert_dirs=[])
    with pytest.raises(RegistryError, match="server gave HTTP response to HTTPS client"):
        client.get_manifest("any/thing", "latest", [MT_OCI_MANIFEST])
    insecure = RegistryClient(registry.host, tls_verify=False, cert_dirs=[])
    insecure.ping()
    assert insecure.prefix == "http"


# --- TLS + htpasswd --------------------------------------------------------------------------


def user_of(served) -> Credentials:
    """The one user the TLS or token registry knows."""
    return Credentials(served.username, served.password)


def test_tls_with_ca_from_certs_d(tls_registry, tmp_path: Path) -> None:
    client = RegistryClient(
        tls_registry.host, credentials=user_of(tls_registry), cert_dirs=[tls_registry.certs_d]
    )
    client.check_login()
    pushed = push_image(client, "tls/repo", tmp_path)
    assert client.get_manifest("tls/repo", "v1", [MT_OCI_MANIFEST])[0] == pushed["manifest"]
    assert client.prefix == "https"


def test_tls_unknown_ca_is_one_clear_line(tls_registry) -> None:
    client = RegistryClient(tls_registry.host, credentials=user_of(tls_registry), cert_dirs=[])
    with pytest.raises(RegistryError) as caught:
        client.check_login()
    message = str(caught.value)
    assert message.startswith(f'pinging container registry {tls_registry.host}: Get "https://')
    assert "x509: certificate signed by unknown authority" in message
    assert "\n" not in message


def test_tls_insecure_skips_verification(tls_registry) -> None:
    client = RegistryClient(
        tls_registry.host, insecure=True, credentials=user_of(tls_registry), cert_dirs=[]
    )
    client.check_login()
    assert client.prefix == "https"


def test_basic_auth_wrong_password(tls_registry) -> None:
    bad = Credentials(tls_registry.username, "wrong")
    client = RegistryClient(tls_registry.host, credentials=bad, cert_dirs=[tls_registry.certs_d])
    with pytest.raises(AuthenticationError, match="invalid username/password"):
        client.check_login()
    anonymous = RegistryClient(tls_registry.host, cert_dirs=[tls_registry.certs_d])
    with pytest.raises(AuthenticationError):
        anonymous.get_manifest("tls/repo", "v1", [MT_OCI_MANIFEST])


# --- token auth ------------------------------------------------------------------------------


def scopes_asked(token_registry, start: int = 0) -> list[tuple[str, ...]]:
    """The scopes of each token request from the `start`-th on."""
    return [tuple(request.scopes) for request in token_registry.requests[start:]]


def test_tokens_are_per_scope(token_registry, tmp_path: Path) -> None:
    """oras re-used the first token for every scope: the second repository or a push failed."""
    user = user_of(token_registry)
    client = RegistryClient(token_registry.host, insecure=True, credentials=user)
    start = len(token_registry.requests)
    first = push_image(client, "team/one", tmp_path)
    second = push_image(client, "team/two", tmp_path)
    assert client.get_manifest("team/one", "v1", [MT_OCI_MANIFEST])[0] == first["manifest"]
    assert client.get_manifest("team/two", "v1", [MT_OCI_MANIFEST])[0] == second["manifest"]
    asked = scopes_asked(token_registry, start)
    assert len(asked) == len(set(asked)), f"a token was re-used for another scope: {asked}"
    scopes = set(asked)
    assert ("repository:team/one:pull",) in scopes
    assert ("repository:team/one:pull,push",) in scopes
    assert ("repository:team/two:pull,push",) in scopes

    reader = RegistryClient(token_registry.host, insecure=True, credentials=user)
    reader.get_manifest("team/one", "v1", [MT_OCI_MANIFEST])
    reader.get_manifest("team/two", "v1", [MT_OCI_MANIFEST])
    push_image(reader, "team/one", tmp_path, tag="v2")
    before = len(token_registry.requests)
    reader.get_manifest("team/one", "v2", [MT_OCI_MANIFEST])
    assert len(token_registry.requests) == before, "a cached pull,push token covers pull"


def test_token_mount_asks_for_both_repositories(token_registry, tmp_path: Path) -> None:
    client = RegistryClient(token_registry.host, insecure=True, credentials=user_of(token_registry))
    pushed = push_image(client, "mount/from", tmp_path)
    assert client.mount_blob("mount/to", pushed["layer_digest"], "mount/from") is True
    assert ("repository:mount/from:pull", "repository:mount/to:pull,push") in scopes_asked(
        token_registry
    )


def test_anonymous_token_and_access_token_field(token_registry, tmp_path: Path) -> None:
    writer = RegistryClient(token_registry.host, insecure=True, credentials=user_of(token_registry))
    pushed = push_image(writer, "public/image", tmp_path)
    token_registry.tokens.token_fields = ("access_token",)
    try:
        anonymous = RegistryClient(token_registry.host, insecure=True)
        data, _, _ = anonymous.get_manifest("public/image", "v1", [MT_OCI_MANIFEST])
        assert data == pushed["manifest"]
        assert token_registry.requests[-1].username is None
        path, digest = blob_file(tmp_path, b"anonymous push")
        with pytest.raises(AuthenticationError):
            anonymous.push_blob("public/image", digest, 14, path)
    finally:
        token_registry.tokens.token_fields = TOKEN_FIELDS


def test_token_login_checks_password(token_registry) -> None:
    good = RegistryClient(token_registry.host, insecure=True, credentials=user_of(token_registry))
    good.check_login()
    wrong = Credentials(token_registry.username, "x")
    bad = RegistryClient(token_registry.host, insecure=True, credentials=wrong)
    with pytest.raises(AuthenticationError, match="invalid username/password"):
        bad.check_login()
    with pytest.raises(AuthenticationError, match="invalid username/password"):
        bad.get_manifest("team/one", "v1", [MT_OCI_MANIFEST])


# --- fake servers: what a real registry will not do ------------------------------------------


def test_credentials_never_follow_a_redirect_to_another_host(tmp_path: Path) -> None:
    data = os.urandom(50_000)
    digest = sha256_digest(data)

    def storage_app(handler: http.server.BaseHTTPRequestHandler) -> None:
        reply(handler, 200, data)

    with fake_server(storage_app, host="127.0.0.2") as storage:

        def blob(handler: http.server.BaseHTTPRequestHandler) -> None:
            reply(handler, 307, b"", {"Location": f"{storage.url}/bucket/blob?sig=abc"})

        app = fake_registry({"/v2/repo/blobs/": blob}, require_basic=True)
        with fake_server(app) as registry:
            client = fake_client(registry, credentials=Credentials("alice", "wonderland"))
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
            fake_client(server).fetch_blob("repo", sha256_digest(good), len(good), dest)
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
            fake_client(server).fetch_blob("repo", sha256_digest(b"small"), 5, dest)
        assert time.monotonic() - started < 10
        assert not dest.exists()
    assert sum(sent) < 256 * 1024 * 1024


def test_short_blob_is_rejected(tmp_path: Path) -> None:
    data = os.urandom(1000)
    app = fake_registry({"/v2/repo/blobs/": lambda h: reply(h, 200, data[:600])})
    with fake_server(app) as server:
        with pytest.raises(DigestMismatchError, match="got 600 bytes"):
            fake_client(server).fetch_blob("repo", sha256_digest(data), len(data), tmp_path / "b")
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
        handed: list[bytes] = []
        fake_client(server).fetch_blob(
            "repo", sha256_digest(data), len(data), dest, sink=handed.append
        )
        assert dest.read_bytes() == data
        assert server.requests_to("/blobs/")[0].headers.get("Range") == "bytes=123456-"
    assert b"".join(handed) == data  # the partial file's bytes first, none twice


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
        handed: list[bytes] = []
        fake_client(server).fetch_blob(
            "repo", sha256_digest(data), len(data), dest, sink=handed.append
        )
        assert dest.read_bytes() == data
    assert calls[0] == "" and calls[1].startswith("bytes=")
    assert b"".join(handed) == data  # what an unpacker reading along gets: each byte once


def test_server_errors_are_retried_a_bounded_number_of_times() -> None:
    """oras slept up to 131 s; three attempts with a short backoff finish in seconds."""
    app = fake_registry({"/v2/": lambda h: reply(h, 500, b'{"errors":[{"code":"X"}]}')})
    with fake_server(app) as server:
        started = time.monotonic()
        with pytest.raises(RegistryError):
            fake_client(server).get_manifest("repo", "latest", [MT_OCI_MANIFEST])
        assert time.monotonic() - started < 5
        assert len(server.requests_to("/manifests/")) == 3


def test_a_transient_error_is_retried() -> None:
    manifest = image_manifest((sha256_digest(b"c"), 1), [])
    answers = iter([503, 200])

    def flaky(handler: http.server.BaseHTTPRequestHandler) -> None:
        status = next(answers)
        reply(
            handler, status, manifest if status == 200 else b"", {"Content-Type": MT_OCI_MANIFEST}
        )

    with fake_server(fake_registry({"/v2/repo/manifests/": flaky})) as server:
        data, media_type, _ = fake_client(server).get_manifest("repo", "v1", [MT_OCI_MANIFEST])
        assert (data, media_type) == (manifest, MT_OCI_MANIFEST)


def test_connection_reset_is_retried() -> None:
    manifest = image_manifest((sha256_digest(b"c"), 1), [])
    calls: list[int] = []

    def drop_first(handler: http.server.BaseHTTPRequestHandler) -> None:
        calls.append(1)
        if len(calls) == 1:
            handler.connection.shutdown(socket.SHUT_RDWR)
            return
        reply(handler, 200, manifest, {"Content-Type": MT_OCI_MANIFEST})

    with fake_server(fake_registry({"/v2/repo/manifests/": drop_first})) as server:
        assert fake_client(server).get_manifest("repo", "v1", [MT_OCI_MANIFEST])[0] == manifest
    assert len(calls) == 2


def test_client_errors_are_not_retried() -> None:
    app = fake_registry({"/v2/repo/manifests/": lambda h: reply(h, 400, b"{}")})
    with fake_server(app) as server:
        with pytest.raises(RegistryError):
            fake_client(server).get_manifest("repo", "v1", [MT_OCI_MANIFEST])
        assert len(server.requests_to("/manifests/")) == 1


def test_requests_time_out() -> None:
    def silent(handler: http.server.BaseHTTPRequestHandler) -> None:
        time.sleep(3)

    with fake_server(fake_registry({"/v2/repo/manifests/": silent})) as server:
        client = RegistryClient(server.host, insecure=True, cert_dirs=[], timeout=(1, 0.5))
        started = time.monotonic()
        with pytest.raises(RegistryError, match="i/o timeout"):
            client.get_manifest("repo", "v1", [MT_OCI_MANIFEST])
        assert time.monotonic() - started < 2.5


def test_oversized_manifest_is_refused() -> None:
    huge = b'{"pad":"' + b"a" * (5 * 1024 * 1024) + b'"}'
    app = fake_registry({"/v2/repo/manifests/": lambda h: reply(h, 200, huge)})
    with fake_server(app) as server, pytest.raises(UnsafeContentError):
        fake_client(server).get_manifest("repo", "v1", [MT_OCI_MANIFEST])


def test_manifest_by_digest_is_verified() -> None:
    asked = image_manifest((sha256_digest(b"a"), 1), [])
    served = image_manifest((sha256_digest(b"b"), 1), [])
    app = fake_registry({"/v2/repo/manifests/": lambda h: reply(h, 200, served)})
    with fake_server(app) as server, pytest.raises(DigestMismatchError):
        fake_client(server).get_manifest("repo", sha256_digest(asked), [MT_OCI_MANIFEST])


@pytest.mark.parametrize(
    ("header", "error"),
    [
        (None, None),
        ("{digest}", None),
        ("sha512:{sha512}", None),
        (sha256_digest(b"something else"), DigestMismatchError),
        ("md5:abc", UnsafeContentError),
    ],
    ids=["absent", "sha256", "sha512", "mismatch", "unknown-algorithm"],
)
def test_manifest_by_tag_is_checked_against_docker_content_digest(header, error) -> None:
    body = image_manifest((sha256_digest(b"a"), 1), [])
    headers = {"Content-Type": MT_OCI_MANIFEST}
    if header:
        sha512 = hashlib.sha512(body).hexdigest()
        headers["Docker-Content-Digest"] = header.format(digest=sha256_digest(body), sha512=sha512)
    app = fake_registry({"/v2/repo/manifests/": lambda h: reply(h, 200, body, headers)})
    with fake_server(app) as server:
        client = fake_client(server)
        if error is None:
            data, _, digest = client.get_manifest("repo", "v1", [MT_OCI_MANIFEST])
            assert (data, digest) == (body, sha256_digest(body))
            return
        with pytest.raises(error, match="Docker-Content-Digest"):
            client.get_manifest("repo", "v1", [MT_OCI_MANIFEST])


def test_real_registry_sends_the_digest_pod_checks(plain: RegistryClient, tmp_path: Path) -> None:
    """docker-registry names the manifest's digest when asked by tag: every real pull by tag
    goes through the Docker-Content-Digest check."""
    pushed = push_image(plain, "check/digest", tmp_path)
    served = served_manifest(plain.host, "check/digest", "v1")
    assert served.headers["Docker-Content-Digest"] == sha256_digest(pushed["manifest"])
    assert plain.get_manifest("check/digest", "v1", [MT_OCI_MANIFEST])[0] == pushed["manifest"]


@pytest.mark.parametrize("host", ["127.0.0.1:99999", "127.0.0.1:0", "[::1]:65536"])
def test_a_port_no_connection_can_use_is_one_clear_line(host: str) -> None:
    with pytest.raises(RegistryError) as caught:
        RegistryClient(host, cert_dirs=[]).ping()
    port = host.rpartition(":")[2]
    assert str(caught.value) == (
        f'pinging container registry {host}: Get "https://{host}/v2/": dial tcp: address '
        f"{port}: invalid port"
    )


def test_manifest_media_type_from_body_when_header_is_generic() -> None:
    body = image_manifest((sha256_digest(b"a"), 1), [])
    headers = {"Content-Type": "application/json; charset=utf-8"}
    app = fake_registry({"/v2/repo/manifests/": lambda h: reply(h, 200, body, headers)})
    with fake_server(app) as server:
        assert (
            fake_client(server).get_manifest("repo", "v1", [MT_OCI_MANIFEST])[1] == MT_OCI_MANIFEST
        )


def test_put_manifest_sends_exact_bytes_and_checks_digest() -> None:
    body = image_manifest((sha256_digest(b"a"), 1), [])
    reported = {"digest": sha256_digest(body)}

    def put(handler: http.server.BaseHTTPRequestHandler) -> None:
        reply(handler, 201, b"", {"Docker-Content-Digest": reported["digest"]})

    with fake_server(fake_registry({"/v2/repo/manifests/": put})) as server:
        client = fake_client(server)
        assert client.put_manifest("repo", "v1", body, "application/x-custom") == sha256_digest(
            body
        )
        seen = server.requests_to("/manifests/")[-1]
        assert (seen.method, seen.body) == ("PUT", body)
        assert seen.headers["Content-Type"] == "application/x-custom"
        reported["digest"] = sha256_digest(b"something else")
        with pytest.raises(DigestMismatchError):
            client.put_manifest("repo", "v1", body, MT_OCI_MANIFEST)


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

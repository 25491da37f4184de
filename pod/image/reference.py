"""Image references as docker and podman parse them.

Parsing happens before any network access so that a malformed name fails fast with exit 125.
The grammar follows distribution/reference: `[domain[:port]/]path[:tag][@digest]`.
"""

from __future__ import annotations

import re

from pod.errors import InvalidReferenceError, UsageError
from pod.util.records import dataclass

DOCKER_DOMAIN = "docker.io"
LEGACY_DOCKER_DOMAINS = ("index.docker.io", "registry-1.docker.io")
DEFAULT_TAG = "latest"
NAME_MAX = 255

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH_RE = rf"^{_COMPONENT}(?:/{_COMPONENT})*$"
_DOMAIN_RE = (
    r"^(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
    r"(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*"
    r"|\[[a-fA-F0-9:]+\])(?::[0-9]+)?$"
)
_TAG_RE = r"^[\w][\w.-]{0,127}$"
_DIGEST_RE = r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$"
_SHA256_RE = r"^sha256:[a-f0-9]{64}$"
_ID_RE = r"^[a-f0-9]{64}$"


@dataclass(frozen=True)
class Reference:
    """A parsed image reference; `domain` is None for a short name that needs resolving."""

    domain: str | None
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def is_short_name(self) -> bool:
        return self.domain is None

    @property
    def repository(self) -> str:
        """`domain/path`; a short name is shown as docker would qualify it."""
        if self.domain is None:
            return self.with_domain(DOCKER_DOMAIN).repository
        return f"{self.domain}/{self.path}"

    @property
    def tag_or_default(self) -> str:
        return self.tag or DEFAULT_TAG

    def with_domain(self, domain: str) -> Reference:
        """The reference qualified with `domain` (docker.io adds `library/` to one-part paths)."""
        return qualify(domain, self.path, self.tag, self.digest)

    def __str__(self) -> str:
        """The fully qualified form podman prints: `docker.io/library/busybox:latest`."""
        if self.digest and not self.tag:
            return f"{self.repository}@{self.digest}"
        text = f"{self.repository}:{self.tag_or_default}"
        return f"{text}@{self.digest}" if self.digest else text

    @property
    def name_for_store(self) -> str:
        """The name recorded in the store: with the tag, or `repo@digest` when pulled by digest."""
        if self.digest and not self.tag:
            return f"{self.repository}@{self.digest}"
        return f"{self.repository}:{self.tag_or_default}"


def qualify(domain: str, path: str, tag: str | None, digest: str | None) -> Reference:
    domain = DOCKER_DOMAIN if domain in LEGACY_DOCKER_DOMAINS else domain
    if domain == DOCKER_DOMAIN and "/" not in path:
        path = f"library/{path}"
    return Reference(domain, path, tag, digest)


def _fail(text: str, why: str) -> InvalidReferenceError:
    return InvalidReferenceError(f"parsing reference {text!r}: {why}")


def validate_digest(digest: str) -> str:
    """Check a `algo:hex` digest; sha256 must have exactly 64 lower-case hex digits."""
    if not re.match(_DIGEST_RE, digest):
        raise InvalidReferenceError(f"invalid digest {digest!r}")
    if digest.startswith("sha256:") and not re.match(_SHA256_RE, digest):
        raise InvalidReferenceError(f"invalid checksum digest format {digest!r}")
    return digest


def parse(text: str) -> Reference:
    """Parse `text`; raise InvalidReferenceError (exit 125) with a one-line reason."""
    if not text:
        raise _fail(text, "repository name must have at least one component")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise _fail(text, "invalid reference format: whitespace or control character")
    rest, digest = text, None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        try:
            validate_digest(digest)
        except InvalidReferenceError as err:
            raise _fail(text, str(err)) from None
    tag = None
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1 :]
        if not re.match(_TAG_RE, tag):
            why = "tag longer than 128 characters" if len(tag) > 128 else "invalid tag format"
            raise _fail(text, why)
    domain, path = _split_domain(rest)
    if domain is not None and not re.match(_DOMAIN_RE, domain):
        host, sep, port = domain.rpartition(":")
        if sep and "]" not in port and re.match(_DOMAIN_RE, host):
            raise _fail(text, f'invalid port "{port}" in domain "{domain}": use a number')
        raise _fail(text, "invalid domain")
    if not re.match(_PATH_RE, path):
        if path.lower() != path and re.match(_PATH_RE, path.lower()):
            raise _fail(text, "repository name must be lowercase")
        raise _fail(text, "invalid reference format")
    full_name = f"{domain}/{path}" if domain else path
    if len(full_name) > NAME_MAX:
        raise _fail(text, f"repository name must not be more than {NAME_MAX} characters")
    if domain is None:
        return Reference(None, path, tag, digest)
    return qualify(domain, path, tag, digest)


def _split_domain(name: str) -> tuple[str | None, str]:
    """Docker's rule: a first part with `.` or `:`, `localhost` or capitals is a domain."""
    first, sep, remainder = name.partition("/")
    if not sep:
        return None, name
    if "." in first or ":" in first or first == "localhost" or first.lower() != first:
        return first, remainder
    return None, name


def qualify_local(name: str) -> str:
    """podman's rule for names pod gives images (tag, build -t, commit): no registry means
    `localhost/`."""
    if parse(name).digest:
        raise UsageError(f'tag "{name}": a tag cannot contain a digest')
    return local_name(name)


def local_name(name: str) -> str:
    """A name as the store holds it, `localhost/` for one without a registry; a digested
    `repo@sha256:...` (what a pull by digest adds) too, for untag."""
    ref = parse(name)
    return (ref.with_domain("localhost") if ref.is_short_name else ref).name_for_store


def looks_like_id(text: str) -> bool:
    """A full 64-hex image or container ID (optionally `sha256:`-prefixed)."""
    return bool(re.match(_ID_RE, text.removeprefix("sha256:")))

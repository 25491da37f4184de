"""How to reach a registry: TLS choice and credentials, shared by pull, push and login."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pod.errors import UsageError
from pod.image import auth
from pod.util.records import dataclass

if TYPE_CHECKING:
    from pod.image.registry import RegistryClient


@dataclass(frozen=True)
class RegistryAccess:
    """The user's `--tls-verify`, `--authfile`, `--creds` and `--cert-dir` for one command."""

    tls_verify: bool | None = None
    authfile: str | None = None
    credentials: auth.Credentials | None = None
    cert_dir: str | None = None

    def insecure(self, configured_insecure: bool) -> bool:
        """`--tls-verify` wins over registries.conf's `insecure` in both directions."""
        return configured_insecure if self.tls_verify is None else not self.tls_verify

    def credentials_for(self, host: str, repository: str | None = None) -> auth.Credentials | None:
        if self.credentials is not None:
            return self.credentials
        return auth.find_credentials(host, repository, self.authfile)

    def client(
        self, host: str, repository: str | None, configured_insecure: bool = False
    ) -> RegistryClient:
        """A RegistryClient for `host` with this access (imports requests/oras only now)."""
        from pod.image.registry import RegistryClient

        return RegistryClient(
            host,
            tls_verify=not self.insecure(configured_insecure),
            insecure=self.insecure(configured_insecure),
            credentials=self.credentials_for(host, repository),
            cert_dir=Path(self.cert_dir) if self.cert_dir else None,
        )


def parse_creds(text: str | None) -> auth.Credentials | None:
    """`--creds user[:password]` as podman takes it."""
    if text is None:
        return None
    user, sep, password = text.partition(":")
    if not user:
        raise UsageError("--creds: the username must not be empty")
    if not sep:
        import getpass

        password = getpass.getpass("Password: ")
    return auth.Credentials(username=user, password=password)

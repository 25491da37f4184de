"""Errors the engine raises; only the CLI's error boundary prints them and exits.

Each class carries podman's exit code so scripts see the same numbers as with podman.
"""

from __future__ import annotations


class PodError(Exception):
    """An engine error: exit 125 unless a subclass says otherwise."""

    exit_code = 125


class UsageError(PodError):
    """Bad flags or arguments (podman exits 125 for these, not click's 2)."""


class InvalidReferenceError(PodError):
    """An image reference that cannot be parsed or normalized."""


class NoSuchImageError(PodError):
    """The named image is not in the store."""

    exit_code = 1


class ImageInUseError(PodError):
    """An image cannot be removed because a container uses it."""

    exit_code = 2


class NoSuchContainerError(PodError):
    """The named container is not in the store."""

    exit_code = 1


class RegistryError(PodError):
    """A registry answered with an error, or could not be reached."""


class AuthenticationError(RegistryError):
    """The registry refused the credentials (or wanted some)."""


class ManifestUnknownError(RegistryError):
    """The registry has no manifest for the reference."""


class DigestMismatchError(PodError):
    """Downloaded content does not match its digest or declared size."""


class UnsafeContentError(PodError):
    """Untrusted input (a layer, a manifest) tried to escape its root or is malformed."""


class StoreError(PodError):
    """The on-disk store is inconsistent or cannot be written."""


class Interrupted(PodError):
    """The user interrupted the command (ctrl-c)."""

    exit_code = 130


class ContainerStateError(PodError):
    """The container is in the wrong state for the request (podman's `container state improper`).

    `rm` of a running container without -f exits 2, as podman's.
    """

    exit_code = 2

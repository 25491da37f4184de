"""Errors the engine raises; only the CLI's error boundary prints them and exits.

Each class carries podman's exit code so scripts see the same numbers as with podman.
"""

from __future__ import annotations

import errno as errno_mod


class PodError(Exception):
    """An engine error: exit 125 unless a subclass says otherwise."""

    exit_code = 125


class UsageError(PodError):
    """Bad flags or arguments (podman exits 125 for these, not click's 2)."""


class InvalidReferenceError(PodError):
    """An image reference that cannot be parsed or normalized."""


class NoSuchImageError(PodError):
    """The named image is not in the store (exit 125, as podman's tag, history, inspect, ...;
    `rmi` reports it with exit 1)."""


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


class OverwriteError(PodError):
    """`pod cp` without --overwrite: a directory would replace a non-directory or the reverse."""


class StoreError(PodError):
    """The on-disk store is inconsistent or cannot be written."""


class Interrupted(PodError):
    """The user interrupted the command (ctrl-c)."""

    exit_code = 130


class StateImproperError(PodError):
    """The container is in the wrong state for the request (podman's ErrCtrStateInvalid,
    `container state improper`); `init --all` passes over these, as podman's."""


class ContainerStateError(StateImproperError):
    """`rm` of a running container without -f: exit 2, as podman's."""

    exit_code = 2


def exec_exit_code(err: int) -> int:
    """podman's mapping: a missing command is 127, any other failure to run it 126."""
    return 127 if err == errno_mod.ENOENT else 126


class OCIRuntimeError(PodError):
    """A runtime verb failed (the message names the step and the path)."""


class RuntimeExecError(OCIRuntimeError):
    """The container's command cannot be run: 127 when not found, 126 when not executable."""

    def __init__(self, message: str, errno: int = errno_mod.ENOENT) -> None:
        super().__init__(message)
        self.errno = errno
        self.exit_code = exec_exit_code(errno)


class RuntimeContainerNotFoundError(OCIRuntimeError):
    """No container with that id in this state root."""


class RuntimeContainerExistsError(OCIRuntimeError):
    """A container with that id already exists in this state root."""


class RuntimeStateError(OCIRuntimeError):
    """The verb does not apply in the container's current status (e.g. start when running)."""


class BuildSyntaxError(PodError):
    """A Containerfile that cannot be parsed or expanded; reported before anything runs."""


class BuildStepError(PodError):
    """A build step failed; `pod build` exits with `exit_code` (a RUN's own status, as podman)."""

    def __init__(self, message: str, exit_code: int = PodError.exit_code) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class NoSuchVolumeError(PodError):
    """No volume by that name (exit 125; `volume rm` reports it with exit 1, as podman)."""


class VolumeInUseError(PodError):
    exit_code = 2


class NoSuchPodError(PodError):
    """No pod by that name or ID (exit 125; `pod rm` exits 1 for it, as podman)."""


class KubeError(PodError):
    """A Kubernetes document pod cannot use, or cannot write one for (exit 125)."""


class NoSuchNetworkError(PodError):
    """No network by that name or ID (exit 125; `network rm` exits 1 for it, as podman)."""


class NetworkExistsError(PodError):
    """`network create` with a name already taken."""


class PortInUseError(PodError):
    """A published host port is taken: `run` exits 126 for it, as podman's does for a
    container that cannot be started (`start` exits 125)."""

    exit_code = 126


class NetworkInUseError(PodError):
    """Containers still have addresses on the network."""

    exit_code = 2


class NoSuchSecretError(PodError):
    """No secret by that name or ID (podman exits 125 for it)."""


class SecretInUseError(PodError):
    """`secret rm` of a secret a container still names: its data would be gone at its start."""

"""oras-py's Registry, the base of pod.image.registry.RegistryClient, imported without running
jsonschema: oras imports it at its top (~35 ms with referencing and rpds on every pull, push and
login) to validate only in methods RegistryClient replaces. It loads if anything reads it."""

from pod.util.deferred_import import defer

defer("jsonschema")

from oras.provider import Registry as OrasRegistry  # noqa: E402

__all__ = ["OrasRegistry"]

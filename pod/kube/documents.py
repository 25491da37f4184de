"""Kubernetes YAML in and out: PyYAML's safe loader only (no tags, no objects, nothing run),
bounded input, and typed access that turns a malformed document into one clear error.
"""

from __future__ import annotations

from typing import Any

from pod.errors import KubeError

MAX_YAML = 8 << 20  # bytes: far beyond any real manifest, far below harm


def load_documents(text: bytes | str, source: str) -> list[dict[str, Any]]:
    """The YAML documents of `text` (empty ones dropped); each must be a mapping."""
    import yaml

    if len(text) > MAX_YAML:
        raise KubeError(f"{source}: more than {MAX_YAML} bytes of YAML")
    try:
        documents = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as err:
        raise KubeError(f"{source}: not valid YAML: {' '.join(str(err).split())}") from None
    for index, document in enumerate(documents):
        if not isinstance(document, dict):
            raise KubeError(f"{source}: document {index + 1} is not a mapping")
    return documents


def dump_documents(documents: list[dict[str, Any]]) -> str:
    """Documents as kubectl and podman write them: keys sorted, block style, `---` between."""
    import yaml

    return "---\n".join(
        yaml.safe_dump(document, sort_keys=True, default_flow_style=False, width=1 << 16)
        for document in documents
    )


class Node:
    """A part of a document and where it is (`spec.containers[0]`), for error messages."""

    def __init__(self, value: Any, where: str) -> None:
        self.value = value
        self.where = where

    def _child(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
        """The value at `key` checked against `kind` (absent or null: `default`)."""
        if not isinstance(self.value, dict):
            raise KubeError(f"{self.where or 'document'} must be a mapping")
        value = self.value.get(key)
        if value is None:
            return default
        if kind is str and isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)  # YAML reads `8080` or `1.5` for a string field
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            raise KubeError(f"{self._child(key)} must be a {_readable(names)}")
        return value

    def node(self, key: str) -> Node:
        return Node(self.get(key, dict, {}), self._child(key))

    def nodes(self, key: str) -> list[Node]:
        """The mappings of the list at `key`."""
        items = self.get(key, list, [])
        found = []
        for index, item in enumerate(items):
            where = f"{self._child(key)}[{index}]"
            if not isinstance(item, dict):
                raise KubeError(f"{where} must be a mapping")
            found.append(Node(item, where))
        return found

    def strings(self, key: str) -> list[str]:
        items = self.get(key, list, [])
        for index, item in enumerate(items):
            if not isinstance(item, (str, int, float)) or isinstance(item, bool):
                raise KubeError(f"{self._child(key)}[{index}] must be a string")
        return [str(item) for item in items]

    def string_map(self, key: str) -> dict[str, str]:
        items = self.get(key, dict, {})
        found = {}
        for name, value in items.items():
            if not isinstance(name, str) or isinstance(value, (dict, list)):
                raise KubeError(f"{self._child(key)} must map strings to strings")
            found[name] = "" if value is None else _scalar(value)
        return found

    def required(self, key: str, kind: type) -> Any:
        value = self.get(key, kind)
        if value is None or value == "":
            raise KubeError(f"{self._child(key)} is required")
        return value

    def unknown(self, known: set[str]) -> list[str]:
        """The paths of this mapping's keys that are not in `known`."""
        if not isinstance(self.value, dict):
            return []
        return [self._child(str(key)) for key in self.value if key not in known]


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _readable(names: str) -> str:
    return {"dict": "mapping", "list": "list", "str": "string", "int": "number"}.get(names, names)

"""Kubernetes' rules for names, label and annotation keys and label values, and the nearest
valid name for one of pod's (whose names allow `_`, upper case and 253 characters).

generate keeps every name it writes inside these rules; play takes names the other way and
checks them like CLI names (store.names) before they reach the store.
"""

from __future__ import annotations

import re

MAX_LABEL = 63  # a DNS-1123 label, a label value, a qualified name's name part
MAX_SUBDOMAIN = 253
_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_SUBDOMAIN = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_NAME_PART = r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"


def is_dns_label(text: str) -> bool:
    """A container, port or volume name: 63 of [a-z0-9-], alphanumeric at both ends."""
    return len(text) <= MAX_LABEL and re.fullmatch(_LABEL, text) is not None


def is_dns_subdomain(text: str) -> bool:
    """A pod, service or claim name: 253 characters of dot-separated DNS labels."""
    return len(text) <= MAX_SUBDOMAIN and re.fullmatch(_SUBDOMAIN, text) is not None


def is_qualified_name(key: str) -> bool:
    """A label or annotation key: [prefix/]name, the prefix a DNS subdomain, the name 63
    of [A-Za-z0-9-_.] with alphanumeric ends."""
    prefix, sep, name = key.rpartition("/")
    if sep and not is_dns_subdomain(prefix):
        return False
    return len(name) <= MAX_LABEL and re.fullmatch(_NAME_PART, name) is not None


def is_label_value(value: str) -> bool:
    return value == "" or (len(value) <= MAX_LABEL and re.fullmatch(_NAME_PART, value) is not None)


def dns_label(text: str, fallback: str = "x") -> str:
    """The nearest DNS-1123 label: lower case, other characters as `-`, 63 at most."""
    name = re.sub(r"[^a-z0-9-]+", "-", text.lower())[:MAX_LABEL].strip("-")
    return name or fallback


def dns_subdomain(text: str, fallback: str = "x") -> str:
    """The nearest DNS-1123 subdomain (a pod's name)."""
    name = re.sub(r"[^a-z0-9.-]+", "-", text.lower())
    labels = [part.strip("-")[:MAX_LABEL].strip("-") for part in name.split(".")]
    name = ".".join(part for part in labels if part)[:MAX_SUBDOMAIN].strip(".-")
    return name or fallback


def label_value(value: str) -> str:
    """The nearest valid label value ("" stays "")."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", value)[:MAX_LABEL]
    return re.sub(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$", "", cleaned)


def valid_labels(labels: dict[str, str]) -> dict[str, str]:
    """The labels Kubernetes accepts, values brought within its rules; keys it would refuse
    are left out (a key has no nearest equivalent that keeps its meaning)."""
    return {key: label_value(str(value)) for key, value in labels.items() if is_qualified_name(key)}

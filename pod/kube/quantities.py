"""Kubernetes resource quantities (`64Mi`, `1G`, `500m`, `0.5`, `1e3`) as numbers."""

from __future__ import annotations

import re

from pod.errors import KubeError

_QUANTITY = r"([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|[mkMGTPE])?"
_FACTORS = {
    "": 1,
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "E": 1e18,
    "Ki": 1 << 10,
    "Mi": 1 << 20,
    "Gi": 1 << 30,
    "Ti": 1 << 40,
    "Pi": 1 << 50,
    "Ei": 1 << 60,
}


def parse_quantity(text: str | int | float, where: str) -> float:
    """The value of a quantity; a malformed or negative one is a KubeError naming `where`."""
    found = re.fullmatch(_QUANTITY, str(text).strip())
    if found is None or float(found.group(1)) < 0:
        raise KubeError(f"{where}: {text!r} is not a valid quantity")
    return float(found.group(1)) * _FACTORS[found.group(2) or ""]


def memory_bytes(text: str | int | float, where: str) -> int:
    return int(parse_quantity(text, where))


def cpus(text: str | int | float, where: str) -> float:
    return parse_quantity(text, where)

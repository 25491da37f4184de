"""The one way pod gets a pyroute2 netlink socket.

pyroute2's package `__init__` imports every netlink family it supports (conntrack, nftables,
wireless, ...): ~50 ms more than the route socket pod uses, on the path of every container
start on a bridge. So the package is registered without running its `__init__` and only
`pyroute2.iproute.linux` is loaded; everything in pod that uses pyroute2 comes through here.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from typing import Any


def _register_package() -> None:
    if "pyroute2" in sys.modules:
        return
    spec = importlib.util.find_spec("pyroute2")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("pyroute2 is not installed", name="pyroute2")
    package = types.ModuleType("pyroute2")
    package.__spec__ = spec
    package.__path__ = list(spec.submodule_search_locations)
    package.__file__ = spec.origin
    sys.modules["pyroute2"] = package


def iproute() -> Any:
    """A new `IPRoute` (use it as a context manager) in the calling thread's namespace."""
    _register_package()
    from pyroute2.iproute.linux import IPRoute

    return IPRoute()


def preload() -> None:
    """Import the route socket's modules now (the bridge worker does it ahead of its job)."""
    _register_package()
    import pyroute2.iproute.linux  # noqa: F401

"""Modules that are imported when first used, not when another module imports them.

For a dependency's dependency that pod never calls on its own paths: oras imports jsonschema
at its top (~35 ms with referencing and rpds) to validate only in methods pod replaces.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any


class _DeferredModule(types.ModuleType):
    """Stands in for a module until one of its attributes is read: then the real module is
    imported and answers that read and every later one (importers keep this object)."""

    def __getattr__(self, attr: str) -> Any:
        name = self.__name__
        if sys.modules.get(name) is self:
            del sys.modules[name]
        return getattr(importlib.import_module(name), attr)


def defer(name: str) -> None:
    """Make `import name` cheap until the module is used. Nothing happens when it is imported
    already or not installed (an importer then fails as it would have).

    Not the standard library's LazyLoader: in Python 3.11 the import statement itself reads the
    module's __spec__, which makes a LazyLoader module load at once."""
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None:
        return
    stand_in = _DeferredModule(name)
    stand_in.__spec__ = spec
    sys.modules[name] = stand_in

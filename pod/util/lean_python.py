"""The command line that runs a function of pod in a fresh, small interpreter.

`python -I -S`: no site-packages and no user environment, so start-up and memory stay small
for long-lived helpers (the shim's supervisor, the port forwarder). Without site an editable
install's path finder is gone too, so the boot line puts pod (and pod.store, which lives in
the top-level store/ folder of a checkout) on the path itself.
"""

from __future__ import annotations

import os
import sys


def argv(module: str, function: str, args: list[str]) -> list[str]:
    """Run `module.function(args)` (a list of strings) in a new `python -I -S`."""
    import pod
    import pod.store

    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(pod.__file__)))
    store_parent = os.path.dirname(os.path.abspath(pod.store.__path__[0]))
    boot = (
        "import sys; sys.path.append(sys.argv[1]); import pod; pod.__path__.append(sys.argv[2]);"
        f" import {module} as m; m.{function}(sys.argv[3:])"
    )
    # no_debug_ranges: code objects without column tables, for less memory
    flags = ["-I", "-S", "-X", "no_debug_ranges"]
    return [sys.executable, *flags, "-c", boot, package_parent, store_parent, *args]

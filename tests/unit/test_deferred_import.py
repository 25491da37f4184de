"""pod.util.deferred_import: a module registered by `defer` runs only when first used, and then
behaves as the real module for every importer."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys
from pod.util.deferred_import import defer
assert "csv" not in sys.modules
defer("csv")
defer("no_such_module_here")
assert "no_such_module_here" not in sys.modules
import csv
assert "_csv" not in sys.modules, "the import ran the module"
assert list(csv.reader(["a,b"])) == [["a", "b"]]
assert "_csv" in sys.modules
assert sys.modules["csv"] is not csv and sys.modules["csv"].reader is csv.reader
import csv as again
assert again is sys.modules["csv"]
print("ok")
"""


def test_a_deferred_module_loads_on_first_use():
    done = subprocess.run(
        [sys.executable, "-I", "-c", SCRIPT], capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip() == "ok", done.stderr

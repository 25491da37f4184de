"""What every test needs: the `needs_tool(name, ...)` marker (registered in pyproject.toml).

A test marked `needs_tool("skopeo")` is skipped when the tool is not on PATH, except under CI
(CI=true), where .ci/run installs every tool, so a missing one is an error, not a quiet skip.
"""

import os
import shutil

import pytest


def pytest_runtest_setup(item):
    for mark in item.iter_markers("needs_tool"):
        for tool in mark.args:
            if shutil.which(tool) is None:
                reason = f"needs the host tool {tool!r}, which is not on PATH"
                if os.environ.get("CI") == "true":
                    pytest.fail(reason + " (CI should have installed it)", pytrace=False)
                pytest.skip(reason)

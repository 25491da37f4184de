"""steps.FINISH_MODULES, what a client imports while it only waits so that the end of the run
does not wait for imports, must be what that end imports: read with `ast`."""

from __future__ import annotations

import ast

from module_imports import POD_PACKAGE_DIRS, find_modules

from pod.shim import steps

# The functions that run at the end of a run (the rootless one in a child in the shim's
# namespaces), and imports of theirs that only some ends need.
FINISHING = ("finish_container", "_in_namespaces_of")
RARE = {"pod.pods.exit_policy"}  # a pod member's end only


def _function_imports(source: str, names: tuple[str, ...], modules: dict) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef) and node.name in names:
            for inner in ast.walk(node):
                if isinstance(inner, ast.ImportFrom) and inner.module:
                    for alias in inner.names:
                        submodule = f"{inner.module}.{alias.name}"
                        found.add(submodule if submodule in modules else inner.module)
    return found


def test_the_preloaded_finish_modules_are_the_ones_the_end_imports():
    modules = find_modules(POD_PACKAGE_DIRS)
    source = modules["pod.shim.steps"].path.read_text()
    assert _function_imports(source, FINISHING, modules) - RARE == set(steps.FINISH_MODULES)

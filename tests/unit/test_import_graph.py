"""The layering of DESIGN.md ("The rules are tests") over every module of pod/, commands/
(pod.commands) and store/ (pod.store), function-level imports included:

- no import cycle between modules;
- store/ imports no engine code: not pod.commands, pod.network, pod.container, pod.shim,
  pod.builder, pod.runtime, nor pod.image but its pure pod.image.reference;
- nothing but the CLI imports pod.commands: pod.entry, the console entry point that launches
  the CLI, is the one module outside commands/ allowed to;
- pod.runtime (the low-level runtime) imports nothing from pod.image, pod.container or
  pod.store but pod.store.safepath.

The checker itself is tested on small synthetic trees below.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from module_imports import (
    POD_PACKAGE_DIRS,
    REPO,
    Import,
    all_imports,
    find_modules,
)

CLI = "pod.commands"
CLI_LAUNCHER = "pod.entry"
STORE = "pod.store"
STORE_MAY_IMPORT = {"pod.image.reference"}  # pure: a reference's parts, no engine
STORE_MUST_NOT_IMPORT = (
    "pod.commands",
    "pod.network",
    "pod.container",
    "pod.shim",
    "pod.builder",
    "pod.image",
    "pod.runtime",
    "pod.pods",
    "pod.kube",
)
RUNTIME = "pod.runtime"
RUNTIME_MAY_IMPORT = {"pod.store.safepath"}
RUNTIME_MUST_NOT_IMPORT = ("pod.image", "pod.container", "pod.store")


def within(name: str, *packages: str) -> bool:
    """Whether module `name` is one of `packages` or inside one of them."""
    return any(name == p or name.startswith(p + ".") for p in packages)


def import_cycles(imports: list[Import]) -> list[list[str]]:
    """Every strongly connected component of more than one module, each sorted, in order."""
    graph: dict[str, set[str]] = {}
    for imp in imports:
        graph.setdefault(imp.importer, set()).add(imp.imported)
        graph.setdefault(imp.imported, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(components)


def cycle_report(imports: list[Import], root: Path) -> str:
    """One paragraph per cycle: its modules and the imports that close it."""
    paragraphs = []
    for component in import_cycles(imports):
        members = set(component)
        lines = [f"import cycle between {len(component)} modules: {', '.join(component)}"]
        lines += [
            f"  {imp.where(root)}: {imp.importer} imports {imp.imported}"
            for imp in imports
            if imp.importer in members and imp.imported in members
        ]
        paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


def violations(
    imports: list[Import], importer: Callable[[str], bool], forbidden: Callable[[str], bool]
) -> list[Import]:
    return [imp for imp in imports if importer(imp.importer) and forbidden(imp.imported)]


def report(rule: str, found: list[Import], root: Path) -> str:
    lines = [f"{rule} ({len(found)} imports):"]
    lines += [f"  {imp.where(root)}: {imp.importer} imports {imp.imported}" for imp in found]
    return "\n".join(lines)


def store_violations(imports: list[Import]) -> list[Import]:
    return violations(
        imports,
        lambda name: within(name, STORE),
        lambda name: within(name, *STORE_MUST_NOT_IMPORT) and name not in STORE_MAY_IMPORT,
    )


def cli_violations(imports: list[Import]) -> list[Import]:
    return violations(
        imports,
        lambda name: not within(name, CLI) and name != CLI_LAUNCHER,
        lambda name: within(name, CLI),
    )


def runtime_violations(imports: list[Import]) -> list[Import]:
    return violations(
        imports,
        lambda name: within(name, RUNTIME),
        lambda name: within(name, *RUNTIME_MUST_NOT_IMPORT) and name not in RUNTIME_MAY_IMPORT,
    )


# --------------------------------------------------------------------------------------------
# the project


@pytest.fixture(scope="module")
def project_imports() -> list[Import]:
    modules = find_modules(POD_PACKAGE_DIRS)
    assert {"pod.entry", "pod.commands", "pod.store.layout", "pod.runtime.cli"} <= set(modules)
    return all_imports(modules)


def test_no_import_cycles(project_imports):
    if import_cycles(project_imports):
        pytest.fail(cycle_report(project_imports, REPO), pytrace=False)


def test_store_imports_no_engine_code(project_imports):
    found = store_violations(project_imports)
    if found:
        rule = "store/ imports engine code (DESIGN.md: it owns on-disk state only)"
        pytest.fail(report(rule, found, REPO), pytrace=False)


def test_only_the_cli_and_its_launcher_import_the_cli(project_imports):
    found = cli_violations(project_imports)
    if found:
        rule = f"modules outside commands/ import {CLI} (only {CLI_LAUNCHER} may: it launches it)"
        pytest.fail(report(rule, found, REPO), pytrace=False)


def test_the_runtime_imports_no_image_container_or_store_code(project_imports):
    found = runtime_violations(project_imports)
    if found:
        rule = "pod.runtime imports image/, container/ or store/ code (store/safepath alone may)"
        pytest.fail(report(rule, found, REPO), pytrace=False)


# --------------------------------------------------------------------------------------------
# the checker, on synthetic trees


def write_tree(top: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = top / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return top


def synthetic_imports(tmp_path: Path, files: dict[str, str]) -> list[Import]:
    """The imports of a tree laid out like pod's: pod/, commands/ and store/ under tmp_path."""
    write_tree(tmp_path, files)
    dirs = {"pod": tmp_path / "pod", "pod.commands": tmp_path / "commands"}
    dirs["pod.store"] = tmp_path / "store"
    return all_imports(find_modules(dirs))


def edges(imports: list[Import]) -> set[tuple[str, str]]:
    return {(imp.importer, imp.imported) for imp in imports}


def test_checker_resolves_every_import_form(tmp_path):
    found = synthetic_imports(tmp_path, {
        "pod/__init__.py": "",
        "pod/errors.py": "import json\n",
        "pod/net/__init__.py": "from . import setup\n",
        "pod/net/setup.py": "from .plan import Plan\nfrom ..errors import PodError\n",
        "pod/net/plan.py": "def later():\n    import pod.net.setup as setup\n    return setup\n",
        "pod/user.py": "from pod.net import plan, missing\nfrom pod import errors\n"
                       "import pod.store.x\n",
        "store/__init__.py": "",
        "store/x.py": "from pod.store import x\n",
        "commands/__init__.py": "from pod.entry import main\n",
    })  # fmt: skip
    assert edges(found) == {
        ("pod.net", "pod.net.setup"),
        ("pod.net.setup", "pod.net.plan"),
        ("pod.net.setup", "pod.errors"),
        ("pod.net.plan", "pod.net.setup"),  # a function-level import counts
        ("pod.user", "pod.net.plan"),  # `from package import module`: the module
        ("pod.user", "pod.net"),  # `from package import name`: the package
        ("pod.user", "pod.errors"),
        ("pod.user", "pod.store.x"),
    }  # no self-import, no standard library, nothing outside the tree (pod.entry is not there)
    plan = next(imp for imp in found if imp.importer == "pod.net.plan")
    assert plan.where(tmp_path) == "pod/net/plan.py:2"


def test_checker_finds_a_cycle_through_a_function_level_import(tmp_path):
    found = synthetic_imports(tmp_path, {
        "pod/__init__.py": "",
        "pod/a.py": "from pod import b\n",
        "pod/b.py": "def f():\n    from pod.c import g\n",
        "pod/c.py": "from . import a\n",
        "pod/d.py": "import pod.e\n",
        "pod/e.py": "def f():\n    import pod.d\n",
        "pod/clean.py": "import pod.a\n",
    })  # fmt: skip
    assert import_cycles(found) == [["pod.a", "pod.b", "pod.c"], ["pod.d", "pod.e"]]
    text = cycle_report(found, tmp_path)
    assert "import cycle between 3 modules: pod.a, pod.b, pod.c" in text
    assert "pod/b.py:2: pod.b imports pod.c" in text
    assert "pod.clean" not in text


def test_checker_passes_a_clean_tree(tmp_path):
    found = synthetic_imports(tmp_path, {
        "pod/__init__.py": "",
        "pod/errors.py": "",
        "pod/entry.py": "def main():\n    from pod.commands import app\n",
        "pod/image/__init__.py": "",
        "pod/image/reference.py": "from pod.errors import PodError\n",
        "pod/runtime/__init__.py": "",
        "pod/runtime/rootfs.py": "from pod.store.safepath import resolve\n",
        "commands/__init__.py": "from pod.runtime import rootfs\nfrom . import run\n",
        "commands/run.py": "from pod.image.reference import parse\n",
        "store/__init__.py": "",
        "store/safepath.py": "",
        "store/images.py": "from pod.image.reference import parse\nfrom .safepath import x\n",
    })  # fmt: skip
    assert found and import_cycles(found) == []
    assert store_violations(found) == [] and cli_violations(found) == []
    assert runtime_violations(found) == []


def test_checker_names_each_broken_layer(tmp_path):
    found = synthetic_imports(tmp_path, {
        "pod/__init__.py": "",
        "pod/image/__init__.py": "",
        "pod/image/pull.py": "from pod.commands.progress import bar\n",
        "pod/network/__init__.py": "",
        "pod/runtime/__init__.py": "",
        "pod/runtime/userns.py": "def f():\n    from pod.store import layers\n",
        "commands/__init__.py": "",
        "commands/progress.py": "",
        "store/__init__.py": "",
        "store/layers.py": "import pod.runtime.userns\nfrom pod import network\n",
    })  # fmt: skip
    assert [(i.importer, i.imported) for i in store_violations(found)] == [
        ("pod.store.layers", "pod.runtime.userns"),
        ("pod.store.layers", "pod.network"),
    ]
    assert [(i.importer, i.imported) for i in cli_violations(found)] == [
        ("pod.image.pull", "pod.commands.progress")
    ]
    assert [(i.importer, i.imported) for i in runtime_violations(found)] == [
        ("pod.runtime.userns", "pod.store.layers")
    ]
    text = report("store/ imports engine code", store_violations(found), tmp_path)
    assert text.splitlines() == [
        "store/ imports engine code (2 imports):",
        "  store/layers.py:1: pod.store.layers imports pod.runtime.userns",
        "  store/layers.py:2: pod.store.layers imports pod.network",
    ]

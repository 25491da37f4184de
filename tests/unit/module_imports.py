"""Which of a project's modules each of its modules imports, read with `ast` (never imported).

Every import statement counts, the ones inside functions too. Relative imports are resolved,
and `from pkg import name` is an import of the module `pkg.name` when there is one (else of
`pkg` itself). Imports of modules outside the tree (the standard library, rich, ...) are left
out. test_import_graph.py holds the layering rules with it; test_shim.py what the shim loads.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# pyproject's package-dir: the top-level folders commands/ and store/ are pod.commands, pod.store
POD_PACKAGE_DIRS = {
    "pod": REPO / "pod",
    "pod.commands": REPO / "commands",
    "pod.store": REPO / "store",
}


@dataclass(frozen=True)
class Module:
    name: str
    path: Path

    @property
    def is_package(self) -> bool:
        return self.path.name == "__init__.py"

    @property
    def package(self) -> str:
        """The package a relative import of this module starts from."""
        return self.name if self.is_package else self.name.rpartition(".")[0]


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    path: Path
    line: int

    def where(self, root: Path) -> str:
        path = self.path.relative_to(root) if self.path.is_relative_to(root) else self.path
        return f"{path}:{self.line}"


def find_modules(package_dirs: dict[str, Path]) -> dict[str, Module]:
    """Every module below each package directory, by its dotted name."""
    modules: dict[str, Module] = {}
    for package, directory in package_dirs.items():
        for path in sorted(directory.rglob("*.py")):
            parts = path.relative_to(directory).with_suffix("").parts
            if "__pycache__" in parts or not all(p.isidentifier() for p in parts):
                continue
            if parts[-1] == "__init__":
                parts = parts[:-1]
            name = ".".join((package, *parts))
            modules.setdefault(name, Module(name, path))
    return modules


def _absolute(module: Module, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.package.split(".")
    base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
    return ".".join([*base, *([node.module] if node.module else [])])


def imports_of(module: Module, modules: dict[str, Module]) -> list[Import]:
    """The imports of the tree's own modules that `module` makes, in source order."""
    found: set[Import] = set()

    def add(name: str, node: ast.stmt) -> None:
        if name in modules and name != module.name:
            found.add(Import(module.name, name, module.path, node.lineno))

    for node in ast.walk(ast.parse(module.path.read_text(), str(module.path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node)
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(module, node)
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                add(submodule if submodule in modules else source, node)
    return sorted(found, key=lambda imp: (imp.line, imp.imported))


def all_imports(modules: dict[str, Module]) -> list[Import]:
    return [imp for module in modules.values() for imp in imports_of(module, modules)]

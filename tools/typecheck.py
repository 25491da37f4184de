"""Run mypy over pod/, commands/ and store/ as the one package `pod` they install as.

pyproject's package-dir mapping installs commands/ as pod.commands and store/ as pod.store;
mypy reads source trees and knows no such mapping. So this lays the installed layout out as
symlinks (pod/* with pod/commands -> commands/, pod/store -> store/) under .mypy_cache, runs
`mypy -p pod` there with pyproject's [tool.mypy], and names files by their checkout paths in
mypy's messages. Arguments are passed on to mypy; the exit status is mypy's.

Usage: python tools/typecheck.py [MYPY ARGS]   (the python of a venv with mypy installed)
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
CACHE = CHECKOUT / ".mypy_cache"
TREE = CACHE / "source-tree"
# The installed package name of each directory that is not under pod/ in the checkout.
MAPPED = {"commands": "pod/commands/", "store": "pod/store/"}


def build_tree() -> Path:
    """Lay out pod/ as installed, afresh (modules come and go between runs)."""
    shutil.rmtree(TREE, ignore_errors=True)  # symlinks are removed, never followed
    package = TREE / "pod"
    package.mkdir(parents=True)
    for entry in sorted((CHECKOUT / "pod").iterdir()):
        if entry.name != "__pycache__":
            (package / entry.name).symlink_to(entry)
    for directory, installed in MAPPED.items():
        (TREE / installed.rstrip("/")).symlink_to(CHECKOUT / directory)
    return TREE


def checkout_path(line: str) -> str:
    """pod/commands/x.py:3: ... -> commands/x.py:3: ... (the file as the checkout has it)."""
    for directory, installed in MAPPED.items():
        if line.startswith(installed):
            return directory + "/" + line[len(installed) :]
    return line


def main(argv: list[str]) -> int:
    tree = build_tree()
    command = [sys.executable, "-m", "mypy", "--config-file", str(CHECKOUT / "pyproject.toml")]
    command += ["--cache-dir", str(CACHE), *argv, "-p", "pod"]
    # From inside the tree: mypy searches the working directory first, where ./pod is the tree's.
    result = subprocess.run(command, cwd=tree, stdout=subprocess.PIPE, text=True, check=False)
    for line in result.stdout.splitlines():
        print(checkout_path(line))
    return result.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
